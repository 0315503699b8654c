""""Import settings…": take the settings IT hands out - the deployment's settings file
(DesktopSettingsJson), an https:// address serving it, or a medispecs://configure link - so a
clinician never types an id. The import itself (``core.settings_import``) runs on a worker."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from medispecs_desktop.core.config import Paths
from medispecs_desktop.core.errors import MediSpecsError
from medispecs_desktop.core.settings_import import ImportResult, import_settings
from medispecs_desktop.ui.icons import fit_height
from medispecs_desktop.ui.tasks import API, TaskRunner

log = logging.getLogger(__name__)


class ImportSettingsDialog(QDialog):
    """Emits :attr:`imported` with the ``ImportResult`` once the settings file is written."""

    imported = Signal(object)

    def __init__(self, paths: Paths, tasks: TaskRunner, parent: QWidget | None = None, *,
                 source: str = "") -> None:
        super().__init__(parent)
        self._paths, self._tasks = paths, tasks
        self._request = 0
        self.setWindowTitle("Import settings")
        self.setObjectName("importSettingsDialog")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        hint = QLabel("Choose the settings file your IT team gave you (for example "
                      "MediSpecs-settings.json), or paste the https:// address or the "
                      "medispecs://configure link they sent.")
        hint.setWordWrap(True)
        hint.setObjectName("hint")
        layout.addWidget(hint)
        row = QHBoxLayout()
        self.source = QLineEdit(source)
        self.source.setObjectName("settingsSource")
        self.source.setAccessibleName("Settings file, address or link")
        self.source.setPlaceholderText("file, https:// address or medispecs:// link")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        row.addWidget(self.source, 1)
        row.addWidget(self.browse)
        layout.addLayout(row)
        self.error = QLabel()
        self.error.setObjectName("errorMessage")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("Import",
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setObjectName("importButton")
        self.import_button.setDefault(True)
        self.buttons.accepted.connect(self.start_import)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _browse(self) -> None:
        start = str(Path.home() / "Downloads") if (Path.home() / "Downloads").is_dir() else ""
        name, _ = QFileDialog.getOpenFileName(self, "Settings file", start,
                                              "Settings (*.json);;All files (*)")
        if name:
            self.source.setText(name)

    def start_import(self) -> None:
        source = self.source.text().strip()
        if not source:
            self._show_error("Choose the settings file, or paste the address or link.")
            return
        self._request += 1
        request = self._request
        self.import_button.setEnabled(False)
        paths = self._paths

        def done(result: Any) -> None:
            if isValid(self) and request == self._request:
                self.imported.emit(result)
                self.accept()

        def failed(exc: BaseException) -> None:
            if isValid(self) and request == self._request:
                self.import_button.setEnabled(True)
                if not isinstance(exc, MediSpecsError):
                    log.error("settings import failed", exc_info=(type(exc), exc,
                                                                  exc.__traceback__))
                self._show_error(f"The settings could not be imported. {exc}")

        self._tasks.run(API, lambda: import_settings(source, paths), done, failed)

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
        fit_height(self)

    def reject(self) -> None:
        self._request += 1  # a late answer is ignored
        super().reject()


__all__ = ["ImportResult", "ImportSettingsDialog"]
