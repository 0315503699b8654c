"""The empty player (issue 13 #16): with no recording open the picture area says how to fill
it - a centred hint over the black area - gone as soon as a recording opens, back when it
closes. A real PlayerWidget playing a real (numbered) clip from its file on this computer."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint

from medispecs_desktop.core.errors import OfflineError
from medispecs_desktop.core.local_copies import LocalCandidate
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.player import PlayerController
from medispecs_desktop.ui.tasks import TaskRunner
from tests.support.numbered_clips import make_numbered_clip
from tests.support.player_s3 import show_numbered


def _no_network(video_id: str) -> Any:
    raise OfflineError("no network")


def test_the_empty_player_shows_a_centred_hint_until_a_recording_opens(
    qtbot: Any, tasks: TaskRunner, tmp_path: Path
) -> None:
    clip = tmp_path / "GLS_0001.MP4"
    make_numbered_clip(clip, frames=30, fps=Fraction(30))
    stat = clip.stat()
    candidate = LocalCandidate("v_empty", clip, stat.st_size, stat.st_mtime_ns)
    controller = PlayerController(_no_network, tasks, local_copies=lambda _id: candidate)
    widget, _shown = show_numbered(qtbot, tasks, controller)

    hint = widget.empty_hint
    assert hint.isVisible()
    assert "Double-click a recording" in hint.text() and "Enter" in hint.text()
    # in the picture itself, centred on it (not a line above a black box)
    picture = widget.video_widget
    hint_centre = hint.mapTo(widget, hint.rect().center())
    picture_centre = picture.mapTo(widget, picture.rect().center())
    assert (hint_centre - picture_centre).manhattanLength() <= 2
    assert picture.rect().contains(picture.mapFrom(widget, hint_centre))
    assert hint.mapTo(widget, QPoint(0, 0)).y() >= picture.mapTo(widget, QPoint(0, 0)).y()

    video = Video.from_api({"videoId": "v_empty", "title": "Knee, left", "status": "pending",
                            "recordedAt": "2025-11-03T14:30:00Z"})
    with qtbot.waitSignal(controller.firstFrame, timeout=15_000):
        controller.open(video, autoplay=False)
    assert controller.source == "local"
    assert not hint.isVisible()  # the picture is the recording's now

    controller.close()
    assert hint.isVisible() and widget.title_label.text() == "No recording open"
