"""A private Xvfb on a random free display, for the real-window e2e tests and the scripts that
run the real window (packaging/make_screenshot.py, tests/benchmarks/bench_startup.py).

Scripts run from a checkout import it after putting the checkout's root on ``sys.path``.
Only the standard library: the scripts use it before anything else is set up.
"""

from __future__ import annotations

import os
import random
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

INSTALL_HINT = "Debian/Ubuntu: sudo apt-get install xvfb"

# read ends of the -displayfd pipes, by Xvfb pid: kept open while the server runs
_OPEN_FDS: dict[int, int] = {}


class XvfbNotInstalled(RuntimeError):
    """There is no ``Xvfb`` on PATH."""


def _read_display(read_fd: int, timeout: float = 20.0) -> str:
    """The display number Xvfb writes to -displayfd, once it accepts connections."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([read_fd], [], [], max(0.0, left))
        if not ready:
            break
        chunk = os.read(read_fd, 64)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


def _close_fd(pid: int) -> None:
    fd = _OPEN_FDS.pop(pid, None)
    if fd is not None:
        os.close(fd)


def display_is_free(number: int) -> bool:
    """No lock file and no (abstract-namespace) socket for display ``number``: other X servers
    on this machine, even in other mount namespaces, cannot be hijacked or confused."""
    if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
        return False
    if sys.platform.startswith("linux"):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.bind(f"\0/tmp/.X11-unix/X{number}")
        except OSError:
            return False
        finally:
            probe.close()
    return True


def start_xvfb(size: str = "1280x800", *, attempts: int = 10,
               timeout: float = 20.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start Xvfb (``size`` WxH, 24-bit) on a random free display and wait until it accepts
    connections; returns (process, DISPLAY such as ``":1234"``). Raises
    :class:`XvfbNotInstalled`, or :class:`RuntimeError` when no display could be started."""
    exe = shutil.which("Xvfb")
    if exe is None:
        raise XvfbNotInstalled(f"Xvfb is not installed ({INSTALL_HINT})")
    rng = random.Random()
    for _attempt in range(attempts):
        number = rng.randrange(100, 30_000)
        if not display_is_free(number):
            continue
        read_fd, write_fd = os.pipe()
        proc = subprocess.Popen(
            [exe, f":{number}", "-displayfd", str(write_fd), "-screen", "0", f"{size}x24",
             "-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_fd)
        reported = _read_display(read_fd, timeout)
        # keep read_fd open while the server runs: Xvfb may write the newline separately and
        # dies ("Cannot write display number") if the pipe is closed in between
        _OPEN_FDS[proc.pid] = read_fd
        if reported == str(number):
            return proc, f":{number}"
        proc.kill()
        proc.wait(5)
        _close_fd(proc.pid)
    raise RuntimeError("Xvfb did not start on any free display")


def stop_xvfb(proc: subprocess.Popen[bytes]) -> None:
    """Terminate (then kill) a server from :func:`start_xvfb` and release its pipe."""
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    _close_fd(proc.pid)


@contextmanager
def xvfb(size: str = "1280x800") -> Iterator[str]:
    """``with xvfb() as display:`` a private server for the block; yields its DISPLAY."""
    proc, display = start_xvfb(size)
    try:
        yield display
    finally:
        stop_xvfb(proc)
