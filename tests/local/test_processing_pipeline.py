"""The server-side processing pipeline on the embedded stack (issue 15): S3 ObjectCreated on
``videos/`` -> moto's SQS queue -> the stack's poller -> the real processing handler.

Uploads go through the setup guide's console flow only (upload-url, PUT of a real clip, POST
/videos with no media metadata): duration, resolution, thumbnail and preview sheet come from the
server alone. These tests run their own stack process with the pipeline on (the session stack
runs without it, see tests/conftest.py)."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
import requests
from botocore.config import Config

from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.processing.handler import EVENT_DELAY_SECONDS, build_processor
from medispecs_desktop.backend.processing.media import jpeg_size
from medispecs_desktop.local.processing import PROCESSING_QUEUE
from medispecs_desktop.local.stack import sign_in

FINISHED = ("ready", "error")
PROCESSING_BOUND_SECONDS = 60.0
"""A failure guard only: the tests wait for the record's status to change, never for time."""


@pytest.fixture(scope="module")
def pstack() -> Iterator[dict[str, Any]]:
    from medispecs_desktop.local.child import start_stack_process, stop_stack_process

    env = {**os.environ, "MEDISPECS_STACK_PROCESSING": "on"}
    proc, info = start_stack_process(["--no-samples"], env=env)
    try:
        user = info["users"][0]
        tokens = sign_in(info["awsEndpoint"], info["region"], info["clientId"],
                         user["username"], user["password"])
        info["idToken"] = tokens["IdToken"]
        info["sub"] = jwt.decode(tokens["IdToken"], options={"verify_signature": False})["sub"]
        yield info
    finally:
        stop_stack_process(proc)


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def _s3(info: dict[str, Any]) -> Any:
    return boto3.client("s3", endpoint_url=info["awsEndpoint"], region_name=info["region"],
                        aws_access_key_id="local", aws_secret_access_key="local",
                        config=Config(s3={"addressing_style": "path"}))


