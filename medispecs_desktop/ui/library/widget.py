"""The library widget: filter bar, table/grid and the details pane, wired to the API through
the task runner.

Offline: the last listing comes from the user's :class:`LibraryCache` at once, marked stale;
network-only actions are disabled with a reason. Whether the service is reachable is the
app's one :class:`~medispecs_desktop.ui.online.OnlineMonitor`'s to say: the widget reports
what its requests saw and follows the monitor (it refreshes when the network is back).

Widgets never create threads: all I/O goes through the app's task runner.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from typing import Protocol

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal, SignalInstance
from PySide6.QtGui import QAction, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.errors import ConflictError, NotFoundError, OfflineError
from medispecs_desktop.core.library import (
    PAGE_SIZE,
    LibraryQuery,
    LocalQueueItem,
    Paging,
    banner_text,
    delete_confirmation_text,
    local_date_range_to_utc,
    play_refusal,
)
from medispecs_desktop.core.library_cache import CachedListing, LibraryCache
from medispecs_desktop.core.local_copies import video_for_local_item
from medispecs_desktop.core.messages import describe_error
from medispecs_desktop.core.models import Video
from medispecs_desktop.core.thumbnail_cache import ThumbnailCache
from medispecs_desktop.ui.access_history import AccessHistoryPanel
from medispecs_desktop.ui.dropzone import refuse_file_drops
from medispecs_desktop.ui.library.anchor import ScrollAnchor
from medispecs_desktop.ui.library.common import (
    API_KIND,
    COL_RECORDED,
    COL_THUMB,
    COL_TITLE,
    LibraryApi,
    PageLike,
    submit,
)
from medispecs_desktop.ui.library.details import VideoDetailsPane
from medispecs_desktop.ui.library.filters import FilterBar
from medispecs_desktop.ui.library.keeper import SelectionKeeper
from medispecs_desktop.ui.library.model import (
    VideoTableModel,
    local_item_for_index,
    video_for_index,
)
from medispecs_desktop.ui.library.offline import ListingCacheWriter
from medispecs_desktop.ui.library.proxy import LibraryProxyModel
from medispecs_desktop.ui.library.readiness import ReadinessPoller
from medispecs_desktop.ui.library.views import LibraryGridView, LibraryTableView
from medispecs_desktop.ui.online import OnlineMonitor
from medispecs_desktop.ui.tasks import TasksLike

log = logging.getLogger(__name__)


class OnlineSource(Protocol):
    """What the library needs of the app's online monitor."""

    online: bool | None
    online_changed: SignalInstance

    def set_online(self, online: bool) -> None: ...


def confirm_move_to_trash(parent: QWidget, text: str) -> bool:
    from medispecs_desktop.ui.confirm import ask

    return ask(parent, title="Move to Trash", text=text, action="Move to Trash",
               name="confirmMoveToTrash")


