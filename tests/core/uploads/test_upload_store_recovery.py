"""A damaged or locked queue database never crashes `queue`/`upload` (issue 17 item 6).

Damaged: moved aside with a clear message, a fresh queue starts, what can be read is queued
again. Locked: a short wait, then an error that names the program holding it. Through the
store API and through the CLI in real subprocesses."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from medispecs_desktop.cli.main import EXIT_ERROR, EXIT_OK
from medispecs_desktop.core.uploads.jobs import JobState, Part, Phase
from medispecs_desktop.core.uploads.store import QueueLockedError, QueueStore
from tests.core.uploads.test_upload_cli import PASSWORD, Cli, new_user
from tests.support.queue_lock import hold_write_lock

USER = "user-recovery"


def _queue_with_jobs(path: Path, tmp_path: Path) -> dict[str, int]:
    store = QueueStore(path)
    ids: dict[str, int] = {}
    for name in ("live", "failed", "done"):
        clip = tmp_path / f"{name}.mp4"
        clip.write_bytes(name.encode() * 100)
        job, _ = store.add(USER, clip, size=clip.stat().st_size, mtime_ns=clip.stat().st_mtime_ns)
        ids[name] = job.id
    store.move(ids["live"], USER, JobState.HASHING)
    store.move(ids["live"], USER, JobState.UPLOADING, phase=Phase.PARTS,
                 upload_id="mpu-1", part_size=5 << 20)
    store.record_part(ids["live"], Part(1, 5 << 20, "c2hh", '"etag-1"'), bytes_done=5 << 20)
    store.move(ids["failed"], USER, JobState.FAILED, error="S3 refused")
    store.move(ids["done"], USER, JobState.HASHING)
    store.move(ids["done"], USER, JobState.DONE, phase=Phase.FINISHED)
    store.close()
    return ids


def _damage_index(path: Path) -> None:
    """Overwrite the pages of the jobs indexes: quick_check fails, the table rows survive."""
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    roots = [r[0] for r in conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' "
        "AND name LIKE 'jobs_user%'")]
    conn.close()
    assert roots
    with path.open("r+b") as f:
        for root in roots:
            f.seek((root - 1) * page_size)
            f.write(b"\xa5" * page_size)


def test_a_file_that_is_not_a_database_is_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "uploads.sqlite3"
    path.write_bytes(b"this is not SQLite at all " * 400)
    store = QueueStore(path)
    try:
        assert store.recovery is not None
        assert "file is not a database" in str(store.recovery)
        moved = store.recovery.moved_to
        assert moved.exists() and moved.read_bytes().startswith(b"this is not SQLite")
        assert str(moved) in str(store.recovery) and "a new queue started" in str(store.recovery)
        assert store.list_jobs(USER) == []
        job, created = store.add(USER, tmp_path / "x.mp4", size=1, mtime_ns=1)
        assert created and store.get(job.id, USER).state is JobState.QUEUED
    finally:
        store.close()
    again = QueueStore(path)  # the fresh file is healthy: no second recovery
    assert again.recovery is None and len(again.list_jobs(USER)) == 1
    again.close()


def test_a_damaged_queue_keeps_what_can_be_read(tmp_path: Path) -> None:
    path = tmp_path / "uploads.sqlite3"
    ids = _queue_with_jobs(path, tmp_path)
    _damage_index(path)
    store = QueueStore(path)
    try:
        assert store.recovery is not None
        assert store.recovery.requeued == 1 and store.recovery.kept_failed == 1
        assert "1 unfinished upload(s) were queued again, 1 failed one(s) kept" in str(
            store.recovery)
        jobs = {j.id: j for j in store.list_jobs(USER)}
        assert set(jobs) == {ids["live"], ids["failed"]}  # finished history is not kept
        live = jobs[ids["live"]]
        # queued again where it was: same multipart upload and journal, nothing sent twice
        assert live.state is JobState.QUEUED and live.phase is Phase.PARTS
        assert live.upload_id == "mpu-1"
        assert store.parts(live.id) == {1: Part(1, 5 << 20, "c2hh", '"etag-1"')}
        assert jobs[ids["failed"]].state is JobState.FAILED
        assert jobs[ids["failed"]].error == "S3 refused"
        runnable = store.next_runnable(USER)
        assert runnable is not None and runnable.id == live.id  # the indexes work again
    finally:
        store.close()


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """Another program holding a write transaction on a queue database."""
    path = tmp_path / "data" / "uploads.sqlite3"
    path.parent.mkdir(parents=True)
    QueueStore(path).close()
    proc = hold_write_lock(path)
    try:
        yield proc, path
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(30)


def test_a_locked_queue_names_the_program_that_holds_it(holder) -> None:
    proc, path = holder
    with pytest.raises(QueueLockedError) as caught:
        QueueStore(path, lock_wait=0.5)
    message = str(caught.value)
    assert f"is locked by pid {proc.pid} (" in message and "-c" in message
    assert "Waited 0.5 s" in message
    assert path.exists() and not list(path.parent.glob("*.damaged-*"))  # nothing moved


def test_cli_says_who_locks_the_queue(local_stack, holder, tmp_path: Path) -> None:
    proc, path = holder
    home = path.parent.parent
    cli = Cli(local_stack, home)
    user = new_user(local_stack)
    assert cli("login", "--username", user, "--password-stdin",
               stdin=PASSWORD + "\n").returncode == EXIT_OK
    result = cli("queue", "list")
    assert result.returncode == EXIT_ERROR
    assert f"locked by pid {proc.pid}" in result.stderr and "Traceback" not in result.stderr


def test_cli_replaces_a_damaged_queue(local_stack, tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli = Cli(local_stack, home)
    user = new_user(local_stack)
    assert cli("login", "--username", user, "--password-stdin",
               stdin=PASSWORD + "\n").returncode == EXIT_OK
    db = home / "data" / "uploads.sqlite3"
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"\x00garbage" * 1000)
    result = cli("queue", "list")
    assert result.returncode == EXIT_OK, result.stderr
    assert "Traceback" not in result.stderr
    assert "warning: The upload queue was damaged (file is not a database)" in result.stderr
    assert result.stdout.strip() == "The upload queue is empty."
    assert list(db.parent.glob("uploads.sqlite3.damaged-*"))
    again = cli("queue", "list")  # healthy now: no warning the second time
    assert again.returncode == EXIT_OK and "damaged" not in again.stderr
