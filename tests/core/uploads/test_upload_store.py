"""The SQLite queue: WAL, schema version, committed transitions, per-user scoping, dedupe,
and the small building blocks (file slices, bandwidth cap, backoff, progress throttle)."""

from __future__ import annotations

import os
import random
import sqlite3
import threading
from pathlib import Path

import pytest

from medispecs_desktop.core.uploads.jobs import JobState, Part, Phase, new_video_id
from medispecs_desktop.core.uploads.network import Backoff, Reachability
from medispecs_desktop.core.uploads.progress import ProgressHub, ProgressSnapshot
from medispecs_desktop.core.uploads.store import (
    SCHEMA_VERSION,
    InvalidTransitionError,
    JobNotFoundError,
    QueueStore,
)
from medispecs_desktop.core.uploads.transfer import (
    FileSlice,
    RejectedError,
    SourceError,
    TokenBucket,
    TransientError,
    UrlExpiredError,
    classify_response,
    safe_url,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_schema_wal_and_reopen(tmp_path: Path) -> None:
    db = tmp_path / "q.sqlite3"
    store = QueueStore(db)
    assert store.schema_version == SCHEMA_VERSION
    job, created = store.add("u1", tmp_path / "a.mp4", size=10, mtime_ns=5)
    assert created and job.state is JobState.QUEUED and job.video_id.startswith("v_")
    store.move(job.id, "u1", JobState.HASHING)
    store.move(job.id, "u1", JobState.UPLOADING, upload_id="up-1", phase=Phase.PARTS,
                 media={"durationSec": 1.5})
    store.record_part(job.id, Part(1, 5, "c2hh", '"etag1"'), bytes_done=5)
    store.close()
    # another connection (another process) sees every committed change
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    again = QueueStore(db)
    reopened = again.get(job.id, "u1")
    assert (reopened.state, reopened.upload_id, reopened.phase) == (
        JobState.UPLOADING, "up-1", Phase.PARTS)
    assert reopened.media == {"durationSec": 1.5} and reopened.bytes_done == 5
    assert again.parts(job.id) == {1: Part(1, 5, "c2hh", '"etag1"')}
    assert oct(db.stat().st_mode & 0o777) == "0o600"


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "q.sqlite3"
    QueueStore(db).close()
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(Exception, match="newer MediSpecs"):
        QueueStore(db)


def test_users_never_see_each_others_jobs(tmp_path: Path) -> None:
    store = QueueStore(tmp_path / "q.sqlite3")
    mine, _ = store.add("alice", tmp_path / "a.mp4", size=1, mtime_ns=1)
    store.add("bob", tmp_path / "b.mp4", size=1, mtime_ns=1)
    assert [j.user_id for j in store.list_jobs("alice")] == ["alice"]
    with pytest.raises(JobNotFoundError):
        store.get(mine.id, "bob")
    with pytest.raises(JobNotFoundError):
        store.move(mine.id, "bob", JobState.PAUSED)
    bobs = store.next_runnable("bob")
    assert bobs is not None and bobs.user_id == "bob"
    assert store.transition_all("bob", [JobState.QUEUED], JobState.PAUSED) != [mine.id]
    assert store.get(mine.id, "alice").state is JobState.QUEUED


def test_dedupe_order_and_guarded_transitions(tmp_path: Path) -> None:
    store = QueueStore(tmp_path / "q.sqlite3")
    a = tmp_path / "a.mp4"
    rows = store.add_many("u", [(a, 1, 1), (a, 1, 1), (tmp_path / "b.mp4", 2, 2)])
    assert [created for _j, created in rows] == [True, True]
    job_a = rows[0][0]
    same, created = store.add("u", a, size=1, mtime_ns=1)
    assert not created and same.id == job_a.id
    _changed, created = store.add("u", a, size=1, mtime_ns=2)  # modified since: a new job
    assert created
    front, _ = store.add("u", tmp_path / "c.mp4", size=3, mtime_ns=3, front=True)
    assert store.list_jobs("u")[0].id == front.id
    moved = store.move_to_front(job_a.id, "u")
    assert store.list_jobs("u")[0].id == moved.id
    store.move(job_a.id, "u", JobState.CANCELLED)
    with pytest.raises(InvalidTransitionError, match="cancelled"):
        store.move(job_a.id, "u", JobState.DONE, expect=[JobState.UPLOADING])
    assert store.claim_fingerprint(front.id, "u", "9:ab") is None
    other, _ = store.add("u", tmp_path / "copy.mp4", size=3, mtime_ns=9)
    claimed = store.claim_fingerprint(other.id, "u", "9:ab")
    assert claimed is not None and claimed.id == front.id


def test_concurrent_writers_keep_every_transition(tmp_path: Path) -> None:
    store = QueueStore(tmp_path / "q.sqlite3")
    job, _ = store.add("u", tmp_path / "a.mp4", size=10, mtime_ns=1)

    def writer(start: int) -> None:
        for n in range(start, start + 25):
            store.record_part(job.id, Part(n, 1, "x", f"e{n}"))

    threads = [threading.Thread(target=writer, args=(i * 25 + 1,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(store.parts(job.id)) == list(range(1, 101))


def test_video_ids_are_unique_and_url_safe() -> None:
    ids = {new_video_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("v_") and len(i) <= 64 and i[2:].isalnum() for i in ids)


def test_file_slice_streams_exact_bytes_with_length(tmp_path: Path) -> None:
    data = os.urandom(700_000)
    path = tmp_path / "f"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    seen: list[int] = []
    try:
        part = FileSlice(fd, 100_000, 500_000, on_read=lambda b: seen.append(len(b)))
        assert len(part) == 500_000
        out = b""
        while chunk := part.read(16384):
            out += chunk
        assert out == data[100_000:600_000] and sum(seen) == 500_000 and len(part) == 0
        short = FileSlice(fd, 650_000, 100_000)  # runs past the end: the file "shrank"
        with pytest.raises(SourceError, match="shorter"):
            while short.read(65536):
                pass
    finally:
        os.close(fd)


def test_requests_sends_a_file_slice_with_content_length_not_chunked(tmp_path: Path) -> None:
    import requests

    path = tmp_path / "f"
    path.write_bytes(b"x" * 1000)
    fd = os.open(path, os.O_RDONLY)
    try:
        prepared = requests.Request("PUT", "http://127.0.0.1:9/", data=FileSlice(fd, 0, 1000)
                                    ).prepare()
    finally:
        os.close(fd)
    assert prepared.headers["Content-Length"] == "1000"
    assert "Transfer-Encoding" not in prepared.headers


def test_s3_answers_are_classified() -> None:
    xml = "<Error><Code>{}</Code><Message>{}</Message></Error>"
    assert isinstance(classify_response(403, xml.format("AccessDenied", "Request has expired")),
                      UrlExpiredError)
    denied = classify_response(403, xml.format("AccessDenied", "Access Denied"))
    assert isinstance(denied, RejectedError) and not isinstance(denied, UrlExpiredError)
    for status, code in ((503, "SlowDown"), (500, "InternalError"), (429, "")):
        assert isinstance(classify_response(status, xml.format(code, "x")), TransientError)
    digest = classify_response(400, xml.format("BadDigest", "mismatch"))
    assert isinstance(digest, RejectedError) and "changed" in str(digest)
    assert safe_url("https://b.s3/k?X-Amz-Signature=abc") == "https://b.s3/k"


def test_token_bucket_caps_bandwidth_without_real_sleep() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1_000_000, clock=clock, sleep=clock.sleep)
    start = clock.now
    for _ in range(40):
        bucket.consume(100_000)  # 4 MB at 1 MB/s
    assert 3.5 <= clock.now - start <= 4.1


def test_a_cap_changed_while_a_part_is_sent_applies_to_its_next_block(tmp_path: Path) -> None:
    """Settings › Bandwidth limit while uploads run: the engine's one bucket changes rate, and
    the part in flight follows from its next block (the cap was built once, at sign-in)."""
    clock = FakeClock()
    bucket = TokenBucket(0, clock=clock, sleep=clock.sleep)  # unlimited to begin with
    source = tmp_path / "part.bin"
    source.write_bytes(os.urandom(3_000_000))
    fd = os.open(source, os.O_RDONLY)
    try:
        part = FileSlice(fd, 0, 3_000_000, bucket=bucket)
        start = clock.now
        first = len(part.read(1_000_000))  # a block of the first MB (a whole block may be 4 MiB)
        assert clock.now == start and first == 1_000_000  # no cap: no waiting
        bucket.set_rate(500_000)  # 4 Mbit/s, set in the middle of the part
        capped = 0
        while capped < 1_000_000:
            capped += len(part.read())
        # about 2 s for 1 MB at 0.5 MB/s, less the burst the new bucket starts with
        assert 1.5 <= clock.now - start <= 2.2, clock.now - start
        bucket.set_rate(0)  # lifted: the rest goes at once
        lifted = clock.now
        while len(part):
            part.read()
        assert clock.now == lifted and first + capped <= 3_000_000
    finally:
        os.close(fd)


def test_backoff_is_bounded_and_jittered() -> None:
    slept: list[float] = []
    backoff = Backoff(attempts=5, base=0.5, cap=20, sleep=slept.append, rng=random.Random(1))
    for attempt in range(10):
        backoff.wait(attempt)
    assert all(0 <= d <= min(20, 0.5 * 2**i) for i, d in enumerate(slept))
    assert len(set(slept)) == len(slept)  # jittered


def test_reachability_probes_less_often_while_offline() -> None:
    clock = FakeClock()
    answers = [False, False, True]
    reach = Reachability(lambda: answers.pop(0), interval=10, clock=clock)
    reach.mark_offline()
    assert not reach.due()
    clock.now += 10
    assert reach.due() and not reach.probe()  # 1st failure: next probe in 10 s
    clock.now += 10
    assert reach.due() and not reach.probe()  # 2nd failure: next in 20 s
    clock.now += 10
    assert not reach.due()
    clock.now += 10
    assert reach.due() and reach.probe() and reach.online


def test_progress_is_throttled_and_has_speed_and_eta() -> None:
    clock = FakeClock()
    hub = ProgressHub(max_rate=10, clock=clock)
    got: list[ProgressSnapshot] = []
    hub.subscribe(got.append)
    hub.track(1, 0, 10_000_000)
    for _ in range(1000):  # 1000 blocks of 1 KB in 1 s
        clock.now += 0.001
        hub.add(1, 1000)
    assert 9 <= len(got) <= 11
    last = hub.snapshot().jobs[1]
    assert last.bytes_done == 1_000_000
    assert 900_000 <= last.speed_bps <= 1_100_000
    assert last.eta_seconds is not None and 8 <= last.eta_seconds <= 10
    hub.add(1, -500)  # a failed part's bytes are taken back
    assert hub.snapshot().jobs[1].bytes_done == 999_500


def test_sleep_inhibitor_holds_a_process_and_gives_up_when_unavailable() -> None:
    import sys

    from medispecs_desktop.core.uploads.awake import SleepInhibitor

    awake = SleepInhibitor([sys.executable, "-c", "import time; time.sleep(60)"])
    awake.set(True)
    first = awake._proc
    awake.set(True)  # idempotent: still the same child
    assert awake.held and awake._proc is first
    awake.set(False)
    assert not awake.held and first is not None and first.poll() is not None
    broken = SleepInhibitor([sys.executable, "-c", "raise SystemExit(1)"])
    broken.set(True)
    assert broken._proc is not None
    broken._proc.wait()
    broken.set(True)  # it died by itself: no retry loop
    assert not broken.held and broken._command is None
    SleepInhibitor(["/nonexistent/inhibit"]).set(True)  # never raises
