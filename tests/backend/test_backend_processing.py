"""The processing package's parts against a real moto server: the ranged-GET file PyAV reads
from S3, the probe's failure reasons, and the import that must not need PyAV (the API
function's zip has none)."""

from __future__ import annotations

import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from medispecs_desktop.backend.processing import media
from medispecs_desktop.backend.processing.s3io import ObjectChangedError, S3RangeFile

BUCKET = "medispecs-videos"


def _put(moto_server: Any, data: bytes) -> tuple[str, str]:
    key = f"videos/u-{uuid.uuid4().hex[:8]}/v_{uuid.uuid4().hex}.mp4"
    etag = moto_server.s3.put_object(Bucket=BUCKET, Key=key, Body=data)["ETag"]
    return key, str(etag)


def test_range_file_reads_any_byte_with_bounded_memory(moto_server: Any) -> None:
    rng = random.Random(15)
    data = rng.randbytes(300_000)
    key, etag = _put(moto_server, data)
    f = S3RangeFile(lambda: moto_server.s3, BUCKET, key, size=len(data), etag=etag,
                    block_bytes=16_384, cached_blocks=3)
    for _ in range(200):
        pos = rng.randrange(len(data) + 10)
        n = rng.randrange(1, 50_000)
        f.seek(pos)
        assert f.read(n) == data[pos:pos + n]
        assert len(f._blocks) <= 3  # never more than the bounded cache
    f.seek(-5, 2)
    assert f.read() == data[-5:] and f.tell() == len(data)
    assert f.read(10) == b""


def test_range_file_refuses_bytes_of_a_newer_upload(moto_server: Any) -> None:
    key, etag = _put(moto_server, b"a" * 50_000)
    f = S3RangeFile(lambda: moto_server.s3, BUCKET, key, size=50_000, etag=etag,
                    block_bytes=10_000)
    assert f.read(10) == b"a" * 10
    moto_server.s3.put_object(Bucket=BUCKET, Key=key, Body=b"b" * 50_000)  # re-uploaded
    f.seek(40_000)
    with pytest.raises(ObjectChangedError):
        f.read(10)


def test_probe_streams_a_real_clip_from_s3(moto_server: Any, make_video: Any) -> None:
    clip: Path = make_video("r.mp4", seconds=2.0, width=160, height=120, fps=10, seed=7)
    data = clip.read_bytes()
    key, etag = _put(moto_server, data)
    f = S3RangeFile(lambda: moto_server.s3, BUCKET, key, size=len(data), etag=etag,
                    block_bytes=4096)
    info = media.probe(f, len(data))
    assert (info.width, info.height, info.codec) == (160, 120, "h264")
    assert info.duration_sec == pytest.approx(2.0, abs=0.11)
    assert info.frame_rate == pytest.approx(10.0)
    assert media.jpeg_size(media.thumbnail_jpeg(f, info)) == (160, 120)  # never enlarged


@pytest.mark.parametrize(("cut", "kind"), [(0.5, "truncated"), (0.95, "truncated")])
def test_a_cut_off_upload_is_called_truncated(make_video: Any, cut: float, kind: str) -> None:
    import io

    data = make_video("c.mp4", seconds=2.0, seed=3).read_bytes()
    part = data[: int(len(data) * cut)]
    with pytest.raises(media.MediaError) as err:
        media.probe(io.BytesIO(part), len(part))
    assert err.value.kind == kind
    assert err.value.reason == "the file ends early: the upload was cut off before its end"


def test_processing_imports_without_pyav() -> None:
    """The API function's zip has no PyAV: importing the processing package (and its handler)
    must not load it; only probing does."""
    code = ("import sys; sys.modules['av'] = None\n"
            "import medispecs_desktop.backend.processing.handler as h\n"
            "import medispecs_desktop.backend.trash\n"
            "assert callable(h.lambda_handler)\n"
            "print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
