"""Crashes leave a trace (core/crash.py): real processes that die of SIGSEGV, or of an uncaught
exception in the main thread or a worker thread; the next start finds the report, once, and
nothing secret is in it."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from medispecs_desktop.core.crash import CrashReporter, install_crash_reporting
from medispecs_desktop.core.logs import LOG_FILE_NAME

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXBhcnQ"
URL = "https://b.s3.amazonaws.com/v.mp4?X-Amz-Signature=deadbeefcafe1234&X-Amz-Expires=600"


def session(log_dir: Path, body: str) -> subprocess.CompletedProcess[str]:
    """A process that starts crash reporting as the app does, then runs ``body``."""
    code = textwrap.dedent(f"""
        import faulthandler, logging, sys, threading, time
        from pathlib import Path
        from medispecs_desktop.core.logs import setup_logging
        from medispecs_desktop.core.crash import install_crash_reporting
        log_dir = Path({str(log_dir)!r})
        setup_logging(log_dir)
        reporter, previous = install_crash_reporting(log_dir)
        print("previous:", previous, flush=True)
    """) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"})


def test_a_segfault_is_found_at_the_next_start_and_offered_once(tmp_path: Path) -> None:
    crashed = session(tmp_path, "faulthandler._sigsegv()\n")
    assert crashed.returncode == -signal.SIGSEGV
    reporter, previous = install_crash_reporting(tmp_path)
    try:
        assert previous is not None and previous.name.startswith("session-")
        text = previous.read_text()
        assert "Fatal Python error: Segmentation fault" in text
        assert "MediSpecs Desktop" in text.splitlines()[0]
        assert previous.stat().st_mode & 0o077 == 0
        reporter.acknowledge(previous)
        assert CrashReporter(tmp_path).previous_report() is None  # offered once
    finally:
        reporter.clean_exit()


def test_a_clean_exit_leaves_nothing_to_offer_and_no_empty_file(tmp_path: Path) -> None:
    crashed = session(tmp_path, "faulthandler._sigsegv()\n")
    assert crashed.returncode == -signal.SIGSEGV
    clean = session(tmp_path, "reporter.clean_exit()\n")
    assert clean.returncode == 0 and "previous: " in clean.stdout
    assert "session-" in clean.stdout  # that run saw the crash before it
    assert CrashReporter(tmp_path).previous_report() is None  # older than the clean exit
    sessions = sorted((tmp_path / "crashes").glob("session-*.txt"))
    assert len(sessions) == 1  # the crashed one; the clean one removed its empty file


def test_killed_without_a_crash_is_no_report(tmp_path: Path) -> None:
    killed = session(tmp_path, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)\n")
    assert killed.returncode == -signal.SIGKILL
    assert CrashReporter(tmp_path).previous_report() is None


def test_uncaught_exceptions_are_logged_and_reported_without_secrets(tmp_path: Path) -> None:
    body = f"""
        def work():
            raise RuntimeError("worker failed on {URL} with Bearer {TOKEN}")
        t = threading.Thread(target=work, name="ms-uploads_0")
        t.start(); t.join()
        raise ValueError("main failed, token={TOKEN}")
    """
    died = session(tmp_path, body)
    assert died.returncode == 1
    reporter, previous = install_crash_reporting(tmp_path)
    try:
        reports = reporter.reports()
        assert previous == reports[0]
        texts = [p.read_text() for p in reports]
        assert any("Uncaught exception in ms-uploads_0" in t and "RuntimeError" in t
                   for t in texts)
        assert any("Uncaught exception in the main thread" in t and "ValueError" in t
                   for t in texts)
        app_log = (tmp_path / LOG_FILE_NAME).read_text()
        assert "RuntimeError: worker failed" in app_log and "ValueError: main failed" in app_log
        for text in [*texts, app_log]:
            assert TOKEN not in text and "deadbeefcafe1234" not in text
            assert "X-Amz-Signature=REDACTED" in text or "token=REDACTED" in text
    finally:
        reporter.clean_exit()
