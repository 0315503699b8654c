"""Progress-based timeouts in the transfer layer itself, over plain HTTP and over TLS (S3 is
HTTPS): a body that a slow peer reads for far longer than the connect timeout completes; a peer
that stops reading fails as :class:`StalledError` after the stall timeout, not the connect one.

The peer is a real socket server reading through a 32 KiB receive buffer at 64 KiB/s."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from medispecs_desktop.core.http import make_retry
from medispecs_desktop.core.uploads.link import LinkEstimator
from medispecs_desktop.core.uploads.transfer import StalledError, _UploadAdapter, put_object

RATE = 64 * 1024
BODY = 256 * 1024  # 4 s at RATE: far past the 0.5 s connect timeout


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class SlowPeer:
    """Accepts one PUT, reads its body at RATE (or stops after ``stall_after`` bytes)."""

    def __init__(self, tls: ssl.SSLContext | None, stall_after: int | None = None) -> None:
        self.tls = tls
        self.stall_after = stall_after
        self.received = 0
        self.release = threading.Event()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.server.getsockname()[1]}/part"

    def _serve(self) -> None:
        raw, _ = self.server.accept()
        conn = self.tls.wrap_socket(raw, server_side=True) if self.tls else raw
        with conn:
            reader = conn.makefile("rb")
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            while self.received < length:
                if self.stall_after is not None and self.received >= self.stall_after:
                    self.release.wait(30)
                    return
                self.received += len(reader.read(min(4096, length - self.received)))
                time.sleep(4096 / RATE)
            conn.sendall(b'HTTP/1.1 200 OK\r\nETag: "e1"\r\nContent-Length: 0\r\n\r\n')

    def close(self) -> None:
        self.release.set()
        self.server.close()


@pytest.fixture(params=["http", "https"])
def setup(request: pytest.FixtureRequest, tmp_path: Path
          ) -> Iterator[tuple[requests.Session, ssl.SSLContext | None]]:
    server_tls: ssl.SSLContext | None = None
    client_tls: ssl.SSLContext | None = None
    if request.param == "https":
        cert, key = _certificate(tmp_path)
        server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_tls.load_cert_chain(cert, key)
        client_tls = ssl.create_default_context(cafile=str(cert))
    with requests.Session() as session:
        session.trust_env = False
        adapter = _UploadAdapter(max_retries=make_retry(0), ssl_context=client_tls)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        yield session, server_tls


def test_a_slow_peer_gets_the_whole_body_past_the_connect_timeout(setup) -> None:
    session, tls = setup
    peer = SlowPeer(tls)
    link = LinkEstimator()
    try:
        started = time.monotonic()
        etag = put_object(session, peer.url, {}, b"m" * BODY, timeout=(0.5, 2.0), link=link)
        elapsed = time.monotonic() - started
    finally:
        peer.close()
    assert etag == '"e1"' and peer.received == BODY
    assert elapsed > 0.5 * BODY / RATE  # it really was slow (the buffers hold < half)


def test_a_peer_that_stops_reading_is_a_stall_after_the_stall_timeout(setup) -> None:
    session, tls = setup
    peer = SlowPeer(tls, stall_after=64 * 1024)
    try:
        started = time.monotonic()
        with pytest.raises(StalledError) as caught:
            put_object(session, peer.url, {}, b"m" * (4 * BODY), timeout=(0.5, 1.5))
        elapsed = time.monotonic() - started
    finally:
        peer.close()
    assert "accepted or answered nothing for 1.5 s" in str(caught.value)
    assert elapsed >= 1.5
