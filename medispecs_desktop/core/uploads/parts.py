"""The flow of one upload's parts: read (once, on the shared hashing pool) → signed → sent.

Each stage starts the moment the one before it has something for it, so reading and hashing
(one thread, in file order: the whole-file SHA-256 is one stream) overlap with sending (up to
``max_flight`` parts at once, each on its own connection):

* a part is read as soon as a buffer is free (``max_flight + read_ahead`` buffers: the
  upload's memory bound; a sent part's buffer is reused for a later part), two at a time
  handed to the reader;
* every part read is signed at once -- all the parts read since the last signing in one call,
  so a link slower than the disk batches its URLs while a fast one never waits for a batch;
* a signed part is sent as soon as a connection is free; its buffer is freed once S3 took it.

Before, parts were signed and sent in batches of ``max_flight``: the first part waited for
three more to be read, and reading stopped while the batch went out (about 0.45 x the
SHA-256 limit to a loopback sink; ``tests/benchmarks/bench_upload.py sink``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from typing import Any, TypeVar

from medispecs_desktop.core.uploads.reader import FileReader, PreparedPart

R = TypeVar("R")
Signed = tuple[str, dict[str, str]]
SIGN_BATCH_MAX = 100  # the API signs at most this many parts per call
QUEUED_READS = 2  # parts handed to the reader and not yet read


class PartFlow:
    """Runs the parts ``1..count`` of one upload through read → sign → send.

    ``settle(part)`` is asked first about each part read: True when it needs no sending
    (already in S3; it may raise when the file changed). ``sign(parts)`` returns one signed
    ``(url, headers)`` per part, in order. ``send(part, signed)`` PUTs a part on ``pool`` and
    returns when S3 has it (raising ends the flow: the caller stops the siblings).
    ``check()`` is called each time the flow wakes (pause/cancel). ``reading``: the reads of
    parts ``1..k`` already submitted to ``reader`` (begun while the upload was being made)."""

    def __init__(
        self,
        reader: FileReader,
        count: int,
        *,
        pool: Executor,
        max_flight: int,
        read_ahead: int,
        settle: Callable[[PreparedPart], bool],
        sign: Callable[[Sequence[PreparedPart]], list[Signed]],
        send: Callable[[PreparedPart, Signed], R],
        check: Callable[[], None],
        reading: Sequence[Future[PreparedPart]] = (),
    ) -> None:
        self._reader = reader
        self._count = count
        self._pool = pool
        self._max_flight = max(1, max_flight)
        self._max_buffers = self._max_flight + max(0, read_ahead)
        self._settle = settle
        self._sign = sign
        self._send = send
        self._check = check
        self._reading: deque[Future[PreparedPart]] = deque(reading)  # parts 1.. submitted
        self._next = len(self._reading) + 1
        self._waiting: deque[tuple[PreparedPart, Signed]] = deque()  # signed, no connection yet
        self.sending: dict[Future[R], PreparedPart] = {}
        self.peak_buffers = 0

    def _buffers(self) -> int:
        return len(self._reading) + len(self._waiting) + len(self.sending)

    def run(self) -> None:
        """Until every part is in S3 (or one fails: its error is raised here)."""
        while True:
            self._check()
            self._collect()  # a failed part's error is raised before another part starts
            self._read_more()
            read = self._take_read()
            for start in range(0, len(read), SIGN_BATCH_MAX):
                chunk = read[start:start + SIGN_BATCH_MAX]
                self._waiting.extend(zip(chunk, self._sign(chunk), strict=True))
            self._read_more()  # parts already in S3 freed their buffers
            while self._waiting and len(self.sending) < self._max_flight:
                part, signed = self._waiting.popleft()
                self.sending[self._pool.submit(self._send, part, signed)] = part
            if not (self._reading or self._waiting or self.sending):
                return  # (nothing reading and all buffers free: every part was read)
            watch: list[Future[Any]] = list(self.sending)
            if self._reading:
                watch.append(self._reading[0])
            wait(watch, return_when=FIRST_COMPLETED)

    def _read_more(self) -> None:
        # two reads queued keep the hashing thread busy; more would only take buffers early
        # (each new one zeroed and faulted in) that a sent part would have freed in time
        while (self._next <= self._count and self._buffers() < self._max_buffers
               and len(self._reading) < QUEUED_READS):
            self._reading.append(self._reader.submit(self._next))
            self._next += 1
        self.peak_buffers = max(self.peak_buffers, self._buffers())

    def _take_read(self) -> list[PreparedPart]:
        """The parts read so far, in order, minus those already in S3 (their buffers freed)."""
        read: list[PreparedPart] = []
        while self._reading and self._reading[0].done():
            part = self._reading.popleft().result()  # raises the read's error
            if self._settle(part):
                self._reader.release(part)
            else:
                read.append(part)
        return read

    def _collect(self) -> None:
        for fut in [f for f in self.sending if f.done()]:
            part = self.sending.pop(fut)
            fut.result()  # raises the part's error
            self._reader.release(part)
