"""System updates never bump the user-edit version (issue 15): the server's own writes to a
record - confirming the upload, processing it (status, media facts, poster, preview sheet) -
leave ``version`` as it was, so a client's edit made against the version it read is not refused
as stale because the server worked on the recording meanwhile."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.processing.handler import build_processor
from medispecs_desktop.backend.processing.pipeline import RetryLater

JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def console_upload(api: Any, data: bytes, **fields: Any) -> dict[str, Any]:
    """The guide's flow through the handler: upload-url, PUT of the bytes, POST /videos."""
    video_id = "v_" + uuid.uuid4().hex
    status, grant = api.call("GET", f"/videos/{video_id}/upload-url",
                             query={"contentType": "video/mp4"})
    assert status == 200, grant
    put = requests.put(grant["uploadUrl"], data=data, headers=grant["headers"], timeout=60)
    assert put.status_code == 200, put.text
    return api.create(videoId=video_id, title="Ward round", **fields)


@pytest.fixture
def clip(make_video: Callable[..., Path], clip_seed: Callable[[], int]) -> bytes:
    return make_video("ward.mp4", seconds=2.0, width=160, height=120, fps=10,
                      seed=clip_seed()).read_bytes()


def test_processing_between_a_get_and_a_title_edit_is_no_conflict(
        api: Any, backend_config: BackendConfig, clip: bytes) -> None:
    created = console_upload(api, clip)
    status, read = api.call("GET", f"/videos/{created['videoId']}")
    assert status == 200 and read["status"] == "uploaded"

    outcome = build_processor(backend_config).processor.process(read["s3Key"])
    assert outcome.kind == "ready"  # the server finished processing between GET and PATCH

    status, edited = api.call("PATCH", f"/videos/{read['videoId']}",
                              body={"version": read["version"], "title": "Ward round, bed 4"})
    assert status == 200, edited
    assert edited["title"] == "Ward round, bed 4"
    assert edited["version"] == read["version"] + 1
    # the server's results are kept beside the edit
    assert edited["status"] == "ready" and edited["durationSec"] == pytest.approx(2.0, abs=0.1)
    assert edited["previewSheetS3Key"] and edited["thumbnailS3Key"]


def test_confirming_and_processing_leave_the_version_alone(
        api: Any, backend_config: BackendConfig, clip: bytes) -> None:
    """A record created before its bytes (``pending``) is confirmed and processed by the
    server: the version a client read at creation stays current throughout."""
    video_id = "v_" + uuid.uuid4().hex
    created = api.create(videoId=video_id, sha256=hashlib.sha256(clip).hexdigest())
    assert created["status"] == "pending"
    status, grant = api.call("GET", f"/videos/{video_id}/upload-url",
                             query={"contentType": "video/mp4"})
    assert status == 200
    assert requests.put(grant["uploadUrl"], data=clip, headers=grant["headers"],
                        timeout=60).status_code == 200
    status, confirmed = api.call("GET", f"/videos/{video_id}")
    assert status == 200 and confirmed["status"] == "uploaded"
    assert build_processor(backend_config).processor.process(created["s3Key"]).kind == "ready"
    status, ready = api.call("GET", f"/videos/{video_id}")
    assert ready["status"] == "ready"
    assert ready["version"] == confirmed["version"] == created["version"]
    assert ready["updatedAt"] >= confirmed["updatedAt"]
    status, edited = api.call("PATCH", f"/videos/{video_id}",
                              body={"version": created["version"], "notes": "left eye"})
    assert status == 200, edited


def test_a_thumbnail_attached_after_processing_needs_no_fresh_version(
        api: Any, backend_config: BackendConfig, clip: bytes) -> None:
    """The uploader attaches its own poster with the version it got at creation, whatever the
    server did meanwhile; attaching it is no user edit (the version stays)."""
    created = console_upload(api, clip)
    video_id = created["videoId"]
    assert build_processor(backend_config).processor.process(created["s3Key"]).kind == "ready"
    status, grant = api.call("GET", f"/videos/{video_id}/thumbnail-upload-url")
    assert status == 200
    assert requests.put(grant["uploadUrl"], data=JPEG, headers=grant["headers"],
                        timeout=30).status_code == 200
    status, attached = api.call("PATCH", f"/videos/{video_id}",
                                body={"version": created["version"], "thumbnail": True})
    assert status == 200, attached
    assert attached["version"] == created["version"]
    assert attached["status"] == "ready"


def test_a_stale_title_edit_is_still_a_conflict(api: Any, clip: bytes) -> None:
    """User edits keep their optimistic lock: two edits from one version, the second loses."""
    created = console_upload(api, clip)
    path, version = f"/videos/{created['videoId']}", created["version"]
    assert api.call("PATCH", path, body={"version": version, "title": "first"})[0] == 200
    status, body = api.call("PATCH", path, body={"version": version, "title": "second"})
    assert status == 409 and body["error"]["code"] == "version_conflict"


def test_one_object_is_claimed_by_one_worker_at_a_time(
        api: Any, backend_config: BackendConfig, clip: bytes) -> None:
    """Without a version bump the claim is still exclusive: a second worker for the same
    bytes waits while the first one's claim is fresh."""
    created = console_upload(api, clip)
    processor = build_processor(backend_config).processor
    item = processor.store.get_video(api.user, created["videoId"])
    assert item is not None
    etag = processor.storage.head(created["s3Key"]).etag  # type: ignore[union-attr]
    processor._claim(item, str(etag))
    with pytest.raises(RetryLater):
        processor._claim(item, str(etag))
    with pytest.raises(RetryLater):
        processor.process(created["s3Key"])
