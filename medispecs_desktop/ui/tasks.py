"""The one bridge between worker threads and the GUI thread.

Rules (as in Anki's ``aqt/taskman.py``):

* **Background work never touches widgets.** A function handed to :meth:`TaskRunner.run`
  runs on a worker thread; it may do disk and network I/O and call the Qt-free core, and it
  returns a value (or raises). Its ``on_done``/``on_error`` callbacks run later on the GUI
  thread, and only they may update widgets.
* **Widgets never create threads.** They ask the application's single :class:`TaskRunner`
  (``AppContext.tasks``) to run work on one of its executors.
* Core callbacks that fire on worker threads (upload progress, state changes) reach the GUI
  through :meth:`TaskRunner.call_soon` or a :func:`throttled` wrapper (at most one delivery
  per interval, the latest value wins), never by calling a widget directly.

Separate pools keep slow transfers from starving quick API calls (like Picard's separate
pools): ``api`` for short HTTP calls and sign-in, ``uploads`` for transfers, ``media`` for
probing/hashing/thumbnails (one worker: it reads the disk), ``playback`` for the player's
own decoding (backward play: one worker, so one decoder is only ever used by one thread).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

log = logging.getLogger(__name__)

API = "api"
UPLOADS = "uploads"
MEDIA = "media"
PLAYBACK = "playback"

DEFAULT_WORKERS: dict[str, int] = {API: 4, UPLOADS: 4, MEDIA: 1, PLAYBACK: 1}

DoneCallback = Callable[[Any], None]
ErrorCallback = Callable[[BaseException], None]


def _call_if_alive(method: weakref.WeakMethod[Any], future: cf.Future[Any]) -> None:
    """A future's done-callback that does not keep the runner alive (see TaskRunner)."""
    bound = method()
    if bound is not None:
        bound(future)


class TaskRunner(QObject):
    """Runs functions on named thread pools and delivers their outcome on the GUI thread.

    Create it on the GUI thread (it delivers to the thread it lives in). ``run`` may be
    called from any thread.
    """

    _deliver = Signal(object)  # a zero-argument callable to invoke on the GUI thread

    def __init__(
        self, workers: dict[str, int] | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        sizes = dict(DEFAULT_WORKERS)
        sizes.update(workers or {})
        self._executors: dict[str, cf.ThreadPoolExecutor] = {
            kind: cf.ThreadPoolExecutor(max_workers=max(1, n), thread_name_prefix=f"ms-{kind}")
            for kind, n in sizes.items()
        }
        self._lock = threading.Lock()
        self._futures: dict[cf.Future[Any], str] = {}
        # The callbacks are kept here, not in the future's done-callback closure: a future's
        # last reference may be dropped on a worker thread, and a callback is often a bound
        # method of a widget. Freeing a Qt object's last Python reference on a worker thread
        # destroys it there (a crash later, in the GUI's event loop). Callbacks are only ever
        # released on the GUI thread: delivered, or parked in ``_released`` when dropped.
        self._callbacks: dict[cf.Future[Any], tuple[Any, Any]] = {}
        self._released: list[tuple[Any, Any]] = []
        self._closed = False
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)

    # -- public API -------------------------------------------------------------------
    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self._executors)

    @property
    def closed(self) -> bool:
        return self._closed

    def run(
        self,
        kind: str,
        fn: Callable[[], Any],
        on_done: DoneCallback | None = None,
        on_error: ErrorCallback | None = None,
    ) -> cf.Future[Any]:
        """Run ``fn()`` on the ``kind`` pool; then ``on_done(result)`` or ``on_error(exc)``
        on the GUI thread. Without ``on_error`` a failure is logged. Returns the Future
        (``future.cancel()`` drops it if it has not started; its callbacks never run then).
        """
        executor = self._executors.get(kind)
        if executor is None:
            raise ValueError(f"unknown task kind {kind!r}; known: {', '.join(self._executors)}")
        with self._lock:
            if self._closed:
                raise RuntimeError("the task runner has been shut down")
            future: cf.Future[Any] = executor.submit(fn)
            self._futures[future] = kind
            self._callbacks[future] = (on_done, on_error)
        finished = weakref.WeakMethod(self._finished)
        future.add_done_callback(lambda f: _call_if_alive(finished, f))
        return future

    def call_soon(self, fn: Callable[[], Any]) -> None:
        """Call ``fn()`` on the GUI thread at the next turn of the event loop (from any
        thread). Dropped silently after :meth:`shutdown`."""
        if not self._closed:
            self._deliver.emit(fn)

    def pending(self, kind: str | None = None) -> int:
        """Number of submitted tasks not finished yet (all kinds, or one)."""
        with self._lock:
            futures = list(self._futures.items())
        return sum(1 for f, k in futures if not f.done() and (kind is None or k == kind))

    def shutdown(self, timeout: float = 2.0) -> bool:
        """Cancel tasks that have not started, wait up to ``timeout`` seconds for running
        ones, and stop delivering callbacks. Returns True when every task had finished.

        Running tasks cannot be interrupted (Python threads can't be killed); the core
        bounds every network call with a timeout, so they end soon after.
        """
        with self._lock:
            self._closed = True
            futures = list(self._futures)
        for executor in self._executors.values():
            executor.shutdown(wait=False, cancel_futures=True)
        running = [f for f in futures if not f.done()]
        if running:
            _done, not_done = cf.wait(running, timeout=max(0.0, timeout))
            if not_done:
                log.warning("%d background task(s) still running at shutdown", len(not_done))
                return False
        return True

    # -- internals --------------------------------------------------------------------
    def _finished(self, future: cf.Future[Any]) -> None:
        # runs on the worker thread (or the caller's thread if already done)
        with self._lock:
            self._futures.pop(future, None)
            callbacks = self._callbacks.pop(future, (None, None))
            if future.cancelled() or self._closed:
                self._released.append(callbacks)  # let go of on the GUI thread
                return
        on_done, on_error = callbacks
        del callbacks
        exc = future.exception()
        if exc is None:
            result = future.result()
            self._deliver.emit(lambda: on_done(result) if on_done is not None else None)
        elif on_error is not None:
            self._deliver.emit(lambda: on_error(exc))
        else:
            self._deliver.emit(lambda: None)  # on_done is let go of on the GUI thread
            log.error("background task failed", exc_info=(type(exc), exc, exc.__traceback__))

    @Slot(object)
    def _on_deliver(self, fn: Callable[[], Any]) -> None:
        with self._lock:
            released, self._released = self._released, []
        del released  # callbacks of cancelled tasks, freed here on the GUI thread
        if self._closed:
            return
        try:
            fn()
        except Exception:  # a failing GUI callback must not take the event loop down
            log.exception("error in a GUI callback")


