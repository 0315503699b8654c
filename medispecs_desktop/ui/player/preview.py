"""The seek bar's hover preview: a small picture of the recording at the time under the
pointer, with that time, just above the bar (see :mod:`medispecs_desktop.core.preview`).

From the recording's preview sheet when it has one (fetched once in the background, then
every hover is a crop of a picture in memory); otherwise keyframes decoded on demand on a
worker, one per time bucket, kept in memory and in the private disk cache. Only one decode
runs at a time; while it runs, the newest wanted time waits (older ones are dropped).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QPoint, QRect, Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from medispecs_desktop.core.formatting import format_ms
from medispecs_desktop.core.models import Video
from medispecs_desktop.core.preview import (
    KeyframeSource,
    PreviewCache,
    PreviewError,
    SheetIndex,
    bucket_ms,
    fetch_sheet,
    index_json,
    sheet_urls,
)
from medispecs_desktop.ui.player.common import API_KIND, TasksLike
from medispecs_desktop.ui.player.seekbar import SeekBar

log = logging.getLogger(__name__)

PREVIEW_KIND = "media"  # decoding runs with the media work, not the API calls
MAX_IN_MEMORY = 400


class PreviewPopup(QFrame):
    """The picture and its time; a frameless tool window (never takes the focus)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent, Qt.WindowType.ToolTip | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("seekPreview")
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setStyleSheet("#seekPreview { background: #202020; border: 1px solid #555; }"
                           "QLabel { color: white; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(3, 3, 3, 3)
        layout.setSpacing(2)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.time = QLabel()
        self.time.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.picture)
        layout.addWidget(self.time)


