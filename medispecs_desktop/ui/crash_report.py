"""The Qt side of crash reporting (``core/crash.py``): Qt's own messages go to the app log
(redacted there like every record; a fatal one is written as a crash report too), and the
next start offers to open the report an earlier session left behind."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMessageLogContext, QtMsgType, QUrl, qInstallMessageHandler
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

from medispecs_desktop.core.crash import CrashReporter

log = logging.getLogger("qt")

LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def install_qt_message_handler(reporter: CrashReporter | None = None) -> Any:
    """Route qDebug/qWarning/qCritical/qFatal to the ``qt`` logger; returns the previous
    handler (pass it to ``qInstallMessageHandler`` to restore it)."""

    def handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        level = LEVELS.get(kind, logging.WARNING)
        where = f" ({context.category})" if context.category not in (None, "", "default") \
            else ""
        log.log(level, "%s%s", message, where)
        if kind == QtMsgType.QtFatalMsg and reporter is not None:
            try:
                reporter.write_report("Qt fatal error", message)
            except OSError:
                pass

    return qInstallMessageHandler(handler)


def offer_crash_report(parent: QWidget | None, report: Path, reporter: CrashReporter, *,
                       open_path: Callable[[Path], object] | None = None) -> QMessageBox:
    """A non-modal question: MediSpecs closed unexpectedly last time, open the report?
    Offered once (the report is acknowledged as soon as it is shown)."""
    opener = open_path or (lambda p: QDesktopServices.openUrl(QUrl.fromLocalFile(str(p))))
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("MediSpecs closed unexpectedly")
    box.setText("MediSpecs Desktop closed unexpectedly the last time it ran.")
    box.setInformativeText(
        f"A crash report was saved in {report}. It holds no passwords or sign-in tokens; "
        "your IT team may ask for it. Uploads that were running resume by themselves.")
    open_button = box.addButton("Open report", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Close", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(open_button)

    def finished(_result: int) -> None:
        if box.clickedButton() is open_button:
            opener(report)

    box.finished.connect(finished)
    reporter.acknowledge(report)
    logging.getLogger(__name__).info("Offered the crash report %s", report)
    box.open()
    return box
