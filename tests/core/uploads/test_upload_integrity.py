"""Integrity retry: the server checks the whole-file SHA-256 at POST /videos and refuses (and
deletes) an object whose bytes are not the file's. The engine then uploads the file again by
itself once, and after that fails clearly; Retry starts a fresh upload.

The fault is real: between the upload and the record step a hook overwrites (or deletes) the
object in moto, so the real handler's check answers 409 ``checksum_mismatch`` / ``not_uploaded``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from medispecs_desktop.core.hashing import fingerprint
from medispecs_desktop.core.media import probe
from medispecs_desktop.core.uploads.jobs import JobState, Phase
from tests.core.uploads.test_upload_engine import file_sha256, no_multipart_left, settled


class TamperingApi:
    """The real API client; before the first ``times`` create_video calls the uploaded object
    is overwritten with other bytes (``mode="corrupt"``) or deleted (``mode="delete"``)."""

    def __init__(self, api: Any, s3: Any, bucket: str, user_id: str, *, mode: str,
                 times: int) -> None:
        self._api = api
        self._s3 = s3
        self._bucket = bucket
        self._user_id = user_id
        self.mode = mode
        self.times = times
        self.tampered = 0
        self.creates: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)

    def _object_key(self, video_id: str) -> str:
        listed = self._s3.list_objects_v2(Bucket=self._bucket,
                                          Prefix=f"videos/{self._user_id}/{video_id}.")
        keys = [o["Key"] for o in listed.get("Contents", [])]
        assert len(keys) == 1, keys
        return str(keys[0])

    def create_video(self, payload: dict[str, Any]) -> Any:
        video_id = str(payload["videoId"])
        self.creates.append(video_id)
        if self.tampered < self.times:
            self.tampered += 1
            key = self._object_key(video_id)
            if self.mode == "delete":
                self._s3.delete_object(Bucket=self._bucket, Key=key)
            else:  # same size, one flipped byte: what a flaky card reader would produce
                body = bytearray(self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read())
                body[len(body) // 2] ^= 0xFF
                self._s3.put_object(Bucket=self._bucket, Key=key, Body=bytes(body))
        return self._api.create_video(payload)


def stored_sha256(s3: Any, bucket: str, api: Any, video_id: str) -> str:
    key = api.get_video(video_id).s3_key
    return hashlib.sha256(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).hexdigest()


@pytest.mark.parametrize(("kind", "mode"), [("multipart", "corrupt"), ("single", "delete")])
def test_refused_cloud_copy_is_uploaded_again_by_itself(
    kind: str, mode: str, make_engine, big_video, make_video, proxy, s3, local_stack, demo_api
) -> None:
    api, sub = demo_api
    bucket = local_stack["bucket"]
    video: Path = big_video("flaky.mkv", 12) if kind == "multipart" else make_video(
        "flaky.mp4", seconds=1, seed=4242)
    tamper = TamperingApi(api, s3, bucket, sub, mode=mode, times=1)
    engine = make_engine(api=tamper)
    engine.start()
    job = engine.add_paths([video]).added[0]
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE, done.error
    assert tamper.tampered == 1 and tamper.creates == [job.video_id, job.video_id]
    # the bytes went twice, and what is stored now is the file
    if kind == "multipart":
        parts = sorted(r.part_number for r in proxy.stats.puts(ok=True) if r.part_number)
        assert parts == [1, 1, 2, 2, 3, 3]
    else:
        assert len([r for r in proxy.stats.puts(ok=True) if f"/videos/{sub}/" in r.path]) == 2
    assert done.sha256 == file_sha256(video)
    assert api.get_video(job.video_id).sha256 == done.sha256
    assert stored_sha256(s3, bucket, api, job.video_id) == file_sha256(video)
    assert no_multipart_left(s3, bucket, sub, job.video_id)


def test_copy_refused_twice_fails_clearly_and_retry_starts_fresh(
    make_engine, big_video, proxy, s3, local_stack, demo_api
) -> None:
    api, sub = demo_api
    bucket = local_stack["bucket"]
    video = big_video("bad-reader.mkv", 12)
    tamper = TamperingApi(api, s3, bucket, sub, mode="corrupt", times=2)
    engine = make_engine(api=tamper)
    engine.start()
    job = engine.add_paths([video]).added[0]
    failed = settled(engine, [job.id])[0]
    assert failed.state is JobState.FAILED
    assert failed.error_code == "checksum_mismatch"
    assert "did not match the file" in (failed.error or "")
    assert "check the card/disk" in (failed.error or "")
    # nothing half-done is kept: the next attempt is a fresh upload
    assert failed.phase is Phase.NEW and failed.upload_id is None and failed.sha256 is None
    assert engine.store.parts(job.id) == {}
    assert not s3.list_objects_v2(Bucket=bucket, Prefix=f"videos/{sub}/{job.video_id}.").get(
        "Contents")
    assert len(tamper.creates) == 2  # one automatic re-upload, not a loop
    ok_before = len([r for r in proxy.stats.puts(ok=True) if r.part_number])
    engine.retry(job.id)
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE, done.error
    # Retry sent every part again (3 more) and the stored copy is the file
    assert len([r for r in proxy.stats.puts(ok=True) if r.part_number]) == ok_before + 3
    assert stored_sha256(s3, bucket, api, job.video_id) == file_sha256(video)


def test_a_job_stuck_after_upload_from_an_older_version_recovers_on_retry(
    make_engine, make_video, s3, local_stack, demo_api
) -> None:
    """A queue written by the old engine: failed at the record step with ``not_uploaded`` while
    its phase still says the bytes are in S3. Retry must upload them, not ask POST /videos
    again forever."""
    api, sub = demo_api
    video = make_video("stuck.mp4", seconds=1, seed=4711)
    engine = make_engine()
    job = engine.add_paths([video]).added[0]
    media = dict(probe(video).api_fields())
    engine.store.move(job.id, sub, JobState.FAILED, phase=Phase.COMPLETED,
                        bytes_done=job.size, sha256=file_sha256(video), media=media,
                        fingerprint=fingerprint(video),
                        error="no uploaded object", error_code="not_uploaded")
    engine.start()
    engine.retry(job.id)
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE, done.error
    assert stored_sha256(s3, local_stack["bucket"], api, job.video_id) == file_sha256(video)
