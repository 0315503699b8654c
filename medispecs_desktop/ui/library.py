"""The library: every recording of the signed-in user, as a table or a thumbnail grid.

* :class:`VideoTableModel` is a Qt adapter over a plain Python list of :class:`Video` (as
  napari does): pages come from the API (``canFetchMore``/``fetchMore`` with the cursor, newest
  first) on the task runner, rows are appended on the GUI thread. Recordings still in the local
  upload queue can be shown on top with their queue state (:meth:`set_local_items`).
* :class:`LibraryProxyModel` does the client-side title search and the sort.
* Thumbnails load lazily (only rows that are painted ask for one), in the background, through
  a disk cache (:class:`ThumbnailCache`); at most a few downloads run at once.
* :class:`LibraryWidget` puts the views, the filter bar and the :class:`VideoDetailsPane`
  together, and handles offline: the last listing comes from :class:`LibraryCache` at once,
  marked stale; network-only actions are disabled with a reason; it probes the API and
  refreshes by itself when the network is back.

Widgets never create threads: all I/O goes through the app's :class:`TaskRunner`.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPixmap, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateEdit,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.api import MAX_LIMIT
from medispecs_desktop.core.errors import (
    ConflictError,
    MediSpecsError,
    NotFoundError,
    NotSignedInError,
    OfflineError,
)
from medispecs_desktop.core.formatting import format_duration, format_local_time, format_size
from medispecs_desktop.core.library_cache import CachedListing, LibraryCache
from medispecs_desktop.core.models import INTEGRITY_VERIFIED, Video, format_utc
from medispecs_desktop.core.thumbnail_cache import ThumbnailCache
from medispecs_desktop.ui.access_history import AccessHistoryPanel
from medispecs_desktop.ui.dropzone import refuse_file_drops

log = logging.getLogger(__name__)

PAGE_SIZE = MAX_LIMIT  # rows fetched per request: the API's largest page (fewer round trips)

API_KIND = "api"

# columns
COL_THUMB, COL_TITLE, COL_RECORDED, COL_DURATION, COL_SIZE, COL_DEVICE, COL_STATUS = range(7)
HEADERS = ("", "Title", "Recorded", "Duration", "Size", "Device", "Status")

# roles
VIDEO_ROLE = Qt.ItemDataRole.UserRole + 1  # the Video (or None for a local queue item)
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # raw value for sorting
VIDEO_ID_ROLE = Qt.ItemDataRole.UserRole + 3
LOCAL_ITEM_ROLE = Qt.ItemDataRole.UserRole + 4

THUMB_SIZE = QSize(96, 54)
TABLE_THUMB_SIZE = QSize(64, 36)  # in the table: more rows on a laptop screen
GRID_THUMB_SIZE = QSize(160, 90)
# The table hides these (in this order) when the list is too narrow for them and a readable
# title; the details pane shows every field of the selected recording anyway.
OPTIONAL_COLUMNS = (COL_DEVICE, COL_SIZE, COL_THUMB)
TITLE_MIN_WIDTH = 180  # the title keeps this much before an optional column shows
# the widest text each fixed column shows (the header text counts too)
COLUMN_SAMPLES = {
    COL_RECORDED: ("2026-12-28 23:58",),
    COL_DURATION: ("0:00:00",),
    COL_SIZE: ("999.9 MB",),
    COL_DEVICE: ("glasses-00000",),
}

STATUS_TEXT = {
    "pending": "Upload pending",
    "uploaded": "Uploaded",
    "processing": "Processing",
    "ready": "Ready",
    "error": "Error",
}
STATUS_COLOR = {
    "pending": "#8a6d00",
    "uploaded": "#1f5fa8",
    "processing": "#1f5fa8",
    "ready": "#1b7a2f",
    "error": "#b00020",
}


# -- interfaces the library needs (core.api.ApiClient and ui.tasks.TaskRunner fit) -----------


class PageLike(Protocol):
    items: list[Video]
    next_cursor: str | None


class TasksLike(Protocol):
    def run(
        self,
        kind: str,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = ...,
        on_error: Callable[[BaseException], None] | None = ...,
    ) -> Any: ...


class LibraryApi(Protocol):
    def list_videos(
        self,
        *,
        date_from: str | None = ...,
        date_to: str | None = ...,
        limit: int = ...,
        cursor: str | None = ...,
    ) -> Any: ...

    def get_video(self, video_id: str) -> Video: ...

    def update_video(
        self,
        video_id: str,
        *,
        version: int,
        title: str | None = ...,
        notes: str | None = ...,
    ) -> Video: ...

    def delete_video(self, video_id: str) -> None: ...

    def ping(self) -> bool: ...


@dataclass(frozen=True)
class LibraryQuery:
    """Server-side filter: UTC bounds (``YYYY-MM-DDTHH:MM:SSZ``) or None, and the page size."""

    date_from: str | None = None
    date_to: str | None = None
    limit: int = PAGE_SIZE


FetchPage = Callable[[LibraryQuery, "str | None"], PageLike]


@dataclass(frozen=True)
class LocalQueueItem:
    """A recording still in the local upload queue (the upload engine supplies these)."""

    video_id: str
    title: str
    state: str  # e.g. "queued", "uploading", "paused", "failed"
    recorded_at: str | None = None
    file_size_bytes: int | None = None
    device_id: str | None = None
    duration_sec: float | None = None
    progress: float | None = None  # 0..1
    error: str | None = None

    def status_text(self) -> str:
        text = f"On this computer: {self.state.replace('-', ' ')}"
        if self.progress is not None and self.state == "uploading":
            text += f" {round(self.progress * 100)}%"
        if self.error:
            text += f" ({self.error})"
        return text


# -- formatting helpers (pure) -------------------------------------------------------------


def local_date_range_to_utc(
    start: date | None, end: date | None, *, tz: Any = None
) -> tuple[str | None, str | None]:
    """The user's local calendar days ``start``..``end`` (inclusive) as API UTC bounds."""

    def to_utc(day: date, *, end_of_day: bool) -> str:
        moment = datetime(day.year, day.month, day.day)
        if end_of_day:
            moment += timedelta(days=1) - timedelta(seconds=1)
        aware = moment.replace(tzinfo=tz) if tz is not None else moment.astimezone()
        return format_utc(aware.astimezone(UTC))

    return (
        to_utc(start, end_of_day=False) if start else None,
        to_utc(end, end_of_day=True) if end else None,
    )


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, OfflineError):
        return "No network connection: the server cannot be reached."
    if isinstance(exc, NotSignedInError):
        return "Your session has ended: please sign in again."
    if isinstance(exc, MediSpecsError):
        return str(exc)
    return f"Unexpected error: {exc}"


# -- the model -----------------------------------------------------------------------------


