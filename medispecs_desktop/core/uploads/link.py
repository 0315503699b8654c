"""The upload link: what it carries, and timeouts measured in progress rather than in time.

A hospital guest Wi-Fi or a tethered laptop may move 32 KiB/s per connection. Two things make
uploads finish there:

* **Progress-based timeouts.** ``requests``/urllib3 send a request body with ``sendall`` under
  the *connect* timeout, and since Python 3.5 that timeout bounds the whole ``sendall``: a 1 MiB
  write on a 48 KiB/s link (21 s) was cut at 15 s, and the part restarted from byte 0 for ever.
  :func:`use_progress_timeouts` gives a session connections whose body writes use
  ``socket.send`` under a *stall* timeout (the request's read timeout): a write fails only when
  the link accepted **no byte** for that long, however slow it is; before the answer is
  awaited they wait while the OS still sends the body's tail from its buffers (the peer
  acknowledging nothing for that long is a stall too). A stall surfaces as
  :class:`Stalled` (found in the exception chain by ``transfer.put_object``).
* **Writes sized to the link.** :class:`LinkEstimator` measures the bytes every transfer hands
  to its socket (a shared rolling rate, like the bandwidth cap is shared), and from it suggests
  the block size of one write (about :data:`BLOCK_SECONDS` of sending per write, 16 KiB to
  16 MiB) and a smaller multipart part size on a slow link (a part sends in about
  :data:`PART_SECONDS`), so a stalled part loses little and the journal moves often.
"""

from __future__ import annotations

import select
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.timeout import Timeout

from medispecs_desktop.core.uploads.progress import RollingRate

KIB = 1024
MIB = 1024 * KIB
MIN_BLOCK = 16 * KIB
MAX_BLOCK = 16 * MIB  # loopback sink: smaller blocks cost CPU and throughput (transfer.VIEW_BLOCK)
FIRST_BLOCK = 64 * KIB  # before anything is measured: small, it grows within a second


def _socket_buffers() -> int:
    """What one connection's buffers may take at once without the link moving a byte: the
    largest send buffer plus the receive buffer a peer starts with (the peer may be on this
    machine - a proxy, a local stack). Linux grows a receive buffer past its default only
    from what the application reads out of it (``tcp_rcv_space_adjust``), so a peer that
    reads nothing - or a proxy that reads only as fast as its own slow uplink - holds at most
    the default, ``tcp_rmem``'s middle value (128 KiB), not its maximum (32 MiB on this
    kind of machine: with the maximum, the first 144 MiB of a 4-part upload to a loopback
    sink could never prove the link fast, and the first fifth of a second went in 64 KiB
    writes). Linux's sysctls where they are readable, else generous defaults."""
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem", encoding="ascii") as f:
            send = int(f.read().split()[2])
        with open("/proc/sys/net/ipv4/tcp_rmem", encoding="ascii") as f:
            receive = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 4 * MIB + 6 * MIB
    return send + receive


SOCKET_BUFFER = _socket_buffers()
"""Before the rate is measured, only the bytes beyond this prove the link moves them."""
BLOCK_SECONDS = 0.5  # one socket write carries about this much sending
PART_SECONDS = 120.0  # on a slow link a part is sized to send in about this long
DEFAULT_STALL_TIMEOUT = 60.0  # when a request names no read timeout
# fewer parallel streams on a slow link, when fewer move as many bytes:
SLOW_LINK = MIB  # bytes/s all together; above it every stream the engine wants may run
LEVEL_SECONDS = 8.0  # a number of streams is judged on this much sending with that many
FORGET_SECONDS = 300.0  # links change: judge again from scratch after this long
SAME = 0.9  # fewer streams moving at least this share of the bytes are as good


