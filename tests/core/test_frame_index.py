"""The frame index: real frame times read with PyAV, seek points inside each frame, the cache."""

from __future__ import annotations

import stat
from fractions import Fraction
from pathlib import Path

import pytest

from medispecs_desktop.core import frame_index as fi
from medispecs_desktop.core.frame_index import (
    FrameIndex,
    FrameIndexCache,
    FrameIndexError,
    read_frame_index,
)
from tests.support.numbered_clips import make_numbered_clip, vfr_durations


@pytest.mark.parametrize("fps", [Fraction(30), Fraction(30000, 1001), Fraction(25)])
def test_constant_rate_times_and_seek_points_inside_each_frame(tmp_path: Path,
                                                               fps: Fraction) -> None:
    starts = make_numbered_clip(tmp_path / "c.mp4", frames=90, fps=fps)
    index = read_frame_index(tmp_path / "c.mp4")
    assert len(index) == 90 and index.is_constant_rate
    assert abs(index.nominal_fps - float(fps)) < 1e-6
    for i, start in enumerate(starts):
        assert abs(index.starts_us[i] - float(start) * 1e6) <= 1
        seek = index.seek_ms(i)
        # strictly inside the display interval, away from both edges
        assert index.start_us(i) < seek * 1000 < index.frame_end_us(i)
        assert index.frame_at_ms(seek) == i
    # 33.333 ms at 30 fps: the old round(n*1000/fps) seek (33) lands in frame 0
    if fps == 30:
        assert index.frame_at_ms(33) == 0 and index.frame_at_ms(index.seek_ms(1)) == 1


def test_variable_rate_clip(tmp_path: Path) -> None:
    durations = vfr_durations(120)
    starts = make_numbered_clip(tmp_path / "vfr.mp4", frames=120, durations=durations)
    index = read_frame_index(str(tmp_path / "vfr.mp4"))
    assert not index.is_constant_rate
    assert [round(float(s) * 1e6) for s in starts] == list(index.starts_us)
    # the last frame's length is what the file says (the muxer's last sample duration)
    assert index.end_us > index.starts_us[-1]
    assert index.clamp(500) == 119 and index.clamp(-3) == 0
    assert all(index.frame_at_ms(index.seek_ms(i)) == i for i in range(120))


def test_times_are_relative_to_the_media_start() -> None:
    # a stream starting at 0.5 s (as Qt reports positions: from the media start)
    index = fi.frame_index_from_times([45_000, 48_000, 51_000], [3000, 3000, 3000],
                                      Fraction(1, 90_000), start_us=500_000)
    assert index.starts_us == (0, 33_333, 66_667) and index.end_us == 100_000


def test_reordered_duplicate_and_missing_durations() -> None:
    # decode order (B-frames) is sorted; a duplicate time is dropped; no last duration:
    # the last frame lasts as long as the one before
    index = fi.frame_index_from_times([0, 2, 1, 2, 3], [0, 0, 0, 0, 0], Fraction(1, 10))
    assert index.starts_us == (0, 100_000, 200_000, 300_000) and index.end_us == 400_000
    with pytest.raises(FrameIndexError):
        fi.frame_index_from_times([], [], Fraction(1, 10))
    with pytest.raises(FrameIndexError):
        FrameIndex((0, 0), 10)


def test_tiny_frames_still_get_a_seek_point() -> None:
    index = FrameIndex((0, 500, 1_000, 5_000), 6_000)  # 0.5 ms frames (2000 fps)
    assert index.seek_ms(0) == 0 and index.seek_ms(2) == 3 and index.seek_ms(3) == 5


def test_not_a_video_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(FrameIndexError, match="Could not read the frame times"):
        read_frame_index(bad)
    with pytest.raises(FrameIndexError):
        read_frame_index(tmp_path / "missing.mp4")


def test_cache_is_private_per_user_and_cleared(tmp_path: Path) -> None:
    make_numbered_clip(tmp_path / "c.mp4", frames=30, fps=Fraction(30))
    cache = FrameIndexCache(tmp_path / "cache", "user-a")
    key = cache.key_for("v_1", "sha-abc")
    assert cache.key_for("v_1", "sha-other") != key  # other bytes, other entry
    index = cache.load(key, tmp_path / "c.mp4")
    (tmp_path / "c.mp4").unlink()  # from now on only the cache can answer
    assert cache.load(key, tmp_path / "c.mp4") == index
    assert FrameIndexCache(tmp_path / "cache", "user-b").get(key) is None
    entry = cache.directory / key
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.directory.stat().st_mode) == 0o700
    assert "user-a" not in str(entry)  # no user id on disk
    entry.write_text("{broken", encoding="utf-8")
    assert cache.get(key) is None and not entry.exists()  # dropped, not a crash
    cache.put(key, index)
    fi.clear_all(tmp_path / "cache")
    assert not fi.frames_dir(tmp_path / "cache").exists()
