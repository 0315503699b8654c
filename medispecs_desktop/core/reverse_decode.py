"""Backward play: decode groups of pictures (GOPs) and hand their frames back newest first.

A video decoder only runs forwards, from a keyframe. To play backwards (as mpv's
``--play-dir=backward`` does) :class:`ReverseDecoder` seeks to the keyframe at or before a
time, decodes forwards up to that time and returns the frames it decoded in reverse order;
the next call asks for the frames before the oldest one returned, and so on down to the
first frame. It opens the same source the player plays (a pre-signed URL, read by FFmpeg
with HTTP range requests, or a local file) with PyAV and keeps it open between calls.

Memory is bounded whatever the GOP length: frames are scaled to the display size (at most
``max_width`` pixels wide), as planar YUV 4:2:0 (what video outputs take as they are; 1.5
bytes a pixel, and much cheaper to make than RGB), and one call keeps at most ``max_bytes`` of
them (the decoded pictures it holds while converting included). When a GOP holds more frames
than fit, a call returns only the newest ones that fit before the time asked for; the next
call decodes the same GOP again from its keyframe for the earlier part (a segment). Decoding
is the costly part, so the bigger the cap, the fewer frames are decoded twice.

``stride`` (2, 4 for 2× and 4× backward play) keeps every ``stride``-th frame only: all are
decoded (each depends on the one before), only the kept ones are scaled and converted. A
call says where the next one goes on (:attr:`Chunk.next_limit_us`, :attr:`Chunk.next_skip`),
so the kept frames stay evenly spaced across calls.

Times are microseconds from the media start, as in :mod:`.frame_index` and Qt. Everything
here does I/O and decodes: call it from a worker thread, one call at a time per decoder.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medispecs_desktop.core.errors import MediSpecsError
from medispecs_desktop.core.logs import redact

if TYPE_CHECKING:
    import av.container
    import av.video.stream

log = logging.getLogger(__name__)

OPEN_TIMEOUT_S = 20.0
DEFAULT_MAX_WIDTH = 1280
DEFAULT_MAX_BYTES = 96 * 1024 * 1024  # one call's frames; the player holds at most three
FIRST_STEP_BACK_US = 1_000_000  # a seek that lands after the time asked for: go back this far


class ReverseDecodeError(MediSpecsError):
    code = "reverse_decode"


class ReverseCancelled(Exception):
    """The caller stopped backward play while a call was decoding."""


@dataclass(frozen=True)
class DecodedFrame:
    """One picture, shown from ``start_us`` to ``end_us``: planar YUV 4:2:0 (Y, U, V), each
    plane ``strides[i]`` bytes a row (U and V are half the width and height, rounded up)."""

    start_us: int
    end_us: int
    width: int
    height: int
    strides: tuple[int, int, int]
    planes: tuple[bytes, bytes, bytes]

    @property
    def nbytes(self) -> int:
        return sum(len(p) for p in self.planes)


@dataclass(frozen=True)
class Chunk:
    """Frames before ``limit_us``, newest first, and where the next call goes on."""

    frames: tuple[DecodedFrame, ...]
    limit_us: int
    decoded: int  # frames decoded to make it (the cost)
    keyframe_us: int | None  # where decoding started (the GOP's keyframe)
    next_limit_us: int | None  # the limit for the next call; None: the media's start
    next_skip: int = 0  # frames the next call passes over before its first kept one

    @property
    def nbytes(self) -> int:
        return sum(f.nbytes for f in self.frames)

    @property
    def oldest_us(self) -> int | None:
        return self.frames[-1].start_us if self.frames else None


def yuv420_bytes(width: int, height: int) -> int:
    """The bytes of one planar YUV 4:2:0 picture (no row padding)."""
    return width * height + 2 * ((width + 1) // 2) * ((height + 1) // 2)


def output_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """The picture size to convert to: the source's, scaled down to ``max_width`` (even)."""
    if width <= 0 or height <= 0:
        raise ReverseDecodeError("The video has no picture size.")
    if width <= max_width:
        return width, height
    scale = max_width / width
    return max(2, int(width * scale) // 2 * 2), max(2, round(height * scale / 2) * 2)


class ReverseDecoder:
    """Frames of one source, read backwards one call at a time (see the module doc)."""

    def __init__(self, source: str | Path, *, max_width: int = DEFAULT_MAX_WIDTH,
                 max_bytes: int = DEFAULT_MAX_BYTES, timeout: float = OPEN_TIMEOUT_S,
                 cancel: threading.Event | None = None) -> None:
        self.source = str(source)
        self.max_width = max(2, max_width)
        self.max_bytes = max(1, max_bytes)
        self.timeout = timeout
        self.cancel = cancel or threading.Event()
        self._container: av.container.InputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None
        self._time_base = Fraction(1, 1)
        self._start_us = 0
        self._first_us = 0  # the media's first frame
        self.size: tuple[int, int] = (0, 0)  # the converted pictures' size
        self.decoded = 0  # frames decoded since opened (all calls)
        self.peak_held_bytes = 0  # the most bytes of pictures one call held at once

    # -- opening --------------------------------------------------------------------------

    def open(self) -> None:
        if self._container is not None:
            return
        import av  # PyAV: imported here, the rest of core must not pay for it

        try:
            container = av.open(self.source, timeout=self.timeout)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise ReverseDecodeError(
                f"Could not open the recording to play it backwards: {redact(str(exc))}"
            ) from exc
        if not container.streams.video:
            container.close()
            raise ReverseDecodeError("The recording has no video stream.")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if stream.time_base is None:
            container.close()
            raise ReverseDecodeError("The video stream has no time base.")
        self._container, self._stream = container, stream
        self._time_base = Fraction(stream.time_base)
        self._start_us = int(container.start_time or 0)  # AV_TIME_BASE: microseconds
        self._first_us = self._us(stream.start_time) if stream.start_time is not None else 0
        self.size = output_size(stream.codec_context.width, stream.codec_context.height,
                                self.max_width)

    def close(self) -> None:
        container, self._container, self._stream = self._container, None, None
        if container is not None:
            container.close()

    def __enter__(self) -> ReverseDecoder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- time -----------------------------------------------------------------------------

    def _us(self, pts: int) -> int:
        return round(pts * self._time_base * 1_000_000) - self._start_us

    def _pts(self, time_us: int) -> int:
        return math.floor(Fraction(time_us + self._start_us, 1_000_000) / self._time_base)

    # -- decoding -------------------------------------------------------------------------

    def frame_bytes(self, stride: int = 1) -> int:
        """What one kept frame costs against the cap: its picture plus the ``stride``
        decoded pictures (at the source size) held until it is converted."""
        self.open()
        assert self._stream is not None
        ctx = self._stream.codec_context
        width, height = self.size
        return yuv420_bytes(width, height) + max(1, stride) * yuv420_bytes(ctx.width, ctx.height)

    def max_frames(self, stride: int = 1) -> int:
        """How many frames one call returns at most (at least one, whatever the cap)."""
        return max(1, self.max_bytes // self.frame_bytes(stride))

    def frames_before(self, limit_us: int, *, stride: int = 1, skip: int = 0,
                      most: int | None = None) -> Chunk:
        """The frames that start before ``limit_us``, newest first: the newest that fit in
        ``max_bytes`` (and no more than ``most``: a small first part shows sooner), every
        ``stride``-th from the newest after passing over ``skip``. ``next_limit_us`` is None
        at the start of the media.
        Raises :class:`ReverseDecodeError`, or :class:`ReverseCancelled` once ``cancel`` is set.
        """
        import av

        self.open()
        container, stream = self._container, self._stream
        assert container is not None and stream is not None
        stride = max(1, stride)
        keep = self.max_frames(stride) if most is None else min(max(1, most),
                                                                self.max_frames(stride))
        step_back = FIRST_STEP_BACK_US
        seek_us = limit_us - 1
        try:
            while True:
                ring, first_us, newer_us, decoded = self._decode_up_to(
                    container, stream, seek_us, limit_us, keep * stride)
                if ring or first_us is None or first_us < limit_us or seek_us < 0:
                    break
                # the seek landed on a keyframe after the time asked for (B-frames, edit
                # lists): start further back
                seek_us = max(-1, min(seek_us, first_us) - step_back)
                step_back *= 2
            # the media's first frame is always kept: backward play ends on it
            at_start = not ring or ring[0][0] <= self._first_us
            next_limit = None if at_start else ring[0][0]
            frames, next_skip = self._convert(
                ring, newer_us if newer_us is not None else limit_us, stride, max(0, skip),
                keep_oldest=at_start)
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise ReverseDecodeError(
                f"Could not decode the recording backwards: {redact(str(exc))}") from exc
        return Chunk(tuple(frames), limit_us, decoded, first_us, next_limit, next_skip)

    def _decode_up_to(self, container: av.container.InputContainer,
                      stream: av.video.stream.VideoStream, seek_us: int, limit_us: int,
                      keep: int) -> tuple[deque[tuple[int, Any]], int | None, int | None, int]:
        """Seek to the keyframe at or before ``seek_us`` and decode up to ``limit_us``,
        holding the last ``keep`` frames. Returns them (time, frame), the first frame's
        time, the time of the first frame at or after the limit (None: the end) and the
        number of frames decoded."""
        container.seek(max(self._pts(max(seek_us, 0)), 0) if seek_us >= 0 else 0,
                       stream=stream, backward=True, any_frame=False)
        ring: deque[tuple[int, Any]] = deque(maxlen=keep)
        first_us: int | None = None
        decoded = 0
        source_bytes = yuv420_bytes(stream.codec_context.width, stream.codec_context.height)
        for frame in container.decode(stream):
            if self.cancel.is_set():
                raise ReverseCancelled
            decoded += 1
            self.decoded += 1
            if frame.pts is None:
                continue
            time_us = self._us(frame.pts)
            if first_us is None:
                first_us = time_us
            if time_us >= limit_us:
                return ring, first_us, time_us, decoded
            ring.append((time_us, frame))
            self.peak_held_bytes = max(self.peak_held_bytes, len(ring) * source_bytes)
        return ring, first_us, None, decoded

    def _convert(self, ring: deque[tuple[int, Any]], newer_us: int, stride: int,
                 skip: int, *, keep_oldest: bool = False) -> tuple[list[DecodedFrame], int]:
        """Every ``stride``-th frame of ``ring`` from the newest after ``skip``, scaled and
        converted, newest first (each frame's picture is let go of as soon as it is
        converted), and how many frames the next call passes over."""
        width, height = self.size
        out: list[DecodedFrame] = []
        held = len(ring)
        source_bytes = 0
        if ring:
            first = ring[-1][1]
            source_bytes = yuv420_bytes(first.width, first.height)
        position = 0
        end_us = newer_us
        kept_bytes = 0
        while ring:
            if self.cancel.is_set():
                raise ReverseCancelled
            start_us, frame = ring.pop()
            held -= 1
            if (position >= skip and (position - skip) % stride == 0) \
                    or (keep_oldest and not ring):
                # the same size and format: the decoded picture as it is, no conversion
                yuv = frame.reformat(width=width, height=height, format="yuv420p",
                                     interpolation="BILINEAR")
                y, u, v = yuv.planes
                out.append(DecodedFrame(start_us, end_us, width, height,
                                        (y.line_size, u.line_size, v.line_size),
                                        (bytes(y), bytes(u), bytes(v))))
                kept_bytes += out[-1].nbytes
                self.peak_held_bytes = max(self.peak_held_bytes,
                                           held * source_bytes + kept_bytes)
            end_us = start_us
            position += 1
            del frame
        # the next kept position, counted on from here
        after = max(position, skip)
        after += (-(after - skip)) % stride
        return out, after - position
