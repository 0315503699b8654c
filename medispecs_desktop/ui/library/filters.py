"""The library's filter bar: title search, thumbnails/table switch, refresh, and the
"recorded from … to …" date filter (server side)."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


class FilterBar(QWidget):
    searchChanged = Signal(str)
    datesChanged = Signal()  # the date filter was turned on/off or a date changed
    viewToggled = Signal(bool)  # True: thumbnails

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search titles")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search titles")
        self.date_filter = QCheckBox("Recorded from")
        today = QDate.currentDate()
        self.date_from = QDateEdit(today.addDays(-30))
        self.date_to = QDateEdit(today)
        self.date_from.setAccessibleName("Recorded from date")
        self.date_to.setAccessibleName("Recorded to date")
        for edit in (self.date_from, self.date_to):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        self.refresh_button = QToolButton()
        self.refresh_button.setText("Refresh")
        self.refresh_button.setAccessibleName("Refresh the recordings")
        self.view_toggle = QToolButton()
        self.view_toggle.setText("Thumbnails")
        self.view_toggle.setCheckable(True)
        self.view_toggle.setAccessibleName("Show thumbnails")
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(dates)

        self.search.textChanged.connect(self.searchChanged)
        self.date_filter.toggled.connect(self._on_date_filter_toggled)
        self.date_from.dateChanged.connect(lambda _d: self.datesChanged.emit())
        self.date_to.dateChanged.connect(lambda _d: self.datesChanged.emit())
        self.view_toggle.toggled.connect(self._on_view_toggled)

    def _on_date_filter_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self.datesChanged.emit()

    def _on_view_toggled(self, grid: bool) -> None:
        self.view_toggle.setText("Table" if grid else "Thumbnails")
        self.view_toggle.setAccessibleName("Show the table" if grid else "Show thumbnails")
        self.viewToggled.emit(grid)

    def date_range(self) -> tuple[date | None, date | None]:
        """The local days chosen (in order), or None/None when the filter is off."""
        if not self.date_filter.isChecked():
            return None, None
        start, end = _qdate(self.date_from.date()), _qdate(self.date_to.date())
        return (end, start) if start > end else (start, end)

    def set_date_range(self, start: date | None, end: date | None) -> None:
        """Show a range without emitting (None/None: the filter off)."""
        with _blocked(self.date_filter, self.date_from, self.date_to):
            self.date_filter.setChecked(start is not None or end is not None)
            if start is not None:
                self.date_from.setDate(QDate(start.year, start.month, start.day))
            if end is not None:
                self.date_to.setDate(QDate(end.year, end.month, end.day))
            self.date_from.setEnabled(self.date_filter.isChecked())
            self.date_to.setEnabled(self.date_filter.isChecked())

    def set_loading(self, loading: bool) -> None:
        self.refresh_button.setEnabled(not loading)
        self.refresh_button.setText("Loading…" if loading else "Refresh")


def _qdate(value: QDate) -> date:
    return date(value.year(), value.month(), value.day())


class _blocked:
    def __init__(self, *objects: QObject) -> None:
        self._objects = objects
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous = [o.blockSignals(True) for o in self._objects]

    def __exit__(self, *exc: object) -> None:
        for obj, previous in zip(self._objects, self._previous, strict=True):
            obj.blockSignals(previous)
