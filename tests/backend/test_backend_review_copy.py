"""The review copy (issue 15): a recording the desktop player cannot play smoothly (here
MPEG-2 video) gets an H.264/AAC copy made by the processing function, and the playback URL
serves it; the original object stays byte for byte what was uploaded. A recording the player
plays needs none."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.processing import review_key
from medispecs_desktop.backend.processing.handler import build_processor
from medispecs_desktop.backend.processing.media import probe
from tests.backend.conftest import BUCKET


def console_upload(api: Any, data: bytes) -> dict[str, Any]:
    video_id = "v_" + uuid.uuid4().hex
    status, grant = api.call("GET", f"/videos/{video_id}/upload-url",
                             query={"contentType": "video/mp4"})
    assert status == 200, grant
    assert requests.put(grant["uploadUrl"], data=data, headers=grant["headers"],
                        timeout=60).status_code == 200
    return api.create(videoId=video_id, title="Review me")


def played(api: Any, video_id: str) -> bytes:
    status, grant = api.call("GET", f"/videos/{video_id}/playback-url")
    assert status == 200, grant
    got = requests.get(grant["playbackUrl"], timeout=60)
    assert got.status_code == 200
    return got.content


def test_an_mpeg2_recording_plays_from_an_h264_review_copy(
        api: Any, backend_config: BackendConfig, moto_server: Any,
        make_video: Callable[..., Path], clip_seed: Callable[[], int]) -> None:
    original = make_video("dvd.mp4", seconds=2.0, width=320, height=240, fps=10,
                          codec="mpeg2video", seed=clip_seed()).read_bytes()
    created = console_upload(api, original)
    outcome = build_processor(backend_config).processor.process(created["s3Key"])
    assert outcome.kind == "ready", outcome.detail
    _status, record = api.call("GET", f"/videos/{created['videoId']}")
    assert (record["status"], record["codec"]) == ("ready", "mpeg2video")
    assert (record["reviewCopy"], record["reviewReason"]) == ("made", "codec mpeg2video")

    copy = played(api, created["videoId"])
    info = probe(io.BytesIO(copy), len(copy))
    assert (info.codec, info.pixel_format) == ("h264", "yuv420p")
    assert (info.width, info.height) == (320, 240)
    assert info.duration_sec == pytest.approx(2.0, abs=0.15)
    # the original is untouched
    kept = moto_server.s3.get_object(Bucket=BUCKET, Key=created["s3Key"])["Body"].read()
    assert kept == original

    # deleted forever: the copy goes with the recording (frames are PHI)
    assert api.call("DELETE", f"/videos/{created['videoId']}")[0] == 200
    assert api.call("DELETE", f"/trash/{created['videoId']}")[0] == 200
    listed = moto_server.s3.list_object_versions(
        Bucket=BUCKET, Prefix=review_key(api.user, created["videoId"]))
    assert not listed.get("Versions") and not listed.get("DeleteMarkers")


def test_an_h264_recording_needs_no_review_copy(
        api: Any, backend_config: BackendConfig,
        make_video: Callable[..., Path], clip_seed: Callable[[], int]) -> None:
    original = make_video("glasses.mp4", seconds=1.0, width=160, height=120, fps=10,
                          seed=clip_seed()).read_bytes()
    created = console_upload(api, original)
    assert build_processor(backend_config).processor.process(created["s3Key"]).kind == "ready"
    _status, record = api.call("GET", f"/videos/{created['videoId']}")
    assert record["reviewCopy"] == "not_needed" and "reviewReason" not in record
    assert played(api, created["videoId"]) == original
