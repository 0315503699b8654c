"""Clips whose every frame carries its own number, readable back from a decoded picture.

The number is drawn as a row of black/white blocks (one bit each, most significant first) on
a mid-grey background, big enough to survive H.264 at any quality; :func:`read_number` decodes
it from an RGB picture (a numpy array, or a ``QImage`` through :func:`read_qimage`). Frame
times are exact rationals: constant 30 and 29.97 fps, and a variable-frame-rate clip whose
frame durations follow a seeded pattern (the kind a phone or smart glasses write when the
light changes).
"""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

BITS = 12  # up to 4095 frames
BLOCK = 16  # pixels per bit (square)
WIDTH = BLOCK * (BITS + 2)  # a block of margin either side
HEIGHT = 96


def _picture(number: int) -> np.ndarray:
    img = np.full((HEIGHT, WIDTH, 3), 128, dtype=np.uint8)
    for bit in range(BITS):
        on = (number >> (BITS - 1 - bit)) & 1
        x = BLOCK * (bit + 1)
        img[BLOCK: 2 * BLOCK, x: x + BLOCK, :] = 255 if on else 0
    # a moving stripe so consecutive frames really differ elsewhere too
    img[3 * BLOCK:, (number * 3) % WIDTH, :] = 255
    return img


def read_number(rgb: np.ndarray) -> int:
    """The frame number drawn by :func:`_picture` (``rgb``: H×W×3, any size it was scaled to)."""
    height, width = rgb.shape[:2]
    sx, sy = width / WIDTH, height / HEIGHT
    y = int((BLOCK * 1.5) * sy)
    number = 0
    for bit in range(BITS):
        x = int((BLOCK * (bit + 1.5)) * sx)
        number = (number << 1) | int(int(rgb[y, x, :3].astype(int).mean()) > 128)
    return number


def read_qimage(image: Any) -> int:
    """:func:`read_number` of a ``QImage`` (converted to RGB888)."""
    from PySide6.QtGui import QImage

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = rgb.width(), rgb.height()
    data = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=rgb.sizeInBytes())
    rows = data.reshape(height, rgb.bytesPerLine())[:, : width * 3].reshape(height, width, 3)
    return read_number(rows)


def vfr_durations(frames: int, seed: int = 7) -> list[Fraction]:
    """Frame durations in seconds for a variable-frame-rate clip (16.7 to 66.7 ms)."""
    rng = random.Random(seed)
    choices = [Fraction(1, 60), Fraction(1, 30), Fraction(1001, 30000), Fraction(1, 24),
               Fraction(1, 20), Fraction(1, 15)]
    return [rng.choice(choices) for _ in range(frames)]


def make_numbered_clip(path: Path, *, frames: int, fps: Fraction | None = None,
                       durations: list[Fraction] | None = None, gop: int = 12,
                       scale: int = 1) -> list[Fraction]:
    """Write an H.264 MP4 of ``frames`` numbered frames; return each frame's start (seconds).

    Constant rate: ``fps``; variable rate: ``durations`` (one per frame). ``gop`` frames per
    group of pictures, so seeks land between keyframes as in real recordings. ``scale``
    enlarges the pictures (6: 1344×576, for figures on pictures of a realistic size).
    """
    if (fps is None) == (durations is None):
        raise ValueError("give fps or durations")
    if durations is None:
        assert fps is not None
        durations = [1 / fps] * frames
    starts: list[Fraction] = []
    t = Fraction(0)
    for d in durations[:frames]:
        starts.append(t)
        t += d
    time_base = Fraction(1, 90_000)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format="mp4") as container:
        rate = fps if fps is not None else Fraction(30)
        stream = container.add_stream("libx264", rate=rate)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = WIDTH * scale, HEIGHT * scale, "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        stream.options = {"preset": "ultrafast", "crf": "18", "g": str(gop),
                          "keyint_min": str(gop), "bf": "0"}
        for i, start in enumerate(starts):
            picture = _picture(i)
            if scale > 1:
                picture = np.repeat(np.repeat(picture, scale, axis=0), scale, axis=1)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = int(start / time_base)
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return starts
