"""The real app in a real X server: `medispecs-desktop --local` under Xvfb (xcb platform), signs
in to its own demo stack child, grabs its window from the screen and quits. Also: killing the
app (SIGKILL, no clean-up at all) still ends the stack child."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest
from PySide6.QtGui import QImage

from tests.support.xvfb import XvfbNotInstalled, start_xvfb, stop_xvfb

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def xvfb_display() -> Iterator[str]:
    """A private Xvfb on a random free display; yields its DISPLAY (":N")."""
    try:
        proc, display = start_xvfb("1280x800")
    except XvfbNotInstalled as exc:
        pytest.fail(f"the real-window tests need Xvfb: {exc}")
    try:
        yield display
    finally:
        stop_xvfb(proc)


class App:
    """The app as a subprocess; collects its `medispecs-event:` lines as they come."""

    def __init__(self, display: str, **env: str) -> None:
        full_env = dict(os.environ)
        full_env.update({
            "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "MEDISPECS_TEST_EVENTS": "1",
            "MEDISPECS_AUTOLOGIN": "1", "QT_LOGGING_RULES": "qt.*=false",
        })
        full_env.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "medispecs_desktop", "--local"], cwd=ROOT, env=full_env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: list[str] = []
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("medispecs-event: "):
                with self._seen:
                    self.events.append(line.split()[1])
                    self._seen.notify_all()

    def wait_event(self, name: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        with self._seen:
            while name not in self.events:
                left = deadline - time.monotonic()
                failed = [e for e in self.events if e.endswith("_failed")]
                if left <= 0 or failed or self.proc.poll() is not None:
                    self._seen.wait(0.5)  # let the reader catch up once
                    if name in self.events:
                        return
                    raise AssertionError(
                        f"no {name!r} event (saw {self.events}, exit {self.proc.poll()})\n"
                        + self.log_tail())
                self._seen.wait(min(left, 0.5))

    def log_tail(self) -> str:
        log = Path(os.environ["MEDISPECS_HOME"]) / "logs" / "medispecs-desktop.log"
        try:
            return log.read_text(encoding="utf-8")[-3000:]
        except OSError:
            return "(no log)"

    def stderr_tail(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read()[-2000:]

    def stack_children(self) -> list[psutil.Process]:
        children: list[psutil.Process] = psutil.Process(self.proc.pid).children(recursive=True)
        return children


def _image_stats(path: Path) -> tuple[int, int, float, int, float]:
    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not a readable image"
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), dtype=np.uint8)
    pixels = data.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(-1, 3)
    distinct = len(np.unique(pixels[:: max(1, len(pixels) // 50_000)], axis=0))
    banner = np.all(np.abs(pixels.astype(int) - (0xFF, 0xF4, 0xD6)) <= 3, axis=1).mean()
    return width, height, float(pixels.std()), distinct, float(banner)


def test_real_window_signs_in_to_the_demo_and_is_not_blank(
    xvfb_display: str, tmp_path: Path
) -> None:
    shot = tmp_path / "window.png"
    app = App(xvfb_display, MEDISPECS_SCREENSHOT_TO=str(shot),
              MEDISPECS_SCREENSHOT_DELAY_MS="800", MEDISPECS_EXIT_ON="screenshot_saved")
    try:
        app.wait_event("stack_ready")
        children = app.stack_children()
        assert children, "the demo stack should run as a child process"
        app.wait_event("screenshot_saved")
        code = app.proc.wait(30)
    finally:
        if app.proc.poll() is None:
            app.proc.kill()
    assert code == 0, app.stderr_tail()
    order = ["window_shown", "stack_ready", "signed_in", "screenshot_saved"]
    assert [e for e in app.events if e in order] == order
    assert "views_ready" in app.events
    width, height, spread, distinct, banner = _image_stats(shot)
    assert width >= 720 and height >= 480  # the whole main window, not a sliver
    assert spread > 10, "the screenshot is blank"
    assert distinct > 20, "the screenshot has almost no detail"
    assert banner > 0.005, "the demo banner is not visible"
    _gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, f"stack child still running after the app quit: {alive}"
    log_text = (Path(os.environ["MEDISPECS_HOME"]) / "logs" / "medispecs-desktop.log").read_text(
        encoding="utf-8")
    assert "Signed in as demo" in log_text
    assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}\.", log_text), "a token reached the log"
    assert '"password"' not in log_text and "X-Amz-Signature=" not in log_text.replace(
        "X-Amz-Signature=REDACTED", "")


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_ending_the_app_ends_the_stack_child(xvfb_display: str, how: str) -> None:
    """SIGTERM: the app quits cleanly (exit 0) and stops its child. SIGKILL: no clean-up code
    runs in the app at all, and the child still ends (its stdin reaches EOF)."""
    app = App(xvfb_display)
    children: list[psutil.Process] = []
    try:
        app.wait_event("stack_ready")
        children = app.stack_children()
        assert children
        app.proc.send_signal(getattr(signal, how))
        try:
            code = app.proc.wait(30)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the app ignored {how}:\n{app.log_tail()}") from None
        if how == "SIGTERM":
            assert code == 0, app.log_tail()
        _gone, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, f"orphaned stack child: {alive}"
    finally:
        if app.proc.poll() is None:
            app.proc.kill()
        for child in children:  # never leave one behind, even when the test fails
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
