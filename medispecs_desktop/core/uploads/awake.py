"""Ask the operating system not to sleep while uploads run (best effort, never fatal).

* Linux: ``systemd-inhibit --what=idle:sleep … tail --pid=<our pid> -f /dev/null`` held as a
  child process (logind drops the lock when it ends; ``tail --pid`` ends with us, even after a
  kill -9). Without logind (containers) the child exits at once and nothing happens.
* macOS: ``caffeinate -i -w <our pid>`` (ends by itself if we die).
* Windows: ``SetThreadExecutionState(ES_CONTINUOUS | ES_SYSTEM_REQUIRED)`` — per thread, so
  :meth:`SleepInhibitor.set` must be called from one long-lived thread (the engine's scheduler).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

log = logging.getLogger(__name__)

_ES_CONTINUOUS = 0x80000000
_ES_SYSTEM_REQUIRED = 0x00000001


def default_command() -> list[str] | None:
    if sys.platform == "darwin" and shutil.which("caffeinate"):
        return ["caffeinate", "-i", "-w", str(os.getpid())]
    if sys.platform.startswith("linux") and shutil.which("systemd-inhibit") and shutil.which(
        "tail"
    ):
        # `tail --pid` ends when this process ends, even after kill -9: never a stale lock
        return [
            "systemd-inhibit", "--what=idle:sleep", "--who=MediSpecs Desktop",
            "--why=Uploading recordings", "--mode=block",
            "tail", f"--pid={os.getpid()}", "-f", "/dev/null",
        ]
    return None


class SleepInhibitor:
    def __init__(self, command: Sequence[str] | None = None, *, enabled: bool = True) -> None:
        self._command = list(command) if command is not None else default_command()
        self._enabled = enabled
        self._proc: subprocess.Popen[bytes] | None = None
        self._windows_held = False

    @property
    def held(self) -> bool:
        if self._windows_held:
            return True
        return self._proc is not None and self._proc.poll() is None

    def set(self, active: bool) -> None:
        """Hold the inhibition while ``active``; idempotent."""
        if not self._enabled:
            return
        if active:
            self._acquire()
        else:
            self.release()

    def _acquire(self) -> None:
        if sys.platform == "win32":  # pragma: no cover - Windows only
            if not self._windows_held:
                import ctypes

                kernel32 = getattr(ctypes, "windll").kernel32  # noqa: B009
                kernel32.SetThreadExecutionState(_ES_CONTINUOUS | _ES_SYSTEM_REQUIRED)
                self._windows_held = True
            return
        if self._proc is not None:
            if self._proc.poll() is None:
                return  # already held
            # it ended by itself (no logind/bus): sleep cannot be inhibited here, stop trying
            log.debug("sleep inhibitor unavailable (exit %s)", self._proc.returncode)
            self._proc = None
            self._command = None
        if self._command is None:
            return
        try:
            self._proc = subprocess.Popen(
                self._command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True,
            )
            log.debug("sleep inhibited while uploading (%s)", self._command[0])
        except OSError as exc:
            log.debug("cannot inhibit sleep: %s", exc)
            self._command = None

    def release(self) -> None:
        if self._windows_held:  # pragma: no cover - Windows only
            import ctypes

            getattr(ctypes, "windll").kernel32.SetThreadExecutionState(_ES_CONTINUOUS)  # noqa: B009
            self._windows_held = False
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                proc.kill()
                proc.wait()
