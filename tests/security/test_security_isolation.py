"""A user never sees or touches another user's recordings or uploads.

Alice (demo) stores a real clip through a real pre-signed PUT and starts a real multipart upload
with one part in S3; Bob (demo2), with his own valid token, tries every route on her ids. Each
attempt must be 404 (or, where the route acts in the caller's own namespace, must only ever touch
Bob's keys), and afterwards Alice's record, bytes and upload are exactly as before. The Lambda's
JSON log lines of all of it hold no token, password or URL signature.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from awscrt.checksums import crc64nvme

from tests.security.conftest import Gateway, User, error_body, find_secrets

MIB = 1024 * 1024


def _new_id() -> str:
    return "v_" + uuid.uuid4().hex


def _put(url: str, data: bytes, headers: dict[str, str]) -> requests.Response:
    with requests.Session() as s:
        s.trust_env = False
        return s.put(url, data=data, headers=headers, timeout=60)


def _get_bytes(url: str) -> requests.Response:
    with requests.Session() as s:
        s.trust_env = False
        return s.get(url, timeout=60)


@pytest.fixture(scope="module")
def alice_data(
    gateway: Gateway, alice: User, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """Alice's stored clip (record + bytes in S3) and her open multipart upload."""
    from medispecs_desktop.local.samples import make_video

    clip = make_video(tmp_path_factory.mktemp("alice") / "a.mp4", seconds=1, width=160,
                      height=120)
    data = clip.read_bytes()
    sha = hashlib.sha256(data)
    vid = _new_id()
    r = gateway.call("GET", f"/videos/{vid}/upload-url?contentType=video/mp4&size={len(data)}"
                     f"&sha256={base64.b64encode(sha.digest()).decode()}", alice.id_token)
    assert r.status_code == 200, r.text
    up = r.json()
    assert up["s3Key"] == f"videos/{alice.sub}/{vid}.mp4"
    assert _put(up["uploadUrl"], data, up["headers"]).status_code == 200
    r = gateway.call("POST", "/videos", alice.id_token, json_body={
        "videoId": vid, "title": "Alice private", "recordedAt": "2025-01-02T03:04:05Z",
        "sha256": sha.hexdigest(), "fileSizeBytes": len(data), "mimeType": "video/mp4",
        "uploadKind": "single",
    })
    assert r.status_code == 201, r.text
    record = r.json()

    mp_vid = _new_id()
    size = 5 * MIB + 1000
    r = gateway.call("POST", f"/videos/{mp_vid}/multipart", alice.id_token, json_body={
        "fileSizeBytes": size, "partSizeBytes": 5 * MIB, "contentType": "video/mp4"})
    assert r.status_code == 201, r.text
    upload_id = r.json()["uploadId"]
    tail = b"\x01" * 1000
    checksum = base64.b64encode(crc64nvme(tail).to_bytes(8, "big")).decode()
    r = gateway.call("POST", f"/videos/{mp_vid}/multipart/{upload_id}/sign", alice.id_token,
                     json_body={"parts": [{"partNumber": 2, "contentLength": 1000,
                                           "checksumCRC64NVME": checksum}]})
    assert r.status_code == 200, r.text
    part = r.json()["parts"][0]
    put = _put(part["url"], tail, part["headers"])
    assert put.status_code == 200, put.text
    info = {"vid": vid, "bytes": data, "sha256": sha.hexdigest(), "record": record,
            "mp_vid": mp_vid, "upload_id": upload_id, "etag": put.headers["ETag"]}
    yield info
    gateway.call("DELETE", f"/videos/{mp_vid}/multipart/{upload_id}", alice.id_token)
    gateway.call("DELETE", f"/videos/{vid}", alice.id_token)


def _assert_alice_untouched(gateway: Gateway, alice: User, data: dict[str, Any]) -> None:
    r = gateway.call("GET", f"/videos/{data['vid']}", alice.id_token)
    assert r.status_code == 200, r.text
    now = r.json()
    before = data["record"]
    for name in ("title", "version", "s3Key", "status", "sha256", "fileSizeBytes", "userId"):
        assert now.get(name) == before.get(name), name
    assert "thumbnailS3Key" not in now
    r = gateway.call("GET", f"/videos/{data['vid']}/playback-url", alice.id_token)
    assert r.status_code == 200, r.text
    body = _get_bytes(r.json()["playbackUrl"])
    assert body.status_code == 200
    assert hashlib.sha256(body.content).hexdigest() == data["sha256"]
    r = gateway.call("GET", f"/videos/{data['mp_vid']}/multipart/{data['upload_id']}/parts",
                     alice.id_token)
    assert r.status_code == 200, r.text
    assert [(p["partNumber"], p["size"]) for p in r.json()["parts"]] == [(2, 1000)]


