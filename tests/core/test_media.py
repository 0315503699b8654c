"""core.media against real clips written with PyAV (local.samples.make_video)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from medispecs_desktop.core.errors import MediSpecsError
from medispecs_desktop.core.media import (
    MediaError,
    mime_type_for,
    parse_tag_time,
    probe,
    thumbnail_jpeg,
)
from medispecs_desktop.core.media import _device_id as device_id_from_tags

MakeVideo = Callable[..., Path]
RECORDED = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)


def decode_jpeg(data: bytes) -> np.ndarray:
    """Decode JPEG bytes with FFmpeg's own decoder; return an RGB array."""
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    decoder = av.CodecContext.create("mjpeg", "r")
    frames = []
    for packet in decoder.parse(data) + decoder.parse(None):
        frames.extend(decoder.decode(packet))
    frames.extend(decoder.decode(None))
    assert len(frames) == 1
    return frames[0].to_ndarray(format="rgb24")


@pytest.mark.parametrize(
    ("name", "codec", "seconds", "width", "height", "fps", "mime"),
    [
        ("GLS_0001.mp4", "libx264", 2.0, 320, 240, 25, "video/mp4"),
        ("GLS_0002.MOV", "mpeg4", 1.2, 176, 144, 30, "video/quicktime"),
        ("GLS_0003.mkv", "libx264", 1.0, 640, 360, 24, "video/x-matroska"),
    ],
)
def test_probe_reads_what_the_file_was_made_with(
    make_video: MakeVideo, name: str, codec: str, seconds: float, width: int, height: int,
    fps: int, mime: str,
) -> None:
    path = make_video(name, seconds=seconds, width=width, height=height, fps=fps, codec=codec,
                      creation_time=RECORDED, device_id="glasses-0042")
    info = probe(path)
    assert abs(info.duration_sec - seconds) <= 1.0 / fps + 1e-6
    assert (info.width, info.height) == (width, height)
    assert info.codec == {"libx264": "h264", "mpeg4": "mpeg4"}[codec]
    assert info.mime_type == mime
    assert info.recorded_at == "2025-03-04T05:06:07Z"
    assert info.recorded_at_source == "container"
    assert info.recorded_at_datetime == RECORDED
    assert info.device_id == "glasses-0042"
    assert info.size_bytes == path.stat().st_size > 0
    assert info.frame_rate == pytest.approx(fps)
    assert info.has_audio is False
    fields = info.api_fields()
    assert fields["recordedAt"] == "2025-03-04T05:06:07Z"
    assert fields["fileSizeBytes"] == path.stat().st_size
    assert fields["deviceId"] == "glasses-0042"
    assert fields["mimeType"] == mime
    assert fields["width"] == width and fields["height"] == height


def test_probe_with_audio_track(make_video: MakeVideo) -> None:
    info = probe(make_video("with_sound.mp4", seconds=1.0, audio=True))
    assert info.has_audio is True
    assert info.codec == "h264"
    assert info.device_id is None
    assert "deviceId" not in info.api_fields()


