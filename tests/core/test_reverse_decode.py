"""Backward decoding of real numbered clips (tests/support/numbered_clips): every frame comes
back newest first, across keyframes and across the segments of a GOP longer than the cap."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from medispecs_desktop.core.reverse_decode import (
    DecodedFrame,
    ReverseCancelled,
    ReverseDecodeError,
    ReverseDecoder,
    output_size,
)
from tests.support.numbered_clips import HEIGHT, WIDTH, make_numbered_clip, read_number

FPS = Fraction(30)
YUV = WIDTH * HEIGHT * 3 // 2  # one picture (4:2:0), decoded or converted
FRAMES = 330
GOP = 300  # keyframes at 0 and 300: one group of pictures is 300 frames long


@pytest.fixture(scope="module")
def long_gop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reverse") / "long_gop.mp4"
    make_numbered_clip(path, frames=FRAMES, fps=FPS, gop=GOP)
    return path


def number(frame: DecodedFrame) -> int:
    """The number burnt into ``frame`` (its luma: the blocks are black or white on grey)."""
    luma = np.frombuffer(frame.planes[0], dtype=np.uint8)[: frame.strides[0] * frame.height]
    y = luma.reshape(frame.height, frame.strides[0])[:, : frame.width]
    return read_number(np.repeat(y[:, :, None], 3, axis=2))


def start_us(frame: int) -> int:
    return round(Fraction(frame) / FPS * 1_000_000)


def play_back(decoder: ReverseDecoder, from_frame: int, stride: int = 1
              ) -> tuple[list[int], list[int]]:
    """The numbers of every frame the decoder hands back from ``from_frame`` (excluded) to
    the start, and the bytes of each call."""
    numbers: list[int] = []
    sizes: list[int] = []
    limit: int | None = start_us(from_frame)
    skip = 0
    while limit is not None:
        chunk = decoder.frames_before(limit, stride=stride, skip=skip)
        numbers += [number(f) for f in chunk.frames]
        sizes.append(chunk.nbytes)
        limit, skip = chunk.next_limit_us, chunk.next_skip
    return numbers, sizes


def test_every_frame_comes_back_newest_first_across_a_keyframe(long_gop: Path) -> None:
    with ReverseDecoder(long_gop) as decoder:
        numbers, sizes = play_back(decoder, 320)
        assert numbers == list(range(319, -1, -1))
        # the whole long GOP fits in the default cap: each frame decoded about once
        assert decoder.decoded <= 330 + 40
        assert len(sizes) <= 4


def test_a_small_cap_decodes_a_long_gop_in_segments_within_the_cap(long_gop: Path) -> None:
    decoder = ReverseDecoder(long_gop, max_bytes=40 * (YUV + YUV))
    with decoder:
        assert decoder.max_frames() == 40
        numbers, sizes = play_back(decoder, 280)
        assert numbers == list(range(279, -1, -1))  # exact: no frame lost at the segment seams
        assert max(sizes) <= decoder.max_bytes
        assert decoder.peak_held_bytes <= decoder.max_bytes  # never more, whatever the GOP
        assert len(sizes) >= 280 // 40  # segments: the GOP was decoded again for earlier parts


def test_stride_keeps_every_nth_frame_evenly_across_calls(long_gop: Path) -> None:
    decoder = ReverseDecoder(long_gop, max_bytes=10 * (YUV + 4 * YUV))
    with decoder:
        numbers, _sizes = play_back(decoder, 321, stride=4)
    assert numbers == list(range(320, -1, -4))  # 0 is a multiple of 4


def test_the_first_frame_is_always_kept_at_the_end(long_gop: Path) -> None:
    with ReverseDecoder(long_gop) as decoder:
        numbers, _sizes = play_back(decoder, 300, stride=4)
    assert numbers == [*range(299, 0, -4), 0]


def test_pictures_are_scaled_down_to_the_display_width(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    make_numbered_clip(path, frames=20, fps=FPS, gop=10)
    with ReverseDecoder(path.as_uri(), max_width=112) as decoder:  # a local copy's file URI
        chunk = decoder.frames_before(start_us(15))
    assert [number(f) for f in chunk.frames] == list(range(14, 9, -1))
    assert {(f.width, f.height) for f in chunk.frames} == {(112, 48)}
    assert chunk.frames[0].end_us == start_us(15) and chunk.frames[1].end_us == start_us(14)
    assert output_size(1920, 1080, 1280) == (1280, 720)


def test_at_the_start_there_is_nothing_before(long_gop: Path) -> None:
    with ReverseDecoder(long_gop) as decoder:
        chunk = decoder.frames_before(0)
        assert chunk.frames == () and chunk.next_limit_us is None


def test_cancel_stops_a_call(long_gop: Path) -> None:
    cancel = threading.Event()
    with ReverseDecoder(long_gop, cancel=cancel) as decoder:
        cancel.set()
        with pytest.raises(ReverseCancelled):
            decoder.frames_before(start_us(290))


def test_a_source_that_is_not_a_video_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_bytes(b"not a video at all" * 100)
    with pytest.raises(ReverseDecodeError) as err:
        ReverseDecoder(path).frames_before(1_000_000)
    assert "backwards" in str(err.value)
