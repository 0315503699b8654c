"""The upload queue in the main window: a Qt adapter over the core upload engine.

* :class:`UploadService` owns the signed-in user's :class:`UploadEngine` (built once per
  sign-in off the GUI thread, started after sign-in, ``sign_out()`` on sign-out; the
  ``AppContext`` stops it on quit) and is the only place that talks to it. Every engine call
  that touches disk or network (adding files, pause, cancel…) runs on the task runner.
* The engine's listeners run on engine threads. They only store the latest job rows and the
  latest progress snapshot under a lock and poke a :func:`~medispecs_desktop.ui.tasks.throttled`
  wrapper; the GUI thread applies whatever is pending at most every 100 ms (so progress reaches
  the widgets at most ~10 times a second however fast the bytes move).
* :class:`UploadsModel` is a table model over the jobs (validated with ``qtmodeltester``);
  :class:`ProgressDelegate` paints its progress column; :class:`UploadsPanel` is the dock's
  widget with its tool bar and context menu.
* Totals for the whole queue go to the status bar (``MainWindow.set_upload_totals``), a desktop
  notification (:mod:`~medispecs_desktop.ui.notify`) says when a batch finished or a file
  failed, and the library shows queued recordings and refreshes when one is done.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QToolBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.formatting import format_size
from medispecs_desktop.core.logs import redact
from medispecs_desktop.core.uploads.jobs import (
    RUNNABLE_STATES,
    TERMINAL_STATES,
    Job,
    JobState,
)
from medispecs_desktop.core.uploads.progress import JobProgress, ProgressSnapshot
from medispecs_desktop.core.uploads.states import Command, commands
from medispecs_desktop.core.uploads.store_recovery import QueueLockedError
from medispecs_desktop.ui.dropzone import DropZone
from medispecs_desktop.ui.icons import icon
from medispecs_desktop.ui.notify import ERROR, INFO, WARNING, Notifier
from medispecs_desktop.ui.tasks import API, MEDIA, throttled

log = logging.getLogger(__name__)

COL_NAME, COL_SIZE, COL_PROGRESS, COL_SPEED, COL_FINISH, COL_STATE, COL_ERROR = range(7)
HEADERS = ("File", "Size", "Progress", "Speed", "Finishes", "State", "Error")

_ROOT = QModelIndex()
_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1  # float 0..1 (progress column)
JOB_ID_ROLE = Qt.ItemDataRole.UserRole + 2  # int
STATE_ROLE = Qt.ItemDataRole.UserRole + 3  # JobState

UPDATE_INTERVAL_MS = 100  # at most ~10 GUI updates a second
LIBRARY_REFRESH_DELAY_MS = 400

BUSY_STATES = frozenset(RUNNABLE_STATES | {JobState.WAITING_NETWORK, JobState.WAITING_SOURCE})
FINISHED = frozenset({JobState.DONE, JobState.CANCELLED})

EMPTY_HINT = ("Files you add are uploaded here, one after another. Drop files or folders on "
              "the window, or use File › Add files… to choose them.")
SIGNED_OUT_HINT = "Sign in to see and continue your uploads."
OPENING_HINT = "Opening your upload queue…"
SIGNED_OUT_TIP = "Sign in to see and control your uploads"
OPENING_TIP = "Your upload queue is opening…"
SIGN_IN_TO_UPLOAD = "Sign in to upload"


def quit_question(count: int, *, demo: bool = False) -> str:
    """What quitting asks while ``count`` uploads are in progress."""
    if demo:  # the in-memory demo cloud ends with the app: nothing continues later
        return (f"{count} upload{'s are' if count != 1 else ' is'} in progress. This is the "
                "demo: it keeps nothing, so unfinished uploads are lost when you quit. Quit now?")
    if count == 1:
        return ("1 upload is in progress. It will continue the next time you open MediSpecs. "
                "Quit now?")
    return (f"{count} uploads are in progress. They will continue the next time you open "
            "MediSpecs. Quit now?")


def _allowed(states: Iterable[JobState]) -> frozenset[Command]:
    """The commands at least one of ``states`` allows."""
    return frozenset().union(*(commands(s) for s in states))


# ----------------------------------------------------------------------------- formatting


format_bytes = format_size  # sizes read the same everywhere in the app


def format_speed(bps: float | None) -> str:
    if not bps or bps <= 0:
        return ""
    return f"{format_bytes(bps)}/s"


def format_finish(eta_seconds: float | None, now: datetime) -> str:
    """The local clock time at which something ``eta_seconds`` from ``now`` ends."""
    if eta_seconds is None or eta_seconds < 0:
        return ""
    try:
        end = now + timedelta(seconds=eta_seconds)
    except OverflowError:
        return ""
    if end.date() == now.date():
        return end.strftime("%H:%M:%S" if eta_seconds < 60 else "%H:%M")
    if end - now < timedelta(days=7):
        return end.strftime("%a %H:%M")
    return end.strftime("%Y-%m-%d %H:%M")


def state_text(job: Job) -> str:
    if job.state is JobState.DONE and job.error_code == "duplicate":
        return "Already in your library"
    return job.state.label


def error_text(job: Job) -> str:
    if job.state is JobState.DONE or not job.error:
        return ""
    return redact(job.error)


# ----------------------------------------------------------------------------- the model


class UploadsModel(QAbstractTableModel):
    """One row per job, in queue order (``position``, then id), plus the latest progress."""

    def __init__(self, parent: QObject | None = None, *,
                 now: Callable[[], datetime] = lambda: datetime.now().astimezone()) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []
        self._keys: list[tuple[float, int]] = []
        self._rows: dict[int, int] = {}
        self._progress: dict[int, JobProgress] = {}
        self.now = now

    # -- queries ----------------------------------------------------------------------
    def jobs(self) -> list[Job]:
        return list(self._jobs)

    def job(self, job_id: int) -> Job | None:
        row = self._rows.get(job_id)
        return None if row is None else self._jobs[row]

    def job_at(self, row: int) -> Job | None:
        return self._jobs[row] if 0 <= row < len(self._jobs) else None

    def row_of(self, job_id: int) -> int | None:
        return self._rows.get(job_id)

    def progress_of(self, job_id: int) -> JobProgress | None:
        return self._progress.get(job_id)

    def bytes_done(self, job: Job) -> int:
        if job.state is JobState.DONE:
            return job.size
        live = self._progress.get(job.id)
        done = live.bytes_done if live is not None else job.bytes_done
        return max(0, min(job.size, done))

    def fraction(self, job: Job) -> float:
        if job.size <= 0:
            return 1.0 if job.state is JobState.DONE else 0.0
        return self.bytes_done(job) / job.size

    # -- Qt model API -----------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._jobs)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(HEADERS)):
            return HEADERS[section]
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        return _ROW_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._jobs):
            return None
        job = self._jobs[index.row()]
        col = index.column()
        if role == JOB_ID_ROLE:
            return job.id
        if role == STATE_ROLE:
            return job.state
        if role == PROGRESS_ROLE:
            return self.fraction(job) if col == COL_PROGRESS else None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(job, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_NAME:
                return str(job.path)
            if col in (COL_ERROR, COL_STATE) and error_text(job):
                return error_text(job)
            if col == COL_PROGRESS:
                return f"{format_bytes(self.bytes_done(job))} of {format_bytes(job.size)}"
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_SIZE, COL_SPEED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.DecorationRole and col == COL_NAME:
            return _state_icon(job.state)
        return None

    def _shown(self, job_id: int) -> tuple[str, ...]:
        job = self._jobs[self._rows[job_id]]
        return tuple(self._display(job, col) for col in (COL_PROGRESS, COL_SPEED, COL_FINISH))

    def _display(self, job: Job, col: int) -> str:
        live = self._progress.get(job.id)
        running = job.state is JobState.UPLOADING and live is not None
        if col == COL_NAME:
            return job.name
        if col == COL_SIZE:
            return format_bytes(job.size)
        if col == COL_PROGRESS:
            return f"{self.fraction(job) * 100:.0f}%"
        if col == COL_SPEED:
            return format_speed(live.speed_bps) if running and live else ""
        if col == COL_FINISH:
            return format_finish(live.eta_seconds, self.now()) if running and live else ""
        if col == COL_STATE:
            return state_text(job)
        if col == COL_ERROR:
            return error_text(job)
        return ""  # pragma: no cover

    # -- changes (GUI thread) ---------------------------------------------------------
    def clear(self) -> None:
        self.beginResetModel()
        self._jobs, self._keys, self._rows, self._progress = [], [], {}, {}
        self.endResetModel()

    def set_jobs(self, jobs: Iterable[Job]) -> None:
        ordered = sorted(jobs, key=_key)
        self.beginResetModel()
        self._jobs = ordered
        self._keys = [_key(j) for j in ordered]
        self._reindex()
        self._progress = {k: v for k, v in self._progress.items() if k in self._rows}
        self.endResetModel()

    def upsert(self, job: Job) -> None:
        row = self._rows.get(job.id)
        if row is not None and self._keys[row] == _key(job):
            self._jobs[row] = job
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))
            return
        if row is not None:  # moved in the queue ("upload next")
            self._remove_row(row)
        at = bisect.bisect_left(self._keys, _key(job))
        self.beginInsertRows(QModelIndex(), at, at)
        self._jobs.insert(at, job)
        self._keys.insert(at, _key(job))
        self._reindex(at)
        self.endInsertRows()

    def upsert_many(self, jobs: Sequence[Job]) -> None:
        fresh = sorted((j for j in jobs if j.id not in self._rows), key=_key)
        bulk: set[int] = set()
        if fresh and (not self._keys or _key(fresh[0]) > self._keys[-1]):
            # the common case (files added at the end): one insertion for all of them
            first = len(self._jobs)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            self._jobs.extend(fresh)
            self._keys.extend(_key(j) for j in fresh)
            self._reindex(first)
            self.endInsertRows()
            bulk = {j.id for j in fresh}
        for job in jobs:
            if job.id not in bulk:
                self.upsert(job)

    def remove_ids(self, ids: Iterable[int]) -> None:
        for job_id in ids:
            row = self._rows.get(job_id)
            if row is not None:
                self._remove_row(row)
            self._progress.pop(job_id, None)

    def _remove_row(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._jobs[row]
        del self._keys[row]
        self._reindex(row)
        self.endRemoveRows()

    def _reindex(self, start: int = 0) -> None:
        if start == 0:
            self._rows = {}
        for i in range(start, len(self._jobs)):
            self._rows[self._jobs[i].id] = i
        for job_id in [k for k, r in self._rows.items() if r >= len(self._jobs)
                       or self._jobs[r].id != k]:
            del self._rows[job_id]

    def apply_progress(self, snapshot: ProgressSnapshot) -> None:
        """Take the latest progress; repaint only rows whose shown text (whole percent,
        speed, finish time) changed: bytes that move the bar by less than 1% repaint
        nothing."""
        old, new = self._progress, dict(snapshot.jobs)
        ids = [k for k in set(old) | set(new) if k in self._rows]
        before = {k: self._shown(k) for k in ids}
        self._progress = {k: v for k, v in new.items() if k in self._rows}
        changed = [self._rows[k] for k in ids if self._shown(k) != before[k]]
        if changed:
            self.dataChanged.emit(self.index(min(changed), COL_PROGRESS),
                                  self.index(max(changed), COL_FINISH))


def _key(job: Job) -> tuple[float, int]:
    return (job.position, job.id)


_STATE_ICONS = {
    JobState.DONE: "online",
    JobState.FAILED: "warning",
    JobState.UPLOADING: "upload",
    JobState.WAITING_NETWORK: "offline",
}


def _state_icon(state: JobState) -> Any:
    name = _STATE_ICONS.get(state)
    return icon(name) if name else None


# computed once: PySide6's flag operators are Python code, and paint runs for every cell
_SELECTED = QStyle.StateFlag.State_Selected
_BAR_STATE = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal


class ProgressDelegate(QStyledItemDelegate):
    """Paints the progress column as a progress bar (the model gives ``PROGRESS_ROLE``).

    It draws through a hidden ``QProgressBar`` so the app's style sheet for progress bars
    (colours, chunk) applies to the cells exactly as to the status-bar total."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._bar = QProgressBar(parent)
        self._bar.setObjectName("uploadRowBar")
        self._bar.hide()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        value = index.data(PROGRESS_ROLE)
        if value is None:
            super().paint(painter, option, index)
            return
        if option.state & _SELECTED:
            painter.fillRect(option.rect, option.palette.highlight())
        bar = QStyleOptionProgressBar()
        bar.initFrom(self._bar)
        bar.state = bar.state | _BAR_STATE
        height = min(option.rect.height() - 6, 16)
        bar.rect = option.rect.adjusted(4, 0, -4, 0)
        bar.rect.setTop(option.rect.top() + (option.rect.height() - height) // 2)
        bar.rect.setHeight(height)
        bar.minimum = 0
        bar.maximum = 1000
        bar.progress = max(0, min(1000, round(float(value) * 1000)))
        bar.text = f"{float(value) * 100:.0f}%"
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        self._bar.style().drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter,
                                      self._bar)


