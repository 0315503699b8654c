"""Desktop notifications: the system tray's balloon/notification where the desktop has a tray
(``QSystemTrayIcon.showMessage``), otherwise a message in the main window's status bar.

Call :meth:`Notifier.notify` on the GUI thread. Every notification is also kept in
:attr:`Notifier.history` (newest last, bounded) so the app and the tests can see what was said.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QSystemTrayIcon

log = logging.getLogger(__name__)

INFO = "info"
WARNING = "warning"
ERROR = "error"

_TRAY_ICONS = {
    INFO: QSystemTrayIcon.MessageIcon.Information,
    WARNING: QSystemTrayIcon.MessageIcon.Warning,
    ERROR: QSystemTrayIcon.MessageIcon.Critical,
}


@dataclass(frozen=True)
class Notification:
    title: str
    text: str
    kind: str  # info | warning | error
    via: str  # "tray" or "status bar"


class Notifier(QObject):
    """Shows notifications through the tray when available, else ``status(text, ms)``.
    ``on_activate`` runs when the user clicks the tray icon or a message (e.g. raise the
    window).

    ``status`` is typically ``MainWindow.show_message``; ``use_tray=None`` asks Qt whether
    the desktop has a system tray (it has none on the offscreen platform or a bare X server).
    """

    def __init__(
        self,
        status: Callable[[str, int], None],
        *,
        icon: QIcon | None = None,
        use_tray: bool | None = None,
        timeout_ms: int = 8000,
        on_activate: Callable[[], None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._status = status
        self._timeout_ms = timeout_ms
        self.history: deque[Notification] = deque(maxlen=100)
        if use_tray is None:
            use_tray = QSystemTrayIcon.isSystemTrayAvailable()
        self.tray: QSystemTrayIcon | None = None
        if use_tray:
            self.tray = QSystemTrayIcon(icon or QIcon(), self)
            self.tray.setToolTip("MediSpecs uploads")
            if on_activate is not None:  # a click on the icon or on a message
                self.tray.activated.connect(lambda _reason: on_activate())
                self.tray.messageClicked.connect(on_activate)
            self.tray.show()

    @property
    def uses_tray(self) -> bool:
        return self.tray is not None and self.tray.isVisible()

    def notify(self, title: str, text: str, kind: str = INFO) -> Notification:
        tray = self.tray
        if tray is not None and tray.isVisible() and tray.supportsMessages():
            tray.showMessage(title, text, _TRAY_ICONS.get(kind, _TRAY_ICONS[INFO]),
                             self._timeout_ms)
            note = Notification(title, text, kind, "tray")
        else:
            self._status(f"{title}: {text}" if title else text, self._timeout_ms)
            note = Notification(title, text, kind, "status bar")
        log.info("notification (%s, %s): %s - %s", kind, note.via, title, text)
        self.history.append(note)
        return note

    def close(self) -> None:
        if self.tray is not None:
            self.tray.hide()
            self.tray.deleteLater()
            self.tray = None


__all__ = ["ERROR", "INFO", "WARNING", "Notification", "Notifier"]
