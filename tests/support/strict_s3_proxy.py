"""A strict S3 stand-in for the fault tests: a threaded HTTP proxy on 127.0.0.1 in front of moto.

moto accepts what real S3 refuses (chunked bodies, wrong checksums, expired URLs), so the tests
put this proxy between the client and moto's S3. It enforces what S3 enforces and injects the
faults the upload engine must survive:

* ``Transfer-Encoding: chunked``            -> 501 NotImplemented (as S3 does)
* ``Content-Length`` missing on a PUT        -> 411 MissingContentLength
* body shorter than ``Content-Length``       -> 400 IncompleteBody
* ``x-amz-checksum-sha256`` != body's SHA-256 -> 400 BadDigest; a checksum listed in
  ``X-Amz-SignedHeaders`` but not sent      -> 403 SignatureDoesNotMatch
* scripted faults for the next matching PUTs (:meth:`StrictS3Proxy.inject`):
  ``expire`` (403 AccessDenied "Request has expired"), ``status`` (e.g. 503 SlowDown, 500),
  ``cut`` (close the connection after N body bytes), ``reset`` (TCP RST after N bytes),
  ``hold`` (accept the body, then wait on an Event before forwarding it: the test pauses,
  cancels or kills the uploading process meanwhile), ``stall`` (read N body bytes, then read
  nothing more until the Event is set: a link that stopped accepting bytes).
* a slow uplink (:meth:`StrictS3Proxy.throttle`): request bodies are read at most at a rate per
  connection and at a rate shared by all connections, through a small receive buffer, so the
  client's socket writes wait as they do on a real slow link.

How requests reach it: pre-signed URLs point at moto's endpoint, so the engine is given a
``url_rewriter`` (a test hook on the transfer layer) that swaps scheme/host/port for the
proxy's; path and query (the signature) are unchanged and the proxy forwards them to moto, which
does not check signatures. That needs no change to the local stack or the Lambda.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit


def s3_error_xml(code: str, message: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>strict-proxy</RequestId></Error>"
    ).encode()


@dataclass
class Fault:
    kind: str  # expire | status | cut | reset | hold
    status: int = 0
    code: str = ""
    message: str = ""
    after_bytes: int = 0
    event: threading.Event | None = None
    match: Callable[[str, str, dict[str, list[str]]], bool] | None = None


@dataclass
class Seen:
    method: str
    path: str
    part_number: int | None
    upload_id: str | None
    status: int
    body_bytes: int
    fault: str | None = None


@dataclass
class ProxyStats:
    requests: list[Seen] = field(default_factory=list)

    def puts(self, *, ok: bool | None = None) -> list[Seen]:
        out = [r for r in self.requests if r.method == "PUT"]
        if ok is not None:
            out = [r for r in out if (200 <= r.status < 300) == ok]
        return out

    def ok_parts(self) -> list[int]:
        return [r.part_number for r in self.puts(ok=True) if r.part_number is not None]


class Pacer:
    """Bytes/s as a virtual clock: :meth:`reserve` books ``n`` bytes and says when they are due."""

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        self._next = 0.0
        self._lock = threading.Lock()

    def reserve(self, n: int) -> float:
        with self._lock:
            self._next = max(time.monotonic(), self._next) + n / self.rate
            return self._next


class StrictS3Proxy:
    def __init__(self, upstream: str, host: str = "127.0.0.1") -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.stats = ProxyStats()
        self.put_received = threading.Condition()
        self.per_connection_rate = 0.0  # bytes/s of one request body (0: no cap)
        self.shared: Pacer | None = None  # bytes/s of all bodies together
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_PUT(self) -> None:
                proxy._handle(self)

            def do_GET(self) -> None:
                proxy._handle(self)

            def do_HEAD(self) -> None:
                proxy._handle(self)

            def do_POST(self) -> None:
                proxy._handle(self)

            def do_DELETE(self) -> None:
                proxy._handle(self)

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ------------------------------------------------------------------ control
    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StrictS3Proxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            for fault in self._faults:
                if fault.event is not None:
                    fault.event.set()
            self._faults.clear()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> StrictS3Proxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def rewrite(self, url: str) -> str:
        """The engine's ``url_rewriter``: same path and query, the proxy's scheme/host/port."""
        parts = urlsplit(url)
        target = urlsplit(self.endpoint)
        return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))

    def inject(self, kind: str, times: int = 1, **kw: Any) -> None:
        """Queue ``times`` faults of ``kind`` for the next PUTs (optionally only those that
        ``match(method, path, query)``)."""
        with self._lock:
            for _ in range(times):
                self._faults.append(Fault(kind, **kw))

    def throttle(self, *, per_connection: float = 0, shared: float = 0,
                 rcvbuf: int = 32 * 1024) -> None:
        """A slow uplink: bodies read at most ``per_connection`` bytes/s each and ``shared``
        bytes/s together (0: no cap), through a ``rcvbuf``-byte socket receive buffer (so the
        client's writes block as they do on a real slow link, instead of filling megabytes
        of loopback buffers at once)."""
        self.per_connection_rate = float(per_connection)
        self.shared = Pacer(shared) if shared > 0 else None
        self._server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)

    def _read_body(self, h: BaseHTTPRequestHandler, length: int) -> bytes:
        if not length:
            return b""
        if self.per_connection_rate <= 0 and self.shared is None:
            return h.rfile.read(length)
        own = Pacer(self.per_connection_rate) if self.per_connection_rate > 0 else None
        out = bytearray()
        while len(out) < length:
            n = min(4096, length - len(out))
            due = max(p.reserve(n) for p in (own, self.shared) if p is not None)
            time.sleep(max(0.0, due - time.monotonic()))
            chunk = h.rfile.read(n)
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    def wait_for_puts(self, count: int, timeout: float = 30.0, *, ok: bool = True) -> bool:
        with self.put_received:
            return self.put_received.wait_for(
                lambda: len(self.stats.puts(ok=ok)) >= count, timeout=timeout
            )

    # ------------------------------------------------------------------ request handling
    def _take_fault(self, method: str, path: str, query: dict[str, list[str]]) -> Fault | None:
        if method != "PUT":
            return None
        with self._lock:
            for fault in list(self._faults):
                if fault.match is None or fault.match(method, path, query):
                    self._faults.remove(fault)
                    return fault
        return None

    def _record(self, seen: Seen) -> None:
        with self.put_received:
            self.stats.requests.append(seen)
            self.put_received.notify_all()

    def _reply(self, h: BaseHTTPRequestHandler, status: int, body: bytes,
               headers: dict[str, str] | None = None, *, close: bool = False) -> None:
        h.send_response(status)
        for k, v in (headers or {"Content-Type": "application/xml"}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        if close:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlsplit(h.path)
        query = parse_qs(url.query)
        part = int(query["partNumber"][0]) if "partNumber" in query else None
        upload_id = query.get("uploadId", [None])[0]
        method = h.command
        seen = Seen(method, url.path, part, upload_id, 0, 0)

        def reject(status: int, code: str, message: str, *, close: bool = False) -> None:
            seen.status = status
            self._reply(h, status, s3_error_xml(code, message), close=close)
            self._record(seen)

        if "chunked" in (h.headers.get("Transfer-Encoding") or "").lower():
            # S3 does not support chunked uploads to pre-signed URLs
            reject(501, "NotImplemented",
                   "A header you provided implies functionality that is not implemented",
                   close=True)
            return
        length_header = h.headers.get("Content-Length")
        if method == "PUT" and length_header is None:
            reject(411, "MissingContentLength", "You must provide the Content-Length HTTP header.",
                   close=True)
            return
        length = int(length_header or 0)
        fault = self._take_fault(method, url.path, query)
        if fault is not None:
            seen.fault = fault.kind
        if fault is not None and fault.kind in ("cut", "reset"):
            h.rfile.read(min(length, fault.after_bytes))
            seen.body_bytes = min(length, fault.after_bytes)
            seen.status = -1
            self._record(seen)
            sock = h.connection
            if fault.kind == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            sock.close()
            h.close_connection = True
            return
        if fault is not None and fault.kind == "stall":
            h.rfile.read(min(length, fault.after_bytes))
            seen.status = -3
            self._record(seen)
            if fault.event is not None:
                fault.event.wait(120)
            h.connection.close()
            h.close_connection = True
            return
        body = self._read_body(h, length)
        seen.body_bytes = len(body)
        if len(body) != length:
            reject(400, "IncompleteBody",
                   "You did not provide the number of bytes specified by the Content-Length "
                   "HTTP header", close=True)
            return
        if fault is not None and fault.kind == "expire":
            reject(403, "AccessDenied", "Request has expired")
            return
        if fault is not None and fault.kind == "status":
            reject(fault.status, fault.code or "InternalError",
                   fault.message or "We encountered an internal error. Please try again.")
            return
        signed = ",".join(query.get("X-Amz-SignedHeaders", [])).lower().split(";")
        checksum = h.headers.get("x-amz-checksum-sha256")
        if method == "PUT" and "x-amz-checksum-sha256" in signed and checksum is None:
            reject(403, "SignatureDoesNotMatch",
                   "The request signature we calculated does not match the signature you "
                   "provided.")
            return
        if checksum is not None:
            actual = base64.b64encode(hashlib.sha256(body).digest()).decode()
            if actual != checksum:
                reject(400, "BadDigest",
                       "The SHA256 you specified did not match the calculated checksum.")
                return
        if fault is not None and fault.kind == "hold" and fault.event is not None:
            seen.status = -2
            self._record(seen)  # the test sees the body arrived (and may kill the client)
            fault.event.wait()
            seen = Seen(method, url.path, part, upload_id, 0, len(body), "held")
        self._forward(h, url, body, seen)

    def _forward(self, h: BaseHTTPRequestHandler, url: Any, body: bytes, seen: Seen) -> None:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            headers = {k: v for k, v in h.headers.items()
                       if k.lower() not in ("host", "connection", "transfer-encoding")}
            headers["Host"] = f"{self.upstream_host}:{self.upstream_port}"
            target = url.path + (f"?{url.query}" if url.query else "")
            conn.request(h.command, target, body=body if body else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = {k: v for k, v in resp.getheaders()
                   if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                        "server", "date")}
        finally:
            conn.close()
        seen.status = resp.status
        self._reply(h, resp.status, data, out)
        self._record(seen)
