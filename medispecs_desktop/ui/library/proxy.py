"""Client-side title search and sorting over the :class:`~.model.VideoTableModel`."""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)

from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.library.common import COL_RECORDED, COL_TITLE, SORT_ROLE
from medispecs_desktop.ui.library.model import VideoTableModel, video_for_index


class LibraryProxyModel(QSortFilterProxyModel):
    """Client-side title search (case-insensitive, any part of the title) and sorting.

    Both read the source model's Python list directly (no QVariant round trip per row and
    comparison), and "recorded, newest first" is the server's own order: no sort at all.
    That keeps opening a 10,000-row offline listing and searching it quick.
    """

    searchChanging = Signal(str)  # the new search, before its rows go or come

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
        self.searchChanging.emit(needle)
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

    @staticmethod
    def title_matches(needle: str, title: str) -> bool:
        """Whether a search for ``needle`` (as :meth:`searchChanging` gives it) lists it."""
        return not needle or needle in title.casefold()

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        if not self._needle:
            return True
        model = self.sourceModel()
        if isinstance(model, VideoTableModel):
            return self.title_matches(self._needle, model.title_at(source_row))
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
