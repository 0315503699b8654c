"""Backward play (J) figures: the speed really achieved at 1×, against the clip's frame rate
and against mpv's ``--play-dir=backward`` on the same pre-signed URL (a benchmark, not a test):

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_player_reverse.py \
        [--pairs 3] [--scale 6] [--frames 300] [--speeds 1,2,4]

The clip: 30 fps, 600 frames, a keyframe every 250 frames (the long groups of pictures that
made frame-by-frame stepping back collapse), each frame's number burnt into the picture
(tests/support/numbered_clips; ``--scale 6`` makes it 1344×576), served by a moto S3 server in
a child process through a real pre-signed URL. Each run starts paused on frame 590 and plays
backwards at 1× (and 2×, 4×: J pressed two, three times; mpv's ``speed``) until frame
590 − ``--frames`` is on screen:

* ours: a real PlayerWidget (800×480) over a PlayerController, J pressed; every frame that
  reaches the video output is read back (its number), so skipped frames are counted, not
  assumed; the time is from the key press to the last frame, and from the first backward
  frame to the last (the steady rate);
* mpv (when installed): ``--play-dir=backward --vo=null`` paused at the same frame, unpaused
  over its JSON IPC; the time until its ``estimated-frame-number`` reaches the same frame, and
  its dropped frames (``frame-drop-count``).

Runs alternate (ours, mpv, ours, mpv, …) so both see the same machine load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import itertools

import boto3
from botocore.config import Config
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication

from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.player import PlayerController, PlayerWidget
from medispecs_desktop.ui.tasks import TaskRunner
from tests.support.mpv import MpvIpc
from tests.support.numbered_clips import make_numbered_clip, read_qimage
from tests.support.player_s3 import Url
from tests.support.timing import wait_until

FPS = 30
FRAMES = 600
GOP = 250
START = 590
BUCKET = "bench-reverse"
KEY = "videos/u/v_bench_reverse.mp4"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve_clip(path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A moto S3 server in a child process holding the clip; its pre-signed GET URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing",
                          config=Config(signature_version="s3v4"))
    deadline = time.monotonic() + 30
    while True:
        try:
            client.create_bucket(Bucket=BUCKET)
            break
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.2)
    client.put_object(Bucket=BUCKET, Key=KEY, Body=path.read_bytes(), ContentType="video/mp4")
    url = client.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": KEY},
                                        ExpiresIn=3600)
    return proc, url


def ours(url: str, frames: int, speed: int) -> dict[str, Any]:
    tasks = TaskRunner()
    controller = PlayerController(lambda _vid: Url(url, time.time() + 3600), tasks)
    widget = PlayerWidget(controller)
    widget.resize(800, 480)
    widget.show()
    controller.audio.setMuted(True)
    shown: list[tuple[float, int]] = []
    sink = controller.video_sink
    assert sink is not None
    sink.videoFrameChanged.connect(lambda f: shown.append(
        (time.perf_counter(), read_qimage(f.toImage()))) if f.isValid() else None)
    video = Video.from_api({"videoId": "v_bench_reverse", "title": "Reverse", "status": "ready",
                            "recordedAt": "2025-11-03T14:30:00Z"})
    try:
        controller.open(video, autoplay=False)
        wait_until(lambda: controller.frame_index.index is not None and bool(shown))
        index = controller.frame_index.index
        assert index is not None
        controller.seek(index.seek_ms(START))
        wait_until(lambda: shown[-1][1] == START)
        end = START - frames
        begin = len(shown)
        pressed = time.perf_counter()
        for _press in range({1: 1, 2: 2, 4: 3}[speed]):  # J, J J, J J J
            controller.shuttle_back()
        wait_until(lambda: shown[-1][1] <= end, timeout=600)
        said = widget.message_label.text()
        controller.pause()
        backwards = shown[begin:]
        numbers = [n for _t, n in backwards]
        missing = sorted(set(range(end, START)) - set(numbers))
        out_of_order = sum(1 for a, b in itertools.pairwise(numbers) if b != a - 1)
        first, last = backwards[0][0], backwards[-1][0]
        gap = max((b - a for (a, _n), (b, _m) in itertools.pairwise(backwards)), default=0.0)
        return {"speed": speed, "elapsed_s": last - pressed,
                "first_frame_ms": (first - pressed) * 1000,
                "fps": (START - numbers[-1]) / (last - pressed),
                "worst_gap_ms": gap * 1000, "waited_for_decoder": controller.reverse.waits,
                "steady_fps": (len(backwards) - 1) / (last - first) if last > first else 0.0,
                "shown": len(numbers), "missing": len(missing), "not_next": out_of_order,
                "said": said}
    finally:
        controller.shutdown()
        widget.close()
        widget.deleteLater()
        tasks.shutdown()
        QCoreApplication.processEvents()


class Mpv(MpvIpc):
    """mpv playing backwards from a paused start, over its JSON IPC."""

    def __init__(self, url: str, folder: Path) -> None:
        super().__init__(url, folder, ["--play-dir=backward", f"--start={(START + 0.5) / FPS:.4f}"])

    def run(self, frames: int, speed: int) -> dict[str, Any]:
        self.wait_loaded()
        self.command("set_property", "speed", float(speed))
        time.sleep(0.5)
        start = self.command("get_property", "estimated-frame-number")
        end = START - frames
        pressed = time.perf_counter()
        self.command("set_property", "pause", False)
        number = start
        while number is None or number > end:
            time.sleep(0.002)
            number = self.command("get_property", "estimated-frame-number")
        elapsed = time.perf_counter() - pressed
        return {"speed": speed, "elapsed_s": elapsed, "fps": (start - number) / elapsed,
                "from": start,
                "dropped": self.command("get_property", "frame-drop-count")}


def rounded(result: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in result.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3, help="alternating runs (ours, mpv)")
    parser.add_argument("--scale", type=int, default=6, help="picture scale (6: 1344×576)")
    parser.add_argument("--frames", type=int, default=300, help="frames played backwards")
    parser.add_argument("--speeds", default="1,2,4", help="J once, twice, three times")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-reverse-"))
    clip = tmp / "clip.mp4"
    make_numbered_clip(clip, frames=FRAMES, fps=Fraction(FPS), gop=GOP, scale=args.scale)
    server, url = serve_clip(clip)
    has_mpv = shutil.which("mpv") is not None
    parser_speeds = [int(x) for x in args.speeds.split(",")]
    mine: dict[int, list[dict[str, Any]]] = {speed: [] for speed in parser_speeds}
    theirs: dict[int, list[dict[str, Any]]] = {speed: [] for speed in parser_speeds}
    try:
        for speed in parser_speeds:
            for pair in range(args.pairs):
                mine[speed].append(ours(url, args.frames, speed))
                print(json.dumps({"run": pair, "who": "ours", **rounded(mine[speed][-1])},
                                 ensure_ascii=False))
                if has_mpv:
                    mpv = Mpv(url, tmp / "mpv")
                    try:
                        theirs[speed].append(mpv.run(args.frames, speed))
                    finally:
                        mpv.close()
                    print(json.dumps({"run": pair, "who": "mpv",
                                      **rounded(theirs[speed][-1])}))
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    width, height = 224 * args.scale, 96 * args.scale
    print(f"clip {width}×{height}, {FPS} fps, keyframe every {GOP} frames; "
          f"{args.frames} frames backwards from frame {START}, median of {args.pairs}; "
          "fps = clip frames gone through per second:")
    for speed in parser_speeds:
        runs = mine[speed]
        fps = statistics.median(r["fps"] for r in runs)
        line = (f"  {speed}× ours: {fps:.1f} fps from the key press ({fps / FPS:.2f}× normal "
                f"speed), {statistics.median(r['shown'] for r in runs):.0f} frames shown, "
                f"first {statistics.median(r['first_frame_ms'] for r in runs):.0f} ms after J, "
                f"worst gap {max(r['worst_gap_ms'] for r in runs):.0f} ms, waited for the "
                f"decoder {max(r['waited_for_decoder'] for r in runs)}×")
        if speed == 1:
            line += (f", steady {statistics.median(r['steady_fps'] for r in runs):.1f} fps; "
                     f"missing {max(r['missing'] for r in runs)}, out of order "
                     f"{max(r['not_next'] for r in runs)} (worst run)")
        print(line)
        if has_mpv:
            theirs_fps = statistics.median(r["fps"] for r in theirs[speed])
            print(f"  {speed}× mpv --play-dir=backward: {theirs_fps:.1f} fps from unpausing "
                  f"({theirs_fps / FPS:.2f}×), frames dropped "
                  f"{max(r['dropped'] or 0 for r in theirs[speed])} (worst run)")
    if not has_mpv:
        print("  mpv not installed: no comparison")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
