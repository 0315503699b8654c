"""The server checks the whole-file SHA-256 a client claims on POST /videos against the bytes in
S3 (DESIGN §8 "Verified in cloud"): real moto over HTTP, real bytes through real pre-signed URLs.

What moto does (measured, moto 5.2): it stores a full-object ``ChecksumSHA256`` only for PUTs
that send ``x-amz-sdk-checksum-algorithm`` (boto3's ``put_object(ChecksumAlgorithm="SHA256")``),
not for a pre-signed PUT with just the signed ``x-amz-checksum-sha256`` header, and it never
checks the value; a multipart object's
composite checksum comes back without S3's ``-N`` suffix and without ``ChecksumType``. The
S3-shaped values real S3 returns are covered by the ``ObjectInfo`` tests at the end.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import itertools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from medispecs_desktop.backend.config import (
    DEFAULT_VERIFY_SHA256_MAX_BYTES,
    BackendConfig,
    ConfigError,
)
from medispecs_desktop.backend.handler import App
from medispecs_desktop.backend.storage import ObjectInfo

BUCKET = "medispecs-videos"  # the session bucket of tests/backend/conftest.py
MIB = 2**20
PART = 5 * MIB


def hex_sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def b64_sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


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
    """The default configuration (VERIFY_SHA256_MAX_BYTES = 2 GiB), a fresh user per test."""
    with _handler(_verify_app, type(api)) as handler:
        yield handler


@pytest.fixture(scope="module")
def _small_limit_app(make_app: Callable[..., App]) -> App:
    return make_app(verify_sha256_max_bytes=64 * 1024)


@pytest.fixture
def small(_small_limit_app: App, api: Any) -> Iterator[Handler]:
    """VERIFY_SHA256_MAX_BYTES lowered to 64 KiB."""
    with _handler(_small_limit_app, type(api)) as handler:
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
        body={"parts": [{"partNumber": n, "contentLength": len(c), "checksumSHA256": b64_sha(c)}
                        for n, c in chunks.items()]})
    assert status == 200, signed
    done = []
    for part in signed["parts"]:
        n = part["partNumber"]
        r = requests.put(part["url"], data=chunks[n], headers=part["headers"], timeout=60)
        assert r.status_code == 200, r.text
        done.append({"partNumber": n, "etag": r.headers["ETag"],
                     "checksumSHA256": b64_sha(chunks[n])})
    status, out = api.call("POST", f"/videos/{vid}/multipart/{mp['uploadId']}/complete",
                           body={"parts": done})
    assert status == 200, out
    return str(mp["s3Key"])


def create(api: Any, vid: str, data: bytes, *, sha: str | None = None,
           kind: str = "single") -> tuple[int, Any]:
    body = {"videoId": vid, "title": "clip", "recordedAt": "2025-11-03T14:30:00Z",
            "fileSizeBytes": len(data), "uploadKind": kind, "sha256": sha or hex_sha(data)}
    return api.call("POST", "/videos", body=body)


def object_exists(s3: Any, key: str) -> bool:
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in ("404", "NoSuchKey")
        return False
    return True


# --------------------------------------------------------------------------- verified

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


def test_presigned_single_put_is_verified_by_reading_it_back(
    h: Handler, moto_server: Any
) -> None:
    data = os.urandom(1_500_000)
    upload_single(h.api, "v_put1", data, sha_b64=b64_sha(data))
    h.s3_calls.calls.clear()
    status, video = create(h.api, "v_put1", data)
    assert status == 201, video
    # moto drops the signed checksum of a pre-signed PUT, so the handler reads the object.
    assert video["sha256Verified"] is True and video["sha256VerifiedBy"] == "read"
    assert h.s3_calls.count("GetObject") == 1


def test_multipart_is_verified_by_streaming_the_object(h: Handler, moto_server: Any) -> None:
    data = os.urandom(2 * PART + 4321)  # three parts, more than one 8 MiB read chunk
    key = upload_multipart(h.api, "v_mpv1", data)
    h.s3_calls.calls.clear()
    status, video = create(h.api, "v_mpv1", data, kind="multipart")
    assert status == 201, video
    assert video["status"] == "uploaded" and video["fileSizeBytes"] == len(data)
    assert video["sha256Verified"] is True and video["sha256VerifiedBy"] == "read"
    assert "verifiedAt" in video
    assert h.s3_calls.count("GetObject") == 1
    # idempotent retry: the stored record, not a second read
    h.s3_calls.calls.clear()
    status, again = create(h.api, "v_mpv1", data, kind="multipart")
    assert status == 200 and again == video
    assert h.s3_calls.calls == []
    assert object_exists(moto_server.s3, key)


# --------------------------------------------------------------------------- mismatch

def test_multipart_mismatch_is_409_no_record_object_gone_then_reupload_works(
    h: Handler, moto_server: Any
) -> None:
    data = os.urandom(PART + 999)
    key = upload_multipart(h.api, "v_bad1", data)
    wrong = hex_sha(data + b"!")
    status, err = create(h.api, "v_bad1", data, sha=wrong, kind="multipart")
    assert status == 409, err
    assert err["error"]["code"] == "checksum_mismatch"
    assert "upload the file again" in err["error"]["message"]
    # no record, no duplicate pointer, and nothing left in S3 that could be mistaken for it
    assert h.api.call("GET", "/videos/v_bad1")[0] == 404
    status, dups = h.api.call("POST", "/videos/duplicates", body={"sha256": [wrong]})
    assert status == 200 and dups == {"matches": []}
    assert not object_exists(moto_server.s3, key)
    status, page = h.api.call("GET", "/videos")
    assert status == 200 and page["items"] == []
    # a retry of the same POST now finds no bytes
    status, err = create(h.api, "v_bad1", data, sha=wrong, kind="multipart")
    assert status == 409 and err["error"]["code"] == "not_uploaded"

    # The client re-uploads the same videoId and it is recorded as verified.
    upload_multipart(h.api, "v_bad1", data)
    status, video = create(h.api, "v_bad1", data, kind="multipart")
    assert status == 201 and video["sha256Verified"] is True
    got = moto_server.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert got == data


def test_single_put_mismatch_read_back_is_409(h: Handler, moto_server: Any) -> None:
    data = os.urandom(70_000)
    key = upload_single(h.api, "v_bad2", data)  # the guide's URL: no checksum signed
    status, err = create(h.api, "v_bad2", data, sha=hex_sha(b"x"))
    assert status == 409 and err["error"]["code"] == "checksum_mismatch"
    assert not object_exists(moto_server.s3, key)
    assert h.api.call("GET", "/videos/v_bad2")[0] == 404


def test_size_mismatch_is_checked_before_reading(h: Handler, moto_server: Any) -> None:
    data = os.urandom(10_000)
    key = upload_single(h.api, "v_size", data)
    h.s3_calls.calls.clear()
    status, err = h.api.call("POST", "/videos", body={
        "videoId": "v_size", "title": "t", "recordedAt": "2025-11-03T14:30:00Z",
        "fileSizeBytes": 10_001, "sha256": hex_sha(data), "uploadKind": "single"})
    assert status == 409 and err["error"]["code"] == "size_mismatch"
    assert h.s3_calls.count("GetObject") == 0
    assert object_exists(moto_server.s3, key)


# --------------------------------------------------------------------------- pending records

def test_pending_record_is_promoted_only_with_matching_bytes(h: Handler, moto_server: Any) -> None:
    """The guide's metadata-first flow: the record (with sha256) comes first, bytes later."""
    good = os.urandom(40_000)
    status, video = h.api.call("POST", "/videos", body={
        "videoId": "v_pend1", "title": "t", "recordedAt": "2025-11-03T14:30:00Z",
        "sha256": hex_sha(good)})
    assert status == 201 and video["status"] == "pending" and "sha256Verified" not in video

    key = upload_single(h.api, "v_pend1", os.urandom(40_000))  # wrong bytes
    status, video = h.api.call("GET", "/videos/v_pend1")
    assert status == 200 and video["status"] == "pending" and "sha256Verified" not in video
    assert not object_exists(moto_server.s3, key)  # the wrong bytes are gone
    status, err = h.api.call("GET", "/videos/v_pend1/playback-url")
    assert status == 409 and err["error"]["code"] == "not_uploaded"

    upload_single(h.api, "v_pend1", good)  # a fresh URL is handed out for the retry
    status, video = h.api.call("GET", "/videos/v_pend1")
    assert status == 200 and video["status"] == "uploaded"
    assert video["sha256Verified"] is True and video["sha256VerifiedBy"] == "read"
    assert h.api.call("GET", "/videos/v_pend1/playback-url")[0] == 200


