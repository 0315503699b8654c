"""Rows shown ``uploaded``/``processing`` turn ``ready`` (poster and all) by themselves.

The GUI side of ``core.readiness.ReadinessWatch``: after every page the model shows, the rows
the server is still processing are watched; a single-shot timer runs the watch's poll on the
API pool when the next one is due (backoff in the core) and each record that changed replaces
its row. Nothing runs while nothing is watched, or while offline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from medispecs_desktop.core.models import Video
from medispecs_desktop.core.readiness import ReadinessWatch
from medispecs_desktop.ui.tasks import TasksLike

from .common import API_KIND, submit
from .model import VideoTableModel

__all__ = ["ReadinessPoller"]

log = logging.getLogger(__name__)

OFFLINE_RETRY_MS = 5_000


def _unavailable(video_id: str) -> Video:
    raise RuntimeError("no get_video")  # never called: the poller is disabled


class ReadinessPoller(QObject):
    videoChanged = Signal(object)  # Video: the server moved it on (ready, error)

    def __init__(self, model: VideoTableModel, get_video: Callable[[str], Video] | None,
                 tasks: TasksLike, *, online: Callable[[], bool] = lambda: True,
                 parent: QObject | None = None) -> None:
        """``get_video`` ``None`` (an API without it): nothing is ever polled."""
        super().__init__(parent)
        self.model = model
        self.tasks = tasks
        self.online = online
        self.watch = ReadinessWatch(get_video or _unavailable)
        self._enabled = get_video is not None
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._poll)
        model.pageLoaded.connect(lambda _count: self.track())
        model.listingReplaced.connect(self.track)

    def track(self) -> None:
        """Watch the rows shown now that the server is still working on."""
        if not self._enabled:
            return
        self.watch.track(self.model.videos)
        self._schedule()

    def stop(self) -> None:
        """Sign-out, teardown: nothing is polled any more."""
        self._timer.stop()
        self.watch.clear()

    def _schedule(self, at_least_ms: int = 0) -> None:
        if self._busy:
            return  # rescheduled when the poll in flight answers
        due = self.watch.next_due_in()
        if due is None:
            self._timer.stop()
            return
        self._timer.start(max(at_least_ms, int(due * 1000) + 20))

    def _poll(self) -> None:
        if not self.online():
            self._schedule(OFFLINE_RETRY_MS)
            return
        self._busy = True
        if not submit(self.tasks, API_KIND, self.watch.poll_due, self._arrived, self._failed):
            self._busy = False

    def _arrived(self, changed: list[Video]) -> None:
        self._busy = False
        for video in changed:
            self.model.thumbnails.forget(video.video_id)  # its poster is new
            self.model.replace_video(video)
            self.videoChanged.emit(video)
        self._schedule()

    def _failed(self, exc: BaseException) -> None:
        self._busy = False
        log.info("readiness poll failed: %s", exc)  # a sign-in problem: the app handles it
        self._schedule(OFFLINE_RETRY_MS)
