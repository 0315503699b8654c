"""Drag-and-drop of files and folders onto the main window.

:class:`DropZone` is an event filter installed on a window (no subclassing of the window):
it accepts drags that carry local files or folders, shows a hint while the drag is over the
window, and on drop emits :attr:`DropZone.paths_dropped` with the local paths - or, when its
``refusal()`` gives a reason (e.g. "Sign in to upload": nobody is signed in), shows that
reason while dragging and emits :attr:`DropZone.refused` instead, so a drop is never silently
lost or queued for nobody. It does no
file-system work itself (a dropped folder may be a slow card): the receiver scans the paths
off the GUI thread.

Text fields (search, title, notes, date edits…) would take a file drag themselves and insert
the file's path as text. :func:`refuse_file_drops` makes the text inputs under a widget pass
drags of local files on (they still take dragged *text*), so a file dropped anywhere on the
window reaches the drop zone. :class:`DropZone` applies it to its window when installed; views
built later (the library appears at sign-in) call it on themselves.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QMimeData, QObject, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

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


_DRAG_EVENTS = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)
_TEXT_INPUTS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)


class _FileDropGuard(QObject):
    """Event filter for text inputs: a drag that carries local files is ignored there, so Qt
    offers it to the parents, up to the window's :class:`DropZone`. Other drags (text) are
    left to the input."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _DRAG_EVENTS and isinstance(event, QDropEvent) and local_paths(
                event.mimeData()):
            event.ignore()
            return True
        return False


_GUARD: _FileDropGuard | None = None


def refuse_file_drops(*roots: QWidget) -> int:
    """Make every text input in ``roots`` (and the roots themselves) pass file drags on to
    the window's drop zone instead of inserting the path. Returns how many widgets were
    guarded (installing twice is harmless: Qt keeps one filter per object)."""
    global _GUARD
    if _GUARD is None:
        _GUARD = _FileDropGuard()
    count = 0
    for root in roots:
        widgets: list[QWidget] = [root, *root.findChildren(QWidget)]
        for widget in widgets:
            if not isinstance(widget, _TEXT_INPUTS):
                continue
            targets: list[QWidget] = [widget]
            if isinstance(widget, QAbstractScrollArea):
                targets.append(widget.viewport())  # text edits take drops on the viewport
            for target in targets:
                target.installEventFilter(_GUARD)
                count += 1
    return count


class DropZone(QObject):
    """Accept local file/folder drops on ``target`` (and on its children that don't take
    drops themselves); emits ``paths_dropped(list[str])``, or ``refused(list[str], reason)``
    when ``refusal()`` returns a reason why the files can't be taken now."""

    paths_dropped = Signal(list)
    refused = Signal(list, str)  # the paths, and why they were not taken

    def __init__(
        self,
        target: QWidget,
        *,
        hint: Callable[[str], None] | None = None,
        refusal: Callable[[], str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent or target)
        self._target = target
        self._hint = hint
        self._refusal = refusal
        self.enabled = True
        target.setAcceptDrops(True)
        target.installEventFilter(self)
        refuse_file_drops(target)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(
                event, (QDragEnterEvent, QDragMoveEvent)):
            if self.enabled and local_paths(event.mimeData()):
                event.acceptProposedAction()
                if kind == QEvent.Type.DragEnter and self._hint is not None:
                    self._hint(self.refusal() or HINT)
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
            reason = self.refusal()
            if reason:
                self.refused.emit(paths, reason)
            else:
                self.paths_dropped.emit(paths)
            return True
        return super().eventFilter(watched, event)

    def refusal(self) -> str:
        """Why a drop can't be taken now ("" = it can)."""
        return self._refusal() if self._refusal is not None else ""

    def remove(self) -> None:
        self._target.removeEventFilter(self)


__all__ = ["HINT", "DropZone", "local_paths", "refuse_file_drops"]
