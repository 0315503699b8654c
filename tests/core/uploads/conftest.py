"""Fixtures for the upload engine tests: a signed-in API client on the session's local stack,
the strict S3 proxy in front of its moto server, engines with test-sized parts, real videos."""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import boto3
import numpy as np
import pytest

from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
from medispecs_desktop.core.config import Settings
from medispecs_desktop.core.uploads.awake import SleepInhibitor
from medispecs_desktop.core.uploads.engine import EngineOptions, UploadEngine
from medispecs_desktop.core.uploads.store import QueueStore
from tests.support.strict_s3_proxy import StrictS3Proxy

MIB = 1024 * 1024
# S3's (and moto's) 5 MiB minimum part applies: tests use 5 MiB parts and ~12-16 MB files
TEST_OPTIONS = EngineOptions(
    min_part_size=5 * MIB,
    backoff_attempts=4,
    probe_interval=0.05,
    source_check_interval=0.05,
    # the record waits for the thumbnail sent beside the bytes until it is there, however
    # loaded the machine (a test of the bound sets its own)
    thumbnail_wait=60.0,
)


def stack_settings(info: dict[str, Any], **kw: Any) -> Settings:
    return Settings(
        api_url=info["apiUrl"],
        region=info["region"],
        user_pool_id=info["userPoolId"],
        client_id=info["clientId"],
        cognito_endpoint=info["awsEndpoint"],
        **kw,
    )


def signed_in_api(info: dict[str, Any], username: str, password: str) -> tuple[ApiClient, str]:
    settings = stack_settings(info)
    auth = CognitoAuth(settings, MemoryTokenStore())
    user = auth.sign_in(username, password)
    return ApiClient(settings, auth), user.sub


@pytest.fixture(scope="session")
def demo_api(local_stack: dict[str, Any]) -> tuple[ApiClient, str]:
    return signed_in_api(local_stack, local_stack["username"], local_stack["password"])


@pytest.fixture(scope="session")
def s3(local_stack: dict[str, Any]) -> Any:
    return boto3.client(
        "s3", endpoint_url=local_stack["awsEndpoint"], region_name=local_stack["region"],
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )


@pytest.fixture
def proxy(local_stack: dict[str, Any]) -> Iterator[StrictS3Proxy]:
    with StrictS3Proxy(local_stack["awsEndpoint"]) as p:
        yield p


class NoSleep:
    """Injected sleep: records the backoff delays instead of waiting for real."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def no_sleep() -> NoSleep:
    return NoSleep()


@pytest.fixture
def make_engine(
    tmp_path: Path, demo_api: tuple[ApiClient, str], local_stack: dict[str, Any],
    proxy: StrictS3Proxy, no_sleep: NoSleep,
) -> Iterator[Callable[..., UploadEngine]]:
    engines: list[UploadEngine] = []

    def factory(*, options: EngineOptions = TEST_OPTIONS, db: Path | None = None,
                api: Any = None, user_id: str | None = None, awake: Any = None,
                username: str | None = None, thumbnail: Any = None,
                **kw: Any) -> UploadEngine:
        client, sub = demo_api
        store = QueueStore(db or tmp_path / "queue.sqlite3")
        engine = UploadEngine(
            store, api or client, user_id or sub,
            settings=stack_settings(local_stack, **kw),
            options=options, sleep=no_sleep, rng=random.Random(7),
            url_rewriter=proxy.rewrite,
            sleep_inhibitor=awake or SleepInhibitor(enabled=False),
            username=username, thumbnail=thumbnail,
        )
        engines.append(engine)
        return engine

    yield factory
    for engine in engines:
        engine.stop(timeout=10)
        engine.store.close()


def write_raw_video(path: Path, megabytes: float, *, seed: int = 0) -> Path:
    """A real (decodable) Matroska video of about ``megabytes`` MB: raw 320x240 frames of noise,
    so it is big without slow encoding. Each seed gives different content."""
    rng = np.random.default_rng(seed)
    frame_bytes = 320 * 240 * 3 // 2
    frames = max(2, int(megabytes * 1_000_000 // frame_bytes))
    with av.open(str(path), mode="w", format="matroska") as container:
        stream = container.add_stream("rawvideo", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.time_base = Fraction(1, 25)
        for i in range(frames):
            img = rng.integers(0, 255, size=(240, 320, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def big_video(tmp_path: Path) -> Callable[..., Path]:
    def factory(name: str = "big.mkv", megabytes: float = 12, seed: int | None = None) -> Path:
        return write_raw_video(tmp_path / name, megabytes,
                               seed=seed if seed is not None else zlib.crc32(name.encode()))

    return factory

