"""The password proof of ``USER_SRP_AUTH``: the password never leaves this computer, not even
inside TLS (which hospital proxies may inspect); Cognito gets a zero-knowledge proof.

pycognito's ``AWSSRP`` (maintained, Cognito's exact SRP-6a variant: 3072-bit group, HKDF,
the signed timestamp) does the maths; the requests go through ``CognitoAuth``'s own client, so
errors, proxies and cancellation work as for every other call.
"""

from __future__ import annotations

from typing import Any

from pycognito.aws_srp import AWSSRP

from medispecs_desktop.core.errors import ConfigurationError

AUTH_FLOW = "USER_SRP_AUTH"
VERIFIER_CHALLENGE = "PASSWORD_VERIFIER"

_NO_CLIENT = object()  # AWSSRP sends nothing itself: it only computes


class SrpProof:
    """One SRP exchange for ``username``: :meth:`auth_parameters` for ``InitiateAuth``, then
    :meth:`answer` for the ``PASSWORD_VERIFIER`` challenge. Use each proof once."""

    def __init__(self, username: str, password: str, *, pool_id: str, client_id: str) -> None:
        self._username = username
        if "_" not in pool_id:
            raise ConfigurationError(
                f"{pool_id!r} is not a Cognito user pool id (it looks like "
                "'eu-west-1_AbCdEf123'): correct it in Settings."
            )
        self._srp = AWSSRP(username=username, password=password, pool_id=pool_id,
                           client_id=client_id, client=_NO_CLIENT)

    def __repr__(self) -> str:  # never the password
        return f"SrpProof(username={self._username!r})"

    def auth_parameters(self) -> dict[str, str]:
        return dict(self._srp.get_auth_params())

    def answer(self, challenge_parameters: dict[str, Any]) -> dict[str, str]:
        """The ``ChallengeResponses`` that prove the password for Cognito's SALT/SRP_B."""
        return dict(self._srp.process_challenge(dict(challenge_parameters),
                                                {"USERNAME": self._username}))