def _auth(info: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {info['idToken']}"}


def console_upload(http: requests.Session, info: dict[str, Any], data: bytes) -> str:
    """The guide's flow: GET upload-url, PUT the bytes, POST /videos with title and date
    only. Returns the videoId."""
    api, auth = info["apiUrl"], _auth(info)
    video_id = "v_" + uuid.uuid4().hex
    grant = http.get(f"{api}/videos/{video_id}/upload-url", headers=auth,
                     params={"contentType": "video/mp4"})
    assert grant.status_code == 200, grant.text
    g = grant.json()
    put = http.put(g["uploadUrl"], data=data, headers=g["headers"])
    assert put.status_code == 200, put.text
    created = http.post(f"{api}/videos", headers=auth, json={
        "videoId": video_id, "title": "Console upload", "recordedAt": "2026-03-04T05:06:07Z"})
    assert created.status_code == 201, created.text
    body = created.json()
    for name in ("durationSec", "width", "height", "thumbnailS3Key"):
        assert name not in body  # nothing came from a client
    return video_id


def wait_finished(http: requests.Session, info: dict[str, Any], video_id: str,
                  seen: list[str] | None = None) -> dict[str, Any]:
    """Poll GET /videos/{id} until the server finished processing it."""
    bound = time.monotonic() + PROCESSING_BOUND_SECONDS
    while True:
        got = http.get(f"{info['apiUrl']}/videos/{video_id}", headers=_auth(info))
        assert got.status_code == 200, got.text
        record: dict[str, Any] = got.json()
        if seen is not None and (not seen or seen[-1] != record["status"]):
            seen.append(record["status"])
        if record["status"] in FINISHED:
            return record
        assert time.monotonic() < bound, f"still {record['status']} after the bound"
        time.sleep(0.2)


def test_console_upload_becomes_ready_from_the_server_alone(
        pstack: dict[str, Any], http: requests.Session,
        make_video: Callable[..., Path], clip_seed: Callable[[], int]) -> None:
    clip = make_video("glasses.mp4", seconds=3.0, width=320, height=240, fps=25,
                      seed=clip_seed())
    video_id = console_upload(http, pstack, clip.read_bytes())
    seen: list[str] = []
    record = wait_finished(http, pstack, video_id, seen)
    assert record["status"] == "ready", record.get("statusReason")
    assert set(seen) <= {"uploaded", "processing", "ready"}
    assert record["durationSec"] == pytest.approx(3.0, abs=0.05)
    assert (record["width"], record["height"]) == (320, 240)
    assert record["codec"] == "h264"
    assert record["frameRate"] == pytest.approx(25.0)
    assert record["rotation"] == 0
    assert record["thumbnailS3Key"] == f"thumbnails/{pstack['sub']}/{video_id}.jpg"
    thumb = http.get(record["thumbnailUrl"])
    assert thumb.status_code == 200 and jpeg_size(thumb.content) == (320, 240)

    prefix = f"previews/{pstack['sub']}/{video_id}/"
    assert record["previewSheetS3Key"] == prefix + "sheet.jpg"
    index = http.get(record["previewIndexUrl"]).json()
    sheet = http.get(record["previewSheetUrl"]).content
    assert index["intervalSec"] == 1.0
    assert [t["t"] for t in index["tiles"]] == [0.0, 1.0, 2.0]
    assert jpeg_size(sheet) == (index["columns"] * index["tileWidth"],
                                index["rows"] * index["tileHeight"])
    assert (index["tileWidth"], index["tileHeight"]) == (160, 120)


def test_an_uploads_event_is_held_until_its_record_is_made_then_processed(
        pstack: dict[str, Any], http: requests.Session,
        make_video: Callable[..., Path], clip_seed: Callable[[], int]) -> None:
    """An upload's ObjectCreated event waits on the queue (``DelaySeconds``, as the template
    has it) while the client makes the record, instead of reaching the processing function at
    the moment the bytes complete, when there is no record yet (before: an invocation for
    nothing and a retry, and on the demo stack one running beside the completion and record
    requests). The recording is processed all the same."""
    sqs = boto3.client("sqs", endpoint_url=pstack["awsEndpoint"], region_name=pstack["region"],
                       aws_access_key_id="local", aws_secret_access_key="local")
    queue_url = sqs.get_queue_url(QueueName=PROCESSING_QUEUE)["QueueUrl"]

    def attribute(name: str) -> int:
        got = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[name])
        return int(got["Attributes"][name])

    assert attribute("DelaySeconds") == EVENT_DELAY_SECONDS
    bound = time.monotonic() + PROCESSING_BOUND_SECONDS
    while attribute("ApproximateNumberOfMessagesDelayed"):  # earlier tests' events go first
        assert time.monotonic() < bound
        time.sleep(0.1)
    clip = make_video("held.mp4", seconds=1.0, seed=clip_seed())
    api, auth = pstack["apiUrl"], _auth(pstack)
    video_id = "v_" + uuid.uuid4().hex
    grant = http.get(f"{api}/videos/{video_id}/upload-url", headers=auth,
                     params={"contentType": "video/mp4"}).json()
    put = http.put(grant["uploadUrl"], data=clip.read_bytes(), headers=grant["headers"])
    assert put.status_code == 200, put.text
    assert attribute("ApproximateNumberOfMessagesDelayed") == 1  # held, not yet processed
    created = http.post(f"{api}/videos", headers=auth, json={
        "videoId": video_id, "title": "Held", "recordedAt": "2026-03-04T05:06:07Z"})
    assert created.status_code == 201, created.text
    record = wait_finished(http, pstack, video_id)
    assert record["status"] == "ready", record.get("statusReason")
    sqs.close()

def test_truncated_upload_ends_in_error_with_its_reason(
        pstack: dict[str, Any], http: requests.Session,
        make_video: Callable[..., Path], clip_seed: Callable[[], int]) -> None:
    data = make_video("cut.mp4", seconds=2.0, seed=clip_seed()).read_bytes()
    video_id = console_upload(http, pstack, data[: len(data) * 2 // 3])
    record = wait_finished(http, pstack, video_id)
    assert record["status"] == "error"
    assert "ends early" in record["statusReason"]
    assert "thumbnailS3Key" not in record and "durationSec" not in record


def test_not_a_video_ends_in_error_unplayable(
        pstack: dict[str, Any], http: requests.Session) -> None:
    video_id = console_upload(http, pstack, b"this is a text file, not a recording\n" * 50)
    record = wait_finished(http, pstack, video_id)
    assert record["status"] == "error"
    assert record["statusReason"] == "not a video file FFmpeg can read"


def _processor(info: dict[str, Any]) -> Any:
    config = BackendConfig.from_env({"TABLE_MAIN": info["table"], "S3_BUCKET": info["bucket"],
                                     "S3_REGION": info["region"]})
    config = replace(config, endpoint_url=info["awsEndpoint"], aws_access_key_id="local",
                     aws_secret_access_key="local", s3_addressing_style="path")
    return build_processor(config)


def _sqs_event(info: dict[str, Any], key: str, etag: str) -> dict[str, Any]:
    body = {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": info["region"],
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": info["bucket"]},
               "object": {"key": key, "eTag": etag}}}]}
    return {"Records": [{"messageId": "m-" + uuid.uuid4().hex, "receiptHandle": "r",
                         "body": json.dumps(body), "attributes": {
                             "ApproximateReceiveCount": "1"},
                         "eventSource": "aws:sqs"}]}


