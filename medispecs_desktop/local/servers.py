"""Loopback HTTP servers that stop completely: no thread or socket outlives ``close()``.

``socketserver``'s threading servers join their request threads on ``server_close()``, but an
idle HTTP/1.1 keep-alive connection keeps its thread blocked in ``recv`` until the client goes
away. :class:`ConnectionTrackingMixin` remembers the open connections so ``close()`` can shut
them down first; :class:`ServerThread` runs ``serve_forever`` and does the ordered stop.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import socketserver
import threading
from typing import Any

__all__ = ["ConnectionTrackingMixin", "ServerThread", "is_loopback_host"]

log = logging.getLogger(__name__)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ConnectionTrackingMixin:
    """Mix into a ``socketserver.ThreadingMixIn`` server (before it) to track connections.

    Use it with ``daemon_threads = False``: ``server_close()`` joins only non-daemon request
    threads, and :meth:`close_connections` makes sure none of them is left waiting."""

    def _tracked(self) -> set[socket.socket]:
        conns: set[socket.socket] | None = getattr(self, "_open_connections", None)
        if conns is None:
            conns = set()
            self._open_connections = conns
            self._conn_lock = threading.Lock()
        return conns

    def process_request(self, request: Any, client_address: Any) -> None:
        conns = self._tracked()
        with self._conn_lock:
            conns.add(request)
        super().process_request(request, client_address)  # type: ignore[misc]

    def shutdown_request(self, request: Any) -> None:
        conns = self._tracked()
        with self._conn_lock:
            conns.discard(request)
        super().shutdown_request(request)  # type: ignore[misc]

    def close_connections(self) -> None:
        """End every open client connection (idle keep-alive ones included)."""
        conns = self._tracked()
        with self._conn_lock:
            pending = list(conns)
        for sock in pending:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ServerThread:
    """Runs a ``socketserver`` server's ``serve_forever`` in a named thread."""

    def __init__(self, server: socketserver.BaseServer, name: str) -> None:
        self.server = server
        self.name = name
        self._thread = threading.Thread(
            target=self._serve, name=name, daemon=True
        )
        self._stopped = False

    def _serve(self) -> None:
        try:
            self.server.serve_forever(poll_interval=0.05)
        except Exception:  # pragma: no cover - logged, the owner notices on stop
            log.exception("%s stopped unexpectedly", self.name)

    def start(self) -> None:
        self._thread.start()

    @property
    def address(self) -> tuple[str, int]:
        address: Any = self.server.server_address
        return str(address[0]), int(address[1])

    @property
    def url(self) -> str:
        """``http://host:port`` of the bound socket (an IPv6 host in brackets)."""
        host, port = self.address
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def stop(self, timeout: float = 10.0) -> None:
        """Stop accepting, end open connections, join request threads and the serve thread."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            self.server.shutdown()
        if isinstance(self.server, ConnectionTrackingMixin):
            self.server.close_connections()
        self.server.server_close()  # joins request threads (block_on_close)
        self._thread.join(timeout)
        if self._thread.is_alive():  # pragma: no cover
            log.warning("%s did not stop within %.0f s", self.name, timeout)
