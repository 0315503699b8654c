"""A just-uploaded row turns ready by itself (issue 15): the library shows a recording the
server is still processing as "uploaded"; when processing finishes the row becomes "ready",
with its poster, without a refresh (core.readiness through ui/library/readiness.py).

Real parts: the session's local stack (pipeline off: the test runs the real processing handler
when it wants the server to finish), the real API client and the real library widget."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.processing.handler import build_processor
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.library import VIDEO_ROLE, LibraryWidget
from medispecs_desktop.ui.tasks import TaskRunner
from tests.support.stack import stack_session


@pytest.fixture
def tasks(qtbot: Any) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def _row_video(widget: LibraryWidget, video_id: str) -> Video | None:
    model = widget.model
    for row in range(model.rowCount()):
        video = model.index(row, 0).data(VIDEO_ROLE)
        if isinstance(video, Video) and video.video_id == video_id:
            return video
    return None


def test_a_processing_row_turns_ready_with_its_poster_without_a_refresh(
        qtbot: Any, tasks: TaskRunner, local_stack: dict[str, Any], tmp_path: Path,
        make_video: Callable[..., Path], clip_seed: Callable[[], int]) -> None:
    api = stack_session(local_stack, tmp_path / "queue.db").api
    data = make_video("row.mp4", seconds=1.0, width=160, height=120, fps=10,
                      seed=clip_seed()).read_bytes()
    video_id = "v_" + uuid.uuid4().hex
    grant = api.upload_url(video_id, content_type="video/mp4", size=len(data))
    assert requests.put(grant["uploadUrl"], data=data, headers=grant["headers"],
                        timeout=60).status_code == 200
    created = api.create_video({"videoId": video_id, "title": "Row that gets ready",
                                "recordedAt": "2031-01-01T00:00:00Z"})  # newest: page 1
    assert created.status == "uploaded"

    widget = LibraryWidget(api, tasks)
    qtbot.addWidget(widget)
    widget.readiness.watch.first_delay = 0.2  # the first look comes soon
    with qtbot.waitSignal(widget.model.pageLoaded, timeout=30_000):
        widget.start()
    shown = _row_video(widget, video_id)
    assert shown is not None and shown.status == "uploaded" and not shown.thumbnail_s3_key
    assert video_id in widget.readiness.watch.watched()

    config = BackendConfig.from_env({"TABLE_MAIN": local_stack["table"],
                                     "S3_BUCKET": local_stack["bucket"],
                                     "S3_REGION": local_stack["region"]})
    config = replace(config, endpoint_url=local_stack["awsEndpoint"],
                     aws_access_key_id="local", aws_secret_access_key="local",
                     s3_addressing_style="path")
    assert build_processor(config).processor.process(str(created.s3_key)).kind == "ready"

    with qtbot.waitSignal(widget.readiness.videoChanged, timeout=60_000,
                          check_params_cb=lambda v: v.video_id == video_id):
        pass  # the poll finds it (a failure guard only: the signal ends the wait)
    row = _row_video(widget, video_id)
    assert row is not None and row.status == "ready" and row.thumbnail_s3_key
    assert row.duration_sec is not None and abs(row.duration_sec - 1.0) < 0.1
    assert video_id not in widget.readiness.watch.watched()
    widget.shutdown()
    api.delete_video(video_id)