def test_pending_record_mismatch_at_multipart_complete_is_409(
    h: Handler, moto_server: Any
) -> None:
    data = os.urandom(PART + 10)
    status, _ = h.api.call("POST", "/videos", body={
        "videoId": "v_pend2", "title": "t", "recordedAt": "2025-11-03T14:30:00Z",
        "sha256": hex_sha(b"not these bytes")})
    assert status == 201
    status, mp = h.api.call("POST", "/videos/v_pend2/multipart",
                            body={"fileSizeBytes": len(data), "partSizeBytes": PART})
    assert status == 201
    parts = {1: data[:PART], 2: data[PART:]}
    status, signed = h.api.call(
        "POST", f"/videos/v_pend2/multipart/{mp['uploadId']}/sign",
        body={"parts": [{"partNumber": n, "contentLength": len(c), "checksumSHA256": b64_sha(c)}
                        for n, c in parts.items()]})
    done = []
    for p in signed["parts"]:
        r = requests.put(p["url"], data=parts[p["partNumber"]], headers=p["headers"], timeout=60)
        done.append({"partNumber": p["partNumber"], "etag": r.headers["ETag"]})
    status, err = h.api.call("POST", f"/videos/v_pend2/multipart/{mp['uploadId']}/complete",
                             body={"parts": done})
    assert status == 409 and err["error"]["code"] == "checksum_mismatch"
    assert not object_exists(moto_server.s3, mp["s3Key"])
    status, video = h.api.call("GET", "/videos/v_pend2")
    assert status == 200 and video["status"] == "pending"


