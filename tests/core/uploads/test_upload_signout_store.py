"""The sign-out shared through the queue file (issue 17, finding 5), store side: a sign-out
recorded by another process parks the user's jobs and is seen by a watching engine's
:class:`SignOutWatch`; other users' jobs and engines are not touched."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from medispecs_desktop.core.uploads.jobs import JobState
from medispecs_desktop.core.uploads.signout import SignOutWatch, sign_out_queue
from medispecs_desktop.core.uploads.store import QueueStore

ROOT = Path(__file__).resolve().parents[3]


def _queue(store: QueueStore, user: str, tmp_path: Path, name: str) -> int:
    path = tmp_path / name
    path.write_bytes(b"x" * 10)
    job, _created = store.add(user, path, size=10, mtime_ns=1)
    return job.id


def logout_in_another_process(db: Path, username: str) -> list[str]:
    """What `medispecs-desktop logout` does to the queue, in a process of its own."""
    code = ("import sys; from pathlib import Path; "
            "from medispecs_desktop.core.uploads.signout import sign_out_queue; "
            "print(','.join(sign_out_queue(Path(sys.argv[1]), sys.argv[2])))")
    out = subprocess.run([sys.executable, "-c", code, str(db), username], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=True)
    return [u for u in out.stdout.strip().split(",") if u]


def test_a_sign_out_in_another_process_parks_the_users_jobs_and_wakes_the_watch(
    tmp_path: Path
) -> None:
    db = tmp_path / "queue.sqlite3"
    store = QueueStore(db)
    store.remember_account("alice", "sub-alice")
    store.remember_account("bob", "sub-bob")
    mine = _queue(store, "sub-alice", tmp_path, "a.mp4")
    theirs = _queue(store, "sub-bob", tmp_path, "b.mp4")
    fired = threading.Event()
    watch = SignOutWatch(store, "sub-alice", store.sign_out_generation("sub-alice"),
                         fired.set, interval=0.02).start()
    others = SignOutWatch(store, "sub-bob", store.sign_out_generation("sub-bob"),
                          lambda: None, interval=0.02)
    try:
        assert logout_in_another_process(db, "alice") == ["sub-alice"]
        assert fired.wait(30)
        assert store.state_of(mine) is JobState.WAITING_SIGN_IN
        assert store.state_of(theirs) is JobState.QUEUED
        assert not others.signed_out()  # bob's engine has nothing to stop
    finally:
        watch.stop()
        store.close()


def test_a_logout_without_a_queue_creates_none(tmp_path: Path) -> None:
    db = tmp_path / "none" / "queue.sqlite3"
    assert sign_out_queue(db, "alice") == []
    assert not db.exists() and not db.parent.exists()


def test_a_sign_out_before_the_engine_started_does_not_stop_it(tmp_path: Path) -> None:
    """An engine starts at the current generation: a sign-out made before the user signed in
    again is history, not a reason to stop."""
    store = QueueStore(tmp_path / "queue.sqlite3")
    store.remember_account("alice", "sub-alice")
    assert store.record_sign_out("sub-alice") == 1
    watch = SignOutWatch(store, "sub-alice", store.sign_out_generation("sub-alice"),
                         lambda: None)
    assert not watch.signed_out()
    store.record_sign_out("sub-alice")
    assert watch.signed_out()
    store.close()


def test_the_apps_engine_stops_when_another_process_signs_the_user_out(
    make_engine, big_video, proxy, demo_api, local_stack, tmp_path: Path
) -> None:
    """The app's engine (in-process, with the user's name) uploading through a slow link: a
    `logout` in another process stops its parts at once and parks the job with its upload."""
    from medispecs_desktop.core.uploads.jobs import JobState as S

    _api, _sub = demo_api
    db = tmp_path / "app-queue.sqlite3"
    engine = make_engine(db=db, username=local_stack["username"], max_parts_in_flight=1)
    stopped = threading.Event()
    engine.subscribe_sign_out(stopped.set)
    proxy.throttle(per_connection=256 * 1024)  # a 5 MiB part takes 20 s
    video = big_video("app.mkv", 11)
    engine.start()
    job = engine.add_paths([video]).added[0]
    assert engine.wait_until(lambda js: js[0].upload_id is not None, timeout=60)
    assert engine.wait_until(lambda js: js[0].state is S.UPLOADING, timeout=60)
    assert logout_in_another_process(db, local_stack["username"]) == [engine.user_id]
    assert stopped.wait(30) and engine.signed_out_elsewhere
    parked = engine.job(job.id)
    assert parked.state is S.WAITING_SIGN_IN and parked.upload_id
    assert "Signed out" in (parked.error or "")
    with engine._cond:  # the part in flight was stopped: its worker has ended
        assert not engine._running
    assert sorted(engine.store.parts(job.id)) == []  # (no part had finished at this rate)
