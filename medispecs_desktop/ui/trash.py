"""The Trash window (View ▸ Trash): recordings the user deleted, until the service purges them.

Lists the Trash (most recently deleted first, with the date each one will be deleted forever),
restores the selected recording to the library, or deletes it forever after a confirmation.
Every request runs on the task runner's ``api`` pool, never on the GUI thread; answers come back
through ``ui.tasks``. A restore asks the library to refresh (``restored``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.errors import NotFoundError
from medispecs_desktop.core.formatting import format_local_time
from medispecs_desktop.core.messages import describe_error
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.confirm import ask
from medispecs_desktop.ui.tasks import API

__all__ = ["TrashDialog", "confirm_purge", "install_trash", "purge_confirmation_text"]

COLUMNS = ("Title", "Recorded", "Deleted", "Deleted forever after")


def purge_confirmation_text(video: Video) -> str:
    return (
        f"Delete “{video.title or '(untitled)'}” forever?\n\n"
        "The video, its thumbnail and its notes are removed from the cloud, with every "
        "stored version. This cannot be undone."
    )


def confirm_purge(parent: QWidget, text: str) -> bool:
    return ask(parent, title="Delete forever", text=text, action="Delete forever",
               name="confirmPurge", destructive=True)


class TrashDialog(QDialog):
    """The Trash: a list, Restore, Delete forever…, Refresh."""

    restored = Signal(object)  # Video, back in the library
    purged = Signal(str)  # videoId, gone for good
    loaded = Signal(int)  # rows shown after a (re)load

    def __init__(
        self,
        api: Callable[[], Any],
        tasks: Any,
        parent: QWidget | None = None,
        *,
        confirm: Callable[[QWidget, str], bool] = confirm_purge,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Trash")
        self.setObjectName("trashDialog")
        self.resize(760, 420)
        self._api = api
        self._tasks = tasks
        self._confirm = confirm
        self._videos: dict[str, Video] = {}

        self.intro = QLabel(
            "Deleted recordings stay here until the date shown, then they are deleted "
            "forever. Restore puts a recording back in your library.")
        self.intro.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.restore_button = QPushButton("&Restore")
        self.restore_button.clicked.connect(self.restore_selected)
        self.purge_button = QPushButton("&Delete forever…")
        self.purge_button.clicked.connect(self.purge_selected)
        self.refresh_button = QPushButton("Re&fresh")
        self.refresh_button.clicked.connect(self.reload)
        close = QPushButton("Close")
        close.clicked.connect(self.close)

        buttons = QHBoxLayout()
        for b in (self.restore_button, self.purge_button, self.refresh_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        self._busy = False
        self._update_buttons()

    # ------------------------------------------------------------------ state

    def selected(self) -> Video | None:
        items = self.tree.selectedItems()
        if not items:
            return None
        return self._videos.get(str(items[0].data(0, Qt.ItemDataRole.UserRole)))

    def select_video(self, video_id: str) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == video_id:
                self.tree.setCurrentItem(item)
                return True
        return False

    def video_ids(self) -> list[str]:
        out: list[str] = []
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None:
                out.append(str(item.data(0, Qt.ItemDataRole.UserRole)))
        return out

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None and not self._busy
        self.restore_button.setEnabled(chosen)
        self.purge_button.setEnabled(chosen)
        self.refresh_button.setEnabled(not self._busy)

    def _run(self, fn: Callable[[], Any], done: Callable[[Any], None],
             action: str) -> None:
        if getattr(self._tasks, "closed", False):
            return
        self._set_busy(True)

        def ok(result: Any) -> None:
            self._set_busy(False)
            done(result)

        def failed(exc: BaseException) -> None:
            self._set_busy(False)
            if isinstance(exc, NotFoundError):
                self.message.setText("It is no longer in the Trash (restored or deleted "
                                     "elsewhere).")
                self.reload()
                return
            self.message.setText(f"{action}: {describe_error(exc)}")

        self._tasks.run(API, fn, ok, failed)

    # ------------------------------------------------------------------ actions

    def reload(self) -> None:
        api = self._api()
        if api is None:
            self.message.setText("Sign in to see your Trash.")
            return
        self._run(lambda: list(api.iter_trash()), self._show, "Could not load the Trash")

    def _show(self, videos: list[Video]) -> None:
        self.tree.clear()
        self._videos = {v.video_id: v for v in videos}
        for v in videos:
            item = QTreeWidgetItem([
                v.title or "(untitled)",
                format_local_time(v.recorded_at),
                format_local_time(v.extra.get("trashedAt"), missing="-"),
                format_local_time(v.extra.get("purgeAt"), missing="-"),
            ])
            item.setData(0, Qt.ItemDataRole.UserRole, v.video_id)
            self.tree.addTopLevelItem(item)
        if not videos:
            self.message.setText("The Trash is empty.")
        elif not self.message.text() or self.message.text() == "The Trash is empty.":
            self.message.setText(f"{len(videos)} recording(s) in the Trash.")
        self._update_buttons()
        self.loaded.emit(len(videos))

    def _drop(self, video_id: str) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item is not None and item.data(0, Qt.ItemDataRole.UserRole) == video_id:
                self.tree.takeTopLevelItem(i)
                break
        self._videos.pop(video_id, None)
        self._update_buttons()

    def restore_selected(self) -> None:
        video, api = self.selected(), self._api()
        if video is None or api is None:
            return
        self.message.setText(f"Restoring “{video.title}”…")

        def done(restored: Video) -> None:
            self._drop(video.video_id)
            self.message.setText(f"Restored “{restored.title}” to your library.")
            self.restored.emit(restored)

        self._run(lambda: api.restore_video(video.video_id), done, "Not restored")

    def purge_selected(self) -> None:
        video, api = self.selected(), self._api()
        if video is None or api is None:
            return
        if not self._confirm(self, purge_confirmation_text(video)):
            return
        self.message.setText(f"Deleting “{video.title}” forever…")

        def done(_result: object) -> None:
            self._drop(video.video_id)
            self.message.setText(f"Deleted “{video.title}” forever.")
            self.purged.emit(video.video_id)

        self._run(lambda: api.purge_video(video.video_id), done, "Not deleted")


def install_trash(window: Any, ctx: Any) -> QAction:
    """View ▸ Trash… opens the Trash (one window, reloaded each time it is opened); a restore
    refreshes the library."""
    action = QAction("&Trash…", window)
    action.setObjectName("actionTrash")
    action.setStatusTip("Recordings you deleted: restore them or delete them forever")
    holder: dict[str, TrashDialog] = {}

    def open_trash() -> None:
        dialog = holder.get("dialog")
        if dialog is None:
            dialog = TrashDialog(lambda: ctx.api, ctx.tasks, window)
            dialog.restored.connect(lambda _v: window.refresh_requested.emit())
            holder["dialog"] = dialog
        dialog.show()
        dialog.raise_()
        dialog.reload()

    action.triggered.connect(open_trash)
    menu = getattr(window, "view_menu", None)
    if menu is not None:
        menu.addSeparator()
        menu.addAction(action)
    window.trash_action = action
    return action
