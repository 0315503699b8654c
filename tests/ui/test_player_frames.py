"""Frame step shows exactly the next / previous frame, by the frames' real times.

Each clip's frames carry their own number as black/white blocks (tests/support/numbered_clips);
the number is read back from the QVideoFrame the real QVideoSink receives, so the test sees what
the user sees. Clips stream from real pre-signed URLs (moto's S3 over HTTP); the frame times
are read by PyAV from the same URL. Constant 30 fps (frames at 33.333 ms: the whole-millisecond
seek used to land just before them), 29.97 fps, and a variable-frame-rate clip.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest

from medispecs_desktop.core.frame_index import FrameIndexError
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.player import PlayerController, PlayerWidget
from medispecs_desktop.ui.tasks import TaskRunner
from tests.support.numbered_clips import make_numbered_clip, vfr_durations
from tests.support.player_s3 import moto_s3, open_numbered, player_tasks, signed_in_view

BUCKET = "player-frames"
FRAMES = 240
START = 30
STEPS = 100
CLIPS: dict[str, dict[str, Any]] = {
    "30fps": {"fps": Fraction(30)},
    "29.97fps": {"fps": Fraction(30000, 1001)},
    "vfr": {"durations": vfr_durations(FRAMES)},
}


@pytest.fixture(scope="module")
def s3() -> Iterator[tuple[Any, str]]:
    yield from moto_s3(BUCKET)


@pytest.fixture(scope="module")
def clips(s3: tuple[Any, str], tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, tuple[str, list[Fraction]]]:
    client, _ = s3
    folder = tmp_path_factory.mktemp("numbered")
    out = {}
    for name, kw in CLIPS.items():
        path = folder / f"{name}.mp4"
        starts = make_numbered_clip(path, frames=FRAMES, **kw)
        key = f"videos/u/v_{name.replace('.', '_')}.mp4"
        client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes(),
                          ContentType="video/mp4")
        out[name] = (key, starts)
    return out


@pytest.fixture
def tasks(qtbot: Any) -> Iterator[TaskRunner]:
    yield from player_tasks()


def _last(shown: list[int]) -> int | None:
    return shown[-1] if shown else None


def _open(qtbot: Any, tasks: TaskRunner, client: Any, key: str, **kw: Any
          ) -> tuple[PlayerController, PlayerWidget, list[int]]:
    return open_numbered(qtbot, tasks, client, BUCKET, key, **kw)


@pytest.mark.parametrize("kind", list(CLIPS))
def test_every_step_shows_exactly_the_next_frame_both_ways(
    qtbot: Any, s3: Any, clips: dict[str, tuple[str, list[Fraction]]], tasks: TaskRunner,
    kind: str,
) -> None:
    client, _ = s3
    key, starts = clips[kind]
    controller, widget, shown = _open(qtbot, tasks, client, key)
    index = controller.frame_index.index
    assert index is not None and len(index) == FRAMES
    # the index holds the frames' real times (µs), variable rate included
    assert all(abs(index.starts_us[i] - float(starts[i]) * 1e6) <= 1 for i in range(FRAMES))

    controller.seek(index.seek_ms(START))
    qtbot.waitUntil(lambda: _last(shown) == START, timeout=5_000)
    widget.toggle_time_display()
    for step in range(1, STEPS + 1):
        widget.actions_by_name["frame_forward"].trigger()
        qtbot.waitUntil(lambda s=step: _last(shown) == START + s, timeout=5_000)
    assert controller.current_frame == START + STEPS
    assert widget.time_label.text().startswith(f"Frame {START + STEPS} · ")
    for step in range(1, STEPS + 1):
        widget.actions_by_name["frame_back"].trigger()
        qtbot.waitUntil(lambda s=step: _last(shown) == START + STEPS - s, timeout=5_000)
    assert controller.current_frame == START
    assert controller.state == "paused"


def test_presses_faster_than_decoding_still_move_one_frame_each(
    qtbot: Any, s3: Any, clips: dict[str, tuple[str, list[Fraction]]], tasks: TaskRunner
) -> None:
    client, _ = s3
    controller, _widget, shown = _open(qtbot, tasks, client, clips["30fps"][0])
    index = controller.frame_index.index
    assert index is not None
    controller.seek(index.seek_ms(100))
    qtbot.waitUntil(lambda: _last(shown) == 100, timeout=5_000)
    for _ in range(9):  # nine presses in one go: nine frames on
        controller.step_frames(1)
    qtbot.waitUntil(lambda: _last(shown) == 109, timeout=5_000)
    for _ in range(4):
        controller.step_frames(-1)
    qtbot.waitUntil(lambda: _last(shown) == 105, timeout=5_000)
    assert controller.current_frame == 105


def test_steps_by_the_shown_frame_while_the_frame_times_are_unknown(
    qtbot: Any, s3: Any, clips: dict[str, tuple[str, list[Fraction]]], tasks: TaskRunner
) -> None:
    # the frame times cannot be read (e.g. the stream is not seekable by PyAV): stepping
    # goes by the shown frame's own length, still one frame a press at a constant rate
    client, _ = s3

    def broken(_video: Video, _url: str) -> Any:
        raise FrameIndexError("no frame times")

    controller, widget, shown = _open(qtbot, tasks, client, clips["29.97fps"][0],
                                      index_loader=broken)
    qtbot.waitUntil(lambda: controller.frame_index.failures == 1, timeout=15_000)
    controller.seek(2_000)  # frame 59 (59.94 frames in)
    qtbot.waitUntil(lambda: _last(shown) == 59, timeout=5_000)
    for step in range(1, 31):
        controller.step_frames(1)
        qtbot.waitUntil(lambda s=step: _last(shown) == 59 + s, timeout=5_000)
    for step in range(1, 31):
        controller.step_frames(-1)
        qtbot.waitUntil(lambda s=step: _last(shown) == 89 - s, timeout=5_000)
    assert controller.current_frame == -1  # no index: no frame number to show
    widget.toggle_time_display()
    assert widget.time_label.text().startswith("0:01.")


def test_app_player_caches_frame_times_privately_and_forgets_them_on_sign_out(
    qtbot: Any, local_stack: dict[str, Any], tasks: TaskRunner
) -> None:
    from medispecs_desktop.core.frame_index import frames_dir

    for view, ctx, _api, video in signed_in_view(qtbot, local_stack, tasks):
        with qtbot.waitSignal(view.controller.frame_index.ready, timeout=20_000):
            view.open_video(video)
        index = view.controller.frame_index.index
        assert video.duration_sec is not None and index is not None
        assert abs(index.duration_us / 1e6 - video.duration_sec) < 0.2
        cached = list(frames_dir(ctx.paths.cache_dir).rglob("*.json"))
        assert len(cached) == 1 and video.video_id in cached[0].name
        assert "X-Amz" not in cached[0].read_text()  # times only, never the URL

        ctx.signed_out.emit()
        assert view.controller.video is None
        assert not frames_dir(ctx.paths.cache_dir).exists()