# --------------------------------------------------------------------------- not compared

def test_multipart_above_the_limit_is_unverified_but_parts_checked(
    small: Handler, moto_server: Any
) -> None:
    data = os.urandom(PART + 2000)
    key = upload_multipart(small.api, "v_big1", data)
    small.s3_calls.calls.clear()
    status, video = create(small.api, "v_big1", data, kind="multipart")
    assert status == 201, video
    assert video["status"] == "uploaded" and video["sha256"] == hex_sha(data)
    assert video["sha256Verified"] is False and video["sha256VerifiedBy"] == "parts"
    assert "verifiedAt" not in video
    assert small.s3_calls.count("GetObject") == 0
    assert object_exists(moto_server.s3, key)


def test_single_put_above_the_limit(small: Handler, moto_server: Any) -> None:
    plain = os.urandom(100_000)
    upload_single(small.api, "v_big2", plain)
    status, video = create(small.api, "v_big2", plain)
    assert status == 201
    assert video["sha256Verified"] is False and video["sha256VerifiedBy"] == "none"

    # ... but a full-object checksum in S3 is compared at any size, without reading.
    summed = os.urandom(100_000)
    key = f"videos/{small.api.user}/v_big3.mp4"
    moto_server.s3.put_object(Bucket=BUCKET, Key=key, Body=summed, ContentType="video/mp4",
                              ChecksumAlgorithm="SHA256",
                              ChecksumSHA256=b64_sha(summed))
    small.s3_calls.calls.clear()
    status, video = create(small.api, "v_big3", summed)
    assert status == 201 and video["sha256VerifiedBy"] == "checksum"
    assert video["sha256Verified"] is True
    moto_server.s3.put_object(Bucket=BUCKET, Key=key.replace("v_big3", "v_big4"), Body=summed,
                              ContentType="video/mp4", ChecksumAlgorithm="SHA256",
                              ChecksumSHA256=b64_sha(summed))
    status, err = create(small.api, "v_big4", summed)  # same bytes, another id: duplicate
    assert status == 409 and err["error"]["code"] == "duplicate"
    assert small.s3_calls.count("GetObject") == 0


def test_small_objects_are_still_read_under_a_lowered_limit(small: Handler) -> None:
    data = os.urandom(60_000)
    upload_single(small.api, "v_small", data)
    status, video = create(small.api, "v_small", data)
    assert status == 201 and video["sha256VerifiedBy"] == "read"


class LambdaContext:
    aws_request_id = "req-deadline"

    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def stepping_app(make_app: Callable[..., App]) -> Iterator[tuple[App, list[float]]]:
    """An App whose monotonic clock advances 10 s at every reading (no real sleeping)."""
    app = make_app()
    readings: list[float] = []
    ticks = itertools.count()

    def monotonic() -> float:
        value = 1000.0 + 10.0 * next(ticks)
        readings.append(value)
        return value

    app.service.monotonic = monotonic
    yield app, readings


def test_reading_stops_before_the_lambda_times_out(
    stepping_app: tuple[App, list[float]], moto_server: Any, api: Any
) -> None:
    app, readings = stepping_app
    with _handler(app, type(api)) as h:
        _check_deadline(app, h, readings)


