"""Part PUTs go through the upload session's urllib3 pool directly (core/uploads/route.py):
the system proxy and its loopback bypass still apply, a proxy change applies from the next try
after a failure, and exactly the signed headers (plus the session's User-Agent) reach S3."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from medispecs_desktop.core.http import USER_AGENT
from medispecs_desktop.core.uploads.transfer import (
    BufferSlice,
    ConnectionLostError,
    make_upload_session,
    put_object,
)
from tests.support.serving import serving

S3_URL = "http://s3.medispecs.invalid/bucket/videos/v1.mp4?partNumber=1&X-Amz-Signature=abc"


class _Handler(BaseHTTPRequestHandler):
    server: _Peer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.seen.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("ETag", f'"e{len(self.server.seen)}"')
        self.send_header("Content-Length", "0")
        self.end_headers()


class _Peer(ThreadingHTTPServer):
    """An S3 stand-in, or a forward proxy for plain HTTP (it answers whatever it is asked)."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def peer() -> Iterator[_Peer]:
    with serving(_Peer()) as srv:
        yield srv


def _dead_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    for var in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY",
                "https_proxy"):
        monkeypatch.delenv(var, raising=False)

    def use(proxy: str) -> None:
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("http_proxy", proxy)

    return use


def test_a_part_goes_through_the_system_proxy_and_loopback_never_does(peer, proxy_env) -> None:
    session = make_upload_session()
    proxy_env(peer.url)
    body = b"part bytes " * 1000
    etag = put_object(session, S3_URL, {"Content-Length": str(len(body))},
                      BufferSlice(memoryview(body)))
    assert etag == '"e1"'
    target, headers, received = peer.seen[0]
    assert target == S3_URL  # the absolute form a forward proxy needs
    assert headers["Host"] == "s3.medispecs.invalid" and received == body

    proxy_env(_dead_address())  # a hospital proxy must not swallow the local stack
    local = f"{peer.url}/bucket/v1.mp4?partNumber=2"
    assert put_object(session, local, {}, b"local") == '"e2"'
    assert peer.seen[1][0] == "/bucket/v1.mp4?partNumber=2" and peer.seen[1][2] == b"local"


def test_a_changed_proxy_applies_from_the_try_after_a_failure(peer, proxy_env) -> None:
    session = make_upload_session()
    proxy_env(_dead_address())
    with pytest.raises(ConnectionLostError):
        put_object(session, S3_URL, {}, b"first try", timeout=(2.0, 5.0))
    proxy_env(peer.url)  # the user fixed the proxy settings: the retry takes the new one
    assert put_object(session, S3_URL, {}, b"second try") == '"e1"'
    assert peer.seen[0][2] == b"second try"


def test_exactly_the_signed_headers_reach_s3_never_a_netrc_login(
        peer, proxy_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pre-signed URL is its own authorisation: S3 refuses a request that also carries an
    Authorization header. requests added one from ~/.netrc for the URL's host."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login clinician password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    session = make_upload_session()
    signed = {"Content-Length": "5", "Content-Type": "video/mp4",
              "x-amz-checksum-crc64nvme": "AAAAAAAAAAA="}
    assert put_object(session, f"{peer.url}/b/v.mp4?X-Amz-Signature=abc", signed,
                      b"bytes") == '"e1"'
    _, headers, body = peer.seen[0]
    lower = {k.lower(): v for k, v in headers.items()}
    assert "authorization" not in lower
    assert lower["x-amz-checksum-crc64nvme"] == "AAAAAAAAAAA="
    assert lower["content-length"] == "5" and lower["content-type"] == "video/mp4"
    assert lower["user-agent"] == USER_AGENT and body == b"bytes"
    assert "transfer-encoding" not in lower
