"""Playing backwards (J) for the J/K/L shuttle, as mpv's ``--play-dir=backward`` does.

QMediaPlayer only plays forwards, and stepping it back one frame at a time costs a decode
from the previous keyframe per frame (on long groups of pictures the speed collapses). So
:class:`ReverseShuttle` decodes whole groups of pictures (GOPs) itself with the Qt-free
:class:`~medispecs_desktop.core.reverse_decode.ReverseDecoder`, on the task runner's
``playback`` worker (never on the GUI thread), from the same source the player plays (the
pre-signed URL or the local copy), and pushes their frames newest first into the player's
video sink, paced by a timer at the frame rate × the speed:

* 1× shows every frame, n, n−1, …, 0, each for its own duration (variable frame rates
  included). When the machine cannot decode that fast it shows every frame late rather than
  skip any, and says how fast it really goes ("this computer manages 0.6×").
* J again: 2×, then 4×. These show every 2nd / 4th frame (the others are decoded, not
  converted) at the clip's own frame rate, and drop more if the machine falls behind.
* The first part is a few frames only (the first frame shows soon after J), each next one
  four times as big. While frames are shown the parts before them are decoded (prefetch),
  until as many frames as two full parts are held or being decoded: within twice the
  decoder's byte cap, as YUV 4:2:0 scaled to the picture's width on screen (at most 1280 px).
  Memory does not grow with the GOP length.
* The seek bar, time and frame number follow. K, L, space, a seek or the first frame stop it;
  the player is then positioned on the frame last shown, so the picture does not jump.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtMultimedia import QVideoFrame, QVideoFrameFormat, QVideoSink

from medispecs_desktop.core.reverse_decode import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_WIDTH,
    Chunk,
    DecodedFrame,
    ReverseCancelled,
    ReverseDecodeError,
    ReverseDecoder,
)
from medispecs_desktop.ui.player.frames import FrameStepper
from medispecs_desktop.ui.tasks import PLAYBACK, TasksLike

log = logging.getLogger(__name__)

SPEEDS = (1.0, 2.0, 4.0)
BUDGET_PARTS = 2  # frames held (shown, queued, being decoded): at most two full parts
FIRST_PART_FRAMES = 4  # the first part is small: the first frame shows sooner after J ...
MAX_PART_FRAMES = 1024  # ... and each next one bigger (within the byte cap)
PART_GROWTH = 4
REPORT_EVERY_S = 1.0  # how often the achieved speed is said
SLOW_FRACTION = 0.9  # below this share of the asked speed, say what it really is


class _Target(Protocol):
    """What backward play needs of the :class:`~.controller.PlayerController`."""

    tasks: TasksLike
    positionChanged: Any  # Signal(int)
    message: Any  # Signal(str, str)

    @property
    def video_sink(self) -> QVideoSink | None: ...

    @property
    def stepper(self) -> FrameStepper: ...

    @property
    def position(self) -> int: ...

    def playback_source(self) -> str | None: ...

    def settle_reverse(self, position_ms: int) -> None: ...


def to_video_frame(frame: DecodedFrame) -> QVideoFrame:
    """A YUV 4:2:0 QVideoFrame holding a copy of ``frame``'s picture, with its times (any
    thread: it is a value, not a QObject)."""
    video = QVideoFrame(QVideoFrameFormat(QSize(frame.width, frame.height),
                                          QVideoFrameFormat.PixelFormat.Format_YUV420P))
    if not video.map(QVideoFrame.MapMode.WriteOnly):
        raise ReverseDecodeError("No memory for a video frame.")
    try:
        for i, (data, stride) in enumerate(zip(frame.planes, frame.strides, strict=True)):
            rows = frame.height if i == 0 else (frame.height + 1) // 2
            width = frame.width if i == 0 else (frame.width + 1) // 2
            target, line = memoryview(video.bits(i)), video.bytesPerLine(i)
            if line == stride:
                size = min(len(data), rows * line)
                target[:size] = data[:size]
            else:
                source = memoryview(data)
                for row in range(rows):
                    target[row * line: row * line + width] = \
                        source[row * stride: row * stride + width]
    finally:
        video.unmap()
    video.setStartTime(frame.start_us)
    video.setEndTime(frame.end_us)
    return video


def decode_part(decoder: ReverseDecoder, limit_us: int, stride: int, skip: int,
                most: int | None = None) -> tuple[Chunk, list[QVideoFrame], int]:
    """One part, as video frames (runs on the worker; each decoded picture is let go of as
    soon as it is copied, so a part is held once, not twice)."""
    chunk = decoder.frames_before(limit_us, stride=stride, skip=skip, most=most)
    pending = list(chunk.frames)
    chunk = replace(chunk, frames=())
    out: list[QVideoFrame] = []
    pending.reverse()
    while pending:
        out.append(to_video_frame(pending.pop()))
    return chunk, out, decoder.max_frames(stride)


class ReverseShuttle(QObject):
    """Plays the open recording backwards into the player's video sink (see module doc)."""

    changed = Signal(float)  # backward speed; 0 when stopped
    shown = Signal(int)  # start (µs) of each frame shown backwards

    def __init__(self, target: _Target, parent: QObject | None = None, *,
                 max_bytes: int = DEFAULT_MAX_BYTES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self._target = target
        self.max_bytes = max_bytes
        # the picture's width on screen in pixels (the view sets it): frames are scaled to it
        self.display_width: Callable[[], int] = lambda: DEFAULT_MAX_WIDTH
        self._clock = clock
        self.speed = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._pump)
        self._generation = 0
        self._decoder: ReverseDecoder | None = None
        self._cancel = threading.Event()
        self._parts: deque[deque[QVideoFrame]] = deque()
        self._next_limit_us = 0
        self._next_skip = 0
        self._part_frames = FIRST_PART_FRAMES
        self._cap_frames: int | None = None  # frames one part holds at most (the byte cap)
        self._in_flight = False
        self._exhausted = False
        self._retried = False
        self._last_start_us = 0  # the frame on screen (shown last)
        self._last_end_us: int | None = None
        self._last_t = 0.0  # when it was due on screen
        self._showed_any = False
        self._report_t = 0.0
        self._report_start = (0.0, 0)  # (time, frame start) the achieved speed is taken from
        self._said = ""
        self.frames_shown = 0
        self.frames_skipped = 0
        self.waits = 0  # times the next frame was not decoded yet when due
        self.achieved = 0.0  # the real backward speed (× normal) over the last second

    @property
    def active(self) -> bool:
        return self.speed > 0

    @property
    def position_ms(self) -> int:
        return max(0, self._last_start_us // 1000)

    @property
    def stride(self) -> int:
        return max(1, int(self.speed))

    def start_or_faster(self) -> None:
        """J: start at 1× (from the frame on screen), or go faster."""
        faster = [s for s in SPEEDS if s > self.speed]
        starting = not self.active
        self.speed = faster[0] if faster else SPEEDS[-1]
        if starting and not self._start():
            self.speed = 0.0
            return
        self._report_t = self._clock()
        self._report_start = (self._report_t, self._last_start_us)
        self._say(f"Playing backwards at {self.speed:g}×")
        self.changed.emit(self.speed)

    def _start(self) -> bool:
        source = self._target.playback_source()
        if source is None:
            return False
        stepper = self._target.stepper
        start_us, end_us = stepper.shown_start_us, stepper.shown_end_us
        if start_us is None:
            start_us, end_us = self._target.position * 1000, None
        self._generation += 1
        self._cancel = threading.Event()
        self._decoder = self._new_decoder(source)
        self._retried = False
        self._parts.clear()
        self._next_limit_us, self._next_skip = start_us, 0
        self._part_frames = FIRST_PART_FRAMES
        self._cap_frames = None
        self._in_flight = self._exhausted = False
        self._last_start_us, self._last_end_us = start_us, end_us
        self._last_t = self._clock()
        self._showed_any = False
        self.frames_shown = self.frames_skipped = self.waits = 0
        self._request()
        return True

    def _new_decoder(self, source: str) -> ReverseDecoder:
        try:
            shown_width = self.display_width()
        except RuntimeError:  # the view that set it is gone
            shown_width = DEFAULT_MAX_WIDTH
        width = min(DEFAULT_MAX_WIDTH, max(2, shown_width))
        return ReverseDecoder(source, max_width=width, max_bytes=self.max_bytes,
                              cancel=self._cancel)

    def stop(self, *, settle: bool = True) -> None:
        """Stop; with ``settle`` the player is positioned on the frame last shown."""
        if self.speed == 0:
            return
        self.speed = 0.0
        self._timer.stop()
        self._generation += 1
        self._cancel.set()
        self._parts.clear()
        self._in_flight = False
        decoder, self._decoder = self._decoder, None
        if decoder is not None:
            self._run(decoder.close, None, None)  # after the part being decoded gives up
        if self._said:
            self._target.message.emit("", "")
            self._said = ""
        if settle and self._showed_any:
            self._target.settle_reverse(self._settle_ms())
        self.changed.emit(0.0)

    def _settle_ms(self) -> int:
        """A whole millisecond strictly inside the frame last shown."""
        index = self._target.stepper.index
        start = self._last_start_us
        if index is not None:
            return index.seek_ms(index.frame_at_us(start + 500))
        end = self._last_end_us
        ms = start // 1000 + 1
        return ms if end is None or ms * 1000 < end else -(-start // 1000)

    # -- decoding (on the worker) -----------------------------------------------------------

    def _run(self, fn: Callable[[], Any], done: Callable[[Any], None] | None,
             failed: Callable[[BaseException], None] | None) -> bool:
        try:
            self._target.tasks.run(PLAYBACK, fn, done, failed)
        except RuntimeError:  # the runner is closed: the app is shutting down
            log.debug("backward play task dropped at shutdown")
            return False
        return True

    def _request(self) -> None:
        if self._in_flight or self._exhausted or self._decoder is None:
            return
        most = self._part_frames
        queued = sum(len(part) for part in self._parts)
        cap = self._cap_frames
        if (cap is None and queued) or (cap is not None
                                        and queued + min(most, cap) > BUDGET_PARTS * cap):
            return  # enough ahead: the next part when some of these have been shown
        decoder, limit, stride = self._decoder, self._next_limit_us, self.stride
        skip, generation = self._next_skip, self._generation
        self._part_frames = min(MAX_PART_FRAMES, most * PART_GROWTH)

        def done(result: tuple[Chunk, list[QVideoFrame], int]) -> None:
            if generation != self._generation:
                return
            chunk, frames, self._cap_frames = result
            self._in_flight = False
            if frames:
                self._parts.append(deque(frames))
            if chunk.next_limit_us is None:
                self._exhausted = True  # nothing before: the media's start
            else:
                self._next_limit_us, self._next_skip = chunk.next_limit_us, chunk.next_skip
            self._request()
            if not self._timer.isActive():
                self._pump()

        def failed(exc: BaseException) -> None:
            if generation != self._generation or isinstance(exc, ReverseCancelled):
                return
            self._in_flight = False
            source = self._target.playback_source()
            if not self._retried and source is not None:
                # a pre-signed URL that expired meanwhile: the player renews its own
                self._retried = True
                old, self._decoder = self._decoder, self._new_decoder(source)
                if old is not None:
                    self._run(old.close, None, None)
                self._request()
                return
            log.warning("Backward play stopped: %s", exc)
            self.stop()
            self._target.message.emit("error", "Backward play stopped: the recording could "
                                      "not be decoded backwards here.")

        self._in_flight = self._run(lambda: decode_part(decoder, limit, stride, skip, most),
                                    done, failed)

    # -- showing (on the GUI thread) ----------------------------------------------------------

    def _pump(self) -> None:
        """Show the next frame when it is due; schedule the one after."""
        while self.active and self._parts:
            part = self._parts[0]
            if not part:
                self._parts.popleft()
                self._request()
                continue
            frame = part[0]
            interval = max(0, self._last_start_us - frame.startTime()) / 1e6 / self.speed
            due = self._last_t + interval
            now = self._clock()
            if now < due - 0.001:
                self._timer.start(max(1, math.ceil((due - now) * 1000)))
                return
            part.popleft()
            late = now - due if self._showed_any else 0.0  # the first: at once, none dropped
            if self.speed > 1 and late > interval and (len(part) > 0 or len(self._parts) > 1):
                # behind at 2× / 4×: drop this frame to hold the speed
                self.frames_skipped += 1
                self._last_start_us, self._last_end_us = frame.startTime(), frame.endTime()
                self._last_t = due
                continue
            self._show(frame)
            self._last_t = due if late < max(interval, 0.005) else now  # behind: no burst
            self._request()  # room for the next part yet?
            self._timer.start(0)  # let it paint; the next one from the event loop
            return
        if self.active and not self._parts and self._exhausted:
            self.stop()  # the first frame is on screen
        elif self.active:
            self.waits += self._showed_any  # the decoder is behind: a frame will be late
            self._request()

    def _show(self, frame: QVideoFrame) -> None:
        sink = self._target.video_sink
        if not self._showed_any:  # the speed is measured from the first frame, not from J
            self._report_t = self._clock()
            self._report_start = (self._report_t, frame.startTime())
        self._last_start_us, self._last_end_us = frame.startTime(), frame.endTime()
        self._showed_any = True
        self.frames_shown += 1
        if sink is not None:
            sink.setVideoFrame(frame)
        self._target.positionChanged.emit(self.position_ms)
        self.shown.emit(self._last_start_us)
        self._report()

    def _report(self) -> None:
        now = self._clock()
        if now - self._report_t < REPORT_EVERY_S:
            return
        since_t, since_us = self._report_start
        if now > since_t:
            self.achieved = (since_us - self._last_start_us) / 1e6 / (now - since_t)
        self._report_t = now
        self._report_start = (now, self._last_start_us)
        text = f"Playing backwards at {self.speed:g}×"
        if self.achieved < self.speed * SLOW_FRACTION:
            text += f" (this computer manages {self.achieved:.1f}×)"
        self._say(text)

    def _say(self, text: str) -> None:
        if text != self._said:
            self._said = text
            self._target.message.emit("info", text)
