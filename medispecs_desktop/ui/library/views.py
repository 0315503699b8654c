"""The two views of the recordings: the table (columns that fit the width) and the
thumbnail grid."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from medispecs_desktop.core.library import STATUS_TEXT
from medispecs_desktop.ui.library.common import (
    COL_DURATION,
    COL_RECORDED,
    COL_STATUS,
    COL_THUMB,
    COL_TITLE,
    COLUMN_SAMPLES,
    GRID_THUMB_SIZE,
    HEADERS,
    OPTIONAL_COLUMNS,
    TABLE_THUMB_SIZE,
    TITLE_MIN_WIDTH,
)
from medispecs_desktop.ui.library.model import source_row


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
        line = " · ".join(t for t in (text(COL_RECORDED), text(COL_DURATION),
                                        text(COL_STATUS)) if t)
        option.text = f"{text(COL_TITLE)}\u2028{line}"
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


PLAY_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space)


def is_play_key(event: QKeyEvent) -> bool:
    """Enter or Space on a row plays it. (Tab and Shift+Tab leave either view: one stop in
    the focus chain, not one a cell; the arrows move between rows.)"""
    return event.key() in PLAY_KEYS and event.modifiers() in (
        Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)


class LibraryTableView(QTableView):
    """The recordings table. Every column but the title is as wide as its widest text (measured
    from the font, not by reading 10,000 rows); the title takes the rest. When the list is too
    narrow for all of them and a readable title, the size, thumbnail and device columns step
    aside (in that order) and come back when there is room: never a horizontal scroll bar for
    the columns a clinician scans (title, recorded, duration, status)."""

    playPressed = Signal(QModelIndex)

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
        self.setTabKeyNavigation(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self._widths: dict[int, int] = {}

    def setModel(self, model: Any) -> None:
        super().setModel(model)
        self.size_columns()
        self.horizontalHeader().setAccessibleName("Recordings columns")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if is_play_key(event) and self.currentIndex().isValid():
            self.playPressed.emit(self.currentIndex())
            return
        super().keyPressEvent(event)

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

    MIN_ROWS = 4  # the list never shows fewer rows than this (restored sizes are clamped)

    def minimumSizeHint(self) -> QSize:
        """Room for the columns a clinician scans and a readable title (the optional columns
        step aside first), and a few rows: a splitter or dock size restored from an older
        layout can never squeeze the title to "…" or the list to two rows."""
        hint = super().minimumSizeHint()
        widths = self._widths or self.column_widths()
        fixed = sum(w for c, w in widths.items() if c not in OPTIONAL_COLUMNS and c != COL_TITLE)
        scroll = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        width = fixed + TITLE_MIN_WIDTH * 2 // 3 + 2 * self.frameWidth() + scroll
        rows = self.verticalHeader().defaultSectionSize() * self.MIN_ROWS
        height = self.horizontalHeader().sizeHint().height() + rows + 2 * self.frameWidth()
        return QSize(max(hint.width(), width), max(hint.height(), height))

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
        for col in reversed(OPTIONAL_COLUMNS):  # the device first to get room, size last
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
    playPressed = Signal(QModelIndex)

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
        self.setTabKeyNavigation(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if is_play_key(event) and self.currentIndex().isValid():
            self.playPressed.emit(self.currentIndex())
            return
        super().keyPressEvent(event)

    def setModel(self, model: Any) -> None:
        super().setModel(model)
        self.setModelColumn(COL_THUMB)