class Stalled(TimeoutError):
    """The link accepted no byte of a request body for ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no byte accepted for {seconds:g} s")
        self.seconds = seconds


class LinkEstimator:
    """Throughput of the upload link, shared by every transfer of an engine. Thread-safe.

    :meth:`add` is called with each block a transfer hands to its socket (a block is read only
    after the previous one was accepted, so this is the rate the link accepts bytes);
    :meth:`stream` brackets one request so the per-connection share is known, and on a slow
    link it is also the gate that keeps fewer requests in flight: the bytes/s seen with
    each number of parallel streams are compared, and when one stream fewer moves as much
    (a shared bottleneck such as a guest Wi-Fi), new requests wait for a free place; when
    the link limits each connection instead, every stream keeps running.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        window: float = 5.0,
        block_seconds: float = BLOCK_SECONDS,
        part_seconds: float = PART_SECONDS,
    ) -> None:
        self._clock = clock
        self._rate = RollingRate(window)
        self._first: float | None = None
        self._streams = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.block_seconds = block_seconds
        self.part_seconds = part_seconds
        self.limit: int | None = None  # parallel streams allowed now (None: no limit)
        self._seen: dict[int, list[float]] = {}  # streams -> [bytes, seconds] at that many
        self._tried: set[int] = set()  # numbers of streams already probed one lower
        self._last: float | None = None
        self._judged = float("-inf")
        self._forget_at = clock() + FORGET_SECONDS

    def add(self, amount: int) -> None:
        if amount <= 0:
            return
        now = self._clock()
        with self._lock:
            if self._first is None:
                self._first = now
            if self._last is not None and self._streams > 0:
                seen = self._seen.setdefault(self._streams, [0.0, 0.0])
                seen[0] += amount
                seen[1] += now - self._last
            self._last = now
            self._rate.add(now, amount)
            self._judge(now)

    @contextmanager
    def stream(self, waiting: Callable[[], None] | None = None) -> Iterator[None]:
        """One request in flight; waits for a place while :attr:`limit` streams run
        (``waiting`` is called meanwhile and may raise to give up, e.g. on pause). While the
        request runs on this thread, ``waiting`` is also called between the socket's sends
        and while the OS still holds unsent bytes (:func:`_send_body`, :func:`_drain`), so a
        pause or a sign-out closes the connection at once even when the whole body already
        sits in the socket buffers - S3 then never completes that part."""
        with self._changed:
            while self.limit is not None and self._streams >= self.limit:
                if waiting is not None:
                    waiting()
                self._changed.wait(0.25)
            self._streams += 1
        outer = getattr(_request_stop, "check", None)
        _request_stop.check = waiting
        try:
            yield
        finally:
            _request_stop.check = outer
            with self._changed:
                self._streams -= 1
                if self._streams == 0:
                    self._last = None  # idle time is not sending time
                self._changed.notify_all()

    def _judge(self, now: float) -> None:
        """Decide :attr:`limit` from what each number of streams moved (lock held)."""
        if now - self._judged < 1.0:
            return
        self._judged = now
        if now >= self._forget_at:
            self._forget_at = now + FORGET_SECONDS
            self._seen.clear()
            self._tried.clear()
            self._set_limit(None)
        total = self._rate.rate(now)
        if total <= 0:
            return
        if total >= SLOW_LINK:
            self._set_limit(None)
            return
        rates = {k: b / t for k, (b, t) in self._seen.items() if t >= LEVEL_SECONDS}
        n = self._streams
        if n not in rates:
            return
        fewer, more = rates.get(n - 1), rates.get(n + 1)
        if more is not None and rates[n] < SAME * more:
            self._set_limit(None)  # more streams moved more: per-connection limited
        elif n > 1 and fewer is None and n not in self._tried:
            self._tried.add(n)
            self._set_limit(n - 1)  # try one stream fewer
        elif n > 1 and fewer is not None and fewer >= SAME * rates[n]:
            self._set_limit(n - 1)  # as fast with fewer: keep fewer parts at risk

    def _set_limit(self, limit: int | None) -> None:
        if limit != self.limit:
            self.limit = limit
            self._changed.notify_all()

    @property
    def streams(self) -> int:
        with self._lock:
            return self._streams

    def rate(self) -> float:
        """Bytes/s the link accepted lately, all transfers together (0 while unknown)."""
        with self._lock:
            return self._rate.rate(self._clock())

    def stream_rate(self) -> float:
        """The share of one connection (bytes/s; 0 while unknown)."""
        with self._lock:
            return self._rate.rate(self._clock()) / max(1, self._streams)

    def measured(self) -> bool:
        """True once a fifth of a second of sending has been seen (estimates mean something;
        a fast link gets its big writes at once)."""
        with self._lock:
            return self._first is not None and self._clock() - self._first >= 0.2

    def block_size(self) -> int:
        """Bytes for the next socket write: about ``block_seconds`` at this connection's share,
        a power of two between :data:`MIN_BLOCK` and :data:`MAX_BLOCK`."""
        if not self.measured():
            return max(FIRST_BLOCK, self._pow2_block(self._sure_stream_rate()))
        return self._pow2_block(self.stream_rate())

    def _sure_stream_rate(self) -> float:
        """Before a fifth of a second is measured: the per-connection rate the link surely
        has -- what it accepted beyond what the connections' send buffers could hold. A fast
        link (a loopback sink, a LAN) gets its big writes after a few MiB instead of sending
        its first fifth of a second in 64 KiB writes; a slow one never passes the buffers."""
        with self._lock:
            if self._first is None:
                return 0.0
            streams = max(1, self._streams)
            beyond = self._rate.total - SOCKET_BUFFER * streams
            span = max(self._clock() - self._first, 1e-3)
            return max(0.0, beyond / span / streams)

    def _pow2_block(self, rate: float) -> int:
        want = rate * self.block_seconds
        block = MIN_BLOCK
        while block * 2 <= want and block < MAX_BLOCK:
            block *= 2
        return block

    def part_size(self, preferred: int) -> int:
        """``preferred``, or less on a slow link: what one connection sends in
        ``part_seconds`` (whole MiB; the caller applies S3's 5 MiB minimum)."""
        if not self.measured():
            return preferred
        rate = self.stream_rate()
        if rate <= 0:
            return preferred
        fits = -(-int(rate * self.part_seconds) // MIB) * MIB
        return max(MIB, min(preferred, fits))


# --------------------------------------------------------------------------- stall timeouts

_request_stop = threading.local()  # this thread's request's stop check (LinkEstimator.stream)


def _check_stop() -> None:
    """Raises when the request on this thread was asked to stop (pause, cancel, sign-out)."""
    check = getattr(_request_stop, "check", None)
    if check is not None:
        check()



def _send_body(conn: Any, data: Any) -> bool:
    """Send ``data`` with ``socket.send`` under the stall timeout; False if not ours to send.

    The OS reports room in a send buffer only once much of it drained (half of megabytes,
    on an autotuned buffer), so a ``send`` may wait longer than the stall timeout while bytes
    still move: between short waits the peer's acknowledgements are counted as progress too.
    """
    sock = conn.sock
    if sock is None or not isinstance(data, (bytes, bytearray, memoryview)):
        return False
    stall = conn.stall_timeout or DEFAULT_STALL_TIMEOUT
    tick = min(stall, 1.0)
    if sock.gettimeout() != tick:  # urllib3 sets the read timeout again before the answer
        sock.settimeout(tick)
    view = memoryview(data).cast("B")
    moved = time.monotonic()
    queued: int | None = None
    while view:
        _check_stop()
        try:
            sent = sock.send(view)
        except TimeoutError:
            now_queued = unsent_bytes(sock)
            if queued is not None and now_queued is not None and now_queued < queued:
                moved = time.monotonic()  # the peer acknowledged bytes: the link moves
            queued = now_queued
            if time.monotonic() - moved >= stall:
                raise Stalled(stall) from None
            continue
        view = view[sent:]
        moved, queued = time.monotonic(), None
    return True


def unsent_bytes(sock: Any) -> int | None:
    """Bytes written to ``sock`` that the peer has not acknowledged yet (None: unknown here)."""
    try:
        if sys.platform.startswith("linux"):
            import fcntl
            import termios

            raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, struct.pack("i", 0))
            return int(struct.unpack("i", raw)[0])
        if sys.platform == "darwin":
            return int(sock.getsockopt(socket.SOL_SOCKET, 0x1024))  # SO_NWRITE
    except (OSError, ValueError):
        return None
    return None


