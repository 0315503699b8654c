"""The running local stack end to end over real HTTP: Cognito sign-in against moto, the JWT
authorizer in the gateway, the real handler, pre-signed URLs into moto's S3, and the demo data."""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from medispecs_desktop.core.media import probe


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_info_line_matches_the_contract(local_stack: dict[str, Any]) -> None:
    for key in ("apiUrl", "region", "userPoolId", "clientId", "username", "password",
                "awsEndpoint", "jwksUrl", "bucket", "table"):
        assert isinstance(local_stack[key], str) and local_stack[key], key
    assert local_stack["demo"] is True
    assert local_stack["note"] == "in-memory demo: nothing is stored"
    assert local_stack["bucket"] == "medispecs-videos" and local_stack["table"] == "AppMain"
    assert local_stack["apiUrl"].startswith("http://127.0.0.1:")
    assert local_stack["awsEndpoint"].startswith("http://127.0.0.1:")
    assert local_stack["username"] == "demo"
    assert [u["username"] for u in local_stack["users"]] == ["demo", "demo2"]
    jwks = requests.get(local_stack["jwksUrl"], timeout=10).json()
    assert jwks["keys"] and jwks["keys"][0]["alg"] == "RS256"


def test_provisioned_resources(local_stack: dict[str, Any]) -> None:
    kw: dict[str, Any] = {"endpoint_url": local_stack["awsEndpoint"],
                          "region_name": local_stack["region"],
                          "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}), **kw)
    cors = s3.get_bucket_cors(Bucket=local_stack["bucket"])["CORSRules"][0]
    assert {"GET", "PUT", "HEAD"} <= set(cors["AllowedMethods"])
    assert "ETag" in cors["ExposeHeaders"]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=local_stack["bucket"])["Rules"]
    assert rules[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    # versioned like the template's bucket, noncurrent versions kept as long as the Trash
    assert s3.get_bucket_versioning(Bucket=local_stack["bucket"])["Status"] == "Enabled"
    assert rules[1]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    ddb = boto3.client("dynamodb", **kw)
    table = ddb.describe_table(TableName=local_stack["table"])["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "PK": "HASH", "SK": "RANGE"}
    idp = boto3.client("cognito-idp", **kw)
    client = idp.describe_user_pool_client(UserPoolId=local_stack["userPoolId"],
                                           ClientId=local_stack["clientId"])["UserPoolClient"]
    assert "ClientSecret" not in client
    assert set(client["ExplicitAuthFlows"]) == {"ALLOW_USER_SRP_AUTH",
                                                "ALLOW_REFRESH_TOKEN_AUTH"}


def test_refresh_token_flow_gives_a_token_the_gateway_accepts(local_stack, stack_users,
                                                              http) -> None:
    idp = boto3.client("cognito-idp", endpoint_url=local_stack["awsEndpoint"],
                       region_name=local_stack["region"],
                       aws_access_key_id="x", aws_secret_access_key="x")
    refreshed = idp.initiate_auth(
        ClientId=local_stack["clientId"], AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": stack_users["demo"]["RefreshToken"]},
    )["AuthenticationResult"]
    r = http.get(f"{local_stack['apiUrl']}/videos", headers=bearer(refreshed["IdToken"]))
    assert r.status_code == 200


def test_gateway_answers_before_the_handler(local_stack, forge, http) -> None:
    api = local_stack["apiUrl"]
    r = http.get(f"{api}/videos")
    assert (r.status_code, r.json()) == (401, {"message": "Unauthorized"})
    for token in (forge(exp=1_000_000), forge(aud="other-client"), forge(key="foreign")):
        r = http.get(f"{api}/videos", headers=bearer(token))
        assert (r.status_code, r.json()) == (401, {"message": "Unauthorized"})
    r = http.get(f"{api}/no/such/route")
    assert (r.status_code, r.json()) == (404, {"message": "Not Found"})
    r = http.put(f"{api}/videos", headers=bearer(forge()))  # a known path, another method
    assert (r.status_code, r.json()) == (405, {"message": "Method Not Allowed"})
    assert {"GET", "POST"} <= {m.strip() for m in r.headers["Allow"].split(",")}
    r = http.options(f"{api}/videos/v_1", headers={"Origin": "http://localhost",
                                                    "Access-Control-Request-Method": "PATCH"})
    assert r.status_code == 204
    assert "PATCH" in r.headers["Access-Control-Allow-Methods"]
    r = http.post(f"{api}/videos", data=b"{" + b" " * (10 * 1024 * 1024) + b"}",
                  headers={**bearer(forge()), "Content-Type": "application/json"})
    assert (r.status_code, r.json()) == (413, {"message": "Request Entity Too Large"})


def test_forged_but_valid_token_reaches_the_handler(local_stack, forge, http) -> None:
    # signed with moto's key, right issuer/audience/expiry: the gateway must let it through
    r = http.get(f"{local_stack['apiUrl']}/videos", headers=bearer(forge()))
    assert r.status_code == 200


def test_seeded_demo_library_has_real_videos_and_thumbnails(local_stack, stack_users, http,
                                                            tmp_path: Path) -> None:
    # every page: other tests add recordings to the demo account, newer ones come first
    items: list[dict[str, Any]] = []
    params: dict[str, str] = {"limit": "100"}
    while True:
        r = http.get(f"{local_stack['apiUrl']}/videos", params=params,
                     headers=bearer(stack_users["demo"]["IdToken"]))
        assert r.status_code == 200
        items += r.json()["items"]
        if not r.json()["nextCursor"]:
            break
        params["cursor"] = r.json()["nextCursor"]
    titles = [v["title"] for v in items]
    assert {"Ward round - bed 12", "Wound dressing review", "Physiotherapy session"} <= set(titles)
    recorded = [v["recordedAt"] for v in items]
    assert recorded == sorted(recorded, reverse=True)  # newest first
    for video in items:
        if video["title"] not in ("Ward round - bed 12", "Wound dressing review",
                                  "Physiotherapy session"):
            continue
        assert video["status"] == "ready"
        assert video["durationSec"] > 0 and video["width"] == 320 and video["height"] == 240
        thumb = http.get(video["thumbnailUrl"])
        assert thumb.status_code == 200
        assert thumb.content[:3] == b"\xff\xd8\xff" and thumb.content[-2:] == b"\xff\xd9"
        play = http.get(f"{local_stack['apiUrl']}/videos/{video['videoId']}/playback-url",
                        headers=bearer(stack_users["demo"]["IdToken"]))
        assert play.status_code == 200
        data = http.get(play.json()["playbackUrl"]).content
        assert len(data) == video["fileSizeBytes"]
        assert hashlib.sha256(data).hexdigest() == video["sha256"]
        path = tmp_path / f"{video['videoId']}.mp4"
        path.write_bytes(data)
        assert probe(path).duration_sec == pytest.approx(video["durationSec"], abs=0.1)


def test_demo2_starts_empty_and_cannot_see_demo_videos(local_stack, stack_users, http) -> None:
    api = local_stack["apiUrl"]
    demo = bearer(stack_users["demo"]["IdToken"])
    demo2 = bearer(stack_users["demo2"]["IdToken"])
    demo_items = http.get(f"{api}/videos", headers=demo).json()["items"]
    assert demo_items
    their = demo_items[0]["videoId"]
    listing = http.get(f"{api}/videos", headers=demo2).json()["items"]
    assert their not in {v["videoId"] for v in listing}
    for method, path in (("GET", f"/videos/{their}"), ("GET", f"/videos/{their}/playback-url"),
                         ("DELETE", f"/videos/{their}")):
        r = http.request(method, api + path, headers=demo2)
        assert r.status_code == 404, (method, path)
        assert r.json()["error"]["code"]
    r = http.patch(f"{api}/videos/{their}", json={"version": 1, "title": "mine now"},
                   headers=demo2)
    assert r.status_code == 404
    r = http.get(f"{api}/videos", params={"userId": stack_users["demo"]["sub"]}, headers=demo2)
    assert r.status_code == 403
    # the demo user's video is untouched
    r = http.get(f"{api}/videos/{their}", headers=demo)
    assert r.status_code == 200 and r.json()["title"] == demo_items[0]["title"]


def test_upload_through_the_stack_as_a_client_would(local_stack, stack_users, http,
                                                     make_video) -> None:
    api = local_stack["apiUrl"]
    auth = bearer(stack_users["demo2"]["IdToken"])
    clip = make_video("mine.mp4", seconds=1.0)
    data = clip.read_bytes()
    video_id = "v_" + uuid.uuid4().hex
    sha_b64 = base64.b64encode(hashlib.sha256(data).digest()).decode()
    grant = http.get(f"{api}/videos/{video_id}/upload-url", headers=auth,
                     params={"contentType": "video/mp4", "size": str(len(data)),
                             "sha256": sha_b64}).json()
    put = http.put(grant["uploadUrl"], data=data, headers=grant["headers"])
    assert put.status_code == 200
    created = http.post(f"{api}/videos", headers=auth, json={
        "videoId": video_id, "title": "Mine", "recordedAt": "2026-01-02T03:04:05Z",
        "fileSizeBytes": len(data), "mimeType": "video/mp4",
        "sha256": hashlib.sha256(data).hexdigest()})
    assert created.status_code == 201
    assert created.json()["status"] in ("uploaded", "ready")
    got = http.get(f"{api}/videos/{video_id}", headers=auth).json()
    assert got["fileSizeBytes"] == len(data)
    deleted = http.delete(f"{api}/videos/{video_id}", headers=auth).json()
    assert deleted["deleted"] == video_id and deleted["inTrash"] is True
    assert http.get(f"{api}/videos/{video_id}", headers=auth).status_code == 404



def _idp(local_stack: dict[str, Any]) -> Any:
    return boto3.client("cognito-idp", endpoint_url=local_stack["awsEndpoint"],
                        region_name=local_stack["region"],
                        aws_access_key_id="x", aws_secret_access_key="x")


def test_revoke_token_ends_the_refresh_token_quietly(local_stack: dict[str, Any]) -> None:
    """moto has no RevokeToken: the stack answers it like Cognito (a sign-out used to get a
    500 and a traceback in the stack's stderr, copied into the app's log)."""
    from botocore.exceptions import ClientError

    from medispecs_desktop.local.stack import sign_in

    user = local_stack["users"][1]  # a session of its own: the shared ones stay valid
    fresh = sign_in(local_stack["awsEndpoint"], local_stack["region"], local_stack["clientId"],
                    user["username"], user["password"])
    idp = _idp(local_stack)
    refresh = {"REFRESH_TOKEN": fresh["RefreshToken"]}
    idp.initiate_auth(ClientId=local_stack["clientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                      AuthParameters=refresh)  # works before
    idp.revoke_token(Token=fresh["RefreshToken"], ClientId=local_stack["clientId"])
    with pytest.raises(ClientError) as refused:
        idp.initiate_auth(ClientId=local_stack["clientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                          AuthParameters=refresh)
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    idp.revoke_token(Token=fresh["RefreshToken"], ClientId=local_stack["clientId"])  # again: ok
    with pytest.raises(ClientError) as unknown_client:
        idp.revoke_token(Token=fresh["RefreshToken"], ClientId="no-such-client")
    assert unknown_client.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_demo_id_token_carries_the_clinicians_name_and_email(local_stack: dict[str, Any]
                                                             ) -> None:
    import jwt

    from medispecs_desktop.local.stack import sign_in

    result = sign_in(local_stack["awsEndpoint"], local_stack["region"], local_stack["clientId"],
                     local_stack["username"], local_stack["password"])
    claims = jwt.decode(result["IdToken"], options={"verify_signature": False})
    assert claims["email"] == "demo@example.org"
    assert claims["name"] == "Demo clinician (demo)"
    client = _idp(local_stack).describe_user_pool_client(
        UserPoolId=local_stack["userPoolId"], ClientId=local_stack["clientId"])["UserPoolClient"]
    assert {"email", "name"} <= set(client["ReadAttributes"])
