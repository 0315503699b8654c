"""The seek bar: a click jumps to the clicked point, a drag shows the picture as it goes.

Real mouse events on the real slider, a numbered clip streamed from a real pre-signed URL; the
picture is checked by reading the frame number back from the video sink.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from medispecs_desktop.ui.player import PlayerController, PlayerWidget
from medispecs_desktop.ui.tasks import TaskRunner
from tests.support.player_s3 import moto_s3_with_clip, open_numbered, player_tasks

BUCKET = "player-seek"
KEY = "videos/u/v_seek.mp4"
FRAMES = 300  # 10 s at 30 fps


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    yield from moto_s3_with_clip(BUCKET, KEY, tmp_path_factory.mktemp("seek"))


@pytest.fixture
def tasks(qtbot: Any) -> Iterator[TaskRunner]:
    yield from player_tasks()


@pytest.fixture
def player(qtbot: Any, s3: tuple[Any, str], tasks: TaskRunner
           ) -> tuple[PlayerController, PlayerWidget, list[int]]:
    client, _ = s3
    controller, widget, shown = open_numbered(qtbot, tasks, client, BUCKET, KEY)
    qtbot.waitUntil(lambda: widget.slider.maximum() >= 9_900, timeout=10_000)
    return controller, widget, shown


def _mouse(widget: Any, kind: QEvent.Type, x: int, buttons: Qt.MouseButton) -> None:
    point = QPointF(x, widget.height() / 2)
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else Qt.MouseButton.LeftButton
    event = QMouseEvent(kind, point, widget.mapToGlobal(point), button, buttons,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def _frame_for(controller: PlayerController, position_ms: int) -> int:
    index = controller.frame_index.index
    assert index is not None
    return index.frame_at_us(position_ms * 1000 - 1)  # Qt shows the frame ending at/after it


def test_click_on_the_bar_jumps_to_the_clicked_point(
    qtbot: Any, player: tuple[PlayerController, PlayerWidget, list[int]]
) -> None:
    controller, widget, shown = player
    bar = widget.slider
    ms_per_pixel = bar.maximum() / max(1, bar.width())
    for target in (7_500, 2_000, 9_000):
        x = bar.x_of(target)
        qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=QPoint(x, bar.height() // 2))
        # not a page step (1 s) towards the click: the clicked point itself
        assert abs(bar.value() - target) <= 2 * ms_per_pixel + 1, (bar.value(), target)
        value = bar.value()
        qtbot.waitUntil(lambda v=value: controller.player.position() == v, timeout=5_000)
        qtbot.waitUntil(lambda v=value: shown[-1] == _frame_for(controller, v), timeout=5_000)
    assert controller.state == "paused"


def test_dragging_shows_the_picture_live_and_ends_where_released(
    qtbot: Any, player: tuple[PlayerController, PlayerWidget, list[int]]
) -> None:
    controller, widget, shown = player
    bar = widget.slider
    controller.play()
    qtbot.waitUntil(lambda: controller.state == "playing", timeout=5_000)
    left = Qt.MouseButton.LeftButton
    _mouse(bar, QEvent.Type.MouseButtonPress, bar.x_of(1_000), left)
    assert bar.isSliderDown()
    qtbot.waitUntil(lambda: controller.state == "paused", timeout=5_000)  # still while scrubbing
    for target in (3_000, 6_000, 4_500):
        _mouse(bar, QEvent.Type.MouseMove, bar.x_of(target), left)
        value = bar.value()
        # the picture follows the handle before the button is released
        qtbot.waitUntil(lambda v=value: bool(shown) and shown[-1] == _frame_for(controller, v),
                        timeout=5_000)
        assert bar.isSliderDown()
    seeks_before = widget._scrub.deliveries
    for x in range(bar.x_of(4_500), bar.x_of(8_000), 2):  # a fast sweep: throttled seeks
        _mouse(bar, QEvent.Type.MouseMove, x, left)
    _mouse(bar, QEvent.Type.MouseButtonRelease, bar.x_of(8_000), Qt.MouseButton.NoButton)
    final = bar.value()
    assert abs(final - 8_000) <= 3 * bar.maximum() / bar.width() + 1  # a pixel or so
    sweep_moves = len(range(bar.x_of(4_500), bar.x_of(8_000), 2))
    assert widget._scrub.deliveries - seeks_before < sweep_moves  # coalesced, not one per move
    qtbot.waitUntil(lambda: controller.state == "playing", timeout=5_000)  # resumes
    # playback goes on from the release point (not from where the scrub seeks were)
    qtbot.waitUntil(lambda: shown[-1] > _frame_for(controller, final), timeout=5_000)
    assert controller.player.position() >= final
