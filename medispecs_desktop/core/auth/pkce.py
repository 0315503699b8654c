"""Sign-in through the organisation: OAuth 2.0 authorization code + PKCE in the system browser
with a loopback redirect (RFC 8252 / RFC 7636), against Cognito's managed login.

* The app never sees a password: the browser shows the pool's login (or the hospital's SAML/OIDC
  identity provider behind it, with its MFA) and comes back to
  ``http://127.0.0.1:<port>/callback`` - a one-shot HTTP server on loopback only, on a random
  port (or one of the pool's registered ports: Cognito matches callback URLs exactly).
* authlib's ``OAuth2Session`` builds the authorization URL (``state`` + S256 ``code_challenge``)
  and redeems the code at ``/oauth2/token`` with the ``code_verifier``; it refuses a callback
  whose ``state`` is not ours. The loopback server also drops any request with another state
  (another page poking the port) and accepts exactly one answer.
* The tokens are those of ``InitiateAuth``: ID/access in memory, the refresh token to the
  keyring (``CognitoAuth._accept``), refreshed later with ``REFRESH_TOKEN_AUTH`` like any other.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from authlib.common.errors import AuthlibBaseError
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from medispecs_desktop.core.auth.errors import SignInCancelled
from medispecs_desktop.core.config import Settings, require_secure_url
from medispecs_desktop.core.errors import AuthError, ConfigurationError, OfflineError
from medispecs_desktop.core.http import make_session

log = logging.getLogger(__name__)

CALLBACK_PATH = "/callback"
SCOPES = "openid email profile aws.cognito.signin.user.admin"
DEFAULT_TIMEOUT_SEC = 300.0

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title><style>body{{font-family:system-ui,sans-serif;background:#f4f6f8;
color:#1d2733;display:flex;align-items:center;justify-content:center;height:90vh}}
main{{background:#fff;border-radius:12px;padding:32px 40px;max-width:440px;
box-shadow:0 2px 12px #0002}}h1{{font-size:1.3em;margin-top:0}}</style></head>
<body><main><h1>{title}</h1><p>{text}</p></main></body></html>"""


@dataclass(frozen=True)
class Endpoints:
    authorize: str
    token: str
    revoke: str

    @classmethod
    def for_domain(cls, domain: str) -> Endpoints:
        """The managed login's endpoints on the user pool's domain (https, or loopback)."""
        base = require_secure_url(domain.strip(), "sign-in domain").rstrip("/")
        return cls(f"{base}/oauth2/authorize", f"{base}/oauth2/token", f"{base}/oauth2/revoke")


def parse_ports(text: str) -> list[int]:
    """"" -> [0] (any free port, RFC 8252); "47251,47252" or "47251-47253" -> those ports."""
    ports: list[int] = []
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError as exc:
            raise ConfigurationError(f"Redirect ports must be numbers, not {part!r}.") from exc
        if not 1024 <= first <= last <= 65535 or last - first > 100:
            raise ConfigurationError(f"Redirect ports {part!r} are out of range.")
        ports.extend(range(first, last + 1))
    return ports or [0]


class _Result:
    def __init__(self, state: str) -> None:
        self.state = state
        self.url: str | None = None
        self.base = ""  # http://127.0.0.1:PORT
        self.error: str | None = None
        self.done = threading.Event()


def _handler(result: _Result) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "MediSpecs"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:  # never the code
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path != CALLBACK_PATH:
                self._page(404, "Not found", "This address belongs to MediSpecs Desktop.")
                return
            query = parse_qs(parts.query)
            state = (query.get("state") or [""])[0]
            if result.done.is_set():
                self._page(400, "Already signed in",
                           "This sign-in was already used. You can close this tab.")
                return
            if state != result.state:
                # not the sign-in we started (a stale tab or another page): ignore it
                self._page(400, "Not this sign-in",
                           "This answer does not belong to the sign-in MediSpecs is waiting "
                           "for. Start again from the app.")
                return
            error = (query.get("error") or [""])[0]
            if error:
                result.error = (query.get("error_description") or [error])[0]
                self._page(200, "Sign-in not completed",
                           "You can close this tab and return to MediSpecs Desktop.")
            else:
                result.url = f"{result.base}{self.path}"
                self._page(200, "You're signed in to MediSpecs",
                           "You can close this tab and return to MediSpecs Desktop.")
            result.done.set()

        def _page(self, status: int, title: str, text: str) -> None:
            body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

    return Handler