class VideoTableModel(QAbstractTableModel):
    """Rows = local queue items (not yet known to the server) then the server's recordings."""

    loadingChanged = Signal(bool)
    pageLoaded = Signal(int)  # rows added (0 for an empty page)
    loadFailed = Signal(object)  # the exception
    listingReplaced = Signal()  # a fresh first page (or the cache) replaced the rows
    pageAppended = Signal(object)  # list[Video]: the rows a further page added

    def __init__(
        self,
        fetch_page: FetchPage,
        tasks: TasksLike,
        *,
        query: LibraryQuery | None = None,
        thumbnail_loader: Callable[[Video], bytes | None] | None = None,
        max_thumbnails_in_memory: int = 250,  # 192x108 pixmaps: ~20 MB
        max_thumbnail_jobs: int = 3,
        kind: str = API_KIND,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._fetch_page = fetch_page
        self._tasks = tasks
        self._kind = kind
        self._query = query or LibraryQuery()
        self._videos: list[Video] = []
        self._rows: dict[str, int] = {}  # video_id -> index in _videos
        self._local: list[LocalQueueItem] = []
        self._all_local: list[LocalQueueItem] = []
        self._next_cursor: str | None = None
        self._has_more = False
        self._loading = False
        self._generation = 0
        self._closed = False
        self.stale = False
        self.last_error: BaseException | None = None
        # thumbnails
        self._thumbnail_loader = thumbnail_loader
        self._thumbs: OrderedDict[str, QPixmap] = OrderedDict()
        self._thumbs_max = max_thumbnails_in_memory
        self._thumb_wanted: deque[Video] = deque()
        self._thumb_pending: set[str] = set()
        self._thumb_failed: set[str] = set()
        self._thumb_jobs = 0
        self._thumb_jobs_max = max_thumbnail_jobs
        self._placeholder = _placeholder(THUMB_SIZE)

    # -- Qt model API ----------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._local) + len(self._videos)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(HEADERS):
            if role == Qt.ItemDataRole.DisplayRole:
                return HEADERS[section]
            if role == Qt.ItemDataRole.ToolTipRole and section == COL_RECORDED:
                return "Recording time in this computer's time zone"
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if not index.isValid() or index.model() is not self:
            return None
        row, col = index.row(), index.column()
        if not (0 <= row < self.rowCount() and 0 <= col < len(HEADERS)):
            return None
        local_count = len(self._local)
        if row < local_count:
            return self._local_data(self._local[row], col, role)
        return self._video_data(self._videos[row - local_count], col, role)

    def _video_data(self, video: Video, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_TITLE:
                return video.title or "(untitled)"
            if col == COL_RECORDED:
                return format_local_time(video.recorded_at)
            if col == COL_DURATION:
                return format_duration(video.duration_sec)
            if col == COL_SIZE:
                return format_size(video.file_size_bytes)
            if col == COL_DEVICE:
                return video.device_id or ""
            if col == COL_STATUS:
                return STATUS_TEXT.get(video.status, video.status)
            return None
        if role == Qt.ItemDataRole.DecorationRole and col == COL_THUMB:
            return self._thumbnail(video)
        if role == SORT_ROLE:
            return _sort_key(
                col,
                video.title,
                video.recorded_at,
                video.duration_sec,
                video.file_size_bytes,
                video.device_id,
                video.status,
            )
        if role == VIDEO_ROLE:
            return video
        if role == VIDEO_ID_ROLE:
            return video.video_id
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_STATUS:
            return QColor(STATUS_COLOR.get(video.status, "#444444"))
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STATUS and video.status == "error":
                return "The cloud could not process this recording."
            if col == COL_RECORDED:
                return f"{video.recorded_at} (UTC)"
            if col == COL_TITLE:
                return video.title
            if col == COL_DEVICE:
                return video.device_id or None  # elided in a narrow column
        if role == Qt.ItemDataRole.AccessibleTextRole and col == COL_THUMB:
            return f"Thumbnail of {video.title}"
        return None

    def _local_data(self, item: LocalQueueItem, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_TITLE:
                return item.title
            if col == COL_RECORDED:
                return format_local_time(item.recorded_at)
            if col == COL_DURATION:
                return format_duration(item.duration_sec)
            if col == COL_SIZE:
                return format_size(item.file_size_bytes)
            if col == COL_DEVICE:
                return item.device_id or ""
            if col == COL_STATUS:
                return item.status_text()
            return None
        if role == Qt.ItemDataRole.DecorationRole and col == COL_THUMB:
            return self._placeholder
        if role == SORT_ROLE:
            return _sort_key(
                col,
                item.title,
                item.recorded_at or "",
                item.duration_sec,
                item.file_size_bytes,
                item.device_id,
                "0-local",
            )
        if role == VIDEO_ID_ROLE:
            return item.video_id
        if role == LOCAL_ITEM_ROLE:
            return item
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_STATUS:
            return QColor("#b00020" if item.error else "#6a4c93")
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STATUS:
                return item.status_text()  # elided in a narrow column
            if col == COL_TITLE:
                return item.title
        return None

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._has_more and not self._loading and not self.stale

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._request(self._next_cursor, replace=False)

    # -- loading ---------------------------------------------------------------------------

    @property
    def query(self) -> LibraryQuery:
        return self._query

    @property
    def loading(self) -> bool:
        return self._loading

    @property
    def has_more(self) -> bool:
        return self._has_more

    @property
    def videos(self) -> list[Video]:
        """A copy of the server rows, in order."""
        return list(self._videos)

    @property
    def next_cursor(self) -> str | None:
        return self._next_cursor

    def set_query(self, query: LibraryQuery) -> None:
        self._query = query
        self.refresh()

    def refresh(self) -> None:
        """Reload the first page; the current rows stay until it arrives."""
        self._request(None, replace=True)

    def insert_new(self) -> None:
        """Fetch the first page and insert the recordings not shown yet where the server lists
        them (finished uploads): no reset, so the scroll position and selection survive."""
        if self.stale or self.last_error is not None:
            self.refresh()
        else:
            self._request(None, replace=False, merge=True)

    def _request(self, cursor: str | None, *, replace: bool, merge: bool = False) -> None:
        if replace:
            self._generation += 1  # answers to older requests are dropped
        generation = self._generation
        query = self._query
        self._set_loading(True)
        fetch = self._fetch_page

        def work() -> PageLike:
            return fetch(query, cursor)

        if not _submit(
            self._tasks,
            self._kind,
            work,
            lambda page: self._on_page(generation, page, replace, merge),
            lambda exc: self._on_failed(generation, exc),
        ):
            self._set_loading(False)

    def close(self) -> None:
        """Sign-out / teardown: answers still on their way (pages, thumbnails) are dropped."""
        self._closed = True
        self._generation += 1
        self._thumbnail_loader = None
        self._thumb_wanted.clear()

    def _on_page(self, generation: int, page: PageLike, replace: bool,
                 merge: bool = False) -> None:
        if generation != self._generation:
            return
        items = [v for v in page.items if isinstance(v, Video)]
        if merge:
            if not self._videos:  # nothing listed yet: this page starts the paging
                self._next_cursor = page.next_cursor
                self._has_more = page.next_cursor is not None
            self._merge(items)
            self._set_loading(False)
            self.pageLoaded.emit(len(items))
            return
        self._next_cursor = page.next_cursor
        self._has_more = page.next_cursor is not None
        self.last_error = None
        if replace:
            self.beginResetModel()
            self._videos = []
            self._rows = {}
            self.stale = False
            self._thumb_failed.clear()
            self._append(items)
            self._local = self._visible_local(self._all_local)
            self.endResetModel()
            self._set_loading(False)
            self.listingReplaced.emit()
        else:
            fresh = [v for v in items if v.video_id not in self._rows]
            self._hide_local({v.video_id for v in fresh})
            if fresh:
                first = self.rowCount()
                self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
                self._append(fresh)
                self.endInsertRows()
            self._set_loading(False)
            if fresh:
                self.pageAppended.emit(fresh)
        self.pageLoaded.emit(len(items))

    def _merge(self, items: Sequence[Video]) -> None:
        """A fresh first page into the rows shown: known recordings updated in place, new ones
        inserted after the known one the server lists before them."""
        self._hide_local({v.video_id for v in items})
        at = 0  # index in _videos for the next new recording
        for video in items:
            known = self._rows.get(video.video_id)
            if known is not None:
                self._videos[known] = video
                row = len(self._local) + known
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))
                at = known + 1
                continue
            row = len(self._local) + at
            self.beginInsertRows(QModelIndex(), row, row)
            self._videos.insert(at, video)
            for i in range(at, len(self._videos)):
                self._rows[self._videos[i].video_id] = i
            self.endInsertRows()
            at += 1

    def _append(self, items: Sequence[Video]) -> None:
        for video in items:
            if video.video_id in self._rows:
                continue
            self._rows[video.video_id] = len(self._videos)
            self._videos.append(video)

    def _on_failed(self, generation: int, exc: BaseException) -> None:
        if generation != self._generation:
            return
        self.last_error = exc
        self._set_loading(False)
        self.loadFailed.emit(exc)

    def _set_loading(self, value: bool) -> None:
        if self._loading != value:
            self._loading = value
            self.loadingChanged.emit(value)

    def load_cached(self, listing: CachedListing) -> None:
        """Show an offline copy, marked stale (no paging) until a first page replaces it.
        A first-page request in flight is kept: its answer replaces the copy."""
        self.beginResetModel()
        self._videos = []
        self._rows = {}
        self._append(listing.videos)
        self._next_cursor = listing.next_cursor
        self._has_more = listing.next_cursor is not None
        self.stale = True
        self._local = self._visible_local(self._all_local)
        self.endResetModel()
        self.listingReplaced.emit()

    def mark_stale(self, stale: bool = True) -> None:
        self.stale = stale

    def title_at(self, row: int) -> str:
        local_count = len(self._local)
        if 0 <= row < local_count:
            return self._local[row].title
        index = row - local_count
        return self._videos[index].title if 0 <= index < len(self._videos) else ""

    def sort_key(self, row: int, col: int) -> Any:
        local_count = len(self._local)
        if 0 <= row < local_count:
            item = self._local[row]
            return _sort_key(col, item.title, item.recorded_at or "", item.duration_sec,
                             item.file_size_bytes, item.device_id, "0-local")
        v = self._videos[row - local_count]
        return _sort_key(col, v.title, v.recorded_at, v.duration_sec, v.file_size_bytes,
                         v.device_id, v.status)

    def display_text(self, row: int, col: int) -> str:
        """What the view shows in ``row``/``col`` (for delegates; never None)."""
        local_count = len(self._local)
        if 0 <= row < local_count:
            value = self._local_data(self._local[row], col, Qt.ItemDataRole.DisplayRole)
        elif 0 <= row - local_count < len(self._videos):
            value = self._video_data(self._videos[row - local_count], col,
                                     Qt.ItemDataRole.DisplayRole)
        else:
            value = None
        return str(value) if value is not None else ""

    # -- row access and edits --------------------------------------------------------------

    def video_at(self, row: int) -> Video | None:
        index = row - len(self._local)
        if 0 <= index < len(self._videos):
            return self._videos[index]
        return None

    def row_of(self, video_id: str) -> int:
        index = self._rows.get(video_id)
        if index is not None:
            return index + len(self._local)
        for i, item in enumerate(self._local):
            if item.video_id == video_id:
                return i
        return -1

    def replace_video(self, video: Video) -> None:
        """An edited recording: same row, new data."""
        index = self._rows.get(video.video_id)
        if index is None:
            return
        self._videos[index] = video
        row = index + len(self._local)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    def remove_video(self, video_id: str) -> bool:
        index = self._rows.get(video_id)
        if index is None:
            return False
        row = index + len(self._local)
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._videos[index]
        self._rows = {v.video_id: i for i, v in enumerate(self._videos)}
        self.endRemoveRows()
        self._thumbs.pop(video_id, None)
        return True

    # -- local upload queue hook -----------------------------------------------------------

    def set_local_items(self, items: Sequence[LocalQueueItem]) -> None:
        """Show recordings still in the local upload queue (those the server does not list
        yet) on top, with their queue state. Call on the GUI thread whenever the queue
        changes; same items in the same order only repaint."""
        self._all_local = list(items)
        visible = self._visible_local(self._all_local)
        ids = [i.video_id for i in visible]
        self._hide_local({i.video_id for i in self._local} - set(ids))  # finished: rows go
        kept = {i.video_id for i in self._local}
        if [i.video_id for i in self._local] == [v for v in ids if v in kept]:
            for row, item in enumerate(visible):  # new queue items: rows come, no reset
                if row < len(self._local) and self._local[row].video_id == item.video_id:
                    self._local[row] = item
                    continue
                self.beginInsertRows(QModelIndex(), row, row)
                self._local.insert(row, item)
                self.endInsertRows()
            if visible:
                last = self.index(len(visible) - 1, len(HEADERS) - 1)
                self.dataChanged.emit(self.index(0, 0), last)
            return
        self.beginResetModel()
        self._local = visible
        self.endResetModel()

    def _visible_local(self, items: Sequence[LocalQueueItem]) -> list[LocalQueueItem]:
        return [i for i in items if i.video_id not in self._rows]

    def _hide_local(self, ids: set[str]) -> None:
        for i in range(len(self._local) - 1, -1, -1):
            if self._local[i].video_id in ids:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self._local[i]
                self.endRemoveRows()

    # -- thumbnails ------------------------------------------------------------------------

    def _thumbnail(self, video: Video) -> QPixmap:
        pixmap = self._thumbs.get(video.video_id)
        if pixmap is not None:
            self._thumbs.move_to_end(video.video_id)
            return pixmap
        if (
            self._thumbnail_loader is not None
            and video.thumbnail_s3_key
            and video.video_id not in self._thumb_pending
            and video.video_id not in self._thumb_failed
        ):
            self._thumb_pending.add(video.video_id)
            self._thumb_wanted.append(video)
            while len(self._thumb_wanted) > 64:  # scrolled past: forget the oldest wishes
                dropped = self._thumb_wanted.popleft()
                self._thumb_pending.discard(dropped.video_id)
            QTimer.singleShot(0, self, self._pump_thumbnails)
        return self._placeholder

    def _pump_thumbnails(self) -> None:
        loader = self._thumbnail_loader
        if loader is None:
            return
        while self._thumb_wanted and self._thumb_jobs < self._thumb_jobs_max:
            video = self._thumb_wanted.pop()  # the most recently painted first
            self._thumb_jobs += 1

            def work(v: Video = video) -> QImage | None:
                data = loader(v)
                if not data:
                    return None
                image = QImage.fromData(data)
                if image.isNull():
                    raise ValueError("not an image")
                return image.scaled(
                    GRID_THUMB_SIZE,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )

            if not _submit(
                self._tasks,
                self._kind,
                work,
                _bind(self._on_thumbnail, video),
                _bind(self._on_thumbnail_failed, video),
            ):
                self._thumb_jobs -= 1
                self._thumb_wanted.clear()
                return

    def _on_thumbnail(self, video: Video, image: QImage | None) -> None:
        if self._closed:
            return
        self._thumb_jobs -= 1
        self._thumb_pending.discard(video.video_id)
        if image is None:
            self._thumb_failed.add(video.video_id)  # offline without a cached copy
        else:
            self._thumbs[video.video_id] = QPixmap.fromImage(image)
            while len(self._thumbs) > self._thumbs_max:
                self._thumbs.popitem(last=False)
            row = self.row_of(video.video_id)
            if row >= 0:
                idx = self.index(row, COL_THUMB)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])
        self._pump_thumbnails()

    def _on_thumbnail_failed(self, video: Video, exc: BaseException) -> None:
        if self._closed:
            return
        self._thumb_jobs -= 1
        self._thumb_pending.discard(video.video_id)
        self._thumb_failed.add(video.video_id)
        log.info("No thumbnail for %s: %s", video.video_id, exc)
        self._pump_thumbnails()

    def retry_thumbnails(self) -> None:
        """After the network returns: let failed thumbnails try again when painted."""
        self._thumb_failed.clear()
        if self.rowCount():
            self.dataChanged.emit(
                self.index(0, COL_THUMB),
                self.index(self.rowCount() - 1, COL_THUMB),
                [Qt.ItemDataRole.DecorationRole],
            )

    def thumbnails_loaded(self) -> int:
        return len(self._thumbs)


