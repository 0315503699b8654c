"""Where an upload PUT goes: the session's urllib3 pool for its URL, found once per origin.

``requests.Session.put`` costs ~0.55 ms of CPU per request before a byte moves (measured on
the loopback sink): it looks the proxies up in the whole environment twice per request
(``get_environ_proxies``), reads ``~/.netrc``, merges cookies, hooks and headers, and builds a
``Response``. A 16 MiB part costs that once; per GB of parts it was ~0.03 CPU-s, a tenth of the
engine's own work beyond the SHA-256 stream. :func:`route` asks the session the same questions
once per origin (scheme + host) and keeps the answer for :data:`ROUTE_SECONDS`: the proxies and
TLS settings from ``merge_environment_settings`` (the system proxies, the loopback bypass of
``ProxyAwareSession``, ``REQUESTS_CA_BUNDLE``), the adapter's pool for them
(``get_connection_with_tls_context`` + ``cert_verify``, exactly as ``HTTPAdapter.send`` does)
and whether the request line carries the absolute URL (``request_url``: plain HTTP through a
proxy). :func:`open_put` then calls that pool's ``urlopen`` as the adapter would. A proxy change
in the system settings applies within :data:`ROUTE_SECONDS`, and at once after a failed
request (the caller :func:`forget`\\ s the route).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.response import BaseHTTPResponse
from urllib3.util.timeout import Timeout

ROUTE_SECONDS = 30.0
"""A route (proxy, pool) is asked of the session again after this long."""


@dataclass(frozen=True)
class Route:
    pool: Any  # urllib3 HTTP(S)ConnectionPool (direct, or to the proxy)
    absolute: bool  # the request line carries the whole URL (plain HTTP via a proxy)
    headers: Mapping[str, str | bytes]  # the session's own headers (User-Agent, ...)
    retries: Any  # the adapter's urllib3 Retry
    expires: float


_lock = threading.Lock()
_routes: weakref.WeakKeyDictionary[requests.Session, dict[str, Route]] = (
    weakref.WeakKeyDictionary())


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def route(session: requests.Session, url: str) -> Route:
    """The pool ``session`` would send a request for ``url`` through (see module doc)."""
    origin = _origin(url)
    now = time.monotonic()
    with _lock:
        known = _routes.get(session, {}).get(origin)
    if known is not None and known.expires > now:
        return known
    settings = session.merge_environment_settings(url, {}, False, None, None)
    proxies, verify, cert = settings["proxies"], settings["verify"], settings["cert"]
    adapter = session.get_adapter(url)
    if not isinstance(adapter, HTTPAdapter):
        raise TypeError(f"an upload session needs urllib3 adapters, not {type(adapter)!r}")
    request = requests.Request("PUT", url).prepare()
    pool = adapter.get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
    adapter.cert_verify(pool, url, verify, cert)  # type: ignore[no-untyped-call]
    absolute = adapter.request_url(request, proxies) != request.path_url
    found = Route(pool, absolute, dict(session.headers), adapter.max_retries,
                  now + ROUTE_SECONDS)
    with _lock:
        _routes.setdefault(session, {})[origin] = found
    return found


def forget(session: requests.Session, url: str) -> None:
    """Ask the session again for ``url``'s next request (after a failure: maybe the network
    or its proxy changed)."""
    with _lock:
        _routes.get(session, {}).pop(_origin(url), None)


def open_put(session: requests.Session, url: str, headers: Mapping[str, str], body: Any,
             timeout: tuple[float, float]) -> BaseHTTPResponse:
    """PUT ``body`` (bytes, or an object with ``read``; ``headers`` carry its Content-Length)
    through :func:`route`'s pool, as ``HTTPAdapter.send`` would; the answer's body is read and
    the connection back in the pool when this returns. Raises urllib3's (or the body's own)
    exceptions, as the adapter's ``urlopen`` call does before requests wraps them."""
    way = route(session, url)
    parts = urlsplit(url)
    target = url if way.absolute else (parts.path or "/") + (
        f"?{parts.query}" if parts.query else "")
    merged: dict[str, str | bytes] = {
        k: v for k, v in way.headers.items() if not any(k.lower() == h.lower() for h in headers)}
    merged.update(headers)
    return way.pool.urlopen(  # type: ignore[no-any-return]
        method="PUT", url=target, body=body, headers=merged, redirect=False,
        assert_same_host=False, preload_content=True, decode_content=False,
        retries=way.retries, timeout=Timeout(connect=timeout[0], read=timeout[1]),
        chunked=False,
    )
