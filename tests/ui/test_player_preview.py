"""Hover previews on the seek bar (issue 14): a picture of the moment under the pointer with
its time, from the recording's preview sheet (made by the server's processing pipeline), else
from keyframes decoded on demand with PyAV and cached privately until sign-out.

A numbered clip streamed from a real pre-signed URL (keyframes every 12 frames); the picture in
the popup is read back as a frame number; real mouse moves over the real seek bar."""

from __future__ import annotations

import io
import stat
from fractions import Fraction
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from medispecs_desktop.core.models import Video
from medispecs_desktop.core.preview import PreviewCache, previews_dir
from medispecs_desktop.ui.player import PlayerController, PlayerWidget
from medispecs_desktop.ui.tasks import TaskRunner
from tests.support.numbered_clips import make_numbered_clip, read_qimage
from tests.support.player_s3 import signed_in_view

BUCKET = "player-preview"
KEY = "videos/u/v_preview.mp4"
FRAMES = 300  # 10 s at 30 fps, a keyframe every 12 frames

Player = tuple[PlayerController, PlayerWidget, list[int]]


def _hover(bar: Any, time_ms: int) -> None:
    point = QPointF(bar.x_of(time_ms), bar.height() / 2)
    QApplication.sendEvent(bar, QMouseEvent(
        QEvent.Type.MouseMove, point, bar.mapToGlobal(point), Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))


def _shown_number(widget: PlayerWidget) -> int:
    return read_qimage(widget.preview.popup.picture.pixmap().toImage())


def test_hovering_shows_the_keyframe_there_with_its_time_and_caches_it_privately(
    qtbot: Any, numbered_player: Player, tmp_path: Path
) -> None:
    controller, widget, _shown = numbered_player
    preview, bar = widget.preview, widget.slider
    preview.cache = PreviewCache(tmp_path / "cache", "user-1")
    assert not preview.has_sheet  # no preview sheet yet: keyframes are decoded
    _hover(bar, 3_500)
    popup = preview.popup
    assert popup.isVisible() and popup.time.text() == "0:03"  # the time at once
    qtbot.waitUntil(lambda: preview.decodes == 1, timeout=10_000)
    # the 1-s bucket at 3.0 s: frame 90, whose keyframe (every 12 frames) is frame 84
    assert _shown_number(widget) == 84
    below = bar.mapToGlobal(bar.rect().topLeft()).y()
    assert popup.geometry().bottom() < below  # just above the bar, over the picture
    _hover(bar, 3_900)  # the same bucket: shown from memory, no decoding
    assert preview.decodes == 1 and _shown_number(widget) == 84
    assert popup.time.text() == "0:03"
    _hover(bar, 7_200)  # frame 210 -> keyframe 204
    qtbot.waitUntil(lambda: preview.decodes == 2, timeout=10_000)
    assert _shown_number(widget) == 204 and popup.time.text() == "0:07"
    files = sorted(p.name for p in previews_dir(tmp_path / "cache").rglob("*.jpg"))
    assert files == ["k3000.jpg", "k7000.jpg"]
    folder = next(previews_dir(tmp_path / "cache").rglob("k3000.jpg")).parent
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    leave = QEvent(QEvent.Type.Leave)
    QApplication.sendEvent(bar, leave)
    assert not popup.isVisible()
    # opened again (another session): the pictures come from the disk cache
    video = controller.video
    assert video is not None
    cached_at = next(previews_dir(tmp_path / "cache").rglob("k3000.jpg")).stat().st_mtime_ns
    with qtbot.waitSignal(controller.firstFrame, timeout=15_000):
        controller.open(video, autoplay=False)
    _hover(bar, 3_100)
    qtbot.waitUntil(lambda: preview.decodes == 3, timeout=10_000)
    assert _shown_number(widget) == 84
    assert next(previews_dir(tmp_path / "cache").rglob("k3000.jpg")).stat().st_mtime_ns \
        == cached_at  # read back, not decoded and written again


def test_hovering_uses_the_recordings_preview_sheet(
    qtbot: Any, numbered_player: Player, numbered_s3: tuple[Any, str], tmp_path: Path
) -> None:
    from medispecs_desktop.backend.processing.media import preview_sheet, probe

    controller, widget, _shown = numbered_player
    client, _endpoint = numbered_s3
    clip = tmp_path / "clip.mp4"
    make_numbered_clip(clip, frames=FRAMES, fps=Fraction(30))
    data = clip.read_bytes()
    # the server's own pipeline makes the sheet (1 tile a second), stored beside the video
    sheet = preview_sheet(io.BytesIO(data), probe(io.BytesIO(data), len(data)))
    urls = {}
    for name, body, mime in (("sheet.jpg", sheet.jpeg, "image/jpeg"),
                             ("index.json", sheet.index_json(), "application/json")):
        key = f"previews/u/v_preview/{name}"
        client.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=mime)
        urls[name] = client.generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=600)
    current = controller.video
    assert current is not None
    video = Video.from_api({**current.to_api(), "previewSheetUrl": urls["sheet.jpg"],
                            "previewIndexUrl": urls["index.json"]})
    with qtbot.waitSignal(controller.firstFrame, timeout=15_000):
        controller.open(video, autoplay=False)
    preview = widget.preview
    qtbot.waitUntil(lambda: preview.has_sheet, timeout=10_000)
    for time_ms, frame in ((4_500, 120), (9_990, 270), (0, 0), (6_020, 180)):
        _hover(widget.slider, time_ms)
        # a crop of the sheet already in memory: shown at once, nothing decoded
        under = widget.slider.value_at(widget.slider.x_of(time_ms))  # to the pixel
        assert preview.popup.isVisible() and preview.shown_ms == under
        assert _shown_number(widget) == frame, time_ms
    assert preview.decodes == 0


def test_the_apps_preview_pictures_are_forgotten_on_sign_out(
    qtbot: Any, local_stack: dict[str, Any], tasks: TaskRunner
) -> None:
    for view, ctx, _api, video in signed_in_view(qtbot, local_stack, tasks):
        with qtbot.waitSignal(view.controller.firstFrame, timeout=20_000):
            view.open_video(video)
        view.controller.pause()
        preview = view.widget.preview
        assert preview.cache is not None
        bar = view.widget.slider
        qtbot.waitUntil(lambda b=bar: b.maximum() > 1_000, timeout=10_000)
        _hover(bar, bar.maximum() // 2)
        qtbot.waitUntil(lambda p=preview: p.decodes == 1, timeout=15_000)
        cached = list(previews_dir(ctx.paths.cache_dir).rglob("*.jpg"))
        assert len(cached) == 1
        ctx.signed_out.emit()
        assert preview.cache is None and not preview.popup.isVisible()
        folder = previews_dir(ctx.paths.cache_dir)
        qtbot.waitUntil(lambda f=folder: not f.exists(), timeout=5_000)
