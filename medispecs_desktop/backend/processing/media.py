"""What the server reads from a recording with PyAV (FFmpeg): the probe, the poster thumbnail
and the preview sheet (a JPEG sprite of small frames every few seconds + its JSON index).

PyAV is imported inside the functions only: the API function's zip has no PyAV, and it may
import this package (the processing function is packaged as a container image with it).
Failures become :class:`MediaError` with a plain ``reason`` a clinician can read.
"""

from __future__ import annotations

import io
import json
import math
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, Protocol


class BinaryIO(Protocol):
    """A readable, seekable byte stream (a file, ``io.BytesIO``, ``S3RangeFile``)."""

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

__all__ = [
    "PREVIEW_COLUMNS",
    "PREVIEW_MAX_TILES",
    "PREVIEW_TILE_WIDTH",
    "BinaryIO",
    "MediaError",
    "MediaInfo",
    "PreviewSheet",
    "iso_truncated",
    "preview_sheet",
    "probe",
    "thumbnail_jpeg",
]

THUMBNAIL_WIDTH = 320
PREVIEW_TILE_WIDTH = 160
PREVIEW_COLUMNS = 10
PREVIEW_MAX_TILES = 100
PREVIEW_MIN_INTERVAL_SEC = 1.0
JPEG_QUALITY = 4
"""FFmpeg's mjpeg ``qscale`` (2 best .. 31 worst)."""


class MediaError(Exception):
    """The recording cannot be used: ``kind`` is ``unplayable``, ``truncated`` or
    ``unsupported_codec``; ``reason`` says why in plain words."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MediaInfo:
    duration_sec: float
    width: int
    height: int
    """Display size (after rotation)."""
    codec: str
    frame_rate: float | None
    rotation: int
    container_created_at: str | None
    container: str
    audio_codec: str | None = None
    pixel_format: str | None = None
    """The decoded frames' pixel format (``yuv420p``, ``yuv420p10le``...)."""


@dataclass(frozen=True, slots=True)
class PreviewSheet:
    jpeg: bytes
    index: dict[str, Any] = field(default_factory=dict)

    def index_json(self) -> bytes:
        return json.dumps(self.index, separators=(",", ":"), sort_keys=True).encode()


# ------------------------------------------------------------------------ truncation check

_ISO_BRANDS = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")


def iso_truncated(f: BinaryIO, size: int, *, max_boxes: int = 10_000) -> bool | None:
    """Walk an MP4/MOV's top-level boxes: ``True`` when a box runs past the end of the file
    (the upload stopped early), ``False`` when they tile the file, ``None`` when the file is
    not ISO-BMFF (some other container: its own parser decides)."""
    pos = 0
    for n in range(max_boxes):
        if pos == size:
            return False
        if size - pos < 8:
            return True if n else None
        f.seek(pos)
        header = f.read(16)
        box_size, box_type = struct.unpack(">I4s", header[:8])
        if n == 0 and box_type not in _ISO_BRANDS:
            return None
        if box_size == 1:
            if len(header) < 16:
                return True
            box_size = struct.unpack(">Q", header[8:16])[0]
        elif box_size == 0:  # "to the end of the file"
            return False
        if box_size < 8:
            return None if n == 0 else False
        if pos + box_size > size:
            return True
        pos += box_size
    return False


# ------------------------------------------------------------------------ probe

def _open(f: BinaryIO) -> Any:
    import av

    try:
        return av.open(f, mode="r")
    except av.error.InvalidDataError as exc:
        raise MediaError("unplayable", "not a video file FFmpeg can read") from exc
    except av.FFmpegError as exc:
        raise MediaError("unplayable", "the file could not be opened as a video") from exc


