"""Exact frame stepping: the bridge between the player and the Qt-free frame index.

:class:`FrameIndexBridge` builds the recording's :class:`~medispecs_desktop.core.frame_index.
FrameIndex` once, in the background (the task runner's ``media`` pool), from the same
pre-signed URL the player streams (or the user's private cache), and drops answers for a
recording that is no longer open.

:class:`FrameStepper` knows which frame is on screen (from the video sink's frame times, the
only truth about what the user sees), and turns "next / previous frame" into a seek strictly
inside the target frame's display interval. Presses that come faster than frames are decoded
chain from the frame they asked for, not from the one still on screen, so nine presses are
nine frames. Until the index is there it steps by the shown frame's own length from its
middle (right for constant frame rates, close for variable ones).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from medispecs_desktop.core.formatting import format_ms
from medispecs_desktop.core.frame_index import FrameIndex, FrameIndexError, read_frame_index
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.player.common import TasksLike

log = logging.getLogger(__name__)

MEDIA_KIND = "media"
STEP_SETTLE_MS = 2_000  # a step whose frame never arrives stops chaining after this

#: ``loader(video, url) -> FrameIndex``, run on a worker thread
IndexLoader = Callable[[Video, str], FrameIndex]


def _read(_video: Video, url: str) -> FrameIndex:
    return read_frame_index(url)


class FrameIndexBridge(QObject):
    """The open recording's frame index, built once in the background."""

    ready = Signal(object)  # FrameIndex

    def __init__(self, tasks: TasksLike, loader: IndexLoader | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self.loader: IndexLoader = loader or _read
        self.index: FrameIndex | None = None
        self._video_id: str | None = None
        self._generation = 0
        self.failures = 0

    def request(self, video: Video, url: str) -> None:
        """Build ``video``'s index (from ``url`` or the cache) unless it is already there."""
        if self._video_id == video.video_id:
            return
        self.clear()
        self._video_id = video.video_id
        generation = self._generation
        loader = self.loader

        def done(index: FrameIndex) -> None:
            if generation == self._generation:
                self.index = index
                self.ready.emit(index)

        def failed(exc: BaseException) -> None:
            if generation != self._generation:
                return
            self.failures += 1
            self._video_id = None  # a later open may try again
            log.warning("Frame times of %s not read (stepping by frame length): %s",
                        video.video_id, exc if isinstance(exc, FrameIndexError)
                        else type(exc).__name__)

        try:
            self._tasks.run(MEDIA_KIND, lambda: loader(video, url), done, failed)
        except RuntimeError:  # the runner is closed: the app is shutting down
            log.debug("frame index task dropped at shutdown")

    def clear(self) -> None:
        self._generation += 1
        self._video_id = None
        self.index = None


class FrameStepper(QObject):
    """What frame is shown, and where to seek for the next / previous one."""

    frameShown = Signal(int, int)  # frame number (-1: unknown yet), start time in µs

    def __init__(self, bridge: FrameIndexBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.shown_start_us: int | None = None
        self.shown_end_us: int | None = None
        self._target: int | None = None  # frame number a step asked for, not shown yet
        self._target_us: float | None = None  # the same without an index (a time)
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(STEP_SETTLE_MS)
        self._settle.timeout.connect(self.forget_pending)
        bridge.ready.connect(lambda _index: self._announce())

    @property
    def index(self) -> FrameIndex | None:
        return self.bridge.index

    def reset(self) -> None:
        self.shown_start_us = self.shown_end_us = None
        self.forget_pending()

    @property
    def pending(self) -> bool:
        """A step (or seek) asked for a frame that is not on screen yet."""
        return self._target is not None or self._target_us is not None

    def forget_pending(self) -> None:
        self._target = None
        self._target_us = None
        self._settle.stop()

    def seeking(self, position_ms: int) -> None:
        """A seek to ``position_ms`` (not a step) is under way: a step pressed before its
        frame arrives goes on from the frame it will show, not from the old one."""
        index = self.index
        if index is None:
            self._target, self._target_us = None, position_ms * 1000.0
        else:  # Qt shows the frame that ends at or after the position
            self._target, self._target_us = index.frame_at_us(position_ms * 1000 - 1), None
        self._settle.start()

    def on_frame(self, frame: Any) -> None:
        """A frame reached the video output (``QVideoFrame``)."""
        if not frame.isValid() or frame.startTime() < 0:
            return
        self.shown_start_us = int(frame.startTime())
        end = int(frame.endTime())
        self.shown_end_us = end if end > self.shown_start_us else None
        shown = self.shown_frame
        if self._target is not None and shown == self._target:
            self.forget_pending()
        elif self._target_us is not None and self.shown_end_us is not None \
                and self.shown_start_us <= self._target_us < self.shown_end_us:
            self.forget_pending()
        self._announce()

    def _announce(self) -> None:
        if self.shown_start_us is not None:
            self.frameShown.emit(self.shown_frame, self.shown_start_us)

    @property
    def shown_frame(self) -> int:
        """The number (from 0) of the frame on screen; -1 before the index is known."""
        index = self.index
        if index is None or self.shown_start_us is None:
            return -1
        # frame times reach the sink truncated to µs: look half a millisecond in
        return index.frame_at_us(self.shown_start_us + 500)

    def frame_at_ms(self, position_ms: float) -> int:
        index = self.index
        return index.frame_at_ms(position_ms) if index is not None else -1

    def target_ms(self, frames: int, position_ms: int, fallback_frame_ms: float) -> int | None:
        """Where to seek to show the frame ``frames`` away from the one on screen (or the
        one a previous step asked for); None when there is nowhere to go."""
        index = self.index
        if index is not None:
            if self._target is not None:
                base = self._target
            elif self.shown_start_us is not None:
                base = self.shown_frame
            else:
                base = index.frame_at_ms(position_ms)
            target = index.clamp(base + frames)
            if target == base:
                return None
            self._target, self._target_us = target, None
            self._settle.start()
            return index.seek_ms(target)
        # no index yet: from the middle of the shown frame, by its own length
        if self.shown_start_us is not None and self.shown_end_us is not None:
            length = self.shown_end_us - self.shown_start_us
            middle: float = (self.shown_start_us + self.shown_end_us) / 2
        else:
            length = round(fallback_frame_ms * 1000)
            middle = position_ms * 1000
        base_us = self._target_us if self._target_us is not None else middle
        target_us = max(length / 2, base_us + frames * length)
        self._target, self._target_us = None, target_us
        self._settle.start()
        return max(0, math.floor(target_us / 1000))


def describe_frame(number: int, start_us: int) -> str:
    """'Frame 437 · 0:14.567' (numbered from 0, as FFmpeg and mpv count; time to the ms)."""
    ms = start_us // 1000
    seconds = format_ms(ms)
    return f"Frame {number} · {seconds}.{ms % 1000:03d}" if number >= 0 \
        else f"{seconds}.{ms % 1000:03d}"
