"""The library's table model: a Qt adapter over a plain Python list of :class:`Video` (as
napari does). Pages come from the API (``canFetchMore``/``fetchMore`` with the cursor, newest
first) on the task runner and are appended on the GUI thread; recordings still in the local
upload queue show on top with their queue state (:meth:`VideoTableModel.set_local_items`).
Paging and merge rules are :mod:`medispecs_desktop.core.library`'s; thumbnails are
:class:`~.thumbnails.ThumbnailQueue`'s."""

from __future__ import annotations

import concurrent.futures as cf
import functools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from medispecs_desktop.core.formatting import format_duration, format_local_time, format_size
from medispecs_desktop.core.library import (
    LOCAL_STATUS_SORT,
    LibraryQuery,
    LocalQueueItem,
    Paging,
    damaged_tip,
    merge_plan,
    sort_key,
    status_text,
)
from medispecs_desktop.core.library_cache import CachedListing
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.library.common import (
    API_KIND,
    COL_DEVICE,
    COL_DURATION,
    COL_RECORDED,
    COL_SIZE,
    COL_STATUS,
    COL_THUMB,
    COL_TITLE,
    HEADERS,
    LOCAL_ITEM_ROLE,
    SORT_COLUMNS,
    SORT_ROLE,
    STATUS_COLOR,
    VIDEO_ID_ROLE,
    VIDEO_ROLE,
    FetchPage,
    PageLike,
    submit,
)
from medispecs_desktop.ui.library.thumbnails import ThumbnailQueue
from medispecs_desktop.ui.tasks import TasksLike

_ROOT = QModelIndex()
# the roles data() answers (any other is None at once)
_ROLES = frozenset({
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole, SORT_ROLE, VIDEO_ROLE,
    VIDEO_ID_ROLE, LOCAL_ITEM_ROLE,
})
_ROW_FLAGS = (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
              | Qt.ItemFlag.ItemNeverHasChildren)
AHEAD = 2  # pages asked for beyond the rows shown while the view pages
_CHAIN_WAIT = 300.0  # s a page fetched ahead waits for the cursor of the one before it
_TEXTS_KEPT = 4096  # rows whose cell texts are kept formatted (those recently painted)