def _utc(raw: str | None) -> str | None:
    if not raw:
        return None
    text = raw.strip().replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when.year < 1971:  # an unset MP4 creation time (1904 / 1970 epoch)
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def probe(f: BinaryIO, size: int) -> MediaInfo:
    """Open the recording, check it decodes, and read its metadata. ``f`` must be seekable."""
    import av

    truncated = iso_truncated(f, size)
    f.seek(0)
    try:
        container = _open(f)
    except MediaError as exc:
        if truncated:
            raise MediaError(
                "truncated", "the file ends early: the upload was cut off before its end"
            ) from exc
        raise
    with container:
        if not container.streams.video:
            raise MediaError("unplayable", "the file has no video track")
        stream = container.streams.video[0]
        codec_name = stream.codec_context.name if stream.codec_context else None
        if not codec_name or stream.codec_context.codec is None:
            raise MediaError("unsupported_codec", "the video codec is not supported")
        if truncated:
            raise MediaError("truncated", "the file ends early: the upload was cut off before "
                             "its end")
        first = None
        try:
            for frame in container.decode(stream):
                first = frame
                break
        except av.FFmpegError as exc:
            raise MediaError("unplayable", "the video track does not decode") from exc
        if first is None:
            raise MediaError("unplayable", "the video track has no frames")
        duration = _duration(container, stream)
        if duration is None or duration <= 0:
            raise MediaError("unplayable", "the recording has no duration")
        rotation = int(getattr(first, "rotation", 0) or 0) % 360
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        if rotation % 180:
            width, height = height, width
        rate = stream.average_rate or stream.guessed_rate
        audio = container.streams.audio[0].codec_context.name if container.streams.audio \
            else None
        created = _utc(container.metadata.get("creation_time")
                       or stream.metadata.get("creation_time"))
        return MediaInfo(
            duration_sec=round(duration, 3),
            width=width,
            height=height,
            codec=str(codec_name),
            frame_rate=round(float(rate), 3) if rate else None,
            rotation=rotation,
            container_created_at=created,
            container=str(container.format.name),
            audio_codec=str(audio) if audio else None,
            pixel_format=str(first.format.name) if first.format is not None else None,
        )


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    return None


# ------------------------------------------------------------------------ frames → JPEG

def _jpeg(frame: Any, width: int, height: int) -> bytes:
    import av

    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 25)
    codec.options = {"q:v": str(JPEG_QUALITY)}
    img = frame.reformat(width=width, height=height, format="yuvj420p")
    img.pts = 0
    data = b"".join(bytes(p) for p in codec.encode(img))
    data += b"".join(bytes(p) for p in codec.encode(None))
    return data


def _upright(frame: Any) -> Any:
    """``frame`` as shown (its display-matrix rotation applied), as an RGB frame."""
    import av

    rotation = int(getattr(frame, "rotation", 0) or 0) % 360
    rgb = frame.reformat(format="rgb24")
    if not rotation:
        return rgb
    import numpy as np

    turns = rotation // 90
    arr = np.rot90(rgb.to_ndarray(), k=turns)
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")


def _even(n: float) -> int:
    return max(2, round(n / 2) * 2)


SEEK_AHEAD_SEC = 10.0
"""A later time closer than this is reached by decoding on (no seek back to a keyframe)."""


def _frames_at(f: BinaryIO, times: list[float]) -> list[Any]:
    """The first frame at or after each time (ascending ``times``): seeks to the keyframe
    before a time far ahead, decodes on to a near one (each packet decoded at most once)."""
    import av

    f.seek(0)
    out: list[Any] = []
    with av.open(f, mode="r") as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = stream.time_base
        frames: Any = None
        last: Any = None
        for t in times:
            last_time = last.time if last is not None and last.time is not None else None
            if frames is None or last_time is None or t < last_time \
                    or t - last_time > SEEK_AHEAD_SEC:
                target = int(t / tb) if tb else 0
                container.seek(max(0, target) + (stream.start_time or 0), stream=stream,
                               backward=True)
                frames = container.decode(stream)
            got = None
            if last is not None and last_time is not None and last_time + 1e-6 >= t \
                    and (not out or out[-1] is not last):
                got = last
            try:
                while got is None:
                    frame = next(frames)
                    last = frame
                    if frame.time is None or frame.time + 1e-6 >= t:
                        got = frame
            except (StopIteration, av.FFmpegError):
                frames = None
            if got is None:
                got = last  # past the last frame: the last one decoded
            if got is not None:
                out.append(got)
    return out