def test_recorded_at_falls_back_to_file_mtime_without_a_tag(make_video: MakeVideo) -> None:
    path = make_video("untagged.mp4", seconds=0.5)
    stamp = datetime(2024, 11, 2, 23, 59, 58, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    info = probe(path)
    assert info.recorded_at_source == "file_mtime"
    assert info.recorded_at == "2024-11-02T23:59:58Z"


def test_implausible_container_time_falls_back_to_mtime(make_video: MakeVideo) -> None:
    # A camera whose clock was never set: 1970.
    path = make_video("unset_clock.mp4", seconds=0.5,
                      creation_time=datetime(1970, 1, 1, 0, 0, 5, tzinfo=UTC))
    stamp = datetime(2023, 6, 1, 8, 0, 0, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    info = probe(path)
    assert (info.recorded_at, info.recorded_at_source) == ("2023-06-01T08:00:00Z", "file_mtime")


def test_truncated_mp4_is_refused_clearly(make_video: MakeVideo, tmp_path: Path) -> None:
    good = make_video("whole.mp4", seconds=2.0)
    broken = tmp_path / "cut.mp4"
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(MediaError) as err:
        probe(broken)
    assert "cut.mp4" in str(err.value)
    assert isinstance(err.value, MediSpecsError) and err.value.code == "media"
    with pytest.raises(MediaError):
        thumbnail_jpeg(broken)


def test_header_only_file_is_refused(make_video: MakeVideo, tmp_path: Path) -> None:
    # MKV keeps its header first: cut just after it, the header is fine but no picture is there.
    good = make_video("whole.mkv", seconds=2.0)
    data = good.read_bytes()
    cluster = data.find(b"\x1f\x43\xb6\x75")  # first Matroska Cluster element
    assert cluster > 0
    broken = tmp_path / "header_only.mkv"
    broken.write_bytes(data[:cluster])
    with pytest.raises(MediaError, match=r"header_only\.mkv"):
        probe(broken)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("notes.txt", b"Patient handover notes\n" * 50, "not a video"),
        ("fake.mp4", b"\x00\x01garbage" * 100, "not a video"),
        ("empty.mp4", b"", "empty"),
    ],
)
def test_non_video_files_are_refused(tmp_path: Path, name: str, content: bytes, words: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MediaError, match=words) as refused:
        probe(path)
    assert "FFmpeg" not in str(refused.value)  # the message is shown to clinicians


def test_audio_only_file_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "dictation.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000)
        tone = np.zeros((1, 1024), dtype=np.float32)
        for i in range(20):
            frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
            frame.sample_rate = 48000
            frame.pts = i * 1024
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with pytest.raises(MediaError, match="no video track"):
        probe(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="does not exist"):
        probe(tmp_path / "gone.mp4")
    with pytest.raises(MediaError, match="not a file"):
        probe(tmp_path)