class VideoTableModel(QAbstractTableModel):
    """Rows = local queue items (not yet known to the server) then the server's recordings."""

    loadingChanged = Signal(bool)
    pageLoaded = Signal(int)  # rows added (0 for an empty page)
    loadFailed = Signal(object)  # the exception
    listingReplaced = Signal()  # a fresh first page (or the cache) replaced the rows
    pageAppended = Signal(object)  # list[Video]: the rows a further page added
    localRowsLeaving = Signal(object)  # set[str]: ids of upload-queue rows about to go

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
        self._text_cache: dict[str, tuple[Video, tuple[str | None, ...]]] = {}
        self._local: list[LocalQueueItem] = []
        self._all_local: list[LocalQueueItem] = []
        self._paging = Paging()
        # pages asked for beyond the rows shown once the view pages (fetchMore), in order;
        # an answer waits there until the view wants it (_wanted: it asked, nothing shown yet)
        self._links: deque[_Link] = deque()
        self._wanted = False
        self._inserting = False
        self.last_error: BaseException | None = None
        self.thumbnails = ThumbnailQueue(tasks, thumbnail_loader,
                                         max_in_memory=max_thumbnails_in_memory,
                                         max_jobs=max_thumbnail_jobs, kind=kind, parent=self)
        self.thumbnails.loaded.connect(self._thumbnail_loaded)

    # -- Qt model API ----------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._local) + len(self._videos)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(HEADERS):
            if role == Qt.ItemDataRole.DisplayRole:
                return HEADERS[section]
            if role == Qt.ItemDataRole.ToolTipRole and section == COL_RECORDED:
                return "Recording time in this computer's time zone"
            if role == Qt.ItemDataRole.AccessibleTextRole:
                return HEADERS[section] or "Thumbnail"
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        return _ROW_FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(
        self,
        index: QModelIndex | QPersistentModelIndex,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        # A view asks every cell for 7 roles (display, decoration, font, alignment, colours,
        # check state) each time it paints it: the roles this model never answers go first
        # and cheaply (4 of the 7 calls while the library scrolls).
        if role not in _ROLES or not index.isValid():
            return None
        row, col = index.row(), index.column()
        local_count = len(self._local)
        if not (0 <= row < local_count + len(self._videos) and 0 <= col < len(HEADERS)) \
                or index.model() is not self:
            return None
        if row < local_count:
            return self._local_data(self._local[row], col, role)
        return self._video_data(self._videos[row - local_count], col, role)

    def _video_data(self, video: Video, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts(video)[col]
        if role == Qt.ItemDataRole.DecorationRole and col == COL_THUMB:
            return self.thumbnails.pixmap(video)
        if role == SORT_ROLE:
            return self.sort_key_of(video, col)
        if role == VIDEO_ROLE:
            return video
        if role == VIDEO_ID_ROLE:
            return video.video_id
        if role == Qt.ItemDataRole.ForegroundRole and col == COL_STATUS:
            return _status_color(video.status)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_STATUS and video.damaged:
                return damaged_tip(video)
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

    def _texts(self, video: Video) -> tuple[str | None, ...]:
        """The row's cell texts, formatted once (a local time costs ~35 us, and a scrolled
        page paints each cell several times); a changed recording is a new object."""
        kept = self._text_cache.get(video.video_id)
        if kept is not None and kept[0] is video:
            return kept[1]
        if len(self._text_cache) >= _TEXTS_KEPT:
            self._text_cache.clear()
        texts = tuple(_video_text(video, col) for col in range(len(HEADERS)))
        self._text_cache[video.video_id] = (video, texts)
        return texts

    def _local_data(self, item: LocalQueueItem, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return _local_text(item, col)
        if role == Qt.ItemDataRole.DecorationRole and col == COL_THUMB:
            return self.thumbnails.placeholder
        if role == SORT_ROLE:
            return self.sort_key_of(item, col)
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

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> bool:
        return not parent.isValid() and self._paging.can_fetch_more()

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> None:
        if not self.canFetchMore(parent):
            return
        if self._links and self._links[0].error is not None:
            self._drop_ahead(settle=False)  # failed while nobody waited: asked again
        self._wanted = True  # shown as soon as it is here (at once if it is)
        self._set_loading(True)
        self._fill()
        if not self._links:  # the app is quitting: nothing was asked for
            self._drop_ahead()
        self._show_head()

    @property
    def pages_ahead(self) -> int:
        """Pages fetched ahead of the rows shown and waiting for the view (0 to AHEAD)."""
        return sum(1 for link in self._links if link.done and link.page is not None)

    @property
    def pages_asked_ahead(self) -> int:
        """Pages asked for beyond the rows shown, arrived or on their way (0 to AHEAD)."""
        return len(self._links)

    def _fill(self) -> None:
        """While the view pages, keep AHEAD pages asked for beyond the rows shown: each one's
        request starts on its worker as soon as the page before it has its cursor (not once
        that page's rows are in and the view asked again), so the GUI thread's work on one
        page overlaps the next page's round trip, as ``list --all`` does."""
        paging = self._paging
        if paging.stale or not paging.has_more:
            return
        while len(self._links) < AHEAD:
            if self._links:
                last = self._links[-1]
                if last.done and (last.page is None or last.page.next_cursor is None):
                    return  # the end (or a failure) is known: nothing after it
                cursor_in = last.cursor_out
            else:
                cursor_in = cf.Future()
                cursor_in.set_result(paging.next_cursor)
            link = _Link(cursor_in)
            generation = paging.generation
            work = functools.partial(_fetch_link, link, self._fetch_page, self._query)
            self._links.append(link)
            if not submit(self._tasks, self._kind, work,
                          functools.partial(self._link_done, generation, link),
                          functools.partial(self._link_failed, generation, link)):
                self._links.pop()
                link.drop()
                return

    def _link_done(self, generation: int, link: _Link, page: PageLike | None) -> None:
        if not self._paging.current(generation) or link not in self._links:
            return  # dropped: a new listing, an offline copy, sign-out
        link.done, link.page = True, page
        self._show_head()

    def _link_failed(self, generation: int, link: _Link, exc: BaseException) -> None:
        if not self._paging.current(generation) or link not in self._links:
            return
        link.done, link.error = True, exc
        self._show_head()

    def _show_head(self) -> None:
        """The first page fetched ahead, once here: shown if the view asked for it."""
        if not self._links or not self._links[0].done or self._inserting:
            return
        head = self._links[0]
        if head.error is not None:  # the pages after it never started
            wanted = self._wanted
            self._drop_ahead(settle=False)
            if wanted:  # the user is waiting for it: say so, as for any page
                self._on_failed(self._paging.generation, head.error)
            return  # else: nobody asked yet; the view's next fetchMore asks again
        if head.page is None or head.cursor != self._paging.next_cursor:
            self._drop_ahead()  # the listing moved on without it
            return
        if not self._wanted:
            return  # it waits for the view
        self._wanted = False
        self._links.popleft()
        self._on_page(self._paging.generation, head.page, False)
        # the view is at the end: a page already here behind it goes in too (the view would
        # ask for it at its next scroll step anyway); pages still on their way wait their turn
        if self._links and self._links[0].done and self._links[0].page is not None:
            self._wanted = self._paging.can_fetch_more()
            self._show_head()

    # -- loading ---------------------------------------------------------------------------

    @property
    def query(self) -> LibraryQuery:
        return self._query

    @property
    def loading(self) -> bool:
        return self._paging.loading

    @property
    def has_more(self) -> bool:
        return self._paging.has_more

    @property
    def paging(self) -> Paging:
        """The paging state (a plain object: workers may read ``stale``)."""
        return self._paging

    @property
    def stale(self) -> bool:
        return self._paging.stale

    @property
    def videos(self) -> list[Video]:
        """A copy of the server rows, in order."""
        return list(self._videos)

    @property
    def next_cursor(self) -> str | None:
        return self._paging.next_cursor

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
        generation = self._paging.begin(replace=replace)
        if replace:  # a new listing: what was fetched ahead belongs to the old one
            self._drop_ahead(settle=False)
        query = self._query
        self._set_loading(True)
        fetch = self._fetch_page

        def work() -> PageLike:
            return fetch(query, cursor)

        if not submit(
            self._tasks,
            self._kind,
            work,
            lambda page: self._on_page(generation, page, replace, merge),
            lambda exc: self._on_failed(generation, exc),
        ):
            self._set_loading(False)

    def _drop_ahead(self, *, settle: bool = True) -> None:
        """Forget the pages asked for ahead (those not started yet never start); ``settle``:
        a view waiting for one is told loading is over (it may ask again)."""
        for link in self._links:
            link.drop()
        self._links.clear()
        if self._wanted:
            self._wanted = False
            if settle:
                self._set_loading(False)

    def close(self) -> None:
        """Sign-out / teardown: answers still on their way (pages, thumbnails) are dropped."""
        self._paging.drop_answers()
        self._drop_ahead(settle=False)
        self.thumbnails.close()

    def _on_page(self, generation: int, page: PageLike, replace: bool,
                 merge: bool = False) -> None:
        if not self._paging.current(generation):
            return
        items = [v for v in page.items if isinstance(v, Video)]
        if merge:
            if not self._videos:  # nothing listed yet: this page starts the paging
                self._paging.page_arrived(page.next_cursor)
            self._merge(items)
            self._set_loading(False)
            self.pageLoaded.emit(len(items))
            return
        self._paging.page_arrived(page.next_cursor)
        self.last_error = None
        if replace:
            self.beginResetModel()
            self._videos = []
            self._rows = {}
            self._paging.stale = False
            self.thumbnails.retry_failed()
            self._append(items)
            self._local = self._visible_local(self._all_local)
            self.endResetModel()
            self._set_loading(False)
            self.listingReplaced.emit()
        else:
            fresh = [v for v in items if v.video_id not in self._rows]
            self._hide_local({v.video_id for v in fresh})
            # done before the rows go in: a view may ask for more from inside endInsertRows
            # (that request's own loading state must survive)
            self._set_loading(False)
            self._fill()  # the view is paging: the pages after it come while it scrolls
            if fresh:
                first = self.rowCount()
                self._inserting = True  # a page the view asks for meanwhile waits its turn
                try:
                    self.beginInsertRows(_ROOT, first, first + len(fresh) - 1)
                    self._append(fresh)
                    self.endInsertRows()
                finally:
                    self._inserting = False
            if fresh:
                self.pageAppended.emit(fresh)
        self.pageLoaded.emit(len(items))
        if not replace:
            self._show_head()  # asked for while these rows went in, and already here

    def _merge(self, items: Sequence[Video]) -> None:
        """A fresh first page into the rows shown (see :func:`core.library.merge_plan`)."""
        self._hide_local({v.video_id for v in items})
        for at, video, update in merge_plan([v.video_id for v in self._videos], items):
            row = len(self._local) + at
            if update:
                if self._videos[at] == video:
                    continue  # as shown: no repaint
                self._videos[at] = video
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))
                continue
            self.beginInsertRows(_ROOT, row, row)
            self._videos.insert(at, video)
            for i in range(at, len(self._videos)):
                self._rows[self._videos[i].video_id] = i
            self.endInsertRows()

    def _append(self, items: Sequence[Video]) -> None:
        for video in items:
            if video.video_id in self._rows:
                continue
            self._rows[video.video_id] = len(self._videos)
            self._videos.append(video)

    def _on_failed(self, generation: int, exc: BaseException) -> None:
        if not self._paging.current(generation):
            return
        self.last_error = exc
        self._set_loading(False)
        self.loadFailed.emit(exc)

    def _set_loading(self, value: bool) -> None:
        if self._paging.loading != value:
            self._paging.loading = value
            self.loadingChanged.emit(value)

    def load_cached(self, listing: CachedListing) -> None:
        """Show an offline copy, marked stale (no paging) until a first page replaces it.
        A first-page request in flight is kept: its answer replaces the copy."""
        self.beginResetModel()
        self._videos = []
        self._rows = {}
        self._append(listing.videos)
        self._drop_ahead()  # pages fetched ahead followed other rows
        self._paging.page_arrived(listing.next_cursor)
        self._paging.stale = True
        self._local = self._visible_local(self._all_local)
        self.endResetModel()
        self.listingReplaced.emit()

    def mark_stale(self, stale: bool = True) -> None:
        self._paging.stale = stale

    def title_at(self, row: int) -> str:
        local_count = len(self._local)
        if 0 <= row < local_count:
            return self._local[row].title
        index = row - local_count
        return self._videos[index].title if 0 <= index < len(self._videos) else ""

    def sort_key_of(self, row: Video | LocalQueueItem, col: int) -> Any:
        column = SORT_COLUMNS.get(col, "recorded")
        if isinstance(row, LocalQueueItem):
            return sort_key(column, row.title, row.recorded_at or "", row.duration_sec,
                            row.file_size_bytes, row.device_id, LOCAL_STATUS_SORT)
        return sort_key(column, row.title, row.recorded_at, row.duration_sec,
                        row.file_size_bytes, row.device_id, row.status)

    def sort_key(self, row: int, col: int) -> Any:
        local_count = len(self._local)
        if 0 <= row < local_count:
            return self.sort_key_of(self._local[row], col)
        return self.sort_key_of(self._videos[row - local_count], col)

    def display_text(self, row: int, col: int) -> str:
        """What the view shows in ``row``/``col`` (for delegates; never None)."""
        local_count = len(self._local)
        if 0 <= row < local_count:
            return _local_text(self._local[row], col) or ""
        if 0 <= row - local_count < len(self._videos):
            return self._texts(self._videos[row - local_count])[col] or ""
        return ""

    # -- row access and edits --------------------------------------------------------------

    def video_at(self, row: int) -> Video | None:
        index = row - len(self._local)
        if 0 <= index < len(self._videos):
            return self._videos[index]
        return None

    def local_item_at(self, row: int) -> LocalQueueItem | None:
        return self._local[row] if 0 <= row < len(self._local) else None

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
        self.beginRemoveRows(_ROOT, row, row)
        del self._videos[index]
        self._rows = {v.video_id: i for i, v in enumerate(self._videos)}
        self.endRemoveRows()
        self.thumbnails.forget(video_id)
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
            changed: list[int] = []
            for row, item in enumerate(visible):  # new queue items: rows come, no reset
                if row < len(self._local) and self._local[row].video_id == item.video_id:
                    if _local_shown(self._local[row]) != _local_shown(item):
                        changed.append(row)  # repaint only what looks different
                    self._local[row] = item
                    continue
                self.beginInsertRows(_ROOT, row, row)
                self._local.insert(row, item)
                self.endInsertRows()
            if changed:
                self.dataChanged.emit(self.index(min(changed), 0),
                                      self.index(max(changed), len(HEADERS) - 1))
            return
        # the queue's order changed (a failed upload goes below the running ones, "upload
        # next"): its rows go and come back in the new order, never a reset, which would
        # drop the selection of the recording the user is editing below them
        if self._local:
            self.localRowsLeaving.emit({i.video_id for i in self._local})
            self.beginRemoveRows(_ROOT, 0, len(self._local) - 1)
            self._local = []
            self.endRemoveRows()
        if visible:
            self.beginInsertRows(_ROOT, 0, len(visible) - 1)
            self._local = visible
            self.endInsertRows()

    def _visible_local(self, items: Sequence[LocalQueueItem]) -> list[LocalQueueItem]:
        return [i for i in items if i.video_id not in self._rows]

    def _hide_local(self, ids: set[str]) -> None:
        leaving = {i.video_id for i in self._local} & ids
        if leaving:
            self.localRowsLeaving.emit(leaving)
        for i in range(len(self._local) - 1, -1, -1):
            if self._local[i].video_id in ids:
                self.beginRemoveRows(_ROOT, i, i)
                del self._local[i]
                self.endRemoveRows()

    # -- thumbnails ------------------------------------------------------------------------

    def _thumbnail_loaded(self, video_id: str) -> None:
        row = self.row_of(video_id)
        if row >= 0:
            idx = self.index(row, COL_THUMB)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def retry_thumbnails(self) -> None:
        """After the network returns: let failed thumbnails try again when painted."""
        self.thumbnails.retry_failed()
        if self.rowCount():
            self.dataChanged.emit(
                self.index(0, COL_THUMB),
                self.index(self.rowCount() - 1, COL_THUMB),
                [Qt.ItemDataRole.DecorationRole],
            )

    def thumbnails_loaded(self) -> int:
        return self.thumbnails.count()


class _Link:
    """A page asked for ahead of the rows shown. A plain object (what a worker holds): the
    cursor it fetches comes from the page before it (``cursor_in``), and its own next cursor
    goes to the page after it (``cursor_out``: None when there is none or it was not fetched)."""

    def __init__(self, cursor_in: cf.Future[str | None]) -> None:
        self.cursor_in = cursor_in
        self.cursor_out: cf.Future[str | None] = cf.Future()
        self.cursor: str | None = None  # the cursor it was fetched with
        self.dropped = False
        self.done = False
        self.page: PageLike | None = None
        self.error: BaseException | None = None

    def drop(self) -> None:
        self.dropped = True


def _fetch_link(link: _Link, fetch: FetchPage, query: LibraryQuery) -> PageLike | None:
    """On a worker: wait for the page before to have its cursor, then fetch this one (nothing
    when the listing was dropped meanwhile or there is no page after)."""
    page: PageLike | None = None
    try:
        try:
            cursor = link.cursor_in.result(timeout=_CHAIN_WAIT)
        except (cf.TimeoutError, cf.CancelledError):
            cursor = None
        if cursor is not None and not link.dropped:
            link.cursor = cursor
            page = fetch(query, cursor)
    finally:  # the page after it never waits in vain
        link.cursor_out.set_result(page.next_cursor if page is not None else None)
    return page


@functools.lru_cache(maxsize=32)
def _status_color(status: str) -> QColor:
    return QColor(STATUS_COLOR.get(status, "#444444"))


def _video_text(video: Video, col: int) -> str | None:
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
        return status_text(video)
    return None


def _local_shown(item: LocalQueueItem) -> tuple[LocalQueueItem, str]:
    """What a queue row shows: every field but the progress, which shows as a whole percent
    in the status text (bytes that move it by less change nothing on screen)."""
    return replace(item, progress=None), item.status_text()


def _local_text(item: LocalQueueItem, col: int) -> str | None:
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


def local_item_for_index(index: QModelIndex | QPersistentModelIndex) -> LocalQueueItem | None:
    found = source_row(index)
    return found[0].local_item_at(found[1]) if found is not None else None
