"""The password proof of ``USER_SRP_AUTH``: the password never leaves this computer, not even
inside TLS (which hospital proxies may inspect); Cognito gets a zero-knowledge proof.

pycognito's ``AWSSRP`` (maintained, Cognito's exact SRP-6a variant: 3072-bit group, HKDF,
the signed timestamp) does the maths; the requests go through ``CognitoAuth``'s own client, so
errors, proxies and cancellation work as for every other call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from medispecs_desktop.core.errors import ConfigurationError

AUTH_FLOW = "USER_SRP_AUTH"
VERIFIER_CHALLENGE = "PASSWORD_VERIFIER"

_NO_CLIENT = object()  # AWSSRP sends nothing itself: it only computes


class SrpProof:
    """One SRP exchange for ``username``: :meth:`auth_parameters` for ``InitiateAuth``, then
    :meth:`answer` for the ``PASSWORD_VERIFIER`` challenge. Use each proof once."""

    def __init__(self, username: str, password: str, *, pool_id: str, client_id: str,
                 device: RememberedDevice | None = None) -> None:
        self._username = username
        if "_" not in pool_id:
            raise ConfigurationError(
                f"{pool_id!r} is not a Cognito user pool id (it looks like "
                "'eu-west-1_AbCdEf123'): correct it in Settings."
            )
        self.device = device
        extra = ({"device_key": device.key, "device_group_key": device.group,
                  "device_password": device.password} if device else {})
        from pycognito.aws_srp import AWSSRP  # its package imports boto3: only when used

        self._srp = AWSSRP(username=username, password=password, pool_id=pool_id,
                           client_id=client_id, client=_NO_CLIENT, **extra)

    def __repr__(self) -> str:  # never the password
        return f"SrpProof(username={self._username!r})"

    def auth_parameters(self) -> dict[str, str]:
        return dict(self._srp.get_auth_params())

    def answer(self, challenge_parameters: dict[str, Any]) -> dict[str, str]:
        """The ``ChallengeResponses`` that prove the password for Cognito's SALT/SRP_B."""
        return dict(self._srp.process_challenge(dict(challenge_parameters),
                                                {"USERNAME": self._username}))

    def device_start(self, username: str) -> dict[str, str]:
        """``DEVICE_SRP_AUTH``: the remembered device introduces itself (same SRP_A)."""
        assert self.device is not None
        return {"USERNAME": username, "DEVICE_KEY": self.device.key,
                "SRP_A": _long_to_hex(self._srp.large_a_value)}

    def device_answer(self, challenge_parameters: dict[str, Any]) -> dict[str, str]:
        """``DEVICE_PASSWORD_VERIFIER``: the proof of the device's own secret."""
        return dict(self._srp.process_device_challenge(dict(challenge_parameters)))


@dataclass(frozen=True)
class RememberedDevice:
    """A device Cognito remembers for a user: its key, group and secret (the keyring holds
    it; with it a sign-in may skip the MFA step, as the pool allows)."""

    key: str
    group: str
    password: str = field(repr=False)

    def to_json(self) -> str:
        return json.dumps({"key": self.key, "group": self.group, "password": self.password})

    @classmethod
    def from_json(cls, text: str | None) -> RememberedDevice | None:
        try:
            data = json.loads(text or "")
            return cls(str(data["key"]), str(data["group"]), str(data["password"]))
        except (ValueError, KeyError, TypeError):
            return None

    @classmethod
    def confirm_config(cls, key: str, group: str) -> tuple[RememberedDevice, dict[str, str]]:
        """A new device secret and the verifier config ``ConfirmDevice`` takes."""
        from pycognito.aws_srp import generate_hash_device

        password, config = generate_hash_device(group, key)
        return cls(key, group, str(password)), dict(config)


def _long_to_hex(value: int) -> str:
    from pycognito.aws_srp import long_to_hex

    return str(long_to_hex(value))
