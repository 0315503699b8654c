"""Media metadata and thumbnails read from the recording itself (PyAV / FFmpeg).

This is the only module of the app (besides ``local.samples``, which writes test clips) that
imports ``av``: PyAV's wheels bundle FFmpeg with GPL parts, so all media code stays behind it.

- :func:`probe` reads duration, resolution, codec, container type, the container's creation
  time (-> ``recordedAt``, falling back to the file's modification time) and a device id where
  the file carries one. A file that is empty, not a video or too broken to decode raises
  :class:`MediaError` with a sentence a user can act on; it is never treated as a video.
- :func:`thumbnail_jpeg` seeks to a point of the clip, decodes the exact frame there, scales it
  keeping the display aspect ratio and encodes a JPEG with FFmpeg's MJPEG encoder.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import av.error
import av.filter

from medispecs_desktop.core.errors import MediSpecsError

__all__ = [
    "VIDEO_SUFFIXES",
    "MediaError",
    "MediaInfo",
    "mime_type_for",
    "probe",
    "thumbnail_jpeg",
]

RecordedAtSource = Literal["container", "file_mtime"]

#: File name suffixes recording devices use for video (lower case, with the dot).
VIDEO_SUFFIXES: frozenset[str] = frozenset(
    {".mp4", ".m4v", ".mov", ".qt", ".mkv", ".webm", ".avi", ".mts", ".m2ts", ".ts", ".3gp",
     ".mpg", ".mpeg", ".wmv", ".lrv"}
)

_MIME_BY_SUFFIX: dict[str, str] = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".lrv": "video/mp4",
    ".mov": "video/quicktime",
    ".qt": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
    ".avi": "video/x-msvideo",
    ".mts": "video/mp2t",
    ".m2ts": "video/mp2t",
    ".ts": "video/mp2t",
    ".3gp": "video/3gpp",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".wmv": "video/x-ms-wmv",
}

# FFmpeg demuxers (format names) that hold recordings; anything else is refused.
_VIDEO_CONTAINERS: frozenset[str] = frozenset(
    {"mov", "mp4", "matroska", "webm", "avi", "mpegts", "mpeg", "asf", "flv", "3gp"}
)

# Tags holding the recording time, best first (compared case-insensitively).
_TIME_TAGS = (
    "com.apple.quicktime.creationdate",  # local time with its UTC offset: the most exact
    "creation_time",
    "date_recorded",
    "date",
)
# Tags naming the recording device, best first (compared case-insensitively).
_DEVICE_TAGS = (
    "device_id",
    "deviceid",
    "device",
    "com.apple.quicktime.model",
    "com.android.model",
    "model",
)
_COMMENT_TAGS = ("comment", "description", "com.apple.quicktime.description")
_DEVICE_IN_TEXT = re.compile(
    r"\bdevice[_\- ]?id\s*[=:]\s*([A-Za-z0-9][A-Za-z0-9_.:\-]{0,127})", re.IGNORECASE
)

# A camera whose clock was never set writes 1904/1970/2000 dates; reject the impossible ones.
_EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
_FUTURE_SLACK = timedelta(days=2)


class MediaError(MediSpecsError):
    """A file is not a readable video (missing, empty, not a video, or broken).

    ``damaged`` is True when the file is a recording whose data is broken or cut short
    (truncated, an index missing, pictures that do not decode), as opposed to a file that is
    not a recording at all: a damaged one may be the only copy of a session and can be kept
    anyway, on the user's explicit word ("Upload as damaged")."""

    code = "media"

    def __init__(self, message: str, *, damaged: bool = False) -> None:
        super().__init__(message)
        self.damaged = damaged


