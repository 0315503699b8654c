"""Rows that come or go above what the user is looking at do not move it (issue 16).

An upload's queue row appears on top of the library while it runs, goes when it is done, and
the finished recording is inserted where the server lists it. Qt keeps a scroll bar's value
when rows are inserted or removed, so a user scrolled down the list saw the rows jump by one
each time. :class:`ScrollAnchor` remembers the top visible row before such a change and puts
it back at the top after it. At the very top of the list nothing is held: new recordings
show there, where the user is looking. Resets and sorting are not row insertions: they keep
Qt's own behaviour.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QPoint
from PySide6.QtWidgets import QAbstractItemView

__all__ = ["ScrollAnchor"]


class ScrollAnchor(QObject):
    """Keeps ``view``'s top visible row in place while rows above it come and go."""

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)
        self._view = view
        self._top: QPersistentModelIndex | None = None
        self.kept = 0  # times the top row was put back (tests)
        model = view.model()
        model.rowsAboutToBeInserted.connect(self._before)
        model.rowsAboutToBeRemoved.connect(self._before)
        model.rowsInserted.connect(self._after)
        model.rowsRemoved.connect(self._after)

    def _before(self, parent: QModelIndex, first: int, _last: int) -> None:
        self._top = None
        view = self._view
        if parent.isValid() or not view.isVisible() or view.verticalScrollBar().value() == 0:
            return  # hidden, or at the top of the list: new rows show where the user looks
        top = view.indexAt(QPoint(1, 1))
        if top.isValid() and first <= top.row():  # the change is above what is shown
            self._top = QPersistentModelIndex(top)

    def _after(self, parent: QModelIndex, _first: int, _last: int) -> None:
        top, self._top = self._top, None
        if top is None or parent.isValid() or not top.isValid():
            return  # nothing held, or the top row itself went: Qt's default
        view = self._view
        if view.indexAt(QPoint(1, 1)).row() == top.row():
            return
        # the anchor's own column: scrollTo ignores an index in a hidden column (thumbnails off)
        view.scrollTo(view.model().index(top.row(), top.column()),
                      QAbstractItemView.ScrollHint.PositionAtTop)
        self.kept += 1
