"""The player's everyday surface (issue 13 #10, #15): the end of a clip holds its last frame,
each recording starts at 1× (a different speed stands out), a double-click on the picture
toggles full screen, whose controls hide after a while without input and come back with it.

A numbered clip streamed from a real pre-signed URL; the picture is read back from the sink."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtMultimedia import QMediaPlayer
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.player import PlayerController, PlayerWidget
from tests.support.numbered_clips import read_qimage
from tests.support.player_s3 import go_to

BUCKET = "player-surface"
KEY = "videos/u/v_surface.mp4"
FRAMES = 45  # 1.5 s: the end comes soon

Player = tuple[PlayerController, PlayerWidget, list[int]]


def test_the_end_of_the_clip_holds_its_last_frame(qtbot: Any, numbered_player: Player) -> None:
    controller, _widget, shown = numbered_player
    go_to(qtbot, controller, shown, FRAMES - 10)
    controller.play()
    qtbot.waitUntil(lambda: controller.player.mediaStatus()
                    == QMediaPlayer.MediaStatus.EndOfMedia, timeout=10_000)
    sink = controller.video_sink
    assert sink is not None
    # Qt blanks the output when the clip ends (an invalid frame): the last one stays instead
    qtbot.waitUntil(lambda: sink.videoFrame().isValid(), timeout=5_000)
    assert read_qimage(sink.videoFrame().toImage()) == FRAMES - 1
    assert controller.state == "stopped"
    controller.play()  # Play at the end starts again from the first frame
    qtbot.waitUntil(lambda: controller.state == "playing", timeout=5_000)
    qtbot.waitUntil(lambda: 0 <= shown[-1] < FRAMES - 10, timeout=5_000)
    controller.close()  # a closed recording leaves no picture behind
    qtbot.waitUntil(lambda: not sink.videoFrame().isValid(), timeout=5_000)


def test_each_recording_starts_at_normal_speed_and_another_speed_stands_out(
    qtbot: Any, numbered_player: Player
) -> None:
    controller, widget, _shown = numbered_player
    assert widget.speed.styleSheet() == ""
    qtbot.keyClick(widget.slider, Qt.Key.Key_BracketLeft)  # [ slower
    qtbot.keyClick(widget.slider, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(widget.slider, Qt.Key.Key_BracketLeft)
    assert controller.rate == 0.25 and widget.speed.currentText() == "0.25×"
    assert "bold" in widget.speed.styleSheet() and "0.25×" in widget.speed.toolTip()
    video = controller.video
    assert video is not None
    other = Video.from_api({**video.to_api(), "videoId": "v_surface_other", "title": "Next"})
    with qtbot.waitSignal(controller.firstFrame, timeout=15_000):
        controller.open(other, autoplay=False)
    assert controller.rate == 1.0 and widget.speed.currentText() == "1×"
    assert widget.speed.styleSheet() == ""


def _double_click(widget: QWidget) -> None:
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    for kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonRelease,
                 QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseButtonRelease):
        buttons = (Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease
                   else Qt.MouseButton.LeftButton)
        QApplication.sendEvent(widget, QMouseEvent(
            kind, centre, widget.mapToGlobal(centre), Qt.MouseButton.LeftButton, buttons,
            Qt.KeyboardModifier.NoModifier))


def _move(widget: QWidget) -> None:
    point = QPointF(widget.width() / 3, widget.height() / 3)
    QApplication.sendEvent(widget, QMouseEvent(
        QEvent.Type.MouseMove, point, widget.mapToGlobal(point), Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))


def test_double_click_toggles_full_screen_whose_controls_hide_until_the_mouse_moves(
    qtbot: Any, numbered_player: Player
) -> None:
    controller, widget, _shown = numbered_player
    window = QWidget()  # closed at the end: qtbot closes the player itself
    layout = QVBoxLayout(window)
    layout.addWidget(QLabel("library"))
    layout.addWidget(widget)
    window.show()
    widget.controls_hide_ms = 300
    viewport = widget.video_widget.viewport()
    _double_click(viewport)
    assert widget.is_fullscreen and widget.isWindow()
    assert widget.controls_visible
    controller.play()
    # no input: the controls and the pointer go
    qtbot.waitUntil(lambda: not widget.controls_visible, timeout=5_000)
    assert widget.control_bar.isHidden() and widget.title_label.isHidden()
    assert viewport.cursor().shape() == Qt.CursorShape.BlankCursor
    _move(widget.video_widget.viewport())  # the mouse moves: back at once
    assert widget.controls_visible and viewport.cursor().shape() != Qt.CursorShape.BlankCursor
    qtbot.waitUntil(lambda: not widget.controls_visible, timeout=5_000)  # and away again
    qtbot.keyClick(widget, Qt.Key.Key_Right)  # a key brings them back too
    assert widget.controls_visible
    _double_click(widget.video_widget.viewport())  # the second double-click: back home
    assert not widget.is_fullscreen and widget.parentWidget() is window
    assert widget.controls_visible and not widget._hide_timer.isActive()
    assert widget.fullscreen_button.toolTip() == "Full screen (F, F11, double-click)"
    widget.setParent(None)
    window.deleteLater()
