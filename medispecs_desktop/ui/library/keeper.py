"""The selected recording, and what the user typed into it, survive the list changing under
them (issue 16; clinical rule: unsaved work is never lost).

Finished uploads insert rows, the upload queue's rows on top come, go and reorder, pages are
merged and listings replaced. :class:`SelectionKeeper` keeps the details pane and the list's
selection on the recording the user chose through all of it:

* a reset (a listing replaced) drops Qt's selection without a signal: the recording shown is
  selected again; one not listed now (a later page, other dates) stays in the pane while it
  has unsaved edits, says so, and is selected again when a page brings its row back;
* the server's newer record of the recording shown (a merged listing, the readiness poll)
  replaces its row: the pane shows it, keeping what was typed - but with unsaved edits a
  record someone else edited (a new version) is not taken over unseen: saving says so;
* an upload's queue row selected while it ran goes when it is done (Qt would make the next
  row current and show another recording): its recording's row is selected when it comes;
* a search that hides the row being edited leaves no row current (not its neighbour): the
  pane keeps the edit, and the row is selected again when the search lists it.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject
from PySide6.QtWidgets import QAbstractItemView

from medispecs_desktop.ui.library.common import COL_TITLE
from medispecs_desktop.ui.library.details import VideoDetailsPane
from medispecs_desktop.ui.library.model import (
    VideoTableModel,
    local_item_for_index,
    video_for_index,
)
from medispecs_desktop.ui.library.proxy import LibraryProxyModel

__all__ = ["SelectionKeeper"]

UNLISTED_EDIT = ("This recording is not in the list as it is shown now. Your unsaved changes "
                 "are kept here: save them, or select “Revert” to discard them.")


class SelectionKeeper(QObject):
    """Keeps ``table``'s selection and ``details`` on the recording chosen (module doc)."""

    def __init__(self, model: VideoTableModel, proxy: LibraryProxyModel,
                 table: QAbstractItemView, details: VideoDetailsPane,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model, self.proxy, self.table, self.details = model, proxy, table, details
        self._awaiting: str | None = None  # the upload whose queue row was selected
        model.dataChanged.connect(self._on_rows_changed)
        model.localRowsLeaving.connect(self._on_local_rows_leaving)
        proxy.rowsInserted.connect(self._on_rows_inserted)
        proxy.searchChanging.connect(self._before_search)
        proxy.modelReset.connect(self.reselect)  # (the selection model's own slot runs first)
        table.selectionModel().currentRowChanged.connect(self._on_current_changed)

    def view_index(self, video_id: str) -> QModelIndex:
        """The recording's (or queued upload's) title cell in the list shown, if listed."""
        row = self.model.row_of(video_id)
        if row < 0:
            return QModelIndex()
        return self.proxy.mapFromSource(self.model.index(row, COL_TITLE))

    def select(self, index: QModelIndex, *, scroll: bool = True) -> None:
        selection = self.table.selectionModel()
        selection.setCurrentIndex(
            index, selection.SelectionFlag.ClearAndSelect | selection.SelectionFlag.Rows)
        if scroll:
            self.table.scrollTo(index)

    def reselect(self) -> None:
        """The listing was replaced (or reset): the recording shown is selected again, or kept
        in the pane with its unsaved edits while it is not listed."""
        video = self.details.video
        if video is None or self._shown_is_current():
            return
        index = self.view_index(video.video_id)
        if index.isValid():
            self.select(index)
        elif self.details.is_dirty():
            self.details.show_message(UNLISTED_EDIT)
        else:
            self.details.set_video(None)

    def _shown_is_current(self) -> bool:
        video = self.details.video
        current = video_for_index(self.table.selectionModel().currentIndex())
        return video is not None and current is not None and current.video_id == video.video_id

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self._awaiting = None  # the user (or the app) chose a row meanwhile

    def _before_search(self, needle: str) -> None:
        """A search is about to hide the row being edited: no row is current meanwhile (Qt
        would make its neighbour current, and the pane show that one); the pane keeps it."""
        video = self.details.video
        if video is None or not self.details.is_dirty() or not self._shown_is_current() \
                or self.proxy.title_matches(needle, video.title):
            return
        self.table.selectionModel().clear()
        self.details.show_message(UNLISTED_EDIT)

    def _on_local_rows_leaving(self, ids: set[str]) -> None:
        selection = self.table.selectionModel()
        item = local_item_for_index(selection.currentIndex())
        if item is not None and item.video_id in ids:
            self._awaiting = item.video_id
            selection.clear()  # no neighbour becomes current meanwhile

    def _on_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        """Rows came in (a page, a finished upload): the upload whose queue row was selected,
        or the recording shown whose row was not listed, is selected when it is among them
        (the list stays where the user has it)."""
        if parent.isValid():
            return
        awaiting = self._awaiting
        if awaiting is not None and not self.table.selectionModel().currentIndex().isValid():
            index = self.view_index(awaiting)
            if index.isValid() and first <= index.row() <= last:
                self._awaiting = None
                self.select(index, scroll=False)
                return
        video = self.details.video
        if video is None or self._shown_is_current():
            return
        index = self.view_index(video.video_id)
        if index.isValid() and first <= index.row() <= last:
            if self.details.message.text() == UNLISTED_EDIT:
                self.details.clear_message()
            self.select(index, scroll=False)

    def _on_rows_changed(self, top: QModelIndex, bottom: QModelIndex, *_roles: object) -> None:
        """The row of the recording shown has a newer record: the pane shows it."""
        shown = self.details.video
        if shown is None:
            return
        row = self.model.row_of(shown.video_id)
        if not top.row() <= row <= bottom.row():
            return
        latest = self.model.video_at(row)
        if latest is None or latest is shown or latest == shown:
            return
        same_version = latest.version == shown.version  # title and notes as they were
        if self.details.is_dirty() and not same_version:
            return  # someone else's edit: Save says so ("Reload latest"), nothing overwritten
        self.details.set_video(latest, keep_edits=same_version)
