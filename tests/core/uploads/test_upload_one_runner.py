"""One runner per queue: the app and `upload --wait` (or two app instances) share the queue
file, but only the holder of the OS runner lock sends bytes; the others queue and control jobs
and follow the runner's progress. The lock dies with its process (kill -9 included)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from medispecs_desktop.cli.main import EXIT_OK
from medispecs_desktop.core.logs import LOG_FILE_NAME
from medispecs_desktop.core.uploads.jobs import Job, JobState
from medispecs_desktop.core.uploads.runner_lock import RunnerLock
from medispecs_desktop.core.uploads.store import QueueStore
from tests.core.uploads.test_upload_cli import PASSWORD, ROOT, Cli, new_user
from tests.core.uploads.test_upload_crash import run_child, wait_for
from tests.core.uploads.test_upload_engine import file_sha256, settled


def test_runner_lock_is_exclusive_and_per_user(tmp_path: Path) -> None:
    db = tmp_path / "uploads.sqlite3"
    first, second = RunnerLock(db, "alice"), RunnerLock(db, "alice")
    other_user = RunnerLock(db, "bob")
    assert first.acquire() and first.held
    assert first.acquire()  # re-entrant for its holder
    assert not second.acquire() and second.held_elsewhere()
    assert first.holder_pid() == os.getpid()
    assert other_user.acquire()  # each user's jobs have their own runner
    first.release()
    assert not second.held_elsewhere() and second.acquire()
    second.release()
    other_user.release()
    assert "alice" not in first.path.name


def test_second_engine_on_the_same_queue_follows_then_takes_over(
    make_engine, make_video, proxy, tmp_path
) -> None:
    db = tmp_path / "shared.sqlite3"
    runner = make_engine(db=db)
    runner.start()
    gate = threading.Event()
    proxy.inject("hold", event=gate, match=lambda m, p, q: m == "PUT" and "/videos/" in p)
    clip = make_video("shared-a.mp4", seconds=1, seed=301)
    job = runner.add_paths([clip]).added[0]
    assert wait_for(lambda: any(r.status == -2 for r in proxy.stats.puts()))

    follower = make_engine(db=db)
    seen: list[Job] = []
    follower.subscribe_jobs(seen.append)
    follower.start()
    assert runner.is_runner and not follower.is_runner and follower.runner_elsewhere()
    # the follower queues; the runner uploads it
    later = make_video("shared-b.mp4", seconds=1, seed=302)
    second = follower.add_paths([later]).added[0]
    gate.set()
    done = settled(follower, [job.id, second.id])
    assert [j.state for j in done] == [JobState.DONE, JobState.DONE], [j.error for j in done]
    assert not follower.is_runner
    # the follower's listeners saw the runner's changes to its rows
    for wanted in (job.id, second.id):
        assert wait_for(lambda w=wanted: any(j.id == w and j.state is JobState.DONE
                                             for j in list(seen)), timeout=10)
    single_puts = [r for r in proxy.stats.puts(ok=True) if "/videos/" in r.path]
    assert len(single_puts) == 2  # each file once: never two engines on one job

    # the runner stops (app closed): the follower takes over and runs what is queued next
    runner.stop()
    third = follower.add_paths([make_video("shared-c.mp4", seconds=1, seed=303)]).added[0]
    assert settled(follower, [third.id])[0].state is JobState.DONE
    assert follower.is_runner


def _log_text(home: Path) -> str:
    path = home / "logs" / LOG_FILE_NAME
    return path.read_text(errors="replace") if path.exists() else ""


def _cli_popen(cli: Cli, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "medispecs_desktop", *args], cwd=ROOT, env=cli.env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _object_puts(proxy: Any, user_id: str, video_id: str) -> int:
    return len([r for r in proxy.stats.puts(ok=True)
                if f"/videos/{user_id}/{video_id}." in r.path])


def test_cli_queues_for_the_running_app_and_wait_follows_it(
    local_stack, proxy, big_video, make_video, tmp_path, s3
) -> None:
    home = tmp_path / "home"
    cli = Cli(local_stack, home)
    user = new_user(local_stack)
    assert cli("login", "--username", user, "--password-stdin",
               stdin=PASSWORD + "\n").returncode == EXIT_OK
    db = home / "data" / "uploads.sqlite3"
    big = big_video("app-held.mkv", 12, seed=311)  # 3 parts; part 1 is held by the proxy
    gate = threading.Event()
    proxy.inject("hold", event=gate, match=lambda m, p, q: q.get("partNumber") == ["1"])
    app = run_child({"info": local_stack, "db": str(db), "paths": [str(big)],
                     "proxy": proxy.endpoint, "username": user, "password": PASSWORD})
    waiter: subprocess.Popen[str] | None = None
    try:
        assert wait_for(lambda: any(r.status == -2 for r in proxy.stats.puts())), app.stderr
        clip = make_video("for-the-app.mp4", seconds=1, seed=312)
        queued = cli("upload", str(clip))
        assert queued.returncode == EXIT_OK, queued.stderr
        assert "Queued 1 file(s); the running MediSpecs app will upload them." in queued.stdout

        third = make_video("waited.mp4", seconds=1, seed=313)
        waiter = _cli_popen(cli, "upload", str(third), "--wait")
        store = QueueStore(db)
        try:
            assert wait_for(lambda: len(store.list_jobs(_user_id(store))) == 3)
        finally:
            store.close()
        assert wait_for(lambda: "another process runs this upload queue" in _log_text(home))
        gate.set()
        out, err = waiter.communicate(timeout=120)
        assert waiter.returncode == EXIT_OK, err[-3000:]
        assert "already uploading this queue; waiting" in out
        assert "waited.mp4" in out and "Done" in out
        _app_out, app_err = app.communicate(timeout=120)
        assert app.returncode == 0, app_err[-3000:]
    finally:
        gate.set()
        for proc in (app, waiter):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
    store = QueueStore(db)
    sub = _user_id(store)
    jobs = store.list_jobs(sub)
    store.close()
    assert [j.state for j in jobs] == [JobState.DONE] * 3, [j.error for j in jobs]
    # every byte went through the app's engine (its PUTs use the proxy; the CLI's would not),
    # each single-PUT file exactly once
    by_name = {j.name: j for j in jobs}
    assert _object_puts(proxy, sub, by_name["for-the-app.mp4"].video_id) == 1
    assert _object_puts(proxy, sub, by_name["waited.mp4"].video_id) == 1
    # and the CLI never started a job itself (it may take the lock once the app has exited)
    assert "-> hashing" not in _log_text(home) and "-> uploading" not in _log_text(home)


def test_wait_takes_over_when_the_running_app_is_killed(
    local_stack, proxy, big_video, tmp_path, s3
) -> None:
    home = tmp_path / "home"
    cli = Cli(local_stack, home)
    user = new_user(local_stack)
    assert cli("login", "--username", user, "--password-stdin",
               stdin=PASSWORD + "\n").returncode == EXIT_OK
    db = home / "data" / "uploads.sqlite3"
    big = big_video("app-killed.mkv", 12, seed=321)
    gate = threading.Event()
    proxy.inject("hold", event=gate, match=lambda m, p, q: q.get("partNumber") == ["2"])
    app = run_child({"info": local_stack, "db": str(db), "paths": [str(big)],
                     "proxy": proxy.endpoint, "username": user, "password": PASSWORD})
    waiter: subprocess.Popen[str] | None = None
    try:
        assert wait_for(lambda: any(r.status == -2 for r in proxy.stats.puts())), app.stderr
        waiter = _cli_popen(cli, "upload", "--wait")
        assert wait_for(lambda: "another process runs this upload queue" in _log_text(home))
        os.kill(app.pid, signal.SIGKILL)  # the OS drops its lock
        app.wait(10)
        gate.set()
        out, err = waiter.communicate(timeout=120)
        assert waiter.returncode == EXIT_OK, err[-3000:]
        assert "app-killed.mkv" in out and "Done" in out
    finally:
        gate.set()
        for proc in (app, waiter):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
    assert "now runs the upload queue" in _log_text(home)
    store = QueueStore(db)
    job = store.list_jobs(_user_id(store))[0]
    store.close()
    assert job.state is JobState.DONE and job.sha256 == file_sha256(big)
    body = s3.get_object(Bucket=local_stack["bucket"],
                         Key=f"videos/{job.user_id}/{job.video_id}.mkv")["Body"].read()
    assert hashlib.sha256(body).hexdigest() == job.sha256


def _user_id(store: QueueStore) -> str:
    row = store._conn.execute("SELECT DISTINCT user_id FROM jobs").fetchone()
    return str(row[0]) if row else ""
