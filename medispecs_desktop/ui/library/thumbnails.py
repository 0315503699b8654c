"""Thumbnails for the library's rows: loaded lazily (only rows that are painted ask), in the
background through the loader (a disk cache in front of the download), a few at a time, the
most recently painted first; kept in memory up to a bound (LRU)."""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap

from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.library.common import (
    API_KIND,
    GRID_THUMB_SIZE,
    THUMB_SIZE,
    placeholder_pixmap,
    submit,
)
from medispecs_desktop.ui.tasks import TasksLike

log = logging.getLogger(__name__)

ThumbnailLoader = Callable[[Video], "bytes | None"]
MAX_WISHES = 64  # scrolled past: the oldest wishes are forgotten
SETTLE_MS = 80  # downloads wait until no new row was painted for this long (a scroll paused)


class ThumbnailQueue(QObject):
    """``pixmap(video)`` answers at once (the thumbnail or a placeholder) and, for a missing
    one, queues a download; ``loaded(video_id)`` says when it arrived."""

    loaded = Signal(str)  # video id

    def __init__(self, tasks: TasksLike, loader: ThumbnailLoader | None, *,
                 max_in_memory: int = 250, max_jobs: int = 3, kind: str = API_KIND,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self._loader = loader
        self._kind = kind
        self._pixmaps: OrderedDict[str, QPixmap] = OrderedDict()
        self._max = max_in_memory
        self._wanted: deque[Video] = deque()
        self._pending: set[str] = set()
        self._failed: set[str] = set()
        self._jobs = 0
        self._max_jobs = max_jobs
        self._closed = False
        self._in_view: Callable[[str], bool] | None = None
        self.skipped = 0  # wishes let go of: their rows were scrolled past before their turn
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._pump)
        self.placeholder = placeholder_pixmap(THUMB_SIZE)

    def pixmap(self, video: Video) -> QPixmap:
        pixmap = self._pixmaps.get(video.video_id)
        if pixmap is not None:
            self._pixmaps.move_to_end(video.video_id)
            return pixmap
        if (
            self._loader is not None
            and video.thumbnail_s3_key
            and video.video_id not in self._pending
            and video.video_id not in self._failed
        ):
            self._pending.add(video.video_id)
            self._wanted.append(video)
            while len(self._wanted) > MAX_WISHES:
                dropped = self._wanted.popleft()
                self._pending.discard(dropped.video_id)
            self._settle.start()  # (again): rows flying past are never fetched
        return self.placeholder

    def set_loader(self, loader: ThumbnailLoader | None) -> None:
        """What fetches a thumbnail's bytes (on a worker): it must hold no Qt object."""
        self._loader = loader

    def set_in_view(self, in_view: Callable[[str], bool] | None) -> None:
        """Asked (on the GUI thread, with a video id) when a download's turn comes: a row
        already scrolled past is not fetched (painted again, it asks again). A fast scroll
        to the end of a big library otherwise sent a download for every row flown past,
        each one competing with the pages' own requests."""
        self._in_view = in_view

    def forget(self, video_id: str) -> None:
        self._pixmaps.pop(video_id, None)

    def retry_failed(self) -> None:
        """After the network returns: failed thumbnails try again when painted."""
        self._failed.clear()

    @property
    def idle(self) -> bool:
        """No download running or waiting its turn."""
        return not self._wanted and self._jobs == 0

    def count(self) -> int:
        return len(self._pixmaps)

    def close(self) -> None:
        """Sign-out / teardown: answers still on their way are dropped."""
        self._closed = True
        self._settle.stop()
        self._loader = None
        self._wanted.clear()

    def _pump(self) -> None:
        loader = self._loader
        if loader is None:
            return
        while self._wanted and self._jobs < self._max_jobs:
            video = self._wanted.pop()  # the most recently painted first
            if self._in_view is not None and not self._in_view(video.video_id):
                self._pending.discard(video.video_id)
                self.skipped += 1
                continue
            self._jobs += 1

            def work(v: Video = video) -> QImage | None:
                data = loader(v)
                if not data:
                    return None
                image = QImage.fromData(data)
                if image.isNull():
                    raise ValueError("not an image")
                return image.scaled(
                    GRID_THUMB_SIZE,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )

            if not submit(self._tasks, self._kind, work, partial(self._arrived, video),
                          partial(self._failed_for, video)):
                self._jobs -= 1
                self._wanted.clear()
                return

    def _arrived(self, video: Video, image: QImage | None) -> None:
        if self._closed:
            return
        self._jobs -= 1
        self._pending.discard(video.video_id)
        if image is None:
            self._failed.add(video.video_id)  # offline without a cached copy
        else:
            self._pixmaps[video.video_id] = QPixmap.fromImage(image)
            while len(self._pixmaps) > self._max:
                self._pixmaps.popitem(last=False)
            self.loaded.emit(video.video_id)
        self._pump()

    def _failed_for(self, video: Video, exc: BaseException) -> None:
        if self._closed:
            return
        self._jobs -= 1
        self._pending.discard(video.video_id)
        self._failed.add(video.video_id)
        log.info("No thumbnail for %s: %s", video.video_id, exc)
        self._pump()
