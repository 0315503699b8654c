"""Moving bytes to S3 through pre-signed URLs: file slices, the bandwidth cap, PUT + errors.

* :class:`FileSlice` streams ``length`` bytes of a file from ``offset``: it has ``read(n)`` and
  ``__len__``, so a PUT carries an exact ``Content-Length`` and never chunked encoding
  (real S3 answers 501 to that), and only one block (``BLOCK_SIZE``) is ever in memory. A file
  that got shorter under it raises :class:`SourceError` instead of sending a short body.
* :class:`TokenBucket` is the optional bandwidth cap shared by every transfer.
* ``link.LinkEstimator`` (optional, shared) sizes each block to the measured throughput.
* :func:`put_object` PUTs one slice (through the session's urllib3 pool: ``route.py``) and turns
  S3's answer into an ETag or a classified error:
  :class:`UrlExpiredError` (re-sign), :class:`TransientError` (back off and retry),
  :class:`ConnectionLostError` (back off, then wait for the network), :class:`StalledError`
  (the link accepted no byte for the stall timeout: ``timeout=(connect, stall)``),
  :class:`RejectedError` (fail the job with S3's reason).
"""

from __future__ import annotations

import errno
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import HTTPError, ReadTimeoutError

from medispecs_desktop.core.errors import MediSpecsError
from medispecs_desktop.core.http import TrustStoreAdapter, make_retry, make_session
from medispecs_desktop.core.logs import redact
from medispecs_desktop.core.uploads.link import LinkEstimator, Stalled, use_progress_timeouts
from medispecs_desktop.core.uploads.route import forget, open_put

log = logging.getLogger(__name__)

# One read from the file and one socket write per block. 4 MiB: measured against a loopback
# sink, 256 KiB blocks cost ~10% throughput (more Python per byte) and urllib3's default 16 KiB
# far more; 4 MiB costs ~4% less CPU per GB than 1 MiB (alternating runs). Under a bandwidth
# cap blocks stay small so the cap stays smooth; with a LinkEstimator a block is what the link
# sends in about half a second (16 KiB to link.MAX_BLOCK).
BLOCK_SIZE = 4 * 1024 * 1024
# A part already in memory (BufferSlice) goes to the socket in views of up to a whole 16 MiB
# part on a fast link: a view copies and holds nothing. Loopback sink, 537 MB, alternating
# runs: 4 MiB views cost 0.03-0.08 CPU-s/GB more than 16 MiB ones (the part threads' per-write
# Python and wake-ups, and the hashing thread they interrupt); 1 MiB views 0.13 more.
VIEW_BLOCK = 16 * 1024 * 1024
THROTTLED_BLOCK_SIZE = 256 * 1024
UrlRewriter = Callable[[str], str]
E = TypeVar("E", bound=BaseException)


class TransferError(MediSpecsError):
    """Base of the classified outcomes of one PUT."""

    code = "transfer"


class UrlExpiredError(TransferError):
    code = "url_expired"


class TransientError(TransferError):
    """5xx, SlowDown, 429, RequestTimeout: retry after a pause."""

    code = "transient"


class ConnectionLostError(TransientError):
    """The connection failed or was cut: retry, then wait for the network."""

    code = "connection"


class StalledError(ConnectionLostError):
    """The link accepted no byte of the body for the stall timeout (slow or dead link)."""

    code = "stalled"


class SlowConnectionError(TransferError):
    """A transfer kept stalling while the API answered: the link is too slow for now."""

    code = "slow_connection"


def slow_connection_message(fraction: float, seconds: float, detail: str = "") -> str:
    """``Slow connection: 12 % after 10 min`` (+ what stalled), for the job's row."""
    minutes = max(1, round(seconds / 60))
    text = f"Slow connection: {int(fraction * 100)} % after {minutes} min"
    if detail:
        text += f" ({detail})"
    return text + ". Retry when the connection is better; what was sent is kept."


class RejectedError(TransferError):
    """S3 refused the request for good (403 other than expiry, 4xx): fail with the reason."""

    code = "rejected"


class SourceError(MediSpecsError):
    """The local file could not be read (card pulled, I/O error) or changed while reading."""

    code = "source"

    def __init__(self, message: str, *, vanished: bool = False) -> None:
        super().__init__(message, code="source_vanished" if vanished else "source")
        self.vanished = vanished


SOURCE_GONE_ERRNOS = frozenset(
    {errno.ENOENT, errno.EIO, errno.ENXIO, errno.ENODEV, errno.ESTALE, errno.ENOTDIR}
)


