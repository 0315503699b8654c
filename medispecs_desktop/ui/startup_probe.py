"""Start-up probe: report the shown windows (and play a clip through Qt Multimedia), then quit.

Used by packaging/check_bundle.sh on the frozen bundle (through the PyInstaller runtime hook
packaging/bundle_probe.py) and by .ci/run on the README's first command in a fresh Debian root
(``run_app`` calls :func:`install_from_environment`), so both prove that a real main window
appears and that Qt's FFmpeg backend decodes video on that machine.

Inert unless ``MEDISPECS_BUNDLE_PROBE`` names a file. Then, once the app enters Qt's
event loop, it polls every 100 ms (up to ``MEDISPECS_BUNDLE_PROBE_TIMEOUT`` seconds, default 60)
for a visible main window (a ``QMainWindow``). With ``MEDISPECS_BUNDLE_PROBE_MEDIA`` naming a
video file it then also plays that file through Qt Multimedia (the bundled FFmpeg plugin) into
a ``QVideoSink`` until the first frame arrives. It writes the visible top-level windows (title,
class, size) and the playback result as JSON to the probe file and quits the app with exit
code 0 (3 if no main window appeared, 4 if the media did not play). Nothing else changes.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any


def _install(target: str) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    timeout = float(os.environ.get("MEDISPECS_BUNDLE_PROBE_TIMEOUT", "60"))
    media = os.environ.get("MEDISPECS_BUNDLE_PROBE_MEDIA", "")
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    original_exec = QApplication.exec
    report: dict[str, Any] = {}
    keep: list[Any] = []  # the player objects must outlive the callbacks

    def finish(code: int) -> None:
        report["seconds_since_start"] = round(time.monotonic() - started, 3)
        with open(target, "w", encoding="utf-8") as fh:
            json.dump(report, fh)
        app = QApplication.instance()
        if app is not None:
            app.exit(code)

    def play(path: str) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtMultimedia import QMediaPlayer, QVideoFrame, QVideoSink

        player = QMediaPlayer()
        sink = QVideoSink()
        player.setVideoSink(sink)
        keep.extend([player, sink])
        t0 = time.monotonic()
        result: dict[str, Any] = {"file": os.path.basename(path), "played": False}
        report["media"] = result

        def on_frame(frame: QVideoFrame) -> None:
            if result["played"] or not frame.isValid():
                return
            result.update(
                played=True,
                first_frame_ms=round((time.monotonic() - t0) * 1000, 1),
                width=frame.width(),
                height=frame.height(),
            )
            player.stop()
            finish(0)

        def on_error(_error: object, message: str) -> None:
            result["error"] = message
            finish(4)

        def give_up() -> None:
            if not result["played"] and "error" not in result:
                result["error"] = f"no frame within {timeout:.0f} s"
                finish(4)

        sink.videoFrameChanged.connect(on_frame)
        player.errorOccurred.connect(on_error)
        player.setSource(QUrl.fromLocalFile(path))
        player.play()
        QTimer.singleShot(int(max(1.0, deadline - time.monotonic()) * 1000), give_up)

    def poll() -> None:
        if QApplication.instance() is None:
            return
        shown = [
            {
                "title": w.windowTitle(),
                "class": type(w).__name__,
                "width": w.width(),
                "height": w.height(),
                "main_window": isinstance(w, QMainWindow),
            }
            for w in QApplication.topLevelWidgets()
            if w.isVisible() and w.isWindow()
        ]
        has_main = any(w["main_window"] for w in shown)
        if has_main or time.monotonic() > deadline:
            report["windows"] = shown
            if has_main and media:
                play(media)
            else:
                finish(0 if has_main else 3)
            return
        QTimer.singleShot(100, poll)

    def exec_with_probe(*_args: object) -> int:
        QTimer.singleShot(0, poll)
        return int(original_exec())

    QApplication.exec = exec_with_probe  # type: ignore[method-assign]


_installed: list[str] = []


def install_from_environment() -> bool:
    """Install the probe when ``MEDISPECS_BUNDLE_PROBE`` is set (once); True if installed."""
    target = os.environ.get("MEDISPECS_BUNDLE_PROBE", "")
    if not target or _installed:
        return False
    _installed.append(target)
    _install(target)
    return True