def _sort_key(
    col: int,
    title: str,
    recorded_at: str,
    duration: float | None,
    size: int | None,
    device: str | None,
    status: str,
) -> Any:
    if col == COL_TITLE:
        return title.casefold()
    if col == COL_DURATION:
        return duration if duration is not None else -1.0
    if col == COL_SIZE:
        return size if size is not None else -1
    if col == COL_DEVICE:
        return (device or "").casefold()
    if col == COL_STATUS:
        return status
    return recorded_at  # thumbnail and recorded-at columns sort by time (ISO sorts)


def _submit(
    tasks: TasksLike,
    kind: str,
    fn: Callable[[], Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> bool:
    """``tasks.run`` unless the runner is closed (the app is quitting): then nothing."""
    if getattr(tasks, "closed", False):
        log.debug("task dropped: the task runner is closed")
        return False
    tasks.run(kind, fn, on_done, on_error)
    return True


def _bind(fn: Callable[[Video, Any], None], video: Video) -> Callable[[Any], None]:
    return lambda value: fn(video, value)


def _qdate(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


def _placeholder(size: QSize) -> QPixmap:
    pixmap = QPixmap(size)
    pixmap.fill(QColor("#d9dde3"))
    return pixmap


def source_row(index: QModelIndex | QPersistentModelIndex) -> tuple[VideoTableModel, int] | None:
    """The :class:`VideoTableModel` and row behind ``index`` (through any proxies).

    Python code reads rows this way rather than with ``index.data(role)``: with PySide6 6.12
    on CPython 3.11 every invalid QVariant converted to ``None`` drops a reference to
    ``None`` (a refcount bug that ends in "deallocating None"), so product code never asks
    Qt for a value that may be empty.
    """
    if not index.isValid():
        return None
    model: Any = index.model()
    current: Any = index
    while isinstance(model, QSortFilterProxyModel):
        current = model.mapToSource(current)
        model = model.sourceModel()
    if isinstance(model, VideoTableModel) and current.isValid():
        return model, current.row()
    return None


def video_for_index(index: QModelIndex | QPersistentModelIndex) -> Video | None:
    found = source_row(index)
    return found[0].video_at(found[1]) if found is not None else None


class LibraryProxyModel(QSortFilterProxyModel):
    """Client-side title search (case-insensitive, any part of the title) and sorting.

    Both read the source model's Python list directly (no QVariant round trip per row and
    comparison), and "recorded, newest first" is the server's own order: no sort at all.
    That keeps opening a 10,000-row offline listing and searching it quick.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._needle = ""
        self.setFilterKeyColumn(COL_TITLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setSortRole(SORT_ROLE)
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def set_search(self, text: str) -> None:
        needle = text.strip().casefold()
        if needle == self._needle:
            return
        begin = getattr(self, "beginFilterChange", None)
        end = getattr(self, "endFilterChange", None)
        if begin is not None and end is not None:  # Qt >= 6.10
            begin()
            self._needle = needle
            end()
        else:  # pragma: no cover - older Qt
            self._needle = needle
            self.invalidateFilter()

    @property
    def search_text(self) -> str:
        return self._needle

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        if not self._needle:
            return True
        model = self.sourceModel()
        if isinstance(model, VideoTableModel):
            return self._needle in model.title_at(source_row).casefold()
        return super().filterAcceptsRow(source_row, source_parent)  # pragma: no cover

    def lessThan(
        self,
        left: QModelIndex | QPersistentModelIndex,
        right: QModelIndex | QPersistentModelIndex,
    ) -> bool:
        model = self.sourceModel()
        if isinstance(model, VideoTableModel):
            col = left.column()
            return bool(model.sort_key(left.row(), col) < model.sort_key(right.row(), col))
        return super().lessThan(left, right)  # pragma: no cover

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if column == COL_RECORDED and order == Qt.SortOrder.DescendingOrder:
            super().sort(-1)  # the source is newest first already (the API's order)
            return
        super().sort(column, order)

    def video_at(self, row: int) -> Video | None:
        return video_for_index(self.index(row, 0))


# -- views ---------------------------------------------------------------------------------


class _GridDelegate(QStyledItemDelegate):
    """The grid shows the thumbnail column; its caption is the title (and status)."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        found = source_row(index)
        if found is None:
            return
        model, row = found

        def text(col: int) -> str:
            return model.display_text(row, col)

        # U+2028 (line separator) is how Qt's item views break a caption into lines
        option.text = f"{text(COL_TITLE)}\u2028{text(COL_RECORDED)} · {text(COL_STATUS)}"
        option.features |= QStyleOptionViewItem.ViewItemFeature.HasDisplay

    def sizeHint(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QSize:
        # The grid's cells are uniform and measured once, often while the first row still
        # shows the small placeholder: size every cell for a full-size thumbnail and the
        # caption (the grid size), not for whichever pixmap the first row had then.
        view = self.parent()
        if isinstance(view, QListView) and view.gridSize().isValid():
            grid = view.gridSize()
            return QSize(grid.width() - 4, grid.height() - 4)
        return super().sizeHint(option, index)


class LibraryTableView(QTableView):
    """The recordings table. Every column but the title is as wide as its widest text (measured
    from the font, not by reading 10,000 rows); the title takes the rest. When the list is too
    narrow for all of them and a readable title, the device, size and thumbnail columns step
    aside (in that order) and come back when there is room: never a horizontal scroll bar for
    the columns a clinician scans (title, recorded, duration, status)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setSortingEnabled(True)
        self.setAlternatingRowColors(True)
        self.setIconSize(TABLE_THUMB_SIZE)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(TABLE_THUMB_SIZE.height() + 8)
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setAccessibleName("Recordings table")
        self._widths: dict[int, int] = {}

    def setModel(self, model: Any) -> None:
        super().setModel(model)
        self.size_columns()

    def column_widths(self) -> dict[int, int]:
        """The width each fixed column needs for its widest text (and its header)."""
        cell = self.fontMetrics()
        head = self.horizontalHeader().fontMetrics()
        pad = 2 * self.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 14
        samples: dict[int, tuple[str, ...]] = {
            **COLUMN_SAMPLES, COL_STATUS: tuple(STATUS_TEXT.values()),
        }
        widths = {COL_THUMB: TABLE_THUMB_SIZE.width() + 10}
        for col, texts in samples.items():
            widths[col] = max(
                [cell.horizontalAdvance(t) + pad for t in texts]
                + [head.horizontalAdvance(HEADERS[col]) + pad + 12]  # + the sort arrow
            )
        return widths

    def size_columns(self) -> None:
        header = self.horizontalHeader()
        if header.count() > COL_TITLE:  # per-section modes need the model's sections
            header.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            header.setSectionResizeMode(COL_TITLE, QHeaderView.ResizeMode.Stretch)
        self._widths = self.column_widths()
        for col, width in self._widths.items():
            self.setColumnWidth(col, width)
        self.fit_columns()

    def fit_columns(self) -> None:
        """Hide the optional columns the viewport has no room for; show them again when it
        has. Called on every resize."""
        if not self._widths or self.model() is None:
            return
        available = self.viewport().width()
        shown = [c for c in self._widths if c not in OPTIONAL_COLUMNS]
        need = TITLE_MIN_WIDTH + sum(self._widths[c] for c in shown)
        hidden: set[int] = set()
        for col in reversed(OPTIONAL_COLUMNS):  # thumbnail first to get room, device last
            if need + self._widths[col] <= available:
                need += self._widths[col]
            else:
                hidden.add(col)
        # keep the priority order: a later column never shows while an earlier one is hidden
        for i, col in enumerate(OPTIONAL_COLUMNS):
            if col in hidden:
                hidden.update(OPTIONAL_COLUMNS[:i])
        for col in OPTIONAL_COLUMNS:
            if self.isColumnHidden(col) != (col in hidden):
                self.setColumnHidden(col, col in hidden)
        # rows as tall as the thumbnail when it shows, as a line of text when it does not
        row = (TABLE_THUMB_SIZE.height() + 8 if COL_THUMB not in hidden
               else self.fontMetrics().height() + 14)
        if self.verticalHeader().defaultSectionSize() != row:
            self.verticalHeader().setDefaultSectionSize(row)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit_columns()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # a style sheet or a system font applies its font at polish time: measure again
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange) and self._widths:
            self.size_columns()


class LibraryGridView(QListView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(GRID_THUMB_SIZE)
        self.setGridSize(QSize(GRID_THUMB_SIZE.width() + 24, GRID_THUMB_SIZE.height() + 56))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(200)
        self.setWordWrap(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setItemDelegate(_GridDelegate(self))
        self.setAccessibleName("Recordings thumbnails")

    def setModel(self, model: Any) -> None:
        super().setModel(model)
        self.setModelColumn(COL_THUMB)


# -- details pane --------------------------------------------------------------------------


def _integrity_tip(video: Video) -> str:
    """How the cloud checked the recording's bytes (DESIGN §8), for the Integrity tooltip."""
    if video.integrity == INTEGRITY_VERIFIED:
        when = f" on {format_local_time(video.verified_at)}" if video.verified_at else ""
        if video.sha256_verified_by == "crc64nvme":
            return (f"S3 checked the whole file's checksum against the uploaded bytes{when}: "
                    "the stored copy is the file (its SHA-256 is recorded beside it).")
        how = {"checksum": "S3's stored checksum of the upload",
               "read": "the file read back from storage"}.get(video.sha256_verified_by or "",
                                                           "the stored file")
        when = f" on {format_local_time(video.verified_at)}" if video.verified_at else ""
        return f"The server compared the file's SHA-256 with {how}{when}: they match."
    if video.sha256_verified_by == "parts":
        return ("S3 verified each uploaded part's checksum, but the file was too large for the "
                "server to compare its whole SHA-256. Keep the original until it is verified.")
    return "The cloud has not compared this file's SHA-256 with the stored bytes."


class VideoDetailsPane(QWidget):
    """All metadata of the selected recording; edit title/notes; delete; play."""

    saveRequested = Signal(object, str, str)  # Video, title, notes
    deleteRequested = Signal(object)  # Video
    playRequested = Signal(object)  # Video
    reloadRequested = Signal(object)  # Video
    videoShown = Signal(object)  # Video | None: what the pane shows now (sections follow it)

    FIELDS = (
        ("recorded", "Recorded"),
        ("duration", "Duration"),
        ("size", "Size"),
        ("resolution", "Resolution"),
        ("codec", "Codec"),
        ("device", "Device"),
        ("status", "Status"),
        ("created", "Uploaded"),
        ("updated", "Last changed"),
        ("version", "Version"),
        ("video_id", "Recording ID"),
        ("sha256", "SHA-256"),
        ("integrity", "Integrity"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.video: Video | None = None
        self._drafts: dict[str, tuple[str, str]] = {}
        self._online = True
        self._offline_reason = ""
        self._busy = False

        self.heading = QLabel("Select a recording")
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.heading.setFont(font)

        # Metadata in two label/value column pairs (the pane sits beneath the list and is
        # wider than tall); long values (recorded, ids) span the width. The identifiers are
        # read-only line edits: selectable, and a 64-digit hash never widens the pane.
        self.values: dict[str, QLabel | QLineEdit] = {}
        self.fields = QWidget()
        grid = QGridLayout(self.fields)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        labels = dict(self.FIELDS)
        row = 0
        pairs: list[tuple[str, ...]] = [
            ("recorded",), ("duration", "size"), ("resolution", "codec"), ("device", "status"),
            ("created", "updated"), ("version", "integrity"), ("video_id",), ("sha256",),
        ]
        for keys in pairs:
            for i, key in enumerate(keys):
                value: QLabel | QLineEdit
                if key in ("video_id", "sha256"):
                    value = QLineEdit()
                    value.setReadOnly(True)
                    value.setFrame(False)
                    value.setStyleSheet("background: transparent; border: none; padding: 0;")
                    value.setMinimumWidth(60)
                else:
                    value = QLabel("")
                    value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                    value.setWordWrap(True)
                self.values[key] = value
                name = QLabel(labels[key] + ":")
                name.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                span = 3 if len(keys) == 1 else 1
                grid.addWidget(name, row, 2 * i, Qt.AlignmentFlag.AlignTop)
                grid.addWidget(value, row, 2 * i + 1, 1, span, Qt.AlignmentFlag.AlignTop)
            row += 1

        self.title_edit = QLineEdit()
        self.title_edit.setMaxLength(200)
        self.title_edit.setPlaceholderText("Title")
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setPlaceholderText("Notes")
        line = self.notes_edit.fontMetrics().lineSpacing()
        self.notes_edit.setMinimumHeight(2 * line + 14)
        self.notes_edit.setMaximumHeight(5 * line + 14)
        self.notes_edit.setSizePolicy(QSizePolicy.Policy.Expanding,
                                      QSizePolicy.Policy.Preferred)
        edits = QFormLayout()
        edits.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        edits.addRow("Title:", self.title_edit)
        edits.addRow("Notes:", self.notes_edit)

        self.play_button = QPushButton("Play")
        self.save_button = QPushButton("Save changes")
        self.reload_button = QPushButton("Reload latest")
        self.reload_button.setVisible(False)
        self.revert_button = QPushButton("Revert")
        self.delete_button = QPushButton("Delete…")
        buttons = QHBoxLayout()
        for b in (self.play_button, self.save_button, self.revert_button, self.reload_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)  # apart from the everyday buttons

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setVisible(False)

        # the metadata folds away (the heading stays) to give the list more rows
        self.fields_toggle = QToolButton()
        self.fields_toggle.setCheckable(True)
        self.fields_toggle.setChecked(True)
        self.fields_toggle.setAutoRaise(True)
        self.fields_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.fields_toggle.toggled.connect(self.set_fields_visible)
        head = QHBoxLayout()
        head.addWidget(self.heading, 1)
        head.addWidget(self.fields_toggle, 0, Qt.AlignmentFlag.AlignTop)

        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(head)
        layout.addWidget(self.fields)
        layout.addLayout(edits)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self.sections = QVBoxLayout()  # more about the recording (access history)
        layout.addLayout(self.sections)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        scroll.setWidget(inner)
        self.scroll_area = scroll
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.set_fields_visible(True)

        self.play_button.clicked.connect(lambda: self.video and self.playRequested.emit(self.video))
        self.save_button.clicked.connect(self._save)
        self.revert_button.clicked.connect(self.revert)
        self.delete_button.clicked.connect(
            lambda: self.video and self.deleteRequested.emit(self.video)
        )
        self.reload_button.clicked.connect(
            lambda: self.video and self.reloadRequested.emit(self.video)
        )
        self.title_edit.textEdited.connect(lambda _t: self._update_actions())
        self.notes_edit.textChanged.connect(self._update_actions)
        self.set_video(None)

    def set_fields_visible(self, visible: bool) -> None:
        """Show or fold away the metadata (the title, notes and buttons stay)."""
        self.fields.setVisible(visible)
        self.fields_toggle.setArrowType(
            Qt.ArrowType.DownArrow if visible else Qt.ArrowType.RightArrow)
        self.fields_toggle.setText("Hide details" if visible else "Show details")
        self.fields_toggle.setToolTip(
            "Fold the recording's details away to see more of the list" if visible
            else "Show all details of the recording")
        if self.fields_toggle.isChecked() != visible:
            self.fields_toggle.setChecked(visible)

    # state
    def set_video(self, video: Video | None, *, keep_edits: bool = False) -> None:
        previous = self.video
        same = video is not None and previous is not None and video.video_id == previous.video_id
        if previous is not None and not same and self.is_dirty():
            # unsaved edits are never lost by clicking another row: kept as a draft
            self._drafts[previous.video_id] = (
                self.title_edit.text(), self.notes_edit.toPlainText()
            )
        self.video = video
        if not (keep_edits and same):
            self.clear_message()
            self.reload_button.setVisible(False)
        if video is None:
            self.heading.setText("Select a recording")
            for value in self.values.values():
                value.setText("")
                value.setToolTip("")
            self.title_edit.clear()
            self.notes_edit.clear()
        else:
            self.heading.setText(video.title or "(untitled)")
            v = self.values
            v["recorded"].setText(
                f"{format_local_time(video.recorded_at)} (local) · {video.recorded_at} UTC"
            )
            v["duration"].setText(format_duration(video.duration_sec) or "unknown")
            v["size"].setText(
                f"{format_size(video.file_size_bytes)} ({video.file_size_bytes:,} bytes)"
                if video.file_size_bytes is not None
                else "unknown"
            )
            v["resolution"].setText(
                f"{video.width} × {video.height}" if video.width and video.height else "unknown"
            )
            v["codec"].setText(" · ".join(x for x in (video.codec, video.mime_type) if x) or "")
            v["device"].setText(video.device_id or "")
            v["status"].setText(STATUS_TEXT.get(video.status, video.status))
            v["created"].setText(format_local_time(video.created_at))
            v["updated"].setText(format_local_time(video.updated_at))
            v["version"].setText(str(video.version))
            v["video_id"].setText(video.video_id)
            v["sha256"].setText(video.sha256 or "")
            v["integrity"].setText(video.integrity)
            v["integrity"].setToolTip(_integrity_tip(video))
            for key in ("video_id", "sha256"):
                field = v[key]
                if isinstance(field, QLineEdit):
                    field.setCursorPosition(0)  # show the start, not the end, of a long id
                    field.setToolTip(field.text())
            if not (keep_edits and same):
                draft = self._drafts.pop(video.video_id, None) if not same else None
                self.title_edit.setText(draft[0] if draft else video.title)
                self.notes_edit.setPlainText(draft[1] if draft else (video.notes or ""))
                if draft is not None and self.is_dirty():
                    self.show_message(
                        "You have unsaved changes to this recording (kept from before). "
                        "Save them, or select “Revert” to discard them."
                    )
        self._update_actions()
        self.videoShown.emit(video)

    def revert(self) -> None:
        """Discard unsaved edits of the shown recording."""
        if self.video is not None:
            self._drafts.pop(self.video.video_id, None)
            self.title_edit.setText(self.video.title)
            self.notes_edit.setPlainText(self.video.notes or "")
            self.clear_message()
        self._update_actions()

    def drafts(self) -> dict[str, tuple[str, str]]:
        """Unsaved edits of recordings not shown right now (video id -> title, notes)."""
        return dict(self._drafts)

    def set_online(self, online: bool, reason: str = "") -> None:
        self._online = online
        self._offline_reason = reason
        self._update_actions()

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_actions()

    def is_dirty(self) -> bool:
        if self.video is None:
            return False
        return (
            self.title_edit.text() != self.video.title
            or self.notes_edit.toPlainText() != (self.video.notes or "")
        )

    def _update_actions(self) -> None:
        video = self.video
        has = video is not None
        net = self._online and not self._busy
        offline_tip = self._offline_reason or "Needs the network."
        self.title_edit.setEnabled(has)
        self.notes_edit.setEnabled(has)
        self.save_button.setEnabled(has and net and self.is_dirty())
        self.revert_button.setEnabled(has and self.is_dirty())
        self.delete_button.setEnabled(has and net)
        self.reload_button.setEnabled(has and net)
        playable = video is not None and video.has_bytes
        self.play_button.setEnabled(has and playable and net)
        if not self._online:
            for b in (self.save_button, self.delete_button, self.play_button, self.reload_button):
                b.setToolTip(offline_tip)
        else:
            self.save_button.setToolTip("Save the title and notes to the cloud")
            self.delete_button.setToolTip("Delete this recording from the cloud")
            self.reload_button.setToolTip("Load the latest version from the cloud")
            if video is not None and not video.has_bytes:
                self.play_button.setToolTip(
                    "This recording is not in the cloud yet: it can be played once its upload "
                    "has finished."
                )
            else:
                self.play_button.setToolTip("Play this recording (streams from the cloud)")

    def _save(self) -> None:
        if self.video is None:
            return
        title = self.title_edit.text().strip()
        if not title:
            self.show_message("A recording needs a title.", error=True)
            return
        self.saveRequested.emit(self.video, title, self.notes_edit.toPlainText())

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020;" if error else "color: #1b7a2f;")
        self.message.setVisible(bool(text))

    def clear_message(self) -> None:
        self.message.setText("")
        self.message.setVisible(False)


# -- the whole library ---------------------------------------------------------------------


def _confirm_delete(parent: QWidget, text: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, "Move to Trash", text,
                      QMessageBox.StandardButton.Cancel, parent)
    move = box.addButton("Move to Trash", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return box.clickedButton() is move


def delete_confirmation_text(video: Video) -> str:
    when = format_local_time(video.recorded_at)
    return (
        f"Move “{video.title or '(untitled)'}” recorded {when} to the Trash?\n\n"
        "It leaves your library. You can restore it from View ▸ Trash until it is deleted "
        "forever (30 days after the move, unless your organisation chose otherwise)."
    )


class LibraryWidget(QWidget):
    """Filter bar + table/grid + details pane, wired to the API through the task runner."""

    playRequested = Signal(object)  # Video
    onlineChanged = Signal(bool)
    status = Signal(str)
    videoUpdated = Signal(object)  # Video: an edit was saved (or the latest version loaded)
    videoRemoved = Signal(str)  # video id: deleted (here or somewhere else)

    OFFLINE_REASON = (
        "No network connection: this needs the cloud. It will work again as soon as the "
        "connection is back."
    )

    def __init__(
        self,
        api: LibraryApi,
        tasks: TasksLike,
        *,
        cache: LibraryCache | None = None,
        thumbnails: ThumbnailCache | None = None,
        page_size: int = PAGE_SIZE,
        probe_interval_ms: int = 10_000,
        confirm: Callable[[QWidget, str], bool] | None = None,
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.api = api
        self.tasks = tasks
        self.cache = cache
        self.thumbnails = thumbnails
        self._confirm = confirm or _confirm_delete
        self._clock = clock
        self.online = True
        self._cached_at: float | None = None
        self._started = False

        def fetch(query: LibraryQuery, cursor: str | None) -> PageLike:
            page: PageLike = api.list_videos(
                date_from=query.date_from, date_to=query.date_to, limit=query.limit, cursor=cursor
            )
            return page

        loader = self._load_thumbnail if thumbnails is not None else None
        self.model = VideoTableModel(
            fetch, tasks, query=LibraryQuery(limit=page_size), thumbnail_loader=loader, parent=self
        )
        self.proxy = LibraryProxyModel(self)
        self.proxy.setSourceModel(self.model)

        # filter bar
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search titles")
        self.search.setClearButtonEnabled(True)
        self.date_filter = QCheckBox("Recorded from")
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-30))
        self.date_to = QDateEdit(today)
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        self.refresh_button = QToolButton()
        self.refresh_button.setText("Refresh")
        self.view_toggle = QToolButton()
        self.view_toggle.setText("Thumbnails")
        self.view_toggle.setCheckable(True)
        # two short rows: the library often sits in a narrow pane next to the player
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.view_toggle)
        top.addWidget(self.refresh_button)
        dates = QHBoxLayout()
        dates.addWidget(self.date_filter)
        dates.addWidget(self.date_from)
        dates.addWidget(QLabel("to"))
        dates.addWidget(self.date_to)
        dates.addStretch(1)
        bar = QVBoxLayout()
        bar.addLayout(top)
        bar.addLayout(dates)

        self.banner = QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)
        self.banner.setStyleSheet("background: #fff3cd; color: #5c4400; padding: 4px;")
        self.count_label = QLabel("")

        self.table = LibraryTableView()
        self.table.setModel(self.proxy)
        self.table.sortByColumn(COL_RECORDED, Qt.SortOrder.DescendingOrder)
        self.grid = LibraryGridView()
        self.grid.setModel(self.proxy)
        self.grid.setSelectionModel(self.table.selectionModel())
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.grid)

        self.details = VideoDetailsPane()
        self.access_history = AccessHistoryPanel(getattr(api, "history", None), tasks,
                                                 describe_error)
        self.details.sections.addWidget(self.access_history)
        self.details.videoShown.connect(
            lambda v: self.access_history.set_video_id(v.video_id if v else None))
        splitter = QSplitter(Qt.Orientation.Vertical)  # list above, details below
        splitter.setChildrenCollapsible(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.stack)
        left_layout.addWidget(self.count_label)
        splitter.addWidget(left)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter
        self._split_sized = False

        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)

        # probe for the network while offline
        self._probe = QTimer(self)
        self._probe.setInterval(probe_interval_ms)
        self._probe.timeout.connect(self._probe_network)
        self._probing = False
        # save the listing a moment after the last page arrives
        # offline copy: written in order, one write at a time, incrementally per page
        self._cache_writes: deque[Callable[[], None]] = deque()
        self._cache_busy = False
        self._cache_next_position = 0

        # wiring
        self.search.textChanged.connect(self._on_search)
        self.date_filter.toggled.connect(self._on_date_filter_toggled)
        self.date_from.dateChanged.connect(lambda _d: self._apply_dates())
        self.date_to.dateChanged.connect(lambda _d: self._apply_dates())
        self.refresh_button.clicked.connect(self.refresh)
        self.view_toggle.toggled.connect(self._on_view_toggled)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        self.table.doubleClicked.connect(self._on_activated)
        self.grid.doubleClicked.connect(self._on_activated)
        self.model.loadFailed.connect(self._on_load_failed)
        self.model.pageLoaded.connect(self._on_page_loaded)
        self.model.loadingChanged.connect(self._on_loading)
        self.model.listingReplaced.connect(self._on_listing_replaced)
        self.model.pageAppended.connect(self._on_page_appended)
        self.proxy.rowsInserted.connect(lambda *_: self._update_count())
        self.proxy.rowsRemoved.connect(lambda *_: self._update_count())
        # the proxy drops its row while the source still has it: count again once it is gone
        self.model.rowsRemoved.connect(lambda *_: self._update_count())
        self.proxy.modelReset.connect(self._update_count)
        self.details.saveRequested.connect(self._save_details)
        self.details.deleteRequested.connect(self._delete)
        self.details.playRequested.connect(self.playRequested)
        self.details.reloadRequested.connect(self._reload)
        self.details.fields_toggle.toggled.connect(self._on_details_folded)
        # a file dragged over the search box or the title/notes goes to the upload queue
        refuse_file_drops(self)

    # -- layout ----------------------------------------------------------------------------

    DETAILS_SHARE = 0.45  # of the list + details height at most, on first show

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._split_sized:
            QTimer.singleShot(0, self, self._size_split)  # not after the widget is deleted

    def _size_split(self) -> None:
        """First show: the details pane gets what it needs (heading, metadata, title, notes,
        buttons), but never more than :attr:`DETAILS_SHARE` of the height; the list the rest.
        (Left to the splitter, both get their size hints and the list shows two rows.)"""
        total = sum(self.splitter.sizes())
        if total <= 0 or self._split_sized:
            return
        self._fit_details(total)
        self._split_sized = True

    def _fit_details(self, total: int | None = None) -> None:
        total = sum(self.splitter.sizes()) if total is None else total
        content = self.details.scroll_area.widget()
        if content is None or total <= 0:
            return
        layout = content.layout()
        if layout is not None:
            layout.activate()
        want = content.sizeHint().height()
        details = max(120, min(want + 4, int(total * self.DETAILS_SHARE)))
        self.splitter.setSizes([max(1, total - details), details])

    def _on_details_folded(self, visible: bool) -> None:
        """Folding the details away gives their height to the list; unfolding takes it
        back (up to the first-show share)."""
        if self._split_sized:
            self._fit_details()

    # -- start / refresh -------------------------------------------------------------------

    def start(self) -> None:
        """Show the cached listing at once (if any) and load the first page."""
        if self._started:
            return
        self._started = True
        cache = self.cache
        if cache is not None:
            _submit(self.tasks, API_KIND, cache.load_listing, self._on_cache_loaded,
                           lambda exc: log.warning("Cached listing unavailable: %s", exc))
        self.model.refresh()

    def refresh(self) -> None:
        self.model.refresh()

    def insert_new(self) -> None:
        """Uploads finished: their recordings join the list; scroll and selection stay."""
        self.model.insert_new()

    def _on_cache_loaded(self, listing: CachedListing | None) -> None:
        if listing is None:
            return
        model = self.model
        if not model.stale and model.last_error is None and not model.loading:
            return  # the server's listing is already shown
        # the network has not answered yet (or failed): show the saved copy meanwhile
        model.load_cached(listing)
        self._cached_at = listing.saved_at
        self._show_banner()

    def _on_loading(self, loading: bool) -> None:
        self.refresh_button.setEnabled(not loading)
        self.refresh_button.setText("Loading…" if loading else "Refresh")
        if loading:
            self.status.emit("Loading recordings…")

    def _on_page_loaded(self, count: int) -> None:
        if not self.online:
            self._set_online(True)
        self._cached_at = None
        self.banner.setVisible(False)
        self._update_count()

    def _on_listing_replaced(self) -> None:
        self._update_count()
        self._reselect()
        if not self.model.stale:
            self._save_listing()

    def _on_page_appended(self, videos: list[Video]) -> None:
        cache = self.cache
        if cache is None or self.model.stale or not videos:
            return
        first = self._cache_next_position
        self._cache_next_position += len(videos)
        cursor = self.model.next_cursor
        self._cache_write(lambda: cache.append(videos, first_position=first,
                                               next_cursor=cursor))

    def _on_load_failed(self, exc: BaseException) -> None:
        if isinstance(exc, OfflineError):
            self.model.mark_stale(True)
            self._set_online(False)
        self._show_banner(describe_error(exc))

    def _show_banner(self, problem: str | None = None) -> None:
        parts: list[str] = []
        if not self.online:
            parts.append("Offline.")
        elif problem:
            parts.append(problem)
        if self.model.stale and self._cached_at is not None:
            saved = datetime.fromtimestamp(self._cached_at).strftime("%Y-%m-%d %H:%M")
            parts.append(f"Showing the list saved on {saved}; it may be out of date.")
        elif self.model.stale or not self.online:
            parts.append("Nothing could be loaded yet.")
        if not self.online:
            parts.append("Reconnecting automatically…")
        self.banner.setText(" ".join(parts))
        self.banner.setVisible(True)

    def _set_online(self, online: bool) -> None:
        if online == self.online:
            return
        self.online = online
        self.details.set_online(online, "" if online else self.OFFLINE_REASON)
        if online:
            self._probe.stop()
            self.model.retry_thumbnails()
        else:
            self._probe.start()
        self.onlineChanged.emit(online)

    def set_network_available(self, available: bool) -> None:
        """A hint from the platform (QNetworkInformation): probe now / mark offline."""
        if available and not self.online:
            self._probe_network()
        elif not available and self.online:
            self.model.mark_stale(True)
            self._set_online(False)
            self._show_banner()

    def _probe_network(self) -> None:
        if self._probing:
            return
        self._probing = True
        api = self.api

        def probe() -> bool:
            return bool(api.ping())

        def done(ok: bool) -> None:
            self._probing = False
            if ok:
                self.status.emit("Back online: refreshing the library.")
                self.refresh()

        def failed(_exc: BaseException) -> None:
            self._probing = False

        _submit(self.tasks, API_KIND, probe, done, failed)

    def _save_listing(self) -> None:
        """Replace the offline copy with the rows loaded now (after a fresh first page)."""
        cache = self.cache
        if cache is None or self.model.stale:
            return
        videos = self.model.videos
        query = self.model.query
        cursor = self.model.next_cursor
        self._cache_next_position = len(videos)
        self._cache_write(lambda: cache.save_listing(
            videos, next_cursor=cursor, date_from=query.date_from, date_to=query.date_to
        ))

    def _cache_write(self, write: Callable[[], None]) -> None:
        """Run cache writes on a worker one after another, in the order they were asked
        for (a page's rows never land before the listing they extend)."""
        self._cache_writes.append(write)
        self._next_cache_write()

    def _next_cache_write(self) -> None:
        if self._cache_busy or not self._cache_writes:
            return
        write = self._cache_writes.popleft()
        self._cache_busy = True

        def finished(_result: object = None) -> None:
            self._cache_busy = False
            self._next_cache_write()

        def failed(exc: BaseException) -> None:
            log.warning("Offline listing not updated: %s", exc)
            finished()

        if not _submit(self.tasks, API_KIND, write, finished, failed):
            self._cache_busy = False
            self._cache_writes.clear()

    # -- filters ---------------------------------------------------------------------------

    def _on_search(self, text: str) -> None:
        self.proxy.set_search(text)
        self._update_count()

    def _on_date_filter_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self._apply_dates()

    def _apply_dates(self) -> None:
        if self.date_filter.isChecked():
            start, end = _qdate(self.date_from.date()), _qdate(self.date_to.date())
            if start > end:
                start, end = end, start
            date_from, date_to = local_date_range_to_utc(start, end)
        else:
            date_from = date_to = None
        query = LibraryQuery(date_from, date_to, self.model.query.limit)
        if query != self.model.query:
            self.model.set_query(query)

    def set_date_range(self, start: date | None, end: date | None) -> None:
        """Programmatic filter (tests, saved views): None/None = all dates."""
        with _blocked(self.date_filter, self.date_from, self.date_to):
            self.date_filter.setChecked(start is not None or end is not None)
            if start is not None:
                self.date_from.setDate(QDate(start.year, start.month, start.day))
            if end is not None:
                self.date_to.setDate(QDate(end.year, end.month, end.day))
            self.date_from.setEnabled(self.date_filter.isChecked())
            self.date_to.setEnabled(self.date_filter.isChecked())
        if start is None and end is None:
            self.model.set_query(LibraryQuery(None, None, self.model.query.limit))
        else:
            date_from, date_to = local_date_range_to_utc(start, end)
            self.model.set_query(LibraryQuery(date_from, date_to, self.model.query.limit))

    def _on_view_toggled(self, grid: bool) -> None:
        self.stack.setCurrentWidget(self.grid if grid else self.table)
        self.view_toggle.setText("Table" if grid else "Thumbnails")

    def _update_count(self) -> None:
        shown = self.proxy.rowCount()
        total = self.model.rowCount()
        more = " (scroll for more)" if self.model.has_more and not self.model.stale else ""
        if shown != total:
            text = f"{shown} of {total} recordings{more}"
        else:
            text = f"{total} recordings{more}"
        self.count_label.setText(text)

    # -- selection and details -------------------------------------------------------------

    def current_video(self) -> Video | None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid():
            return None
        return video_for_index(index)

    def select_video(self, video_id: str) -> bool:
        row = self.model.row_of(video_id)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, COL_TITLE))
        if not index.isValid():
            return False
        self.table.selectionModel().setCurrentIndex(
            index,
            self.table.selectionModel().SelectionFlag.ClearAndSelect
            | self.table.selectionModel().SelectionFlag.Rows,
        )
        self.table.scrollTo(index)
        return True

    def _reselect(self) -> None:
        video = self.details.video
        if video is not None and not self.select_video(video.video_id):
            self.details.set_video(None)

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.details.set_video(video_for_index(current))

    def _on_activated(self, index: QModelIndex) -> None:
        value = video_for_index(index)
        if value is not None and value.has_bytes and self.online:
            self.playRequested.emit(value)

    # -- network actions -------------------------------------------------------------------

    def _save_details(self, video: Video, title: str, notes: str) -> None:
        api = self.api
        self.details.set_busy(True)
        self.details.show_message("Saving…")

        def work() -> Video:
            return api.update_video(video.video_id, version=video.version, title=title, notes=notes)

        def done(updated: Video) -> None:
            self.details.set_busy(False)
            self.model.replace_video(updated)
            self.details.set_video(updated)
            self.details.show_message("Saved.")
            self._cache_upsert(updated)
            self.videoUpdated.emit(updated)

        def failed(exc: BaseException) -> None:
            self.details.set_busy(False)
            if isinstance(exc, ConflictError) and exc.code == "version_conflict":
                self.details.reload_button.setVisible(True)
                self.details.show_message(
                    "Not saved: this recording was changed somewhere else (another window or "
                    "another computer) after you opened it. Your text is still in the form. "
                    "Press “Reload latest” to see the current version, then save again.",
                    error=True,
                )
            else:
                if isinstance(exc, OfflineError):
                    self._on_load_failed(exc)
                self.details.show_message(f"Not saved: {describe_error(exc)}", error=True)

        _submit(self.tasks, API_KIND, work, done, failed)

    def _reload(self, video: Video) -> None:
        api = self.api

        def done(latest: Video) -> None:
            self.model.replace_video(latest)
            # keep what the user typed; the next save carries the new version
            self.details.set_video(latest, keep_edits=True)
            self.details.reload_button.setVisible(False)
            self.details.show_message(
                f"Loaded the latest version (title now “{latest.title}”). Your edits are still "
                "in the form: save to replace it, or edit further."
            )
            self._cache_upsert(latest)
            self.videoUpdated.emit(latest)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, NotFoundError):
                self._removed(video, "This recording was deleted somewhere else.")
                return
            self.details.show_message(f"Could not reload: {describe_error(exc)}", error=True)

        _submit(self.tasks, API_KIND, lambda: api.get_video(video.video_id), done, failed)

    def _delete(self, video: Video) -> None:
        if not self._confirm(self, delete_confirmation_text(video)):
            return
        api = self.api
        self.details.set_busy(True)
        self.details.show_message(f"Moving “{video.title}” to the Trash…")

        def done(_result: object) -> None:
            self.details.set_busy(False)
            self._removed(video, f"Moved “{video.title}” to the Trash (View ▸ Trash).")

        def failed(exc: BaseException) -> None:
            self.details.set_busy(False)
            if isinstance(exc, NotFoundError):
                self._removed(video, f"“{video.title}” had already been deleted.")
                return
            self.details.show_message(f"Not deleted: {describe_error(exc)}", error=True)

        _submit(self.tasks, API_KIND, lambda: api.delete_video(video.video_id), done, failed)

    def _removed(self, video: Video, message: str) -> None:
        self.model.remove_video(video.video_id)
        if self.details.video is not None and self.details.video.video_id == video.video_id:
            self.details.set_video(None)
        self.status.emit(message)
        self.details.show_message(message)
        cache = self.cache
        if cache is not None:
            self._cache_write(lambda: cache.remove(video.video_id))
        self.videoRemoved.emit(video.video_id)

    def _cache_upsert(self, video: Video) -> None:
        cache = self.cache
        if cache is not None:
            self._cache_write(lambda: cache.upsert(video))

    def _load_thumbnail(self, video: Video) -> bytes | None:
        # runs on a worker
        thumbnails = self.thumbnails
        if thumbnails is None:
            return None
        key = ThumbnailCache.key_for(video.video_id, video.thumbnail_s3_key)
        url = None if self.model.stale else video.thumbnail_url
        try:
            return thumbnails.load(key, url)
        except OfflineError:
            return thumbnails.get(key)

    # -- local queue hook ------------------------------------------------------------------

    def set_local_items(self, items: Sequence[LocalQueueItem]) -> None:
        self.model.set_local_items(items)

    def shutdown(self) -> None:
        self._probe.stop()
        self.model.close()

    def cache_idle(self) -> bool:
        """No offline-copy write waiting or running (tests, shutdown)."""
        return not self._cache_busy and not self._cache_writes