class LoopbackReceiver:
    """A one-shot HTTP server on 127.0.0.1 that waits for the authorization response."""

    def __init__(self, state: str, ports: Sequence[int] = (0,)) -> None:
        self._result = _Result(state)
        handler = _handler(self._result)
        last: OSError | None = None
        for port in ports:
            try:
                self._server = HTTPServer(("127.0.0.1", port), handler)
                break
            except OSError as exc:
                last = exc
        else:
            raise ConfigurationError(
                f"No free port for the sign-in's return address ({last}); close the program "
                "using it or ask IT for other redirect ports.")
        self._server.timeout = 0.2
        self._result.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._serve, name="sign-in-loopback",
                                        daemon=True)
        self._stop = threading.Event()

    @property
    def redirect_uri(self) -> str:
        return f"{self._result.base}{CALLBACK_PATH}"

    def start(self) -> None:
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set() and not self._result.done.is_set():
            self._server.handle_request()

    def wait(self, timeout: float, cancel: threading.Event | None = None) -> str:
        """The callback URL; SignInCancelled / AuthError on cancel, refusal or timeout."""
        step = 0.2
        waited = 0.0
        while not self._result.done.wait(step):
            waited += step
            if cancel is not None and cancel.is_set():
                raise SignInCancelled()
            if waited >= timeout:
                raise AuthError("The sign-in in the browser took too long: start again.",
                                code="browser_timeout")
        if self._result.error is not None:
            raise AuthError(f"The sign-in was not completed in the browser: "
                            f"{self._result.error}", code="browser_refused")
        assert self._result.url is not None
        return self._result.url

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        self._server.server_close()


def _oauth_session(settings: Settings, redirect_uri: str) -> OAuth2Session:
    session = OAuth2Session(client_id=settings.client_id, scope=SCOPES,
                            redirect_uri=redirect_uri, code_challenge_method="S256",
                            token_endpoint_auth_method="none")
    base = make_session(retries=1, timeout=(5.0, 20.0))  # OS trust store + proxies
    for prefix, adapter in base.adapters.items():
        session.mount(prefix, adapter)
    session.headers.update(base.headers)
    host = (urlsplit(settings.auth_domain).hostname or "").lower()
    session.trust_env = not (host in ("localhost", "::1") or host.startswith("127."))
    return session


def browser_sign_in(settings: Settings, open_browser: Callable[[str], object], *,
                    timeout: float = DEFAULT_TIMEOUT_SEC,
                    cancel: threading.Event | None = None) -> dict[str, Any]:
    """Run the whole browser sign-in and return Cognito's ``AuthenticationResult`` shape
    (``IdToken``, ``AccessToken``, ``RefreshToken``, ``ExpiresIn``). ``open_browser(url)`` shows
    the login page (``webbrowser.open`` or ``QDesktopServices.openUrl``)."""
    if not settings.auth_domain:
        raise ConfigurationError(
            "Sign-in through your organisation is not set up: import the settings from IT "
            "(they include the sign-in domain).")
    endpoints = Endpoints.for_domain(settings.auth_domain)
    state = generate_token(32)
    receiver = LoopbackReceiver(state, parse_ports(settings.redirect_ports))
    session = _oauth_session(settings, receiver.redirect_uri)
    try:
        verifier = generate_token(64)  # RFC 7636: 43..128 characters
        # prompt=login: a ward computer's browser may still hold the previous user's login
        # session; each sign-in asks who is there (managed login honours it)
        url, _ = session.create_authorization_url(endpoints.authorize, state=state,
                                                  code_verifier=verifier, prompt="login")
        receiver.start()
        log.info("Browser sign-in started (return address %s)", receiver.redirect_uri)
        open_browser(url)
        callback = receiver.wait(timeout, cancel)
        try:
            token = session.fetch_token(endpoints.token, authorization_response=callback,
                                        state=state, code_verifier=verifier)
        except AuthlibBaseError as exc:
            raise AuthError(f"The sign-in service refused the sign-in: "
                            f"{exc.description or exc.error}", code="browser_refused") from exc
        except OSError as exc:  # requests' ConnectionError and friends
            raise OfflineError(f"Cannot reach the sign-in service ({endpoints.token}): check "
                               "the network connection or proxy.", code="offline") from exc
    finally:
        receiver.close()
        session.close()
    if not token.get("id_token") or not token.get("access_token"):
        raise AuthError("The sign-in service returned no tokens.", code="no_tokens")
    return {"IdToken": token["id_token"], "AccessToken": token["access_token"],
            "RefreshToken": token.get("refresh_token"),
            "ExpiresIn": token.get("expires_in") or 3600}
