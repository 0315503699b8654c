"""The one read of a file being uploaded: every byte is read from disk once and hashed once.

A :class:`FileReader` reads a file part by part on the engine's shared :class:`HashPool` (a few
threads for all files). Each part's bytes are kept in memory until they are sent (so a retry
re-sends the same bytes and the file is never read twice), its CRC64NVME is computed (awscrt),
and the whole file's SHA-256 and CRC64NVME are updated in file order as the parts come in.
Reading and hashing run on the pool while the engine's part threads send earlier parts: the two
overlap, and the caller bounds the parts held in memory.

The CRC64NVME is what S3 verifies (each part's is signed into its URL, the whole file's is given
at completion and checked by S3 as a FULL_OBJECT checksum); the SHA-256 is recorded beside it
for duplicate detection and evidence.
"""

from __future__ import annotations

import base64
import ctypes
import functools
import mmap
import os
import sys
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from awscrt.checksums import combine_crc64nvme, crc64nvme

from medispecs_desktop.core.errors import MediSpecsError
from medispecs_desktop.core.hashing import Sha256
from medispecs_desktop.core.uploads.transfer import SOURCE_GONE_ERRNOS, SourceError

HASH_THREADS = 2  # the engine's hashing pool: hashlib and awscrt release the GIL
SPARE_BUFFERS = 8  # part buffers of finished files kept for the next file's parts, at most
SPARE_SECONDS = 10.0
"""Kept part buffers go back to the OS after this long without a file taking them."""
SLICE = 256 * 1024
"""Bytes read, CRC'd and SHA-256'd at a time: they stay in the CPU's cache between the three
(a part of 16 MiB does not)."""


_MADV_POPULATE_WRITE = 23  # Linux 5.14+: fault a range in, writable, in one call
Buffer = bytearray | mmap.mmap


def new_buffer(size: int) -> Buffer:
    """A part buffer. On Linux: anonymous memory, its pages put in place in one call
    (:func:`_populate`: zeroed once, by the kernel), given back to the OS the moment it is
    freed. A ``bytearray`` of 16 MiB costs twice as much CPU (5.0 ms vs 2.2 ms): the kernel
    faults its 4,096 pages in one by one, zeroing each, and ``memset`` then zeroes them again
    - six such buffers per upload, ~0.03 CPU-s/GB of a 537 MB file. (Only anonymous memory:
    a mapping of the *file* would raise SIGBUS when a card is pulled.)"""
    if sys.platform.startswith("linux") and size > 0:
        try:
            buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        except OSError:
            return bytearray(size)  # no address space for it: the ordinary way
        _populate(buffer, size)
        return buffer
    return bytearray(size)


@functools.cache
def _madvise() -> Any:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    madvise.restype = ctypes.c_int
    return madvise


def _populate(buffer: mmap.mmap, size: int) -> None:
    """Put the buffer's pages in place now, *without the GIL*: ``madvise(MADV_POPULATE_WRITE)``
    through ctypes, which releases the GIL around a foreign call. ``mmap.mmap(...,
    MAP_POPULATE)`` does the same work holding the GIL (CPython 3.11 neither releases it
    there nor in ``mmap.madvise``): on this project's VMs that stalled the GUI thread 20-150
    ms per 16 MiB buffer, and four uploads starting at once took eight. Where the call is
    missing or refused (an older kernel), the pages fault in as the first read fills them."""
    madvise = _madvise()
    if madvise is None:
        return
    address = ctypes.addressof(ctypes.c_char.from_buffer(buffer))  # (the export ends here)
    madvise(ctypes.c_void_p(address), ctypes.c_size_t(size), _MADV_POPULATE_WRITE)


class SourceChangedError(MediSpecsError):
    code = "source_changed"


class ReadStopped(Exception):
    """The read was stopped (the upload stopped) before this part was read."""


def crc64nvme_b64(value: int) -> str:
    """S3's form of a CRC64NVME: base64 of its 8 big-endian bytes."""
    return base64.b64encode(value.to_bytes(8, "big")).decode("ascii")


def crc64nvme_of(data: bytes | bytearray | memoryview) -> str:
    return crc64nvme_b64(crc64nvme(data))


@dataclass(frozen=True)
class PreparedPart:
    number: int
    offset: int
    data: memoryview
    crc64nvme: int
    buffer: Buffer | None = field(default=None, repr=False, compare=False)
    """The reader's buffer under ``data`` (given back with :meth:`FileReader.release`)."""

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def checksum_b64(self) -> str:
        return crc64nvme_b64(self.crc64nvme)


