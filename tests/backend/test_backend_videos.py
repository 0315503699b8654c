"""Create / get / patch / delete / URLs / duplicates against a real moto server over HTTP."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

import requests
from awscrt.checksums import crc64nvme

JPEG = b"\xff\xd8\xff\xe0" + b"thumb" * 50 + b"\xff\xd9"


def put_via_upload_url(api: Any, video_id: str, data: bytes, **query: str) -> dict[str, Any]:
    status, up = api.call("GET", f"/videos/{video_id}/upload-url", query=query or None)
    assert status == 200, up
    r = requests.put(up["uploadUrl"], data=data, headers=up["headers"], timeout=30)
    assert r.status_code == 200, r.text
    return up


def test_create_is_idempotent_across_spellings_of_the_same_time(api: Any) -> None:
    first = api.create(videoId="v_idem1", recordedAt="2025-11-03T15:30:00+01:00")
    assert first["recordedAt"] == "2025-11-03T14:30:00Z"
    status, again = api.call(
        "POST", "/videos",
        body={"videoId": "v_idem1", "title": "other", "recordedAt": "2025-11-03T14:30:00.000Z"},
    )
    assert status == 200
    assert again == first  # the stored record, unchanged
    status, page = api.call("GET", "/videos")
    assert [v["videoId"] for v in page["items"]] == ["v_idem1"]
    # Even another time entirely cannot make a second item for the same videoId.
    status, _ = api.call(
        "POST", "/videos", body={"videoId": "v_idem1", "title": "x", "recordedAt": "2020-01-01"}
    )
    assert status == 200
    status, page = api.call("GET", "/videos")
    assert len(page["items"]) == 1


def test_create_confirms_bytes_and_records_real_size(api: Any) -> None:
    data = b"video-bytes" * 1000
    up = put_via_upload_url(api, "v_sized", data, size=str(len(data)))
    assert up["headers"]["Content-Length"] == str(len(data))
    video = api.create(videoId="v_sized", durationSec=12.5, uploadKind="single",
                       sha256=hashlib.sha256(data).hexdigest())
    assert video["status"] == "uploaded"
    assert video["fileSizeBytes"] == len(data)
    assert video["s3Key"] == f"videos/{api.user}/v_sized.mp4"
    assert video["s3Bucket"] == "medispecs-videos"
    assert video["version"] == 1 and video["durationSec"] == 12.5


def test_create_size_mismatch_and_not_uploaded(api: Any) -> None:
    put_via_upload_url(api, "v_mism", b"12345")
    status, err = api.call("POST", "/videos", body={
        "videoId": "v_mism", "title": "t", "recordedAt": "2025-01-01T00:00:00Z",
        "fileSizeBytes": 6})
    assert status == 409 and err["error"]["code"] == "size_mismatch"
    # The desktop flow (uploadKind set) never creates a record without bytes.
    status, err = api.call("POST", "/videos", body={
        "videoId": "v_nobytes", "title": "t", "recordedAt": "2025-01-01T00:00:00Z",
        "uploadKind": "multipart"})
    assert status == 409 and err["error"]["code"] == "not_uploaded"
    status, _ = api.call("GET", "/videos/v_nobytes")
    assert status == 404


def put_thumbnail(api: Any, video_id: str) -> str:
    """Upload a thumbnail for ``video_id`` through its pre-signed URL; its key."""
    status, tu = api.call("GET", f"/videos/{video_id}/thumbnail-upload-url")
    assert status == 200, tu
    assert requests.put(tu["uploadUrl"], data=JPEG, headers=tu["headers"], timeout=30).ok
    return str(tu["s3Key"])


def test_aborting_an_upload_deletes_its_thumbnail_unless_the_video_has_a_record(
    api: Any, moto_server: Any
) -> None:
    """A client sends the thumbnail while the bytes go; a cancelled upload (DELETE of its
    multipart upload) takes it along while the video has no record. A recorded video's
    thumbnail is never touched by an abort."""
    from tests.backend.test_backend_multipart import PART, start

    def exists(key: str) -> bool:
        listed = moto_server.s3.list_objects_v2(Bucket="medispecs-videos", Prefix=key)
        return any(o["Key"] == key for o in listed.get("Contents", []))

    upload = start(api, "v_abortthumb1", 2 * PART)
    key = put_thumbnail(api, "v_abortthumb1")
    assert exists(key)
    status, _ = api.call("DELETE", f"/videos/v_abortthumb1/multipart/{upload['uploadId']}")
    assert status == 200 and not exists(key)

    upload = start(api, "v_abortthumb2", 2 * PART)
    put_via_upload_url(api, "v_abortthumb2", b"recorded" * 100)
    key = put_thumbnail(api, "v_abortthumb2")
    assert api.create(videoId="v_abortthumb2")["thumbnailS3Key"] == key
    status, _ = api.call("DELETE", f"/videos/v_abortthumb2/multipart/{upload['uploadId']}")
    assert status == 200 and exists(key)


def test_thumbnail_before_create_makes_it_ready(api: Any) -> None:
    status, tu = api.call("GET", "/videos/v_thumb1/thumbnail-upload-url")
    assert status == 200 and tu["headers"] == {"Content-Type": "image/jpeg"}
    assert tu["s3Key"] == f"thumbnails/{api.user}/v_thumb1.jpg"
    assert requests.put(tu["uploadUrl"], data=JPEG, headers=tu["headers"], timeout=30).ok
    put_via_upload_url(api, "v_thumb1", b"abc" * 100)
    video = api.create(videoId="v_thumb1", durationSec=3)
    assert video["status"] == "ready"
    assert video["thumbnailS3Key"] == tu["s3Key"]
    assert requests.get(video["thumbnailUrl"], timeout=30).content == JPEG


def test_patch_title_notes_thumbnail_and_version_conflict(api: Any) -> None:
    put_via_upload_url(api, "v_patch", b"x" * 10)
    video = api.create(videoId="v_patch", durationSec=1.5)
    assert video["status"] == "uploaded" and "thumbnailUrl" not in video

    status, v2 = api.call("PATCH", "/videos/v_patch",
                          body={"version": 1, "title": "Ward round", "notes": "left eye"})
    assert status == 200
    assert (v2["title"], v2["notes"], v2["version"]) == ("Ward round", "left eye", 2)

    status, err = api.call("PATCH", "/videos/v_patch", body={"version": 1, "title": "stale"})
    assert status == 409 and err["error"]["code"] == "version_conflict"

    status, err = api.call("PATCH", "/videos/v_patch", body={"version": 2, "thumbnail": True})
    assert status == 409 and err["error"]["code"] == "thumbnail_not_uploaded"

    status, tu = api.call("GET", "/videos/v_patch/thumbnail-upload-url")
    assert requests.put(tu["uploadUrl"], data=JPEG, headers=tu["headers"], timeout=30).ok
    status, v3 = api.call("PATCH", "/videos/v_patch", body={"version": 2, "thumbnail": True})
    assert status == 200
    assert v3["status"] == "ready" and v3["version"] == 2  # attaching it is no user edit
    assert v3["thumbnailS3Key"] == tu["s3Key"] and v3["thumbnailUrl"].startswith("http")

    status, got = api.call("GET", "/videos/v_patch")
    assert got["title"] == "Ward round" and got["version"] == 2

    for bad in ({"title": "no version"}, {"version": 3}, {"version": 3, "title": ""},
                {"version": "3", "title": "x"}, {"version": 3, "thumbnail": False},
                {"version": 3, "title": "x", "status": "ready"}):
        status, err = api.call("PATCH", "/videos/v_patch", body=bad)
        assert status == 400, (bad, err)
    status, err = api.call("PATCH", "/videos/v_nope", body={"version": 1, "title": "x"})
    assert status == 404


def test_delete_then_purge_removes_object_thumbnail_record_and_pointers(
    api: Any, moto_server: Any
) -> None:
    data = b"delete me" * 50
    sha = hashlib.sha256(data).hexdigest()
    fp = f"{len(data)}:{'a' * 64}"
    put_via_upload_url(api, "v_del", data)
    status, tu = api.call("GET", "/videos/v_del/thumbnail-upload-url")
    requests.put(tu["uploadUrl"], data=JPEG, headers=tu["headers"], timeout=30)
    video = api.create(videoId="v_del", sha256=sha, fingerprint=fp)
    # An unfinished multipart upload for the same video is aborted too.
    status, mp = api.call("POST", "/videos/v_del2/multipart",
                          body={"fileSizeBytes": 6 * 2**20, "partSizeBytes": 5 * 2**20})
    assert status == 201

    pk = {"S": f"USER#{api.user}"}
    items = moto_server.dynamodb.query(
        TableName="AppMain", KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": pk})["Items"]
    sks = sorted(i["SK"]["S"] for i in items)
    assert sks == sorted([
        f"VIDEO#{video['recordedAt']}#v_del", "VIDEOID#v_del", f"SHA256#{sha}", f"FP#{fp}",
        f"UPLOAD#v_del2#{mp['uploadId']}",
    ])

    api.ddb_calls.clear()
    status, body = api.call("DELETE", "/videos/v_del")  # to the Trash ...
    assert status == 200 and body["deleted"] == "v_del" and body["inTrash"] is True
    status, body = api.call("DELETE", "/trash/v_del")  # ... and forever
    assert status == 200 and body == {"purged": "v_del"}
    assert "Scan" not in api.ddb_calls

    items = moto_server.dynamodb.query(
        TableName="AppMain", KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": pk})["Items"]
    assert [i["SK"]["S"] for i in items] == [f"UPLOAD#v_del2#{mp['uploadId']}"]
    # this test's user's own prefix only: other tests share the bucket (and a listing stops at
    # 1,000 keys, where a key of ours could hide past the first page)
    listed = moto_server.s3.list_objects_v2(Bucket="medispecs-videos",
                                            Prefix=f"videos/{api.user}/")
    listed_thumbs = moto_server.s3.list_objects_v2(Bucket="medispecs-videos",
                                                   Prefix=f"thumbnails/{api.user}/")
    keys = {o["Key"] for o in listed.get("Contents", []) + listed_thumbs.get("Contents", [])}
    assert video["s3Key"].startswith(f"videos/{api.user}/")  # the prefixes listed are ours
    assert tu["s3Key"].startswith(f"thumbnails/{api.user}/")
    assert video["s3Key"] not in keys and tu["s3Key"] not in keys

    status, _ = api.call("GET", "/videos/v_del")
    assert status == 404
    status, _ = api.call("DELETE", "/videos/v_del")
    assert status == 404
    status, _ = api.call("DELETE", "/trash/v_del")
    assert status == 404
    # The content hash is free again: the same file can be stored anew.
    status, dup = api.call("POST", "/videos/duplicates", body={"sha256": [sha]})
    assert dup == {"matches": []}


def test_delete_aborts_open_multipart_uploads_of_the_video(api: Any, moto_server: Any) -> None:
    put_via_upload_url(api, "v_delmp", b"pending")
    api.create(videoId="v_delmp")
    # Record is uploaded now: a multipart create for it is refused ...
    status, err = api.call("POST", "/videos/v_delmp/multipart",
                           body={"fileSizeBytes": 6 * 2**20, "partSizeBytes": 5 * 2**20})
    assert status == 409 and err["error"]["code"] == "already_uploaded"
    # ... but one started for a pending record is aborted by delete.
    api.create(videoId="v_delmp2")
    status, mp = api.call("POST", "/videos/v_delmp2/multipart",
                          body={"fileSizeBytes": 6 * 2**20, "partSizeBytes": 5 * 2**20})
    assert status == 201
    status, _ = api.call("DELETE", "/videos/v_delmp2")
    assert status == 200
    uploads = moto_server.s3.list_multipart_uploads(
        Bucket="medispecs-videos", Prefix=f"videos/{api.user}/v_delmp2.").get("Uploads", [])
    assert mp["uploadId"] not in {u["UploadId"] for u in uploads}
    status, err = api.call("GET", f"/videos/v_delmp2/multipart/{mp['uploadId']}/parts")
    assert status == 404 and err["error"]["code"] == "no_such_upload"


def test_get_by_id_is_two_getitems_and_nothing_scans(api: Any) -> None:
    api.create(videoId="v_ops")
    api.ddb_calls.clear()
    status, _ = api.call("GET", "/videos/v_ops")
    assert status == 200
    assert api.ddb_calls == ["GetItem", "GetItem"]
    api.ddb_calls.clear()
    api.call("GET", "/videos", query={"limit": "10"})
    assert api.ddb_calls == ["Query"]


def put_verified(api: Any, video_id: str, data: bytes) -> str:
    """The desktop's upload: a one-part multipart upload with a FULL_OBJECT CRC64NVME."""
    crc = base64.b64encode(crc64nvme(data).to_bytes(8, "big")).decode()
    status, mp = api.call("POST", f"/videos/{video_id}/multipart",
                          body={"fileSizeBytes": len(data), "partSizeBytes": 5 * 2**20})
    assert status == 201, mp
    status, signed = api.call("POST", f"/videos/{video_id}/multipart/{mp['uploadId']}/sign",
                              body={"parts": [{"partNumber": 1, "contentLength": len(data),
                                               "checksumCRC64NVME": crc}]})
    assert status == 200, signed
    part = signed["parts"][0]
    r = requests.put(part["url"], data=data, headers=part["headers"], timeout=30)
    assert r.status_code == 200, r.text
    status, done = api.call("POST", f"/videos/{video_id}/multipart/{mp['uploadId']}/complete",
                            body={"parts": [{"partNumber": 1, "etag": r.headers["ETag"]}],
                                  "checksumCRC64NVME": crc})
    assert status == 200, done
    return crc


