"""Zoom and pan into the picture: +/-/0 and the wheel zoom, Ctrl+arrows pan, frames keep
coming; the picture in the view is the frame on screen (read back from a grab of the view)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from medispecs_desktop.ui.player.zoom import MAX_ZOOM
from tests.support.numbered_clips import read_qimage

BUCKET = "player-zoom"
KEY = "videos/u/v_zoom.mp4"


def _picture_number(view: Any) -> int:
    """The frame number drawn in the view (the picture's rectangle cut from a grab)."""
    rect = view.mapFromScene(view.item.boundingRect()).boundingRect().intersected(
        view.viewport().rect())
    return read_qimage(view.viewport().grab(rect).toImage())


def test_zoom_and_pan_into_the_frame(qtbot: Any,
                                     numbered_player: tuple[Any, Any, list[int]]) -> None:
    controller, widget, shown = numbered_player
    view = widget.video_widget
    index = controller.frame_index.index
    assert index is not None
    controller.seek(index.seek_ms(77))
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] == 77, timeout=5_000)
    qtbot.waitUntil(lambda: _picture_number(view) == 77, timeout=5_000)  # what the user sees
    full = view.visible_fraction()
    assert full.width() > 0.99 and full.height() > 0.99 and view.zoom == 1.0

    for _ in range(4):
        widget.actions_by_name["zoom_in"].trigger()
    assert abs(view.zoom - 1.25 ** 4) < 1e-6
    part = view.visible_fraction()
    # the picture fits the view's width (it is wider than the view): 1/zoom of it shows
    assert abs(part.width() - 1 / view.zoom) < 0.02 and part.height() < 1
    widget.actions_by_name["pan_right"].trigger()
    moved = view.visible_fraction()
    assert moved.x() > part.x() and abs(moved.y() - part.y()) < 1e-6
    widget.actions_by_name["pan_up"].trigger()
    assert view.visible_fraction().y() < moved.y()

    # the picture keeps following playback while zoomed in
    widget.actions_by_name["frame_forward"].trigger()
    qtbot.waitUntil(lambda: shown[-1] == 78, timeout=5_000)

    # the wheel zooms about the pointer, up to the limit; 0 shows the whole picture again
    for _ in range(20):
        point = QPointF(view.viewport().width() / 4, view.viewport().height() / 4)
        wheel = QWheelEvent(point, view.viewport().mapToGlobal(point), QPoint(0, 0),
                            QPoint(0, 120), Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
        QApplication.sendEvent(view.viewport(), wheel)
    assert view.zoom == MAX_ZOOM
    widget.actions_by_name["zoom_reset"].trigger()
    assert view.zoom == 1.0 and view.visible_fraction().width() > 0.99
    widget.actions_by_name["zoom_out"].trigger()
    assert view.zoom == 1.0  # never smaller than the whole picture
    qtbot.waitUntil(lambda: _picture_number(view) == 78, timeout=5_000)
