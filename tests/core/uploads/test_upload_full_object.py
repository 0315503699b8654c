"""S3 verifies every recording whole, at any size (DESIGN §8 "verified in cloud", revised).

The backend here is the real handler behind a real local gateway, with its own S3 (and
DynamoDB) calls going through the strict S3 proxy as well as the engine's part PUTs: the proxy
checks each part's CRC64NVME against its bytes and, at CompleteMultipartUpload, the whole
object's CRC64NVME against the combination of the parts' -- as S3 does and moto does not.

* a file larger than the old 2 GiB read-back limit (a 3 GiB sparse file) ends ``verified``; its
  bytes stream through the proxy's sink (checked, never held: moto would keep several copies
  in RAM) and its card is safe to erase;
* a part damaged on the way is refused, and the file is read and sent again once by itself;
* a wrong whole-file checksum is refused at completion, and the file is sent again once.
"""

from __future__ import annotations

import hashlib
import random
import resource
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
from medispecs_desktop.core.cards import CardClip, safe_to_erase, verify_in_cloud
from medispecs_desktop.core.config import Settings
from medispecs_desktop.core.errors import MediSpecsError
from medispecs_desktop.core.media import MediaInfo
from medispecs_desktop.core.uploads.awake import SleepInhibitor
from medispecs_desktop.core.uploads.engine import EngineOptions, UploadEngine
from medispecs_desktop.core.uploads.jobs import JobState
from medispecs_desktop.core.uploads.store import QueueStore
from tests.core.uploads.conftest import TEST_OPTIONS, NoSleep
from tests.core.uploads.test_upload_engine import file_sha256, settled
from tests.support.stack import proxied_gateway, stack_settings
from tests.support.strict_s3_proxy import StrictS3Proxy, crc_b64

MIB = 1024 * 1024
GIB = 1024 * MIB


@dataclass
class StrictStack:
    proxy: StrictS3Proxy
    api: ApiClient
    settings: Settings
    sub: str


@pytest.fixture
def strict_stack(local_stack: dict[str, Any], proxy: StrictS3Proxy) -> Iterator[StrictStack]:
    """The real handler, its S3 and DynamoDB calls through ``proxy``, behind a local gateway
    that checks the stack's Cognito tokens; signed in as one of the stack's own users."""
    info = local_stack
    with proxied_gateway(info, proxy.endpoint) as url:
        settings = stack_settings(info, api_url=url)
        account = info["users"][1]
        auth = CognitoAuth(settings, MemoryTokenStore())
        user = auth.sign_in(account["username"], account["password"])
        api = ApiClient(settings, auth)
        try:
            yield StrictStack(proxy, api, settings, user.sub)
        finally:
            api.close()


def fake_media(size: int) -> MediaInfo:
    return MediaInfo(duration_sec=3600.0, width=1920, height=1080, codec="h264",
                     mime_type="video/mp4", recorded_at="2025-06-01T10:00:00Z",
                     recorded_at_source="container", device_id=None, size_bytes=size)


def no_thumbnail(path: Path) -> bytes:
    raise MediSpecsError("a sparse test file has no picture")


def make_engine_on(stack: StrictStack, db: Path, *, api: Any = None,
                   options: EngineOptions = TEST_OPTIONS,
                   probe: Callable[[Path], Any] | None = None,
                   thumbnail: Callable[[Path], bytes] | None = None) -> UploadEngine:
    return UploadEngine(
        QueueStore(db), api or stack.api, stack.sub, settings=stack.settings,
        options=options, probe=probe, thumbnail=thumbnail, sleep=NoSleep(),
        rng=random.Random(7), sleep_inhibitor=SleepInhibitor(enabled=False),
    )