def _established(sock: Any) -> bool:
    """False once the peer closed or reset the connection (Linux TCP_INFO; else assume so)."""
    if not sys.platform.startswith("linux"):
        return True
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
    except (OSError, AttributeError, ValueError):
        return True
    return bool(info) and info[0] == 1  # TCP_ESTABLISHED


def _answered(sock: Any, poll: float) -> bool:
    """Wait ``poll`` s; True when the peer's answer (or close) is already there. A TLS socket
    is readable from session tickets alone, so there only the TCP state tells."""
    if not _established(sock):
        return True
    if hasattr(sock, "pending"):  # ssl.SSLSocket
        time.sleep(poll)
        return not _established(sock)
    try:
        readable, _, _ = select.select([sock], [], [], poll)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _drain(conn: Any, poll: float = 0.05) -> None:
    """Before waiting for the answer: wait while the OS still sends the body's tail from its
    buffers (megabytes on a fast-buffered slow link), failing only when the peer acknowledges
    nothing for the stall timeout. Then the read timeout measures the server's answer alone.
    An early answer, a close or a reset ends the wait at once."""
    sock = conn.sock
    if sock is None:
        return
    stall = conn.stall_timeout or DEFAULT_STALL_TIMEOUT
    left = unsent_bytes(sock)
    moved = time.monotonic()
    while left:
        _check_stop()
        if _answered(sock, poll):
            return
        now_left = unsent_bytes(sock)
        if now_left is None:
            return
        if now_left < left:
            moved = time.monotonic()
        elif time.monotonic() - moved >= stall:
            raise Stalled(stall)
        left = now_left