def test_other_user_cannot_read_change_or_delete_a_recording(
    gateway: Gateway, alice: User, bob: User, alice_data: dict[str, Any]
) -> None:
    vid = alice_data["vid"]
    attempts: list[tuple[str, str, Any]] = [
        ("GET", f"/videos/{vid}", None),
        ("PATCH", f"/videos/{vid}", {"version": 1, "title": "pwned"}),
        ("PATCH", f"/videos/{vid}", {"version": 1, "thumbnail": True}),
        ("DELETE", f"/videos/{vid}", None),
        ("GET", f"/videos/{vid}/playback-url", None),
    ]
    never = _new_id()  # an id nobody has: Bob must learn nothing more about Alice's
    for method, path, body in attempts:
        for token in (bob.id_token, bob.access_token):
            r = gateway.call(method, path, token, json_body=body)
            assert r.status_code == 404, (method, path, r.status_code, r.text)
            assert error_body(r.content)["error"]["code"] == "not_found"
            assert alice.sub not in r.text
            # answered exactly as for an id that never existed (the id itself aside)
            unknown = gateway.call(method, path.replace(vid, never), token, json_body=body)
            assert (r.status_code, r.text.replace(vid, "<id>")) == (
                unknown.status_code, unknown.text.replace(never, "<id>")), (method, path)

    # Bob's listing and duplicate check know nothing of Alice's clip
    r = gateway.call("GET", "/videos?limit=100", bob.id_token)
    assert r.status_code == 200
    assert all(v["userId"] == bob.sub for v in r.json()["items"])
    assert vid not in r.text and alice.sub not in r.text
    r = gateway.call("POST", "/videos/duplicates", bob.id_token,
                     json_body={"sha256": [alice_data["sha256"]]})
    assert r.status_code == 200 and r.json() == {"matches": []}

    _assert_alice_untouched(gateway, alice, alice_data)


def test_other_user_urls_for_the_same_video_id_stay_in_their_own_namespace(
    gateway: Gateway, alice: User, bob: User, alice_data: dict[str, Any]
) -> None:
    """Upload and thumbnail URLs for Alice's videoId, asked by Bob, point at Bob's keys: his
    bytes land beside hers, never over them; his record is his own."""
    vid = alice_data["vid"]
    r = gateway.call("GET", f"/videos/{vid}/upload-url?contentType=video/mp4", bob.id_token)
    assert r.status_code == 200, r.text
    up = r.json()
    assert up["s3Key"] == f"videos/{bob.sub}/{vid}.mp4"
    assert _put(up["uploadUrl"], b"bob's bytes", up["headers"]).status_code == 200
    r = gateway.call("GET", f"/videos/{vid}/thumbnail-upload-url", bob.id_token)
    assert r.status_code == 200, r.text
    thumb = r.json()
    assert thumb["s3Key"] == f"thumbnails/{bob.sub}/{vid}.jpg"
    assert _put(thumb["uploadUrl"], b"\xff\xd8\xff not alice", thumb["headers"]).status_code == 200
    # Bob may record the same id in his own partition; Alice's stays hers
    r = gateway.call("POST", "/videos", bob.id_token, json_body={
        "videoId": vid, "title": "Bob's", "recordedAt": "2025-01-02T03:04:05Z"})
    assert r.status_code == 201, r.text
    assert r.json()["userId"] == bob.sub and r.json()["s3Key"].startswith(f"videos/{bob.sub}/")
    try:
        _assert_alice_untouched(gateway, alice, alice_data)
        r = gateway.call("GET", f"/videos/{vid}", alice.id_token)
        assert r.json()["title"] == "Alice private"
    finally:
        assert gateway.call("DELETE", f"/videos/{vid}", bob.id_token).status_code == 200
    _assert_alice_untouched(gateway, alice, alice_data)  # Bob's delete removed only his


def test_other_user_cannot_use_a_multipart_upload(
    gateway: Gateway, alice: User, bob: User, alice_data: dict[str, Any]
) -> None:
    mp_vid, upload_id = alice_data["mp_vid"], alice_data["upload_id"]
    checksum = base64.b64encode(crc64nvme(b"x" * 1000).to_bytes(8, "big")).decode()
    base = f"/videos/{mp_vid}/multipart/{upload_id}"
    attempts: list[tuple[str, str, Any]] = [
        ("POST", f"{base}/sign", {"parts": [{"partNumber": 1, "contentLength": 5 * MIB,
                                             "checksumCRC64NVME": checksum}]}),
        ("GET", f"{base}/parts", None),
        ("POST", f"{base}/complete",
         {"parts": [{"partNumber": 2, "etag": alice_data["etag"]}],
          "checksumCRC64NVME": checksum}),
    ]
    for method, path, body in attempts:
        r = gateway.call(method, path, bob.id_token, json_body=body)
        assert r.status_code == 404, (method, path, r.text)
        assert error_body(r.content)["error"]["code"] == "no_such_upload"
    # The same uploadId under one of Bob's own video ids is no way in either
    own = _new_id()
    r = gateway.call("GET", f"/videos/{own}/multipart/{upload_id}/parts", bob.id_token)
    assert r.status_code == 404
    # Abort is idempotent (200 for any id): for Bob it must be a no-op on Alice's upload,
    # answered exactly as for an upload id that never existed (nothing to learn)
    r = gateway.call("DELETE", base, bob.id_token)
    r_unknown = gateway.call("DELETE", f"/videos/{mp_vid}/multipart/NoSuchUpload123",
                             bob.id_token)
    assert (r.status_code, r_unknown.status_code) == (200, 200)
    assert r.json() == {"aborted": upload_id}
    _assert_alice_untouched(gateway, alice, alice_data)


