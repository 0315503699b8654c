"""An engine's threads end with it: stopping an engine also ends its hashing pool.

Before, ``UploadEngine.stop`` never shut the pool down: every engine made and stopped in a
process (a sign-out and sign-in, a benchmark's runs, a test session's hundreds) left its two
idle hashing threads waiting for work for the life of the process."""

from __future__ import annotations

import threading
from typing import Any

from medispecs_desktop.core.uploads.jobs import JobState
from tests.core.uploads.test_upload_engine import settled


def test_a_stopped_engine_leaves_no_hashing_threads_behind(make_engine: Any,
                                                          make_video: Any) -> None:
    before = set(threading.enumerate())
    engine = make_engine()
    engine.start()
    engine.add_paths([make_video("clip.mp4", seconds=1, seed=9101)])  # never a duplicate
    [job] = settled(engine)
    assert job.state is JobState.DONE, job.error
    hashing = [t for t in set(threading.enumerate()) - before if t.name.startswith("hash")]
    assert hashing  # the file was read and hashed on the engine's pool
    engine.stop(timeout=10)
    for thread in hashing:
        thread.join(10)  # an idle pool thread ends at once; 10 s only bounds a failure
    assert not [t for t in hashing if t.is_alive()]
    # started again, the engine makes a new pool and uploads as before
    engine.start()
    engine.add_paths([make_video("again.mp4", seconds=1, seed=9102)])
    jobs = settled(engine)
    assert [j.state for j in jobs] == [JobState.DONE, JobState.DONE], [j.error for j in jobs]
