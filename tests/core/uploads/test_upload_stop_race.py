"""Issue 10's race: ``stop()`` arriving between a worker's registration and its start.

The interleaving is forced, not timed: the worker thread's ``start()`` is held until a second
thread running ``engine.stop()`` has either finished or is blocked on the engine's lock (a
spy lock reports that), so both orders a scheduler could produce are tried deterministically.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from medispecs_desktop.core.uploads.engine import UploadEngine
from medispecs_desktop.core.uploads.jobs import JobState


class SpyRLock:
    """An RLock that says when a caller had to wait for it."""

    def __init__(self, on_contended: Callable[[], None]) -> None:
        self._lock = threading.RLock()
        self._on_contended = on_contended

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(blocking=False):
            return True
        if not blocking:
            return False
        self._on_contended()
        return self._lock.acquire(True, timeout)

    def release(self) -> None:
        self._lock.release()

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()

    # what threading.Condition needs from a re-entrant lock
    def _is_owned(self) -> bool:
        return bool(self._lock._is_owned())  # type: ignore[attr-defined]

    def _release_save(self) -> Any:
        return self._lock._release_save()  # type: ignore[attr-defined]

    def _acquire_restore(self, state: Any) -> None:
        self._lock._acquire_restore(state)  # type: ignore[attr-defined]


def test_stop_between_registering_and_starting_a_worker_does_not_raise(
    make_engine: Callable[..., UploadEngine], make_video: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = make_engine()
    progressed = threading.Event()  # the stopper finished, or waits for the engine's lock
    engine._cond = threading.Condition(SpyRLock(progressed.set))  # type: ignore[arg-type]
    errors: list[BaseException] = []
    stopper_done = threading.Event()

    def run_stop() -> None:
        try:
            engine.stop(timeout=20)
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)
        finally:
            stopper_done.set()
            progressed.set()

    real_start = threading.Thread.start
    held = threading.Event()

    def start(self: threading.Thread) -> None:
        if self.name.startswith("upload-") and not held.is_set():
            held.set()
            threading.Thread(target=run_stop, name="stopper", daemon=True).start()
            progressed.wait()
        real_start(self)

    monkeypatch.setattr(threading.Thread, "start", start)
    job = engine.add_paths([make_video("race.mp4", seconds=1, seed=1010)]).added[0]
    engine.start()
    assert stopper_done.wait(60)
    assert held.is_set()
    assert errors == []
    # the interrupted job goes back to the queue (or never left it), nothing half-written
    assert engine.job(job.id).state in (JobState.QUEUED, JobState.DONE)
