"""What an upload does beside its bytes, so that less waits on them (real local stack, strict
S3 proxy, real video files):

* the thumbnail goes to S3 while the bytes go, so the record is made with it: after the last
  byte an upload waits for two requests (complete, record), not five; a thumbnail sent for an
  upload that never gets its record goes with the upload; a stalled one never holds it up;
* the first parts are read and hashed while the multipart upload is being made."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from medispecs_desktop.core.errors import MediSpecsError, NotFoundError
from medispecs_desktop.core.uploads.jobs import JobState
from tests.core.uploads.conftest import TEST_OPTIONS
from tests.core.uploads.test_upload_engine import hold_at_part, no_multipart_left, settled


class CallLog:
    """The engine's API client, each method call's name noted in order."""

    def __init__(self, api: Any) -> None:
        self._api = api
        self.calls: list[str] = []
        self.thumbnail_threads_at: dict[str, list[str]] = {}  # per method: sends in flight
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._api, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls.append(name)
                self.thumbnail_threads_at[name] = [
                    t.name for t in threading.enumerate() if t.name.startswith("thumbnail-")]
            return attr(*args, **kwargs)

        return call


def uploaded(engine: Any, video: Path) -> Any:
    """Start ``engine``, upload ``video``; its job, done."""
    engine.start()
    job = engine.add_paths([video]).added[0]
    (done,) = settled(engine, [job.id])
    assert done.state is JobState.DONE, done.error
    return done


def thumbnail_exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in ("404", "NoSuchKey"), exc
        return False
    return True


def test_the_record_is_made_with_the_thumbnail_sent_beside_the_bytes(
    make_engine: Any, big_video: Any, demo_api: Any, proxy: Any, s3: Any,
    local_stack: dict[str, Any],
) -> None:
    api, sub = demo_api
    log = CallLog(api)
    video = big_video("early.mkv", 11)  # 3 parts of 5 MiB
    engine = make_engine(api=log)
    job = uploaded(engine, video)
    # the thumbnail was asked for before the record and never attached afterwards
    assert "thumbnail_upload_url" in log.calls and "update_video" not in log.calls
    assert log.calls.index("thumbnail_upload_url") < log.calls.index("create_video")
    record = api.get_video(job.video_id)
    assert record.thumbnail_s3_key == f"thumbnails/{sub}/{job.video_id}.jpg"
    assert record.status == "ready"
    thumbnail = s3.get_object(Bucket=local_stack["bucket"], Key=record.thumbnail_s3_key)
    assert thumbnail["Body"].read()[:3] == b"\xff\xd8\xff"  # a JPEG
    thumbnail_puts = [r for r in proxy.stats.puts(ok=True) if "/thumbnails/" in r.path]
    assert len(thumbnail_puts) == 1


def test_a_cancelled_upload_leaves_no_thumbnail_in_the_cloud(
    make_engine: Any, big_video: Any, demo_api: Any, proxy: Any, s3: Any,
    local_stack: dict[str, Any],
) -> None:
    """The thumbnail is in S3 while part 2 waits; the user cancels: the upload and its
    thumbnail are gone, and no record was made (no frame of the recording stays behind)."""
    api, sub = demo_api
    held = hold_at_part(make_engine, big_video, proxy, "cancelled.mkv", 16, part=2)
    key = f"thumbnails/{sub}/{held.job.video_id}.jpg"
    assert proxy.wait_for_puts(2, ok=True)  # part 1 and the thumbnail
    assert thumbnail_exists(s3, local_stack["bucket"], key)
    held.gate.set()
    cancelled = held.engine.cancel(held.job.id)
    assert cancelled.state is JobState.CANCELLED
    assert not thumbnail_exists(s3, local_stack["bucket"], key)
    assert no_multipart_left(s3, local_stack["bucket"], sub, held.job.video_id)
    with pytest.raises(NotFoundError):
        api.get_video(held.job.video_id)


def test_a_file_without_a_thumbnail_is_tried_once_and_still_uploaded(
    make_engine: Any, big_video: Any, demo_api: Any,
) -> None:
    """No frame to make a thumbnail of (a damaged recording): the upload is done and safe, the
    record has no thumbnail, and the file is not decoded a second time after the record."""
    api, _sub = demo_api
    log = CallLog(api)
    tries: list[Path] = []

    def no_frame(path: Path) -> bytes:
        tries.append(path)
        raise MediSpecsError("no picture in this file")

    video = big_video("noframe.mkv", 6)
    engine = make_engine(api=log, thumbnail=no_frame)
    job = uploaded(engine, video)
    assert tries == [video]
    assert "thumbnail_upload_url" not in log.calls and "update_video" not in log.calls
    record = api.get_video(job.video_id)
    assert record.thumbnail_s3_key is None and record.sha256 == job.sha256


def test_a_stalled_thumbnail_never_holds_up_the_record(
    make_engine: Any, big_video: Any, demo_api: Any, proxy: Any,
) -> None:
    """The thumbnail's PUT hangs (the link took the parts but this request stalls): the record
    is made without waiting for it (``thumbnail_wait``), and the thumbnail is attached after
    the record the old way, so the recording ends ready all the same."""
    api, sub = demo_api
    log = CallLog(api)
    gate = threading.Event()
    proxy.inject("hold", event=gate, match=lambda m, p, q: "/thumbnails/" in p)
    try:
        video = big_video("stalledthumb.mkv", 6)
        engine = make_engine(api=log, options=dataclasses.replace(TEST_OPTIONS,
                                                                  thumbnail_wait=0.05))
        job = uploaded(engine, video)
        # made while the thumbnail's PUT still hung, then the thumbnail attached after it
        assert log.thumbnail_threads_at["create_video"] == [f"thumbnail-{job.id}"]
        assert log.calls.index("create_video") < log.calls.index("update_video")
        record = api.get_video(job.video_id)
        assert record.thumbnail_s3_key == f"thumbnails/{sub}/{job.video_id}.jpg"
        assert record.status == "ready"
    finally:
        gate.set()


def test_the_first_parts_are_read_while_the_upload_is_being_made(
    make_engine: Any, big_video: Any, demo_api: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading (and hashing) part 1 does not wait for the create request to come back: on a
    card reader a 16 MiB part takes ~0.3 s and a request on hospital Wi-Fi ~0.1 s, and the
    two now overlap. The bytes that go are still the file's."""
    from medispecs_desktop.core.uploads import reader

    api, _sub = demo_api
    log = CallLog(api)
    submit = reader.FileReader.submit

    def noted(self: Any, n: int) -> Any:
        with log._lock:
            log.calls.append(f"read part {n}")
        return submit(self, n)

    monkeypatch.setattr(reader.FileReader, "submit", noted)
    video = big_video("earlyread.mkv", 11)  # 3 parts of 5 MiB
    engine = make_engine(api=log)
    job = uploaded(engine, video)
    assert log.calls.index("read part 1") < log.calls.index("create_multipart")
    assert log.calls.index("read part 2") < log.calls.index("create_multipart")
    assert log.calls.count("read part 1") == 1  # read once
    assert api.get_video(job.video_id).sha256 == hashlib.sha256(video.read_bytes()).hexdigest()
