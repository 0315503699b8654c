#!/usr/bin/env python3
"""Refresh docs/screenshot.png: the real app, signed in to its demo stack, in a private Xvfb.

    .venv/bin/python packaging/make_screenshot.py [--out docs/screenshot.png] [--delay-ms 3000]

Starts ``Xvfb`` (Debian package ``xvfb``) on a free display, runs ``medispecs-desktop --local``
there with the xcb platform and a fresh, throw-away settings directory, lets it sign in with the
demo account (``MEDISPECS_AUTOLOGIN=1``, honoured in demo mode only), waits ``--delay-ms`` for
the views to load, and saves the window as the screen shows it (``QScreen.grabWindow``). It is a
script, not a test: it writes a tracked file.
"""

from __future__ import annotations

import argparse
import os
import random
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


_OPEN_FDS: dict[int, int] = {}


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


def _display_is_free(number: int) -> bool:
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


def start_xvfb(size: str = "1280x800") -> tuple[subprocess.Popen[bytes], str]:
    """A private Xvfb on a random free display; returns (process, DISPLAY)."""
    exe = shutil.which("Xvfb")
    if exe is None:
        raise SystemExit("Xvfb is not installed (Debian/Ubuntu: sudo apt-get install xvfb)")
    rng = random.Random()
    for _attempt in range(10):
        number = rng.randrange(100, 30_000)
        if not _display_is_free(number):
            continue
        read_fd, write_fd = os.pipe()
        proc = subprocess.Popen(
            [exe, f":{number}", "-displayfd", str(write_fd), "-screen", "0", f"{size}x24",
             "-nolisten", "tcp", "-noreset"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_fd)
        reported = _read_display(read_fd)
        # keep read_fd open while the server runs: Xvfb may write the newline separately and
        # dies ("Cannot write display number") if the pipe is closed in between
        _OPEN_FDS[proc.pid] = read_fd
        if reported == str(number):
            return proc, f":{number}"
        proc.kill()
        proc.wait(5)
        _close_fd(proc.pid)
    raise SystemExit("Xvfb did not start on any free display")


def stop_xvfb(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    _close_fd(proc.pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--size", default="1600x1000",
                        help="screen size WxH (default 1600x1000; the window takes 85 %%)")
    parser.add_argument("--delay-ms", type=int, default=3000,
                        help="wait after sign-in before the grab (default 3000)")
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args(argv)

    out: Path = args.out.resolve()
    xvfb, display = start_xvfb(args.size)
    try:
        with tempfile.TemporaryDirectory(prefix="medispecs-shot-") as home:
            env = dict(os.environ)
            env.update({
                "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "MEDISPECS_HOME": home,
                "MEDISPECS_AUTOLOGIN": "1", "MEDISPECS_TEST_EVENTS": "1",
                "MEDISPECS_SCREENSHOT_TO": str(out),
                "MEDISPECS_SCREENSHOT_DELAY_MS": str(args.delay_ms),
                "MEDISPECS_EXIT_ON": "screenshot_saved",
                "QT_LOGGING_RULES": "qt.*=false",
            })
            for var in ("MEDISPECS_API_URL", "MEDISPECS_USER_POOL_ID", "MEDISPECS_CLIENT_ID",
                        "MEDISPECS_COGNITO_ENDPOINT"):
                env.pop(var, None)
            try:
                result = subprocess.run(
                    [sys.executable, "-m", "medispecs_desktop", "--local"], cwd=ROOT, env=env,
                    stdin=subprocess.DEVNULL, capture_output=True, text=True,
                    timeout=args.timeout)
            except subprocess.TimeoutExpired:
                print(f"the app did not finish within {args.timeout:.0f} s", file=sys.stderr)
                return 1
            events = [line.split()[1] for line in result.stdout.splitlines()
                      if line.startswith("medispecs-event: ")]
            if result.returncode != 0 or "screenshot_saved" not in events:
                log = Path(home) / "logs" / "medispecs-desktop.log"
                tail = log.read_text(encoding="utf-8")[-3000:] if log.exists() else ""
                print(f"screenshot failed (exit {result.returncode}, events {events})\n"
                      f"{result.stderr[:3000]}\n{tail}", file=sys.stderr)
                return 1
    finally:
        stop_xvfb(xvfb)
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