class Throttled(QObject):
    """A callable that may be called from any thread, very often; it forwards the latest
    arguments to ``callback`` on the GUI thread at most once per ``interval_ms``.

    The first call after a quiet period is delivered at once (next event-loop turn); calls
    inside the interval are coalesced and the last one is delivered when it ends, so the
    final value is never lost. :meth:`flush` delivers a pending value immediately.
    """

    _kick = Signal()

    def __init__(
        self,
        callback: Callable[..., Any],
        interval_ms: int = 100,
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self._callback = callback
        self._interval = max(0, int(interval_ms)) / 1000.0
        self._clock = clock
        self._lock = threading.Lock()
        self._args: tuple[Any, ...] | None = None
        self._kwargs: dict[str, Any] = {}
        self._scheduled = False
        self._last_fire = float("-inf")
        self.deliveries = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)
        self._kick.connect(self._on_kick, Qt.ConnectionType.QueuedConnection)

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self._args = args
            self._kwargs = kwargs
            if self._scheduled:
                return
            self._scheduled = True
        self._kick.emit()

    @Slot()
    def _on_kick(self) -> None:
        wait = self._last_fire + self._interval - self._clock()
        if wait <= 0:
            self._fire()
        else:
            self._timer.start(max(1, int(wait * 1000)))

    @Slot()
    def _fire(self) -> None:
        with self._lock:
            args, kwargs = self._args, self._kwargs
            self._args, self._kwargs = None, {}
            self._scheduled = False
        if args is None:
            return
        self._last_fire = self._clock()
        self.deliveries += 1
        try:
            self._callback(*args, **kwargs)
        except Exception:
            log.exception("error in a throttled GUI callback")

    def flush(self) -> None:
        """Deliver a pending value now (call on the GUI thread)."""
        self._timer.stop()
        self._fire()

    def cancel(self) -> None:
        """Drop a pending value."""
        self._timer.stop()
        with self._lock:
            self._args, self._kwargs = None, {}
            self._scheduled = False


def throttled(
    callback: Callable[..., Any], interval_ms: int = 100, parent: QObject | None = None
) -> Throttled:
    """Wrap ``callback`` (a GUI-thread function, e.g. a progress-bar update) so that core
    code may call it from any thread at any rate; see :class:`Throttled`. Create it on the
    GUI thread; give it a ``parent`` (or keep a reference) so it lives as long as needed."""
    return Throttled(callback, interval_ms, parent)


class TasksLike(Protocol):
    """What views need of the :class:`TaskRunner` (tests pass a spy that fits)."""

    def run(
        self,
        kind: str,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = ...,
        on_error: Callable[[BaseException], None] | None = ...,
    ) -> Any: ...
