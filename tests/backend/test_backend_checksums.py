"""DESIGN §8 "Verified in cloud" (revised 2026-12) on POST /videos: S3's full-object CRC64NVME
equals the one the client computed from the file, at any size, and the server never reads an
object back. Real moto over HTTP, real bytes through real pre-signed URLs.

What moto does (measured, moto 5.2): for a multipart upload created with ``ChecksumAlgorithm=
CRC64NVME, ChecksumType=FULL_OBJECT`` it computes the whole object's CRC64NVME from the bytes it
stores at completion and HeadObject (``ChecksumMode=ENABLED``) reports it with ``ChecksumType:
FULL_OBJECT`` -- a value derived from the stored bytes, so comparing it with the client's keeps
the local stack truthful even though moto does not refuse a wrong value at completion (the
handler does, and the strict S3 proxy of the engine tests refuses it as S3 does). moto keeps no
checksum for a pre-signed single PUT (only with ``x-amz-sdk-checksum-algorithm``), so the
desktop sends every file as a multipart upload (one part for a small file).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from awscrt.checksums import crc64nvme
from botocore.exceptions import ClientError

from medispecs_desktop.backend.handler import App
from medispecs_desktop.backend.storage import ObjectInfo

BUCKET = "medispecs-videos"  # the session bucket of tests/backend/conftest.py
MIB = 2**20
PART = 5 * MIB


def hex_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64_sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def b64_crc(data: bytes) -> str:
    return base64.b64encode(crc64nvme(data).to_bytes(8, "big")).decode()


@dataclass
class S3Calls:
    """S3 operations one App's client made (botocore ``before-call`` hook)."""

    calls: list[str] = field(default_factory=list)

    def __call__(self, event_name: str, **_: Any) -> None:
        self.calls.append(event_name.rsplit(".", 1)[-1])

    def count(self, op: str) -> int:
        return self.calls.count(op)


@dataclass
class Handler:
    api: Any  # conftest's Api: calls the handler, checks answers against openapi.yaml
    s3_calls: S3Calls


@contextlib.contextmanager
def _handler(app: App, api_type: type) -> Iterator[Handler]:
    """A fresh user on ``app`` (own partition and S3 prefix) with its S3 calls recorded."""
    recorder = S3Calls()
    uid = f"s3-calls-{id(recorder)}"
    events = app.clients.s3.meta.events
    events.register("before-call.s3", recorder, unique_id=uid)
    try:
        yield Handler(api_type(app, ddb_calls=[]), recorder)
    finally:
        events.unregister("before-call.s3", unique_id=uid)


@pytest.fixture(scope="module")
def _verify_app(make_app: Callable[..., App]) -> App:
    return make_app()


@pytest.fixture
def h(_verify_app: App, api: Any) -> Iterator[Handler]:
    """The default configuration, a fresh user per test."""
    with _handler(_verify_app, type(api)) as handler:
        yield handler


def upload_single(api: Any, vid: str, data: bytes, *, sha_b64: str | None = None) -> str:
    """The desktop's single-PUT path: upload-url (optionally with the signed checksum), then a
    real PUT of the bytes to the pre-signed URL. Returns the S3 key."""
    query = {"contentType": "video/mp4", "size": str(len(data))}
    if sha_b64 is not None:
        query["sha256"] = sha_b64
    status, info = api.call("GET", f"/videos/{vid}/upload-url", query=query)
    assert status == 200, info
    r = requests.put(info["uploadUrl"], data=data, headers=info["headers"], timeout=60)
    assert r.status_code == 200, r.text
    return str(info["s3Key"])


