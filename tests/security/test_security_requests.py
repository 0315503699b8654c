"""Hostile requests at the API: forged and foreign tokens, path traversal through ids, and
malformed, oversized or deeply nested bodies. The gateway must answer 401 for every bad token;
the handler must answer every bad request with a 4xx JSON error, never a 500 or a traceback,
and must only ever derive S3 keys itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from medispecs_desktop.local.stack import sign_in
from tests.security.conftest import Gateway, User, error_body, find_secrets

MIB = 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    return header, claims


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join((_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()),
                     _b64(signature)))


def _jwks_public_pem(info: dict[str, Any], kid: str) -> bytes:
    with requests.Session() as s:
        s.trust_env = False
        keys = s.get(info["jwksUrl"], timeout=30).json()["keys"]
    jwk = next(k for k in keys if k.get("kid") == kid)
    public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
    return public.public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --------------------------------------------------------------------------- tokens

def test_forged_and_tampered_tokens_get_401(
    gateway: Gateway, local_stack: dict[str, Any], alice: User, bob: User
) -> None:
    header, claims = _parts(bob.id_token)
    as_alice = {**claims, "sub": alice.sub, "cognito:username": alice.username}
    own_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = _jwks_public_pem(local_stack, header["kid"])
    signing_input = ".".join(bob.id_token.split(".")[:2]).encode()
    hs_input = (_b64(json.dumps({**header, "alg": "HS256"}).encode()) + "."
                + _b64(json.dumps(as_alice).encode())).encode()
    bad_tokens = {
        "alg none": _unsigned({**header, "alg": "none"}, as_alice),
        "alg None, no kid": _unsigned({"alg": "None", "typ": "JWT"}, as_alice),
        "HS256 keyed with the pool's public key": hs_input.decode() + "." + _b64(
            hmac.new(public_pem, hs_input, hashlib.sha256).digest()),
        "RS256 signed by someone else's key, real kid": jwt.encode(
            as_alice, own_key, algorithm="RS256", headers={"kid": header["kid"]}),
        "Bob's signature over Alice's claims": _unsigned(header, as_alice)[:-1]
        + bob.id_token.rsplit(".", 1)[1],
        "signature stripped": signing_input.decode() + ".",
        "signature of another token": signing_input.decode() + "."
        + alice.id_token.rsplit(".", 1)[1],
        "unknown kid": jwt.encode(as_alice, own_key, algorithm="RS256",
                                  headers={"kid": "attacker"}),
        "jku pointing elsewhere": jwt.encode(
            as_alice, own_key, algorithm="RS256",
            headers={"kid": header["kid"], "jku": "http://127.0.0.1:1/jwks.json"}),
        "not a JWT": "hello",
        "two dots of nothing": "..",
        "garbage base64": "eyJ!!!.eyJ!!!.sig",
        "refresh token as bearer": bob.refresh_token,
    }
    vid = "v_" + uuid.uuid4().hex
    for name, token in bad_tokens.items():
        for method, path in (("GET", "/videos"), ("DELETE", f"/videos/{vid}"),
                             ("GET", f"/videos/{vid}/playback-url")):
            r = gateway.call(method, path, token)
            assert r.status_code == 401, (name, method, r.status_code, r.text)
            assert error_body(r.content) == {"message": "Unauthorized"}, name
    # no token / malformed Authorization headers
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Bearer  "},
                    {"Authorization": "Basic " + base64.b64encode(b"demo:pw").decode()},
                    {"Authorization": f"Bearer {bob.id_token} {bob.id_token}"}):
        r = gateway.call("GET", "/videos", headers=headers)
        assert r.status_code == 401, (headers, r.text)
    # Two Authorization headers (one valid): refused, not "first one wins"
    status, body = gateway.raw("GET", "/videos", headers={
        "Authorization": f"Bearer {bob.id_token}", "authorization": "Bearer x.y.z"})
    assert status == 401, body
    # the real tokens still work (the checks above are not just "everything is 401")
    assert gateway.call("GET", "/videos", bob.id_token).status_code == 200
    assert gateway.call("GET", "/videos", bob.access_token).status_code == 200
    # the gateway's log says why, without the tokens
    leaks = find_secrets(gateway.log.text, [*bob.secrets, *alice.secrets,
                                            *(t for t in bad_tokens.values() if len(t) > 20)])
    assert not leaks, leaks


def test_expired_token_gets_401(
    make_gateway: Callable[..., Gateway], bob: User
) -> None:
    _, claims = _parts(bob.id_token)
    later = make_gateway(clock=lambda: float(claims["exp"]) + 1)
    r = later.call("GET", "/videos", bob.id_token)
    assert r.status_code == 401 and r.json() == {"message": "Unauthorized"}
    early = make_gateway(clock=lambda: float(claims["iat"]) - 600)  # not yet valid (iat)
    assert early.call("GET", "/videos", bob.id_token).status_code == 401
    just_before = make_gateway(clock=lambda: float(claims["exp"]) - 1)
    assert just_before.call("GET", "/videos", bob.id_token).status_code == 200


def test_tokens_of_another_app_client_or_user_pool_get_401(
    gateway: Gateway, local_stack: dict[str, Any], bob: User
) -> None:
    """Real tokens signed by the real (moto) Cognito, for the wrong audience or issuer."""
    idp = boto3.client(
        "cognito-idp", endpoint_url=local_stack["awsEndpoint"],
        region_name=local_stack["region"], aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    other_client = idp.create_user_pool_client(
        UserPoolId=local_stack["userPoolId"], ClientName=f"other-{uuid.uuid4().hex[:6]}",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    tokens = sign_in(local_stack["awsEndpoint"], local_stack["region"], other_client,
                     bob.username, bob.password, user_pool_id=local_stack["userPoolId"])
    assert jwt.decode(tokens["IdToken"], options={"verify_signature": False})["aud"] \
        == other_client
    for token in (tokens["IdToken"], tokens["AccessToken"]):
        r = gateway.call("GET", "/videos", token)
        assert r.status_code == 401, r.text

    pool = idp.create_user_pool(PoolName=f"attacker-{uuid.uuid4().hex[:6]}")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="attacker",
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    password = "Attacker-Passw0rd!"
    idp.admin_create_user(UserPoolId=pool, Username="mallory", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="mallory", Password=password,
                                Permanent=True)
    foreign = sign_in(local_stack["awsEndpoint"], local_stack["region"], client, "mallory",
                      password, user_pool_id=pool)
    for token in (foreign["IdToken"], foreign["AccessToken"]):
        r = gateway.call("GET", "/videos", token)
        assert r.status_code == 401, r.text
    idp.delete_user_pool(UserPoolId=pool)
    idp.delete_user_pool_client(UserPoolId=local_stack["userPoolId"], ClientId=other_client)


# --------------------------------------------------------------------------- path traversal

TRAVERSAL_IDS = [
    "v_..%2Fx",
    "v_..%2F..%2F..%2Fvideos",
    "v_%2e%2e",
    "v_x%2F..%2F..%2Fthumbnails",
    "v_%252e%252e%252fx",
    "v_%C3%A9",            # é
    "v_%EF%BD%98",         # fullwidth x
    "v_%E2%80%AEx",        # right-to-left override
    "v_a%00b",
    "v_a%20b",
    "v_a%5Cb",             # backslash
    "v_a%0Ab",             # newline
    "..%2Fv_x",
    "v_" + "a" * 63,
    "v_",
    "%2e%2e",
    "V_abc",
    "v_abc.mp4",
    "v_abc%3Fx%3D1",
]


@pytest.mark.parametrize("suffix", ["", "/upload-url", "/playback-url",
                                    "/thumbnail-upload-url"])
def test_video_id_traversal_is_a_clean_4xx(gateway: Gateway, bob: User, suffix: str) -> None:
    for raw_id in TRAVERSAL_IDS:
        status, body = gateway.raw("GET", f"/videos/{raw_id}{suffix}", bob.id_token)
        assert status in (400, 404), (raw_id, suffix, status, body[:300])
        parsed = error_body(body)
        if status == 400:
            assert parsed["error"]["code"] == "invalid_video_id", (raw_id, parsed)


def test_unencoded_dot_segments_never_escape(gateway: Gateway, bob: User) -> None:
    """Literal ``..`` segments (sent byte for byte) match no route, or a 4xx."""
    for path in ("/videos/v_../x", "/videos/../videos", "/videos/v_x/../../v_y/upload-url",
                 "/videos/./v_x", "/videos//v_x", "/videos/v_x/multipart/../../x/sign"):
        for method in ("GET", "DELETE"):
            status, body = gateway.raw(method, path, bob.id_token)
            assert status in (400, 404, 405), (method, path, status, body[:300])
            error_body(body)


def test_keys_are_derived_by_the_server_only(gateway: Gateway, bob: User) -> None:
    vid = "v_" + uuid.uuid4().hex
    # what a client might try to steer the key with
    r = gateway.call("GET", f"/videos/{vid}/upload-url?contentType=../../x&s3Key=x&key=y",
                     bob.id_token)
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_content_type"
    r = gateway.call("GET", f"/videos/{vid}/upload-url?contentType=video/quicktime"
                     "&s3Key=videos/other/x.mp4&bucket=other", bob.id_token)
    assert r.status_code == 200, r.text
    assert r.json()["s3Key"] == f"videos/{bob.sub}/{vid}.mov"
    for extra in ({"s3Key": "videos/x/y.mp4"}, {"s3Bucket": "other"}, {"PK": "USER#x"},
                  {"thumbnailS3Key": "thumbnails/x/y.jpg"}, {"status": "ready"},
                  {"userId": bob.sub, "version": 7}):
        body: dict[str, Any] = {"videoId": vid, "title": "t",
                                "recordedAt": "2025-01-01T00:00:00Z", **extra}
        r = gateway.call("POST", "/videos", bob.id_token, json_body=body)
        if "userId" in extra:
            assert r.status_code == 400 and r.json()["error"]["code"] == "unknown_field"
        else:
            assert r.status_code == 400, (extra, r.text)
            assert r.json()["error"]["code"] == "unknown_field"
    for body in ({"videoId": "v_../../x", "title": "t", "recordedAt": "2025-01-01T00:00:00Z"},
                 {"videoId": "v_a/b", "title": "t", "recordedAt": "2025-01-01T00:00:00Z"},
                 {"title": "t", "recordedAt": "2025-01-01T00:00:00Z", "mimeType": "../x"}):
        r = gateway.call("POST", "/videos", bob.id_token, json_body=body)
        assert r.status_code == 400, (body, r.text)
        error_body(r.content)
    r = gateway.call("POST", f"/videos/{vid}/multipart", bob.id_token, json_body={
        "fileSizeBytes": 6 * MIB, "partSizeBytes": 5 * MIB, "contentType": "video/mp4"})
    assert r.status_code == 201 and r.json()["s3Key"] == f"videos/{bob.sub}/{vid}.mp4"
    upload_id = r.json()["uploadId"]
    gateway.call("DELETE", f"/videos/{vid}/multipart/{upload_id}", bob.id_token)
    for bad in ("..%2F..%2Fx", "a%2Fb", "%00", "a%20b", "x" * 1100):
        status, body_bytes = gateway.raw("GET", f"/videos/{vid}/multipart/{bad}/parts",
                                         bob.id_token)
        assert status in (400, 404), (bad, status)
        parsed = error_body(body_bytes)
        if status == 400:
            assert parsed["error"]["code"] == "invalid_upload_id"


# --------------------------------------------------------------------------- malformed bodies

def _nasty_bodies() -> dict[str, bytes]:
    depth = 100_000
    return {
        "truncated": b'{"title": "x"',
        "array": b"[]",
        "null": b"null",
        "string": b'"x"',
        "number": b"1",
        "huge exponent": b'{"title": "t", "recordedAt": "2025-01-01T00:00:00Z", '
                         b'"durationSec": 1e999, "version": 1e999, "fileSizeBytes": 1e999}',
        "huge integer": b'{"version": ' + b"9" * 5000 + b', "fileSizeBytes": 1}',
        "NaN": b'{"version": NaN, "durationSec": NaN}',
        "Infinity": b'{"version": Infinity}',
        "deep arrays": b"[" * depth + b"]" * depth,
        "deep objects": b'{"a":' * depth + b"1" + b"}" * depth,
        "deep inside a field": b'{"title": ' + b"[" * depth + b"]" * depth + b"}",
        "invalid UTF-8": b'{"title": "\xff\xfe"}',
        "lone surrogate": b'{"title": "\\ud800", "recordedAt": "2025-01-01T00:00:00Z"}',
        "BOM": b'\xef\xbb\xbf{"title": "t"}',
        "NoSQL operator": b'{"title": {"$ne": 1}, "recordedAt": {"$gt": ""}, "version": 1}',
        "wrong types": b'{"title": 1, "recordedAt": [], "version": "1", "parts": "x", '
                       b'"sha256": {}, "fileSizeBytes": true}',
        "duplicate keys": b'{"version": 1, "version": "x", "title": "t", "title": null}',
        "parts not objects": b'{"parts": [1, "x", null, []]}',
        "many parts": json.dumps({"parts": [{"partNumber": i, "etag": "e"}
                                            for i in range(1, 20_000)]}).encode(),
        "bad dates": b'{"title": "t", "recordedAt": "99999-99-99T99:99:99Z"}',
        "overflowing date": b'{"title": "t", "recordedAt": "9999-12-31T23:59:59-23:59"}',
        "null bytes": b'{"title": "a\\u0000b", "recordedAt": "2025-01-01T00:00:00\\u0000Z"}',
        "1.5 MB": b'{"title": "' + b"x" * 1_500_000 + b'"}',
    }


BODY_ROUTES = [
    ("POST", "/videos"),
    ("POST", "/videos/duplicates"),
    ("PATCH", "/videos/{vid}"),
    ("POST", "/videos/{vid}/multipart"),
    ("POST", "/videos/{vid}/multipart/{upload}/sign"),
    ("POST", "/videos/{vid}/multipart/{upload}/complete"),
]


def test_malformed_bodies_get_4xx_json_never_500(
    gateway: Gateway, bob: User
) -> None:
    vid = "v_" + uuid.uuid4().hex
    r = gateway.call("POST", "/videos", bob.id_token, json_body={
        "videoId": vid, "title": "target", "recordedAt": "2025-01-01T00:00:00Z"})
    assert r.status_code == 201
    r = gateway.call("POST", f"/videos/{vid}/multipart", bob.id_token, json_body={
        "fileSizeBytes": 6 * MIB, "partSizeBytes": 5 * MIB})
    assert r.status_code == 201
    upload = r.json()["uploadId"]
    log_mark = gateway.log.mark()
    # CPU time of this process (the gateway and handler run in it): no nasty body may cost
    # pathological work, however busy the machine is
    cpu = time.process_time()
    try:
        for name, body in _nasty_bodies().items():
            for method, template in BODY_ROUTES:
                path = template.format(vid=vid, upload=upload)
                for content_type in ("application/json", "application/octet-stream"):
                    status, raw = gateway.raw(method, path, bob.id_token, body=body,
                                              headers={"Content-Type": content_type})
                    assert 400 <= status < 500, (name, method, path, status, raw[:300])
                    parsed = error_body(raw)
                    if name == "1.5 MB":
                        assert status == 413 and parsed["error"]["code"] == \
                            "payload_too_large"
        # over API Gateway's 10 MB: the gateway's own 413
        status, raw = gateway.raw("POST", "/videos", bob.id_token, body=b"x" * (11 * MIB),
                                  headers={"Content-Type": "application/json"})
        assert status == 413 and error_body(raw) == {"message": "Request Entity Too Large"}
        # the record is intact after all that
        r = gateway.call("GET", f"/videos/{vid}", bob.id_token)
        assert r.status_code == 200 and r.json()["title"] == "target"
        assert r.json()["version"] == 1
    finally:
        gateway.call("DELETE", f"/videos/{vid}/multipart/{upload}", bob.id_token)
        gateway.call("DELETE", f"/videos/{vid}", bob.id_token)
    assert time.process_time() - cpu < 45
    own_log = gateway.log.text_since(log_mark)
    assert '"route":"POST /videos"' in own_log  # the capture saw this test's requests
    assert "Traceback" not in own_log
    assert '"status":500' not in own_log


def test_malformed_query_strings_get_4xx(gateway: Gateway, bob: User) -> None:
    vid = "v_" + uuid.uuid4().hex
    for query in ("limit=0", "limit=-1", "limit=1e3", "limit=999999999999", "limit=%00",
                  "from=yesterday", "to=2025-13-40", "from=2025-02-01&to=2025-01-01",
                  "from=" + "9" * 100, "cursor=%FF%FE", "from=0001-01-01T00:00:00%2B23:59",
                  "limit=" + "1" * 5000):
        r = gateway.call("GET", f"/videos?{query}", bob.id_token)
        assert r.status_code == 400, (query, r.text)
        error_body(r.content)
    for query in ("size=-1", "size=abc", "size=" + "9" * 30, "sha256=%%%", "sha256=" + "A" * 44,
                  "contentType=text/html", "contentType=%00"):
        r = gateway.call("GET", f"/videos/{vid}/upload-url?{query}", bob.id_token)
        assert r.status_code == 400, (query, r.text)
        error_body(r.content)


def test_unknown_routes_and_methods(gateway: Gateway, bob: User) -> None:
    for method, path in (("PUT", "/videos"), ("TRACE", "/videos"), ("GET", "/admin"),
                         ("GET", "/videos/v_x/../../etc/passwd"), ("POST", "/videos/v_x/sign"),
                         ("GET", "/%2e%2e/videos")):
        status, body = gateway.raw(method, path, bob.id_token)
        assert status in (404, 405), (method, path, status)
        error_body(body)
    # no token on an unknown route: 404 before auth (API Gateway's order), no detail leaked
    status, body = gateway.raw("GET", "/nothing-here")
    assert (status, error_body(body)) == (404, {"message": "Not Found"})
