"""The throughput pieces of the upload pipeline: big socket writes, the whole-file SHA-256 on its
own thread, part journal commits out of order. (Speed itself: tests/benchmarks/bench_upload.py.)
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest
from requests.adapters import HTTPAdapter

from medispecs_desktop.core.uploads.engine import SourceChangedError, WholeFileSha256
from medispecs_desktop.core.uploads.jobs import Part
from medispecs_desktop.core.uploads.store import QueueStore
from medispecs_desktop.core.uploads.transfer import (
    BLOCK_SIZE,
    THROTTLED_BLOCK_SIZE,
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
    assert conn.blocksize == BLOCK_SIZE >= 256 * 1024  # urllib3's default is 16 KiB
    session.close()

    path = tmp_path / "f"
    path.write_bytes(os.urandom(3 * MIB))
    fd = os.open(path, os.O_RDONLY)
    try:
        fast = FileSlice(fd, 0, 3 * MIB)
        assert len(fast.read(-1)) == BLOCK_SIZE
        capped = FileSlice(fd, 0, 3 * MIB, bucket=TokenBucket(10 * MIB))
        assert len(capped.read(BLOCK_SIZE)) == THROTTLED_BLOCK_SIZE  # a cap stays smooth
    finally:
        os.close(fd)


def test_whole_file_hash_on_its_own_thread(tmp_path: Path) -> None:
    data = os.urandom(5 * MIB + 123)
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        stop = threading.Event()
        whole = WholeFileSha256(fd, len(data), path.name, stop)
        assert whole.result().hexdigest() == hashlib.sha256(data).hexdigest()
        # the file is shorter than the job says: never a digest of a different file
        short = WholeFileSha256(fd, len(data) + MIB, path.name, stop)
        with pytest.raises(SourceChangedError, match="shorter"):
            short.result()
        # a stopped upload stops the reader (and result() says the hash is incomplete)
        stop.set()
        stopped = WholeFileSha256(fd, len(data), path.name, stop)
        stopped.join()
        with pytest.raises(SourceChangedError):
            stopped.result()
    finally:
        os.close(fd)


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
