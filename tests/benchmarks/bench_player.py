"""Player figures on the demo stack (a benchmark, not a test):

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_player.py [--runs 5]

* click -> first frame: ``PlayerController.open`` (playback URL from the API, stream from the
  pre-signed URL) until the first frame reaches the video output;
* seek by a click on the seek bar -> the new frame on screen (a real mouse click on the bar);
* frame step (``.`` / ``,``) -> the next / previous frame on screen, 100 each way;
* the frame numbers shown by 100 steps each way, compared with what mpv shows for the same
  steps on the same URL (``frame-step`` / ``frame-back-step`` over mpv's IPC, its
  ``estimated-frame-number`` after each step), when ``mpv`` is installed.

The clip is uploaded to the demo stack for the demo user: 29.97 fps, 900 frames whose number is
burnt into each picture (tests/support/numbered_clips), so what is on screen is read back, not
assumed. The stack runs in a child process, as in the app.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import requests
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
from medispecs_desktop.core.config import Settings
from medispecs_desktop.local.child import start_stack_process, stop_stack_process
from medispecs_desktop.ui.player import PlayerController, PlayerWidget
from medispecs_desktop.ui.tasks import TaskRunner
from tests.support.mpv import MpvIpc
from tests.support.numbered_clips import make_numbered_clip, read_qimage
from tests.support.timing import wait_until

FRAMES = 900
FPS = Fraction(30000, 1001)
STEPS = 100


def summary(name: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (f"{name:<32} n={len(ms):<4} median {statistics.median(ms):7.1f} ms   "
            f"p95 {p95:7.1f} ms   max {ms[-1]:7.1f} ms")


def upload(api: ApiClient, path: Path, video_id: str) -> Any:
    data = path.read_bytes()
    up = api.upload_url(video_id, content_type="video/mp4", size=len(data))
    put = requests.put(up["uploadUrl"], data=data, headers=up["headers"], timeout=60)
    put.raise_for_status()
    return api.create_video({"videoId": video_id, "title": "Numbered benchmark clip",
                             "recordedAt": "2025-06-01T10:00:00Z", "mimeType": "video/mp4",
                             "durationSec": FRAMES / float(FPS),
                             "sha256": hashlib.sha256(data).hexdigest(),
                             "fileSizeBytes": len(data)})


class Mpv(MpvIpc):
    """mpv paused on a URL, driven over its JSON IPC."""

    def __init__(self, url: str, folder: Path) -> None:
        super().__init__(url, folder, [])

    def steps(self, start_frame: int, count: int) -> list[int | None]:
        self.wait_loaded()
        # mpv's exact seek shows the first frame starting at or after the time
        self.command("seek", (start_frame - 0.25) / float(FPS), "absolute+exact")
        deadline = time.monotonic() + 15
        while self.command("get_property", "estimated-frame-number") != start_frame:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        time.sleep(0.5)
        shown: list[int | None] = []
        current = self.command("get_property", "estimated-frame-number")
        for command in ["frame-step"] * count + ["frame-back-step"] * count:
            self.command(command)
            deadline = time.monotonic() + 10
            number = current
            while number == current and time.monotonic() < deadline:
                time.sleep(0.005)
                number = self.command("get_property", "estimated-frame-number")
            shown.append(number)
            current = number
        return shown


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="opens (click -> first frame)")
    parser.add_argument("--seeks", type=int, default=20, help="clicks on the seek bar")
    args = parser.parse_args()

    app = QApplication([])
    proc, info = start_stack_process()
    tmp = Path(tempfile.mkdtemp(prefix="bench-player-"))
    try:
        settings = Settings(api_url=info["apiUrl"], region=info["region"],
                            user_pool_id=info["userPoolId"], client_id=info["clientId"],
                            cognito_endpoint=info["awsEndpoint"])
        auth = CognitoAuth(settings, MemoryTokenStore())
        auth.sign_in(info["username"], info["password"])
        api = ApiClient(settings, auth)
        clip = tmp / "numbered.mp4"
        make_numbered_clip(clip, frames=FRAMES, fps=FPS, gop=30)
        video = upload(api, clip, "v_bench_player_" + os.urandom(4).hex())
        print(f"clip: {FRAMES} frames at 29.97 fps, {clip.stat().st_size} bytes, "
              f"GOP 30, on the demo stack at {info['apiUrl']}")

        tasks = TaskRunner()
        controller = PlayerController(api.playback_url, tasks)
        widget = PlayerWidget(controller)
        widget.resize(960, 600)
        widget.show()
        controller.audio.setMuted(True)
        shown: list[int] = []
        sink = controller.video_sink
        assert sink is not None
        sink.videoFrameChanged.connect(
            lambda f: shown.append(read_qimage(f.toImage())) if f.isValid() else None)

        opens = []
        firsts: list[float] = []
        controller.firstFrame.connect(lambda: firsts.append(time.perf_counter()))
        for run in range(args.runs):
            controller.close()
            wait_until(lambda: controller.state == "idle")
            start = time.perf_counter()
            controller.open(video, autoplay=False)
            wait_until(lambda n=run: len(firsts) > n)
            opens.append(firsts[run] - start)
        wait_until(lambda: controller.frame_index.index is not None, timeout=60)
        index = controller.frame_index.index
        assert index is not None
        wait_until(lambda: widget.slider.maximum() > 0)

        bar = widget.slider
        seeks = []
        xs = [bar.x_of(round(bar.maximum() * ((i * 0.37) % 1.0))) for i in range(1, args.seeks + 1)]
        for x in xs:
            start = time.perf_counter()
            QTest.mouseClick(bar, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                             QPoint(x, bar.height() // 2))
            target = index.frame_at_us(bar.value() * 1000 - 1)
            wait_until(lambda t=target: bool(shown) and shown[-1] == t)
            seeks.append(time.perf_counter() - start)

        start_frame = 400
        controller.seek(index.seek_ms(start_frame))
        wait_until(lambda: bool(shown) and shown[-1] == start_frame)
        steps: list[float] = []
        sequence: list[int] = []
        for direction in [1] * STEPS + [-1] * STEPS:
            want = sequence[-1] + direction if sequence else start_frame + direction
            start = time.perf_counter()
            controller.step_frames(direction)
            wait_until(lambda w=want: bool(shown) and shown[-1] == w, timeout=10)
            steps.append(time.perf_counter() - start)
            sequence.append(shown[-1])

        print(summary("click -> first frame", opens))
        print(summary("seek (click on bar) -> new frame", seeks))
        print(summary("frame step -> next frame", steps[:STEPS]))
        print(summary("frame step -> previous frame", steps[STEPS:]))
        expected = [start_frame + i for i in range(1, STEPS + 1)] + \
                   [start_frame + STEPS - i for i in range(1, STEPS + 1)]
        print(f"our 200 steps show exactly the expected frames: {sequence == expected}")

        if shutil.which("mpv"):
            url = api.playback_url(video.video_id).url
            mpv = Mpv(url, tmp / "mpv")
            try:
                theirs = mpv.steps(start_frame, STEPS)
            finally:
                mpv.close()
            same = sum(1 for a, b in zip(theirs, sequence, strict=True) if a == b)
            print(f"mpv's 200 steps: {same}/200 frames equal to ours "
                  f"(mpv forwards {theirs[:5]}…, backwards {theirs[STEPS:STEPS + 5]}…)")
        else:
            print("mpv not installed: no comparison")
        controller.shutdown()
        tasks.shutdown()
        api.close()
    finally:
        stop_stack_process(proc)
        shutil.rmtree(tmp, ignore_errors=True)
        app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