def rss_mib() -> float:
    """This process's resident memory now (engine, gateway, handler and proxy together)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / MIB


def zeros_sha256(size: int) -> str:
    h, block = hashlib.sha256(), bytes(MIB)
    for _ in range(size // MIB):
        h.update(block)
    h.update(bytes(size % MIB))
    return h.hexdigest()


def test_a_3_gib_recording_ends_verified_and_its_card_safe_to_erase(
    strict_stack: StrictStack, tmp_path: Path
) -> None:
    stack = strict_stack
    stack.proxy.sink(f"videos/{stack.sub}/")  # checked as S3 does, bytes dropped
    big = tmp_path / "card" / "LONG0001.MP4"
    big.parent.mkdir()
    size = 3 * GIB + 12_345  # above the old 2 GiB read-back limit
    with big.open("wb") as fh:
        fh.truncate(size)  # sparse: no disk, no RAM
    engine = make_engine_on(
        stack, tmp_path / "q.sqlite3", probe=lambda p: fake_media(p.stat().st_size),
        thumbnail=no_thumbnail,
        options=EngineOptions(min_part_size=16 * MIB, backoff_attempts=4,
                              probe_interval=0.05, source_check_interval=0.05))
    baseline = rss_mib()
    samples: list[float] = []
    engine.subscribe_progress(lambda _snapshot: samples.append(rss_mib()))
    engine.start()
    video_id = None
    try:
        job = engine.add_paths([big]).added[0]
        video_id = job.video_id
        done = settled(engine, [job.id], timeout=900)[0]
        assert done.state is JobState.DONE, done.error
        record = stack.api._object("GET", f"/videos/{job.video_id}")
        assert record["fileSizeBytes"] == size and record["status"] in ("uploaded", "ready")
        assert record["sha256Verified"] is True and record["sha256VerifiedBy"] == "crc64nvme"
        expected = zeros_sha256(size)
        assert record["sha256"] == done.sha256 == expected
        # what the proxy (as S3) computed from the bytes it received is what was recorded
        stored = stack.proxy.sunk_object(record["s3Key"])
        assert stored is not None and stored.size == size
        assert record["crc64nvme"] == crc_b64(stored.crc) == done.crc64nvme
        # a few parts in memory at a time, never the file (16 MiB parts; sampled ~10/s)
        assert samples and max(samples) - baseline < 512, (baseline, max(samples))
        # each byte was sent once
        parts = [r for r in stack.proxy.stats.puts(ok=True) if r.part_number]
        assert sum(r.body_bytes for r in parts) == size
        assert sorted(r.part_number or 0 for r in parts) == list(range(1, done.part_count + 1))
        # the card holding it is safe to erase (the card window hashes the card itself)
        clip = CardClip(path=big, relpath=big.name, size_bytes=size,
                        mtime=big.stat().st_mtime, info=fake_media(size))
        check = verify_in_cloud(clip, record, local_sha256=expected)
        assert check.verified, check.reason
        assert safe_to_erase([clip], {big: check}).safe
    finally:
        engine.stop(timeout=30)
        engine.store.close()
        if video_id is not None:  # no record of sunk bytes left for other tests
            for call in (stack.api.delete_video, stack.api.purge_video):
                try:
                    call(video_id)
                except MediSpecsError:
                    pass


class WrongWholeChecksumOnce:
    """The real API client, except that the first completion gives a whole-file CRC64NVME
    that is not the parts' (as a client bug or a corrupted request would)."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api
        self.completions = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def complete_multipart(self, video_id: str, upload_id: str, parts: list[dict[str, Any]],
                           *, checksum_crc64nvme: str) -> dict[str, Any]:
        self.completions += 1
        if self.completions == 1:
            checksum_crc64nvme = crc_b64(12345)
        return self._api.complete_multipart(video_id, upload_id, parts,
                                            checksum_crc64nvme=checksum_crc64nvme)


def test_a_wrong_whole_file_checksum_is_refused_and_the_file_sent_again_once(
    strict_stack: StrictStack, big_video: Callable[..., Path], tmp_path: Path
) -> None:
    stack = strict_stack
    video = big_video("whole.mkv", 11, seed=5151)  # 3 parts of 5 MiB
    api = WrongWholeChecksumOnce(stack.api)
    engine = make_engine_on(stack, tmp_path / "q.sqlite3", api=api)
    engine.start()
    try:
        job = engine.add_paths([video]).added[0]
        done = settled(engine, [job.id])[0]
        assert done.state is JobState.DONE, done.error
        assert stack.proxy.refused_completions == ["BadDigest"]  # S3's own refusal
        assert api.completions == 2
        parts = [r.part_number for r in stack.proxy.stats.puts(ok=True)
                 if r.part_number and job.video_id in r.path]
        assert sorted(parts) == [1, 1, 2, 2, 3, 3]  # sent again, once
        assert stack.proxy.open_uploads(f"videos/{stack.sub}/{job.video_id}.") == []
        record = stack.api._object("GET", f"/videos/{job.video_id}")
        assert record["sha256Verified"] is True and record["sha256VerifiedBy"] == "crc64nvme"
        assert record["sha256"] == file_sha256(video)
    finally:
        engine.stop(timeout=30)
        engine.store.close()


def test_a_part_damaged_on_the_way_is_refused_and_the_file_sent_again_once(
    make_engine: Callable[..., UploadEngine], big_video: Callable[..., Path],
    proxy: StrictS3Proxy, demo_api: Any
) -> None:
    api, _sub = demo_api
    video = big_video("damaged.mkv", 11, seed=6161)
    proxy.inject("tamper", match=lambda m, p, q: q.get("partNumber") == ["2"])
    engine = make_engine(max_parts_in_flight=1)
    engine.start()
    job = engine.add_paths([video]).added[0]
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE, done.error
    refused = [r for r in proxy.stats.puts() if r.status == 400 and job.video_id in r.path]
    assert [(r.part_number, r.fault) for r in refused] == [(2, "tamper")]
    ok: dict[str | None, list[int]] = {}
    for r in proxy.stats.puts(ok=True):
        if r.part_number and job.video_id in r.path:
            ok.setdefault(r.upload_id, []).append(r.part_number)
    first = refused[0].upload_id
    # the file was sent again once, as a new upload with every part; the first attempt had
    # part 1 and stopped at the refusal (a part already queued behind part 2 may have gone)
    assert len(ok) == 2 and sorted(ok[first]) in ([1], [1, 3]), ok
    assert sorted(next(parts for uid, parts in ok.items() if uid != first)) == [1, 2, 3]
    video_record = api.get_video(job.video_id)
    assert video_record.sha256_verified is True and video_record.sha256 == file_sha256(video)
