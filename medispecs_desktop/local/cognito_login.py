"""Password sign-in against the local stack's Cognito with ``USER_SRP_AUTH`` (pycognito's SRP
maths), for the stack's own use: seeding the demo library, the demo login page, tests. Returns
Cognito's answer: ``AuthenticationResult`` or the next challenge."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
from pycognito.aws_srp import AWSSRP

__all__ = ["LoginRefused", "answer_totp", "srp_login"]


class LoginRefused(Exception):
    """Wrong username/password/code, or a disabled account (the message says which)."""


def _refusal(exc: botocore.exceptions.ClientError) -> LoginRefused:
    code = exc.response.get("Error", {}).get("Code", "")
    if code in ("NotAuthorizedException", "UserNotFoundException"):
        return LoginRefused("Incorrect username or password.")
    if code == "CodeMismatchException":
        return LoginRefused("That code is not right: try the current one.")
    return LoginRefused(f"Sign-in failed ({code}).")


def srp_login(idp: Any, pool_id: str, client_id: str, username: str,
              password: str) -> dict[str, Any]:
    srp = AWSSRP(username=username, password=password, pool_id=pool_id, client_id=client_id,
                 client=idp)
    try:
        first = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_SRP_AUTH",
                                  AuthParameters=srp.get_auth_params())
        if first.get("ChallengeName") != "PASSWORD_VERIFIER":
            return dict(first)
        second = idp.respond_to_auth_challenge(
            ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", Session=first["Session"],
            ChallengeResponses=srp.process_challenge(first["ChallengeParameters"],
                                                     {"USERNAME": username}))
    except botocore.exceptions.ClientError as exc:
        raise _refusal(exc) from exc
    return dict(second)


def answer_totp(idp: Any, client_id: str, username: str, session: str,
                code: str) -> dict[str, Any]:
    try:
        answer = idp.respond_to_auth_challenge(
            ClientId=client_id, ChallengeName="SOFTWARE_TOKEN_MFA", Session=session,
            ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": code})
    except botocore.exceptions.ClientError as exc:
        raise _refusal(exc) from exc
    if "AuthenticationResult" not in answer:
        raise LoginRefused("The sign-in needs a further step.")
    return dict(answer)