class HashPool:
    """The threads that read and hash files for uploads, shared by every file of an engine."""

    def __init__(self, threads: int = HASH_THREADS, *,
                 spare_seconds: float = SPARE_SECONDS) -> None:
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._maker: ThreadPoolExecutor | None = None  # makes new part buffers
        self._lock = threading.Lock()
        self._spare: list[Buffer] = []
        self._spare_seconds = spare_seconds
        self._spare_timer: threading.Timer | None = None

    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="hash")
            return self._pool

    def make_buffer(self, size: int) -> Future[Buffer]:
        """A new part buffer, made on the pool's buffer thread (:func:`new_buffer`: 5-8 ms
        for 16 MiB, the GIL released). Made there, not on the thread that asks for a part:
        that thread is about to ask for an upload or to send parts, and a file's first parts
        need three or four new buffers (~20 ms) that its create and sign requests used to
        wait for; made there, not on a hashing thread, the next part's buffer is ready while
        this part is read."""
        with self._lock:
            if self._maker is None:
                self._maker = ThreadPoolExecutor(1, thread_name_prefix="part-buffers")
            maker = self._maker
        try:
            return maker.submit(new_buffer, size)
        except RuntimeError:  # shut down meanwhile: made here
            made: Future[Buffer] = Future()
            made.set_result(new_buffer(size))
            return made

    def shutdown(self) -> None:
        """Its threads end once their current part is done (a part still queued fails with
        :class:`ReadStopped`); :meth:`executor` makes new ones when asked again."""
        with self._lock:
            pool, self._pool = self._pool, None
            maker, self._maker = self._maker, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if maker is not None:
            maker.shutdown(wait=False)  # (a buffer being made is dropped once it is)
        self.release_buffers()

    # -- part buffers shared by the files of a queue -----------------------------------------

    def keep_buffers(self, buffers: list[Buffer]) -> None:
        """Part buffers a finished file no longer reads: the next file's parts of the same
        size take them (:meth:`take_buffer`) instead of new ones. A new 16 MiB buffer costs
        ~5 ms of zeroing and page mapping on a loaded 2-core machine: six per file, 0.06
        CPU-s/GB of a 537 MB file and 0.3 of a 100 MB one. At most :data:`SPARE_BUFFERS` are
        kept, and only for ``spare_seconds`` after the last file gave some back (then the OS
        has the memory again: an idle engine holds no part buffers)."""
        if not buffers:
            return
        with self._lock:
            room = max(0, SPARE_BUFFERS - len(self._spare))
            self._spare.extend(buffers[:room])
            if self._spare_timer is not None:
                self._spare_timer.cancel()
            timer = threading.Timer(self._spare_seconds, self.release_buffers)
            timer.name = "upload-buffers"
            timer.daemon = True
            self._spare_timer = timer
        timer.start()

    def take_buffer(self, size: int) -> Buffer | None:
        """A kept part buffer of exactly ``size`` bytes, or None."""
        with self._lock:
            for i, buffer in enumerate(self._spare):
                if len(buffer) == size:
                    return self._spare.pop(i)
        return None

    @property
    def spare_buffers(self) -> int:
        with self._lock:
            return len(self._spare)

    def release_buffers(self) -> None:
        """Give the kept part buffers back (their memory is freed once no view of them is
        left; nothing reads a kept buffer's bytes)."""
        with self._lock:
            self._spare = []
            timer, self._spare_timer = self._spare_timer, None
        if timer is not None:
            timer.cancel()


