"""Library and player numbers with 10,000 recordings for one user in the local stack.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/benchmarks/bench_library.py [--count 10000]

* seeds ``--count`` VIDEO items (+ their VIDEOID pointers) for the demo user straight into
  moto's DynamoDB with BatchWriteItem (item shape of backend/schema.py and DESIGN §4), plus one
  real recording uploaded the way the desktop does (for playback) and real JPEG thumbnails
  for the newest ``--thumbnails`` items;
* sign-in -> first rows shown (cold: no cache; warm: with the offline listing cache);
* GUI-thread max stall while scrolling the table to the very end (a 5 ms heartbeat timer on
  the GUI thread records the longest gap), with the page size the app uses; the time to the
  last row is paired with its peer, every page through the API client alone (the same pages,
  the same stack, right before and right after the scroll, so both see the same load);
* memory of the model (tracemalloc of the Video list, and the process RSS growth);
* click -> first frame for a recording (PlayerController over the real playback URL).

The stack runs in a child process, as in the app (its work does not hold this GIL).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")

import boto3
import psutil
import requests
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from medispecs_desktop.backend import schema
from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore, decode_claims
from medispecs_desktop.core.config import Settings
from medispecs_desktop.core.library_cache import LibraryCache
from medispecs_desktop.core.models import Video, format_utc
from medispecs_desktop.core.thumbnail_cache import ThumbnailCache
from medispecs_desktop.local.child import start_stack_process, stop_stack_process
from medispecs_desktop.ui.library import LibraryWidget
from medispecs_desktop.ui.player import PlayerController, PlayerWidget
from medispecs_desktop.ui.tasks import TaskRunner

PAGE_SIZE = 100  # the API's maximum page


class Heartbeat:
    """Largest gap between 5 ms ticks on the GUI thread = the longest stall."""

    def __init__(self, interval_ms: int = 5) -> None:
        self.interval = interval_ms
        self.timer = QTimer()
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.clock = QElapsedTimer()
        self.gaps: list[float] = []
        self._last = 0

    def start(self) -> None:
        self.gaps.clear()
        self.clock.start()
        self._last = 0
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.elapsed()
        self.gaps.append(now - self._last)
        self._last = now

    def stop(self) -> dict[str, float]:
        self.timer.stop()
        gaps = sorted(self.gaps) or [0.0]
        return {
            "max_ms": gaps[-1],
            "p99_ms": gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))],
            "ticks": float(len(gaps)),
        }


def wait_until(app: QCoreApplication, predicate: Any, timeout: float = 120.0,
               every: Any = None, interval_ms: int = 5) -> None:
    """Run the real event loop (it sleeps in poll, like the app) until ``predicate()``;
    ``every()`` is called on each check (e.g. the user scrolling)."""
    if predicate():
        return
    loop = QEventLoop()
    deadline = time.monotonic() + timeout
    timed_out = []

    def check() -> None:
        if every is not None:
            every()
        if predicate():
            loop.quit()
        elif time.monotonic() > deadline:
            timed_out.append(True)
            loop.quit()

    timer = QTimer()
    timer.setInterval(interval_ms)
    timer.timeout.connect(check)
    timer.start()
    loop.exec()
    timer.stop()
    if timed_out:
        raise TimeoutError("benchmark step timed out")


def seed(info: dict[str, Any], user_id: str, count: int, thumbs: int, jpeg: bytes) -> None:
    ddb = boto3.client("dynamodb", endpoint_url=info["awsEndpoint"], region_name=info["region"],
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    s3 = boto3.client("s3", endpoint_url=info["awsEndpoint"], region_name=info["region"],
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    pk = schema.user_pk(user_id)
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = format_utc(now)
    requests_batch: list[dict[str, Any]] = []
    thumb_keys: list[str] = []
    t0 = time.perf_counter()
    for i in range(count):
        video_id = f"v_bench{i:06d}{uuid.uuid4().hex[:8]}"
        recorded = format_utc(now - timedelta(days=400) + timedelta(minutes=i))
        sk = schema.video_sk(recorded, video_id)
        thumb_key = f"thumbnails/{user_id}/{video_id}.jpg"
        item = {
            "PK": {"S": pk}, "SK": {"S": sk}, "entity": {"S": schema.ENTITY_VIDEO},
            "videoId": {"S": video_id}, "userId": {"S": user_id},
            "deviceId": {"S": "d_bench_glasses"}, "title": {"S": f"Bench recording {i:05d}"},
            "s3Key": {"S": f"videos/{user_id}/{video_id}.mp4"}, "s3Bucket": {"S": info["bucket"]},
            "thumbnailS3Key": {"S": thumb_key},
            "recordedAt": {"S": recorded}, "durationSec": {"N": str(30 + i % 600)},
            "fileSizeBytes": {"N": str(5_000_000 + i)}, "mimeType": {"S": "video/mp4"},
            "status": {"S": "ready"}, "createdAt": {"S": stamp}, "updatedAt": {"S": stamp},
            "version": {"N": "1"}, "width": {"N": "1280"}, "height": {"N": "720"},
            "codec": {"S": "h264"},
        }
        pointer = {
            "PK": {"S": pk}, "SK": {"S": schema.video_id_sk(video_id)},
            "entity": {"S": schema.ENTITY_VIDEO_ID}, "videoId": {"S": video_id},
            "videoSK": {"S": sk},
        }
        requests_batch += [{"PutRequest": {"Item": item}}, {"PutRequest": {"Item": pointer}}]
        if i >= count - thumbs:  # the newest ones have real thumbnails
            thumb_keys.append(thumb_key)

    def put_thumbnail(key: str) -> None:
        s3.put_object(Bucket=info["bucket"], Key=key, Body=jpeg, ContentType="image/jpeg")

    with ThreadPoolExecutor(4) as pool:  # a client is thread-safe; the stack serves 4 at once
        list(pool.map(put_thumbnail, thumb_keys))
    for start in range(0, len(requests_batch), 25):
        chunk: Any = {info["table"]: requests_batch[start:start + 25]}
        while chunk:
            resp = ddb.batch_write_item(RequestItems=chunk)
            chunk = resp.get("UnprocessedItems") or {}
    print(f"seeded {count} recordings (+pointers, {thumbs} thumbnails) in "
          f"{time.perf_counter() - t0:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--thumbnails", type=int, default=200)
    parser.add_argument("--plays", type=int, default=5)
    args = parser.parse_args()

    app = QApplication.instance() or QApplication(sys.argv[:1])
    proc, info = start_stack_process()
    tmp = TemporaryDirectory(prefix="bench-library-")
    os.environ["MEDISPECS_HOME"] = tmp.name
    try:
        settings = Settings(api_url=info["apiUrl"], region=info["region"],
                            user_pool_id=info["userPoolId"], client_id=info["clientId"],
                            cognito_endpoint=info["awsEndpoint"])
        auth = CognitoAuth(settings, MemoryTokenStore())
        auth.sign_in(info["username"], info["password"])
        user_id = str(decode_claims(auth.id_token())["sub"])

        # one real recording (bytes + thumbnail) for playback, uploaded as the desktop does
        from medispecs_desktop.core.media import thumbnail_jpeg
        from medispecs_desktop.local.samples import make_video
        from medispecs_desktop.local.seed import upload_recording

        clip = make_video(Path(tmp.name) / "play.mp4", seconds=10, width=640, height=360)
        jpeg = thumbnail_jpeg(clip)
        with requests.Session() as session:
            session.trust_env = False
            played = upload_recording(session, info["apiUrl"], auth.id_token(), clip,
                                      title="Benchmark playback")
        seed(info, user_id, args.count, args.thumbnails, jpeg)

        # the server side alone: one page of 100 from the top of a 10k partition
        with ApiClient(settings, auth) as direct:
            pages = []
            for _ in range(3):
                t0 = time.perf_counter()
                direct.list_videos(limit=PAGE_SIZE)
                pages.append((time.perf_counter() - t0) * 1000)
        print(f"API alone, GET /videos?limit={PAGE_SIZE} on the local stack: median "
              f"{statistics.median(pages):.0f} ms")

        def api_all_pages() -> float:
            """Every page of PAGE_SIZE through the API client alone (the scroll's peer)."""
            with ApiClient(settings, auth) as direct:
                t0 = time.perf_counter()
                cursor: str | None = None
                while True:
                    page = direct.list_videos(limit=PAGE_SIZE, cursor=cursor)
                    cursor = page.next_cursor
                    if not cursor:
                        return time.perf_counter() - t0

        tasks = TaskRunner()
        cache_dir = Path(tmp.name) / "cache"
        process = psutil.Process()

        def run_listing(label: str) -> tuple[LibraryWidget, float]:
            # sign-in -> first rows shown, measured as the app does it: sign in, then the view
            t0 = time.perf_counter()
            fresh = CognitoAuth(settings, MemoryTokenStore())
            fresh.sign_in(info["username"], info["password"])
            signed_in = time.perf_counter() - t0
            api = ApiClient(settings, fresh)
            widget = LibraryWidget(api, tasks, cache=LibraryCache(cache_dir, user_id),
                                   thumbnails=ThumbnailCache(cache_dir, user_id),
                                   page_size=PAGE_SIZE)
            widget.resize(1280, 800)
            widget.show()
            widget.start()
            wait_until(app, lambda: widget.proxy.rowCount() > 0, interval_ms=1)
            widget.table.viewport().repaint()  # the paint of those rows
            elapsed = time.perf_counter() - t0
            print(f"sign-in -> first rows shown ({label}): {elapsed * 1000:.0f} ms "
                  f"(sign-in {signed_in * 1000:.0f} ms; {widget.proxy.rowCount()} rows, "
                  f"stale={widget.model.stale})")
            return widget, elapsed

        gc.collect()
        rss0 = process.memory_info().rss
        widget, _cold = run_listing("cold, no cache")
        wait_until(app, lambda: not widget.model.loading)

        api_before = api_all_pages()
        # scroll to the end: every fetchMore is triggered by the view itself
        beat = Heartbeat()
        beat.start()
        t0 = time.perf_counter()
        bar = widget.table.verticalScrollBar()

        def scroll() -> None:  # the user drags the scroll bar to the bottom, 20 times a second
            bar.setValue(bar.maximum())

        wait_until(app, lambda: not widget.model.has_more and not widget.model.loading,
                   timeout=3600, every=scroll, interval_ms=50)
        scrolled = time.perf_counter() - t0
        wait_until(app, lambda: time.perf_counter() - t0 >= scrolled + 1)  # thumbnails, paints
        stalls = beat.stop()
        api_after = api_all_pages()
        rows = widget.model.rowCount()
        print(f"scrolled to the end: {rows} rows in {scrolled:.1f} s "
              f"({rows // PAGE_SIZE + 1} pages); GUI-thread max stall {stalls['max_ms']:.0f} ms, "
              f"p99 gap {stalls['p99_ms']:.0f} ms ({stalls['ticks']:.0f} ticks of 5 ms)")
        print(f"  peer: every page through the API client alone {api_before:.1f} s before, "
              f"{api_after:.1f} s after -> scroll / API = "
              f"{scrolled / ((api_before + api_after) / 2):.2f} (load {os.getloadavg()[0]:.1f})")
        gc.collect()
        rss1 = process.memory_info().rss
        print(f"process RSS growth with the library open and {rows} rows loaded: "
              f"{(rss1 - rss0) / 1e6:.1f} MB")

        # the model's own data: the list of Video records (tracemalloc, rebuilt the same way)
        payloads = [v.to_api() for v in widget.model.videos]
        gc.collect()
        tracemalloc.start()
        snap0 = tracemalloc.take_snapshot()
        rebuilt = [Video.from_api(p) for p in payloads]
        index = {v.video_id: i for i, v in enumerate(rebuilt)}
        snap1 = tracemalloc.take_snapshot()
        tracemalloc.stop()
        size = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
        print(f"model memory (Video list + id index, {len(rebuilt)} rows): {size / 1e6:.1f} MB "
              f"({size / max(1, len(rebuilt)):.0f} B/row)")
        del rebuilt, index, payloads

        # the offline listing cache was written in the background: a second start is warm
        widget.shutdown()
        assert widget.cache is not None
        wait_until(app, lambda: widget.cache is not None
                   and (lst := widget.cache.load_listing()) is not None
                   and len(lst.videos) == rows)
        widget.close()
        warm, _ = run_listing("warm: cached listing first")
        wait_until(app, lambda: not warm.model.loading)
        warm.shutdown()
        warm.close()

        # click -> first frame
        api = ApiClient(settings, auth)
        controller = PlayerController(api.playback_url, tasks)
        player = PlayerWidget(controller)
        player.resize(800, 500)
        player.show()
        controller.audio.setMuted(True)
        video = api.get_video(played.video_id)
        times = []
        shown: list[float] = []
        controller.firstFrame.connect(lambda: shown.append(time.perf_counter()))
        for _ in range(args.plays):
            shown.clear()
            t0 = time.perf_counter()
            controller.open(video)
            wait_until(app, lambda: bool(shown), timeout=30, interval_ms=1)
            times.append((shown[0] - t0) * 1000)
            controller.close()
            app.processEvents()
        print(f"click -> first frame: median {statistics.median(times):.0f} ms, "
              f"max {max(times):.0f} ms over {len(times)} opens (URL request + HTTP stream)")
        controller.shutdown()
        player.close()
        tasks.shutdown()
        api.close()
        return 0
    finally:
        stop_stack_process(proc)
        tmp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