@dataclass(frozen=True)
class MediaInfo:
    """What the app knows about a recording from the file itself."""

    duration_sec: float
    width: int
    height: int
    codec: str
    mime_type: str
    recorded_at: str  # UTC "YYYY-MM-DDTHH:MM:SSZ"
    recorded_at_source: RecordedAtSource
    device_id: str | None
    size_bytes: int = 0
    container: str = ""
    frame_rate: float | None = None
    has_audio: bool = False
    # Degrees (counter-clockwise, 0/90/180/270) a player turns the picture (the display
    # matrix phones write for portrait clips); width/height are the coded, unturned size.
    rotation: int = 0

    @property
    def recorded_at_datetime(self) -> datetime:
        return datetime.strptime(self.recorded_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    def api_fields(self) -> dict[str, Any]:
        """The ``POST /videos`` fields this file provides (camelCase, contract §1)."""
        fields: dict[str, Any] = {
            "recordedAt": self.recorded_at,
            "durationSec": round(self.duration_sec, 3),
            "fileSizeBytes": self.size_bytes,
            "mimeType": self.mime_type,
            "width": self.width,
            "height": self.height,
            "codec": self.codec,
        }
        if self.device_id:
            fields["deviceId"] = self.device_id
        return fields


def mime_type_for(path: str | os.PathLike[str], *, container: str = "", brand: str = "") -> str:
    """MIME type of a video from its container (and file name when the container is shared)."""
    suffix = Path(path).suffix.lower()
    names = set(container.split(","))
    if names & {"mov", "mp4"}:
        if brand.strip().lower() == "qt" or (not brand and suffix in (".mov", ".qt")):
            return "video/quicktime"
        if suffix == ".3gp" or brand.strip().lower().startswith("3g"):
            return "video/3gpp"
        return "video/mp4"
    if names & {"matroska", "webm"}:
        return "video/webm" if suffix == ".webm" else "video/x-matroska"
    by_format = {
        "avi": "video/x-msvideo",
        "mpegts": "video/mp2t",
        "mpeg": "video/mpeg",
        "asf": "video/x-ms-wmv",
    }
    for name in names:
        if name in by_format:
            return by_format[name]
    return _MIME_BY_SUFFIX.get(suffix, "application/octet-stream")


def probe(path: str | os.PathLike[str], *, verify_decode: bool = True) -> MediaInfo:
    """Read a recording's metadata. Raises :class:`MediaError` for anything that is not a
    playable video. With ``verify_decode`` the first video frame is decoded too, so a file
    whose header is fine but whose picture data is missing is refused."""
    file = Path(path)
    size, mtime = _stat(file)
    with _open(file) as container:
        video = _video_stream(container, file)
        codec_ctx = video.codec_context
        width = int(codec_ctx.width or 0)
        height = int(codec_ctx.height or 0)
        if width <= 0 or height <= 0:
            raise MediaError(
                f"{file.name} has a video track without a picture size; it looks broken.",
                damaged=True,
            )
        duration = _duration(container, video)
        if duration is None:
            duration = _duration_by_demuxing(container, video)
        if duration is None or duration <= 0:
            raise MediaError(f"{file.name} has no playable video frames; it looks broken or "
                             "empty.", damaged=True)
        if set(container.format.name.split(",")) & {"mov", "mp4"}:
            _check_mp4_boxes(file, size)
        first_frame = _first_frame(container, video, file) if verify_decode else None
        tags = _all_tags(container, video)
        recorded, source = _recorded_at(tags, mtime)
        rate = video.average_rate or video.guessed_rate
        rotation = int(getattr(first_frame, "rotation", 0) or 0) if first_frame is not None else 0
        fmt_name = container.format.name
        brand = str(container.metadata.get("major_brand", ""))
        return MediaInfo(
            duration_sec=duration,
            width=width,
            height=height,
            codec=str(codec_ctx.name),
            mime_type=mime_type_for(file, container=fmt_name, brand=brand),
            recorded_at=recorded.strftime("%Y-%m-%dT%H:%M:%SZ"),
            recorded_at_source=source,
            device_id=_device_id(tags),
            size_bytes=size,
            container=fmt_name,
            frame_rate=float(rate) if rate else None,
            has_audio=bool(container.streams.audio),
            rotation=rotation % 360,
        )


def thumbnail_jpeg(
    path: str | os.PathLike[str],
    *,
    at_fraction: float = 0.1,
    max_width: int = 320,
    quality: int = 4,
) -> bytes:
    """A JPEG of the frame shown at ``at_fraction`` of the clip's duration, at most
    ``max_width`` pixels wide (never upscaled), keeping the display aspect ratio.

    ``quality`` is FFmpeg's MJPEG quantiser scale (2 = best, 31 = worst).
    """
    if not 0.0 <= at_fraction < 1.0 or math.isnan(at_fraction):
        raise ValueError("at_fraction must be in [0, 1)")
    if max_width < 16:
        raise ValueError("max_width must be at least 16 pixels")
    file = Path(path)
    _stat(file)
    with _open(file) as container:
        video = _video_stream(container, file)
        duration = _duration(container, video) or 0.0
        frame = _frame_at(container, video, duration * at_fraction, file)
        width, height = _thumbnail_size(frame, video, max_width)
        return _encode_jpeg(frame, width, height, quality)


def frame_jpeg(frame: av.VideoFrame, max_width: int, *, quality: int = 5) -> bytes:
    """A decoded frame as a JPEG at most ``max_width`` wide (never upscaled), upright."""
    width = min(max_width, frame.width) & ~1
    height = max(2, round(width * frame.height / max(1, frame.width)) & ~1)
    return _encode_jpeg(frame, width, height, quality)


# --- internals -------------------------------------------------------------------------------


def _stat(file: Path) -> tuple[int, float]:
    try:
        st = file.stat()
    except FileNotFoundError:
        raise MediaError(f"{file} does not exist (was the card removed?).") from None
    except OSError as exc:
        raise MediaError(f"{file} cannot be read: {exc.strerror or exc}.") from None
    if not file.is_file():
        raise MediaError(f"{file} is not a file.")
    if st.st_size == 0:
        raise MediaError(f"{file.name} is empty (0 bytes); it is not a recording.")
    return st.st_size, st.st_mtime


@contextmanager
def _open(file: Path) -> Iterator[av.container.InputContainer]:
    try:
        container = av.open(str(file), mode="r")
    except av.error.InvalidDataError:
        if _looks_like_a_recording(file):
            raise MediaError(
                f"{file.name} is damaged: it starts like a recording but cannot be opened as "
                "a video (its index is missing or broken; was the copy or the recording cut "
                "short?).", damaged=True,
            ) from None
        raise MediaError(
            f"{file.name} is not a video this app can read: it is damaged or another kind "
            "of file."
        ) from None
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"{file.name} cannot be opened as a video: {_reason(exc)}.") from None
    try:
        yield container
    except av.error.FFmpegError as exc:
        raise MediaError(f"{file.name} is broken: {_reason(exc)}.", damaged=True) from None
    finally:
        container.close()


