"""A fault-injecting HTTP proxy in front of the local API gateway (tests only).

Requests are forwarded to the gateway unchanged. :meth:`ApiFaultProxy.drop_answer` makes the
next matching requests be *processed* by the server (forwarded, answered) while the answer never
reaches the client: the proxy closes the client's connection instead, as a link that drops
after the request went out does. The client cannot tell whether its request took effect --
exactly the case an idempotent server must survive.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "host", "content-length"}


@dataclass
class Drop:
    method: str
    path: re.Pattern[str]
    times: int


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    dropped: bool


@dataclass
class Log:
    exchanges: list[Exchange] = field(default_factory=list)

    def calls(self, method: str, pattern: str) -> list[Exchange]:
        rx = re.compile(pattern)
        return [e for e in self.exchanges if e.method == method and rx.fullmatch(e.path)]


class ApiFaultProxy:
    def __init__(self, upstream: str, host: str = "127.0.0.1") -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self._drops: list[Drop] = []
        self._lock = threading.Lock()
        self.log = Log()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

            do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> ApiFaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def drop_answer(self, method: str, path_pattern: str, times: int = 1) -> None:
        """The next ``times`` requests ``method`` whose path fully matches ``path_pattern``
        reach the server; their answers are dropped (the connection is closed)."""
        with self._lock:
            self._drops.append(Drop(method, re.compile(path_pattern), times))

    def _take_drop(self, method: str, path: str) -> bool:
        with self._lock:
            for drop in self._drops:
                if drop.times > 0 and drop.method == method and drop.path.fullmatch(path):
                    drop.times -= 1
                    return True
        return False

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        path = urlsplit(h.path).path
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            headers = {k: v for k, v in h.headers.items() if k.lower() not in HOP_BY_HOP}
            conn.request(h.command, h.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
        finally:
            conn.close()
        dropped = self._take_drop(h.command, path)
        with self._lock:
            self.log.exchanges.append(Exchange(h.command, path, resp.status, dropped))
        if dropped:  # the server did the work; the client never hears of it
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            h.connection.close()
            h.close_connection = True
            return
        h.send_response(resp.status)
        for k, v in out:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)
