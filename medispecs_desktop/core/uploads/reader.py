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
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from awscrt.checksums import combine_crc64nvme, crc64nvme

from medispecs_desktop.core.errors import MediSpecsError
from medispecs_desktop.core.hashing import Sha256
from medispecs_desktop.core.uploads.transfer import SOURCE_GONE_ERRNOS, SourceError

HASH_THREADS = 2  # the engine's hashing pool: hashlib and awscrt release the GIL


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

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def checksum_b64(self) -> str:
        return crc64nvme_b64(self.crc64nvme)


class HashPool:
    """The threads that read and hash files for uploads, shared by every file of an engine."""

    def __init__(self, threads: int = HASH_THREADS) -> None:
        self._threads = threads
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="hash")
            return self._pool

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


class FileReader:
    """Reads ``size`` bytes of ``fd`` once, in parts of ``part_size``, on ``pool``.

    :meth:`submit` queues part ``n`` (parts must be submitted in order); its future gives a
    :class:`PreparedPart`. After the last part, :meth:`sha256` and :meth:`crc64nvme` hold the
    whole file's digests. :meth:`stop` makes parts not yet read fail fast; :meth:`drain` waits
    for every submitted part to finish (call it before closing ``fd``)."""

    def __init__(self, fd: int, size: int, part_size: int, name: str, pool: HashPool) -> None:
        self._fd = fd
        self._size = size
        self._part_size = part_size
        self._name = name
        self._pool = pool
        self._sha = Sha256()
        self._crc = 0
        self._turn = 1  # the next part whose bytes go into the whole-file digests
        self._cond = threading.Condition()
        self._failed = False
        self._stopped = False
        self._futures: list[Future[PreparedPart]] = []
        self.bytes_read = 0

    @property
    def count(self) -> int:
        return max(1, -(-self._size // self._part_size))

    def part_length(self, n: int) -> int:
        return min(self._part_size, self._size - (n - 1) * self._part_size)

    def submit(self, n: int) -> Future[PreparedPart]:
        future = self._pool.executor().submit(self._prepare, n)
        # only unfinished reads are kept (for drain): a finished one's bytes are the caller's,
        # freed once the part is sent -- memory stays at the caller's bound at any file size
        self._futures = [f for f in self._futures if not f.done()]
        self._futures.append(future)
        return future

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def drain(self) -> None:
        self.stop()
        for future in self._futures:
            future.cancel()
        for future in self._futures:
            if not future.cancelled():
                try:
                    future.exception()
                except BaseException:  # noqa: BLE001, S110 - only waiting for it to end
                    pass

    def _read(self, offset: int, length: int) -> bytes:
        chunks: list[bytes] = []
        pos = 0
        while pos < length:
            if self._stopped:
                raise ReadStopped
            try:
                data = os.pread(self._fd, length - pos, offset + pos)
            except OSError as exc:
                raise SourceError(f"Cannot read {self._name}: {exc.strerror or exc}",
                                  vanished=exc.errno in SOURCE_GONE_ERRNOS) from exc
            if not data:
                raise SourceChangedError(
                    f"{self._name} got shorter while it was read; not uploaded.")
            chunks.append(data)
            pos += len(data)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _prepare(self, n: int) -> PreparedPart:
        offset = (n - 1) * self._part_size
        length = self.part_length(n)
        try:
            if self._stopped:
                raise ReadStopped
            data = memoryview(self._read(offset, length))
            crc = crc64nvme(data)
            with self._cond:
                # the whole-file digests take the parts in file order
                while self._turn != n and not (self._failed or self._stopped):
                    self._cond.wait()
                if self._turn != n:
                    raise ReadStopped
            self._sha.update(data)  # outside the lock: the next part's read/CRC go on
            with self._cond:
                self._crc = combine_crc64nvme(self._crc, crc, length) if n > 1 else crc
                self.bytes_read += length
                self._turn = n + 1
                self._cond.notify_all()
            return PreparedPart(n, offset, data, crc)
        except BaseException:
            with self._cond:
                self._failed = True
                self._cond.notify_all()
            raise

    def _complete(self) -> None:
        if self._turn != self.count + 1 or self._sha.length != self._size:
            raise SourceChangedError(f"{self._name} changed while it was read; not uploaded.")

    def sha256(self) -> Sha256:
        self._complete()
        return self._sha

    def crc64nvme_b64(self) -> str:
        self._complete()
        return crc64nvme_b64(self._crc)