# ----------------------------------------------------------------------------- skipped


class SkippedDialog(QDialog):
    """Lists what a drop or "Add folder…" did not queue, with the reason (non-modal)."""

    def __init__(self, skipped: Sequence[tuple[Path, str]], *, added: int = 0,
                 already: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Files not added")
        self.setObjectName("skippedDialog")
        self.resize(640, 360)
        layout = QVBoxLayout(self)
        parts = [f"{added} video{'s' if added != 1 else ''} added to the upload queue"]
        if already:
            parts.append(f"{already} already in the queue")
        summary = QLabel("; ".join(parts) + f". {len(skipped)} item"
                         f"{'s were' if len(skipped) != 1 else ' was'} not added:")
        summary.setWordWrap(True)
        self.summary = summary
        layout.addWidget(summary)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["File", "Reason"])
        self.tree.setRootIsDecorated(False)
        for path, reason in skipped:
            item = QTreeWidgetItem([path.name or str(path), reason])
            item.setToolTip(0, str(path))
            self.tree.addTopLevelItem(item)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.tree, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def reasons(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None:
                out[item.toolTip(0)] = item.text(1)
        return out


# ----------------------------------------------------------------------------- service


QUEUE_LOCK_WAIT = 5.0  # seconds the app waits for another program's lock on the queue
EngineFactory = Callable[[Any, str], Any]  # (ctx, user_id) -> UploadEngine (not started)


def default_engine_factory(ctx: Any, user_id: str, options: Any = None) -> Any:
    """The real engine over the app's queue database (runs on a worker thread)."""
    from medispecs_desktop.core.uploads.engine import UploadEngine
    from medispecs_desktop.core.uploads.store import QueueStore

    # another program holding the queue: say so after a short wait (the panel offers "Try
    # again"), not after sqlite's 30 s
    store = QueueStore(ctx.paths.queue_db, lock_wait=QUEUE_LOCK_WAIT)
    return UploadEngine(store, ctx.api, user_id, settings=ctx.settings, options=options)


class UploadService(QObject):
    """The signed-in user's upload engine, seen from the GUI thread (see the module doc)."""

    engine_changed = Signal(object)  # UploadEngine | None
    added = Signal(object)  # engine.AddResult
    totals_changed = Signal(int, int, int, int)  # files done/total, bytes done/total
    message = Signal(str)
    library_changed = Signal()  # a job reached done: the library shows the new rows
    jobs_applied = Signal()  # job rows changed (not just progress)
    # about the queue itself, shown until dismissed: (text, "" clears; can the user retry?)
    notice_changed = Signal(str, bool)

    def __init__(self, ctx: Any, *, notifier: Notifier | None = None,
                 engine_factory: EngineFactory | None = None,
                 library: Any = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.tasks = ctx.tasks
        self.notifier = notifier
        self.library = library
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
        idle = all(self._states.get(i) in TERMINAL_STATES for i in self._batch)
        for job in jobs:
            before = self._states.get(job.id)
            self._states[job.id] = job.state
            if job.id not in self._batch and job.state not in TERMINAL_STATES and (
                    before is None or before in TERMINAL_STATES):
                # a new (or retried) file: once the last batch has finished, it starts the
                # next one, so "Uploaded 3 of 3" becomes this batch's numbers
                if idle:
                    self._batch = set()
                    idle = False
                self._batch.add(job.id)
            if job.state is JobState.FAILED and before is not JobState.FAILED:
                failed.append(job)
            if job.state is JobState.DONE and before is not JobState.DONE:
                finished = True
                if job.error_code != "duplicate":
                    self._batch_done += 1
        self.model.upsert_many(jobs)
        self.jobs_applied.emit()
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
            done, bad = self._batch_done, self._batch_failed
            self._batch_done = self._batch_failed = 0
            if notifier is not None:
                text = f"{done} recording{'s' if done != 1 else ''} uploaded"
                if bad:
                    text += f", {bad} failed"
                notifier.notify("Uploads finished", text + ".", ERROR if bad else INFO)

    def totals(self) -> tuple[int, int, int, int]:
        """Files done/total and bytes done/total of the current batch (cancelled ones left
        out)."""
        jobs = [j for j in self.model.jobs()
                if j.id in self._batch and j.state is not JobState.CANCELLED]
        files_done = sum(1 for j in jobs if j.state is JobState.DONE)
        bytes_total = sum(j.size for j in jobs)
        bytes_done = sum(self.model.bytes_done(j) for j in jobs)
        return files_done, len(jobs), bytes_done, bytes_total

    def _push_totals(self) -> None:
        self.totals_changed.emit(*self.totals())

    def _push_library_items(self) -> None:
        library = self.library
        if library is None or not hasattr(library, "set_local_items"):
            return
        from medispecs_desktop.ui.library import LocalQueueItem

        items = []
        for job in self.model.jobs():
            if job.state in FINISHED:
                continue
            media = job.media or {}
            duration = media.get("durationSec")
            items.append(LocalQueueItem(
                video_id=job.video_id, title=job.title, state=job.state.value,
                recorded_at=media.get("recordedAt"), file_size_bytes=job.size,
                device_id=media.get("deviceId"),
                duration_sec=float(duration) if isinstance(duration, (int, float)) else None,
                progress=self.model.fraction(job), error=error_text(job) or None))
        library.set_local_items(items)

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
        self.message.emit(f"Looking for videos in {len(names)} item"
                          f"{'s' if len(names) != 1 else ''}…")
        self.tasks.run(MEDIA, lambda: engine.add_paths(names, front=front),
                       self._added, self._add_failed)
        return True

    def _added(self, result: Any) -> None:
        self.adds_running -= 1
        self.last_add = result
        added, already, skipped = len(result.added), len(result.already_queued), \
            len(result.skipped)
        parts = [f"{added} video{'s' if added != 1 else ''} added to the upload queue"]
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


# ----------------------------------------------------------------------------- the panel


_OP_ICONS = {
    "pause": QStyle.StandardPixmap.SP_MediaPause,
    "resume": QStyle.StandardPixmap.SP_MediaPlay,
    "cancel": QStyle.StandardPixmap.SP_DialogCancelButton,
    "retry": QStyle.StandardPixmap.SP_BrowserReload,
    "upload_next": QStyle.StandardPixmap.SP_ArrowUp,
    "remove": QStyle.StandardPixmap.SP_TrashIcon,
}


class QueueTable(QTableView):
    """The jobs table. Its size hint is a few rows high (not Qt's 192 px default): the dock
    that holds it takes its hint when the first file is queued, and must not squeeze the
    library and the player to make room for rows that are not there."""

    HINT_ROWS = 3

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        rows = self.verticalHeader().defaultSectionSize() * self.HINT_ROWS
        frame = 2 * self.frameWidth()
        return QSize(hint.width(), self.horizontalHeader().sizeHint().height() + rows + frame)


class UploadsPanel(QWidget):
    """The Uploads dock: a tool bar, the jobs table and a per-row context menu."""

    def __init__(self, service: UploadService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("uploadsPanel")
        self.service = service
        self.confirm: Callable[[str], bool] = self._ask
        self.ask_quit: Callable[[str], bool] = self._ask_quit
        self.quit_box: QMessageBox | None = None  # while the quit question is shown
        self.sign_in_box: QMessageBox | None = None  # "Sign in to upload" after a drop
        self.sign_in_requested: Callable[[], None] | None = None
        self.skipped_dialog: SkippedDialog | None = None
        self.model = service.model

        self.toolbar = QToolBar("Uploads")
        self.toolbar.setObjectName("uploadsToolBar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.action_pause = self._action("Pause", "Pause the selected uploads", "pause")
        self.action_resume = self._action("Resume", "Resume the selected uploads", "resume")
        self.action_cancel = self._action("Cancel…", "Cancel the selected uploads", "cancel")
        self.action_retry = self._action("Retry", "Try the selected failed uploads again",
                                         "retry")
        self.action_next = self._action("Upload next", "Move the selected uploads to the "
                                         "front of the queue", "upload_next")
        self.action_remove = self._action("Remove", "Remove the selected finished uploads "
                                          "from the list", "remove")
        self.action_pause_all = QAction("Pause all", self)
        self.action_pause_all.setToolTip("Pause every upload")
        self.action_pause_all.triggered.connect(service.pause_all)
        self.action_resume_all = QAction("Resume all", self)
        self.action_resume_all.setToolTip("Resume every paused or waiting upload")
        self.action_resume_all.triggered.connect(service.resume_all)
        self.action_remove_finished = QAction("Remove finished", self)
        self.action_remove_finished.setToolTip("Remove uploaded and cancelled files from the "
                                               "list (the recordings stay in the cloud)")
        self.action_remove_finished.triggered.connect(service.remove_finished)
        for action in (self.action_pause, self.action_resume, self.action_cancel,
                       self.action_retry, self.action_next):
            self.toolbar.addAction(action)
        # keys work while the queue has the focus (they don't clash with the player's)
        for action, key in ((self.action_remove, QKeySequence.StandardKey.Delete),
                            (self.action_retry, QKeySequence("Ctrl+R")),
                            (self.action_next, QKeySequence("Ctrl+Up")),
                            (self.action_pause, QKeySequence("Ctrl+P")),
                            (self.action_resume, QKeySequence("Ctrl+Shift+P"))):
            action.setShortcut(key)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.action_pause_all, self.action_resume_all,
                                 self.action_remove_finished])

        self.table = QueueTable()
        self.table.setObjectName("uploadsTable")
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(COL_PROGRESS, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_ERROR, QHeaderView.ResizeMode.Interactive)
        for col, width in ((COL_SIZE, 80), (COL_PROGRESS, 140), (COL_SPEED, 90),
                           (COL_FINISH, 80), (COL_STATE, 150), (COL_ERROR, 220)):
            self.table.setColumnWidth(col, width)
        self.empty = QLabel(EMPTY_HINT)
        self.empty.setObjectName("placeholder")
        self.empty.setWordWrap(True)
        # about the queue itself (repaired after damage, locked by another program)
        self.notice = QLabel()
        self.notice.setObjectName("queueNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice_button = QPushButton()
        self.notice_button.clicked.connect(self._notice_clicked)
        notice_row = QHBoxLayout()
        notice_row.addWidget(self.notice, 1)
        notice_row.addWidget(self.notice_button, 0, Qt.AlignmentFlag.AlignTop)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 4)
        top = QHBoxLayout()
        top.addWidget(self.toolbar, 1)
        layout.addLayout(top)
        layout.addLayout(notice_row)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)

        self.table.selectionModel().selectionChanged.connect(self.update_actions)
        # not on dataChanged: progress changes it ten times a second, states come with jobs
        for signal in (self.model.modelReset, self.model.rowsInserted, self.model.rowsRemoved,
                       service.jobs_applied):
            signal.connect(self.update_actions)
        service.engine_changed.connect(lambda _e: self.update_actions())
        service.ctx.signed_in.connect(lambda _u: self.update_actions())
        service.ctx.signed_out.connect(self.update_actions)
        service.added.connect(self._show_added)
        service.notice_changed.connect(self._show_notice)
        self._show_notice(service.notice, service.notice_can_retry)
        self._tips = {a: a.toolTip() for a in self.queue_actions()}
        self.update_actions()

    def _show_notice(self, text: str, can_retry: bool) -> None:
        self.notice.setText(text)
        self.notice_button.setText("Try again" if can_retry else "Dismiss")
        self.notice.setVisible(bool(text))
        self.notice_button.setVisible(bool(text))

    def _notice_clicked(self) -> None:
        if self.service.notice_can_retry:
            self.service.retry_attach()
        else:
            self.service.dismiss_notice()

    def _action(self, text: str, tip: str, op: str) -> QAction:
        action = QAction(text, self)
        pixmap = _OP_ICONS.get(op)
        if pixmap is not None:
            action.setIcon(self.style().standardIcon(pixmap))
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda: self.trigger(op))
        return action

    def queue_actions(self) -> list[QAction]:
        """Every control of the queue (tool bar, context menu, keys)."""
        return [self.action_pause, self.action_resume, self.action_cancel, self.action_retry,
                self.action_next, self.action_remove, self.action_pause_all,
                self.action_resume_all, self.action_remove_finished]

    # -- selection & actions ----------------------------------------------------------
    def selected_jobs(self) -> list[Job]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [j for j in (self.model.job_at(r) for r in rows) if j is not None]

    def select_jobs(self, job_ids: Iterable[int]) -> None:
        selection = self.table.selectionModel()
        selection.clearSelection()
        for job_id in job_ids:
            row = self.model.row_of(job_id)
            if row is not None:
                selection.select(self.model.index(row, 0),
                                 selection.SelectionFlag.Select
                                 | selection.SelectionFlag.Rows)

    def update_actions(self, *_: Any) -> None:
        # which commands the rows allow comes from the engine's transition table
        selected = _allowed({j.state for j in self.selected_jobs()})
        ready = self.service.ready
        self.action_pause.setEnabled(ready and Command.PAUSE in selected)
        self.action_resume.setEnabled(ready and Command.RESUME in selected)
        self.action_cancel.setEnabled(ready and Command.CANCEL in selected)
        self.action_retry.setEnabled(ready and Command.RETRY in selected)
        self.action_next.setEnabled(ready and Command.UPLOAD_NEXT in selected)
        self.action_remove.setEnabled(ready and Command.REMOVE in selected)
        all_states = {j.state for j in self.model.jobs()}
        every = _allowed(all_states)
        self.action_pause_all.setEnabled(ready and Command.PAUSE in every)
        self.action_resume_all.setEnabled(ready and Command.RESUME in every)
        self.action_remove_finished.setEnabled(ready and bool(all_states & FINISHED))
        # without a queue, every control says why it is off
        signed_in = self.service.signed_in
        why = "" if ready else (OPENING_TIP if signed_in else SIGNED_OUT_TIP)
        for action, tip in self._tips.items():
            text = tip if not why else why
            if action.toolTip() != text:
                action.setToolTip(text)
                action.setStatusTip(text)
        hint = EMPTY_HINT if ready else (OPENING_HINT if signed_in else SIGNED_OUT_HINT)
        if self.empty.text() != hint:
            self.empty.setText(hint)
        has_rows = ready and self.model.rowCount() > 0
        self.empty.setVisible(not has_rows)
        self.table.setVisible(has_rows)

    def trigger(self, op: str) -> None:
        jobs = self.selected_jobs()
        command = Command(op)
        ids = [j.id for j in jobs if command in commands(j.state)]
        if not ids:
            return
        if op == "cancel":
            names = ", ".join(j.name for j in jobs if j.id in ids[:3])
            more = f" and {len(ids) - 3} more" if len(ids) > 3 else ""
            if not self.confirm(f"Cancel the upload of {names}{more}? The bytes already sent "
                                "are discarded; you can retry later from the start."):
                return
        self.service.control(op, ids)

    def _ask(self, text: str) -> bool:
        answer = QMessageBox.question(
            self, "Cancel upload", text,
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # -- quitting ---------------------------------------------------------------------
    def confirm_quit(self) -> bool:
        """The main window's close guard: while uploads are in progress, ask before quitting
        (they continue at the next start). True = quit."""
        service = self.service
        if service.tasks.closed:  # already shutting down
            return True
        count = service.in_progress()
        demo = bool(getattr(getattr(service.ctx, "settings", None), "demo", False))
        return count == 0 or self.ask_quit(quit_question(count, demo=demo))

    def _ask_quit(self, text: str) -> bool:
        box = QMessageBox(QMessageBox.Icon.Question, "Quit MediSpecs", text,
                          QMessageBox.StandardButton.NoButton, self.window())
        box.setObjectName("quitQuestion")
        quit_button = box.addButton("Quit", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Keep uploading", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        self.quit_box = box
        try:
            box.exec()
            return box.clickedButton() is quit_button
        finally:
            self.quit_box = None
            box.deleteLater()

    # -- drops while signed out --------------------------------------------------------
    def drop_refused(self, paths: list[str], reason: str) -> None:
        """Files were dropped that can't be queued now (nobody is signed in): say so, with
        a way to sign in; nothing is queued."""
        count = len(paths)
        what = f"the {count} dropped items were" if count != 1 else "the dropped item was"
        text = f"{reason}: {what} not added to the upload queue."
        log.info("drop refused (%s): %d item(s)", reason, count)
        window = self.window()
        show = getattr(window, "show_message", None)
        if callable(show):
            show(text, 10_000)
        if self.sign_in_box is not None:
            self.sign_in_box.close()
        box = QMessageBox(QMessageBox.Icon.Information, reason,
                          f"{text}\n\nSign in, then drop them again.",
                          QMessageBox.StandardButton.NoButton, window)
        box.setObjectName("signInToUpload")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        sign_in = box.addButton("Sign in…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.setDefaultButton(sign_in)
        request = self.sign_in_requested
        sign_in.clicked.connect(lambda: request() if request is not None else None)
        box.destroyed.connect(lambda *_: self._forget_sign_in_box(box))
        self.sign_in_box = box
        box.open()

    def _forget_sign_in_box(self, box: QMessageBox) -> None:
        if self.sign_in_box is box:
            self.sign_in_box = None

    def context_menu(self) -> QMenu:
        menu = QMenu(self)
        for action in (self.action_pause, self.action_resume, self.action_next,
                       self.action_retry, self.action_cancel, self.action_remove):
            menu.addAction(action)
        menu.addSeparator()
        menu.addActions([self.action_pause_all, self.action_resume_all])
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if index.isValid() and not self.table.selectionModel().isRowSelected(
                index.row(), QModelIndex()):
            job = self.model.job_at(index.row())
            if job is not None:
                self.select_jobs([job.id])
        self.update_actions()
        menu = self.context_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _show_added(self, result: Any) -> None:
        if not result.skipped:
            return
        if self.skipped_dialog is not None:
            self.skipped_dialog.close()
        dialog = SkippedDialog(result.skipped, added=len(result.added),
                               already=len(result.already_queued), parent=self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: self._forget_dialog(dialog))
        self.skipped_dialog = dialog
        dialog.show()

    def _forget_dialog(self, dialog: SkippedDialog) -> None:
        if self.skipped_dialog is dialog:
            self.skipped_dialog = None


# ----------------------------------------------------------------------------- install


def install_uploads(window: Any, ctx: Any, *, engine_factory: EngineFactory | None = None,
                    notifier: Notifier | None = None) -> UploadsPanel:
    """Put the upload queue into the main window (called by ``ui.app.install_views``):
    the dock's panel, drops on the window, File › Add files…/Add folder…, the status-bar
    totals, notifications, and the library's queued rows/refresh."""
    if notifier is None:
        def bring_to_front() -> None:
            window.showNormal()
            window.raise_()
            window.activateWindow()
            window.uploads_dock.show()

        notifier = Notifier(window.show_message, icon=window.windowIcon(),
                            on_activate=bring_to_front, parent=window)
    library = getattr(window, "library_view", None)
    service = UploadService(ctx, notifier=notifier, engine_factory=engine_factory,
                            library=library if hasattr(library, "set_local_items") else None,
                            parent=window)
    panel = UploadsPanel(service)
    window.set_uploads_view(panel)
    window.files_chosen.connect(service.add_paths)
    window.folder_chosen.connect(lambda folder: service.add_paths([folder]))
    drops = DropZone(window, hint=lambda text: window.show_message(text, 3000) if text
                     else window.statusBar().clearMessage(), refusal=service.drop_refusal)
    drops.paths_dropped.connect(service.add_paths)
    drops.refused.connect(panel.drop_refused)
    panel.sign_in_requested = window.sign_in_requested.emit
    if hasattr(window, "add_close_guard"):  # quitting while uploads run asks first
        window.add_close_guard(panel.confirm_quit)
    service.totals_changed.connect(window.set_upload_totals)
    service.message.connect(window.show_message)
    if library is not None and hasattr(library, "insert_new"):  # no reset: scroll stays
        service.library_changed.connect(library.insert_new)
    elif library is not None and hasattr(library, "refresh"):
        service.library_changed.connect(library.refresh)

    def show_dock(result: Any) -> None:
        if result.added:
            window.uploads_dock.show()
            window.uploads_dock.raise_()

    service.added.connect(show_dock)
    panel.dropzone = drops  # type: ignore[attr-defined]
    window.uploads_panel = panel
    return panel


__all__ = [
    "COL_ERROR",
    "COL_FINISH",
    "COL_NAME",
    "COL_PROGRESS",
    "COL_SIZE",
    "COL_SPEED",
    "COL_STATE",
    "HEADERS",
    "JOB_ID_ROLE",
    "PROGRESS_ROLE",
    "ProgressDelegate",
    "SkippedDialog",
    "UploadService",
    "UploadsModel",
    "UploadsPanel",
    "default_engine_factory",
    "format_finish",
    "format_speed",
    "install_uploads",
    "quit_question",
]
