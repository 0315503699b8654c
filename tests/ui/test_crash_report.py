"""The Qt side of crash reporting: Qt's messages reach the app log redacted, a fatal one leaves
a report, and the next start offers to open an earlier session's report (once)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import qCritical, qInstallMessageHandler, qWarning
from PySide6.QtWidgets import QMessageBox

from medispecs_desktop.core.crash import CrashReporter
from medispecs_desktop.core.logs import LOG_FILE_NAME, setup_logging
from medispecs_desktop.ui.crash_report import install_qt_message_handler, offer_crash_report


@pytest.fixture
def log_dir(tmp_path: Path) -> Iterator[Path]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    setup_logging(tmp_path)  # the app's own file handler, with its redaction
    yield tmp_path
    for added in set(root.handlers) - set(saved[0]):
        added.close()
    root.handlers[:], root.level = saved


def test_qt_messages_go_to_the_log_redacted(log_dir: Path) -> None:
    reporter = CrashReporter(log_dir)
    previous = install_qt_message_handler(reporter)
    try:
        qWarning("QNetworkReply: https://b.s3/v.mp4?X-Amz-Signature=0123abcd&X-Amz-Expires=600")
        qCritical("decoder gave up")
    finally:
        qInstallMessageHandler(previous)
    text = (log_dir / LOG_FILE_NAME).read_text()
    assert "WARNING MainThread qt: QNetworkReply: https://b.s3/v.mp4?X-Amz-Signature=REDACTED" \
        in text
    assert "ERROR MainThread qt: decoder gave up" in text
    assert "0123abcd" not in text


def test_the_next_start_offers_the_report_once(qtbot: Any, tmp_path: Path) -> None:
    reporter = CrashReporter(tmp_path)
    report = reporter.write_report("Uncaught exception in the main thread", "Traceback …")
    assert reporter.previous_report() == report
    opened: list[Path] = []
    box = offer_crash_report(None, report, reporter, open_path=opened.append)
    qtbot.addWidget(box)
    qtbot.waitUntil(box.isVisible)
    assert str(report) in box.informativeText()
    assert reporter.previous_report() is None  # offered: not again at the next start
    button = next(b for b in box.buttons()
                  if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole)
    button.click()
    qtbot.waitUntil(lambda: opened == [report])
