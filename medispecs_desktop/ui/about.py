"""Help menu dialogs: About (version, components, licences, where files are) and the list of
keyboard shortcuts (built from the window's own actions, so it is never out of date)."""

from __future__ import annotations

import platform
from html import escape

import PySide6
from PySide6.QtCore import QSize, Qt, QUrl, qVersion
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop import APP_NAME, __version__
from medispecs_desktop.core.config import Paths
from medispecs_desktop.ui.icons import app_icon


def open_folder(path: str) -> bool:
    """Open a folder in the system's file manager (creating it first)."""
    from pathlib import Path

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def _av_version() -> str:
    try:
        import av

        return str(av.__version__)
    except ImportError:  # pragma: no cover - av is a dependency
        return "not installed"


class AboutDialog(QDialog):
    def __init__(self, paths: Paths, parent: QWidget | None = None, *, demo: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        self.setObjectName("aboutDialog")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 12)
        layout.setSpacing(10)
        head = QHBoxLayout()
        pic = QLabel()
        pic.setPixmap(app_icon().pixmap(QSize(80, 80)))
        head.addWidget(pic, 0, Qt.AlignmentFlag.AlignTop)
        title = QLabel(
            f"<h2 style='margin:0'>{escape(APP_NAME)}</h2>"
            f"<p style='margin:2px 0'>Version <b>{escape(__version__)}</b>"
            + (" · demo mode" if demo else "") + "</p>"
            "<p>Upload, organise and review recordings from MediSpecs smart glasses. "
            "Recordings travel straight to your organisation's storage through short-lived "
            "pre-signed links; this app never holds cloud credentials.</p>")
        title.setWordWrap(True)
        title.setObjectName("aboutTitle")
        self.title = title
        head.addWidget(title, 1)
        layout.addLayout(head)
        details = QLabel(
            "<table cellspacing='0' cellpadding='2'>"
            f"<tr><td width='110'>Python</td><td>{escape(platform.python_version())}</td></tr>"
            f"<tr><td>Qt / PySide6</td><td>{escape(qVersion())} / "
            f"{escape(PySide6.__version__)}</td></tr>"
            f"<tr><td>PyAV</td><td>{escape(_av_version())}</td></tr>"
            f"<tr><td>System</td><td>{escape(platform.platform(terse=True))}</td></tr>"
            f"<tr><td>Settings</td><td>{escape(str(paths.config_dir))}</td></tr>"
            f"<tr><td>Logs</td><td><a href='{QUrl.fromLocalFile(str(paths.log_dir)).toString()}'>"
            f"{escape(str(paths.log_dir))}</a></td></tr>"
            "</table>"
            "<p style='color:#6b7b86'>Qt and PySide6 are used under the LGPL v3. PyAV bundles "
            "FFmpeg, which includes GPL components (libx264). moto (Apache 2.0) runs the local "
            "demo stack. Icons are drawn for this app.</p>")
        details.setWordWrap(True)
        details.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        details.setOpenExternalLinks(True)
        layout.addWidget(details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout.addWidget(buttons)


class ShortcutsDialog(QDialog):
    """A two-column table: action, shortcut."""

    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("shortcutsDialog")
        self.setMinimumSize(480, 560)
        layout = QVBoxLayout(self)
        native = QKeySequence.SequenceFormat.NativeText
        # every key of an action (the player's Play/pause is Space *and* K), in a column wide
        # enough for "Ctrl+Shift+O" plus the cell padding of the style sheet
        rows = [(a.text().replace("&", "").rstrip("…").rstrip("."),
                 ", ".join(k.toString(native) for k in a.shortcuts()))
                for a in actions if a.shortcuts()]
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(
            self.fontMetrics().height() + 10)  # a list, not a form: compact rows
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        for row, (name, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(name))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        widest = max((self.fontMetrics().horizontalAdvance(k) for _n, k in rows), default=0)
        self.table.setColumnWidth(1, max(120, widest + 32))
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setDefault(True)  # Enter or Esc closes it
        close.setFocus()
