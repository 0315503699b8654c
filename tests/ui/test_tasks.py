"""ui.tasks: results reach the GUI thread, the GUI thread never blocks, pools are separate,
progress is throttled, shutdown is prompt."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QElapsedTimer, QThread, QTimer
from PySide6.QtWidgets import QApplication

from medispecs_desktop.ui.tasks import API, MEDIA, UPLOADS, TaskRunner, throttled


@pytest.fixture
def runner(qapp: QApplication) -> Iterator[TaskRunner]:
    r = TaskRunner()
    yield r
    r.shutdown(timeout=2)


def _on_gui_thread() -> bool:
    app = QApplication.instance()
    assert app is not None
    return QThread.currentThread() is app.thread()


def test_result_and_error_are_delivered_on_the_gui_thread(qtbot: Any, runner: TaskRunner) -> None:
    seen: dict[str, Any] = {}

    def work() -> str:
        seen["worker_thread"] = threading.current_thread().name
        seen["worker_on_gui"] = _on_gui_thread()
        return "result"

    def done(value: str) -> None:
        seen["value"] = value
        seen["done_on_gui"] = _on_gui_thread()

    runner.run(API, work, done)
    qtbot.waitUntil(lambda: "value" in seen, timeout=5000)
    assert seen["value"] == "result"
    assert seen["done_on_gui"] is True
    assert seen["worker_on_gui"] is False
    assert seen["worker_thread"].startswith("ms-api")

    errors: list[tuple[BaseException, bool]] = []

    def fail() -> None:
        raise ValueError("bad input")

    runner.run(MEDIA, fail, lambda _v: errors.append((AssertionError("on_done"), False)),
               lambda exc: errors.append((exc, _on_gui_thread())))
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    exc, on_gui = errors[0]
    assert isinstance(exc, ValueError) and str(exc) == "bad input"
    assert on_gui is True


def test_gui_thread_keeps_beating_while_a_slow_task_runs(qtbot: Any, runner: TaskRunner) -> None:
    """A heartbeat QTimer at 10 ms keeps firing while a task blocks until the 60th heartbeat
    (had the GUI thread waited for the task, the 60th beat could never come and the task
    would time out: the proof is the order of events, not a wall-clock gap); the task's
    result then arrives on the GUI thread."""
    release = threading.Event()
    beats: list[int] = []
    clock = QElapsedTimer()
    clock.start()
    heartbeat = QTimer()
    heartbeat.setInterval(10)

    def beat() -> None:
        beats.append(clock.elapsed())
        if len(beats) == 60:
            release.set()

    heartbeat.timeout.connect(beat)
    results: list[str] = []

    def slow() -> str:
        if not release.wait(timeout=10):  # blocks the worker, never the GUI
            raise TimeoutError("heartbeat never reached 60")
        return "slow done"

    runner.run(API, slow, results.append)
    heartbeat.start()
    try:
        qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    finally:
        heartbeat.stop()
    assert results == ["slow done"]
    assert len(beats) >= 60


def test_pools_are_separate(qtbot: Any, qapp: QApplication) -> None:
    """A full uploads pool does not delay API calls."""
    runner = TaskRunner({UPLOADS: 2, API: 2})
    release = threading.Event()
    try:
        for _ in range(4):  # more blocked transfers than upload workers
            runner.run(UPLOADS, lambda: release.wait(10))
        got: list[int] = []
        runner.run(API, lambda: 42, got.append)
        qtbot.waitUntil(lambda: got == [42], timeout=3000)
        assert runner.pending(UPLOADS) == 4
        assert runner.pending(API) == 0
    finally:
        release.set()
        assert runner.shutdown(timeout=5)


def test_call_soon_from_a_worker_thread(qtbot: Any, runner: TaskRunner) -> None:
    calls: list[bool] = []
    t = threading.Thread(target=lambda: runner.call_soon(lambda: calls.append(_on_gui_thread())))
    t.start()
    t.join()
    qtbot.waitUntil(lambda: bool(calls), timeout=3000)
    assert calls == [True]


def test_unknown_kind_is_refused(runner: TaskRunner) -> None:
    with pytest.raises(ValueError, match="unknown task kind"):
        runner.run("video", lambda: None)


def test_shutdown_cancels_queued_tasks_and_stops_delivery(qtbot: Any, qapp: QApplication) -> None:
    runner = TaskRunner({MEDIA: 1})
    started = threading.Event()
    release = threading.Event()
    ran: list[str] = []
    delivered: list[Any] = []

    def blocker() -> str:
        started.set()
        release.wait(10)
        ran.append("blocker")
        return "blocker"

    runner.run(MEDIA, blocker, delivered.append)
    queued = [runner.run(MEDIA, functools.partial(ran.append, f"q{i}"), delivered.append)
              for i in range(5)]
    assert started.wait(5)
    # the running task waits for the test's release: shutdown reports it still running and
    # returns without waiting for it (the blocker has not finished when it returns)
    assert runner.shutdown(timeout=0.2) is False
    assert ran == []
    assert all(f.cancelled() for f in queued)
    release.set()
    qtbot.waitUntil(lambda: ran == ["blocker"], timeout=3000)
    qapp.processEvents()
    assert delivered == []  # nothing reaches widgets after shutdown
    with pytest.raises(RuntimeError):
        runner.run(MEDIA, lambda: None)


def test_throttled_coalesces_progress_from_a_worker(qtbot: Any, qapp: QApplication) -> None:
    received: list[tuple[int, bool]] = []
    progress = throttled(lambda n: received.append((n, _on_gui_thread())), interval_ms=100)
    worker_done = threading.Event()

    def producer() -> None:
        for n in range(1, 20_001):
            progress(n)
        worker_done.set()

    clock = QElapsedTimer()
    clock.start()
    threading.Thread(target=producer).start()
    qtbot.waitUntil(lambda: bool(worker_done.is_set() and received and received[-1][0] == 20_000),
                    timeout=5000)
    elapsed = clock.elapsed()
    assert all(on_gui for _, on_gui in received)
    values = [n for n, _ in received]
    assert values == sorted(values)
    # at most one delivery per 100 ms (+ the leading one), and the final value always arrives
    assert len(values) <= elapsed // 100 + 2, (len(values), elapsed)
    assert progress.deliveries == len(values)


def test_throttled_flush_and_cancel(qtbot: Any, qapp: QApplication) -> None:
    got: list[str] = []
    progress = throttled(got.append, interval_ms=10_000)
    progress("first")
    qtbot.waitUntil(lambda: got == ["first"], timeout=2000)  # leading edge: immediate
    progress("second")
    progress("third")
    qapp.processEvents()
    assert got == ["first"]  # inside the interval: held back
    progress.flush()
    assert got == ["first", "third"]  # latest wins
    progress("dropped")
    progress.cancel()
    qapp.processEvents()
    progress.flush()
    assert got == ["first", "third"]


def test_a_failing_gui_callback_does_not_break_the_runner(
    qtbot: Any, runner: TaskRunner, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(_v: Any) -> None:
        raise RuntimeError("widget gone")

    runner.run(API, lambda: 1, boom)
    later: list[int] = []
    runner.run(API, lambda: 2, later.append)
    qtbot.waitUntil(lambda: later == [2], timeout=3000)
    qtbot.waitUntil(lambda: "error in a GUI callback" in caplog.text, timeout=5_000)


def test_a_dropped_callback_is_never_freed_on_a_worker_thread(qtbot: Any) -> None:
    """A callback is often a bound method of a widget: if its last reference went away on a
    worker thread, the widget would be destroyed there (PySide frees the C++ object with the
    wrapper) and the GUI's event loop would crash later. A task still running when the runner
    shuts down drops its callbacks; they must be let go of on the GUI thread."""
    import gc
    import threading

    freed: list[bool] = []

    class Holder:
        def done(self, _result: object) -> None:
            pass

        def __del__(self) -> None:
            freed.append(threading.current_thread() is threading.main_thread())

    runner = TaskRunner({"api": 1})
    gate, started = threading.Event(), threading.Event()

    def work() -> None:
        started.set()
        gate.wait()

    holder = Holder()
    runner.run("api", work, holder.done)  # the future is not kept: only the runner has it
    del holder
    try:
        assert started.wait(10)
        runner.shutdown(timeout=0)  # the task is still running: its answer will be dropped
    finally:
        gate.set()
    for t in [t for t in threading.enumerate() if t.name.startswith("ms-api")]:
        t.join(10)  # the worker has finished with the task and let go of it
    assert freed in ([], [True])  # never freed on the worker
    del runner
    gc.collect()
    assert freed == [True]
