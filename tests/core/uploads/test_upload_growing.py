"""Files that change are caught (issue 17, finding 3): a file still being written -- appended
to while it waits in the queue or while its parts go up -- is never sent as a truncated copy
marked done. The job says it waits until the file stops changing, then reads it again from
its first byte; the multipart upload of the old content is aborted. Real engine, real local
stack, strict S3 proxy; checks scoped to the job's own recording."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from pathlib import Path

from medispecs_desktop.core.uploads.jobs import Job, JobState
from tests.core.uploads.conftest import TEST_OPTIONS
from tests.core.uploads.test_upload_engine import (
    hold_at_part,
    no_multipart_left,
    object_sha256,
    settled,
)

MIB = 1024 * 1024
# read again once the file has not changed for 1 s (looked at every 0.05 s)
SETTLING = dataclasses.replace(TEST_OPTIONS, source_stable_seconds=1.0)
NOTE = "still being written or was changed"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def waits(engine, job_id: int) -> list[Job]:
    seen: list[Job] = []
    engine.subscribe_jobs(lambda j: seen.append(j) if j.id == job_id else None)
    return seen


def test_a_file_that_grows_during_the_upload_is_read_again_once_settled(
    make_engine, big_video, proxy, demo_api, s3, local_stack
) -> None:
    api, sub = demo_api
    held = hold_at_part(make_engine, big_video, proxy, "growing.mkv", 11, 2, options=SETTLING)
    engine, job, video, gate = held.engine, held.job, held.video, held.gate
    seen = waits(engine, job.id)
    with video.open("ab") as fh:  # the camera/copy is still writing
        fh.write(os.urandom(MIB))
    gate.set()
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE, done.error
    said = [j for j in seen if j.state is JobState.WAITING_SOURCE]
    assert said and NOTE in (said[0].error or "")
    record = api.get_video(job.video_id)
    assert record.file_size_bytes == video.stat().st_size == done.size
    assert record.sha256 == sha256_of(video)  # all of it, not the copy as it was queued
    assert object_sha256(s3, local_stack["bucket"], record.s3_key) == record.sha256
    assert no_multipart_left(s3, local_stack["bucket"], sub, job.video_id)


def test_a_file_appended_to_while_queued_waits_until_it_stops_changing(
    make_engine, big_video, demo_api
) -> None:
    api, _sub = demo_api
    video = big_video("copying.mkv", 6)
    engine = make_engine(options=SETTLING)
    job = engine.add_paths([video]).added[0]
    seen = waits(engine, job.id)
    stop = threading.Event()
    waiting = threading.Event()
    engine.subscribe_jobs(lambda j: waiting.set()
                          if j.id == job.id and j.state is JobState.WAITING_SOURCE else None)

    def copy_goes_on() -> None:  # a copy still running: a block every 20 ms until told
        with video.open("ab") as fh:
            while not stop.is_set():
                fh.write(os.urandom(64 * 1024))
                fh.flush()
                stop.wait(0.02)

    with video.open("ab") as fh:
        fh.write(os.urandom(MIB))  # changed since it was queued
    writer = threading.Thread(target=copy_goes_on)
    writer.start()
    try:
        engine.start()
        assert waiting.wait(60)  # the job says it waits for the file...
        grown = video.stat().st_size
        # ...and keeps waiting while the copy goes on: it follows the file's size
        assert engine.wait_until(
            lambda js: any(j.id == job.id and j.size > grown for j in js), timeout=60)
    finally:
        stop.set()
        writer.join()
    done = settled(engine, [job.id])[0]
    assert done.state is JobState.DONE, done.error
    assert any(NOTE in (j.error or "") for j in seen if j.state is JobState.WAITING_SOURCE)
    record = api.get_video(job.video_id)
    assert record.file_size_bytes == video.stat().st_size
    assert record.sha256 == sha256_of(video)
