"""Real sample recordings made with PyAV: demo data for the local stack and test media.

``make_video`` writes a short clip whose content, duration, size, codec and container
creation time are known, so tests can check what the app reads back from it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

CONTAINER_FOR_SUFFIX = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


def make_video(
    path: Path,
    *,
    seconds: float = 2.0,
    width: int = 320,
    height: int = 240,
    fps: int = 25,
    codec: str = "libx264",
    creation_time: datetime | None = None,
    device_id: str | None = None,
    seed: int = 0,
    audio: bool = False,
) -> Path:
    """Write a real video clip to ``path`` (container chosen by suffix) and return the path.

    Each frame is a moving gradient with the frame number encoded as a bright bar, so frames
    differ (frame stepping is observable) and the file compresses to a few KB a second.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = CONTAINER_FOR_SUFFIX.get(path.suffix.lower(), "mp4")
    frames = max(1, round(seconds * fps))
    with av.open(str(path), mode="w", format=fmt) as container:
        if creation_time is not None:
            container.metadata["creation_time"] = (
                creation_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
            )
        if device_id:
            container.metadata["comment"] = f"device_id={device_id}"
        stream = container.add_stream(codec, rate=fps)
        if not isinstance(stream, av.VideoStream):
            raise ValueError(f"{codec} is not a video codec")
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "tune": "zerolatency"}
        astream: av.AudioStream | None = None
        if audio:
            astream = container.add_stream("aac", rate=48000)
            if not isinstance(astream, av.AudioStream):
                raise ValueError("aac is not an audio codec")
        rng = np.random.default_rng(seed)
        base = rng.integers(0, 255, size=3)
        xs = np.linspace(0, 255, width, dtype=np.float32)[None, :]
        ys = np.linspace(0, 255, height, dtype=np.float32)[:, None]
        for i in range(frames):
            img = np.empty((height, width, 3), dtype=np.uint8)
            img[..., 0] = ((xs + i * 4 + base[0]) % 256).astype(np.uint8)
            img[..., 1] = ((ys + i * 2 + base[1]) % 256).astype(np.uint8)
            img[..., 2] = np.uint8((base[2] + i * 8) % 256)
            bar = max(1, int(width * (i + 1) / frames))
            img[: max(2, height // 12), :bar, :] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if astream is not None:
            samples = int(48000 * seconds)
            t = np.arange(samples, dtype=np.float32) / 48000
            tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            chunk = 1024
            for start in range(0, samples, chunk):
                part = tone[start : start + chunk]
                aframe = av.AudioFrame.from_ndarray(part[None, :], format="fltp", layout="mono")
                aframe.sample_rate = 48000
                aframe.pts = start
                for packet in astream.encode(aframe):
                    container.mux(packet)
            for packet in astream.encode():
                container.mux(packet)
    return path


def make_demo_set(folder: Path) -> list[tuple[Path, datetime, str]]:
    """Three short clips for the demo user: (path, recordedAt, title)."""
    now = datetime.now(UTC).replace(microsecond=0)
    specs = [
        ("Ward round - bed 12", 0, 3.0, "libx264"),
        ("Wound dressing review", 1, 2.0, "libx264"),
        ("Physiotherapy session", 3, 4.0, "mpeg4"),
    ]
    out = []
    for index, (title, days_ago, seconds, codec) in enumerate(specs):
        recorded = now.replace(hour=9 + index, minute=15, second=0)
        recorded = recorded.fromtimestamp(recorded.timestamp() - days_ago * 86400, UTC)
        path = make_video(
            folder / f"demo_{index + 1}.mp4",
            seconds=seconds,
            codec=codec,
            creation_time=recorded,
            device_id="d_demo_glasses",
            seed=index,
        )
        out.append((path, recorded, title))
    return out
