"""Benchmark core.media: probe and thumbnail time per file (median over runs).

Run:  .venv/bin/python tests/benchmarks/bench_media.py [--runs 15] [--seconds 10]

Makes a few real clips (PyAV; several codecs and sizes) in a temporary folder, then times
``probe`` (with and without the first-frame decode check), ``thumbnail_jpeg`` and, for scale,
``core.cards.scan_card`` over all of them. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from medispecs_desktop.core.cards import scan_card
from medispecs_desktop.core.media import probe, thumbnail_jpeg
from medispecs_desktop.local.samples import make_video

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from a checkout: tests.support is importable
    sys.path.insert(0, str(ROOT))

from tests.support.timing import median_ms  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length")
    args = parser.parse_args()
    specs = [
        ("h264_320x240.mp4", "libx264", 320, 240),
        ("h264_1280x720.mp4", "libx264", 1280, 720),
        ("mpeg4_640x480.mov", "mpeg4", 640, 480),
        ("h264_1280x720.mkv", "libx264", 1280, 720),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        card = Path(tmp) / "CARD"
        files = []
        for name, codec, w, h in specs:
            files.append(make_video(card / "DCIM" / "100MEDIA" / name, seconds=args.seconds,
                                    width=w, height=h, codec=codec,
                                    creation_time=datetime(2025, 1, 1, tzinfo=UTC)))
        print(f"{args.seconds:g} s clips, median of {args.runs} runs (ms)")
        print(f"{'file':24} {'MB':>6} {'probe':>8} {'probe*':>8} {'thumb':>8}")
        for path in files:
            mb = path.stat().st_size / 1e6
            p = median_ms(functools.partial(probe, path), args.runs)
            q = median_ms(functools.partial(probe, path, verify_decode=False), args.runs)
            t = median_ms(functools.partial(thumbnail_jpeg, path), args.runs)
            print(f"{path.name:24} {mb:6.2f} {p:8.2f} {q:8.2f} {t:8.2f}")
        print("probe* = without the first-frame decode check")
        s = median_ms(lambda: scan_card(card), max(3, args.runs // 3))
        print(f"scan_card ({len(files)} clips, probe + fingerprint): {s:.1f} ms")


if __name__ == "__main__":
    main()
