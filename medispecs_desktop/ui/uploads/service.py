"""The signed-in user's upload engine, seen from the GUI thread.

:class:`UploadService` owns the engine (built once per sign-in off the GUI thread, started
after sign-in, ``sign_out()`` on sign-out; the ``AppContext`` stops it on quit) and is the only
place that talks to it. Every engine call that touches disk or network (adding files, pause,
cancel…) runs on the task runner.

The engine's listeners run on engine threads. They only store the latest job rows and the
latest progress snapshot under a lock and poke a :func:`~medispecs_desktop.ui.tasks.throttled`
wrapper; the GUI thread applies whatever is pending at most every 100 ms (so progress reaches
the widgets at most ~10 times a second however fast the bytes move).

What the rest of the app hears is signals (``totals_changed``, ``local_items_changed``,
``library_changed``, ``network_doubted``…): :mod:`medispecs_desktop.ui.composition` connects
them to the status bar, the library and the online monitor.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from medispecs_desktop.core.formatting import plural
from medispecs_desktop.core.library import LocalQueueItem
from medispecs_desktop.core.uploads.jobs import TERMINAL_STATES, Job, JobState
from medispecs_desktop.core.uploads.presentation import (
    BUSY_STATES,
    FINISHED,
    batch_summary,
    batch_totals,
    error_text,
    is_duplicate,
)
from medispecs_desktop.core.uploads.progress import ProgressSnapshot
from medispecs_desktop.core.uploads.store_recovery import QueueLockedError
from medispecs_desktop.ui.notify import ERROR, INFO, WARNING, Notifier
from medispecs_desktop.ui.tasks import API, MEDIA, throttled
from medispecs_desktop.ui.uploads.model import UploadsModel

if TYPE_CHECKING:
    from medispecs_desktop.ui.app import AppContext

log = logging.getLogger(__name__)

UPDATE_INTERVAL_MS = 100  # at most ~10 GUI updates a second
LIBRARY_REFRESH_DELAY_MS = 400

SIGNED_OUT_HINT = "Sign in to see and continue your uploads."
OPENING_HINT = "Opening your upload queue…"
SIGN_IN_TO_UPLOAD = "Sign in to upload"

QUEUE_LOCK_WAIT = 5.0  # seconds the app waits for another program's lock on the queue
EngineFactory = Callable[[Any, str], Any]  # (ctx, user_id) -> UploadEngine (not started)


def default_engine_factory(ctx: Any, user_id: str, options: Any = None) -> Any:
    """The real engine over the app's queue database (runs on a worker thread)."""
    from medispecs_desktop.core.uploads.engine import UploadEngine
    from medispecs_desktop.core.uploads.store import QueueStore

    # another program holding the queue: say so after a short wait (the panel offers "Try
    # again"), not after sqlite's 30 s
    store = QueueStore(ctx.paths.queue_db, lock_wait=QUEUE_LOCK_WAIT)
    # with the user name, a `logout` in another program (which knows only the name) stops
    # this engine's uploads too (core/uploads/signout.py)
    username = getattr(getattr(ctx, "user", None), "username", None)
    return UploadEngine(store, ctx.api, user_id, settings=ctx.settings, options=options,
                        username=str(username) if username else None)