def upload_multipart(api: Any, vid: str, data: bytes) -> str:
    """The desktop's multipart path through pre-signed part URLs; returns the S3 key."""
    status, mp = api.call("POST", f"/videos/{vid}/multipart",
                          body={"fileSizeBytes": len(data), "partSizeBytes": PART,
                                "contentType": "video/mp4"})
    assert status == 201, mp
    chunks = {n + 1: data[o:o + PART] for n, o in enumerate(range(0, len(data), PART))}
    status, signed = api.call(
        "POST", f"/videos/{vid}/multipart/{mp['uploadId']}/sign",
        body={"parts": [{"partNumber": n, "contentLength": len(c),
                         "checksumCRC64NVME": b64_crc(c)} for n, c in chunks.items()]})
    assert status == 200, signed
    done = []
    for part in signed["parts"]:
        n = part["partNumber"]
        r = requests.put(part["url"], data=chunks[n], headers=part["headers"], timeout=60)
        assert r.status_code == 200, r.text
        done.append({"partNumber": n, "etag": r.headers["ETag"],
                     "checksumCRC64NVME": b64_crc(chunks[n])})
    status, out = api.call("POST", f"/videos/{vid}/multipart/{mp['uploadId']}/complete",
                           body={"parts": done, "checksumCRC64NVME": b64_crc(data)})
    assert status == 200, out
    return str(mp["s3Key"])


def create(api: Any, vid: str, data: bytes, *, sha: str | None = None,
           kind: str = "single", crc: str | None = None) -> tuple[int, Any]:
    body = {"videoId": vid, "title": "clip", "recordedAt": "2025-11-03T14:30:00Z",
            "fileSizeBytes": len(data), "uploadKind": kind, "sha256": sha or hex_sha(data)}
    if crc is not None:
        body["crc64nvme"] = crc
    return api.call("POST", "/videos", body=body)


def object_exists(s3: Any, key: str) -> bool:
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in ("404", "NoSuchKey")
        return False
    return True


# --------------------------------------------------------------------------- single PUT SHA-256

def test_single_put_with_s3_checksum_is_verified_without_reading(
    h: Handler, moto_server: Any
) -> None:
    data = os.urandom(300_000)
    key = f"videos/{h.api.user}/v_sum1.mp4"
    # With x-amz-sdk-checksum-algorithm moto keeps the full-object checksum, as S3 does for
    # every PUT carrying a (signed) x-amz-checksum-sha256.
    moto_server.s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType="video/mp4",
                              ChecksumAlgorithm="SHA256", ChecksumSHA256=b64_sha(data))
    h.s3_calls.calls.clear()
    status, video = create(h.api, "v_sum1", data)
    assert status == 201, video
    assert video["status"] == "uploaded" and video["sha256"] == hex_sha(data)
    assert video["sha256Verified"] is True and video["sha256VerifiedBy"] == "checksum"
    assert video["verifiedAt"] == video["createdAt"]
    assert h.s3_calls.count("GetObject") == 0, h.s3_calls.calls
    assert h.s3_calls.count("HeadObject") == 2  # the video (with checksums) + its thumbnail

    # Reads of a verified record touch S3 no more than before (no re-verification).
    h.s3_calls.calls.clear()
    status, got = h.api.call("GET", "/videos/v_sum1")
    assert status == 200 and got["sha256Verified"] is True
    status, page = h.api.call("GET", "/videos")
    assert status == 200 and page["items"][0]["sha256VerifiedBy"] == "checksum"
    assert h.s3_calls.calls == []


def test_single_put_checksum_mismatch_is_409_without_reading(
    h: Handler, moto_server: Any
) -> None:
    data = os.urandom(200_000)
    key = f"videos/{h.api.user}/v_sum2.mp4"
    moto_server.s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType="video/mp4",
                              ChecksumAlgorithm="SHA256", ChecksumSHA256=b64_sha(data))
    claimed = hex_sha(b"another file")
    h.s3_calls.calls.clear()
    status, err = create(h.api, "v_sum2", data, sha=claimed)
    assert status == 409 and err["error"]["code"] == "checksum_mismatch"
    assert hex_sha(data) in err["error"]["message"] and claimed in err["error"]["message"]
    assert h.s3_calls.count("GetObject") == 0
    assert not object_exists(moto_server.s3, key)
    assert h.api.call("GET", "/videos/v_sum2")[0] == 404


