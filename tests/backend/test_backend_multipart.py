"""Multipart through pre-signed part URLs: real bytes over HTTP to moto, then S3 limits and
error mapping."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from awscrt.checksums import crc64nvme

from medispecs_desktop.backend.storage import PartInfo

MIB = 2**20
PART = 5 * MIB


def b64sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def b64crc(data: bytes) -> str:
    return base64.b64encode(crc64nvme(data).to_bytes(8, "big")).decode()


def start(api: Any, vid: str, size: int, part: int = PART) -> dict[str, Any]:
    status, mp = api.call("POST", f"/videos/{vid}/multipart",
                          body={"fileSizeBytes": size, "partSizeBytes": part,
                                "contentType": "video/mp4"})
    assert status == 201, mp
    return mp


def sign(api: Any, vid: str, upload_id: str, chunks: dict[int, bytes]) -> dict[int, dict]:
    parts = [{"partNumber": n, "contentLength": len(c), "checksumCRC64NVME": b64crc(c)}
             for n, c in chunks.items()]
    status, out = api.call("POST", f"/videos/{vid}/multipart/{upload_id}/sign",
                           body={"parts": parts})
    assert status == 200, out
    return {p["partNumber"]: p for p in out["parts"]}


def put_part(signed: dict[str, Any], data: bytes) -> str:
    r = requests.put(signed["url"], data=data, headers=signed["headers"], timeout=60)
    assert r.status_code == 200, r.text
    return r.headers["ETag"]


def test_multipart_end_to_end_bytes_identical(api: Any, moto_server: Any) -> None:
    data = os.urandom(2 * PART + 123_457)
    chunks = {1: data[:PART], 2: data[PART:2 * PART], 3: data[2 * PART:]}
    mp = start(api, "v_mp1", len(data))
    assert mp["partCount"] == 3 and mp["partSizeBytes"] == PART
    assert mp["s3Key"] == f"videos/{api.user}/v_mp1.mp4"
    uid = mp["uploadId"]

    signed = sign(api, "v_mp1", uid, chunks)
    for n, s in signed.items():
        assert s["headers"] == {"Content-Length": str(len(chunks[n])),
                                "x-amz-checksum-crc64nvme": b64crc(chunks[n])}
        query = parse_qs(urlsplit(s["url"]).query)
        assert query["X-Amz-SignedHeaders"] == ["content-length;host;x-amz-checksum-crc64nvme"]
        assert query["partNumber"] == [str(n)] and query["uploadId"] == [uid]

    # Upload parts 1 and 3, "crash", then resume from ListParts.
    etags = {1: put_part(signed[1], chunks[1]), 3: put_part(signed[3], chunks[3])}
    status, listed = api.call("GET", f"/videos/v_mp1/multipart/{uid}/parts")
    assert status == 200
    assert [(p["partNumber"], p["size"]) for p in listed["parts"]] == [
        (1, PART), (3, len(chunks[3]))]
    assert [p["etag"] for p in listed["parts"]] == [etags[1], etags[3]]
    # Re-sign the missing part (a fresh URL, as after expiry) and send it.
    etags[2] = put_part(sign(api, "v_mp1", uid, {2: chunks[2]})[2], chunks[2])

    whole = b64crc(data)
    # Completing with a part missing is refused before S3 is asked.
    status, err = api.call("POST", f"/videos/v_mp1/multipart/{uid}/complete",
                           body={"parts": [{"partNumber": 1, "etag": etags[1]},
                                           {"partNumber": 3, "etag": etags[3]}],
                                 "checksumCRC64NVME": whole})
    assert status == 400 and err["error"]["code"] == "size_mismatch"
    # A wrong ETag is S3's InvalidPart.
    status, err = api.call("POST", f"/videos/v_mp1/multipart/{uid}/complete",
                           body={"parts": [{"partNumber": n, "etag": '"0000"'} for n in (1, 2, 3)],
                                 "checksumCRC64NVME": whole})
    assert status == 400 and err["error"]["code"] == "invalid_part"

    # Parts in any order, with checksums: completed ascending.
    body = {"parts": [{"partNumber": n, "etag": etags[n], "checksumCRC64NVME": b64crc(chunks[n])}
                      for n in (3, 1, 2)], "checksumCRC64NVME": whole}
    status, done = api.call("POST", f"/videos/v_mp1/multipart/{uid}/complete", body=body)
    assert status == 200, done
    assert done == {"videoId": "v_mp1", "s3Key": mp["s3Key"], "fileSizeBytes": len(data)}
    got = moto_server.s3.get_object(Bucket="medispecs-videos", Key=mp["s3Key"])["Body"].read()
    assert got == data
    head = moto_server.s3.head_object(Bucket="medispecs-videos", Key=mp["s3Key"],
                                      ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == whole and head["ChecksumType"] == "FULL_OBJECT"

    # The session is gone: further calls on it are 404, abort stays idempotent.
    status, err = api.call("GET", f"/videos/v_mp1/multipart/{uid}/parts")
    assert status == 404 and err["error"]["code"] == "no_such_upload"
    status, out = api.call("DELETE", f"/videos/v_mp1/multipart/{uid}")
    assert status == 200 and out == {"aborted": uid}

    video = api.create(videoId="v_mp1", sha256=hashlib.sha256(data).hexdigest(),
                       crc64nvme=whole, fileSizeBytes=len(data), uploadKind="multipart",
                       durationSec=60)
    assert video["status"] == "uploaded" and video["fileSizeBytes"] == len(data)
    # verified at any size, without reading the object back
    assert video["sha256Verified"] is True and video["sha256VerifiedBy"] == "crc64nvme"
    assert video["crc64nvme"] == whole
    status, err = api.call("POST", "/videos/v_mp1/multipart",
                           body={"fileSizeBytes": len(data), "partSizeBytes": PART})
    assert status == 409 and err["error"]["code"] == "already_uploaded"


def test_single_part_multipart_and_pending_record_promoted(api: Any) -> None:
    api.create(videoId="v_mp2")  # the guide's metadata-first record (pending)
    data = os.urandom(1000)
    mp = start(api, "v_mp2", len(data))
    assert mp["partCount"] == 1
    etag = put_part(sign(api, "v_mp2", mp["uploadId"], {1: data})[1], data)
    status, done = api.call("POST", f"/videos/v_mp2/multipart/{mp['uploadId']}/complete",
                            body={"parts": [{"partNumber": 1, "etag": etag}],
                                  "checksumCRC64NVME": b64crc(data)})
    assert status == 200 and done["fileSizeBytes"] == 1000
    status, video = api.call("GET", "/videos/v_mp2")
    assert video["status"] == "uploaded" and video["fileSizeBytes"] == 1000


def test_abort_is_idempotent_and_scoped_to_the_caller(api: Any, other_api: Any,
                                                       moto_server: Any) -> None:
    mp = start(api, "v_mp3", 6 * MIB)
    uid = mp["uploadId"]
    # Someone else cannot see, sign, complete or abort it.
    status, _ = other_api.call("GET", f"/videos/v_mp3/multipart/{uid}/parts")
    assert status == 404
    status, _ = other_api.call("POST", f"/videos/v_mp3/multipart/{uid}/sign", body={"parts": [
        {"partNumber": 1, "contentLength": PART, "checksumCRC64NVME": b64crc(b"x")}]})
    assert status == 404
    status, _ = other_api.call("DELETE", f"/videos/v_mp3/multipart/{uid}")
    assert status == 200
    mine = f"videos/{api.user}/v_mp3."  # this test's own key: other tests share the bucket
    uploads = moto_server.s3.list_multipart_uploads(Bucket="medispecs-videos",
                                                    Prefix=mine)["Uploads"]
    assert uid in {u["UploadId"] for u in uploads}
    # The owner aborts it, twice.
    for _ in range(2):
        status, out = api.call("DELETE", f"/videos/v_mp3/multipart/{uid}")
        assert status == 200 and out == {"aborted": uid}
    uploads = moto_server.s3.list_multipart_uploads(Bucket="medispecs-videos",
                                                    Prefix=mine).get("Uploads", [])
    assert uid not in {u["UploadId"] for u in uploads}
    status, err = api.call("POST", f"/videos/v_mp3/multipart/{uid}/complete",
                           body={"parts": [{"partNumber": 1, "etag": "x"}]})
    assert status == 404 and err["error"]["code"] == "no_such_upload"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"fileSizeBytes": 10 * MIB, "partSizeBytes": 4 * MIB}, "validation_error"),
        ({"fileSizeBytes": 10 * MIB, "partSizeBytes": 6 * 2**30}, "validation_error"),
        ({"fileSizeBytes": 0, "partSizeBytes": PART}, "validation_error"),
        ({"fileSizeBytes": 10_001 * PART, "partSizeBytes": PART}, "too_many_parts"),
        ({"fileSizeBytes": 60 * 2**30, "partSizeBytes": 64 * MIB}, "too_large"),
        ({"fileSizeBytes": "10", "partSizeBytes": PART}, "validation_error"),
        ({"fileSizeBytes": 10 * MIB}, "validation_error"),
        ({"fileSizeBytes": 10 * MIB, "partSizeBytes": PART, "parts": 2}, "unknown_field"),
        ({"fileSizeBytes": 10 * MIB, "partSizeBytes": PART, "contentType": "text/x"},
         "unsupported_content_type"),
    ],
)
def test_multipart_create_limits(api: Any, body: dict[str, Any], code: str) -> None:
    status, err = api.call("POST", "/videos/v_lim/multipart", body=body)
    assert status == 400 and err["error"]["code"] == code, err


def test_max_upload_bytes_is_configurable(make_app: Callable[..., Any]) -> None:
    app = make_app(max_upload_bytes=8 * MIB)
    event: dict[str, Any] = {
        "requestContext": {"http": {"method": "POST", "path": "/videos/v_cap/multipart"},
                           "authorizer": {"jwt": {"claims": {"sub": "cap-user"}}}},
        "body": '{"fileSizeBytes": 9437184, "partSizeBytes": 5242880}',
    }
    resp = app(event, None)
    assert resp["statusCode"] == 400 and '"too_large"' in resp["body"]
    event["requestContext"]["http"]["path"] = "/videos/v_cap/upload-url"
    event["requestContext"]["http"]["method"] = "GET"
    event["queryStringParameters"] = {"size": str(9 * MIB)}
    resp = app(event, None)
    assert resp["statusCode"] == 400 and '"invalid_size"' in resp["body"]


def test_sign_validation(api: Any) -> None:
    size = 2 * PART + 10
    mp = start(api, "v_sig", size)
    uid = mp["uploadId"]
    ck = b64crc(b"whatever")

    def sign_status(parts: Any) -> tuple[int, Any]:
        return api.call("POST", f"/videos/v_sig/multipart/{uid}/sign", body={"parts": parts})

    cases = [
        ([{"partNumber": 1, "contentLength": PART - 1, "checksumCRC64NVME": ck}],
         "invalid_part_size"),
        ([{"partNumber": 3, "contentLength": 11, "checksumCRC64NVME": ck}], "invalid_part_size"),
        ([{"partNumber": 4, "contentLength": 10, "checksumCRC64NVME": ck}], "invalid_part_number"),
        ([{"partNumber": 1, "contentLength": PART, "checksumCRC64NVME": "abc"}],
         "invalid_checksum"),
        ([{"partNumber": 1, "contentLength": PART}], "validation_error"),
        ([{"partNumber": 1, "contentLength": PART, "checksumCRC64NVME": ck}] * 2, "duplicate_part"),
        ([{"partNumber": n, "contentLength": PART, "checksumCRC64NVME": ck} for n in range(1, 102)],
         "too_many_items"),
        ([], "validation_error"),
        ("1,2", "validation_error"),
        ([1, 2], "validation_error"),
    ]
    for parts, code in cases:
        status, err = sign_status(parts)
        assert status == 400 and err["error"]["code"] == code, (parts, err)
    status, ok = sign_status([{"partNumber": 3, "contentLength": 10, "checksumCRC64NVME": ck}])
    assert status == 200 and ok["parts"][0]["headers"]["Content-Length"] == "10"
    status, err = api.call("POST", "/videos/v_sig/multipart/not-an-upload/sign",
                           body={"parts": [{"partNumber": 1, "contentLength": PART,
                                            "checksumCRC64NVME": ck}]})
    assert status == 404 and err["error"]["code"] == "no_such_upload"
    status, err = api.call("GET", "/videos/v_sig/multipart/bad%2Fid/parts")
    assert status == 400 and err["error"]["code"] == "invalid_upload_id"
    api.call("DELETE", f"/videos/v_sig/multipart/{uid}")


def test_complete_validation(api: Any) -> None:
    mp = start(api, "v_cmp", PART + 5)
    uid = mp["uploadId"]
    ck = b64crc(b"whatever")
    for body, code in (
        ({"parts": []}, "validation_error"),
        ({}, "validation_error"),
        ({"parts": [{"partNumber": 1}]}, "validation_error"),
        ({"parts": [{"partNumber": 1, "etag": "a"}, {"partNumber": 1, "etag": "b"}]},
         "duplicate_part"),
        ({"parts": [{"partNumber": 1, "etag": "a", "checksumCRC64NVME": "zz"}]},
         "invalid_checksum"),
        ({"parts": [{"partNumber": 1, "etag": "a"}]}, "invalid_part"),  # not uploaded yet
    ):
        sent: dict[str, Any] = {"checksumCRC64NVME": ck, **body} if body else {}
        status, err = api.call("POST", f"/videos/v_cmp/multipart/{uid}/complete", body=sent)
        assert status == 400 and err["error"]["code"] == code, (sent, err)
    api.call("DELETE", f"/videos/v_cmp/multipart/{uid}")



def test_completing_every_part_with_its_crc_asks_s3_once(api: Any, app: Any,
                                                        moto_server: Any) -> None:
    """The app lists every part with its CRC64NVME: the handler completes without listing the
    parts first (one S3 round trip less after the last byte). A part it never sent is still
    refused as S3 refuses it (400 ``invalid_part``), and the upload stays open for it."""
    asked: list[str] = []

    def record(event_name: str, **_: Any) -> None:
        asked.append(event_name.rsplit(".", 1)[-1])

    s3_events = app.clients.s3.meta.events
    s3_events.register("before-call.s3", record)
    try:
        data = os.urandom(2 * PART + 4321)
        chunks = {1: data[:PART], 2: data[PART:2 * PART], 3: data[2 * PART:]}
        mp = start(api, "v_cmp1", len(data))
        uid = mp["uploadId"]
        signed = sign(api, "v_cmp1", uid, chunks)
        etags = {n: put_part(signed[n], chunks[n]) for n in (1, 3)}
        listed = [{"partNumber": n, "etag": etags.get(n, '"0000"'),
                   "checksumCRC64NVME": b64crc(chunks[n])} for n in (1, 2, 3)]
        body = {"parts": listed, "checksumCRC64NVME": b64crc(data)}
        asked.clear()
        status, err = api.call("POST", f"/videos/v_cmp1/multipart/{uid}/complete", body=body)
        assert status == 400 and err["error"]["code"] == "invalid_part", err
        assert "ListParts" not in asked and "CompleteMultipartUpload" in asked
        etags[2] = put_part(signed[2], chunks[2])  # the upload is still open: part 2 goes in
        listed[1]["etag"] = etags[2]
        asked.clear()
        status, done = api.call("POST", f"/videos/v_cmp1/multipart/{uid}/complete", body=body)
        assert status == 200, done
        assert done["fileSizeBytes"] == len(data) and "ListParts" not in asked
        got = moto_server.s3.get_object(Bucket="medispecs-videos", Key=mp["s3Key"])
        assert got["Body"].read() == data
    finally:
        s3_events.unregister("before-call.s3", record)


def test_storage_maps_entity_too_small(app: Any, moto_server: Any) -> None:
    """S3's EntityTooSmall (a non-last part under 5 MiB) becomes 400 entity_too_small."""
    storage = app.service.storage
    key = "videos/storage-test/v_small.mp4"
    uid = storage.create_multipart(key, content_type="video/mp4")
    etags = []
    for n, chunk in ((1, b"a" * 100), (2, b"b" * 100)):
        url = storage.presign_part(key, uid, n, len(chunk), b64crc(chunk))
        etags.append(requests.put(url, data=chunk, headers={
            "Content-Length": str(len(chunk)), "x-amz-checksum-crc64nvme": b64crc(chunk)},
            timeout=30).headers["ETag"])
    from medispecs_desktop.backend.errors import BadRequest

    with pytest.raises(BadRequest) as info:
        storage.complete_multipart(key, uid, [PartInfo(n + 1, e, 100)
                                              for n, e in enumerate(etags)],
                                   checksum_crc64nvme=b64crc(b"a" * 100 + b"b" * 100))
    assert info.value.code == "entity_too_small"
    storage.abort_multipart(key, uid)
    storage.abort_multipart(key, uid)  # idempotent


