"""Drag-and-drop of files and folders onto the main window.

:class:`DropZone` is an event filter installed on a window (no subclassing of the window):
it accepts drags that carry local files or folders, shows a hint while the drag is over the
window, and on drop emits :attr:`DropZone.paths_dropped` with the local paths. It does no
file-system work itself (a dropped folder may be a slow card): the receiver scans the paths
off the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QMimeData, QObject, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QWidget

HINT = "Drop to add the videos to the upload queue (folders are searched for videos)"


def local_paths(mime: QMimeData | None) -> list[str]:
    """The local files/folders named by a drag's URLs (remote URLs are ignored)."""
    if mime is None or not mime.hasUrls():
        return []
    out: list[str] = []
    for url in mime.urls():
        if url.isLocalFile():
            path = url.toLocalFile()
            if path and path not in out:
                out.append(path)
    return out


class DropZone(QObject):
    """Accept local file/folder drops on ``target`` (and on its children that don't take
    drops themselves); emits ``paths_dropped(list[str])``."""

    paths_dropped = Signal(list)

    def __init__(
        self,
        target: QWidget,
        *,
        hint: Callable[[str], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent or target)
        self._target = target
        self._hint = hint
        self.enabled = True
        target.setAcceptDrops(True)
        target.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(
                event, (QDragEnterEvent, QDragMoveEvent)):
            if self.enabled and local_paths(event.mimeData()):
                event.acceptProposedAction()
                if kind == QEvent.Type.DragEnter and self._hint is not None:
                    self._hint(HINT)
            else:
                event.ignore()
            return True
        if kind == QEvent.Type.DragLeave:
            if self._hint is not None:
                self._hint("")
            return False
        if kind == QEvent.Type.Drop and isinstance(event, QDropEvent):
            paths = local_paths(event.mimeData()) if self.enabled else []
            if not paths:
                event.ignore()
                return True
            event.acceptProposedAction()
            if self._hint is not None:
                self._hint("")
            self.paths_dropped.emit(paths)
            return True
        return super().eventFilter(watched, event)

    def remove(self) -> None:
        self._target.removeEventFilter(self)


__all__ = ["HINT", "DropZone", "local_paths"]