# the first bytes of the containers recordings come in (ISO BMFF/QuickTime boxes, Matroska's
# EBML header, AVI's RIFF): a file that starts like one but does not open is a damaged recording
_BOX_TYPES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")


def _looks_like_a_recording(file: Path) -> bool:
    try:
        with file.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return (head[4:8] in _BOX_TYPES or head.startswith(b"\x1a\x45\xdf\xa3")
            or (head.startswith(b"RIFF") and head[8:12] == b"AVI "))


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).rstrip(".")


def _video_stream(container: av.container.InputContainer, file: Path) -> av.VideoStream:
    names = set(container.format.name.split(","))
    if not names & _VIDEO_CONTAINERS:
        # FFmpeg "opens" text (tty demuxer), still images and raw streams too: not recordings.
        raise MediaError(
            f"{file.name} is not a video recording (it looks like: "
            f"{container.format.long_name or container.format.name})."
        )
    streams = [s for s in container.streams.video if not _is_attached_picture(s)]
    if not streams:
        kind = "an audio file" if container.streams.audio else "not a video"
        raise MediaError(f"{file.name} has no video track ({kind}).")
    # The main track: the largest picture (cameras add small preview tracks).
    return max(streams, key=lambda s: (s.codec_context.width or 0) * (s.codec_context.height or 0))


def _is_attached_picture(stream: av.VideoStream) -> bool:
    # Cover art in MP4/MKV shows up as a one-frame "video" stream with the attached_pic disposition.
    disposition = getattr(stream, "disposition", None)
    try:
        return bool(disposition is not None and disposition & av.stream.Disposition.attached_pic)
    except (AttributeError, TypeError):
        return False


