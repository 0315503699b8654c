"""Playback URLs live 10 minutes: when one stops working is measured on the local clock from
the answer's ``expiresIn``, so a workstation clock minutes off does not make the player renew
too late (after the URL died) or in a tight loop."""

from __future__ import annotations

from medispecs_desktop.core.api import _expires_at


def test_expiry_follows_expires_in_on_the_local_clock_despite_a_skewed_clock() -> None:
    local_now = 1_000_000.0  # the workstation is 5 minutes behind the service
    answer = {"expiresIn": 600, "expiresAt": "1970-01-12T14:01:40Z"}  # service: now+300+600
    assert _expires_at(answer, local_now) == local_now + 600


def test_expiry_falls_back_to_expires_at() -> None:
    assert _expires_at({"expiresAt": "1970-01-12T13:46:40Z"}, 0.0) == 1_000_000.0
    assert _expires_at({"expiresAt": 1234.5}, 0.0) == 1234.5
    assert _expires_at({}, 42.0) == 42.0
