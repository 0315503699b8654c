"""Every multipart upload has an owner (issue 17, finding 2(c)): a video holds at most one open
multipart upload. A create whose answer was lost and is sent again, a restart from byte 0, or a
create whose Lambda died between S3's CreateMultipartUpload and the session write leaves nothing
open once the next create of the video has run; the sweep aborts uploads whose session expired.

Real handler, real moto S3 over HTTP; every check is scoped to this test's user and videos."""

from __future__ import annotations

import time
from typing import Any

from medispecs_desktop.backend import jobs
from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.handler import App
from tests.backend.test_backend_multipart import PART, start

BUCKET = "medispecs-videos"
DAY = 24 * 3600


def open_uploads(moto_server: Any, user: str, video_id: str) -> set[str]:
    resp = moto_server.s3.list_multipart_uploads(Bucket=BUCKET,
                                                 Prefix=f"videos/{user}/{video_id}.")
    return {u["UploadId"] for u in resp.get("Uploads", [])}


def test_a_create_sent_again_aborts_the_first_upload_of_the_video(
    api: Any, moto_server: Any
) -> None:
    first = start(api, "v_lost1", 2 * PART)  # its answer "lost": the client sends it again
    other = start(api, "v_other1", 2 * PART)
    second = start(api, "v_lost1", 2 * PART)
    assert second["uploadId"] != first["uploadId"]
    assert open_uploads(moto_server, api.user, "v_lost1") == {second["uploadId"]}
    status, body = api.call("GET", f"/videos/v_lost1/multipart/{first['uploadId']}/parts")
    assert (status, body["error"]["code"]) == (404, "no_such_upload")
    assert api.call("GET", f"/videos/v_lost1/multipart/{second['uploadId']}/parts")[0] == 200
    # another video's upload is not touched
    assert open_uploads(moto_server, api.user, "v_other1") == {other["uploadId"]}


def test_a_create_aborts_an_upload_s3_holds_without_a_session(
    api: Any, moto_server: Any
) -> None:
    # a create whose Lambda died after S3's CreateMultipartUpload, before the session write
    stray = moto_server.s3.create_multipart_upload(
        Bucket=BUCKET, Key=f"videos/{api.user}/v_died1.mp4")["UploadId"]
    stray_mov = moto_server.s3.create_multipart_upload(
        Bucket=BUCKET, Key=f"videos/{api.user}/v_died1.mov")["UploadId"]
    unrelated = moto_server.s3.create_multipart_upload(
        Bucket=BUCKET, Key=f"videos/{api.user}/v_died10.mp4")["UploadId"]
    created = start(api, "v_died1", 2 * PART)
    assert open_uploads(moto_server, api.user, "v_died1") == {created["uploadId"]}
    assert stray not in open_uploads(moto_server, api.user, "v_died1")
    assert stray_mov not in open_uploads(moto_server, api.user, "v_died1")
    # v_died10 shares the prefix "v_died1" but not "v_died1.": not this video's
    assert open_uploads(moto_server, api.user, "v_died10") == {unrelated}
    moto_server.s3.abort_multipart_upload(Bucket=BUCKET, Key=f"videos/{api.user}/v_died10.mp4",
                                          UploadId=unrelated)


def test_a_create_older_than_the_newest_of_its_video_gives_way_to_it(
    api: Any, moto_server: Any, backend_config: BackendConfig
) -> None:
    """Two creates of one video overlap (the first's answer timed out at the client while its
    Lambda still ran): whichever order they finish in, the newer request's upload is the one
    left open, and the older request answers with it."""
    newer = type(api)(App(backend_config, clock=lambda: time.time() + 3600), user=api.user)
    won = start(newer, "v_race1", 2 * PART)  # the newer request happened to finish first
    late = start(api, "v_race1", 2 * PART)  # the older one finishes after it
    assert late["uploadId"] == won["uploadId"]
    assert open_uploads(moto_server, api.user, "v_race1") == {won["uploadId"]}
    # a newer create with other sizes (the file changed) is not adopted: 409, retry
    bigger = type(api)(App(backend_config, clock=lambda: time.time() + 7200), user=api.user)
    third = start(bigger, "v_race1", 3 * PART)
    status, body = api.call("POST", "/videos/v_race1/multipart",
                            body={"fileSizeBytes": 2 * PART, "partSizeBytes": PART,
                                  "contentType": "video/mp4"})
    assert status == 409, body
    assert open_uploads(moto_server, api.user, "v_race1") == {third["uploadId"]}


def test_sweep_aborts_an_upload_whose_session_expired(
    api: Any, moto_server: Any, backend_config: BackendConfig
) -> None:
    """DynamoDB's TTL deletes an expired session days late: the sweep does not wait for it."""
    kept = start(api, "v_ttl1", 2 * PART)
    report = jobs.run_job("sweep-orphans", backend_config, clock=lambda: time.time() + DAY + 60,
                          only_user=api.user)
    assert report["abortedUploads"] == 0, report
    assert open_uploads(moto_server, api.user, "v_ttl1") == {kept["uploadId"]}
    report = jobs.run_job("sweep-orphans", backend_config,
                          clock=lambda: time.time() + 9 * DAY, only_user=api.user)
    assert report["abortedUploads"] == 1, report
    assert open_uploads(moto_server, api.user, "v_ttl1") == set()
    status, body = api.call("GET", f"/videos/v_ttl1/multipart/{kept['uploadId']}/parts")
    assert (status, body["error"]["code"]) == (404, "no_such_upload")
