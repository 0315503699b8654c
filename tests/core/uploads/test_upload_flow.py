"""The flow of one upload's parts (``core.uploads.parts``): each part is sent as soon as it is
read, reading goes on while parts are sent (on other threads), every byte is read once and
memory stays at the parts in flight. Real files, the real reader and hashing pool, real
threads; the send step records what it got. (Speed itself: tests/benchmarks/bench_upload.py.)
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from awscrt.checksums import crc64nvme

from medispecs_desktop.core.uploads import reader as reader_module
from medispecs_desktop.core.uploads.jobs import JobState
from medispecs_desktop.core.uploads.link import (
    FIRST_BLOCK,
    KIB,
    MAX_BLOCK,
    MIB,
    SOCKET_BUFFER,
    LinkEstimator,
)
from medispecs_desktop.core.uploads.parts import PartFlow
from medispecs_desktop.core.uploads.reader import FileReader, HashPool, PreparedPart
from medispecs_desktop.core.uploads.store import QueueStore
from tests.core.uploads.test_upload_engine import settled

PART = 256 * 1024


@pytest.fixture()
def clip(tmp_path: Path) -> Iterator[tuple[int, bytes]]:
    data = os.urandom(12 * PART + 1234)  # 13 parts, the last one short
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        yield fd, data
    finally:
        os.close(fd)


class Reads:
    """Counts the reader's reads of the file (offset, length, thread) and can hold one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[int, int, str]] = []
        self.hold_at: int | None = None
        self.release = threading.Event()
        real = os.preadv

        def preadv(fd: int, buffers: Sequence[memoryview], offset: int) -> int:
            if offset == self.hold_at:
                assert self.release.wait(30), "the read was never let go"
            got = real(fd, buffers, offset)
            self.calls.append((offset, got, threading.current_thread().name))
            return got

        monkeypatch.setattr(os, "preadv", preadv)  # the reader reads with os.preadv


def _flow(fd: int, data: bytes, pool: HashPool, sender: ThreadPoolExecutor, *,
          send: object, max_flight: int = 4, read_ahead: int = 2,
          signed: list[list[int]] | None = None) -> tuple[PartFlow, FileReader]:
    reader = FileReader(fd, len(data), PART, "clip.mp4", pool)

    def sign(parts: Sequence[PreparedPart]) -> list[tuple[str, dict[str, str]]]:
        if signed is not None:
            signed.append([p.number for p in parts])
        return [(f"http://sink/{p.number}", {}) for p in parts]

    read_done = {n: threading.Event() for n in range(1, reader.count + 1)}
    submit = reader.submit

    def submit_and_tell(n: int) -> Future[PreparedPart]:
        future = submit(n)
        future.add_done_callback(lambda _f: read_done[n].set())
        return future

    monkeypatch_reader = reader  # the flow reads through it; tests wait on read_done
    setattr(monkeypatch_reader, "submit", submit_and_tell)  # noqa: B010
    setattr(monkeypatch_reader, "read_done", read_done)  # noqa: B010
    flow = PartFlow(reader, reader.count, pool=sender, max_flight=max_flight,
                    read_ahead=read_ahead, settle=lambda _p: False, sign=sign,
                    send=send, check=lambda: None)  # type: ignore[arg-type]
    return flow, reader


