"""Cognito ``RevokeToken`` for the local stack (moto 5 does not implement it).

Without it every sign-out made moto answer 500 and print a ``NotImplementedError`` traceback
(which the app copies from the stack's stderr into its log). :class:`RevokeTokenMiddleware`
sits in front of moto's WSGI app and answers ``RevokeToken`` the way Cognito does: the refresh
token stops working (``REFRESH_TOKEN_AUTH`` is refused afterwards), the answer is ``200 {}``,
and a token that is unknown or already revoked is also ``200`` (revoking is idempotent). A
token issued to another app client is refused like Cognito does (400 ``NotAuthorizedException``,
no traceback). Everything else goes to moto unchanged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from medispecs_desktop.local.wsgi import StartResponse, WsgiApp

log = logging.getLogger(__name__)

__all__ = ["REVOKE_TARGET", "RevokeTokenMiddleware", "revoke_refresh_token"]

REVOKE_TARGET = "AWSCognitoIdentityProviderService.RevokeToken"
_MAX_BODY = 64 * 1024


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def revoke_refresh_token(token: str, client_id: str) -> bool:
    """Revoke ``token`` in moto's in-process Cognito state. True if it was live; raises
    ``_Refused`` when the client is unknown or the token belongs to another client."""
    from moto.cognitoidp.models import cognitoidp_backends

    for per_account in cognitoidp_backends.values():
        for backend in per_account.values():
            for pool in list(backend.user_pools.values()):
                if client_id not in pool.clients:
                    continue
                issued = pool.refresh_tokens.get(token)
                if issued is None:  # unknown or already revoked: nothing to do
                    return False
                if issued[0] != client_id:
                    raise _Refused("NotAuthorizedException",
                                   "The token was not issued to this client.")
                pool.refresh_tokens[token] = None  # what moto's own global sign-out does
                return True
    raise _Refused("ResourceNotFoundException", f"App client {client_id} does not exist.")


class RevokeTokenMiddleware:
    """WSGI middleware: answers Cognito ``RevokeToken``, passes everything else to ``app``."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (environ.get("REQUEST_METHOD") != "POST"
                or environ.get("HTTP_X_AMZ_TARGET") != REVOKE_TARGET):
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        try:
            if not 0 <= length <= _MAX_BODY:
                raise _Refused("InvalidParameterException", "Bad request body.")
            try:
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            except ValueError as exc:
                raise _Refused("InvalidParameterException", "Bad request body.") from exc
            token, client_id = body.get("Token"), body.get("ClientId")
            if not isinstance(token, str) or not isinstance(client_id, str) or not token:
                raise _Refused("InvalidParameterException", "Token and ClientId are required.")
            revoked = revoke_refresh_token(token, client_id)
        except _Refused as exc:
            log.debug("RevokeToken refused: %s", exc.code)
            return _answer(start_response, "400 Bad Request",
                           {"__type": exc.code, "message": str(exc)})
        # never log the token itself
        log.debug("RevokeToken: refresh token %s", "revoked" if revoked else "already gone")
        return _answer(start_response, "200 OK", {})


def _answer(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/x-amz-json-1.1"),
                            ("Content-Length", str(len(data)))])
    return [data]