def _check_mp4_boxes(file: Path, size: int) -> None:
    """Refuse an MP4/MOV whose top-level boxes run past the end of the file: a truncated copy
    (card pulled while copying, recording cut by a flat battery). FFmpeg opens such a file
    happily when its index comes first ("faststart") and only fails at the missing frames.
    Reads a few 8-16 byte box headers, nothing else."""
    offset = 0
    try:
        with file.open("rb") as fh:
            while offset < size:
                fh.seek(offset)
                header = fh.read(16)
                if len(header) < 8:
                    break  # trailing padding shorter than a box header
                box_size = int.from_bytes(header[:4], "big")
                if box_size == 1 and len(header) == 16:
                    box_size = int.from_bytes(header[8:16], "big")
                elif box_size == 0:
                    return  # "to the end of the file"
                if box_size < 8:
                    return  # not a box structure we understand: leave it to FFmpeg
                if offset + box_size > size:
                    kind = header[4:8].decode("latin-1")
                    raise MediaError(
                        f"{file.name} is incomplete: its '{kind}' data runs past the end of the "
                        f"file ({offset + box_size - size} bytes missing). Was the copy or the "
                        "recording cut short?", damaged=True,
                    )
                offset += box_size
    except OSError as exc:
        raise MediaError(f"{file.name} cannot be read: {exc.strerror or exc}.") from None


def _duration(container: av.container.InputContainer, video: av.VideoStream) -> float | None:
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    if container.duration:
        return container.duration / av.time_base
    tag = _tag_value(video.metadata, "duration")  # Matroska writes "HH:MM:SS.nnnnnnnnn"
    if tag:
        match = re.fullmatch(r"(\d+):(\d{2}):(\d{2}(?:\.\d+)?)", tag.strip())
        if match:
            h, m, s = match.groups()
            return int(h) * 3600 + int(m) * 60 + float(s)
    return None


def _duration_by_demuxing(
    container: av.container.InputContainer, video: av.VideoStream
) -> float | None:
    """Last resort for files without a duration in their headers: read packet times only."""
    if video.time_base is None:
        return None
    start: int | None = None
    end: int | None = None
    for packet in container.demux(video):
        if packet.pts is None:
            continue
        start = packet.pts if start is None else min(start, packet.pts)
        stop = packet.pts + (packet.duration or 0)
        end = stop if end is None else max(end, stop)
    if start is None or end is None:
        return None
    container.seek(0)
    return float((end - start) * video.time_base)


def _first_frame(
    container: av.container.InputContainer, video: av.VideoStream, file: Path
) -> av.VideoFrame:
    try:
        for frame in container.decode(video):
            return frame
    except av.error.FFmpegError as exc:
        raise MediaError(
            f"{file.name} is broken: its first picture cannot be decoded ({_reason(exc)}).",
            damaged=True,
        ) from None
    raise MediaError(f"{file.name} is broken: it contains no decodable picture.", damaged=True)


def _frame_at(
    container: av.container.InputContainer, video: av.VideoStream, seconds: float, file: Path
) -> av.VideoFrame:
    """The frame on screen at ``seconds``: seek to the key frame before, decode forward."""
    time_base = video.time_base or Fraction(1, 1000)
    start = video.start_time or 0
    target_pts = start + int(seconds / time_base)
    if target_pts > start:
        try:
            container.seek(target_pts, stream=video, backward=True, any_frame=False)
        except av.error.FFmpegError:
            container.seek(0)
    best: av.VideoFrame | None = None
    try:
        for frame in container.decode(video):
            if frame.pts is None:
                best = best or frame
                continue
            if frame.pts > target_pts and best is not None:
                break
            best = frame
            if frame.pts == target_pts:
                break
    except av.error.FFmpegError as exc:
        if best is None:
            raise MediaError(
                f"{file.name} is broken: no picture could be decoded ({_reason(exc)})."
            ) from None
    if best is None:
        raise MediaError(f"{file.name} is broken: it contains no decodable picture.")
    return best


def _thumbnail_size(frame: av.VideoFrame, video: av.VideoStream, max_width: int) -> tuple[int, int]:
    width, height = frame.width, frame.height
    sar = video.codec_context.sample_aspect_ratio or video.sample_aspect_ratio
    display_w = float(width * sar) if sar else float(width)
    if getattr(frame, "rotation", 0) % 180 != 0:
        display_w, height = float(height), round(display_w)
    scale = min(1.0, max_width / display_w)
    out_w = max(2, round(display_w * scale / 2) * 2)
    out_h = max(2, round(height * scale / 2) * 2)
    return out_w, out_h


# Counter-clockwise turns (the display matrix's sense) as FFmpeg filters.
_TURNS = {90: (("transpose", "cclock"),), 180: (("hflip", ""), ("vflip", "")),
          270: (("transpose", "clock"),)}