def test_duplicates_by_sha256_and_fingerprint(api: Any, other_api: Any, moto_server: Any) -> None:
    data = b"dup" * 333
    sha = hashlib.sha256(data).hexdigest()
    fp = f"{len(data)}:{hashlib.sha256(data).hexdigest()}"
    # a record whose bytes are not verified in the cloud is no duplicate target
    put_via_upload_url(api, "v_dup0", b"unverified")
    unverified_sha = hashlib.sha256(b"unverified").hexdigest()
    api.create(videoId="v_dup0", sha256=unverified_sha)
    status, out = api.call("POST", "/videos/duplicates", body={"sha256": [unverified_sha]})
    assert status == 200 and out == {"matches": []}

    crc = put_verified(api, "v_dup1", data)
    created = api.create(videoId="v_dup1", sha256=sha.upper(), fingerprint=fp, crc64nvme=crc)
    assert created["sha256Verified"] is True

    status, out = api.call("POST", "/videos/duplicates",
                           body={"sha256": [sha, "0" * 64], "fingerprints": [fp, "1:" + "b" * 64]})
    assert status == 200
    assert out == {"matches": [{"sha256": sha, "videoId": "v_dup1"},
                               {"fingerprint": fp, "videoId": "v_dup1"}]}
    # Another user has no such file.
    status, out = other_api.call("POST", "/videos/duplicates", body={"sha256": [sha]})
    assert out == {"matches": []}

    # The same content under another videoId is refused, and its uploaded copy deleted (no
    # object without a record); a fingerprint clash alone is not refused.
    up = put_via_upload_url(api, "v_dup2", data)
    thumb = put_thumbnail(api, "v_dup2")  # sent beside the bytes
    status, err = api.call("POST", "/videos", body={
        "videoId": "v_dup2", "title": "again", "recordedAt": "2025-01-02T00:00:00Z",
        "sha256": sha})
    assert status == 409 and err["error"]["code"] == "duplicate"
    assert "v_dup1" in err["error"]["message"]
    listed = moto_server.s3.list_objects_v2(Bucket="medispecs-videos", Prefix=up["s3Key"])
    assert not listed.get("Contents")
    listed = moto_server.s3.list_objects_v2(Bucket="medispecs-videos", Prefix=thumb)
    assert not listed.get("Contents")  # nor its thumbnail
    put_via_upload_url(api, "v_dup2", data)
    video = api.create(videoId="v_dup2", fingerprint=fp)
    assert video["fingerprint"] == fp
    status, out = api.call("POST", "/videos/duplicates", body={"fingerprints": [fp]})
    assert out["matches"] == [{"fingerprint": fp, "videoId": "v_dup1"}]

    bads: list[dict[str, Any]] = [{"sha256": ["xyz"]}, {"fingerprints": ["nope"]},
                                  {"sha256": "a" * 64}, {"sha256": ["0" * 64] * 101},
                                  {"hashes": []}]
    for bad in bads:
        status, err = api.call("POST", "/videos/duplicates", body=bad)
        assert status == 400, bad