class LibraryWidget(QWidget):
    """Filter bar + table/grid + details pane (see the module doc)."""

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
        online: OnlineSource | None = None,
        cache: LibraryCache | None = None,
        thumbnails: ThumbnailCache | None = None,
        page_size: int = PAGE_SIZE,
        probe_interval_ms: int = 10_000,
        confirm: Callable[[QWidget, str], bool] | None = None,
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        # local first: the upload queue has this videoId's file (set by the composition)
        self.has_local_copy: Callable[[str], bool] | None = None
        self.api = api
        self.tasks = tasks
        self.cache = cache
        self.thumbnails = thumbnails
        self._confirm = confirm or confirm_move_to_trash
        self._clock = clock
        if online is None:  # on its own (tests, tools): a monitor of its own API
            online = OnlineMonitor(tasks, lambda: api, offline_interval_ms=probe_interval_ms,
                                   watch_os=False, parent=self)
        self.net = online
        self.online = online.online is not False
        self._cached_at: float | None = None
        self._started = False
        self._cache_writer = (ListingCacheWriter(cache, tasks, self)
                              if cache is not None else None)

        def fetch(query: LibraryQuery, cursor: str | None) -> PageLike:
            page: PageLike = api.list_videos(
                date_from=query.date_from, date_to=query.date_to, limit=query.limit, cursor=cursor
            )
            return page

        self.model = VideoTableModel(fetch, tasks, query=LibraryQuery(limit=page_size),
                                     parent=self)
        if thumbnails is not None:
            # what runs on a worker holds no Qt object (a widget's last reference must never
            # go away on a worker thread): the cache and the paging state only
            self.model.thumbnails.set_loader(
                partial(load_thumbnail, thumbnails, self.model.paging))
        self.model.thumbnails.set_in_view(self._row_in_view)  # rows scrolled past: none
        self.proxy = LibraryProxyModel(self)
        self.proxy.setSourceModel(self.model)
        # rows the server is still processing turn ready by themselves (core.readiness)
        self.readiness = ReadinessPoller(self.model, getattr(api, "get_video", None), tasks,
                                         online=lambda: self.online, parent=self)
        self.readiness.videoChanged.connect(self._on_server_update)

        self.filters = FilterBar()
        self.search = self.filters.search
        self.date_filter = self.filters.date_filter
        self.date_from = self.filters.date_from
        self.date_to = self.filters.date_to
        self.refresh_button = self.filters.refresh_button
        self.view_toggle = self.filters.view_toggle

        self.banner = QLabel("")
        self.banner.setObjectName("libraryBanner")
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
        # rows that come or go above what the user looks at (uploads) do not move it
        self.anchors = (ScrollAnchor(self.table), ScrollAnchor(self.grid))
        self.stack = QStackedWidget()
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.grid)

        self.details = VideoDetailsPane()
        self.access_history = AccessHistoryPanel(getattr(api, "history", None), tasks,
                                                 describe_error)
        self.details.sections.addWidget(self.access_history)
        self.details.videoShown.connect(
            lambda v: self.access_history.set_video_id(v.video_id if v else None))
        self.details.videoShown.connect(self._on_video_shown)
        self._showing_video = False
        splitter = QSplitter(Qt.Orientation.Vertical)  # list above, details below
        splitter.setChildrenCollapsible(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.stack)
        left_layout.addWidget(self._build_empty_state())
        left_layout.addWidget(self.count_label)
        splitter.addWidget(left)
        self._list_part = left
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter
        self._split_sized = False

        layout = QVBoxLayout(self)
        layout.addWidget(self.filters)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)

        # wiring
        self.filters.searchChanged.connect(self._on_search)
        self.filters.datesChanged.connect(self._apply_dates)
        self.filters.viewToggled.connect(self._on_view_toggled)
        self.refresh_button.clicked.connect(self.refresh)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)
        # the recording chosen stays selected, and its unsaved edits in the pane, while the
        # list changes under it (uploads finishing, listings merged or replaced)
        self.keeper = SelectionKeeper(self.model, self.proxy, self.table, self.details, self)
        for view in (self.table, self.grid):
            view.doubleClicked.connect(self._on_activated)
            view.playPressed.connect(self._on_activated)
        self._build_row_actions()
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
        online.online_changed.connect(self._apply_online)
        # a file dragged over the search box or the title/notes goes to the upload queue
        refuse_file_drops(self)

    def _build_row_actions(self) -> None:
        """What a row offers on the keyboard (while the list has the focus) and in its
        right-click menu: Play (Enter/Space), Edit title and notes (F2), Move to Trash
        (Delete)."""
        self.action_play = QAction("Play", self)
        self.action_play.triggered.connect(
            lambda: self._on_activated(self.table.selectionModel().currentIndex()))
        self.action_edit = QAction("Edit title and notes", self)
        self.action_edit.setShortcut(QKeySequence(Qt.Key.Key_F2))
        self.action_edit.triggered.connect(self.edit_current)
        self.action_delete = QAction("Move to Trash…", self)
        self.action_delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.action_delete.triggered.connect(self.delete_current)
        for action in (self.action_edit, self.action_delete):
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        for view in (self.table, self.grid):
            view.addActions([self.action_play, self.action_edit, self.action_delete])

    def _build_empty_state(self) -> QWidget:
        """Shown instead of an empty list: why it is empty and what to do."""
        self.empty_state = QWidget()
        self.empty_state.setObjectName("libraryEmptyState")
        self.empty_label = QLabel("")
        self.empty_label.setObjectName("placeholder")
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.clear_search_button = QPushButton("Clear search")
        self.clear_search_button.setAccessibleName("Clear search")
        self.clear_search_button.clicked.connect(self.clear_search)
        layout = QVBoxLayout(self.empty_state)
        layout.addStretch(1)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.clear_search_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self.empty_state.setVisible(False)
        return self.empty_state

    def clear_search(self) -> None:
        self.search.clear()
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)

    def row_actions(self) -> list[QAction]:
        return [self.action_play, self.action_edit, self.action_delete]

    def edit_current(self) -> None:
        if self.details.video is not None:
            self.details.title_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.details.title_edit.selectAll()

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
        for part in (*content.findChildren(QWidget), content):  # folded parts: measure anew
            layout = part.layout()
            if layout is not None:
                layout.invalidate()
                layout.activate()
        want = content.sizeHint().height()
        list_min = self._list_part.minimumSizeHint().height()
        details = max(120, min(want + 4, int(total * self.DETAILS_SHARE), total - list_min))
        self.splitter.setSizes([max(1, total - details), details])

    def _on_video_shown(self, video: Video | None) -> None:
        """The pane turns from its one-line hint into the editor (or back): it gets the
        height its title, notes and buttons need (within the list's minimum and the share)."""
        showing = video is not None
        if showing != self._showing_video and self._split_sized:
            QTimer.singleShot(0, self, self._fit_details)
        self._showing_video = showing

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
            submit(self.tasks, API_KIND, cache.load_listing, self._on_cache_loaded,
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
        if model.last_error is not None or not self.online:
            self._show_banner()

    def _on_loading(self, loading: bool) -> None:
        self.filters.set_loading(loading)  # the button says "Loading…"

    def _on_page_loaded(self, count: int) -> None:
        if not self.online:
            self.net.set_online(True)  # a page came through: the service answers
        self._cached_at = None
        self.banner.setVisible(False)
        self._update_count()

    def _on_listing_replaced(self) -> None:
        self._update_count()
        self.keeper.reselect()
        writer = self._cache_writer
        if writer is not None and not self.model.stale:
            writer.save_listing(self.model.videos, self.model.query, self.model.next_cursor)

    def _on_page_appended(self, videos: list[Video]) -> None:
        writer = self._cache_writer
        if writer is None or self.model.stale or not videos:
            return
        writer.append(videos, self.model.next_cursor)

    def _on_load_failed(self, exc: BaseException) -> None:
        if isinstance(exc, OfflineError):
            self.model.mark_stale(True)
            self.net.set_online(False)  # evidence for the app's one online monitor
        self._show_banner(None if isinstance(exc, OfflineError) else describe_error(exc))

    def _show_banner(self, problem: str | None = None) -> None:
        text = banner_text(online=self.online, stale=self.model.stale,
                           saved_at=self._cached_at, problem=problem)
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def _apply_online(self, online: bool) -> None:
        """The app's online monitor changed its mind."""
        if online == self.online:
            return
        self.online = online
        self.details.set_online(online, "" if online else self.OFFLINE_REASON)
        if online:
            self.model.retry_thumbnails()
            if self.model.stale or self.model.last_error is not None:
                self.status.emit("Back online: refreshing the library.")
                self.refresh()
        else:
            self.model.mark_stale(True)
            self._show_banner()
        self.onlineChanged.emit(online)

    # -- filters ---------------------------------------------------------------------------

    def _on_search(self, text: str) -> None:
        self.proxy.set_search(text)
        self._update_count()

    def _apply_dates(self) -> None:
        start, end = self.filters.date_range()
        date_from, date_to = local_date_range_to_utc(start, end)
        query = LibraryQuery(date_from, date_to, self.model.query.limit)
        if query != self.model.query:
            self.model.set_query(query)

    def set_date_range(self, start: date | None, end: date | None) -> None:
        """Programmatic filter (tests, saved views): None/None = all dates."""
        self.filters.set_date_range(start, end)
        date_from, date_to = local_date_range_to_utc(start, end)
        self.model.set_query(LibraryQuery(date_from, date_to, self.model.query.limit))

    def _on_view_toggled(self, grid: bool) -> None:
        self.stack.setCurrentWidget(self.grid if grid else self.table)

    def _update_count(self) -> None:
        shown = self.proxy.rowCount()
        total = self.model.rowCount()
        more = " (scroll for more)" if self.model.has_more and not self.model.stale else ""
        if shown != total:
            text = f"{shown} of {total} recordings{more}"
        else:
            text = f"{total} recordings{more}"
        self.count_label.setText(text)
        self._update_empty_state(shown, total)

    def _update_empty_state(self, shown: int, total: int) -> None:
        needle = self.search.text().strip()
        if shown == 0 and total > 0 and needle:
            text = f"No recording’s title contains “{needle}”."
        elif total == 0 and not self.model.loading and self._started:
            text = ("No recordings here yet. Add videos with File › Add files… or drop them "
                    "on the window." if not self.filters.date_filter.isChecked() else
                    "No recordings in these dates.")
        else:
            text = ""
        self.empty_label.setText(text)
        self.clear_search_button.setVisible(bool(needle) and shown == 0 and total > 0)
        self.empty_state.setVisible(bool(text))
        self.stack.setVisible(not text)

    # -- selection and details -------------------------------------------------------------

    def current_video(self) -> Video | None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid():
            return None
        return video_for_index(index)

    def select_video(self, video_id: str) -> bool:
        index = self.keeper.view_index(video_id)
        if not index.isValid():
            return False
        self.keeper.select(index)
        return True

    def _row_in_view(self, video_id: str) -> bool:
        """Whether the recording's row is on screen in the list shown (a thumbnail's
        download starts only then); True while the list is not shown at all."""
        grid = self.stack.currentWidget() is self.grid
        view = self.grid if grid else self.table
        if not view.isVisible():
            return True
        row = self.model.row_of(video_id)
        if row < 0:
            return False
        # the grid shows the thumbnail column; the table's title column is never hidden
        index = self.proxy.mapFromSource(self.model.index(row, COL_THUMB if grid else COL_TITLE))
        if not index.isValid():
            return False
        rect, shown = view.visualRect(index), view.viewport().rect()
        return rect.isValid() and rect.bottom() >= shown.top() and rect.top() <= shown.bottom()

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid() and self.details.is_dirty():
            return  # no row current (its row not listed now): the pane keeps the unsaved edit
        self.details.set_video(video_for_index(current))

    def _on_activated(self, index: QModelIndex) -> None:
        """Double-click, Enter or Space on a row: play it, or say why it can't."""
        video = video_for_index(index)
        item = local_item_for_index(index)
        target = video if video is not None else (
            video_for_local_item(item) if item is not None else None)
        if target is not None and self.has_local_copy is not None \
                and self.has_local_copy(target.video_id):
            self.playRequested.emit(target)  # local first: its file here or on the card
            return
        uploading = video is None and item is not None
        why = play_refusal(video, online=self.online, uploading=uploading)
        if why:
            self.details.show_message(why, error=True)
            self.status.emit(why)
            return
        if video is not None:
            self.playRequested.emit(video)

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
            self.details.revert()  # the fields show what was saved (as the server keeps it)
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

        submit(self.tasks, API_KIND, work, done, failed)

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

        submit(self.tasks, API_KIND, lambda: api.get_video(video.video_id), done, failed)

    def delete_current(self) -> None:
        """The Delete key / the row menu: move the selected recording to the Trash."""
        video = self.details.video
        if video is not None and self.details.delete_button.isEnabled():
            self._delete(video)

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

        submit(self.tasks, API_KIND, lambda: api.delete_video(video.video_id), done, failed)

    def _removed(self, video: Video, message: str) -> None:
        row = self.model.row_of(video.video_id)
        view_row = (self.proxy.mapFromSource(self.model.index(row, COL_TITLE)).row()
                    if row >= 0 else -1)
        was_shown = (self.details.video is not None
                     and self.details.video.video_id == video.video_id)
        self.model.remove_video(video.video_id)
        if was_shown:
            self.details.set_video(None)
            self._select_after_removal(view_row)
        self.status.emit(message)
        self.details.show_message(message)
        writer = self._cache_writer
        if writer is not None:
            writer.remove(video.video_id)
        self.videoRemoved.emit(video.video_id)

    def _select_after_removal(self, view_row: int) -> None:
        """After a delete the next recording (or the last one) is selected and the list has
        the keyboard focus: Delete again goes on down the list."""
        count = self.proxy.rowCount()
        if view_row < 0 or count == 0:
            return
        index = self.proxy.index(min(view_row, count - 1), COL_TITLE)
        self.keeper.select(index)
        self.details.set_video(video_for_index(index))  # (Qt may have made it current)
        view = self.stack.currentWidget()
        if isinstance(view, QWidget):
            view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _on_server_update(self, video: Video) -> None:
        """The server finished a recording shown (its row is replaced already)."""
        self._cache_upsert(video)  # (the pane follows the row: SelectionKeeper)
        self.videoUpdated.emit(video)

    def _cache_upsert(self, video: Video) -> None:
        writer = self._cache_writer
        if writer is not None:
            writer.upsert(video)

    # -- local queue hook ------------------------------------------------------------------

    def set_local_items(self, items: Sequence[LocalQueueItem]) -> None:
        self.model.set_local_items(items)

    def shutdown(self) -> None:
        self.readiness.stop()
        if isinstance(self.net, OnlineMonitor) and self.net.parent() is self:
            self.net.stop()
        self.model.close()

    def unsaved(self) -> int:
        """Recordings with edits not saved: the one in the pane and those kept as drafts."""
        return len(self.details.drafts()) + (1 if self.details.is_dirty() else 0)

    def cache_idle(self) -> bool:
        """No offline-copy write waiting or running (tests, shutdown)."""
        return self._cache_writer is None or self._cache_writer.idle()


def load_thumbnail(thumbnails: ThumbnailCache, paging: Paging, video: Video) -> bytes | None:
    """A row's thumbnail through the disk cache (runs on a worker): downloaded unless an
    offline copy is shown, the cached bytes when the network is gone."""
    key = ThumbnailCache.key_for(video.video_id, video.thumbnail_s3_key)
    url = None if paging.stale else video.thumbnail_url
    try:
        return thumbnails.load(key, url)
    except OfflineError:
        return thumbnails.get(key)
