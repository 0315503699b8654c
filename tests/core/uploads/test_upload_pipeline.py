"""The throughput pieces of the upload pipeline: big socket writes, one read per byte giving the
parts and the whole-file digests, part journal commits out of order. (Speed itself:
tests/benchmarks/bench_upload.py.)
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

import pytest
from awscrt.checksums import crc64nvme
from requests.adapters import HTTPAdapter

from medispecs_desktop.core.uploads.jobs import Part
from medispecs_desktop.core.uploads.link import LinkEstimator
from medispecs_desktop.core.uploads.pipeline import (
    FileReader,
    HashPool,
    PreparedPart,
    ReadStopped,
    SourceChangedError,
    crc64nvme_b64,
)
from medispecs_desktop.core.uploads.reader import new_buffer
from medispecs_desktop.core.uploads.store import QueueStore
from medispecs_desktop.core.uploads.transfer import (
    BLOCK_SIZE,
    THROTTLED_BLOCK_SIZE,
    VIEW_BLOCK,
    BufferSlice,
    FileSlice,
    TokenBucket,
    make_upload_session,
)

MIB = 1024 * 1024


def test_upload_connections_write_big_blocks(tmp_path: Path) -> None:
    session = make_upload_session(pool_maxsize=4)
    adapter = session.get_adapter("http://127.0.0.1/")
    assert isinstance(adapter, HTTPAdapter)
    pool = adapter.poolmanager.connection_from_url("http://127.0.0.1:9/")
    conn = pool._new_conn()
    assert conn.blocksize == VIEW_BLOCK >= 256 * 1024  # urllib3's default is 16 KiB
    session.close()

    path = tmp_path / "f"
    path.write_bytes(os.urandom(BLOCK_SIZE + MIB))
    fd = os.open(path, os.O_RDONLY)
    try:
        fast = FileSlice(fd, 0, BLOCK_SIZE + MIB)
        assert len(fast.read(-1)) == BLOCK_SIZE
        capped = FileSlice(fd, 0, BLOCK_SIZE + MIB, bucket=TokenBucket(10 * MIB))
        assert len(capped.read(BLOCK_SIZE)) == THROTTLED_BLOCK_SIZE  # a cap stays smooth
    finally:
        os.close(fd)


def test_a_part_in_memory_goes_to_a_fast_link_in_one_write() -> None:
    """A 16 MiB part already in memory is handed to the socket as one view on a fast link
    (4 MiB views cost the part threads' Python and wake-ups four times per part); under a cap,
    or while the link is unmeasured, blocks stay small; a slice of a file still reads 4 MiB."""
    now = [100.0]
    fast = LinkEstimator(clock=lambda: now[0])
    with fast.stream():
        for _ in range(30):
            now[0] += 0.1
            fast.add(100 * MIB)  # 1 GB/s
        part = memoryview(bytearray(16 * MIB))
        sent = BufferSlice(part, link=fast)
        first = sent.read(VIEW_BLOCK)
        assert len(first) == 16 * MIB == VIEW_BLOCK and sent.read(VIEW_BLOCK) == b""
        assert isinstance(first, memoryview) and first.obj is part.obj  # a view, not a copy
        capped = BufferSlice(part, link=fast, bucket=TokenBucket(10 * MIB))
        assert len(capped.read(VIEW_BLOCK)) == THROTTLED_BLOCK_SIZE
    unmeasured = BufferSlice(part, link=LinkEstimator(clock=lambda: now[0]))
    assert len(unmeasured.read(VIEW_BLOCK)) < MIB


def test_one_read_gives_parts_their_crc_and_the_whole_file_digests(tmp_path: Path) -> None:
    data = os.urandom(5 * MIB + 123)
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    pool = HashPool()
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = FileReader(fd, len(data), 2 * MIB, path.name, pool)
        futures = [reader.submit(n) for n in range(1, reader.count + 1)]
        parts = [f.result() for f in futures]
        assert [bytes(p.data) for p in parts] == [data[:2 * MIB], data[2 * MIB:4 * MIB],
                                                  data[4 * MIB:]]
        assert [p.crc64nvme for p in parts] == [
            crc64nvme(data[:2 * MIB]), crc64nvme(data[2 * MIB:4 * MIB]), crc64nvme(data[4 * MIB:])]
        assert reader.sha256().hexdigest() == hashlib.sha256(data).hexdigest()
        assert reader.crc64nvme_b64() == crc64nvme_b64(crc64nvme(data))
        assert reader.bytes_read == len(data)  # every byte read exactly once
        # the file is shorter than the job says: never a digest of a different file
        short = FileReader(fd, len(data) + 3 * MIB, 2 * MIB, path.name, pool)
        outcomes = [f.exception() for f in [short.submit(n) for n in range(1, short.count + 1)]]
        assert outcomes[:2] == [None, None]
        assert isinstance(outcomes[2], SourceChangedError) and "shorter" in str(outcomes[2])
        assert [type(e) for e in outcomes[3:]] == [ReadStopped] * 2  # nothing read after it
        with pytest.raises(SourceChangedError):
            short.sha256()
        # a stopped read ends its parts (and says the digests are incomplete)
        stopped = FileReader(fd, len(data), 2 * MIB, path.name, pool)
        stopped.stop()
        with pytest.raises(ReadStopped):
            stopped.submit(1).result()
        stopped.drain()
        with pytest.raises(SourceChangedError):
            stopped.crc64nvme_b64()
    finally:
        os.close(fd)
        pool.shutdown()


def test_files_take_turns_on_one_hashing_thread_and_a_stopped_pool_ends_their_parts(
    tmp_path: Path,
) -> None:
    """Each file's parts are a chain of tasks on the shared pool: with a single thread, two
    files read ahead at once both finish (no task waits for another's turn), in turns; parts
    still waiting when the engine shuts the pool down fail instead of hanging."""
    pool = HashPool(threads=1)
    order: list[str] = []
    readers, fds, datas = [], [], []
    try:
        for name in ("a", "b"):
            data = os.urandom(4 * MIB)
            path = tmp_path / f"{name}.mp4"
            path.write_bytes(data)
            fd = os.open(path, os.O_RDONLY)
            fds.append(fd)
            datas.append(data)
            readers.append(FileReader(fd, len(data), MIB, name, pool))
        def finished(key: str) -> Callable[[object], None]:
            return lambda _future: order.append(key)

        hold = threading.Event()
        pool.executor().submit(hold.wait, 30)  # the one thread is busy while both read ahead
        futures: dict[tuple[str, int], Future[PreparedPart]] = {}
        for name, reader in zip("ab", readers, strict=True):
            for n in range(1, 5):
                futures[name, n] = reader.submit(n)
                futures[name, n].add_done_callback(finished(f"{name}{n}"))
        hold.set()
        for (name, n), f in futures.items():
            data = datas[0 if name == "a" else 1]
            assert bytes(f.result(timeout=30).data) == data[(n - 1) * MIB:n * MIB]
        for reader, data in zip(readers, datas, strict=True):
            assert reader.sha256().hexdigest() == hashlib.sha256(data).hexdigest()
        # the files took turns: b did not wait for all of a
        assert order == ["a1", "b1", "a2", "b2", "a3", "b3", "a4", "b4"]

        with pytest.raises(ValueError, match="submitted after"):
            FileReader(fds[0], 4 * MIB, MIB, "a", pool).submit(2)
        blocker = threading.Event()
        pool.executor().submit(blocker.wait, 30)  # the only thread is busy
        late = FileReader(fds[0], 4 * MIB, MIB, "a", pool)
        waiting = [late.submit(n) for n in (1, 2)]
        pool.shutdown()  # cancels the queued chain task
        blocker.set()
        for f in waiting:
            with pytest.raises(ReadStopped):
                f.result(timeout=30)
    finally:
        for fd in fds:
            os.close(fd)
        pool.shutdown()


def test_parts_journaled_out_of_order_never_lower_the_byte_count(tmp_path: Path) -> None:
    store = QueueStore(tmp_path / "q.sqlite3")
    try:
        video = tmp_path / "a.mp4"
        video.write_bytes(b"x" * 100)
        job, _ = store.add_many("u1", [(video, 48 * MIB, 1)])[0]
        store.record_part(job.id, Part(3, 16 * MIB, "c3", "e3"), bytes_done=48 * MIB)
        store.record_part(job.id, Part(2, 16 * MIB, "c2", "e2"), bytes_done=32 * MIB)
        assert store.get(job.id, "u1").bytes_done == 48 * MIB
        assert sorted(store.parts(job.id)) == [2, 3]
    finally:
        store.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux mincore(2)")
def test_a_part_buffer_is_mapped_with_its_pages_in_place_and_zeroed() -> None:
    """A new part buffer's pages are in place when it is handed out (faulted in by one
    madvise call made through ctypes, without the GIL: mmap's MAP_POPULATE held it and
    stalled the GUI thread), zeroed, writable, and its memory leaves with it."""
    import ctypes
    import mmap

    size = 4 * 1024 * 1024
    buffer = new_buffer(size)
    assert isinstance(buffer, mmap.mmap) and len(buffer) == size

    def resident_pages() -> int:
        """Pages of the buffer in memory, by mincore(2) - not the Rss of its mapping in
        /proc/self/smaps, which the kernel may have merged with a neighbouring one (another
        part buffer still alive: a run in another order saw 20 MiB for this 4 MiB)."""
        libc = ctypes.CDLL(None, use_errno=True)
        pages = size // mmap.PAGESIZE
        vector = (ctypes.c_ubyte * pages)()
        address = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
        assert libc.mincore(ctypes.c_void_p(address), ctypes.c_size_t(size), vector) == 0
        return sum(v & 1 for v in vector)

    assert resident_pages() == size // mmap.PAGESIZE  # in place before anything was written
    view = memoryview(buffer)
    assert view[:4096].tobytes() == bytes(4096) and view[-1] == 0
    view[0] = 7
    assert buffer[0] == 7
    view.release()
    buffer.close()