def test_cross_user_isolation(api: Any, other_api: Any) -> None:
    data = b"private"
    put_via_upload_url(api, "v_mine", data)
    api.create(videoId="v_mine")
    for method, path in (("GET", "/videos/v_mine"), ("GET", "/videos/v_mine/playback-url"),
                         ("DELETE", "/videos/v_mine")):
        status, err = other_api.call(method, path)
        assert status == 404, (method, path, err)
    status, err = other_api.call("PATCH", "/videos/v_mine", body={"version": 1, "title": "x"})
    assert status == 404
    status, page = other_api.call("GET", "/videos")
    assert page["items"] == []
    # The same videoId is a different video for someone else (its own S3 key).
    other = other_api.create(videoId="v_mine")
    assert other["status"] == "pending" and other["s3Key"] == f"videos/{other_api.user}/v_mine.mp4"
    # Naming another user is refused, whether in the query or the body.
    status, err = other_api.call("GET", "/videos", query={"userId": api.user})
    assert status == 403 and err["error"]["code"] == "forbidden"
    status, err = other_api.call("POST", "/videos", body={
        "userId": api.user, "title": "t", "recordedAt": "2025-01-01T00:00:00Z"})
    assert status == 403
    status, _ = api.call("GET", "/videos/v_mine", query={"userId": api.user})
    assert status == 200
    # Still there for its owner.
    status, mine = api.call("GET", "/videos/v_mine")
    assert status == 200 and mine["status"] == "uploaded"


