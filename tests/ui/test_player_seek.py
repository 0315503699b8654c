"""The seek bar: a click jumps to the clicked point, a drag shows the picture as it goes.

Real mouse events on the real slider, a numbered clip streamed from a real pre-signed URL; the
picture is checked by reading the frame number back from the video sink.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from medispecs_desktop.ui.player import PlayerController, PlayerWidget

BUCKET = "player-seek"
KEY = "videos/u/v_seek.mp4"
FRAMES = 300  # 10 s at 30 fps


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
    qtbot: Any, numbered_player: tuple[PlayerController, PlayerWidget, list[int]]
) -> None:
    controller, widget, shown = numbered_player
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
    qtbot: Any, numbered_player: tuple[PlayerController, PlayerWidget, list[int]]
) -> None:
    controller, widget, shown = numbered_player
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