class _ProgressSend:
    """Connection mixin: bodies under the stall timeout, the tail drained before the answer."""

    stall_timeout: float | None = None

    def send(self, data: Any) -> None:
        if not _send_body(self, data):
            super().send(data)  # type: ignore[misc]

    def getresponse(self) -> Any:
        _drain(self)
        return super().getresponse()  # type: ignore[misc]


class _ProgressHTTPConnection(_ProgressSend, HTTPConnection):
    pass


class _ProgressHTTPSConnection(_ProgressSend, HTTPSConnection):
    pass


class _StallFromRequest:
    """Pool mixin: each request's read timeout becomes its connection's stall timeout."""

    def _make_request(self, conn: Any, *args: Any, **kwargs: Any) -> Any:
        timeout = kwargs.get("timeout")
        value = timeout.read_timeout if isinstance(timeout, Timeout) else None
        conn.stall_timeout = (float(value) if isinstance(value, (int, float)) and value > 0
                              else None)
        return super()._make_request(conn, *args, **kwargs)  # type: ignore[misc]


class _ProgressPool(_StallFromRequest, HTTPConnectionPool):
    ConnectionCls = _ProgressHTTPConnection


class _ProgressHTTPSPool(_StallFromRequest, HTTPSConnectionPool):
    ConnectionCls = _ProgressHTTPSConnection


def use_progress_timeouts(manager: Any) -> Any:
    """Make a urllib3 pool manager's connections send bodies under the stall timeout: with
    ``timeout=(connect, stall)`` a request fails when connecting takes ``connect`` seconds or
    the link accepts (or answers) nothing for ``stall`` seconds, never for being slow."""
    manager.pool_classes_by_scheme = {"http": _ProgressPool, "https": _ProgressHTTPSPool}
    return manager