def test_a_wrong_whole_file_crc64nvme_is_refused_and_leaves_nothing(
        api: Any, moto_server: Any) -> None:
    """S3 refuses a completion whose full-object CRC64NVME is not the parts' (moto does not
    check: the handler compares the CRC64NVME moto computed from the stored bytes). The upload
    is aborted and no object is left: the client sends the file again as a new upload."""
    data = os.urandom(PART + 777)
    chunks = {1: data[:PART], 2: data[PART:]}
    mp = start(api, "v_mpbad", len(data))
    uid = mp["uploadId"]
    signed = sign(api, "v_mpbad", uid, chunks)
    etags = {n: put_part(signed[n], c) for n, c in chunks.items()}
    wrong = b64crc(data[:-1] + bytes([data[-1] ^ 1]))
    status, err = api.call("POST", f"/videos/v_mpbad/multipart/{uid}/complete", body={
        "parts": [{"partNumber": n, "etag": e} for n, e in etags.items()],
        "checksumCRC64NVME": wrong})
    assert status == 409 and err["error"]["code"] == "checksum_mismatch", err
    listed = moto_server.s3.list_objects_v2(Bucket="medispecs-videos", Prefix=mp["s3Key"])
    assert not listed.get("Contents")
    uploads = moto_server.s3.list_multipart_uploads(Bucket="medispecs-videos").get("Uploads", [])
    assert uid not in {u["UploadId"] for u in uploads}
    status, err = api.call("GET", f"/videos/v_mpbad/multipart/{uid}/parts")
    assert status == 404 and err["error"]["code"] == "no_such_upload"
