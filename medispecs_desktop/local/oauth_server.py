"""The managed login of the local stack: ``/oauth2/authorize`` (a small login page),
``/oauth2/token`` and ``/oauth2/revoke``, as Cognito serves them on a user pool's domain - moto
has none, and the desktop's browser sign-in (authorization code + PKCE, RFC 8252 loopback
redirect) must be tested end to end.

Built on authlib's OAuth 2 server (``AuthorizationCodeGrant`` + RFC 7636 ``CodeChallenge``,
S256 required; RFC 7009 revocation) in a Flask app mounted in front of moto. The login page
checks the password against moto's Cognito with ``USER_SRP_AUTH`` (verified for real by
``cognito_checks``), asks for the authenticator code when the account has TOTP MFA, and the
code redeems moto's own Cognito tokens - so the local gateway's JWT checks still hold.

Clients are moto's app clients with ``AllowedOAuthFlows: [code]``; their redirect URIs are the
registered ``CallbackURLs``, where a loopback ``http://127.0.0.1/...`` entry matches any port
(RFC 8252 §7.3). Codes live 5 minutes and are single-use.
"""

from __future__ import annotations

import html
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, Response, request

from medispecs_desktop.local.moto_state import pool_by_client, user_pools
from medispecs_desktop.local.wsgi import StartResponse, WsgiApp

log = logging.getLogger(__name__)

__all__ = ["OAuthMiddleware"]

CODE_LIFETIME_SEC = 300.0
MFA_LIFETIME_SEC = 180.0
PATHS = ("/oauth2/authorize", "/oauth2/token", "/oauth2/revoke", "/desktop-settings.json")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


# ------------------------------------------------------------------------------- moto's state


def _moto_pool_and_client(client_id: str) -> tuple[Any, Any] | None:
    found = pool_by_client(client_id)
    return (found[1], found[1].clients[client_id]) if found else None


def _loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK


def _same_but_port(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.path or "/") == (pb.scheme, pb.hostname, pb.path or "/")


