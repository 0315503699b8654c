"""A real S3 (moto's server over HTTP) and a playback-URL provider for the player tests."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config


@dataclass
class Url:
    url: str
    expires_at: float


def moto_s3(bucket: str) -> Iterator[tuple[Any, str]]:
    """Yield ``(s3 client, endpoint)`` of a fresh moto server holding ``bucket``."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4"),
    )
    client.create_bucket(Bucket=bucket)
    try:
        yield client, endpoint
    finally:
        server.stop()


class Provider:
    """Signs real GET URLs for one object; counts calls; can fail on demand."""

    def __init__(self, client: Any, key: str, lifetime: float = 3600.0,
                 clock: Callable[[], float] = time.time, bucket: str = "player-test") -> None:
        self.client, self.key, self.lifetime, self.clock = client, key, lifetime, clock
        self.bucket = bucket
        self.calls = 0
        self.fail: BaseException | None = None
        self.first_url: str | None = None

    def __call__(self, video_id: str) -> Url:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        if self.calls == 1 and self.first_url is not None:
            return Url(self.first_url, self.clock() + self.lifetime)
        url = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self.key}, ExpiresIn=3600
        )
        return Url(url, self.clock() + self.lifetime)


def player_tasks() -> Iterator[Any]:
    """A TaskRunner whose ``controllers`` list is shut down with it (use with ``yield from``
    in a fixture that depends on ``qtbot``)."""
    from medispecs_desktop.ui.tasks import TaskRunner

    runner = TaskRunner()
    runner.controllers = []  # type: ignore[attr-defined]
    yield runner
    for controller in runner.controllers:  # type: ignore[attr-defined]
        controller.shutdown()
    runner.shutdown()


def show_numbered(qtbot: Any, tasks: Any, controller: Any) -> tuple[Any, list[int]]:
    """A shown, muted PlayerWidget over ``controller`` (shut down with ``tasks``) and the list
    of the numbers of the frames it shows (numbered clips, tests/support/numbered_clips)."""
    from medispecs_desktop.ui.player import PlayerWidget
    from tests.support.numbered_clips import read_qimage

    tasks.controllers.append(controller)
    widget = PlayerWidget(controller)
    qtbot.addWidget(widget)
    widget.resize(800, 480)
    widget.show()
    qtbot.waitExposed(widget)
    controller.audio.setMuted(True)
    shown: list[int] = []
    sink = controller.video_sink
    assert sink is not None
    sink.videoFrameChanged.connect(
        lambda f: shown.append(read_qimage(f.toImage())) if f.isValid() else None)
    return widget, shown


def open_numbered(qtbot: Any, tasks: Any, client: Any, bucket: str, key: str,
                  **kw: Any) -> tuple[Any, Any, list[int]]:
    """A shown PlayerWidget paused on a numbered clip (tests/support/numbered_clips), its
    frame index built; returns (controller, widget, numbers of the frames shown so far)."""
    from medispecs_desktop.core.models import Video
    from medispecs_desktop.ui.player import PlayerController

    controller = PlayerController(Provider(client, key, bucket=bucket), tasks, **kw)
    widget, shown = show_numbered(qtbot, tasks, controller)
    video_id = "v_" + key.rsplit("/v_", 1)[-1].split(".")[0].replace(".", "_")
    video = Video.from_api({"videoId": video_id, "title": "Numbered", "status": "ready",
                            "recordedAt": "2025-11-03T14:30:00Z"})
    with qtbot.waitSignal(controller.firstFrame, timeout=15_000):
        controller.open(video, autoplay=False)
    if "index_loader" not in kw:
        qtbot.waitUntil(lambda: controller.frame_index.index is not None, timeout=15_000)
    return controller, widget, shown


def moto_s3_with_clip(bucket: str, key: str, folder: Any, frames: int = 300, gop: int = 12
                      ) -> Iterator[tuple[Any, str]]:
    """:func:`moto_s3` holding one numbered 30 fps clip of ``frames`` frames at ``key``, a
    keyframe every ``gop`` frames."""
    from fractions import Fraction

    from tests.support.numbered_clips import make_numbered_clip

    for client, endpoint in moto_s3(bucket):
        path = folder / "clip.mp4"
        make_numbered_clip(path, frames=frames, fps=Fraction(30), gop=gop)
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType="video/mp4")
        yield client, endpoint


def signed_in_view(qtbot: Any, local_stack: dict[str, Any], tasks: Any
                   ) -> Iterator[tuple[Any, Any, Any, Any]]:
    """The app's PlayerView on the local stack, signed in as the demo user: yields
    ``(view, ctx, api, video)`` with one of the stack's own seeded playable recordings."""
    from PySide6.QtCore import QObject, Signal

    from medispecs_desktop.core.api import ApiClient
    from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
    from medispecs_desktop.core.config import Paths, Settings
    from medispecs_desktop.ui.player import PlayerView

    class Ctx(QObject):
        signed_in = Signal(object)
        signed_out = Signal()

    settings = Settings(api_url=local_stack["apiUrl"], region=local_stack["region"],
                        user_pool_id=local_stack["userPoolId"], client_id=local_stack["clientId"],
                        cognito_endpoint=local_stack["awsEndpoint"])
    auth = CognitoAuth(settings, MemoryTokenStore())
    user = auth.sign_in(local_stack["username"], local_stack["password"])
    ctx: Any = Ctx()
    ctx.paths, ctx.tasks, ctx.user = Paths.default().ensure(), tasks, None
    with ApiClient(settings, auth) as api:
        ctx.api = api
        view = PlayerView(ctx)
        qtbot.addWidget(view)
        view.resize(1000, 560)
        view.show()
        tasks.controllers.append(view.controller)
        view.controller.audio.setMuted(True)
        ctx.signed_in.emit(user)
        video = next(v for v in api.iter_videos()
                     if v.has_bytes and v.duration_sec and v.device_id == "d_demo_glasses")
        yield view, ctx, api, video


def go_to(qtbot: Any, controller: Any, shown: list[int], frame: int) -> None:
    """Seek to ``frame`` of a numbered clip and wait until it is on screen."""
    index = controller.frame_index.index
    assert index is not None
    controller.seek(index.seek_ms(frame))
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] == frame, timeout=5_000)