class UploadService(QObject):
    """The signed-in user's upload engine, seen from the GUI thread (see the module doc)."""

    engine_changed = Signal(object)  # UploadEngine | None
    added = Signal(object)  # engine.AddResult
    totals_changed = Signal(int, int, int, int)  # files done/total, bytes done/total
    message = Signal(str)
    library_changed = Signal()  # a job reached done: the library shows the new rows
    local_items_changed = Signal(object)  # list[LocalQueueItem]: jobs not in the cloud yet
    network_doubted = Signal()  # a job waits for the network: the online monitor checks
    jobs_applied = Signal()  # job rows changed (not just progress)
    # about the queue itself, shown until dismissed: (text, "" clears; can the user retry?)
    notice_changed = Signal(str, bool)

    def __init__(self, ctx: AppContext, *, notifier: Notifier | None = None,
                 engine_factory: EngineFactory | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.tasks = ctx.tasks
        self.notifier = notifier
        self._factory = engine_factory or default_engine_factory
        self.notice = ""
        self.notice_can_retry = False
        self.model = UploadsModel(self)
        self.engine: Any = None
        self._gen = 0
        self._lock = threading.Lock()
        self._pending: dict[int, Job] = {}
        self._snapshot: ProgressSnapshot | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._states: dict[int, JobState] = {}
        self._batch_done = 0
        self._batch_failed = 0
        # the jobs counted in the status-bar total: the current batch. Files added (or
        # retried) once everything in it has finished start the next batch
        self._batch: set[int] = set()
        self._deferred: list[str] = []  # added while the queue was still opening
        self.adds_running = 0
        self.applied = 0  # GUI updates applied (tests check the ~10/s bound)
        self.last_add: Any = None
        self.last_summary = ""  # what the last finished batch reported
        self._online = True
        self._network_lock = threading.Lock()
        self._kick = throttled(self._apply_pending, UPDATE_INTERVAL_MS, self)
        self._library_timer = QTimer(self)
        self._library_timer.setSingleShot(True)
        self._library_timer.setInterval(LIBRARY_REFRESH_DELAY_MS)
        self._library_timer.timeout.connect(self.library_changed)
        ctx.signed_in.connect(self._on_signed_in)
        ctx.signed_out.connect(self._on_signed_out)
        ctx.online_changed.connect(self.network_changed)
        ctx.settings_changed.connect(self._settings_changed)
        if getattr(ctx, "user", None) is not None:
            self._on_signed_in(ctx.user)

    # -- engine lifecycle ---------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.engine is not None

    @property
    def signed_in(self) -> bool:
        return getattr(self.ctx, "user", None) is not None

    def in_progress(self) -> int:
        """How many uploads are under way or waiting to run (they resume at the next start)."""
        if self.engine is None:
            return 0
        return sum(1 for j in self.model.jobs() if j.state in BUSY_STATES)

    def drop_refusal(self) -> str:
        """Why dropped files can't be queued now ("" when they can)."""
        return "" if self.signed_in else SIGN_IN_TO_UPLOAD

    def _on_signed_in(self, user: Any) -> None:
        user_id = str(getattr(user, "sub", "") or "")
        if not user_id or self.ctx.api is None or self.tasks.closed:
            return
        if self.engine is not None and self.engine.user_id == user_id:
            return
        gen = self._next_generation()  # first: the old engine's listeners are ignored now
        old = self._detach()  # another user's engine must never run with these tokens
        ctx, factory = self.ctx, self._factory

        def build() -> tuple[Any, list[Job], list[Callable[[], None]]]:
            if old is not None:
                _park(old)
            engine = factory(ctx, user_id)
            unsubscribe = self._subscribe(engine, gen)  # before start: no change is missed
            engine.start()
            return engine, engine.jobs(), unsubscribe

        self.tasks.run(API, build, lambda r: self._attached(gen, *r), self._attach_failed)

    def _next_generation(self) -> int:
        """A new engine generation: listeners of older engines are ignored from now on."""
        with self._lock:
            self._gen += 1
            return self._gen

    def _subscribe(self, engine: Any, gen: int) -> list[Callable[[], None]]:
        def on_job(job: Job) -> None:  # engine thread
            with self._lock:
                if gen != self._gen:
                    return
                self._pending[job.id] = job
            self._kick()

        def on_progress(snapshot: ProgressSnapshot) -> None:  # engine thread
            with self._lock:
                if gen != self._gen:
                    return
                self._snapshot = snapshot
            self._kick()

        return [engine.subscribe_jobs(on_job), engine.subscribe_progress(on_progress)]

    def _attached(self, gen: int, engine: Any, jobs: list[Job],
                  unsubscribe: list[Callable[[], None]]) -> None:
        if gen != self._gen:  # signed out (or in as someone else) meanwhile
            for fn in unsubscribe:
                fn()
            self.tasks.run(API, lambda: _park(engine))
            return
        self._unsubscribe = unsubscribe
        self.engine = engine
        self.ctx.engine = engine
        self._states = {j.id: j.state for j in jobs}
        self._batch = {j.id for j in jobs if j.state not in FINISHED}
        self.model.set_jobs(jobs)
        recovery = getattr(getattr(engine, "store", None), "recovery", None)
        if recovery is not None:  # a damaged queue was moved aside and its jobs re-queued
            self._set_notice(str(recovery))
            if self.notifier is not None:
                self.notifier.notify("Upload queue repaired", str(recovery), WARNING)
        else:
            self._set_notice("")
        self._apply_pending()
        self._push_totals()
        self.engine_changed.emit(engine)
        if self.ctx.online is False:
            self.network_changed(False)
        deferred, self._deferred = self._deferred, []
        if deferred:
            self.add_paths(deferred)

    def _set_notice(self, text: str, can_retry: bool = False) -> None:
        self.notice, self.notice_can_retry = text, can_retry
        self.notice_changed.emit(text, can_retry)

    def dismiss_notice(self) -> None:
        self._set_notice("")

    def retry_attach(self) -> None:
        """Open the queue again (after "locked by another program" or another failure)."""
        self._set_notice("")
        user = getattr(self.ctx, "user", None)
        if self.engine is None and user is not None:
            self._on_signed_in(user)

    def _attach_failed(self, exc: BaseException) -> None:
        log.error("upload queue unavailable: %s", exc)
        if isinstance(exc, QueueLockedError):
            text = f"Uploads cannot start: {exc}"
        else:
            text = f"Uploads cannot start: the upload queue could not be opened: {exc}"
        self._set_notice(text, can_retry=True)
        if self.notifier is not None:
            self.notifier.notify("Uploads cannot start", str(exc), ERROR)
        if self._deferred:
            self.message.emit(f"{len(self._deferred)} item(s) were not added: the upload queue "
                              f"could not be opened: {exc}")
            self._deferred = []
            return
        self.message.emit(f"The upload queue could not be opened: {exc}")

    def _settings_changed(self, settings: Any) -> None:
        # limits (files at once, parts in flight) apply from the scheduler's next turn; a new
        # connection signs out (and so parks this engine) right after
        if self.engine is not None:
            self.engine.settings = settings

    def _on_signed_out(self) -> None:
        self._next_generation()
        engine = self._detach()
        if engine is not None and not self.tasks.closed:
            self.tasks.run(API, lambda: _park(engine))

    def _detach(self) -> Any:
        engine = self.engine
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        with self._lock:
            self._pending.clear()
            self._snapshot = None
        self._kick.cancel()
        self.engine = None
        if getattr(self.ctx, "engine", None) is engine:
            self.ctx.engine = None
        self._states = {}
        self._batch = set()
        self._deferred = []
        self._batch_done = self._batch_failed = 0
        self.model.clear()
        self._push_totals()
        self._push_library_items()
        if engine is not None:
            self.engine_changed.emit(None)
        return engine

    # -- engine -> GUI (GUI thread, at most every UPDATE_INTERVAL_MS) --------------------
    def _apply_pending(self) -> None:
        if self.engine is None:
            return  # keep what is pending until the engine is attached
        with self._lock:
            jobs = list(self._pending.values())
            snapshot = self._snapshot
            self._pending = {}
            self._snapshot = None
        if not jobs and snapshot is None:
            return
        self.applied += 1
        if jobs:
            self._apply_jobs(jobs)
        if snapshot is not None:
            self.model.apply_progress(snapshot)
        self._push_totals()

    def flush(self) -> None:
        """Apply pending updates now (GUI thread)."""
        self._kick.flush()
        self._apply_pending()

    def _apply_jobs(self, jobs: list[Job]) -> None:
        failed: list[Job] = []
        finished = False
        doubted = False
        idle = all(self._states.get(i) in TERMINAL_STATES for i in self._batch)
        for job in jobs:
            before = self._states.get(job.id)
            self._states[job.id] = job.state
            # a file found already in the library may be done before this first sees it:
            # it belongs to the batch it was added with all the same
            instant = before is None and job.error_code == "duplicate"
            if job.id not in self._batch and (instant or job.state not in TERMINAL_STATES) and (
                    before is None or before in TERMINAL_STATES):
                # a new (or retried) file: once the last batch has finished, it starts the
                # next one, so "Uploaded 3 of 3" becomes this batch's numbers
                if idle:
                    self._batch = set()
                    idle = False
                self._batch.add(job.id)
            if job.state is JobState.FAILED and before is not JobState.FAILED:
                failed.append(job)
            if job.state is JobState.WAITING_NETWORK and before is not JobState.WAITING_NETWORK:
                doubted = True
            if job.state is JobState.DONE and before is not JobState.DONE:
                finished = True
                self._batch_done += 1
        self.model.upsert_many(jobs)
        self.jobs_applied.emit()
        if doubted:  # the engine lost the connection: the app's monitor checks now
            self.network_doubted.emit()
        if finished:
            self._library_timer.start()
        self._push_library_items()
        notifier = self.notifier
        if failed:
            self._batch_failed += len(failed)
            if notifier is not None:
                if len(failed) == 1:
                    job = failed[0]
                    notifier.notify("Upload failed", f"{job.name}: {error_text(job)}", ERROR)
                else:
                    notifier.notify("Uploads failed", f"{len(failed)} files could not be "
                                    "uploaded; see the Uploads panel.", ERROR)
        if (self._batch_done or self._batch_failed) and not any(
                j.state in BUSY_STATES for j in self.model.jobs()):
            self._batch_done = self._batch_failed = 0
            batch = self.batch_jobs()
            self.last_summary = batch_summary(batch)
            if notifier is not None:
                bad = any(j.state is JobState.FAILED for j in batch)
                notifier.notify("Uploads finished", self.last_summary, ERROR if bad else INFO)

    def batch_jobs(self) -> list[Job]:
        """The current batch (what the status-bar total counts), cancelled ones left out."""
        return [j for j in self.model.jobs()
                if j.id in self._batch and j.state is not JobState.CANCELLED]

    def totals(self) -> tuple[int, int, int, int]:
        """Files done/total and bytes done/total of the current batch, only what is really
        sent (cancelled ones and those found already in the library left out)."""
        return batch_totals(self.batch_jobs(), self.model.bytes_done)

    def _push_totals(self) -> None:
        self.totals_changed.emit(*self.totals())

    def _push_library_items(self) -> None:
        items = []
        for job in self.model.jobs():
            if job.state in FINISHED or is_duplicate(job):  # never a second library row
                continue
            media = job.media or {}
            duration = media.get("durationSec")
            items.append(LocalQueueItem(
                video_id=job.video_id, title=job.title, state=job.state.value,
                recorded_at=media.get("recordedAt"), file_size_bytes=job.size,
                device_id=media.get("deviceId"),
                duration_sec=float(duration) if isinstance(duration, (int, float)) else None,
                progress=self.model.fraction(job), error=error_text(job) or None))
        self.local_items_changed.emit(items)

    # -- GUI -> engine (work runs on the task runner) -----------------------------------
    def add_paths(self, paths: Sequence[str | Path], *, front: bool = False) -> bool:
        """Scan and queue files/folders off the GUI thread; ``added`` reports the result."""
        engine = self.engine
        names = [str(p) for p in paths]
        if not names or self.tasks.closed:
            return False
        if not self.signed_in:
            self.message.emit(f"{SIGN_IN_TO_UPLOAD}: the files were not added to the queue.")
            return False
        if engine is None:  # signed in, the queue is still opening: add them once it is
            self._deferred.extend(n for n in names if n not in self._deferred)
            self.message.emit(f"{OPENING_HINT} The files are added when it is ready.")
            return True
        self.adds_running += 1
        self.message.emit(f"Looking for videos in {plural(len(names), 'item')}…")
        self.tasks.run(MEDIA, lambda: engine.add_paths(names, front=front),
                       self._added, self._add_failed)
        return True

    def _added(self, result: Any) -> None:
        self.adds_running -= 1
        self.last_add = result
        added, already, skipped = len(result.added), len(result.already_queued), \
            len(result.skipped)
        parts = [f"{plural(added, 'video')} added to the upload queue"]
        if already:
            parts.append(f"{already} already queued")
        if skipped:
            parts.append(f"{skipped} skipped")
        self.message.emit("; ".join(parts) + ".")
        self.added.emit(result)

    def _add_failed(self, exc: BaseException) -> None:
        self.adds_running -= 1
        log.error("adding files failed: %s", exc)
        self.message.emit(f"Could not add the files: {exc}")

    def control(self, op: str, job_ids: Sequence[int]) -> None:
        """``op`` is one of pause/resume/cancel/retry/upload_next/remove, for each job."""
        engine = self.engine
        if engine is None or not job_ids or self.tasks.closed:
            return
        ids = list(job_ids)
        method = getattr(engine, op)

        def work() -> list[tuple[int, str]]:
            errors = []
            for job_id in ids:
                try:
                    method(job_id)
                except Exception as exc:  # noqa: BLE001 - reported per job
                    errors.append((job_id, str(exc)))
            return errors

        def done(errors: list[tuple[int, str]]) -> None:
            if op == "remove":
                failed = {e[0] for e in errors}
                gone = [i for i in ids if i not in failed]
                with self._lock:  # a change queued before the removal must not re-add it
                    for job_id in gone:
                        self._pending.pop(job_id, None)
                for job_id in gone:
                    self._states.pop(job_id, None)
                    self._batch.discard(job_id)
                self.model.remove_ids(gone)
                self._push_totals()
                self._push_library_items()
            if errors:
                self.message.emit(errors[0][1] if len(errors) == 1 else
                                  f"{len(errors)} uploads could not be changed: {errors[0][1]}")

        self.tasks.run(API, work, done, lambda exc: self.message.emit(str(exc)))

    def pause_all(self) -> None:
        self._engine_call("pause_all")

    def resume_all(self) -> None:
        self._engine_call("resume_all")

    def remove_finished(self) -> None:
        self.control("remove", [j.id for j in self.model.jobs() if j.state in FINISHED])

    def network_changed(self, online: bool) -> None:
        """The shell's online indicator changed. Calls run on a pool: each applies the
        latest value, one at a time, so a quick off/on never ends offline."""
        self._online = bool(online)
        engine = self.engine
        if engine is None or self.tasks.closed:
            return

        def apply() -> None:
            with self._network_lock:
                engine.network_changed(self._online)

        self.tasks.run(API, apply, None, lambda exc: self.message.emit(f"Uploads: {exc}"))

    def _engine_call(self, name: str, *args: Any) -> None:
        engine = self.engine
        if engine is None or self.tasks.closed:
            return
        fn = getattr(engine, name)
        self.tasks.run(API, lambda: fn(*args), None,
                       lambda exc: self.message.emit(f"Uploads: {exc}"))


def _park(engine: Any) -> None:
    """Sign-out: stop the engine, park the user's jobs for their next sign-in, close the db."""
    try:
        engine.sign_out()
    finally:
        store = getattr(engine, "store", None)
        if store is not None:
            store.close()
