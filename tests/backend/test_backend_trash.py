"""The Trash through the real handler against a real (versioned) moto bucket: DELETE moves a
recording to the Trash, restore brings back record, bytes and duplicate pointers, purge (by hand
or by the scheduled job with an injected clock) removes every version and every pointer."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import pytest
import requests

from medispecs_desktop.backend import jobs
from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.handler import App
from medispecs_desktop.backend.processing import preview_keys
from tests.backend.test_backend_videos import put_verified

BUCKET = "medispecs-videos"
TABLE = "AppMain"
DAY = 24 * 3600
JPEG = b"\xff\xd8\xff\xe0" + b"thumb" * 50 + b"\xff\xd9"


def put_via_upload_url(api: Any, video_id: str, data: bytes) -> None:
    status, up = api.call("GET", f"/videos/{video_id}/upload-url")
    assert status == 200, up
    r = requests.put(up["uploadUrl"], data=data, headers=up["headers"], timeout=30)
    assert r.status_code == 200, r.text


def _sks(moto_server: Any, user: str) -> list[str]:
    items = moto_server.dynamodb.query(
        TableName=TABLE, KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"USER#{user}"}})["Items"]
    return sorted(i["SK"]["S"] for i in items)


def _versions(moto_server: Any, key: str) -> list[dict[str, Any]]:
    resp = moto_server.s3.list_object_versions(Bucket=BUCKET, Prefix=key)
    return [v for v in [*resp.get("Versions", []), *resp.get("DeleteMarkers", [])]
            if v["Key"] == key]


def _recording(api: Any, video_id: str, data: bytes) -> tuple[dict[str, Any], str, str]:
    sha = hashlib.sha256(data).hexdigest()
    fp = f"{len(data)}:{hashlib.sha256(data[:8]).hexdigest()}"
    crc = put_verified(api, video_id, data)  # verified in cloud: a duplicate target
    video = api.create(videoId=video_id, sha256=sha, fingerprint=fp, durationSec=2.0,
                       crc64nvme=crc)
    status, tu = api.call("GET", f"/videos/{video_id}/thumbnail-upload-url")
    assert status == 200
    assert requests.put(tu["uploadUrl"], data=JPEG, headers=tu["headers"],
                        timeout=30).status_code == 200
    status, video = api.call("PATCH", f"/videos/{video_id}",
                             body={"version": video["version"], "thumbnail": True})
    assert status == 200, video
    return video, sha, fp


def test_delete_moves_to_trash_and_restore_brings_everything_back(
    api: Any, moto_server: Any
) -> None:
    data = b"clinical bytes " * 400
    video, sha, fp = _recording(api, "v_trash1", data)
    before = _sks(moto_server, api.user)

    api.ddb_calls.clear()
    status, body = api.call("DELETE", "/videos/v_trash1")
    assert status == 200 and body["deleted"] == "v_trash1" and body["inTrash"] is True
    assert "Scan" not in api.ddb_calls
    # hidden from the library, get/playback/patch/thumbnail: 404
    status, page = api.call("GET", "/videos")
    assert page["items"] == []
    for method, suffix in (("GET", ""), ("GET", "/playback-url"),
                           ("GET", "/thumbnail-upload-url"), ("GET", "/upload-url")):
        status, err = api.call(method, f"/videos/v_trash1{suffix}")
        assert status == 404, (suffix, err)
    status, err = api.call("POST", "/videos/v_trash1/multipart",
                           body={"fileSizeBytes": 6 * 2**20, "partSizeBytes": 5 * 2**20})
    assert status == 404, err
    status, _ = api.call("PATCH", "/videos/v_trash1", body={"version": 3, "title": "x"})
    assert status == 404
    # not a duplicate target while in the Trash
    status, dup = api.call("POST", "/videos/duplicates", body={"sha256": [sha],
                                                               "fingerprints": [fp]})
    assert dup == {"matches": []}
    # like every /videos/{id} route, a second DELETE no longer finds it in the library
    status, again = api.call("DELETE", "/videos/v_trash1")
    assert status == 404 and again["error"]["code"] == "not_found"
    # the bytes are still there
    assert moto_server.s3.get_object(Bucket=BUCKET, Key=video["s3Key"])["Body"].read() == data

    status, trash = api.call("GET", "/trash")
    assert status == 200 and trash["retentionDays"] == 30
    [entry] = trash["items"]
    assert entry["videoId"] == "v_trash1" and entry["sha256"] == sha
    assert entry["purgeAt"] > entry["trashedAt"]
    assert entry["thumbnailUrl"].startswith("http")

    status, restored = api.call("POST", "/trash/v_trash1/restore")
    assert status == 200, restored
    assert "purgeAt" not in restored and restored["title"] == video["title"]
    assert restored["status"] == "ready" and restored["thumbnailS3Key"]
    assert _sks(moto_server, api.user) == before
    status, page = api.call("GET", "/videos")
    assert [v["videoId"] for v in page["items"]] == ["v_trash1"]
    status, dup = api.call("POST", "/videos/duplicates", body={"sha256": [sha],
                                                               "fingerprints": [fp]})
    assert {m["videoId"] for m in dup["matches"]} == {"v_trash1"} and len(dup["matches"]) == 2
    status, play = api.call("GET", "/videos/v_trash1/playback-url")
    assert requests.get(play["playbackUrl"], timeout=30).content == data
    status, trash = api.call("GET", "/trash")
    assert trash["items"] == []


def test_purge_removes_every_version_and_pointer(api: Any, moto_server: Any) -> None:
    data = b"to be purged " * 300
    video, sha, _fp = _recording(api, "v_purge1", data)
    for key in preview_keys(api.user, "v_purge1"):  # as the processing function makes them
        moto_server.s3.put_object(Bucket=BUCKET, Key=key, Body=b"preview")
    moto_server.s3.put_object(Bucket=BUCKET, Key=video["s3Key"],  # overwritten outside the app
                              Body=b"other bytes")
    assert len(_versions(moto_server, video["s3Key"])) == 2
    status, err = api.call("DELETE", "/trash/v_purge1")
    assert status == 409 and err["error"]["code"] == "not_in_trash"
    assert api.call("DELETE", "/videos/v_purge1")[0] == 200

    status, body = api.call("DELETE", "/trash/v_purge1")
    assert status == 200 and body == {"purged": "v_purge1"}
    assert _sks(moto_server, api.user) == []
    assert _versions(moto_server, video["s3Key"]) == []
    assert _versions(moto_server, video["thumbnailS3Key"]) == []
    for key in preview_keys(api.user, "v_purge1"):  # frames of the recording go too
        assert _versions(moto_server, key) == []
    assert api.call("DELETE", "/trash/v_purge1")[0] == 404
    assert api.call("POST", "/trash/v_purge1/restore")[0] == 404
    # the same file is a new recording now
    put_via_upload_url(api, "v_purge2", data)
    assert api.create(videoId="v_purge2", sha256=sha)["videoId"] == "v_purge2"


def test_restore_refuses_a_file_stored_again_meanwhile(api: Any) -> None:
    data = b"stored twice " * 200
    _video, sha, _fp = _recording(api, "v_twice1", data)
    assert api.call("DELETE", "/videos/v_twice1")[0] == 200
    put_via_upload_url(api, "v_twice2", data)
    api.create(videoId="v_twice2", sha256=sha)
    status, err = api.call("POST", "/trash/v_twice1/restore")
    assert status == 409 and err["error"]["code"] == "duplicate"
    assert "v_twice2" in err["error"]["message"]
    status, trash = api.call("GET", "/trash")
    assert [v["videoId"] for v in trash["items"]] == ["v_twice1"]


def test_trash_is_per_user_and_validated(api: Any, other_api: Any) -> None:
    _recording(api, "v_mine1", b"mine " * 100)
    assert api.call("DELETE", "/videos/v_mine1")[0] == 200
    assert other_api.call("GET", "/trash")[1]["items"] == []
    assert other_api.call("POST", "/trash/v_mine1/restore")[0] == 404
    assert other_api.call("DELETE", "/trash/v_mine1")[0] == 404
    assert other_api.call("DELETE", "/videos/v_mine1")[0] == 404
    for path in ("/trash/bad-id/restore", "/trash/v_!x"):
        method = "POST" if path.endswith("restore") else "DELETE"
        status, err = api.call(method, path)
        assert status == 400 and err["error"]["code"] == "invalid_video_id", err
    status, err = api.call("GET", "/trash", query={"limit": "0"})
    assert status == 400
    status, err = api.call("GET", "/trash", query={"cursor": "garbage"})
    assert status == 400 and err["error"]["code"] == "invalid_cursor"
    # a library cursor is no Trash cursor
    status, err = api.call("POST", "/videos", body={"videoId": "v_mine1", "title": "again",
                                                    "recordedAt": "2025-01-01T00:00:00Z"})
    assert status == 409 and err["error"]["code"] == "in_trash"
    assert api.call("GET", "/trash")[1]["items"][0]["videoId"] == "v_mine1"


def test_trash_pages(api: Any) -> None:
    for n in range(3):
        api.create(videoId=f"v_page{n}")
        assert api.call("DELETE", f"/videos/v_page{n}")[0] == 200
    seen: list[str] = []
    cursor: str | None = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = api.call("GET", "/trash", query=query)
        assert status == 200
        seen += [v["videoId"] for v in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert sorted(seen) == ["v_page0", "v_page1", "v_page2"]


# ------------------------------------------------------------------------ scheduled jobs


def test_scheduled_purge_removes_only_expired_trash(
    api: Any, moto_server: Any, backend_config: BackendConfig
) -> None:
    old, _sha, _fp = _recording(api, "v_exp1", b"expired " * 100)
    keep, _sha2, _fp2 = _recording(api, "v_exp2", b"kept " * 100)
    # v_exp1 was deleted ten days ago (a handler whose clock says so), v_exp2 just now
    earlier = type(api)(App(backend_config, clock=lambda: time.time() - 10 * DAY),
                        user=api.user)
    assert earlier.call("DELETE", "/videos/v_exp1")[0] == 200
    assert api.call("DELETE", "/videos/v_exp2")[0] == 200
    purge_at = {v["videoId"]: v["purgeAt"] for v in api.call("GET", "/trash")[1]["items"]}
    assert purge_at["v_exp1"] < purge_at["v_exp2"]

    report = jobs.run_job("purge-trash", backend_config, clock=lambda: time.time() + 19 * DAY,
                          only_user=api.user)
    assert report == {"job": "purge-trash", "purged": 0, "removedObjects": 0,
                      "abortedUploads": 0, "complete": True}
    report = jobs.run_job("purge-trash", backend_config, clock=lambda: time.time() + 21 * DAY,
                          only_user=api.user)
    assert report["purged"] == 1
    assert [v["videoId"] for v in api.call("GET", "/trash")[1]["items"]] == ["v_exp2"]
    assert _versions(moto_server, old["s3Key"]) == []
    assert _versions(moto_server, keep["s3Key"])
    assert not [sk for sk in _sks(moto_server, api.user) if "v_exp1" in sk]

    report = jobs.run_job("purge-trash", backend_config, clock=lambda: time.time() + 31 * DAY,
                          only_user=api.user)
    assert report["purged"] == 1
    assert _sks(moto_server, api.user) == []
    assert _versions(moto_server, keep["s3Key"]) == []


def test_scheduled_purge_never_touches_the_library(api: Any, backend_config: BackendConfig
                                                   ) -> None:
    _recording(api, "v_lib1", b"library " * 100)
    jobs.run_job("purge-trash", backend_config, clock=lambda: time.time() + 400 * DAY,
                 only_user=api.user)
    assert [v["videoId"] for v in api.call("GET", "/videos")[1]["items"]] == ["v_lib1"]


def test_sweep_removes_old_objects_without_a_record_and_stale_multipart(
    api: Any, moto_server: Any, backend_config: BackendConfig
) -> None:
    owned, _sha, _fp = _recording(api, "v_own1", b"owned " * 100)
    orphan_key = f"videos/{api.user}/v_orphan1.mp4"
    moto_server.s3.put_object(Bucket=BUCKET, Key=orphan_key, Body=b"no record")
    wrong_ext = f"videos/{api.user}/v_own1.mov"  # the record says .mp4
    moto_server.s3.put_object(Bucket=BUCKET, Key=wrong_ext, Body=b"stray")
    status, live = api.call("POST", "/videos/v_mp1/multipart",
                            body={"fileSizeBytes": 6 * 2**20, "partSizeBytes": 5 * 2**20})
    assert status == 201
    stale = moto_server.s3.create_multipart_upload(
        Bucket=BUCKET, Key=f"videos/{api.user}/v_mp2.mp4")["UploadId"]

    # an hour after the stale upload began (moto dates every multipart upload 2010-11-10,
    # and the objects are younger still): nothing is old enough to touch
    initiated = {u["UploadId"]: u["Initiated"].timestamp() for u in
                 moto_server.s3.list_multipart_uploads(
                     Bucket=BUCKET, Prefix=f"videos/{api.user}/")["Uploads"]}
    report = jobs.run_job("sweep-orphans", backend_config,
                          clock=lambda: initiated[stale] + 3600, only_user=api.user)
    assert report["removedObjects"] == report["abortedUploads"] == 0, report
    assert _versions(moto_server, orphan_key)[0].get("IsLatest")

    report = jobs.run_job("sweep-orphans", backend_config,
                          clock=lambda: time.time() + DAY + 60, only_user=api.user)
    assert report["complete"] is True
    listed = moto_server.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"videos/{api.user}/")
    assert {o["Key"] for o in listed.get("Contents", [])} == {owned["s3Key"]}
    # removed as a delete marker: the bytes stay recoverable as a noncurrent version
    assert any(v.get("VersionId") and "Size" in v for v in _versions(moto_server, orphan_key))
    uploads = moto_server.s3.list_multipart_uploads(Bucket=BUCKET,
                                                    Prefix=f"videos/{api.user}/")
    ids = {u["UploadId"] for u in uploads.get("Uploads", [])}
    assert live["uploadId"] in ids and stale not in ids
    assert report["removedObjects"] == 2 and report["abortedUploads"] == 1


def test_unknown_job_is_refused(backend_config: BackendConfig) -> None:
    with pytest.raises(ValueError, match="unknown job"):
        jobs.run_job("drop-everything", backend_config)


def test_sweep_removes_thumbnails_of_videos_without_a_record(
    api: Any, moto_server: Any, backend_config: BackendConfig
) -> None:
    """A client sends the thumbnail while the bytes go, before the record exists: one whose
    record never came (a crash, a lost laptop) is a frame of a recording with no owner, and
    the sweep deletes it a day later. A thumbnail whose video has a record (in the library or
    the Trash) stays, and so does one whose upload is still open (until its session expires)."""
    _recording(api, "v_thumbown1", b"owned thumb " * 100)
    owned = f"thumbnails/{api.user}/v_thumbown1.jpg"
    orphan = f"thumbnails/{api.user}/v_thumborphan1.jpg"
    status, _ = api.call("POST", "/videos/v_thumbup1/multipart",  # its bytes still going
                              body={"fileSizeBytes": 6 * 2**20, "partSizeBytes": 5 * 2**20})
    assert status == 201
    uploading = f"thumbnails/{api.user}/v_thumbup1.jpg"
    still = f"thumbnails/{api.user}/v_thumborphan1/stills/m_1.png"  # a marker's: not swept here
    for key in (owned, orphan, uploading, still):
        moto_server.s3.put_object(Bucket=BUCKET, Key=key, Body=b"\xff\xd8\xff\xd9")
    report = jobs.run_job("sweep-orphans", backend_config, clock=lambda: time.time() + 3600,
                          only_user=api.user)
    assert report["removedObjects"] == 0, report  # not a day old yet: it may be on its way

    report = jobs.run_job("sweep-orphans", backend_config,
                          clock=lambda: time.time() + DAY + 60, only_user=api.user)
    assert report["removedObjects"] == 1 and report["complete"] is True, report
    listed = moto_server.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"thumbnails/{api.user}/")
    assert {o["Key"] for o in listed.get("Contents", [])} == {owned, uploading, still}

    # once the upload's session has expired (the sweep aborts the upload), its thumbnail goes
    report = jobs.run_job("sweep-orphans", backend_config,
                          clock=lambda: time.time() + 9 * DAY, only_user=api.user)
    assert report["removedObjects"] == 1 and report["abortedUploads"] == 1, report
    listed = moto_server.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"thumbnails/{api.user}/")
    assert {o["Key"] for o in listed.get("Contents", [])} == {owned, still}
    moto_server.s3.delete_object(Bucket=BUCKET, Key=still)


def test_owner_of_key() -> None:
    assert jobs.owner_of_key("videos/u-1/v_abc.mp4") == ("u-1", "v_abc")
    assert jobs.owner_of_key("thumbnails/u-1/v_abc.jpg") == ("u-1", "v_abc")
    for bad in ("videos/u/v_abc", "videos/a/b/v_x.mp4", "previews/u/v_a.jpg",
                f"videos/u/{uuid.uuid4().hex}.mp4"):
        assert jobs.owner_of_key(bad) is None