class FileReader:
    """Reads ``size`` bytes of ``fd`` once, in parts of ``part_size``, on ``pool``.

    :meth:`submit` queues part ``n`` (parts must be submitted in order); its future gives a
    :class:`PreparedPart`. After the last part, :meth:`sha256` and :meth:`crc64nvme` hold the
    whole file's digests. :meth:`stop` makes parts not yet read fail fast; :meth:`drain` waits
    for every submitted part to finish (call it before closing ``fd``).

    A file's parts are prepared one after another by a chain of tasks on the shared pool: a
    task prepares one part, then puts the next task at the back of the pool's queue (so the
    files being uploaded take turns, and no pool thread ever waits for another). A part is read
    in slices of :data:`SLICE` into its buffer, and each slice is CRC'd and SHA-256'd while it
    is still in the CPU's cache: the file's bytes cross memory once for the three, not three
    times (a 16 MiB part read whole and then hashed twice came back from RAM twice)."""

    def __init__(self, fd: int, size: int, part_size: int, name: str, pool: HashPool) -> None:
        self._fd = fd
        self._size = size
        self._part_size = part_size
        self._name = name
        self._pool = pool
        self._sha = Sha256()
        self._crc = 0
        self._turn = 1  # the next part to prepare (and to go into the whole-file digests)
        self._lock = threading.Lock()
        # (part, its future, its buffer: one at hand or one being made)
        self._queue: deque[tuple[int, Future[PreparedPart], Buffer | Future[Buffer]]] = deque()
        self._submitted = 0
        self._chained = False  # a task of this file's chain is queued or running
        self._failed = False
        self._stopped = False
        self._futures: list[Future[PreparedPart]] = []
        self._free: list[Buffer] = []  # buffers of sent parts, reused for later parts
        self.buffers_made = 0
        self.bytes_read = 0

    @property
    def count(self) -> int:
        return max(1, -(-self._size // self._part_size))

    def part_length(self, n: int) -> int:
        return min(self._part_size, self._size - (n - 1) * self._part_size)

    def submit(self, n: int) -> Future[PreparedPart]:
        future: Future[PreparedPart] = Future()
        # a free buffer is taken here; a new one is made on the pool's buffer thread (the
        # caller goes on at once, and the hashing thread reads earlier parts meanwhile)
        buffer = self._buffer(self.part_length(n))
        with self._lock:
            if n != self._submitted + 1:
                raise ValueError(f"part {n} submitted after part {self._submitted}")
            self._submitted = n
            # only unfinished reads are kept (for drain): a finished one's bytes are the
            # caller's, freed once the part is sent -- memory stays at the caller's bound
            self._futures = [f for f in self._futures if not f.done()]
            self._futures.append(future)
            self._queue.append((n, future, buffer))
            start = not self._chained
            self._chained = True
        if start:
            self._schedule()
        return future

    def release(self, part: PreparedPart) -> None:
        """``part`` is in S3 (nothing reads its bytes any more): its buffer holds a later part.
        Reusing buffers spares the allocation, the zeroing and the page faults of a new one
        per part, and keeps the memory that of the parts in flight."""
        buffer = part.buffer
        if buffer is not None and len(buffer) == self._part_size:
            with self._lock:
                self._free.append(buffer)

    def _buffer(self, length: int) -> Buffer | Future[Buffer]:
        with self._lock:
            if self._free:
                return self._free.pop()
        # a file smaller than a part never gets a part-sized buffer
        size = self._part_size if self.count > 1 else length
        kept = self._pool.take_buffer(size)  # an earlier file's (its bytes are overwritten)
        if kept is not None:
            return kept
        self.buffers_made += 1
        return self._pool.make_buffer(size)

    def stop(self) -> None:
        self._stopped = True

    def drain(self) -> None:
        """Also hands the buffers of the parts sent (:meth:`release`) to the pool, for the
        next file's parts."""
        self.stop()
        for future in self._futures:
            future.cancel()
        for future in self._futures:
            if not future.cancelled():
                try:
                    future.exception()
                except BaseException:  # noqa: BLE001, S110 - only waiting for it to end
                    pass
        with self._lock:
            free, self._free = self._free, []
        self._pool.keep_buffers(free)

    # -- the chain ---------------------------------------------------------------------------

    def _schedule(self) -> None:
        """Queue the chain's next task; if the pool takes no more work, end the parts."""
        try:
            task = self._pool.executor().submit(self._step)
        except RuntimeError:  # the pool was shut down (the engine stops)
            self._abandon()
            return
        task.add_done_callback(lambda t: self._abandon() if t.cancelled() else None)

    def _abandon(self) -> None:
        """The pool dropped the chain: every part still waiting fails (never hangs)."""
        with self._lock:
            waiting = list(self._queue)
            self._queue.clear()
            self._chained = False
        for _n, future, _buffer in waiting:
            if future.set_running_or_notify_cancel():
                future.set_exception(ReadStopped())

    def _step(self) -> None:
        with self._lock:
            n, future, buffer = self._queue.popleft()
        if future.set_running_or_notify_cancel():
            try:
                part = self._prepare(n, buffer.result() if isinstance(buffer, Future)
                                     else buffer)
            except BaseException as exc:  # noqa: BLE001 - the part's future carries it
                future.set_exception(exc)
            else:
                future.set_result(part)
        with self._lock:
            self._chained = bool(self._queue)
            more = self._chained
        if more:
            self._schedule()

    # -- one part ----------------------------------------------------------------------------

    def _prepare(self, n: int, buffer: Buffer) -> PreparedPart:
        if self._stopped or self._failed or n != self._turn:
            raise ReadStopped
        offset = (n - 1) * self._part_size
        length = self.part_length(n)
        try:
            view = memoryview(buffer)[:length]
            crc = 0
            pos = 0
            while pos < length:
                if self._stopped:
                    raise ReadStopped
                piece = view[pos:pos + SLICE]
                try:
                    got = os.preadv(self._fd, [piece], offset + pos)
                except OSError as exc:
                    raise SourceError(f"Cannot read {self._name}: {exc.strerror or exc}",
                                      vanished=exc.errno in SOURCE_GONE_ERRNOS) from exc
                if not got:
                    raise SourceChangedError(
                        f"{self._name} got shorter while it was read; not uploaded.")
                piece = piece[:got]
                crc = crc64nvme(piece, crc)
                self._sha.update(piece)
                pos += got
        except BaseException:
            self._failed = True  # the whole-file digests miss bytes: no later part counts
            raise
        self._crc = combine_crc64nvme(self._crc, crc, length) if n > 1 else crc
        self.bytes_read += length
        self._turn = n + 1
        return PreparedPart(n, offset, view, crc, buffer)

    def _complete(self) -> None:
        if self._turn != self.count + 1 or self._sha.length != self._size:
            raise SourceChangedError(f"{self._name} changed while it was read; not uploaded.")

    def sha256(self) -> Sha256:
        self._complete()
        return self._sha

    def crc64nvme_b64(self) -> str:
        self._complete()
        return crc64nvme_b64(self._crc)
