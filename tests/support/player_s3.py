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