class _blocked:
    def __init__(self, *objects: QObject) -> None:
        self._objects = objects
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous = [o.blockSignals(True) for o in self._objects]

    def __exit__(self, *exc: object) -> None:
        for obj, previous in zip(self._objects, self._previous, strict=True):
            obj.blockSignals(previous)


# -- the view the app installs -------------------------------------------------------------


class LibraryView(QWidget):
    """The library as the main window shows it, driven by the app's ``AppContext``.

    On sign-in it opens the user's private listing and thumbnail caches and a
    :class:`LibraryWidget` over ``ctx.api``; on sign-out it removes the widget and deletes the
    caches (and the resume positions). ``ctx.online_changed`` hints are forwarded.
    """

    playRequested = Signal(object)  # Video
    videoUpdated = Signal(object)  # Video
    videoRemoved = Signal(str)  # video id

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.library: LibraryWidget | None = None
        self._local_items: list[LocalQueueItem] = []
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._empty = QLabel("Sign in to see your recordings.")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self._empty)
        ctx.signed_in.connect(self._on_signed_in)
        ctx.signed_out.connect(self._on_signed_out)
        ctx.settings_changed.connect(lambda _s: self._close_library())
        ctx.online_changed.connect(self._on_online)
        if getattr(ctx, "user", None) is not None:
            self._on_signed_in(ctx.user)

    def _on_signed_in(self, user: Any) -> None:
        self._close_library()
        api = self.ctx.api
        if api is None:
            return
        user_id = str(getattr(user, "sub", "") or getattr(user, "username", ""))
        cache_dir = self.ctx.paths.cache_dir
        cache: LibraryCache | None
        try:
            cache = LibraryCache(cache_dir, user_id)
        except (OSError, ValueError) as exc:
            log.warning("Offline listing cache unavailable: %s", exc)
            cache = None
        thumbnails = ThumbnailCache(cache_dir, user_id) if user_id else None
        library = LibraryWidget(api, self.ctx.tasks, cache=cache, thumbnails=thumbnails)
        library.playRequested.connect(self.playRequested)
        library.videoUpdated.connect(self.videoUpdated)
        library.videoRemoved.connect(self.videoRemoved)
        self._empty.setVisible(False)
        self._layout.addWidget(library)
        self.library = library
        if self._local_items:
            library.set_local_items(self._local_items)
        library.start()

    def _close_library(self) -> None:
        library = self.library
        if library is None:
            return
        self.library = None
        library.shutdown()
        if library.cache is not None:
            library.cache.close()
        library.setParent(None)
        library.deleteLater()
        self._empty.setVisible(True)

    def _on_signed_out(self) -> None:
        self._close_library()
        paths = self.ctx.paths

        def clear() -> None:
            from medispecs_desktop.core import library_cache, thumbnail_cache
            from medispecs_desktop.ui import positions

            library_cache.clear_all(paths.cache_dir)
            thumbnail_cache.clear_all(paths.cache_dir)
            positions.clear_all(paths.data_dir)

        _submit(self.ctx.tasks, API_KIND, clear, None,
                           lambda exc: log.warning("Could not clear the caches: %s", exc))

    def _on_online(self, online: bool) -> None:
        if self.library is not None:
            self.library.set_network_available(online)

    def refresh(self) -> None:
        if self.library is not None:
            self.library.refresh()

    def insert_new(self) -> None:
        """Hook for the upload queue: finished uploads join the list (no reset)."""
        if self.library is not None:
            self.library.insert_new()

    def set_local_items(self, items: Sequence[LocalQueueItem]) -> None:
        """Hook for the upload queue: its jobs not yet in the cloud listing."""
        self._local_items = list(items)
        if self.library is not None:
            self.library.set_local_items(self._local_items)


def install_library_views(window: Any, ctx: Any) -> tuple[LibraryView, Any]:
    """Plug the library and the player into the main window (called by ``install_views``):
    double-click/Play opens the player, View ▸ Refresh (F5) reloads the library, and the
    player's shortcuts are listed in the View menu (and so in Help ▸ Keyboard shortcuts)."""
    from medispecs_desktop.ui.player import PlayerView

    library = LibraryView(ctx)
    player = PlayerView(ctx)
    library.playRequested.connect(player.open_video)
    # the player follows edits of the open recording: renamed, or deleted
    library.videoUpdated.connect(player.controller.update_video)
    library.videoRemoved.connect(player.controller.forget_video)
    window.refresh_requested.connect(library.refresh)
    window.set_library_view(library)
    window.set_player_view(player)
    menu = getattr(window, "view_menu", None)
    if menu is not None:
        menu.addSeparator()
        menu.addActions(player.actions_for_menu())
    return library, player