class TokenBucket:
    """Bandwidth cap in bytes/s shared by all transfers (``rate <= 0`` = unlimited)."""

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self.rate = 0.0
        self.capacity = 0.0
        self._tokens = 0.0
        self._stamp = clock()
        self.set_rate(rate)

    def set_rate(self, rate: float) -> None:
        """A new cap, in force from the next block of every running transfer (Settings
        changed while uploads run); ``rate <= 0`` lifts it."""
        with self._lock:
            self.rate = float(rate)
            self.capacity = float(
                self._burst if self._burst is not None else max(rate / 4, THROTTLED_BLOCK_SIZE)
            )
            self._tokens = min(self._tokens, self.capacity) if self.rate > 0 else self.capacity
            self._stamp = self._clock()

    @property
    def unlimited(self) -> bool:
        return self.rate <= 0

    def consume(self, amount: int) -> None:
        """Take ``amount`` bytes' worth of tokens, sleeping (outside the lock) until available."""
        if self.unlimited or amount <= 0:
            return
        while True:
            with self._lock:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                if self.rate <= 0:  # lifted while this transfer waited
                    return
                need = min(amount, self.capacity)
                if self._tokens >= need - 1.0:  # a byte of slack: float rounding never spins
                    self._tokens -= amount  # may go negative for amount > capacity: paid later
                    return
                wait = max(0.001, (need - self._tokens) / self.rate)
            self._sleep(wait)


class FileSlice:
    """A read-only view of ``length`` bytes of an open file descriptor from ``offset``.

    ``__len__`` gives the Content-Length and urllib3 calls ``read(n)`` to stream. Each
    block read is passed to ``on_read`` (progress, hashing) and charged to ``bucket``.
    ``abort_check()`` is called per block; raising from it stops the transfer (pause/cancel).
    """

    def __init__(
        self,
        fd: int,
        offset: int,
        length: int,
        *,
        on_read: Callable[[bytes | memoryview], None] | None = None,
        bucket: TokenBucket | None = None,
        abort_check: Callable[[], None] | None = None,
        name: str = "",
        link: LinkEstimator | None = None,
    ) -> None:
        self._fd = fd
        self._offset = offset
        self._length = length
        self._pos = 0
        self._on_read = on_read
        self._bucket = bucket
        self._abort_check = abort_check
        self.name = name
        self._link = link

    max_block = BLOCK_SIZE
    """The most one :meth:`read` returns (a read from the file is a new ``bytes``)."""

    def __len__(self) -> int:
        return self._length - self._pos

    @property
    def sent(self) -> int:
        return self._pos

    def check_abort(self) -> None:
        """Raise if the transfer must stop (pause/cancel), also while it waits to start."""
        if self._abort_check is not None:
            self._abort_check()

    def read(self, size: int = -1) -> bytes | memoryview:
        remaining = self._length - self._pos
        if remaining <= 0:
            return b""
        capped = self._bucket is not None and not self._bucket.unlimited
        block = THROTTLED_BLOCK_SIZE if capped else self.max_block
        if self._link is not None:
            block = min(block, self._link.block_size())
        if size is None or size < 0 or size > block:
            size = block
        size = min(size, remaining)
        if self._abort_check is not None:
            self._abort_check()
        if capped and self._bucket is not None:
            self._bucket.consume(size)
        data = self._read_at(self._offset + self._pos, size)
        if not data:
            raise SourceError(
                f"{self.name or 'The file'} got shorter while uploading (it changed on disk)."
            )
        self._pos += len(data)
        if self._link is not None:
            self._link.add(len(data))
        if self._on_read is not None:
            self._on_read(data)
        return data


    def _read_at(self, position: int, size: int) -> bytes | memoryview:
        try:
            return os.pread(self._fd, size, position)
        except OSError as exc:
            raise SourceError(
                f"Cannot read {self.name or 'the file'}: {exc.strerror or exc}",
                vanished=exc.errno in SOURCE_GONE_ERRNOS,
            ) from exc


class BufferSlice(FileSlice):
    """A :class:`FileSlice` over bytes already read into memory (a part read once, hashed,
    and kept until S3 accepted it): the same progress, cap and abort checks, in blocks of up
    to :data:`VIEW_BLOCK` (views of the part: no copy)."""

    max_block = VIEW_BLOCK

    def __init__(self, data: memoryview, **kwargs: Any) -> None:
        super().__init__(-1, 0, len(data), **kwargs)
        self._data = data

    def _read_at(self, position: int, size: int) -> bytes | memoryview:
        return self._data[position:position + size]


@dataclass(frozen=True)
class S3ErrorInfo:
    status: int
    code: str
    message: str


_XML_FIELD = re.compile(r"<(Code|Message)>([^<]*)</\1>")


def parse_s3_error(status: int, body: str) -> S3ErrorInfo:
    found = dict(_XML_FIELD.findall(body or ""))
    return S3ErrorInfo(status, found.get("Code", ""), found.get("Message", "").strip())


def classify_response(status: int, body: str) -> TransferError:
    """Map a failed S3 answer to the error class that says what to do next."""
    info = parse_s3_error(status, body)
    text = f"{info.code or status}: {info.message}" if info.message else (info.code or str(status))
    reason = f"S3 refused the upload ({text})"
    if status == 403:
        expired_codes = ("ExpiredToken", "TokenRefreshRequired")
        if "expired" in info.message.lower() or info.code in expired_codes:
            return UrlExpiredError(reason, status=status)
        return RejectedError(reason, code=info.code or "access_denied", status=status)
    if status >= 500 or status == 429 or info.code in ("SlowDown", "RequestTimeout", "Throttling"):
        return TransientError(reason, code=info.code or "server", status=status)
    if info.code == "BadDigest":
        return RejectedError(
            "The file changed while it was being uploaded (S3 checksum mismatch).",
            code="BadDigest",
            status=status,
        )
    return RejectedError(reason, code=info.code or "rejected", status=status)