def test_upload_url_signs_checksum_and_length(api: Any) -> None:
    data = b"checksummed" * 10
    import base64

    b64 = base64.b64encode(hashlib.sha256(data).digest()).decode()
    status, up = api.call("GET", "/videos/v_ck/upload-url",
                          query={"contentType": "video/quicktime", "size": str(len(data)),
                                 "sha256": b64})
    assert status == 200
    assert up["s3Key"].endswith("/v_ck.mov")
    assert up["headers"] == {"Content-Type": "video/quicktime",
                             "Content-Length": str(len(data)), "x-amz-checksum-sha256": b64}
    signed = up["uploadUrl"].split("X-Amz-SignedHeaders=", 1)[1].split("&", 1)[0]
    assert signed == "content-length%3Bcontent-type%3Bhost%3Bx-amz-checksum-sha256"
    assert up["expiresIn"] == 900
    r = requests.put(up["uploadUrl"], data=data, headers=up["headers"], timeout=30)
    assert r.status_code == 200
    video = api.create(videoId="v_ck", mimeType="video/quicktime")
    assert video["status"] == "uploaded" and video["mimeType"] == "video/quicktime"

    for query in ({"size": "0"}, {"size": "-1"}, {"size": "abc"}, {"size": str(6 * 2**30)},
                  {"sha256": "abc"}, {"contentType": "text/html"}):
        status, err = api.call("GET", "/videos/v_ck2/upload-url", query=query)
        assert status == 400, (query, err)