def _rotate(frame: av.VideoFrame, rotation: int) -> av.VideoFrame:
    """``frame`` turned counter-clockwise by ``rotation`` degrees (FFmpeg's own filters)."""
    graph = av.filter.Graph()
    source = graph.add_buffer(
        width=frame.width, height=frame.height, format=frame.format,
        time_base=Fraction(1, 25),
    )
    last = source
    for name, arg in _TURNS[rotation]:
        node = graph.add(name, arg) if arg else graph.add(name)
        last.link_to(node)
        last = node
    last.link_to(graph.add("buffersink"))
    graph.configure()
    graph.push(frame)
    turned = graph.pull()
    assert isinstance(turned, av.VideoFrame)
    return turned


def _encode_jpeg(frame: av.VideoFrame, width: int, height: int, quality: int) -> bytes:
    rotation = int(getattr(frame, "rotation", 0) or 0) % 360
    rgb = frame
    if rotation:
        # Turn the picture as a player would (display matrix) before scaling.
        rgb = _rotate(frame, rotation)
    scaled = rgb.reformat(width=width, height=height, format="yuvj420p", interpolation="AREA")
    encoder = av.CodecContext.create("mjpeg", "w")
    assert isinstance(encoder, av.VideoCodecContext)
    encoder.width = width
    encoder.height = height
    encoder.pix_fmt = "yuvj420p"
    encoder.time_base = Fraction(1, 25)
    # A fixed quantiser (as FFmpeg's -q:v), not a bit-rate target. qmin = qmax pins it: PyAV
    # frames carry no per-frame quality, so the QSCALE flag alone would always give q=2.
    q = max(2, min(31, int(quality)))
    encoder.qmin = q
    encoder.qmax = q
    scaled.pts = 0
    scaled.time_base = encoder.time_base
    data = b"".join(bytes(p) for p in encoder.encode(scaled))
    data += b"".join(bytes(p) for p in encoder.encode(None))
    if not data.startswith(b"\xff\xd8"):
        raise MediaError("the thumbnail could not be encoded as JPEG.")
    return data


def _all_tags(container: av.container.InputContainer, video: av.VideoStream) -> dict[str, str]:
    """Container tags, then the video track's (container wins), keys lower-cased."""
    tags: dict[str, str] = {}
    for source in (video.metadata, container.metadata):
        for key, value in source.items():
            if value:
                tags[str(key).lower()] = str(value)
    return tags


def _tag_value(tags: Mapping[str, str], name: str) -> str | None:
    for key, value in tags.items():
        if key.lower() == name:
            return value
    return None


def parse_tag_time(text: str) -> datetime | None:
    """A tag's date/time as an aware UTC datetime; ``None`` when it is not a usable time.

    Times without a zone are UTC (FFmpeg and MP4 ``creation_time`` are UTC by definition).
    """
    value = text.strip()
    if not value:
        return None
    value = re.sub(r"^(\d{4}):(\d{2}):(\d{2})", r"\1-\2-\3", value)  # EXIF style 2024:05:01 …
    value = value.replace(" UTC", "Z").replace(" ", "T", 1) if "T" not in value else value
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # fromisoformat accepts at most 6 fraction digits: drop the rest (Matroska writes 9).
    value = re.sub(r"(\.\d{6})\d+", r"\1", value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = datetime.strptime(value[:10], "%Y-%m-%d")
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    if parsed < _EARLIEST_PLAUSIBLE or parsed > datetime.now(UTC) + _FUTURE_SLACK:
        return None
    return parsed.replace(microsecond=0)


def _recorded_at(tags: Mapping[str, str], mtime: float) -> tuple[datetime, RecordedAtSource]:
    for name in _TIME_TAGS:
        text = tags.get(name)
        if text:
            parsed = parse_tag_time(text)
            if parsed is not None:
                return parsed, "container"
    return datetime.fromtimestamp(int(mtime), UTC), "file_mtime"


def _device_id(tags: Mapping[str, str]) -> str | None:
    for name in _COMMENT_TAGS:
        text = tags.get(name)
        if text:
            match = _DEVICE_IN_TEXT.search(text)
            if match:
                return match.group(1)
    for name in _DEVICE_TAGS:
        text = tags.get(name, "").strip()
        if text:
            return text[:128]
    return None
