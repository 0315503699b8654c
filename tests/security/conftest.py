"""Fixtures for the security tests: real users signed in to the session's local stack, and an
in-process API gateway (the same ``LocalGateway`` + ``JwtVerifier`` + real ``videos-handler``
the stack runs, over real HTTP, against the stack's moto server) whose Lambda JSON log lines are
captured, so the tests can grep them for secrets."""

from __future__ import annotations

import http.client
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests

from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.handler import App
from medispecs_desktop.backend.logs import LOGGER_NAME, JsonFormatter
from medispecs_desktop.local.gateway import LocalGateway
from medispecs_desktop.local.jwt_verify import JwtVerifier, cognito_issuer
from medispecs_desktop.local.stack import sign_in


@dataclass
class User:
    username: str
    password: str
    id_token: str
    access_token: str
    refresh_token: str
    sub: str

    @property
    def secrets(self) -> list[str]:
        """Every secret of this user that must never appear in a log or a file."""
        out = [self.password, self.id_token, self.access_token, self.refresh_token]
        # the signature part alone is a credential fragment too
        out += [t.rsplit(".", 1)[-1] for t in (self.id_token, self.access_token) if "." in t]
        return [s for s in out if s]


def signed_in_user(info: dict[str, Any], username: str, password: str) -> User:
    result = sign_in(info["awsEndpoint"], info["region"], info["clientId"], username, password)
    claims = jwt.decode(result["IdToken"], options={"verify_signature": False})
    return User(username, password, result["IdToken"], result["AccessToken"],
                result["RefreshToken"], str(claims["sub"]))


@pytest.fixture(scope="session")
def alice(local_stack: dict[str, Any]) -> User:
    demo = local_stack["users"][0]
    return signed_in_user(local_stack, demo["username"], demo["password"])


@pytest.fixture(scope="session")
def bob(local_stack: dict[str, Any]) -> User:
    other = local_stack["users"][1]
    return signed_in_user(local_stack, other["username"], other["password"])


class CapturedLog(logging.Handler):
    """Keeps every formatted record (Lambda records as the Lambda's JSON lines)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.json_formatter = JsonFormatter()
        self.plain = logging.Formatter("%(levelname)s %(name)s: %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(LOGGER_NAME):
            self.lines.append(self.json_formatter.format(record))
        else:
            self.lines.append(self.plain.format(record))
            if record.exc_info:
                self.lines.append(self.plain.formatException(record.exc_info))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def mark(self) -> int:
        """Where the log stands now; ``text_since(mark)`` is what came after it. The handler
        listens on loggers every gateway in this process shares, so a check of one test's own
        requests (no traceback, no 500) reads only its own stretch."""
        return len(self.lines)

    def text_since(self, mark: int) -> str:
        return "\n".join(self.lines[mark:])


_SIGNATURE_RE = re.compile(r"(?i)X-Amz-(?:Signature|Credential|Security-Token)=([^&\s\"']+)")


def url_secrets(url: str) -> list[str]:
    """The authenticating query values of a pre-signed URL (signature, credential)."""
    query = parse_qs(urlsplit(url).query)
    out: list[str] = []
    for name, values in query.items():
        if name.lower() in ("x-amz-signature", "x-amz-credential", "x-amz-security-token"):
            out.extend(values)
    return out


def find_secrets(text: str, secrets: list[str]) -> list[str]:
    """Which of ``secrets`` occur in ``text`` (shortened for the assertion message)."""
    return [s[:12] + "…" for s in secrets if s and s in text]


@dataclass
class Gateway:
    url: str
    log: CapturedLog
    port: int
    seen_urls: list[str] = field(default_factory=list)

    def call(self, method: str, path: str, token: str | None = None, *,
             json_body: Any = None, data: bytes | str | None = None,
             headers: dict[str, str] | None = None) -> requests.Response:
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        with requests.Session() as s:
            s.trust_env = False
            r = s.request(method, self.url + path, json=json_body, data=data, headers=h,
                          timeout=30)
        self._remember_urls(r)
        return r

    def raw(self, method: str, raw_path: str, token: str | None = None,
            body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        """Send ``raw_path`` byte for byte (no client-side normalisation of dot segments or
        percent escapes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.putrequest(method, raw_path, skip_accept_encoding=True)
            if token is not None:
                conn.putheader("Authorization", f"Bearer {token}")
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def _remember_urls(self, r: requests.Response) -> None:
        try:
            text = r.text
        except Exception:  # binary bodies hold no URL
            return
        self.seen_urls.extend(re.findall(r"https?://[^\"\s]+", text))

    def url_signatures(self) -> list[str]:
        out: list[str] = []
        for u in self.seen_urls:
            out.extend(url_secrets(u.replace("\\u0026", "&")))
        return out


def _backend_config(info: dict[str, Any]) -> BackendConfig:
    return BackendConfig(
        table_name=info["table"],
        bucket=info["bucket"],
        region=info["region"],
        presign_expiry_seconds=900,
        allow_query_user_id=False,
        endpoint_url=info["awsEndpoint"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
        s3_addressing_style="path",
    )


@pytest.fixture(scope="session")
def make_gateway(local_stack: dict[str, Any]) -> Iterator[Callable[..., Gateway]]:
    """``make_gateway(clock=...)``: a started in-process gateway with its own log capture."""
    started: list[tuple[LocalGateway, CapturedLog, list[tuple[logging.Logger, int]]]] = []
    app = App(_backend_config(local_stack))

    def factory(*, clock: Callable[[], float] = time.time) -> Gateway:
        verifier = JwtVerifier(
            jwks_url=local_stack["jwksUrl"],
            issuer=cognito_issuer(local_stack["region"], local_stack["userPoolId"]),
            audiences={local_stack["clientId"]},
            clock=clock,
        )
        gw = LocalGateway(app, verifier, clock=clock)
        url = gw.start()
        capture = CapturedLog()
        loggers = [logging.getLogger(n) for n in
                   (LOGGER_NAME, "medispecs_desktop.local.gateway",
                    "medispecs_desktop.local.jwt_verify")]
        levels = [(lg, lg.level) for lg in loggers]
        for lg in loggers:
            lg.addHandler(capture)
            lg.setLevel(logging.DEBUG)
        started.append((gw, capture, levels))
        return Gateway(url, capture, int(url.rsplit(":", 1)[1]))

    yield factory
    for gw, capture, levels in reversed(started):
        gw.stop()
        for lg, level in levels:
            lg.removeHandler(capture)
            lg.setLevel(level)


@pytest.fixture(scope="session")
def gateway(make_gateway: Callable[..., Gateway]) -> Gateway:
    return make_gateway()


def error_body(raw: bytes | str) -> dict[str, Any]:
    """A 4xx body must be JSON: the handler's ``{"error": {...}}`` or the gateway's
    ``{"message": ...}``; never a traceback."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    assert "Traceback" not in text and 'File "' not in text, text[:500]
    body = json.loads(text)
    assert isinstance(body, dict), body
    if "error" in body:
        assert set(body["error"]) == {"code", "message"}, body
        assert re.fullmatch(r"[a-z_]+", body["error"]["code"]), body
    else:
        assert set(body) == {"message"}, body
    return body