def test_playback_url_states(api: Any) -> None:
    status, err = api.call("GET", "/videos/v_play/playback-url")
    assert status == 404 and err["error"]["code"] == "not_found"
    api.create(videoId="v_play")
    status, err = api.call("GET", "/videos/v_play/playback-url")
    assert status == 409 and err["error"]["code"] == "not_uploaded"
    put_via_upload_url(api, "v_play", b"0123456789")
    status, pb = api.call("GET", "/videos/v_play/playback-url")
    assert status == 200
    r = requests.get(pb["playbackUrl"], headers={"Range": "bytes=2-5"}, timeout=30)
    assert r.status_code == 206 and r.content == b"2345"


def test_generated_video_id(api: Any, make_app: Callable[..., Any]) -> None:
    video = api.create(title="no id")
    assert video["videoId"].startswith("v_") and len(video["videoId"]) == 34
    assert video["status"] == "pending"


def test_get_confirms_a_pending_record_once_bytes_arrive(api: Any) -> None:
    created = api.create(videoId="v_late", userId=None)  # a null userId counts as absent
    assert created["status"] == "pending"
    put_via_upload_url(api, "v_late", b"late bytes")
    status, video = api.call("GET", "/videos/v_late")
    assert status == 200
    assert video["status"] == "uploaded" and video["fileSizeBytes"] == 10
    assert video["version"] == 1  # the server's own update: no user edit becomes stale