def test_user_id_naming_another_user_is_refused(
    gateway: Gateway, alice: User, bob: User
) -> None:
    vid = _new_id()
    cases: list[tuple[str, str, Any]] = [
        ("GET", f"/videos?userId={alice.sub}", None),
        ("GET", f"/videos/{vid}?userId={alice.sub}", None),
        ("GET", f"/videos/{vid}/upload-url?userId={alice.sub}", None),
        ("POST", "/videos", {"userId": alice.sub, "title": "x",
                             "recordedAt": "2025-01-01T00:00:00Z"}),
        ("PATCH", f"/videos/{vid}", {"userId": alice.sub, "version": 1, "title": "x"}),
        ("POST", "/videos/duplicates", {"userId": alice.sub, "sha256": []}),
        ("POST", f"/videos/{vid}/multipart", {"userId": alice.sub, "fileSizeBytes": 6 * MIB,
                                              "partSizeBytes": 5 * MIB}),
    ]
    for method, path, body in cases:
        r = gateway.call(method, path, bob.id_token, json_body=body)
        assert r.status_code == 403, (method, path, r.text)
        assert error_body(r.content)["error"]["code"] == "forbidden"
    # naming oneself is fine
    r = gateway.call("GET", f"/videos?userId={bob.sub}", bob.id_token)
    assert r.status_code == 200


def test_a_cursor_from_one_user_is_useless_to_another(
    gateway: Gateway, alice: User, bob: User, alice_data: dict[str, Any]
) -> None:
    r = gateway.call("GET", "/videos?limit=1", alice.id_token)
    assert r.status_code == 200, r.text
    cursor = r.json()["nextCursor"]
    assert cursor, "the demo user has more than one recording"
    r = gateway.call("GET", f"/videos?limit=1&cursor={cursor}", bob.id_token)
    assert r.status_code == 400
    assert error_body(r.content)["error"]["code"] == "invalid_cursor"
    # a cursor forged by Bob that names Alice's partition
    forged = base64.urlsafe_b64encode(json.dumps(
        {"PK": f"USER#{alice.sub}", "SK": "VIDEO#9999"}).encode()).decode().rstrip("=")
    for c in (forged, cursor + "x", "e30", "%00", "A" * 3000):
        r = gateway.call("GET", f"/videos?cursor={c}", bob.id_token)
        assert r.status_code == 400, (c, r.text)
        assert error_body(r.content)["error"]["code"] == "invalid_cursor"
    # the owner's cursor still works for the owner
    r = gateway.call("GET", f"/videos?limit=1&cursor={cursor}", alice.id_token)
    assert r.status_code == 200


def test_child_stack_gateway_isolates_users_too(
    local_stack: dict[str, Any], alice: User, bob: User
) -> None:
    """The same attacks against the stack the app really runs (child process)."""
    with requests.Session() as s:
        s.trust_env = False
        listing = s.get(local_stack["apiUrl"] + "/videos",
                        headers={"Authorization": f"Bearer {alice.id_token}"}, timeout=30)
        assert listing.status_code == 200
        vid = listing.json()["items"][0]["videoId"]
        for method in ("GET", "DELETE"):
            r = s.request(method, f"{local_stack['apiUrl']}/videos/{vid}",
                          headers={"Authorization": f"Bearer {bob.id_token}"}, timeout=30)
            assert r.status_code == 404, r.text
        r = s.get(f"{local_stack['apiUrl']}/videos/{vid}",
                  headers={"Authorization": f"Bearer {alice.id_token}"}, timeout=30)
        assert r.status_code == 200