def test_size_mismatch_is_409_and_keeps_nothing_unchecked(h: Handler, moto_server: Any) -> None:
    data = os.urandom(10_000)
    key = upload_single(h.api, "v_size", data)
    h.s3_calls.calls.clear()
    status, err = h.api.call("POST", "/videos", body={
        "videoId": "v_size", "title": "t", "recordedAt": "2025-11-03T14:30:00Z",
        "fileSizeBytes": 10_001, "sha256": hex_sha(data), "uploadKind": "single"})
    assert status == 409 and err["error"]["code"] == "size_mismatch"
    assert h.s3_calls.count("GetObject") == 0
    assert object_exists(moto_server.s3, key)


# --------------------------------------------------------------------------- CRC64NVME

def test_multipart_is_verified_by_s3s_full_object_crc64nvme_without_reading(
    h: Handler, moto_server: Any
) -> None:
    data = os.urandom(2 * PART + 4321)
    key = upload_multipart(h.api, "v_crc1", data)
    h.s3_calls.calls.clear()
    status, video = create(h.api, "v_crc1", data, kind="multipart", crc=b64_crc(data))
    assert status == 201, video
    assert video["status"] == "uploaded" and video["fileSizeBytes"] == len(data)
    assert video["sha256Verified"] is True and video["sha256VerifiedBy"] == "crc64nvme"
    assert video["sha256"] == hex_sha(data) and video["crc64nvme"] == b64_crc(data)
    assert video["verifiedAt"] == video["createdAt"]
    assert h.s3_calls.count("GetObject") == 0, h.s3_calls.calls  # never read back
    assert object_exists(moto_server.s3, key)


def test_a_crc64nvme_that_is_not_the_objects_is_409_and_the_object_goes(
    h: Handler, moto_server: Any
) -> None:
    data = os.urandom(PART + 10)
    key = upload_multipart(h.api, "v_crc2", data)
    other = b64_crc(data + b"x")
    status, err = create(h.api, "v_crc2", data, kind="multipart", crc=other)
    assert status == 409 and err["error"]["code"] == "checksum_mismatch"
    assert other in err["error"]["message"]
    assert not object_exists(moto_server.s3, key)
    assert h.api.call("GET", "/videos/v_crc2")[0] == 404
    # the file sent again is accepted
    upload_multipart(h.api, "v_crc2", data)
    status, video = create(h.api, "v_crc2", data, kind="multipart", crc=b64_crc(data))
    assert status == 201 and video["sha256VerifiedBy"] == "crc64nvme"


def test_an_object_replaced_after_the_upload_is_not_taken_for_the_file(
    h: Handler, moto_server: Any
) -> None:
    """Bytes written over the upload by something else (no CRC64NVME of the file's) are
    refused, never recorded as verified."""
    data = os.urandom(PART + 99)
    key = upload_multipart(h.api, "v_crc3", data)
    moto_server.s3.put_object(Bucket=BUCKET, Key=key, Body=data[:-1] + b"!",
                              ContentType="video/mp4")
    status, err = create(h.api, "v_crc3", data, kind="multipart", crc=b64_crc(data))
    assert status == 409 and err["error"]["code"] == "checksum_mismatch"
    assert not object_exists(moto_server.s3, key)


def test_without_a_full_object_checksum_a_record_is_not_verified(h: Handler) -> None:
    """A pre-signed single PUT that S3 keeps no checksum for (the guide's flow, on moto): the
    record is created, and says honestly that nothing was compared."""
    data = os.urandom(50_000)
    upload_single(h.api, "v_plain", data)
    h.s3_calls.calls.clear()
    status, video = create(h.api, "v_plain", data)
    assert status == 201 and video["status"] == "uploaded"
    assert video["sha256Verified"] is False and video["sha256VerifiedBy"] == "none"
    assert h.s3_calls.count("GetObject") == 0


def test_single_put_url_signs_the_crc64nvme(h: Handler) -> None:
    data = os.urandom(1000)
    status, info = h.api.call("GET", "/videos/v_sput/upload-url", query={
        "contentType": "video/mp4", "size": str(len(data)), "crc64nvme": b64_crc(data)})
    assert status == 200, info
    assert info["headers"]["x-amz-checksum-crc64nvme"] == b64_crc(data)
    signed = parse_qs(urlsplit(info["uploadUrl"]).query)["X-Amz-SignedHeaders"][0].split(";")
    assert "x-amz-checksum-crc64nvme" in signed
    for bad, code in (({"crc64nvme": "abc"}, "invalid_checksum"),
                      ({"crc64nvme": b64_crc(data), "sha256": b64_sha(data)},
                       "conflicting_checksums")):
        status, err = h.api.call("GET", "/videos/v_sput/upload-url", query={
            "contentType": "video/mp4", "size": "1000", **bad})
        assert status == 400 and err["error"]["code"] == code, bad


