"""The video surface with zoom and pan, for detail such as a wound edge.

A ``QGraphicsVideoItem`` in a ``QGraphicsView``: at zoom 1 the picture fits the view (as a
``QVideoWidget`` shows it); the mouse wheel zooms about the pointer, + / - about the centre,
0 fits again; when zoomed in, dragging (or the arrow keys with Ctrl) pans. Qt's multimedia
backend renders into the item's video sink as into any other output.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import QMouseEvent, QPainter, QResizeEvent, QWheelEvent
from PySide6.QtMultimedia import QVideoSink
from PySide6.QtMultimediaWidgets import QGraphicsVideoItem
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QSizePolicy, QWidget

MIN_ZOOM = 1.0
MAX_ZOOM = 8.0
ZOOM_STEP = 1.25
PAN_STEP = 40  # pixels per Ctrl+arrow press


class ZoomableVideo(QGraphicsView):
    """A video output (``item``) the user can zoom into and pan around."""

    doubleClicked = Signal()  # the player toggles full screen, as every player does
    pointerMoved = Signal()  # the mouse moved over the picture (shows hidden controls)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = QGraphicsVideoItem()
        self._scene = QGraphicsScene(self)
        self._scene.addItem(self.item)
        self.setScene(self._scene)
        self.zoom = 1.0
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(Qt.GlobalColor.black)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.item.nativeSizeChanged.connect(lambda _size: self._fit())

    @property
    def video_sink(self) -> QVideoSink:
        return self.item.videoSink()

    # -- geometry ------------------------------------------------------------------------

    def _fit(self) -> None:
        """Picture size = the video's aspect inside the view; then the zoom on top."""
        native = self.item.nativeSize()
        if native.isEmpty():
            native = QSizeF(16, 9)
        self.item.setSize(native)
        self._scene.setSceneRect(QRectF(0, 0, native.width(), native.height()))
        self.resetTransform()
        self.fitInView(self.item, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom != 1.0:
            self.scale(self.zoom, self.zoom)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag if self.zoom > 1.0
                         else QGraphicsView.DragMode.NoDrag)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    # -- zoom and pan --------------------------------------------------------------------

    def set_zoom(self, zoom: float, *, about_pointer: bool = False) -> None:
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        if abs(zoom - self.zoom) < 1e-9:
            return
        factor = zoom / self.zoom
        self.zoom = zoom
        if zoom == 1.0:
            self._fit()
            return
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse
                                     if about_pointer
                                     else QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.scale(factor, factor)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)

    def zoom_in(self) -> None:
        self.set_zoom(self.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self.zoom / ZOOM_STEP)

    def reset_zoom(self) -> None:
        self.set_zoom(1.0)

    def pan(self, dx: int, dy: int) -> None:
        """Move the picture by view pixels (only while zoomed in)."""
        if self.zoom <= 1.0:
            return
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + dx)
        v.setValue(v.value() + dy)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.doubleClicked.emit()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.pointerMoved.emit()
        super().mouseMoveEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom * (ZOOM_STEP ** steps), about_pointer=True)
        event.accept()

    def visible_fraction(self) -> QRectF:
        """The part of the picture on screen, as fractions of its width and height."""
        native = self.item.size()
        shown = self.mapToScene(self.viewport().rect()).boundingRect()
        if native.isEmpty():
            return QRectF(0, 0, 1, 1)
        part = shown.intersected(QRectF(0, 0, native.width(), native.height()))
        return QRectF(part.x() / native.width(), part.y() / native.height(),
                      part.width() / native.width(), part.height() / native.height())