def test_bucket_is_private_and_urls_are_short_lived(
    gateway: Gateway, local_stack: dict[str, Any], alice: User, alice_data: dict[str, Any]
) -> None:
    """moto checks no signature, so privacy is checked as configuration: public access fully
    blocked, no grant or policy for everyone; and every URL handed out is pre-signed, scoped
    to one key and short-lived."""
    s3 = boto3.client("s3", endpoint_url=local_stack["awsEndpoint"],
                      region_name=local_stack["region"], aws_access_key_id="local",
                      aws_secret_access_key="local")
    block = s3.get_public_access_block(Bucket=local_stack["bucket"])
    assert all(block["PublicAccessBlockConfiguration"].values())
    public = ("http://acs.amazonaws.com/groups/global/AllUsers",
              "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
    acl = s3.get_bucket_acl(Bucket=local_stack["bucket"])
    assert not [g for g in acl["Grants"] if g["Grantee"].get("URI") in public]
    key = alice_data["record"]["s3Key"]
    obj_acl = s3.get_object_acl(Bucket=local_stack["bucket"], Key=key)
    assert not [g for g in obj_acl["Grants"] if g["Grantee"].get("URI") in public]
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=local_stack["bucket"])["Policy"])
    except s3.exceptions.ClientError as exc:  # no policy at all; any other error is a failure
        assert exc.response["Error"]["Code"] == "NoSuchBucketPolicy", exc.response
        policy = {"Statement": []}
    statements = policy["Statement"]
    for st in [statements] if isinstance(statements, dict) else statements:
        principal = st.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else principal
        everyone = aws == "*" or (isinstance(aws, list) and "*" in aws)
        assert not (st.get("Effect") == "Allow" and everyone), f"public statement: {st}"

    vid = alice_data["vid"]
    r = gateway.call("GET", f"/videos/{vid}/playback-url", alice.id_token)
    url = r.json()["playbackUrl"]
    parts = urlsplit(url)
    q = parse_qs(parts.query)
    assert parts.path.endswith("/" + key)
    assert q["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and q["X-Amz-Signature"]
    assert 0 < int(q["X-Amz-Expires"][0]) <= 3600
    assert r.json()["expiresIn"] == int(q["X-Amz-Expires"][0])
    # no AWS credential of the API's own reaches the client other than inside a signature
    body = json.dumps(r.json())
    assert "aws_secret_access_key" not in body.lower() and "SecretAccessKey" not in body


def test_lambda_log_of_the_attacks_holds_no_secret(
    make_gateway: Callable[..., Gateway], alice: User, bob: User, alice_data: dict[str, Any]
) -> None:
    """Bob's attacks on Alice's recording and upload, and the pre-signed URLs handed out on the
    way, all through a gateway of this test's own (its log holds this test's requests only, in
    any order of the tests): no token, password or URL signature in the Lambda's JSON lines."""
    gw = make_gateway()
    vid, mp_vid, upload_id = alice_data["vid"], alice_data["mp_vid"], alice_data["upload_id"]
    checksum = base64.b64encode(crc64nvme(b"x" * 1000).to_bytes(8, "big")).decode()
    # URLs handed out (a signature of each is a secret the log must not hold)
    for path, token in ((f"/videos/{vid}/playback-url", alice.id_token),
                        (f"/videos/{_new_id()}/upload-url?contentType=video/mp4", bob.id_token),
                        (f"/videos/{_new_id()}/thumbnail-upload-url", bob.id_token)):
        assert gw.call("GET", path, token).status_code == 200, path
    r = gw.call("POST", f"/videos/{mp_vid}/multipart/{upload_id}/sign", alice.id_token,
                json_body={"parts": [{"partNumber": 1, "contentLength": 5 * MIB,
                                      "checksumCRC64NVME": checksum}]})
    assert r.status_code == 200, r.text
    # the attacks: 404 on Alice's ids, 403 for naming her
    for method, path in (("GET", f"/videos/{vid}"), ("DELETE", f"/videos/{vid}"),
                         ("GET", f"/videos/{vid}/playback-url"),
                         ("GET", f"/videos/{mp_vid}/multipart/{upload_id}/parts")):
        for token in (bob.id_token, bob.access_token):
            assert gw.call(method, path, token).status_code == 404, (method, path)
    assert gw.call("GET", f"/videos?userId={alice.sub}", bob.id_token).status_code == 403
    # a request with a broken token: the gateway's own 401
    assert gw.call("GET", "/videos", bob.id_token[:-4] + "AAAA").status_code == 401

    log = gw.log.text
    assert '"route"' in log and '"requestId"' in log, "the Lambda logged its request lines"
    assert '"status":404' in log and '"status":403' in log
    signatures = gw.url_signatures()
    assert len(signatures) >= 4 * 2, "signature and credential of each URL handed out above"
    leaks = find_secrets(log, alice.secrets + bob.secrets + signatures)
    assert not leaks, f"secrets in the Lambda/gateway log: {leaks}"
    assert "X-Amz-Signature" not in log and "Bearer" not in log
    for line in gw.log.lines:
        if line.startswith("{"):
            entry = json.loads(line)
            assert entry.get("status") != 500, entry
    _assert_alice_untouched(gw, alice, alice_data)
