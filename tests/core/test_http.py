"""core.http against real loopback HTTP/HTTPS servers and a real forward proxy."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import truststore
from urllib3.exceptions import ConnectTimeoutError

from medispecs_desktop import __version__
from medispecs_desktop.core.http import (
    DEFAULT_TIMEOUT,
    TrustStoreAdapter,
    make_retry,
    make_session,
    send_botocore_through,
)
from tests.support.serving import serving

Script = Callable[["Handler"], None]


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self.server.seen.append((self.command, self.path, dict(self.headers)))
        index = min(len(self.server.seen), len(self.server.script)) - 1
        self.server.script[index](self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _any

    def reply(self, status: int, body: bytes = b"{}", headers: dict[str, str] | None = None
              ) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        try:
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout tests)
            pass


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.script: list[Script] = [lambda h: h.reply(200)]
        self.release = threading.Event()

    @property
    def url(self) -> str:
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server() -> Iterator[Server]:
    with serving(Server()) as srv:
        try:
            yield srv
        finally:
            srv.release.set()  # a handler held by the test lets go before the shutdown


def quick_session(**kw: Any) -> requests.Session:
    """The production session, without real sleeping between retries."""
    kw.setdefault("backoff_factor", 0)
    kw.setdefault("backoff_jitter", 0)
    return make_session(**kw)


def test_session_basics() -> None:
    session = make_session()
    assert session.trust_env is True
    assert session.headers["User-Agent"] == f"medispecs-desktop/{__version__}"
    for prefix in ("http://", "https://"):
        adapter = session.get_adapter(prefix + "example.org")
        assert isinstance(adapter, TrustStoreAdapter)
        assert adapter.timeout == DEFAULT_TIMEOUT == (5.0, 30.0)
        assert isinstance(adapter.ssl_context, truststore.SSLContext)
        retry = adapter.max_retries
        assert retry.total == 3 and retry.respect_retry_after_header
        assert retry.status_forcelist == {429, 500, 502, 503, 504}
        assert retry.backoff_jitter > 0
        assert retry.allowed_methods is not None
        assert "POST" not in retry.allowed_methods and "PATCH" not in retry.allowed_methods


def test_user_agent_reaches_the_server(server: Server) -> None:
    response = make_session().get(server.url + "/ua")
    assert response.status_code == 200
    assert server.seen[0][2]["User-Agent"] == f"medispecs-desktop/{__version__}"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_idempotent_requests_are_retried(server: Server, status: int) -> None:
    server.script = [
        lambda h: h.reply(status, headers={"Retry-After": "0"}),
        lambda h: h.reply(status),
        lambda h: h.reply(200, b'{"ok": true}'),
    ]
    response = quick_session().get(server.url + "/videos")
    assert response.status_code == 200 and response.json() == {"ok": True}
    assert [s[0] for s in server.seen] == ["GET", "GET", "GET"]


def test_retries_give_up_and_return_the_last_answer(server: Server) -> None:
    server.script = [lambda h: h.reply(503, b'{"message": "busy"}')]
    response = quick_session(retries=2).delete(server.url + "/videos/v_1")
    assert response.status_code == 503
    assert len(server.seen) == 3  # the first try + 2 retries


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_non_idempotent_requests_are_not_replayed(server: Server, method: str) -> None:
    server.script = [lambda h: h.reply(503), lambda h: h.reply(200)]
    response = quick_session().request(method, server.url + "/videos", json={"a": 1})
    assert response.status_code == 503
    assert len(server.seen) == 1


def test_client_errors_are_not_retried(server: Server) -> None:
    server.script = [lambda h: h.reply(404), lambda h: h.reply(200)]
    assert quick_session().get(server.url + "/x").status_code == 404
    assert len(server.seen) == 1


def test_retry_backoff_has_jitter() -> None:
    retry = make_retry(3, backoff_factor=1.0, backoff_jitter=0.5)
    retry = retry.increment("GET", "/x", error=ConnectTimeoutError("x"))
    retry = retry.increment("GET", "/x", error=ConnectTimeoutError("x"))
    delays = {retry.get_backoff_time() for _ in range(20)}
    assert len(delays) > 1 and all(2.0 <= d <= 2.5 for d in delays)


def test_connection_refused_is_retried_then_raises() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(requests.ConnectionError):
        quick_session().post(f"http://127.0.0.1:{port}/videos", json={})


def test_read_timeout_applies_without_a_per_request_timeout(server: Server) -> None:
    # the server answers only when the test lets it (at teardown at the latest): a client
    # without the read timeout would wait for that answer, and then get a 200, not an error
    answered = threading.Event()

    def answer_when_released(h: Handler) -> None:
        server.release.wait(60)
        answered.set()
        h.reply(200)

    server.script = [answer_when_released]
    session = quick_session(retries=0, timeout=(1.0, 0.3))
    # urllib3 reports an exhausted read timeout as a connection error (requests' mapping)
    with pytest.raises((requests.ReadTimeout, requests.ConnectionError)) as info:
        session.get(server.url + "/slow")
    assert "Read timed out" in str(info.value)
    assert not answered.is_set()  # the client gave up first: the timeout applied


def test_system_proxy_from_the_environment(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    server.script = [lambda h: h.reply(200, b'{"via": "proxy"}')]
    for var in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.url)
    monkeypatch.setenv("http_proxy", server.url)
    response = make_session().get("http://medispecs-api.invalid/videos?limit=1")
    assert response.json() == {"via": "proxy"}
    method, target, headers = server.seen[0]
    assert (method, target) == ("GET", "http://medispecs-api.invalid/videos?limit=1")
    assert headers["Host"] == "medispecs-api.invalid"


# --------------------------------------------------------------------------- TLS


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MediSpecs test CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_server(server: Server, tmp_path: Path) -> tuple[Server, Path]:
    cert, key = _self_signed(tmp_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    return server, cert


def test_tls_is_verified_against_the_os_store(tls_server: tuple[Server, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    server, _ = tls_server
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(requests.exceptions.SSLError):
        quick_session(retries=0).get(server.url + "/secure")


def test_an_extra_ca_bundle_is_trusted_on_top_of_the_os_store(
    tls_server: tuple[Server, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert = tls_server
    # e.g. a hospital's TLS-inspection CA handed out as a file
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    response = quick_session(retries=0).get(server.url + "/secure")
    assert response.status_code == 200


# --------------------------------------------------------------------------- boto3 transport


def _cognito_client(endpoint: str) -> Any:
    import boto3
    import botocore
    from botocore.config import Config

    return boto3.session.Session().client(
        "cognito-idp", region_name="ap-southeast-1", endpoint_url=endpoint,
        config=Config(signature_version=botocore.UNSIGNED,
                      retries={"mode": "standard", "total_max_attempts": 1}),
    )


def _initiate(client: Any) -> Any:
    return client.initiate_auth(ClientId="c", AuthFlow="USER_SRP_AUTH",
                                AuthParameters={"USERNAME": "u", "SRP_A": "0a"})


def test_boto3_calls_go_through_the_session(tls_server: tuple[Server, Path],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore alone trusts only its CA file; routed through our session, a Cognito call
    trusts what the session's truststore context trusts (here: the OS store + a test CA)."""
    import botocore.exceptions

    server, cert = tls_server
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    trusting = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    trusting.load_verify_locations(cafile=str(cert))
    answer = json.dumps({"AuthenticationResult": {"AccessToken": "a", "IdToken": "i",
                                                  "RefreshToken": "r", "ExpiresIn": 3600}})
    server.script = [lambda h: h.reply(200, answer.encode(),
                                       {"Content-Type": "application/x-amz-json-1.1"})]

    plain = _cognito_client(server.url)
    with pytest.raises(botocore.exceptions.SSLError):
        _initiate(plain)

    routed = _cognito_client(server.url)
    send_botocore_through(routed, quick_session(retries=0, ssl_context=trusting))
    result = _initiate(routed)
    assert result["AuthenticationResult"]["AccessToken"] == "a"
    method, path, headers = server.seen[-1]
    assert (method, path) == ("POST", "/")
    assert headers["X-Amz-Target"] == "AWSCognitoIdentityProviderService.InitiateAuth"
    assert "Authorization" not in headers  # unsigned: no AWS credentials involved