def _check_deadline(app: App, h: Handler, readings: list[float]) -> None:
    data = os.urandom(2 * PART)  # two 8 MiB reads: the clock runs out after the first
    upload_multipart(h.api, "v_slow", data)
    body = {"videoId": "v_slow", "title": "t", "recordedAt": "2025-11-03T14:30:00Z",
            "fileSizeBytes": len(data), "sha256": hex_sha(data), "uploadKind": "multipart"}
    # 20 s left: deadline = first reading + 20 - 5 s margin; each reading moves 10 s.
    resp = app(h.api.event("POST", "/videos", body=body), LambdaContext(20_000))
    assert resp["statusCode"] == 201, resp["body"]
    video = json.loads(resp["body"])
    assert video["sha256Verified"] is False and video["sha256VerifiedBy"] == "parts"
    assert h.s3_calls.count("GetObject") == 1  # started, then stopped in time
    assert len(readings) == 3  # deadline, check before reading, check after the 1st chunk

    # Without a Lambda context (local gateway) there is no deadline: the read completes.
    other = os.urandom(2 * PART)
    upload_multipart(h.api, "v_slow2", other)
    status, video = create(h.api, "v_slow2", other, kind="multipart")
    assert status == 201 and video["sha256VerifiedBy"] == "read"


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


def test_verify_limit_is_configurable() -> None:
    env = {"TABLE_MAIN": "t", "S3_BUCKET": "b", "S3_REGION": "eu-west-2"}
    assert BackendConfig.from_env(env).verify_sha256_max_bytes == DEFAULT_VERIFY_SHA256_MAX_BYTES
    assert DEFAULT_VERIFY_SHA256_MAX_BYTES == 2 * 1024**3
    cfg = BackendConfig.from_env({**env, "VERIFY_SHA256_MAX_BYTES": "0"})
    assert cfg.verify_sha256_max_bytes == 0
    with pytest.raises(ConfigError, match="VERIFY_SHA256_MAX_BYTES"):
        BackendConfig.from_env({**env, "VERIFY_SHA256_MAX_BYTES": "-1"})
    with pytest.raises(ConfigError, match="VERIFY_SHA256_MAX_BYTES"):
        BackendConfig.from_env({**env, "VERIFY_SHA256_MAX_BYTES": "2GiB"})


# --------------------------------------------------------------------------- faults

def test_object_overwritten_during_the_check_is_a_retryable_409(
    h: Handler, moto_server: Any
) -> None:
    """GetObject pins HeadObject's ETag (IfMatch): bytes replaced in between are never hashed
    as if they were the object HeadObject saw, and nothing is deleted."""
    data = os.urandom(30_000)
    key = upload_single(h.api, "v_race", data)
    replacement = os.urandom(30_000)

    def overwrite(**_: Any) -> None:
        moto_server.s3.put_object(Bucket=BUCKET, Key=key, Body=replacement)

    events = h.api.app.clients.s3.meta.events
    events.register_first("before-call.s3.GetObject", overwrite, unique_id="sha-race")
    try:
        status, err = create(h.api, "v_race", data)
    finally:
        events.unregister("before-call.s3.GetObject", unique_id="sha-race")
    assert status == 409 and err["error"]["code"] == "concurrent_update", err
    assert object_exists(moto_server.s3, key)
    assert h.api.call("GET", "/videos/v_race")[0] == 404
    # the retry checks the bytes now in S3 (the replacement): they are not the file
    status, err = create(h.api, "v_race", data)
    assert status == 409 and err["error"]["code"] == "checksum_mismatch"


@pytest.mark.parametrize("declared_length", [True, False])
def test_a_broken_read_is_a_503_never_a_mismatch(
    h: Handler, moto_server: Any, declared_length: bool
) -> None:
    """A stream cut short (fault injected into the real GetObject response) must not be
    compared: 503 to retry, the object kept, no record."""
    from botocore.response import StreamingBody

    data = os.urandom(50_000)
    vid = f"v_cut{int(declared_length)}"
    key = upload_single(h.api, vid, data)

    def truncate(parsed: dict[str, Any], **_: Any) -> None:
        body = parsed["Body"].read()
        short = io.BytesIO(body[: len(body) // 2])
        # botocore takes None for "no Content-Length": the stubs say int
        parsed["Body"] = StreamingBody(
            short, len(body) if declared_length else None)  # type: ignore[arg-type]

    events = h.api.app.clients.s3.meta.events
    events.register("after-call.s3.GetObject", truncate, unique_id="sha-cut")
    try:
        status, err = create(h.api, vid, data)
    finally:
        events.unregister("after-call.s3.GetObject", unique_id="sha-cut")
    assert status == 503 and err["error"]["code"] == "service_unavailable", err
    assert object_exists(moto_server.s3, key)
    assert h.api.call("GET", f"/videos/{vid}")[0] == 404
    status, video = create(h.api, vid, data)  # the retry reads it whole
    assert status == 201 and video["sha256VerifiedBy"] == "read"
