"""moto's server dispatches a request without listing its package folder
(local/moto_server_patches.py): the same module names as stock moto, none of its stat calls per
request, and a loud refusal on a moto of another shape."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from medispecs_desktop.local import moto_server_patches


@pytest.fixture
def patched() -> Iterator[None]:
    was = moto_server_patches.is_applied()
    moto_server_patches.apply()
    yield
    if not was:
        moto_server_patches.remove()


def _listdirs(monkeypatch: pytest.MonkeyPatch) -> tuple[int, Any]:
    """os.listdir calls while moto's dispatcher finds the backend of three SDK hosts."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    calls = [0]
    original = os.listdir

    def counted(*args: Any) -> Any:
        calls[0] += 1
        return original(*args)

    dispatcher = DomainDispatcherApplication(create_backend_app)
    with monkeypatch.context() as m:
        m.setattr(os, "listdir", counted)
        found = [dispatcher.get_backend_for_host(host) for host in (
            "dynamodb.eu-west-2.amazonaws.com", "s3.eu-west-2.amazonaws.com", "dynamodb")]
    return calls[0], found


def test_a_request_is_dispatched_without_listing_moto_s_folder(
    patched: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    listings, found = _listdirs(monkeypatch)
    assert listings == 0
    moto_server_patches.remove()
    try:
        stock_listings, stock_found = _listdirs(monkeypatch)
    finally:
        moto_server_patches.apply()
    assert stock_listings >= 3  # once per request before
    assert found == stock_found == ["dynamodb", "s3", "dynamodb"]


def test_the_module_names_are_stock_moto_s(patched: None) -> None:
    from moto import backends

    names = list(backends.list_of_moto_modules())
    stock = list(backends.list_of_moto_modules.__wrapped__())  # type: ignore[attr-defined]
    assert names == stock and "dynamodb" in names and "s3" in names


def test_another_moto_is_refused_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    was = moto_server_patches.is_applied()
    moto_server_patches.remove()
    try:
        monkeypatch.setattr(moto_server_patches, "SUPPORTED_MOTO_VERSIONS", frozenset({"0.0"}))
        with pytest.raises(moto_server_patches.MotoServerPatchError, match="not one of"):
            moto_server_patches.apply()
        assert not moto_server_patches.is_applied()
    finally:
        monkeypatch.undo()
        if was:
            moto_server_patches.apply()
