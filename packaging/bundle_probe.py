"""PyInstaller runtime hook for packaging/check_bundle.sh: report the shown windows, then quit.

Inert unless ``MEDISPECS_BUNDLE_PROBE`` names a file. Then, once the frozen app enters Qt's
event loop, it polls every 100 ms (up to ``MEDISPECS_BUNDLE_PROBE_TIMEOUT`` seconds, default 60)
for a visible main window (a ``QMainWindow``), writes the visible top-level windows (title,
class, size) as JSON to that file, and quits the app with exit code 0 (3 if no main window
appeared). Nothing else of the app changes.
"""

from __future__ import annotations

import json
import os
import time


def _install(target: str) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    deadline = time.monotonic() + float(os.environ.get("MEDISPECS_BUNDLE_PROBE_TIMEOUT", "60"))
    started = time.monotonic()
    original_exec = QApplication.exec

    def poll() -> None:
        app = QApplication.instance()
        if app is None:
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
        main = [w for w in shown if w["main_window"]]
        if main or time.monotonic() > deadline:
            with open(target, "w", encoding="utf-8") as fh:
                json.dump(
                    {"windows": shown, "seconds_since_start": round(time.monotonic() - started, 3)},
                    fh,
                )
            app.exit(0 if main else 3)
            return
        QTimer.singleShot(100, poll)

    def exec_with_probe(*_args: object) -> int:
        QTimer.singleShot(0, poll)
        return int(original_exec())

    QApplication.exec = exec_with_probe  # type: ignore[method-assign]


_target = os.environ.get("MEDISPECS_BUNDLE_PROBE")
if _target:
    _install(_target)
