"""Where every frame of a recording starts and ends, read from the stream itself.

A player that steps by ``round(n × 1000 / fps)`` milliseconds lands just before frames whose
time is not a whole millisecond (33.333 ms at 30 fps) and shows the previous frame again, and
it has no idea of variable frame rates. The truth is in the container: every video packet's
presentation time. :func:`read_frame_index` demuxes them with PyAV (no decoding; FFmpeg reads a
pre-signed URL with HTTP range requests, or a local file) into a :class:`FrameIndex`, whose
:meth:`FrameIndex.seek_ms` is a whole millisecond strictly inside a frame's display interval
(its middle), so a seek there shows exactly that frame whatever the rounding at the edges.

Times are microseconds from the start of the media (the container's start time subtracted),
as Qt's multimedia backend reports positions and frame times.

:class:`FrameIndexCache` keeps built indexes privately under ``<cache dir>/frames/<user key>/``
(0700 directories, 0600 files), one small JSON per recording; :func:`clear_all` removes them
on sign-out. No URL is ever stored. Everything here does I/O: call it from a worker thread.
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from medispecs_desktop.core.config import private_dir
from medispecs_desktop.core.errors import MediSpecsError
from medispecs_desktop.core.library_cache import user_key
from medispecs_desktop.core.logs import redact

log = logging.getLogger(__name__)

FRAMES_DIR_NAME = "frames"
FORMAT_VERSION = 1
OPEN_TIMEOUT_S = 20.0


class FrameIndexError(MediSpecsError):
    code = "frame_index"


@dataclass(frozen=True)
class FrameIndex:
    """Frame start times (µs, ascending, from the media start) and the last frame's end."""

    starts_us: tuple[int, ...]
    end_us: int

    def __post_init__(self) -> None:
        if not self.starts_us:
            raise FrameIndexError("A frame index needs at least one frame.")
        if any(b <= a for a, b in zip(self.starts_us, self.starts_us[1:], strict=False)):
            raise FrameIndexError("Frame times must be strictly increasing.")
        if self.end_us <= self.starts_us[-1]:
            raise FrameIndexError("The last frame must end after it starts.")

    def __len__(self) -> int:
        return len(self.starts_us)

    def start_us(self, index: int) -> int:
        return self.starts_us[self.clamp(index)]

    def frame_end_us(self, index: int) -> int:
        index = self.clamp(index)
        return self.starts_us[index + 1] if index + 1 < len(self) else self.end_us

    def clamp(self, index: int) -> int:
        return min(max(0, index), len(self) - 1)

    def frame_at_us(self, time_us: float) -> int:
        """The frame on screen at ``time_us``: the last one starting at or before it."""
        return max(0, bisect.bisect_right(self.starts_us, time_us) - 1)

    def frame_at_ms(self, position_ms: float) -> int:
        return self.frame_at_us(position_ms * 1000)

    def seek_ms(self, index: int) -> int:
        """A whole millisecond strictly inside frame ``index``'s display interval (its
        middle, away from both edges, where rounding by the player cannot reach the
        neighbours). Frames shorter than 2 ms get their start rounded up."""
        index = self.clamp(index)
        start, end = self.start_us(index), self.frame_end_us(index)
        middle = (start + end) // 2000
        first_inside = -(-start // 1000)  # ceil
        last_inside = (end - 1) // 1000
        if first_inside > last_inside:  # no whole millisecond inside: the nearest
            return first_inside
        return min(max(middle, first_inside), last_inside)

    @property
    def duration_us(self) -> int:
        return self.end_us

    @property
    def nominal_fps(self) -> float:
        """Frames per second over the whole stream (for a display, not for arithmetic)."""
        span = self.end_us - self.starts_us[0]
        return len(self) * 1_000_000 / span if span > 0 else 0.0

    @property
    def is_constant_rate(self) -> bool:
        """Every frame lasts as long as the first (within a microsecond of rounding)."""
        first = self.frame_end_us(0) - self.start_us(0)
        return all(abs((self.frame_end_us(i) - self.start_us(i)) - first) <= 1
                   for i in range(len(self)))

    # -- storage ------------------------------------------------------------------------

    def to_json(self) -> str:
        return json.dumps({"v": FORMAT_VERSION, "end": self.end_us,
                           "starts": list(self.starts_us)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> FrameIndex:
        try:
            data = json.loads(text)
            if data.get("v") != FORMAT_VERSION:
                raise FrameIndexError("Unknown frame index format.")
            return cls(tuple(int(s) for s in data["starts"]), int(data["end"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise FrameIndexError(f"Unreadable frame index: {exc}") from exc


def frame_index_from_times(pts: list[int], durations: list[int], time_base: Fraction,
                           start_us: int = 0) -> FrameIndex:
    """A :class:`FrameIndex` from packet presentation times and durations (in
    ``time_base`` units), made relative to ``start_us`` (the media start)."""
    if not pts:
        raise FrameIndexError("The recording has no video frames.")
    order = sorted(range(len(pts)), key=pts.__getitem__)
    unique: list[int] = []
    last_end = None
    for i in order:
        t = pts[i]
        if unique and t <= unique[-1]:
            continue  # a duplicate timestamp (broken muxer): the frame is never shown
        unique.append(t)
        if durations[i] > 0:
            last_end = t + durations[i]
    starts = [round(t * time_base * 1_000_000) - start_us for t in unique]
    if last_end is None or last_end <= unique[-1]:
        # no duration on the last packet: as long as the one before (or 1/30 s)
        step = starts[-1] - starts[-2] if len(starts) > 1 else 33_333
        end = starts[-1] + step
    else:
        end = round(last_end * time_base * 1_000_000) - start_us
    return FrameIndex(tuple(starts), end)


def read_frame_index(source: str | Path, *, timeout: float = OPEN_TIMEOUT_S) -> FrameIndex:
    """Demux (not decode) the first video stream of ``source`` (a local path or an http(s)
    URL) and return its frame times. Raises :class:`FrameIndexError`."""
    import av  # PyAV: imported here, the rest of core must not pay for it

    name = str(source)
    try:
        with av.open(name, timeout=timeout) as container:
            if not container.streams.video:
                raise FrameIndexError("The recording has no video stream.")
            stream = container.streams.video[0]
            time_base = stream.time_base
            if time_base is None:
                raise FrameIndexError("The video stream has no time base.")
            start_us = int(container.start_time or 0)  # AV_TIME_BASE = microseconds
            pts: list[int] = []
            durations: list[int] = []
            for packet in container.demux(stream):
                if packet.pts is None or packet.size == 0:
                    continue  # the flush packet at the end
                pts.append(int(packet.pts))
                durations.append(int(packet.duration or 0))
    except FrameIndexError:
        raise
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise FrameIndexError(f"Could not read the frame times: {redact(str(exc))}") from exc
    return frame_index_from_times(pts, durations, Fraction(time_base), start_us)


class FrameIndexCache:
    """Built frame indexes of one user's recordings, private and on disk."""

    def __init__(self, cache_dir: Path, user_id: str) -> None:
        self.directory = frames_dir(cache_dir) / user_key(user_id)

    @staticmethod
    def key_for(video_id: str, content: str | None) -> str:
        """A file name for ``video_id`` whose bytes are described by ``content`` (its
        SHA-256, size or object key: new bytes, new entry)."""
        safe = "".join(c for c in video_id if c.isalnum() or c in "_-")[:80]
        tag = user_key(content or "")[:12]
        return f"{safe}-{tag}.json"

    def get(self, key: str) -> FrameIndex | None:
        path = self.directory / key
        try:
            return FrameIndex.from_json(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, FrameIndexError) as exc:
            log.info("Frame index cache entry dropped: %s", exc)
            path.unlink(missing_ok=True)
            return None

    def put(self, key: str, index: FrameIndex) -> None:
        private_dir(self.directory)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(index.to_json())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.directory / key)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, key: str, source: str | Path) -> FrameIndex:
        """The cached index, or one read from ``source`` and cached."""
        cached = self.get(key)
        if cached is not None:
            return cached
        index = read_frame_index(source)
        try:
            self.put(key, index)
        except OSError as exc:  # a full disk must not stop frame stepping
            log.warning("Frame index not cached: %s", exc)
        return index


def frames_dir(cache_dir: Path) -> Path:
    return cache_dir / FRAMES_DIR_NAME


def clear_all(cache_dir: Path) -> None:
    """Remove every user's cached frame indexes (on sign-out)."""
    shutil.rmtree(frames_dir(cache_dir), ignore_errors=True)