def test_boto3_errors_keep_their_types(server: Server) -> None:
    import botocore.exceptions

    client = _cognito_client(server.url)
    send_botocore_through(client, quick_session(retries=0))
    server.script = [lambda h: h.reply(
        400, b'{"__type": "NotAuthorizedException", "message": "Incorrect username or password."}',
        {"Content-Type": "application/x-amz-json-1.1"})]
    with pytest.raises(botocore.exceptions.ClientError) as info:
        _initiate(client)
    assert info.value.response["Error"]["Code"] == "NotAuthorizedException"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    offline = _cognito_client(f"http://127.0.0.1:{port}")
    send_botocore_through(offline, quick_session(retries=0))
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        _initiate(offline)


def test_untrusted_certificates_get_a_clear_message(tls_server: tuple[Server, Path],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from medispecs_desktop.core.api import ApiClient
    from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
    from medispecs_desktop.core.config import Settings
    from medispecs_desktop.core.errors import OfflineError

    server, _ = tls_server
    for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    settings = Settings(api_url=server.url, region="ap-southeast-1",
                        user_pool_id="ap-southeast-1_p", client_id="c",
                        cognito_endpoint=server.url)
    auth = CognitoAuth(settings, MemoryTokenStore(), max_attempts=1)
    with pytest.raises(OfflineError) as info:
        auth.sign_in("alice", "pw")
    assert info.value.code == "tls_error"
    assert "certificate store" in str(info.value) and "certificate verify failed" in str(
        info.value)

    class Static:
        def id_token(self) -> str:
            return "t"

        def force_refresh(self) -> str:
            return "t"

    api = ApiClient(settings, Static(), session=quick_session(retries=0))
    with pytest.raises(OfflineError) as api_info:
        api.list_videos()
    assert api_info.value.code == "tls_error"
    assert server.seen == []  # no request was ever sent in clear or to an untrusted peer


def test_loopback_never_goes_through_the_system_proxy(server: Server,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A hospital HTTP(S)_PROXY must not swallow calls to the embedded local stack."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{s.getsockname()[1]}"
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(var, dead_proxy)
    assert quick_session(retries=0).get(server.url + "/local").status_code == 200
    localhost = server.url.replace("127.0.0.1", "localhost")
    assert quick_session(retries=0).get(localhost + "/local").status_code == 200
    with pytest.raises(requests.exceptions.ProxyError):
        quick_session(retries=0).get("http://medispecs-api.invalid/videos")