# --------------------------------------------------------------------------- pending records

def test_pending_record_is_promoted_only_with_matching_bytes(h: Handler, moto_server: Any) -> None:
    """The guide's metadata-first flow: the record (with crc64nvme) comes first, bytes later."""
    good = os.urandom(PART + 40)
    status, video = h.api.call("POST", "/videos", body={
        "videoId": "v_pend1", "title": "t", "recordedAt": "2025-11-03T14:30:00Z",
        "sha256": hex_sha(good), "crc64nvme": b64_crc(good)})
    assert status == 201 and video["status"] == "pending" and "sha256Verified" not in video

    with pytest.raises(AssertionError):  # wrong bytes: refused at completion, nothing kept
        upload_multipart(h.api, "v_pend1", os.urandom(PART + 40))
    status, video = h.api.call("GET", "/videos/v_pend1")
    assert status == 200 and video["status"] == "pending" and "sha256Verified" not in video
    assert not object_exists(moto_server.s3, video["s3Key"])
    status, err = h.api.call("GET", "/videos/v_pend1/playback-url")
    assert status == 409 and err["error"]["code"] == "not_uploaded"

    upload_multipart(h.api, "v_pend1", good)
    status, video = h.api.call("GET", "/videos/v_pend1")
    assert status == 200 and video["status"] == "uploaded"
    assert video["sha256Verified"] is True and video["sha256VerifiedBy"] == "crc64nvme"
    assert h.api.call("GET", "/videos/v_pend1/playback-url")[0] == 200


# --------------------------------------------------------------------------- S3's shapes

@pytest.mark.parametrize(
    ("info", "full", "parts_ok"),
    [
        # real S3, single PUT with x-amz-checksum-sha256
        (ObjectInfo(5, None, '"abc"', "A" * 43 + "=", "FULL_OBJECT"), "A" * 43 + "=", False),
        # real S3, multipart with SHA-256 parts: composite "-N" and COMPOSITE
        (ObjectInfo(5, None, '"abc-3"', "B" * 43 + "=-3", "COMPOSITE"), None, True),
        # composite whose part count disagrees with the ETag: not trusted
        (ObjectInfo(5, None, '"abc-3"', "B" * 43 + "=-2", "COMPOSITE"), None, False),
        # moto: composite without suffix or type, told apart by the multipart ETag
        (ObjectInfo(5, None, '"abc-2"', "C" * 43 + "=", None), None, True),
        # moto: single PUT whose checksum it kept
        (ObjectInfo(5, None, '"abc"', "D" * 43 + "=", None), "D" * 43 + "=", False),
        # no checksum at all
        (ObjectInfo(5, None, '"abc"', None, None), None, False),
        (ObjectInfo(5, None, '"abc-4"', None, None), None, False),
    ],
)
def test_object_info_reads_s3_checksum_shapes(
    info: ObjectInfo, full: str | None, parts_ok: bool
) -> None:
    assert info.full_object_sha256 == full
    assert info.all_parts_checksummed is parts_ok


def test_object_info_full_object_crc64nvme() -> None:
    crc = "AAAAAAAAAAA="
    assert ObjectInfo(5, None, '"a-2"', checksum_type="FULL_OBJECT",
                      checksum_crc64nvme=crc).full_object_crc64nvme == crc
    assert ObjectInfo(5, None, '"a"', checksum_crc64nvme=crc).full_object_crc64nvme == crc
    assert ObjectInfo(5, None, '"a-2"', checksum_type="COMPOSITE",
                      checksum_crc64nvme=crc).full_object_crc64nvme is None
    assert ObjectInfo(5, None, '"a"').full_object_crc64nvme is None
