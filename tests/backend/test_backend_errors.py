"""Bad input is a clear 4xx JSON error, never a 500 or a traceback; identity; CORS; logging;
the env-configured ``lambda_handler``."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest

from medispecs_desktop.backend import handler as handler_module
from medispecs_desktop.backend.config import BackendConfig, ConfigError
from medispecs_desktop.backend.logs import JsonFormatter

CREATE_OK = {"title": "t", "recordedAt": "2025-01-01T00:00:00Z"}


def test_malformed_bodies(api: Any) -> None:
    cases: list[tuple[str, str]] = [
        ("{not json", "invalid_json"),
        ('{"title": "t", "recordedAt": NaN}', "invalid_json"),
        ('{"title": "t", "recordedAt": Infinity}', "invalid_json"),
        ("[1, 2]", "invalid_body"),
        ('"a string"', "invalid_body"),
        ("[" * 100_000, "invalid_json"),
        ("null", "invalid_body"),  # a JSON null is no object (an empty body is {})
    ]
    for raw, code in cases:
        status, err = api.call("POST", "/videos", raw_body=raw)
        assert status == 400 and err["error"]["code"] == code, (raw[:40], err)
        assert "Traceback" not in err["error"]["message"]


def test_vanishingly_small_number_is_stored_as_zero(api: Any) -> None:
    """DynamoDB cannot hold 6.5e-240 (its smallest magnitude is 1e-130); boto3 refuses it with an
    Underflow that used to become a 500 (found by schemathesis in CI)."""
    tiny = 6.508099746814373e-240
    status, body = api.call("POST", "/videos", body={**CREATE_OK, "durationSec": tiny})
    assert status == 201, body
    status, got = api.call("GET", f"/videos/{body['videoId']}")
    assert status == 200 and got["durationSec"] == 0, got
    status, body = api.call("POST", "/videos", body={**CREATE_OK, "durationSec": 1.25e-7})
    assert status == 201, body
    status, got = api.call("GET", f"/videos/{body['videoId']}")
    assert got["durationSec"] == 1.25e-7


@pytest.mark.parametrize(
    ("patch", "code"),
    [
        ({"title": 5}, "validation_error"),
        ({"title": ""}, "validation_error"),
        ({"title": "bad \ud800"}, "validation_error"),  # a long one is shortened instead
        ({"recordedAt": "03/11/2025"}, "invalid_date"),
        ({"recordedAt": "2025-02-30T00:00:00Z"}, "invalid_date"),
        ({"recordedAt": 1730000000}, "validation_error"),
        ({"durationSec": "120"}, "validation_error"),
        ({"durationSec": -1}, "validation_error"),
        ({"fileSizeBytes": 1.5}, "validation_error"),
        ({"fileSizeBytes": True}, "validation_error"),
        ({"width": -3}, "validation_error"),
        ({"sha256": "abc"}, "validation_error"),
        ({"fingerprint": "12:zz"}, "validation_error"),
        ({"uploadKind": "bits"}, "validation_error"),
        ({"mimeType": "text/html"}, "unsupported_content_type"),
        ({"status": "ready"}, "unknown_field"),
        ({"s3Key": "videos/other/x.mp4"}, "unknown_field"),
        ({"videoId": "v_../../etc"}, "invalid_video_id"),
        ({"videoId": "x_123"}, "invalid_video_id"),
        ({"videoId": "v_" + "a" * 63}, "invalid_video_id"),
        ({"videoId": 123}, "validation_error"),
    ],
)
def test_create_rejects_bad_fields(api: Any, patch: dict[str, Any], code: str) -> None:
    status, err = api.call("POST", "/videos", body={**CREATE_OK, **patch})
    assert status == 400 and err["error"]["code"] == code, err


def test_missing_required_and_nulls(api: Any) -> None:
    status, err = api.call("POST", "/videos", body={"title": "t"})
    assert status == 400 and "recordedAt" in err["error"]["message"]
    status, err = api.call("POST", "/videos", raw_body="")
    assert status == 400
    # null counts as absent for optional fields
    status, video = api.call("POST", "/videos", body={**CREATE_OK, "deviceId": None})
    assert status == 201 and "deviceId" not in video


@pytest.mark.parametrize("path", [
    "/videos/v_..%2F..%2Fsecret", "/videos/..", "/videos/v_a%00b", "/videos/abc",
    "/videos/v_%E2%98%83", "/videos/" + "v_" + "a" * 70,
])
def test_bad_video_ids_in_paths(api: Any, path: str) -> None:
    for suffix in ("", "/upload-url", "/playback-url", "/thumbnail-upload-url"):
        status, err = api.call("GET", path + suffix)
        assert status == 400 and err["error"]["code"] == "invalid_video_id", (path, err)


def test_oversize_body_is_413(api: Any) -> None:
    big = json.dumps({**CREATE_OK, "notes": "x" * (1024 * 1024)})
    status, err = api.call("POST", "/videos", raw_body=big)
    assert status == 413 and err["error"]["code"] == "payload_too_large"


def test_base64_body(api: Any) -> None:
    event = api.event("POST", "/videos")
    event["body"] = base64.b64encode(json.dumps(CREATE_OK).encode()).decode()
    event["isBase64Encoded"] = True
    assert api.raw(event)["statusCode"] == 201
    event["body"] = "%%%"
    resp = api.raw(event)
    assert resp["statusCode"] == 400 and "invalid_body" in resp["body"]


def test_unknown_routes_and_methods(api: Any) -> None:
    for method, path, status_code in (
        ("GET", "/nope", 404), ("GET", "/videos/v_1/unknown", 404), ("PUT", "/videos", 405),
        ("POST", "/videos/v_1", 405), ("PATCH", "/videos", 405),
        ("GET", "/videos/duplicates", 405),  # a literal path: only POST, never a videoId
    ):
        resp = api.raw(api.event(method, path))
        assert resp["statusCode"] == status_code, (method, path, resp)
        assert json.loads(resp["body"])["error"]["code"]
        assert resp["headers"]["Access-Control-Allow-Origin"] == "*"


def test_options_preflight_needs_no_token(api: Any) -> None:
    resp = api.raw(api.event("OPTIONS", "/videos/v_1/upload-url", user=None))
    assert resp["statusCode"] == 204 and resp["body"] == ""
    h = resp["headers"]
    assert h["Access-Control-Allow-Origin"] == "*"
    assert h["Access-Control-Allow-Headers"] == "Content-Type,Authorization"
    assert h["Access-Control-Allow-Methods"] == "GET,POST,PATCH,DELETE,OPTIONS"


def test_identity_rules(api: Any, make_app: Callable[..., Any]) -> None:
    # No authorizer, not allowed to use userId: 401 JSON even with a userId.
    resp = api.raw(api.event("GET", "/videos", user=None, query={"userId": "u_1"}))
    assert resp["statusCode"] == 401 and json.loads(resp["body"])["error"]["code"] == "unauthorized"
    # An authorizer whose claims lack the configured claim: 401.
    resp = api.raw(api.event("GET", "/videos", claims={"email": "a@b.c"}))
    assert resp["statusCode"] == 401
    # A claim value that cannot be a user id (path characters): 403.
    resp = api.raw(api.event("GET", "/videos", claims={"sub": "../../x"}))
    assert resp["statusCode"] == 403
    # USER_ID_CLAIM maps another claim (e.g. an existing deployment's u_123 ids).
    app = make_app(user_id_claim="custom:legacy_id")
    ev = api.event("GET", "/videos", claims={"sub": "abc", "custom:legacy_id": "u_legacy"})
    ev["queryStringParameters"] = {"userId": "u_legacy"}
    assert app(ev, None)["statusCode"] == 200
    ev["queryStringParameters"] = {"userId": "abc"}
    assert app(ev, None)["statusCode"] == 403
    # With the console flag on, a real token still wins over the query parameter.
    console = make_app(allow_query_user_id=True)
    ev = api.event("GET", "/videos", query={"userId": "someone-else"})
    assert console(ev, None)["statusCode"] == 403
    ev = api.event("GET", "/videos", user=None)
    assert console(ev, None)["statusCode"] == 401  # no userId at all
    ev = api.event("GET", "/videos", user=None, query={"userId": "../x"})
    assert console(ev, None)["statusCode"] == 400


def test_named_stage_prefix_is_stripped(api: Any) -> None:
    api.create(videoId="v_stage")
    ev = api.event("GET", "/prod/videos/v_stage")
    ev["requestContext"]["stage"] = "prod"
    resp = api.raw(ev)
    assert resp["statusCode"] == 200 and json.loads(resp["body"])["videoId"] == "v_stage"


def test_events_that_are_not_events(app: Any) -> None:
    events: list[Any] = [
        {}, {"requestContext": {}}, {"requestContext": {"http": {"method": "GET"}}},
        {"requestContext": {"http": {"method": "GET", "path": "videos"}}},
        {"requestContext": {"http": {"method": "POST", "path": "/videos"}},
         "body": {"not": "a string"}}, [], "x"]
    for event in events:
        resp = app(event, None)
        assert 400 <= resp["statusCode"] < 500, event


def test_server_fault_is_500_without_details_and_logged(
    make_app: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    broken = make_app(table_name="NoSuchTable")
    event = {"requestContext": {"http": {"method": "GET", "path": "/videos"},
                                "authorizer": {"jwt": {"claims": {"sub": "u1"}}}}}
    with caplog.at_level(logging.INFO, logger="medispecs_desktop.backend"):
        resp = broken(event, None)
    assert resp["statusCode"] == 500
    body = json.loads(resp["body"])
    assert body["error"]["code"] == "internal_error"
    assert "ResourceNotFound" not in resp["body"] and "Traceback" not in resp["body"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and errors[0].exc_info is not None


def test_request_log_lines_are_json_without_urls(
    api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="medispecs_desktop.backend"):
        status, up = api.call("GET", "/videos/v_log/upload-url")
        api.call("GET", "/videos/v_missing")
    assert status == 200
    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records if r.name == "medispecs_desktop.backend"]
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["message"] == "request"
    assert first["route"] == "GET /videos/{videoId}/upload-url"
    assert first["userId"] == api.user and first["status"] == 200
    assert isinstance(first["latency_ms"], float) and first["requestId"]
    assert second["status"] == 404 and second["errorCode"] == "not_found"
    signature = up["uploadUrl"].split("X-Amz-Signature=")[1]
    for line in lines:
        assert "X-Amz-Signature" not in line and signature not in line


def test_lambda_handler_from_environment(
    monkeypatch: pytest.MonkeyPatch, moto_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TABLE_MAIN", "AppMain")
    monkeypatch.setenv("S3_BUCKET", "medispecs-videos")
    monkeypatch.setenv("S3_REGION", "eu-west-2")
    monkeypatch.setenv("PRE_SIGNED_URL_EXPIRY", "300")
    monkeypatch.setenv("ALLOW_QUERY_USER_ID", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server.endpoint)
    handler_module.reset_for_tests()
    logger = logging.getLogger("medispecs_desktop.backend")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    try:
        event = {"requestContext": {"http": {"method": "GET", "path": "/videos/v_env/upload-url"}},
                 "queryStringParameters": {"userId": "u_env"}}
        resp = handler_module.lambda_handler(event, None)
        assert resp["statusCode"] == 200, resp
        body = json.loads(resp["body"])
        assert body["expiresIn"] == 300 and moto_server.endpoint in body["uploadUrl"]
        app1 = handler_module._default_app
        handler_module.lambda_handler(event, None)
        assert handler_module._default_app is app1  # built once per container
        out = capsys.readouterr().out.strip().splitlines()
        logged = [json.loads(line) for line in out if line.startswith("{")]
        assert logged and logged[-1]["route"] == "GET /videos/{videoId}/upload-url"
    finally:
        logger.handlers[:] = saved[0]
        logger.propagate = saved[1]
        logger.setLevel(saved[2])
        handler_module.reset_for_tests()


def test_config_from_env_errors() -> None:
    base = {"TABLE_MAIN": "T", "S3_BUCKET": "b", "S3_REGION": "eu-west-2"}
    cfg = BackendConfig.from_env(base)
    assert (cfg.presign_expiry_seconds, cfg.user_id_claim, cfg.allow_query_user_id) == (
        3600, "sub", False)
    assert cfg.cors_allow_origin == "*"
    full = BackendConfig.from_env({**base, "PRE_SIGNED_URL_EXPIRY": "60", "USER_ID_CLAIM": "email",
                                   "ALLOW_QUERY_USER_ID": "yes", "MAX_UPLOAD_BYTES": "1000",
                                   "CORS_ALLOW_ORIGIN": "https://app.example"})
    assert (full.presign_expiry_seconds, full.user_id_claim, full.allow_query_user_id,
            full.max_upload_bytes, full.cors_allow_origin) == (
        60, "email", True, 1000, "https://app.example")
    for bad in ({"TABLE_MAIN": "T"}, {**base, "PRE_SIGNED_URL_EXPIRY": "soon"},
                {**base, "PRE_SIGNED_URL_EXPIRY": "0"}, {**base, "PRE_SIGNED_URL_EXPIRY": "700000"},
                {**base, "ALLOW_QUERY_USER_ID": "maybe"}, {**base, "MAX_UPLOAD_BYTES": "-1"}):
        with pytest.raises(ConfigError):
            BackendConfig.from_env(bad)


def test_misconfigured_function_answers_500(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLE_MAIN", raising=False)
    handler_module.reset_for_tests()
    logger = logging.getLogger("medispecs_desktop.backend")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    try:
        with pytest.raises(ConfigError):
            handler_module.lambda_handler({}, None)
    finally:  # the JSON log handler it installed writes to this test's captured stdout
        logger.handlers[:] = saved[0]
        logger.propagate = saved[1]
        logger.setLevel(saved[2])
        handler_module.reset_for_tests()


def test_null_body_is_not_an_empty_object_and_dates_are_ascii(api: Any) -> None:
    status, err = api.call("POST", "/videos/duplicates", raw_body="null")
    assert status == 400 and err["error"]["code"] == "invalid_body", err
    status, body = api.call("POST", "/videos/duplicates", raw_body="")
    assert status == 200 and body == {"matches": []}
    for when in ("2025-01-01T00:00:00\x00Z", "2025-01-01T00:00:00\u00a0Z",
                 "\uff12025-01-01T00:00:00Z", "2025-01-01\u202e00:00:00Z"):
        status, err = api.call(
            "POST", "/videos", raw_body=json.dumps({"title": "t", "recordedAt": when}))
        assert status == 400 and err["error"]["code"] == "invalid_date", (when, err)
