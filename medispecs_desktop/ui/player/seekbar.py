"""The seek bar: a slider that behaves like every modern player's.

* A click anywhere on the bar jumps there (a plain QSlider moves one page step towards the
  click) and grabs the handle, so press-and-drag works from any point.
* Hovering shows the time under the pointer.
* Markers (times in ms) are drawn as ticks on the groove.

What a jump or a drag does to the player is the widget's business: it listens to
``sliderPressed`` / ``sliderMoved`` / ``sliderReleased`` as with any slider.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QSlider, QStyle, QStyleOptionSlider, QToolTip, QWidget

from medispecs_desktop.core.formatting import format_ms

MARKER_COLOUR = QColor(255, 176, 0)
MARKER_CURRENT_COLOUR = QColor(230, 60, 40)
LOOP_COLOUR = QColor(40, 140, 255, 90)


class SeekBar(QSlider):
    """A horizontal position slider (ms) that jumps to the click and shows markers."""

    hovered = Signal(int)  # ms under the pointer
    hoverLeft = Signal()  # the pointer left the bar

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setMouseTracking(True)
        self.setRange(0, 0)
        self._markers: list[int] = []
        self._current_marker: int | None = None
        self._loop: tuple[int, int] | None = None
        self.preview_shown = False  # a picture preview says the time: no tooltip then

    # -- geometry ------------------------------------------------------------------------

    def _option(self) -> QStyleOptionSlider:
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        return option

    def _rects(self) -> tuple[QRect, QRect]:
        option = self._option()
        style = self.style()
        groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                      QStyle.SubControl.SC_SliderGroove, self)
        handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                      QStyle.SubControl.SC_SliderHandle, self)
        return groove, handle

    def value_at(self, x: float) -> int:
        """The slider value under horizontal pixel ``x`` (the handle's centre goes there)."""
        groove, handle = self._rects()
        span = max(1, groove.width() - handle.width())
        offset = round(x - groove.x() - handle.width() / 2)
        return QStyle.sliderValueFromPosition(self.minimum(), self.maximum(),
                                              min(max(0, offset), span), span)

    def x_of(self, value: int) -> int:
        """The pixel where the handle's centre is for ``value``."""
        groove, handle = self._rects()
        span = max(1, groove.width() - handle.width())
        return groove.x() + handle.width() // 2 + QStyle.sliderPositionFromValue(
            self.minimum(), self.maximum(), value, span)

    # -- mouse ---------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.maximum() > self.minimum():
            _groove, handle = self._rects()
            point = event.position().toPoint()
            if not handle.contains(point):
                # move the handle under the pointer first: the press then grabs it, so a
                # click jumps there and a drag carries on from there
                self.setSliderPosition(self.value_at(event.position().x()))
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        super().mouseMoveEvent(event)
        if self.maximum() <= self.minimum():
            return
        value = self.value_at(event.position().x())
        self.hovered.emit(value)
        if not self.isSliderDown() and not self.preview_shown:
            QToolTip.showText(event.globalPosition().toPoint(), format_ms(value), self)

    def leaveEvent(self, event: QEvent) -> None:
        super().leaveEvent(event)
        self.hoverLeft.emit()

    # -- markers -------------------------------------------------------------------------

    def set_markers(self, times_ms: Iterable[int], current: int | None = None) -> None:
        self._markers = sorted(int(t) for t in times_ms)
        self._current_marker = current
        self.update()

    def set_loop(self, start_ms: int, end_ms: int) -> None:
        """Shade the A-B loop (``end_ms`` < 0: no loop; ``start_ms`` alone: a tick at A)."""
        self._loop = (start_ms, end_ms) if start_ms >= 0 else None
        self.update()

    @property
    def loop(self) -> tuple[int, int] | None:
        return self._loop

    @property
    def markers(self) -> list[int]:
        return list(self._markers)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if (not self._markers and self._loop is None) or self.maximum() <= self.minimum():
            return
        painter = QPainter(self)
        groove, _handle = self._rects()
        top, bottom = groove.top() - 3, groove.bottom() + 3
        if self._loop is not None:
            a, b = self._loop
            left = self.x_of(a)
            right = self.x_of(b) if b >= 0 else left + 2
            painter.fillRect(QRect(QPoint(left, top), QPoint(max(left + 1, right), bottom)),
                             LOOP_COLOUR)
        for ms in self._markers:
            x = self.x_of(ms)
            colour = MARKER_CURRENT_COLOUR if ms == self._current_marker else MARKER_COLOUR
            painter.fillRect(QRect(QPoint(x - 1, top), QPoint(x + 1, bottom)), colour)
        painter.end()
