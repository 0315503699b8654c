"""An upload's hashing and sending threads run at the priority of the thread that started the
engine (the GUI thread in the app), never below it (issue 16): they share the GIL with the GUI
thread, and a lowered thread preempted while holding it kept the GUI waiting (a priority
inversion, measured in core/priority.py). Only other processes (the demo stack) are lowered."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from medispecs_desktop.core.uploads.engine import UploadEngine
from medispecs_desktop.core.uploads.jobs import JobState
from medispecs_desktop.core.uploads.progress import ProgressSnapshot
from tests.support.nice import nice_of

WORKERS = ("upload-", "part-", "hash")


def test_upload_worker_threads_run_at_the_gui_threads_nice_value(
    make_engine: Callable[..., UploadEngine], big_video: Callable[..., Any],
) -> None:
    gui = nice_of(os.getpid(), threading.get_native_id())
    video = big_video("nice.mkv", 13)  # 3 parts: sending and hashing pools run
    engine = make_engine()
    seen: dict[str, int] = {}
    lock = threading.Lock()

    def on_progress(_snap: ProgressSnapshot) -> None:  # on the thread that moved the bytes
        with lock:
            for thread in threading.enumerate():
                if thread.name.startswith(WORKERS) and thread.native_id is not None:
                    try:
                        seen[thread.name] = nice_of(os.getpid(), thread.native_id)
                    except FileNotFoundError:  # it ended meanwhile
                        pass

    engine.subscribe_progress(on_progress)
    engine.start()
    job = engine.add_paths([video]).added[0]
    assert engine.wait_until(
        lambda jobs: all(j.state.is_terminal for j in jobs if j.id == job.id), timeout=120)
    assert engine.job(job.id).state is JobState.DONE, engine.job(job.id).error
    kinds = {name.replace("_", "-").split("-")[0] for name in seen}
    assert {"upload", "part", "hash"} <= kinds, seen
    assert all(nice == gui for nice in seen.values()), (gui, seen)
    assert nice_of(os.getpid(), threading.get_native_id()) == gui