def thumbnail_jpeg(f: BinaryIO, info: MediaInfo, *, width: int = THUMBNAIL_WIDTH) -> bytes:
    """The poster frame (at 1 s, or 10% into a shorter clip) as a JPEG ``width`` wide (or the
    video's own width, when narrower)."""
    t = min(1.0, info.duration_sec * 0.1)
    frames = _frames_at(f, [t])
    if not frames:
        raise MediaError("unplayable", "no frame could be decoded for the thumbnail")
    up = _upright(frames[0])
    width = min(width, up.width)  # never enlarged
    height = _even(width * up.height / up.width)
    return _jpeg(up, _even(width), height)


def preview_interval(duration: float) -> float:
    """Seconds between preview tiles: 1 s, more for long recordings (≤ 100 tiles)."""
    return float(max(PREVIEW_MIN_INTERVAL_SEC, math.ceil(duration / PREVIEW_MAX_TILES)))


def preview_sheet(f: BinaryIO, info: MediaInfo, *, image_name: str = "sheet.jpg") -> PreviewSheet:
    """Small frames every :func:`preview_interval` seconds tiled ``PREVIEW_COLUMNS`` wide in one
    JPEG, and the index the player's seek bar uses to find the tile for a time."""
    import av
    import numpy as np

    interval = preview_interval(info.duration_sec)
    count = max(1, min(PREVIEW_MAX_TILES, math.ceil(info.duration_sec / interval)))
    times = [round(i * interval, 3) for i in range(count)]
    frames = _frames_at(f, times)
    if not frames:
        raise MediaError("unplayable", "no frame could be decoded for the preview sheet")
    tile_w = PREVIEW_TILE_WIDTH
    tile_h = _even(tile_w * info.height / info.width)
    columns = min(PREVIEW_COLUMNS, len(frames))
    rows = math.ceil(len(frames) / columns)
    sheet = np.zeros((rows * tile_h, columns * tile_w, 3), dtype=np.uint8)
    tiles = []
    for i, frame in enumerate(frames):
        small = _upright(frame).reformat(width=tile_w, height=tile_h, format="rgb24")
        r, c = divmod(i, columns)
        sheet[r * tile_h:(r + 1) * tile_h, c * tile_w:(c + 1) * tile_w] = small.to_ndarray()
        tiles.append({"t": times[i], "x": c * tile_w, "y": r * tile_h})
    image = av.VideoFrame.from_ndarray(sheet, format="rgb24")
    jpeg = _jpeg(image, columns * tile_w, rows * tile_h)
    index = {
        "version": 1,
        "image": image_name,
        "intervalSec": interval,
        "tileWidth": tile_w,
        "tileHeight": tile_h,
        "columns": columns,
        "rows": rows,
        "durationSec": info.duration_sec,
        "tiles": tiles,
    }
    return PreviewSheet(jpeg=jpeg, index=index)


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a baseline JPEG from its SOF0 marker (used by checks and tests)."""
    buf = io.BytesIO(data)
    if buf.read(2) != b"\xff\xd8":
        raise ValueError("not a JPEG")
    while True:
        marker = buf.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            raise ValueError("no SOF marker")
        (length,) = struct.unpack(">H", buf.read(2))
        if marker[1] in (0xC0, 0xC1, 0xC2):
            _p, h, w = struct.unpack(">BHH", buf.read(5))
            return w, h
        buf.seek(length - 2, io.SEEK_CUR)
