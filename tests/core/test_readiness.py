"""Rows not yet ready become ready by themselves (issue 15): ``core.readiness.ReadinessWatch``
polls ``GET /videos/{id}`` of the recordings shown ``uploaded``/``processing``, with backoff,
until the server's processing has finished them.

Real parts: the session's local stack (its pipeline is off, so the test decides when the
server's processing runs: the real processing handler, against the stack's own S3 and table),
the real API client, a real clip. Only the watch's clock is the test's, so the backoff is
checked without waiting."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.processing.handler import build_processor
from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.models import Video
from medispecs_desktop.core.readiness import ReadinessWatch
from tests.support.stack import stack_session


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counting:
    """The API client's ``get_video``, counting its calls."""

    def __init__(self, api: ApiClient) -> None:
        self.api, self.calls = api, 0

    def __call__(self, video_id: str) -> Video:
        self.calls += 1
        return self.api.get_video(video_id)


@pytest.fixture
def api(local_stack: dict[str, Any], tmp_path: Path) -> ApiClient:
    return stack_session(local_stack, tmp_path / "queue.db").api


def console_upload(api: ApiClient, data: bytes) -> Video:
    """Bytes and a record without media metadata, as the guide's console flow makes them."""
    video_id = "v_" + uuid.uuid4().hex
    grant = api.upload_url(video_id, content_type="video/mp4", size=len(data))
    put = requests.put(grant["uploadUrl"], data=data, headers=grant["headers"], timeout=60)
    assert put.status_code == 200, put.text
    return api.create_video({"videoId": video_id, "title": "Just uploaded",
                             "recordedAt": "2026-01-02T03:04:05Z"})


def process(info: dict[str, Any], key: str) -> str:
    """The server's processing of the object at ``key`` (the stack's handler, run now)."""
    config = BackendConfig.from_env({"TABLE_MAIN": info["table"], "S3_BUCKET": info["bucket"],
                                     "S3_REGION": info["region"]})
    config = replace(config, endpoint_url=info["awsEndpoint"], aws_access_key_id="local",
                     aws_secret_access_key="local", s3_addressing_style="path")
    return build_processor(config).processor.process(key).kind


def test_an_uploaded_row_turns_ready_with_its_poster_without_a_refresh(
        local_stack: dict[str, Any], api: ApiClient,
        make_video: Callable[..., Path], clip_seed: Callable[[], int]) -> None:
    clip = make_video("new.mp4", seconds=1.0, width=160, height=120, fps=10, seed=clip_seed())
    row = console_upload(api, clip.read_bytes())
    assert row.status == "uploaded" and row.thumbnail_url is None
    clock, get = Clock(), Counting(api)
    watch = ReadinessWatch(get, clock=clock, first_delay=2.0, factor=2.0, max_delay=8.0)
    watch.track([row])
    assert watch.next_due_in() == 2.0
    assert watch.poll_due() == [] and get.calls == 0  # not due yet: no request

    # still uploaded: read again later and later (2, 4, 8, 8 s)
    waits = []
    for _ in range(4):
        due_in = watch.next_due_in()
        assert due_in is not None
        waits.append(due_in)
        clock.now += due_in
        assert watch.poll_due() == []
    assert waits == [2.0, 4.0, 8.0, 8.0] and get.calls == 4

    assert process(local_stack, str(row.s3_key)) == "ready"  # the server finishes processing
    clock.now += 8.0
    [ready] = watch.poll_due()
    assert ready.video_id == row.video_id and ready.status == "ready"
    assert ready.thumbnail_url and ready.duration_sec == pytest.approx(1.0, abs=0.1)
    poster = requests.get(ready.thumbnail_url, timeout=30)
    assert poster.status_code == 200 and poster.content[:2] == b"\xff\xd8"
    assert watch.watched() == [] and watch.next_due_in() is None  # nothing more to poll


def test_ready_rows_cost_nothing_and_deleted_or_old_ones_are_dropped(
        local_stack: dict[str, Any], api: ApiClient,
        make_video: Callable[..., Path], clip_seed: Callable[[], int]) -> None:
    clip = make_video("gone.mp4", seconds=1.0, width=160, height=120, fps=10, seed=clip_seed())
    gone = console_upload(api, clip.read_bytes())
    slow = console_upload(api, clip.read_bytes() + b"\0")  # other bytes: its own recording
    clock, get = Clock(), Counting(api)
    watch = ReadinessWatch(get, clock=clock, first_delay=1.0, factor=2.0, max_delay=4.0,
                           give_up_after=10.0)
    watch.track([gone, slow, replace(gone, video_id="v_" + uuid.uuid4().hex, status="ready")])
    assert watch.watched() == sorted([gone.video_id, slow.video_id])

    api.delete_video(gone.video_id)  # moved to the Trash: 404 for GET /videos/{id}
    clock.now += 1.0
    assert watch.poll_due() == []
    assert watch.watched() == [slow.video_id]
    # never processed: given up after give_up_after, the next listing shows it as it is
    while watch.next_due_in() is not None:
        clock.now += watch.next_due_in() or 0.0
        watch.poll_due()
    assert clock.now - 1000.0 >= 10.0 and get.calls <= 6
    api.delete_video(slow.video_id)
