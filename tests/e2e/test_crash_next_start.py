"""The real app (`python -m medispecs_desktop`, offscreen) dies of SIGSEGV; faulthandler leaves
the Python stacks in the log directory, and the next start offers that report - once - and
then exits cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from medispecs_desktop.core.crash import CrashReporter

ROOT = Path(__file__).resolve().parents[2]


def start(home: Path, **env: str) -> subprocess.Popen[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("MEDISPECS_")}
    full.update({"MEDISPECS_HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
                 "MEDISPECS_TEST_EVENTS": "1", "QT_LOGGING_RULES": "qt.*=false", **env})
    return subprocess.Popen([sys.executable, "-m", "medispecs_desktop"], cwd=ROOT, env=full,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_event(proc: subprocess.Popen[str], name: str) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(f"medispecs-event: {name} "):
            return
    raise AssertionError(f"no {name} event; exit {proc.wait()}: {proc.stderr.read()[-2000:]}"
                         if proc.stderr else "")


def test_a_crashed_app_offers_its_report_at_the_next_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = start(home)
    wait_event(first, "window_shown")
    first.send_signal(signal.SIGSEGV)  # what a crash in Qt/FFmpeg looks like to the process
    assert first.wait(30) == -signal.SIGSEGV
    log_dir = home / "logs"
    (report,) = CrashReporter(log_dir).reports()
    text = report.read_text()
    assert "Fatal Python error: Segmentation fault" in text
    assert "Current thread" in text or "Thread 0x" in text  # the stacks of the threads

    second = start(home, MEDISPECS_EXIT_ON="window_shown")
    _out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err[-2000:]
    app_log = (log_dir / "medispecs-desktop.log").read_text()
    assert f"Offered the crash report {report}" in app_log
    assert CrashReporter(log_dir).previous_report() is None  # clean exit, offered once
    assert CrashReporter(log_dir).reports() == [report]  # no empty session file left
