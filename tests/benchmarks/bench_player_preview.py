"""Seek-bar hover preview figures (a benchmark, not a test):

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_player_preview.py \
        [--seconds 120] [--width 1280] [--height 720] [--hovers 40]

A clip (``make_video``, H.264 from libx264) served by a moto S3 server over HTTP
through a pre-signed URL, as the app streams recordings. Measured, from the mouse-move event on
the real seek bar to the picture in the preview popup:

* **keyframe, cold**: the first hover of each time bucket (PyAV opens/reads the URL with range
  reads, decodes the keyframe, scales and encodes it, writes the private cache);
* **cached**: hovering a bucket already decoded (a picture in memory);
* **sheet**: with the recording's preview sheet (made by the server's pipeline) loaded: every
  hover is a crop of the sheet in memory.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--hovers", type=int, default=40)
    args = parser.parse_args()

    from medispecs_desktop.backend.processing.media import preview_sheet, probe
    from medispecs_desktop.core.models import Video
    from medispecs_desktop.core.preview import PreviewCache
    from medispecs_desktop.local.samples import make_video
    from medispecs_desktop.ui.player import PlayerController, PlayerWidget
    from medispecs_desktop.ui.tasks import TaskRunner
    from tests.support.player_s3 import Url, moto_s3

    app = QApplication([])
    tasks = TaskRunner()
    work = Path(tempfile.mkdtemp(prefix="bench-preview-"))
    clip = make_video(work / "clip.mp4", seconds=args.seconds, width=args.width,
                      height=args.height, fps=30)
    data = clip.read_bytes()
    bucket = "bench-preview"
    server = moto_s3(bucket)
    client, _endpoint = next(server)
    try:
        client.put_object(Bucket=bucket, Key="v.mp4", Body=data)
        sheet = preview_sheet(io.BytesIO(data), probe(io.BytesIO(data), len(data)))
        client.put_object(Bucket=bucket, Key="sheet.jpg", Body=sheet.jpeg)
        client.put_object(Bucket=bucket, Key="index.json", Body=sheet.index_json())

        def signed(key: str, client: Any = client) -> str:
            return str(client.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=3600))

        controller = PlayerController(lambda _vid: Url(signed("v.mp4"), time.time() + 3600),
                                      tasks)
        widget = PlayerWidget(controller)
        widget.resize(1200, 700)
        widget.show()
        controller.audio.setMuted(True)
        preview = widget.preview
        preview.cache = PreviewCache(work / "cache", "bench")
        bar = widget.slider

        def wait(cond: Any, timeout: float = 30.0) -> None:
            end = time.monotonic() + timeout
            while not cond():
                if time.monotonic() > end:
                    raise TimeoutError
                app.processEvents()
                time.sleep(0.001)

        def hover(ms: int) -> float:
            """ms from the mouse move to the picture of ``ms``'s bucket in the popup."""
            point = QPointF(bar.x_of(ms), bar.height() / 2)
            before = preview.decodes
            started = time.perf_counter()
            QApplication.sendEvent(bar, QMouseEvent(
                QEvent.Type.MouseMove, point, bar.mapToGlobal(point), Qt.MouseButton.NoButton,
                Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
            if preview.shown_ms != bar.value_at(point.x()):
                wait(lambda: preview.decodes > before)
            return (time.perf_counter() - started) * 1000

        def open_video(extra: dict[str, str]) -> None:
            video = Video.from_api({"videoId": "v_bench", "title": "Bench", "status": "ready",
                                    "recordedAt": "2025-11-03T14:30:00Z", **extra})
            controller.open(video, autoplay=False)
            wait(lambda: controller.duration > 0 and controller.state == "paused")

        open_video({})
        step = int(controller.duration / (args.hovers + 1))
        times = [step * (i + 1) for i in range(args.hovers)]
        cold = [hover(t) for t in times]
        cached = [hover(t + 10) for t in times]
        open_video({"previewSheetUrl": signed("sheet.jpg"),
                    "previewIndexUrl": signed("index.json")})
        wait(lambda: preview.has_sheet)
        from_sheet = [hover(t) for t in times]
        for name, values in (("keyframe, cold", cold), ("cached", cached),
                             ("sheet", from_sheet)):
            ordered = sorted(values)
            print(f"{name:15s} median {statistics.median(values):7.1f} ms   "
                  f"p90 {ordered[int(len(ordered) * 0.9) - 1]:7.1f} ms   "
                  f"max {ordered[-1]:7.1f} ms   (n={len(values)})")
        print(f"clip {args.width}x{args.height} {args.seconds:g} s, {len(data) / 1e6:.1f} MB, "
              f"sheet {len(sheet.jpeg) / 1e3:.0f} KB")
        controller.shutdown()
    finally:
        next(server, None)  # runs moto_s3 on: it stops the server
        shutil.rmtree(work, ignore_errors=True)  # the clip and the preview cache
    tasks.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