class _Client(ClientMixin):  # type: ignore[misc]
    def __init__(self, client_id: str, config: dict[str, Any]) -> None:
        self.client_id = client_id
        self.callbacks = [str(u) for u in config.get("CallbackURLs") or []]
        self.scopes = [str(s) for s in config.get("AllowedOAuthScopes") or []]
        self.flows = [str(f) for f in config.get("AllowedOAuthFlows") or []]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.callbacks[0] if self.callbacks else None

    def get_allowed_scope(self, scope: str) -> str:
        wanted = (scope or "").split()
        return " ".join(s for s in wanted if s in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if redirect_uri in self.callbacks:
            return True
        return _loopback(redirect_uri) and any(
            _loopback(c) and _same_but_port(c, redirect_uri) for c in self.callbacks)

    def check_client_secret(self, client_secret: str) -> bool:
        return False  # public clients only

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "code" in self.flows

    def check_grant_type(self, grant_type: str) -> bool:
        # refresh_token: so the code's answer includes Cognito's refresh token
        return grant_type in ("authorization_code", "refresh_token") and "code" in self.flows


def _query_client(client_id: str) -> _Client | None:
    found = _moto_pool_and_client(str(client_id or ""))
    if found is None:
        return None
    _pool, client = found
    return _Client(client.id, dict(client.extended_config or {}))


# ------------------------------------------------------------------------------- codes


@dataclass
class _SignedIn:
    username: str
    tokens: dict[str, Any] = field(repr=False)


@dataclass
class _Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    user: _SignedIn
    issued: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> None:
        return None

    def get_auth_time(self) -> int:
        return int(self.issued)


class _Codes:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._codes: dict[str, _Code] = {}
        self._lock = threading.Lock()

    def add(self, code: _Code) -> None:
        with self._lock:
            now = self.clock()
            for key in [k for k, c in self._codes.items() if now - c.issued > CODE_LIFETIME_SEC]:
                del self._codes[key]
            self._codes[code.code] = code

    def get(self, code: str, client_id: str) -> _Code | None:
        with self._lock:
            found = self._codes.get(code)
        if (found is None or found.client_id != client_id
                or self.clock() - found.issued > CODE_LIFETIME_SEC):
            return None
        return found

    def spend(self, code: str) -> None:
        with self._lock:
            self._codes.pop(code, None)


def _grant_class(codes: _Codes) -> type[grants.AuthorizationCodeGrant]:
    class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["none"]

        def save_authorization_code(self, code: str, req: Any) -> None:
            data = req.payload.data
            codes.add(_Code(
                code=code, client_id=req.client.get_client_id(),
                redirect_uri=str(req.payload.redirect_uri or ""), scope=str(req.scope or ""),
                code_challenge=str(data.get("code_challenge") or ""),
                code_challenge_method=str(data.get("code_challenge_method") or ""),
                user=req.user, issued=codes.clock()))

        def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
            return codes.get(code, client.get_client_id())

        def delete_authorization_code(self, authorization_code: _Code) -> None:
            codes.spend(authorization_code.code)  # single use: a replay is invalid_grant

        def authenticate_user(self, authorization_code: _Code) -> _SignedIn:
            return authorization_code.user

    return CodeGrant


class _RefreshToken:
    def __init__(self, token: str, client_id: str) -> None:
        self.token, self.client_id = token, client_id

    def check_client(self, client: _Client) -> bool:
        return client.get_client_id() == self.client_id


class _Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["none"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        for _backend, pool in user_pools():
            issued = pool.refresh_tokens.get(token_string)
            if issued:
                return _RefreshToken(token_string, str(issued[0]))
        return None

    def revoke_token(self, token: _RefreshToken, req: Any) -> None:
        from medispecs_desktop.local.revoke import revoke_refresh_token

        revoke_refresh_token(token.token, token.client_id)


# ------------------------------------------------------------------------------- pages

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>Sign in - MediSpecs demo</title>
<style>body{{font-family:system-ui,sans-serif;background:#eef2f5;display:flex;
justify-content:center;padding-top:10vh}}form{{background:#fff;padding:28px 36px;
border-radius:12px;box-shadow:0 2px 12px #0002;width:320px}}label{{display:block;
margin-top:12px}}input{{width:100%;box-sizing:border-box;padding:8px;margin-top:4px}}
.error{{color:#b00020}}button{{margin-top:18px;padding:8px 16px}}</style></head>
<body><form method="post" action="{action}"><h1>MediSpecs demo</h1>
<p>The demo stack's login page (in-memory demo: nothing is stored).</p>{error}{fields}
<button type="submit" name="action" value="sign-in">{button}</button>
<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button>
</form></body></html>"""

_LOGIN_FIELDS = """<label>Username <input name="username" autocomplete="username"
 value="{username}" required autofocus></label><label>Password <input name="password"
 type="password" autocomplete="current-password" required></label>"""

_MFA_FIELDS = """<p>Enter the 6-digit code from your authenticator app.</p>
<input type="hidden" name="pending" value="{pending}"><label>Code <input name="mfa_code"
 inputmode="numeric" autocomplete="one-time-code" required autofocus></label>"""


def _page(fields: str, *, error: str = "", button: str = "Sign in",
          status: int = 200) -> Response:
    action = html.escape(request.full_path if request.query_string else request.path)
    body = _PAGE.format(action=action, fields=fields, button=button,
                        error=f'<p class="error" role="alert">{html.escape(error)}</p>'
                        if error else "")
    return Response(body, status=status, mimetype="text/html",
                    headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                             "Content-Security-Policy": "default-src 'none'; "
                             "style-src 'unsafe-inline'; form-action 'self' http://127.0.0.1:*"})


def _error_page(error: OAuth2Error) -> Response:
    text = f"{error.error}: {error.description or ''}".strip(": ")
    return Response(
        f"<!doctype html><title>Sign-in error</title><h1>This sign-in request is not valid"
        f"</h1><p>{html.escape(text)}</p>", status=400, mimetype="text/html",
        headers={"Cache-Control": "no-store"})


# ------------------------------------------------------------------------------- the app


@dataclass
class _Pending:
    session: str
    username: str
    client_id: str
    created: float


class OAuthMiddleware:
    """WSGI middleware: the managed-login paths go to the Flask app, the rest to moto.

    ``endpoint`` (moto's URL, known once it listens) is where the login page checks passwords
    and ``desktop_settings`` what ``/desktop-settings.json`` serves (set by the stack)."""

    def __init__(self, app: WsgiApp, *, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.clock = clock
        self.endpoint = ""
        self.region = "us-east-1"
        self.desktop_settings: dict[str, Any] = {}
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()
        self.flask = self._build()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO") or "") in PATHS:
            return self.flask.wsgi_app(environ, start_response)
        return self.app(environ, start_response)

    def _build(self) -> Flask:
        # authlib logs the issued token at DEBUG ("Issue token ..."): never, even with -v
        logging.getLogger("authlib").setLevel(logging.INFO)
        flask = Flask("medispecs-local-login")
        flask.config["OAUTH2_SCOPES_SUPPORTED"] = [
            "openid", "email", "profile", "phone", "aws.cognito.signin.user.admin"]
        server = AuthorizationServer(flask, query_client=_query_client,
                                     save_token=lambda token, req: None)
        codes = _Codes(self.clock)
        server.register_grant(_grant_class(codes), [CodeChallenge(required=True)])
        server.register_endpoint(_Revocation)
        server.register_token_generator("default", _cognito_tokens)
        self.server = server

        @flask.route("/oauth2/authorize", methods=["GET", "POST"])
        def authorize() -> Any:
            try:
                grant = server.get_consent_grant(end_user=None)
            except OAuth2Error as exc:
                return _error_page(exc)
            if request.values.get("code_challenge_method") != "S256" or not (
                    request.values.get("code_challenge")):
                # a public client must use PKCE, and only S256 (RFC 7636 §4.2, RFC 8252 §8.1)
                return _error_page(OAuth2Error(
                    error="invalid_request",
                    description="code_challenge with code_challenge_method S256 is required"))
            if request.method == "GET":
                return _page(_LOGIN_FIELDS.format(username=""))
            if request.form.get("action") == "cancel":
                return server.create_authorization_response(grant_user=None, grant=grant)
            client_id = grant.client.get_client_id()
            if request.form.get("pending"):
                return self._answer_mfa(server, grant, client_id)
            username = str(request.form.get("username") or "").strip()
            password = str(request.form.get("password") or "")
            try:
                answer = self._srp(client_id, username, password)
            except _LoginRefused as exc:
                return _page(_LOGIN_FIELDS.format(username=html.escape(username)),
                             error=str(exc), status=401)
            return self._after_password(server, grant, client_id, username, answer)

        @flask.route("/oauth2/token", methods=["POST"])
        def token() -> Any:
            return server.create_token_response()

        @flask.route("/oauth2/revoke", methods=["POST"])
        def revoke() -> Any:
            return server.create_endpoint_response("revocation")

        @flask.route("/desktop-settings.json", methods=["GET"])
        def desktop_settings() -> Any:
            return flask.response_class(
                _json_dumps(self.desktop_settings), mimetype="application/json",
                headers={"Cache-Control": "no-store"})

        return flask

    # -- login ----------------------------------------------------------------------------
    def _idp(self) -> Any:
        from medispecs_desktop.local.provision import aws_client

        return aws_client("cognito-idp", self.endpoint, self.region)

    def _srp(self, client_id: str, username: str, password: str) -> dict[str, Any]:
        from medispecs_desktop.local.cognito_login import LoginRefused, srp_login

        found = _moto_pool_and_client(client_id)
        if not username or not password or found is None:
            raise _LoginRefused("Enter your username and password.")
        idp = self._idp()
        try:
            return srp_login(idp, str(found[0].id), client_id, username, password)
        except LoginRefused as exc:
            raise _LoginRefused(str(exc)) from exc
        finally:
            idp.close()

    def _after_password(self, server: AuthorizationServer, grant: Any, client_id: str,
                        username: str,
                        answer: dict[str, Any]) -> Any:
        challenge = answer.get("ChallengeName")
        if not challenge:
            return server.create_authorization_response(
                grant_user=_SignedIn(username, dict(answer["AuthenticationResult"])),
                grant=grant)
        if challenge == "SOFTWARE_TOKEN_MFA":
            pending = secrets.token_urlsafe(24)
            with self._lock:
                self._pending[pending] = _Pending(str(answer.get("Session") or ""), username,
                                                  client_id, self.clock())
            return _page(_MFA_FIELDS.format(pending=pending), button="Verify")
        return _page(_LOGIN_FIELDS.format(username=html.escape(username)), status=401,
                     error=f"This account needs a step the demo login page does not offer "
                           f"({challenge}): sign in with the password in the app instead.")

    def _answer_mfa(self, server: AuthorizationServer, grant: Any, client_id: str) -> Any:
        from medispecs_desktop.local.cognito_login import LoginRefused, answer_totp

        key = str(request.form.get("pending") or "")
        with self._lock:
            pending = self._pending.pop(key, None)
        if (pending is None or pending.client_id != client_id
                or self.clock() - pending.created > MFA_LIFETIME_SEC):
            return _page(_LOGIN_FIELDS.format(username=""), status=401,
                         error="The sign-in took too long: start again.")
        idp = self._idp()
        try:
            answer = answer_totp(idp, client_id, pending.username, pending.session,
                                 str(request.form.get("mfa_code") or "").strip())
        except LoginRefused as exc:
            return _page(_LOGIN_FIELDS.format(username=html.escape(pending.username)),
                         status=401, error=str(exc))
        finally:
            idp.close()
        return server.create_authorization_response(
            grant_user=_SignedIn(pending.username, dict(answer["AuthenticationResult"])),
            grant=grant)


class _LoginRefused(Exception):
    pass


def _cognito_tokens(grant_type: str, client: _Client, user: _SignedIn | None = None,
                    scope: str | None = None, expires_in: int | None = None,
                    include_refresh_token: bool = True) -> dict[str, Any]:
    """The token response: moto's own Cognito tokens for the signed-in user."""
    assert user is not None
    tokens = user.tokens
    answer: dict[str, Any] = {
        "token_type": "Bearer",
        "access_token": tokens["AccessToken"],
        "id_token": tokens["IdToken"],
        "expires_in": int(tokens.get("ExpiresIn") or 3600),
    }
    if include_refresh_token and tokens.get("RefreshToken"):
        answer["refresh_token"] = tokens["RefreshToken"]
    return answer


def _json_dumps(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))