class SeekPreview(QObject):
    """Shows :class:`PreviewPopup` over ``bar`` while the pointer hovers it."""

    def __init__(self, controller: Any, bar: SeekBar, tasks: TasksLike,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._controller = controller
        self._bar = bar
        self._tasks = tasks
        self.cache: PreviewCache | None = None  # the signed-in user's (PlayerView sets it)
        self.popup = PreviewPopup(bar)
        self.popup.hide()
        self._video: Video | None = None
        self._generation = 0
        self._sheet: tuple[SheetIndex, QPixmap] | None = None
        self._frames: dict[int, QPixmap] = {}
        self._source: KeyframeSource | None = None
        self._busy = False
        self._wanted: int | None = None
        self._hover_ms: int | None = None
        self.shown_ms: int | None = None  # the time whose picture the popup shows
        self.decodes = 0
        bar.hovered.connect(self.hover)
        bar.hoverLeft.connect(self.hide)
        bar.sliderPressed.connect(self.hide)
        controller.videoChanged.connect(self._video_changed)
        controller.sourceChanged.connect(lambda _s: self._source_changed())

    # -- the recording ------------------------------------------------------------------

    def _content(self) -> str:
        video = self._video
        if video is None:
            return ""
        return video.sha256 or video.s3_key or str(video.file_size_bytes or "")

    def _video_changed(self, video: Video | None) -> None:
        self._generation += 1
        self._video = video
        self._sheet = None
        self._frames = {}
        self._wanted = None
        self._close_source()
        self.hide()
        if video is not None:
            self._load_sheet(video)

    def _source_changed(self) -> None:
        self._close_source()  # a new URL (or the local file): open that one next time

    def _close_source(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            self._run(source.close, None, None)

    def _load_sheet(self, video: Video) -> None:
        urls = sheet_urls(video)
        cache, content, generation = self.cache, self._content(), self._generation
        if urls is None and cache is None:
            return

        def work() -> tuple[SheetIndex, bytes] | None:
            cached = cache.sheet(video.video_id, content) if cache is not None else None
            if cached is not None or urls is None:
                return cached
            index, jpeg = fetch_sheet(*urls)
            if cache is not None:
                try:
                    cache.put_sheet(video.video_id, content, index_json(index), jpeg)
                except OSError as exc:
                    log.info("Preview sheet not cached: %s", exc)
            return index, jpeg

        def done(result: tuple[SheetIndex, bytes] | None) -> None:
            if generation != self._generation or result is None:
                return
            index, jpeg = result
            pixmap = QPixmap.fromImage(QImage.fromData(jpeg))
            if not pixmap.isNull():
                self._sheet = (index, pixmap)
                if self._hover_ms is not None:
                    self.hover(self._hover_ms)

        self._run(work, done, lambda exc: log.info("No preview sheet: %s", exc))

    @property
    def has_sheet(self) -> bool:
        return self._sheet is not None

    # -- hovering -----------------------------------------------------------------------

    def hover(self, time_ms: int) -> None:
        if self._video is None or self._bar.isSliderDown():
            return
        self._hover_ms = time_ms
        picture = self._picture_for(time_ms)
        self._show(time_ms, picture)
        if picture is None and self._sheet is None:
            self._request(bucket_ms(time_ms, self._controller.duration))

    def _picture_for(self, time_ms: int) -> QPixmap | None:
        if self._sheet is not None:
            index, sheet = self._sheet
            tile = index.tile_for(time_ms)
            return sheet.copy(QRect(tile.x, tile.y, tile.width, tile.height))
        return self._frames.get(bucket_ms(time_ms, self._controller.duration))

    def _show(self, time_ms: int, picture: QPixmap | None) -> None:
        popup = self.popup
        if picture is not None:
            popup.picture.setPixmap(picture)
            popup.picture.show()
            self.shown_ms = time_ms
        elif popup.picture.pixmap().isNull():
            popup.picture.hide()  # nothing yet: the time alone
        popup.time.setText(format_ms(time_ms))
        popup.adjustSize()
        bar = self._bar
        x = bar.mapToGlobal(QPoint(bar.x_of(time_ms), 0))
        popup.move(x.x() - popup.width() // 2, x.y() - popup.height() - 4)
        popup.show()
        bar.preview_shown = True

    def hide(self) -> None:
        self._hover_ms = None
        self.popup.hide()
        self._bar.preview_shown = False

    # -- keyframes ----------------------------------------------------------------------

    def _request(self, bucket: int) -> None:
        if self._busy:
            self._wanted = bucket
            return
        video, cache, content = self._video, self.cache, self._content()
        url = self._controller.source_url
        if video is None or not url:
            return
        if self._source is None or self._source.source != url:
            self._close_source()
            self._source = KeyframeSource(url)
        source, generation = self._source, self._generation
        self._busy = True

        def work() -> bytes:
            cached = cache.keyframe(video.video_id, content, bucket) if cache else None
            if cached is not None:
                return cached
            jpeg = source.jpeg_at(bucket)
            if cache is not None:
                try:
                    cache.put_keyframe(video.video_id, content, bucket, jpeg)
                except OSError as exc:
                    log.info("Preview picture not cached: %s", exc)
            return jpeg

        def done(jpeg: bytes) -> None:
            self._busy = False
            if generation != self._generation:
                return
            self.decodes += 1
            pixmap = QPixmap.fromImage(QImage.fromData(jpeg))
            if len(self._frames) >= MAX_IN_MEMORY:
                self._frames.pop(next(iter(self._frames)))
            self._frames[bucket] = pixmap
            hover = self._hover_ms
            if hover is not None and bucket_ms(hover, self._controller.duration) == bucket:
                self._show(hover, pixmap)
            self._next()

        def failed(exc: BaseException) -> None:
            self._busy = False
            if not isinstance(exc, PreviewError):
                log.warning("Preview picture failed: %s", exc)
            self._next()

        self._run(work, done, failed, kind=PREVIEW_KIND)

    def _next(self) -> None:
        wanted, self._wanted = self._wanted, None
        if wanted is not None and wanted not in self._frames:
            QTimer.singleShot(0, lambda: self._request(wanted))

    def _run(self, fn: Callable[[], Any], done: Callable[[Any], None] | None,
             failed: Callable[[BaseException], None] | None, *, kind: str = API_KIND) -> None:
        try:
            self._tasks.run(kind, fn, done, failed)
        except RuntimeError:  # the runner is closed: the app is shutting down
            log.debug("preview task dropped at shutdown")