def test_a_part_is_sent_as_soon_as_it_is_read(
    clip: tuple[int, bytes], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Part 2's read waits until part 1 is being sent: the flow sends part 1 alone, at once
    (before, parts were signed and sent in batches of max_flight: part 1 waited for part 4's
    read, which never came -- the read is held -- and the upload hung)."""
    fd, data = clip
    reads = Reads(monkeypatch)
    reads.hold_at = PART  # part 2
    sent: dict[int, bytes] = {}
    signed: list[list[int]] = []

    def send(part: PreparedPart, url: tuple[str, dict[str, str]]) -> int:
        assert url[0] == f"http://sink/{part.number}"
        sent[part.number] = bytes(part.data)
        reads.release.set()
        return part.number

    pool = HashPool()
    try:
        with ThreadPoolExecutor(4) as sender:
            flow, reader = _flow(fd, data, pool, sender, send=send, signed=signed)
            flow.run()
    finally:
        pool.shutdown()
    assert signed[0] == [1]  # signed alone, not in a batch with parts not read yet
    assert sorted(sent) == list(range(1, 14))
    assert b"".join(sent[n] for n in range(1, 14)) == data
    assert reader.sha256().hexdigest() == hashlib.sha256(data).hexdigest()
    assert reader.crc64nvme_b64() == reader_module.crc64nvme_b64(crc64nvme(data))


def test_each_byte_is_read_once_off_the_sending_threads_in_bounded_buffers(
    clip: tuple[int, bytes], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each part's send waits until the next part is read: reading goes on while parts are
    sent, on the hashing threads, only as far ahead as the buffers allow (max_flight +
    read_ahead), and sent parts' buffers are reused for later parts."""
    fd, data = clip
    reads = Reads(monkeypatch)
    senders: set[str] = set()
    sent: dict[int, bytes] = {}
    lock = threading.Lock()
    in_flight = [0, 0]  # now, most at once

    def send(part: PreparedPart, _url: tuple[str, dict[str, str]]) -> int:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        senders.add(threading.current_thread().name)
        sent[part.number] = bytes(part.data)
        following = min(part.number + 1, reader.count)
        assert reader.read_done[following].wait(30)  # type: ignore[attr-defined]
        with lock:
            in_flight[0] -= 1
        return part.number

    pool = HashPool()
    try:
        with ThreadPoolExecutor(2, thread_name_prefix="send") as sender:
            flow, reader = _flow(fd, data, pool, sender, send=send, max_flight=2, read_ahead=1)
            flow.run()
    finally:
        pool.shutdown()
    assert b"".join(sent[n] for n in range(1, 14)) == data
    # every byte read exactly once, in order
    offsets = [(offset, got) for offset, got, _t in reads.calls]
    assert sum(got for _o, got in offsets) == len(data)
    assert [o for o, _g in offsets] == sorted({o for o, _g in offsets})
    # read and hashed on the hashing pool, never on a thread that sends
    readers = {t for _o, _g, t in reads.calls}
    assert all(t.startswith("hash") for t in readers) and not readers & senders
    # at most max_flight + read_ahead parts in memory, their buffers reused for later parts
    assert flow.peak_buffers <= 3 and in_flight[1] <= 2
    assert reader.buffers_made <= 3 < reader.count


def test_a_failed_part_stops_the_flow_and_no_part_starts_after_it(
    clip: tuple[int, bytes],
) -> None:
    fd, data = clip
    started: list[int] = []

    def send(part: PreparedPart, _url: tuple[str, dict[str, str]]) -> int:
        started.append(part.number)
        if part.number == 2:
            raise RuntimeError("S3 said no")
        return part.number

    pool = HashPool()
    try:
        with ThreadPoolExecutor(1) as sender:
            flow, reader = _flow(fd, data, pool, sender, send=send, max_flight=1)
            with pytest.raises(RuntimeError, match="S3 said no"):
                flow.run()
            reader.drain()
    finally:
        pool.shutdown()
    assert started == [1, 2]


def test_a_fast_link_gets_big_writes_before_a_fifth_of_a_second() -> None:
    """Before, every write of the first 0.2 s of an engine's life was 64 KiB, however fast
    the link (a fifth of a 0.5 s upload to a loopback sink). Bytes beyond what the send
    buffers can hold prove the rate at once; a slow link never gets past them."""
    now = [100.0]
    fast = LinkEstimator(clock=lambda: now[0])
    with fast.stream():
        fast.add(64 * KIB)
        assert fast.block_size() == FIRST_BLOCK  # the send buffer may hold all of it
        for _ in range((SOCKET_BUFFER + 2 * MIB) // (64 * KIB)):  # 2 MiB beyond the buffers
            now[0] += 0.0001  # ... at 640 MB/s: well within the first fifth of a second
            fast.add(64 * KIB)
        assert not fast.measured()
        assert fast.block_size() == MAX_BLOCK
    slow = LinkEstimator(clock=lambda: now[0])
    with slow.stream(), slow.stream():
        for _ in range(19):  # 1.2 MiB in 0.19 s: the buffers may hold it all
            now[0] += 0.01
            slow.add(64 * KIB)
        assert not slow.measured()
        assert slow.block_size() == FIRST_BLOCK


class _WatchedApi:
    """The stack's API client, counting ``list_parts`` and noting the part journal at the
    moment the multipart upload is completed."""

    def __init__(self, api: Any, store: list[QueueStore], job: list[int]) -> None:
        self._api = api
        self._store = store
        self._job = job
        self.list_parts_calls = 0
        self.journal_at_complete: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def list_parts(self, *args: Any, **kwargs: Any) -> Any:
        self.list_parts_calls += 1
        return self._api.list_parts(*args, **kwargs)

    def complete_multipart(self, *args: Any, **kwargs: Any) -> Any:
        self.journal_at_complete = sorted(self._store[0].parts(self._job[0]))
        return self._api.complete_multipart(*args, **kwargs)


def test_every_part_is_journaled_before_completion_and_a_new_upload_lists_no_parts(
    make_engine: Any, big_video: Any, demo_api: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Journal commits run on their own thread (the connection goes on to the next part);
    they are slowed here, and still every part is in the journal when the upload is
    completed. An upload created just now asks S3 for no parts list (one round trip less)."""
    video = big_video("journaled.mkv", 12)  # 3 parts of 5 MiB
    stores: list[QueueStore] = []
    jobs: list[int] = []
    api = _WatchedApi(demo_api[0], stores, jobs)
    engine = make_engine(api=api)
    stores.append(engine.store)
    record = engine.store.record_part
    committers: set[str] = set()

    def slow_record(job_id: int, part: Any, **kwargs: Any) -> None:
        committers.add(threading.current_thread().name)
        threading.Event().wait(0.2)  # a slow disk: the sends finish long before
        record(job_id, part, **kwargs)

    monkeypatch.setattr(engine.store, "record_part", slow_record)
    job = engine.add_paths([video]).added[0]
    jobs.append(job.id)
    engine.start()
    [done] = settled(engine, [job.id])
    assert done.state is JobState.DONE, done.error
    assert done.part_count == 3 and api.journal_at_complete == [1, 2, 3]
    assert api.list_parts_calls == 0
    assert committers and all(name.startswith("journal") for name in committers)


def _send_all(fd: int, data: bytes, pool: HashPool) -> tuple[dict[int, bytes], FileReader]:
    sent: dict[int, bytes] = {}

    def send(part: PreparedPart, _url: tuple[str, dict[str, str]]) -> int:
        sent[part.number] = bytes(part.data)
        return part.number

    with ThreadPoolExecutor(2, thread_name_prefix="send") as sender:
        flow, reader = _flow(fd, data, pool, sender, send=send, max_flight=2, read_ahead=1)
        flow.run()
        reader.drain()
    return sent, reader


def test_the_next_file_reuses_the_part_buffers_and_the_memory_goes_back_when_idle(
    clip: tuple[int, bytes], tmp_path: Path,
) -> None:
    """Before, every file made its part buffers anew (each 16 MiB one zeroed and mapped by
    the OS: ~5 ms, 0.06 CPU-s/GB of a 537 MB file); now the next file of the queue takes the
    buffers of the one before, every byte its own (a reused buffer held the other file's
    bytes, beyond this file's short last part too), and they are given back when idle."""
    fd, data = clip
    other = os.urandom(5 * PART + 77)  # 6 parts, its last one shorter than clip's
    path = tmp_path / "next.mp4"
    path.write_bytes(other)
    pool = HashPool(spare_seconds=0.2)
    try:
        first, reader1 = _send_all(fd, data, pool)
        assert b"".join(first[n] for n in range(1, 14)) == data
        assert 0 < reader1.buffers_made == pool.spare_buffers
        fd2 = os.open(path, os.O_RDONLY)
        try:
            second, reader2 = _send_all(fd2, other, pool)
        finally:
            os.close(fd2)
        assert reader2.buffers_made == 0  # every part in a buffer of the first file
        assert b"".join(second[n] for n in range(1, 7)) == other
        assert reader2.sha256().hexdigest() == hashlib.sha256(other).hexdigest()
        assert reader2.crc64nvme_b64() == reader_module.crc64nvme_b64(crc64nvme(other))
        assert pool.spare_buffers == reader1.buffers_made
        timers = [t for t in threading.enumerate() if t.name == "upload-buffers"]
        assert timers
        for timer in timers:
            timer.join(10)  # 0.2 s idle; 10 s only bounds a failure
        assert pool.spare_buffers == 0  # the OS has the memory again
    finally:
        pool.shutdown()


def test_a_stopped_pool_keeps_no_part_buffers(clip: tuple[int, bytes]) -> None:
    fd, data = clip
    pool = HashPool()  # kept 10 s when idle, but not once the engine stops
    _sent, reader = _send_all(fd, data, pool)
    assert pool.spare_buffers == reader.buffers_made > 0
    pool.shutdown()
    assert pool.spare_buffers == 0


def test_new_part_buffers_are_made_on_the_buffer_thread_while_the_caller_goes_on(
    clip: tuple[int, bytes], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A new 16 MiB buffer takes 5-8 ms to make; a file's first parts need three or four.
    Before, they were made on the thread asking for the parts, so an upload's create request
    and its first part URLs waited for them; now they are made on the pool's buffer thread and
    the caller goes on at once."""
    fd, data = clip
    made_on: list[str] = []
    gate = threading.Event()
    real = reader_module.new_buffer

    def new_buffer(size: int) -> reader_module.Buffer:
        made_on.append(threading.current_thread().name)
        gate.wait(10)  # held until the caller has gone on (10 s only bounds a failure)
        return real(size)

    monkeypatch.setattr(reader_module, "new_buffer", new_buffer)
    pool = HashPool()
    try:
        reader = FileReader(fd, len(data), PART, "clip.mp4", pool)
        first = [reader.submit(n) for n in (1, 2)]
        assert not gate.is_set() and not any(f.done() for f in first)  # still being made
        gate.set()
        parts = [f.result(30) for f in first]
        assert [bytes(p.data) for p in parts] == [data[:PART], data[PART:2 * PART]]
        assert len(made_on) == reader.buffers_made == 2
        assert all(name.startswith("part-buffers") for name in made_on), made_on
        reader.drain()
    finally:
        gate.set()
        pool.shutdown()