@pytest.mark.parametrize("codec", ["libx264", "mpeg4"])
def test_thumbnail_is_a_scaled_jpeg_of_the_exact_frame(make_video: MakeVideo, codec: str) -> None:
    frames, fps, width, height = 50, 25, 320, 240
    path = make_video(f"t_{codec}.mp4", seconds=frames / fps, width=width, height=height,
                      fps=fps, codec=codec)
    for fraction in (0.1, 0.5, 0.9):
        data = thumbnail_jpeg(path, at_fraction=fraction, max_width=width)
        pixels = decode_jpeg(data)
        assert pixels.shape == (height, width, 3)
        assert pixels.std() > 20  # a real picture, not one flat colour
        # make_video draws a white bar whose length says which frame this is: (i + 1) / frames.
        row = pixels[height // 24, :, :].min(axis=1)
        bar = int((row > 200).sum())
        expected_index = round(fraction * frames)
        assert abs(bar - width * (expected_index + 1) / frames) <= width / frames + 3, fraction


def test_thumbnail_scales_down_keeping_aspect_and_never_up(make_video: MakeVideo) -> None:
    path = make_video("wide.mp4", seconds=0.4, width=640, height=360)
    small = decode_jpeg(thumbnail_jpeg(path, max_width=320))
    assert small.shape[:2] == (180, 320)
    full = decode_jpeg(thumbnail_jpeg(path, max_width=4096))
    assert full.shape[:2] == (360, 640)
    low = thumbnail_jpeg(path, max_width=640, quality=20)
    high = thumbnail_jpeg(path, max_width=640, quality=2)
    assert len(high) > len(low)


def test_thumbnail_rejects_bad_arguments(make_video: MakeVideo) -> None:
    path = make_video("args.mp4", seconds=0.2)
    with pytest.raises(ValueError):
        thumbnail_jpeg(path, at_fraction=1.5)
    with pytest.raises(ValueError):
        thumbnail_jpeg(path, max_width=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-04T05:06:07.000000Z", datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2025-03-04 05:06:07", datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2025-03-04T07:06:07+0200", datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2025-03-04T07:06:07+02:00", datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2025:03:04 05:06:07", datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("2025-03-04T05:06:07.123456789Z", datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)),
        ("1904-01-01T00:00:00Z", None),
        ("2999-01-01T00:00:00Z", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_parse_tag_time(text: str, expected: datetime | None) -> None:
    assert parse_tag_time(text) == expected


def test_device_id_from_tags() -> None:
    assert device_id_from_tags({"comment": "device_id=GL-7; fw=1.2"}) == "GL-7"
    assert device_id_from_tags({"description": "Device ID: ABC123"}) == "ABC123"
    assert device_id_from_tags({"com.apple.quicktime.model": "iPhone 15"}) == "iPhone 15"
    assert device_id_from_tags({"comment": "ward round", "device": "glasses-9"}) == "glasses-9"
    assert device_id_from_tags({"comment": "ward round"}) is None


def test_mime_type_for_containers() -> None:
    assert mime_type_for("a.mp4", container="mov,mp4,m4a,3gp,3g2,mj2", brand="isom") == "video/mp4"
    assert mime_type_for("a.mp4", container="mov,mp4,m4a,3gp,3g2,mj2", brand="qt  ") == (
        "video/quicktime"
    )
    assert mime_type_for("a.webm", container="matroska,webm") == "video/webm"
    assert mime_type_for("a.avi", container="avi") == "video/x-msvideo"
    assert mime_type_for("a.MTS", container="mpegts") == "video/mp2t"


def test_frame_time_base_sanity(make_video: MakeVideo) -> None:
    # The duration of a one-frame clip is one frame, never zero (a zero would be refused).
    info = probe(make_video("one.mp4", seconds=1 / 25, fps=25))
    assert info.duration_sec == pytest.approx(float(Fraction(1, 25)), abs=1e-3)


def _set_display_matrix(path: Path, matrix: tuple[int, ...]) -> None:
    """Write a track display matrix into an MP4's tkhd box, as phones do for portrait clips."""
    import struct

    data = bytearray(path.read_bytes())
    at = data.find(b"tkhd")
    version = data[at + 4]
    start = at + 8 + (28 if version == 1 else 20) + 16  # times/ids/duration, reserved..volume
    assert struct.unpack(">9i", data[start:start + 36])[0] == 0x10000  # identity before
    data[start:start + 36] = struct.pack(">9i", *matrix)
    path.write_bytes(bytes(data))


def test_portrait_clip_thumbnail_is_turned_like_a_player_shows_it(tmp_path: Path) -> None:
    path = tmp_path / "portrait.mp4"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(10):
            img = np.zeros((240, 320, 3), np.uint8)
            img[:, :160] = 255  # left half white
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    # 90 degrees clockwise for display (the matrix an iPhone writes for portrait).
    _set_display_matrix(path, (0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000))
    info = probe(path)
    assert info.rotation == 270 and (info.width, info.height) == (320, 240)
    pixels = decode_jpeg(thumbnail_jpeg(path, max_width=120))
    assert pixels.shape[:2] == (160, 120)  # portrait, scaled to 120 wide
    # Turned clockwise: the white left half is now the top half.
    assert pixels[:70].mean() > 240 and pixels[-70:].mean() < 15


def test_truncated_faststart_mp4_is_refused(tmp_path: Path) -> None:
    # With the index first ("faststart") FFmpeg opens a cut file and decodes its first frames;
    # probe must still see that the media data ends early.
    path = tmp_path / "faststart.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(25):
            img = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # index first
    assert probe(path).duration_sec == pytest.approx(1.0)
    cut = tmp_path / "faststart_cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(MediaError, match=r"incomplete: its 'mdat' data runs past the end"):
        probe(cut)
    # Trailing bytes after the last box (some cameras pad) are fine.
    padded = tmp_path / "padded.mp4"
    padded.write_bytes(data + b"\0" * 4)
    assert probe(padded).width == 160
