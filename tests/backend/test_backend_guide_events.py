"""The guide's four console test events (DESIGN §5) pass verbatim with DESIGN §8's outcomes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from medispecs_desktop.backend.handler import App

EVENT_1 = '{"requestContext":{"http":{"method":"GET","path":"/videos"}},"queryStringParameters":{"userId":"u_123"}}'  # noqa: E501
EVENT_2 = r'{"requestContext":{"http":{"method":"POST","path":"/videos"}},"body":"{\"userId\":\"u_123\",\"deviceId\":\"d_123\",\"title\":\"Morning Recording\",\"recordedAt\":\"2025-11-03T14:30:00Z\",\"durationSec\":120}"}'  # noqa: E501
EVENT_3 = '{"requestContext":{"http":{"method":"GET","path":"/videos/v_123/upload-url"}},"pathParameters":{"videoId":"v_123"},"queryStringParameters":{"userId":"u_123"}}'  # noqa: E501
EVENT_4 = '{"requestContext":{"http":{"method":"GET","path":"/videos/v_123/playback-url"}},"pathParameters":{"videoId":"v_123"},"queryStringParameters":{"userId":"u_123"}}'  # noqa: E501


@pytest.fixture(scope="module")
def console_app(make_app: Callable[..., App]) -> App:
    return make_app(allow_query_user_id=True)


def call(app: App, raw_event: str) -> tuple[int, Any, dict[str, str]]:
    resp = app(json.loads(raw_event), None)
    return resp["statusCode"], json.loads(resp["body"]), resp["headers"]


def test_guide_events_in_order(console_app: App) -> None:
    # Event 4 before anything exists: 404.
    status, body, _ = call(console_app, EVENT_4)
    assert status == 404 and body["error"]["code"] == "not_found"

    # Event 1: 200 list.
    status, body, headers = call(console_app, EVENT_1)
    assert status == 200
    assert set(body) == {"items", "nextCursor"}
    assert headers["Access-Control-Allow-Origin"] == "*"

    # Event 2: 201 with a generated videoId and status pending.
    status, created, _ = call(console_app, EVENT_2)
    assert status == 201, created
    assert created["videoId"].startswith("v_") and len(created["videoId"]) > 10
    assert created["status"] == "pending"
    assert created["userId"] == "u_123"
    assert created["recordedAt"] == "2025-11-03T14:30:00Z"
    assert created["durationSec"] == 120 and created["deviceId"] == "d_123"
    assert "PK" not in created and "SK" not in created and "entity" not in created

    status, listed, _ = call(console_app, EVENT_1)
    assert [v["videoId"] for v in listed["items"]] == [created["videoId"]]

    # Event 3: 200 with a PUT URL for v_123, no record needed.
    status, upload, _ = call(console_app, EVENT_3)
    assert status == 200, upload
    assert upload["videoId"] == "v_123" and upload["method"] == "PUT"
    assert upload["s3Key"] == "videos/u_123/v_123.mp4"
    data = b"\x00\x00\x00\x18ftypmp42 guide bytes" * 100
    put = requests.put(upload["uploadUrl"], data=data, headers=upload["headers"], timeout=30)
    assert put.status_code == 200, put.text

    # Event 4 with bytes but no record yet: still 404.
    status, body, _ = call(console_app, EVENT_4)
    assert status == 404

    # POST videoId v_123 (the guide's flow), then event 4: 200 with a working URL.
    create = json.loads(EVENT_2)
    create["body"] = json.dumps({**json.loads(create["body"]), "videoId": "v_123"})
    resp = console_app(create, None)
    assert resp["statusCode"] == 201
    record = json.loads(resp["body"])
    assert record["status"] == "uploaded" and record["fileSizeBytes"] == len(data)

    status, body, _ = call(console_app, EVENT_4)
    assert status == 200, body
    got = requests.get(body["playbackUrl"], timeout=30)
    assert got.status_code == 200 and got.content == data
    assert body["expiresIn"] == 600  # playback URLs live 10 minutes (PLAYBACK_URL_EXPIRY)

    # Event 3 again now that the bytes are confirmed: 409 already_uploaded.
    status, body, _ = call(console_app, EVENT_3)
    assert status == 409 and body["error"]["code"] == "already_uploaded"


def test_guide_events_refused_without_allow_flag(make_app: Callable[..., App]) -> None:
    app = make_app()  # allow_query_user_id defaults to False
    for raw in (EVENT_1, EVENT_2, EVENT_3, EVENT_4):
        status, body, headers = call(app, raw)
        assert status == 401
        assert body["error"]["code"] == "unauthorized"
        assert headers["Access-Control-Allow-Origin"] == "*"


def test_metadata_first_flow_promotes_pending(console_app: App) -> None:
    """Guide order: create metadata (pending) -> upload URL -> PUT -> playback promotes it."""
    status, created, _ = call(console_app, EVENT_2.replace("u_123", "u_456"))
    assert status == 201 and created["status"] == "pending"
    vid = created["videoId"]
    ev3 = EVENT_3.replace("v_123", vid).replace("u_123", "u_456")
    status, upload, _ = call(console_app, ev3)
    assert status == 200
    assert upload["s3Key"] == created["s3Key"]
    ev4 = EVENT_4.replace("v_123", vid).replace("u_123", "u_456")
    status, body, _ = call(console_app, ev4)
    assert status == 409 and body["error"]["code"] == "not_uploaded"
    r = requests.put(upload["uploadUrl"], data=b"x" * 1234, headers=upload["headers"], timeout=30)
    assert r.status_code == 200
    status, body, _ = call(console_app, ev4)
    assert status == 200
    get = json.loads(EVENT_1.replace("u_123", "u_456"))
    get["requestContext"]["http"]["path"] = f"/videos/{vid}"
    resp = console_app(get, None)
    video = json.loads(resp["body"])
    # Event 2 said durationSec but no thumbnail exists: uploaded, not ready.
    assert video["status"] == "uploaded" and video["fileSizeBytes"] == 1234
    assert video["version"] == 1  # confirming the bytes is the server's update, not an edit
