""""Access history" in the library's details: who opened, played, changed or listed the
selected recording, newest first (the service's audit trail, ``GET /videos/{id}/history``).

Folded by default and loaded only while unfolded: reading the history is itself recorded in the
audit trail, so it is not fetched for every row a user clicks past. The request runs on the
task runner's ``api`` pool, never on the GUI thread; an answer for a recording that is no longer
shown is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.api import AccessEvent
from medispecs_desktop.ui.tasks import API

ACTION_TEXT = {
    "list": "Listed",
    "get": "Opened",
    "playback": "Played",
    "edit": "Edited",
    "delete": "Moved to the Trash",
    "restore": "Restored from the Trash",
    "purge": "Deleted for good",
    "purge_expired": "Deleted for good (Trash expired)",
    "list_trash": "Listed in the Trash",
    "create": "Uploaded",
    "history": "Viewed access history",
    "duplicate_check": "Duplicate check",
}
COLUMNS = ("When", "What", "Who", "From", "App")
SHOWN_EVENTS = 100

HistoryLoader = Callable[..., Sequence[AccessEvent]]


class TasksLike(Protocol):
    def run(self, kind: str, fn: Callable[[], Any],
            on_done: Callable[[Any], None] | None = ...,
            on_error: Callable[[BaseException], None] | None = ...) -> Any: ...


def local_time(at: str) -> str:
    """``2026-12-06T01:02:03.456Z`` as local ``2026-12-06 02:02:03`` (other text as it is)."""
    try:
        moment = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return at
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


class AccessHistoryPanel(QWidget):
    """A fold-out list of the shown recording's access events."""

    def __init__(self, loader: HistoryLoader | None, tasks: TasksLike,
                 describe_error: Callable[[BaseException], str] = str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loader = loader
        self._tasks = tasks
        self._describe = describe_error
        self.video_id: str | None = None
        self._loaded_for: str | None = None
        self._request = 0

        self.toggle = QToolButton()
        self.toggle.setText("Access history")
        self.toggle.setCheckable(True)
        self.toggle.setAutoRaise(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setToolTip("Who opened, played, changed or listed this recording, and "
                               "from where (the service's audit trail)")
        self.refresh = QToolButton()
        self.refresh.setText("Refresh")
        self.refresh.setAutoRaise(True)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.table = QTreeWidget()
        self.table.setRootIsDecorated(False)
        self.table.setUniformRowHeights(True)
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.header().setStretchLastSection(True)
        self.table.setMinimumHeight(120)

        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.toggle)
        head.addStretch(1)
        head.addWidget(self.refresh)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.status)
        layout.addWidget(self.table)

        self.toggle.toggled.connect(self._on_toggled)
        self.refresh.clicked.connect(self.reload)
        self._on_toggled(False)
        self.setVisible(loader is not None)

    # -- state ---------------------------------------------------------------------------
    @property
    def expanded(self) -> bool:
        return self.toggle.isChecked()

    def set_video_id(self, video_id: str | None) -> None:
        """Follow the details pane; reload only when unfolded and the recording changed."""
        if video_id == self.video_id:
            return
        self.video_id = video_id
        self._request += 1  # an answer still on its way is for another recording now
        self._loaded_for = None
        self.table.clear()
        self.status.setText("")
        self.refresh.setEnabled(video_id is not None and self.expanded)
        if self.expanded:
            self.reload()

    def _on_toggled(self, expanded: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.table.setVisible(expanded)
        self.status.setVisible(expanded)
        self.refresh.setVisible(expanded)
        self.refresh.setEnabled(self.video_id is not None)
        if expanded and self._loaded_for != self.video_id:
            self.reload()

    def reload(self) -> None:
        video_id = self.video_id
        if video_id is None or self._loader is None:
            self.table.clear()
            self.status.setText("Select a recording to see who accessed it.")
            return
        self._request += 1
        request = self._request
        loader = self._loader
        self.status.setText("Loading the access history…")
        self.refresh.setEnabled(False)
        self._tasks.run(
            API,
            lambda: list(loader(video_id, limit=SHOWN_EVENTS)),
            on_done=lambda events: self._loaded(request, video_id, events),
            on_error=lambda exc: self._failed(request, exc),
        )

    def _loaded(self, request: int, video_id: str, events: list[AccessEvent]) -> None:
        if request != self._request:
            return
        self._loaded_for = video_id
        self.refresh.setEnabled(True)
        self.table.clear()
        for e in events:
            who = f"{e.username} ({e.user_id})" if e.username else e.user_id
            row = QTreeWidgetItem([local_time(e.at), ACTION_TEXT.get(e.action, e.action), who,
                                   e.source_ip or "", e.user_agent or ""])
            row.setToolTip(0, f"{e.at} UTC")
            self.table.addTopLevelItem(row)
        if not events:
            self.status.setText("No access recorded yet.")
        elif len(events) >= SHOWN_EVENTS:
            self.status.setText(f"The latest {len(events)} accesses, newest first (all of "
                                "them: medispecs-desktop history ID --all).")
        else:
            self.status.setText(f"{len(events)} accesses, newest first.")

    def _failed(self, request: int, exc: BaseException) -> None:
        if request != self._request:
            return
        self.refresh.setEnabled(True)
        self.status.setText(f"Could not load the access history: {self._describe(exc)}")