def test_redelivered_event_changes_nothing(
        pstack: dict[str, Any], http: requests.Session,
        make_video: Callable[..., Path], clip_seed: Callable[[], int]) -> None:
    clip = make_video("again.mp4", seconds=2.0, seed=clip_seed())
    video_id = console_upload(http, pstack, clip.read_bytes())
    before = wait_finished(http, pstack, video_id)
    assert before["status"] == "ready"
    s3 = _s3(pstack)
    head = s3.head_object(Bucket=pstack["bucket"], Key=before["s3Key"])
    sheet_before = s3.head_object(Bucket=pstack["bucket"], Key=before["previewSheetS3Key"])
    event = _sqs_event(pstack, before["s3Key"], head["ETag"].strip('"'))
    app = _processor(pstack)
    for _ in range(2):  # the event delivered twice more (SQS is at-least-once)
        assert app(event, None) == {"batchItemFailures": []}
        outcome = app.handle_message(event["Records"][0]["body"])
        assert [o.kind for o in outcome] == ["skipped"]
    after = http.get(f"{pstack['apiUrl']}/videos/{video_id}", headers=_auth(pstack)).json()
    assert (after["version"], after["updatedAt"], after["processedAt"]) == (
        before["version"], before["updatedAt"], before["processedAt"])
    sheet_after = s3.head_object(Bucket=pstack["bucket"], Key=before["previewSheetS3Key"])
    assert sheet_after["ETag"] == sheet_before["ETag"]
    assert sheet_after["LastModified"] == sheet_before["LastModified"]


def test_event_for_an_object_without_record_is_retried_not_lost(
        pstack: dict[str, Any]) -> None:
    key = f"videos/{pstack['sub']}/v_{uuid.uuid4().hex}.mp4"
    event = _sqs_event(pstack, key, "0" * 32)
    result = _processor(pstack)(event, None)
    assert result == {"batchItemFailures": [
        {"itemIdentifier": event["Records"][0]["messageId"]}]}


def test_reupload_over_a_ready_recording_is_processed_without_going_back(
        pstack: dict[str, Any], http: requests.Session,
        make_video: Callable[..., Path], clip_seed: Callable[[], int]) -> None:
    """New bytes PUT to the same key (a console re-upload): the record stays ready throughout
    and ends with the new file's metadata."""
    first = make_video("first.mp4", seconds=2.0, width=320, height=240, seed=clip_seed())
    video_id = console_upload(http, pstack, first.read_bytes())
    before = wait_finished(http, pstack, video_id)
    assert before["status"] == "ready" and before["durationSec"] == pytest.approx(2.0, abs=0.05)
    second = make_video("second.mp4", seconds=4.0, width=160, height=120, seed=clip_seed())
    _s3(pstack).put_object(Bucket=pstack["bucket"], Key=before["s3Key"],
                           Body=second.read_bytes(), ContentType="video/mp4")
    bound = time.monotonic() + PROCESSING_BOUND_SECONDS
    statuses = set()
    while True:
        record = http.get(f"{pstack['apiUrl']}/videos/{video_id}", headers=_auth(pstack)).json()
        statuses.add(record["status"])
        if record["processedAt"] != before["processedAt"] or \
                record["durationSec"] != before["durationSec"]:
            break
        assert time.monotonic() < bound, "the re-upload was not processed"
        time.sleep(0.2)
    assert statuses == {"ready"}  # never back to processing or uploaded
    assert record["status"] == "ready"
    assert record["durationSec"] == pytest.approx(4.0, abs=0.05)
    assert (record["width"], record["height"]) == (160, 120)
    # the server's own update: the user-edit version stays, so no client's edit turns stale
    assert record["version"] == before["version"]
    assert record["updatedAt"] >= before["updatedAt"]
    # the poster the server made for the old bytes is made again for the new ones
    assert jpeg_size(http.get(record["thumbnailUrl"]).content) == (160, 120)
