"""The one way the client makes HTTP sessions.

Hospital networks put TLS-inspecting proxies in front of the internet: a session built here
trusts the operating system's certificate store (``truststore``: Keychain, Windows CertStore,
the distribution's CA bundle) and honours the system/environment proxy settings. Every request
gets a connect and a read timeout, and transient failures are retried with jittered exponential
backoff: connection errors always (nothing was sent yet), 429/500/502/503/504 only for idempotent
methods, honouring ``Retry-After``.
"""

from __future__ import annotations

import io
import ipaddress
import ssl
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
import truststore
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from medispecs_desktop import APP_ID, __version__

USER_AGENT = f"{APP_ID}/{__version__}"

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
DEFAULT_TIMEOUT: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# RFC 9110 idempotent methods; POST and PATCH are never replayed after a server answer
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})

BACKOFF_FACTOR = 0.5
BACKOFF_MAX = 20.0
BACKOFF_JITTER = 0.5

_POOL_CONNECTIONS = 4
_POOL_MAXSIZE = 16


def system_ssl_context() -> ssl.SSLContext:
    """A client TLS context that verifies against the operating system's trust store."""
    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def send_botocore_through(client: Any, session: requests.Session) -> None:
    """Make a boto3 client send its HTTP requests through ``session`` (a ``make_session()``).

    botocore builds its own TLS context from its bundled CA file and offers no hook for an
    SSL context, and ``truststore.inject_into_ssl()`` breaks botocore (infinite recursion
    setting ``SSLContext.options``). botocore's documented ``before-send`` event lets a
    handler answer a request instead: we send it with requests (OS trust store, system
    proxies, timeouts) and hand the answer back. botocore still signs (or not), retries and
    parses; transport failures are re-raised as botocore's own exception types so its retry
    policy and callers see what they expect.
    """
    import botocore.awsrequest
    import botocore.exceptions

    def send(request: Any, **_: Any) -> Any:
        url = str(request.url)
        try:
            response = session.request(
                request.method, url, data=request.body, headers=dict(request.headers.items()),
                allow_redirects=False,
            )
        except requests.exceptions.ProxyError as exc:
            raise botocore.exceptions.ProxyConnectionError(proxy_url="(system proxy)",
                                                           error=exc) from exc
        except requests.exceptions.SSLError as exc:
            raise botocore.exceptions.SSLError(endpoint_url=url, error=exc) from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise botocore.exceptions.ConnectTimeoutError(endpoint_url=url, error=exc) from exc
        except requests.exceptions.Timeout as exc:
            raise botocore.exceptions.ReadTimeoutError(endpoint_url=url, error=exc) from exc
        except requests.exceptions.RequestException as exc:
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=url,
                                                              error=exc) from exc
        headers = botocore.awsrequest.HTTPHeaders()
        for key, value in response.headers.items():
            # requests has already decoded and de-chunked the body
            if key.lower() not in ("content-encoding", "content-length", "transfer-encoding"):
                headers[key] = value
        return botocore.awsrequest.AWSResponse(
            url, response.status_code, headers, _RawBody(response.content)
        )

    client.meta.events.register("before-send.*", send)


class _RawBody(io.BytesIO):
    """The ``raw`` botocore's AWSResponse reads a body from."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def make_retry(
    retries: int = 3,
    *,
    backoff_factor: float = BACKOFF_FACTOR,
    backoff_jitter: float = BACKOFF_JITTER,
) -> Retry:
    """The retry policy shared by the API client and the upload engine's own sessions."""
    return Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        redirect=0,
        allowed_methods=IDEMPOTENT_METHODS,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=BACKOFF_MAX,
        backoff_jitter=backoff_jitter,
        respect_retry_after_header=True,
        # hand the last 429/5xx response back instead of raising: callers map it to an error
        raise_on_status=False,
        raise_on_redirect=False,
    )


class TrustStoreAdapter(HTTPAdapter):
    """HTTPAdapter with the OS trust store and a default timeout on every request."""

    def __init__(
        self,
        *,
        max_retries: Retry,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
        pool_connections: int = _POOL_CONNECTIONS,
        pool_maxsize: int = _POOL_MAXSIZE,
    ) -> None:
        self.timeout = timeout
        self.ssl_context = ssl_context if ssl_context is not None else system_ssl_context()
        super().__init__(
            max_retries=max_retries,
            pool_connections=pool_connections,
            pool_maxsize=pool_maxsize,
        )

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self.ssl_context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        proxy_kwargs["ssl_context"] = self.ssl_context
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if verify is True and url.lower().startswith("https"):
            # the OS store (truststore) decides; do not add requests' bundled certifi CAs
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = None
            conn.ca_cert_dir = None
            if cert:  # a client certificate (mutual TLS), as requests does it
                if isinstance(cert, str):
                    conn.cert_file = cert
                else:
                    conn.cert_file, conn.key_file = cert[0], cert[1]
            return
        # verify=False, or a CA bundle path (e.g. REQUESTS_CA_BUNDLE): loaded on top of the
        # OS store by truststore
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return super().send(
            request,
            stream=stream,
            timeout=self.timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def is_loopback_url(url: str) -> bool:
    """True for http(s)://localhost/127.x/[::1] URLs (the embedded local stack)."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ProxyAwareSession(requests.Session):
    """System proxies for everything except loopback: a proxy configured for the hospital
    network (``HTTPS_PROXY``) must not swallow calls to the embedded local stack."""

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if is_loopback_url(str(url)):
            settings["proxies"] = {}
        return settings


def make_session(
    *,
    retries: int = 3,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    backoff_factor: float = BACKOFF_FACTOR,
    backoff_jitter: float = BACKOFF_JITTER,
    ssl_context: ssl.SSLContext | None = None,
    pool_maxsize: int = _POOL_MAXSIZE,
) -> requests.Session:
    """A ``requests.Session`` for the API and pre-signed URLs (see the module docstring).

    ``backoff_factor``/``backoff_jitter`` exist so tests need not sleep; ``ssl_context`` so a
    test can trust its own CA. Proxies come from the environment/OS (``trust_env``).
    """
    session = ProxyAwareSession()
    session.trust_env = True
    session.headers["User-Agent"] = USER_AGENT
    adapter = TrustStoreAdapter(
        max_retries=make_retry(retries, backoff_factor=backoff_factor,
                               backoff_jitter=backoff_jitter),
        timeout=timeout,
        ssl_context=ssl_context,
        pool_maxsize=pool_maxsize,
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
