"""The upload queue as a Qt table model (validated with ``qtmodeltester``): one row per job,
jobs still to do above finished ones, plus the latest progress snapshot; and the delegate that
paints the progress column."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QProgressBar,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QWidget,
)

from medispecs_desktop.core.formatting import format_finish, format_size, format_speed
from medispecs_desktop.core.uploads.jobs import Job, JobState
from medispecs_desktop.core.uploads.presentation import error_text, list_order, state_text
from medispecs_desktop.core.uploads.progress import JobProgress, ProgressSnapshot
from medispecs_desktop.ui.icons import icon

COL_NAME, COL_SIZE, COL_PROGRESS, COL_SPEED, COL_FINISH, COL_STATE, COL_ERROR = range(7)
HEADERS = ("File", "Size", "Progress", "Speed", "Finishes", "State", "Error")

_ROOT = QModelIndex()
_ROW_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1  # float 0..1 (progress column)
JOB_ID_ROLE = Qt.ItemDataRole.UserRole + 2  # int
STATE_ROLE = Qt.ItemDataRole.UserRole + 3  # JobState

format_bytes = format_size  # sizes read the same everywhere in the app


class UploadsModel(QAbstractTableModel):
    """One row per job, in queue order (``position``, then id), plus the latest progress."""

    def __init__(self, parent: QObject | None = None, *,
                 now: Callable[[], datetime] = lambda: datetime.now().astimezone()) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []
        self._keys: list[tuple[int, float, int]] = []
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
        """What is sent for good: while a worker runs the job, the live count (parts in
        flight included); otherwise the parts S3 confirmed (the job row's count). A pause or
        a dropped connection shows the parts done, never an unexplained 0 %; a cancelled
        job shows nothing (its bytes are discarded)."""
        if job.state is JobState.DONE:
            return job.size
        if job.state is JobState.CANCELLED:
            return 0
        done = job.bytes_done
        live = self._progress.get(job.id)
        if live is not None and job.state.is_active:
            done = max(done, live.bytes_done)
        return max(0, min(job.size, done))

    def parts_text(self, job: Job) -> str:
        """"3 of 8 parts" for a job that stopped part-way (paused, waiting, failed)."""
        if job.state.is_active or job.state in (JobState.DONE, JobState.CANCELLED):
            return ""
        if not job.part_size or job.part_count <= 1:
            return ""
        done = min(job.part_count, job.bytes_done // job.part_size)
        return f"{done} of {job.part_count} parts"

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
            if col != COL_PROGRESS or job.state is JobState.CANCELLED:
                return None  # a cancelled upload has no bar
            return self.fraction(job)
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
            if job.state is JobState.CANCELLED:
                return ""
            parts = self.parts_text(job)
            percent = f"{self.fraction(job) * 100:.0f}%"
            return f"{percent} · {parts}" if parts else percent
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
        if row is not None:  # moved ("upload next", or finished: below the active ones)
            self._move_row(row, job)
            return
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

    def _move_row(self, row: int, job: Job) -> None:
        """A real move (not remove + insert): the selection and the current row go along."""
        key = _key(job)
        at = bisect.bisect_left(self._keys[:row] + self._keys[row + 1:], key)
        if at != row:
            self.beginMoveRows(_ROOT, row, row, _ROOT, at if at < row else at + 1)
        del self._jobs[row]
        del self._keys[row]
        self._jobs.insert(at, job)
        self._keys.insert(at, key)
        self._reindex(min(row, at))
        if at != row:
            self.endMoveRows()
        self.dataChanged.emit(self.index(at, 0), self.index(at, len(HEADERS) - 1))

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


def _key(job: Job) -> tuple[int, float, int]:
    return list_order(job)


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
        bar.text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        self._bar.style().drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter,
                                      self._bar)
