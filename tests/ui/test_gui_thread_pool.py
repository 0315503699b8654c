"""The app's painting never waits for Qt's GUI thread pool (issue 16).

Qt's raster engine hands every fill of 96 or more lines (a scrolled table's background, for
one) to a pool of its own threads and waits for them; on a busy 2-core machine the GUI thread
then waited for those threads to get a CPU (``bench_gui_uploads.py --explain``: "blocked ...
waiting for a CPU: Thread (pooled)"). ``make_application`` switches the pool off, so fills run
on the thread that paints. Each case runs in a fresh interpreter: Qt reads the switch once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PAINT = """
import json, os, sys
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QApplication
if sys.argv[1] == "app":
    from medispecs_desktop.ui.app import make_application
    app = make_application([])
else:
    app = QApplication([])
image = QImage(1200, 900, QImage.Format.Format_ARGB32_Premultiplied)
painter = QPainter(image)
painter.fillRect(0, 0, 1200, 900, QColor(10, 20, 30, 128))  # 900 lines, blended
painter.end()
assert image.pixelColor(600, 450).alpha() == 128
tasks = sorted(open(f"/proc/self/task/{t}/comm").read().strip()
               for t in os.listdir("/proc/self/task"))
print(json.dumps(tasks))
"""


def _threads_after_a_big_fill(how: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "QT_NO_GUI_THREADPOOL"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", PAINT, how], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    names: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return names


def test_the_apps_big_fills_run_on_the_painting_thread() -> None:
    assert "Thread (pooled)" not in _threads_after_a_big_fill("app")


def test_a_plain_qt_application_hands_them_to_pool_threads() -> None:
    """The hazard is real: left alone, Qt starts pool threads for the same fill."""
    assert "Thread (pooled)" in _threads_after_a_big_fill("plain")


SWITCH = """
import sys
default = sys.getswitchinterval()
from medispecs_desktop.ui.app import GUI_SWITCH_INTERVAL, make_application
app = make_application([])
print(default, sys.getswitchinterval(), GUI_SWITCH_INTERVAL)
"""


def test_the_gui_thread_gets_the_gil_back_within_a_millisecond() -> None:
    """The engine's threads share the GIL with the GUI thread: the app asks a holder to let go
    after 1 ms, not Python's 5 (4 of 4 benchmark pairs: shorter stalls, uploads no slower)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", SWITCH], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    default, now, wanted = map(float, done.stdout.split()[-3:])
    assert default == 0.005 and now == wanted <= 0.001
