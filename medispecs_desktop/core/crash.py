"""Crashes leave a trace: fatal signals, uncaught exceptions (main and worker threads) and Qt's
fatal messages are written to the log directory, and the next start finds the report.

* ``faulthandler`` writes the Python stack of every thread to this session's file in
  ``{log_dir}/crashes/`` on SIGSEGV, SIGFPE, SIGABRT, SIGBUS, SIGILL (a crash in Qt or FFmpeg
  included). A session that ends cleanly removes its empty file.
* ``sys.excepthook`` and ``threading.excepthook`` log the traceback to the app log and write a
  ``crash-*.txt`` report, both redacted (``core.logs.redact``: no tokens, no URL signatures).
* :meth:`CrashReporter.clean_exit` records a clean end; :meth:`CrashReporter.previous_report`
  is the newest report written after the last clean exit (and not yet offered): the app offers
  to open it once.

Qt-free: the Qt message handler lives in ``ui/crash_report.py``.
"""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from medispecs_desktop import __version__
from medispecs_desktop.core.logs import redact

log = logging.getLogger(__name__)

CRASH_DIR_NAME = "crashes"
STATE_FILE = "state.json"
KEEP_REPORTS = 20


def _private_file(path: Path) -> IO[str]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    return os.fdopen(fd, "a", encoding="utf-8", buffering=1)


class CrashReporter:
    """One app session's crash reporting (see the module docstring)."""

    def __init__(self, log_dir: Path, *, clock: Any = time.time) -> None:
        self.dir = Path(log_dir) / CRASH_DIR_NAME
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self.dir.chmod(0o700)
        except OSError:  # pragma: no cover
            pass
        self._clock = clock
        self.session_file: Path | None = None
        self._fault: IO[str] | None = None
        self._header = ""
        self._previous_hooks: tuple[Any, Any] | None = None

    # ---------------------------------------------------------------- state

    def _state(self) -> dict[str, float]:
        try:
            data = json.loads((self.dir / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {k: float(v) for k, v in data.items() if isinstance(v, int | float)}

    def _save_state(self, **values: float) -> None:
        state = {**self._state(), **values}
        tmp = self.dir / f".{STATE_FILE}.{os.getpid()}"
        with _private_file(tmp) as fh:
            fh.write(json.dumps(state))
        tmp.replace(self.dir / STATE_FILE)

    def reports(self) -> list[Path]:
        """Reports with content, newest first (a session file holding only its header is a
        session still running, or one killed without crashing: not a report)."""
        found: list[tuple[float, Path]] = []
        for path in self.dir.glob("*.txt"):
            if path == self.session_file:
                continue
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if path.name.startswith("session-") and len(text.strip().splitlines()) <= 1:
                continue
            found.append((mtime, path))
        return [p for _, p in sorted(found, reverse=True)]

    def previous_report(self) -> Path | None:
        """The newest report newer than the last clean exit and than the last one offered."""
        state = self._state()
        since = max(state.get("clean_exit", 0.0), state.get("acknowledged", 0.0))
        for path in self.reports():
            try:
                if path.stat().st_mtime > since:
                    return path
            except OSError:
                continue
        return None

    def acknowledge(self, report: Path) -> None:
        """The user was offered ``report``: do not offer it (or older ones) again."""
        try:
            self._save_state(acknowledged=report.stat().st_mtime)
        except OSError:
            log.warning("could not record that the crash report was offered")

    # ---------------------------------------------------------------- hooks

    def install(self) -> CrashReporter:
        """faulthandler into this session's file, and the exception hooks."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self._clock()))
        self.session_file = self.dir / f"session-{stamp}-{os.getpid()}.txt"
        self._fault = _private_file(self.session_file)
        self._header = (f"MediSpecs Desktop {__version__} (pid {os.getpid()}, Python "
                        f"{sys.version.split()[0]}) started {stamp}\n")
        self._fault.write(self._header)
        faulthandler.enable(file=self._fault, all_threads=True)
        self._previous_hooks = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook
        self._prune()
        return self

    def write_report(self, title: str, text: str) -> Path:
        """A redacted report file (and its log line); returns its path."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self._clock()))
        path = self.dir / f"crash-{stamp}-{os.getpid()}-{threading.get_ident() % 10000}.txt"
        body = redact(f"{title}\n{self._header}\n{text}")
        with _private_file(path) as fh:
            fh.write(body)
        return path

    def _excepthook(self, kind: type[BaseException], value: BaseException,
                    tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        self._report("Uncaught exception in the main thread", kind, value, tb)

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "a thread"
        value = args.exc_value if args.exc_value is not None else args.exc_type()
        self._report(f"Uncaught exception in {name}", args.exc_type, value,
                     args.exc_traceback)

    def _report(self, title: str, kind: type[BaseException], value: BaseException,
                tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        log.critical("%s", title, exc_info=(kind, value, tb))  # redacted by the log filter
        try:
            path = self.write_report(title, text)
            log.critical("Crash report written: %s", path)
        except OSError:
            log.exception("could not write the crash report")

    def _prune(self) -> None:
        for old in self.reports()[KEEP_REPORTS:]:
            try:
                old.unlink()
            except OSError:
                pass

    def clean_exit(self) -> None:
        """The session ends normally: stop faulthandler, drop the session's empty file, and
        record the time (reports before it are not offered at the next start)."""
        if self._previous_hooks is not None:
            sys.excepthook, threading.excepthook = self._previous_hooks
            self._previous_hooks = None
        if self._fault is not None:
            faulthandler.disable()
            self._fault.close()
            self._fault = None
        session, self.session_file = self.session_file, None
        if session is not None:
            try:
                if len(session.read_text(encoding="utf-8").strip().splitlines()) <= 1:
                    session.unlink()
            except OSError:
                pass
        self._save_state(clean_exit=self._clock())


def install_crash_reporting(log_dir: Path) -> tuple[CrashReporter, Path | None]:
    """Start crash reporting for an app session; returns the reporter and the report of an
    earlier session that ended badly (found before this session's file exists)."""
    reporter = CrashReporter(log_dir)
    previous = reporter.previous_report()
    reporter.install()
    return reporter, previous