def safe_url(url: str) -> str:
    """The URL without its query (signatures) for logs and messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def put_object(
    session: requests.Session,
    url: str,
    headers: Mapping[str, str],
    body: FileSlice | bytes,
    *,
    timeout: tuple[float, float] = (15.0, 120.0),
    url_rewriter: UrlRewriter | None = None,
    link: LinkEstimator | None = None,
) -> str:
    """PUT ``body`` to a pre-signed ``url`` with exactly the signed ``headers``; returns ETag.

    ``timeout`` is ``(connect, stall)``: with a session from :func:`make_upload_session` the
    PUT fails only when the link accepts or answers nothing for ``stall`` seconds
    (:class:`StalledError`), however long a slow link takes to carry the body."""
    target = url_rewriter(url) if url_rewriter is not None else url
    send_headers: dict[str, Any] = {k: v for k, v in headers.items() if k.lower() != "host"}
    length = len(body)
    declared = next((v for k, v in send_headers.items() if k.lower() == "content-length"), None)
    if declared is not None and int(declared) != length:
        raise RejectedError(
            f"Internal error: signed Content-Length {declared} != part length {length}",
            code="length_mismatch",
        )
    send_headers["Content-Length"] = str(length)
    for k in [k for k in send_headers if k.lower() == "content-length" and k != "Content-Length"]:
        del send_headers[k]
    try:
        data = cast(Any, body)  # a slice has read(n) and __len__: an exact Content-Length
        if link is not None:
            with link.stream(waiting=body.check_abort if isinstance(body, FileSlice) else None):
                resp = open_put(session, target, send_headers, data, timeout)
        else:
            resp = open_put(session, target, send_headers, data, timeout)
    except SourceError:
        raise
    except (HTTPError, HTTPException, OSError, requests.RequestException) as exc:
        forget(session, target)  # the next try asks for the route (proxy, pool) again
        source = _in_chain(exc, SourceError)
        if source is not None:
            raise source from None
        stalled = _in_chain(exc, Stalled)
        if stalled is not None or _in_chain(exc, ReadTimeoutError) is not None:
            seconds = stalled.seconds if stalled is not None else timeout[1]
            sent = getattr(body, "sent", length)
            raise StalledError(
                f"The connection to {safe_url(url)} accepted or answered nothing for "
                f"{seconds:g} s ({sent:,} of {length:,} bytes sent)"
            ) from None
        if isinstance(exc, requests.RequestException):
            raise ConnectionLostError(
                f"Upload to {safe_url(url)} failed: {redact(str(exc))}") from None
        raise ConnectionLostError(
            f"Connection to {safe_url(url)} failed: {redact(type(_cause(exc)).__name__)}"
        ) from None
    if resp.status in (200, 201, 204):
        etag = str(resp.headers.get("ETag", ""))
        if not etag:
            raise TransientError("S3 answered without an ETag", code="no_etag")
        return etag
    error = classify_response(resp.status, resp.data.decode("utf-8", "replace"))
    log.info(
        "PUT %s -> %s %s", safe_url(url), resp.status, getattr(error, "code", "")
    )
    raise error


def _cause(exc: BaseException) -> BaseException:
    """What urllib3's wrappers (MaxRetryError, ProtocolError) are about."""
    reason = getattr(exc, "reason", None)
    if isinstance(reason, BaseException):
        return reason
    return exc


def _in_chain(exc: BaseException, kind: type[E]) -> E | None:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, kind):
            return cur
        seen.add(id(cur))
        nested = [a for a in getattr(cur, "args", ()) if isinstance(a, BaseException)]
        reason = getattr(cur, "reason", None)
        cur = (reason if isinstance(reason, BaseException) else None) or (
            nested[0] if nested else None) or cur.__context__ or cur.__cause__
    return None


class _UploadAdapter(TrustStoreAdapter):
    """The project's adapter with bigger socket writes (urllib3's default block is 16 KiB) and
    progress-based timeouts (``link.use_progress_timeouts``). urllib3 asks a body for up to
    :data:`VIEW_BLOCK` per read; a :class:`FileSlice` gives at most its own ``max_block``."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["blocksize"] = VIEW_BLOCK
        super().init_poolmanager(*args, **kwargs)
        use_progress_timeouts(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        return use_progress_timeouts(super().proxy_manager_for(proxy, **proxy_kwargs))


def make_upload_session(*, pool_maxsize: int = 16) -> requests.Session:
    """A session for pre-signed PUTs: OS trust store and proxies like every client session,
    but no automatic retries (a streamed body cannot be replayed; the engine retries itself)."""
    session = make_session(retries=0, pool_maxsize=pool_maxsize)
    adapter = _UploadAdapter(max_retries=make_retry(0), pool_maxsize=pool_maxsize)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
