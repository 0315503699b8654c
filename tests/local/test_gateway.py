"""The local API gateway in front of a recording handler: the payload-2.0 events it builds,
how it maps results back to HTTP, and the answers API Gateway itself gives (401/404/413/204/500).

Tokens are real Cognito tokens from the session stack's moto and are verified against its real
JWKS over HTTP; only the Lambda is replaced, by one that records the events it receives.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from medispecs_desktop.local.gateway import (
    MAX_PAYLOAD_BYTES,
    LocalGateway,
    lambda_result_to_http,
)
from medispecs_desktop.local.jwt_verify import JwtVerifier, cognito_issuer


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Recorder:
    """A Lambda that records events and answers what the test tells it to."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.result: Any = None
        self.raise_error = False

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        assert context.get_remaining_time_in_millis() > 0
        assert context.aws_request_id == event["requestContext"]["requestId"]
        self.events.append(event)
        if self.raise_error:
            raise RuntimeError("boom with Bearer abc.def.ghi inside")
        if self.result is not None:
            return self.result
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"ok": True})}


@pytest.fixture
def gateway(local_stack: dict[str, Any]) -> Iterator[tuple[LocalGateway, Recorder]]:
    recorder = Recorder()
    verifier = JwtVerifier(
        jwks_url=local_stack["jwksUrl"],
        issuer=cognito_issuer(local_stack["region"], local_stack["userPoolId"]),
        audiences={local_stack["clientId"]},
    )
    gw = LocalGateway(recorder, verifier, port=0)
    gw.start()
    try:
        yield gw, recorder
    finally:
        gw.stop()


def test_event_is_payload_2_0(gateway, stack_users, http, local_stack) -> None:
    gw, rec = gateway
    id_token = stack_users["demo"]["IdToken"]
    r = http.get(
        f"{gw.url}/videos/v_abc%20def/playback-url?b=2&a=1&a=3&empty=",
        headers={**bearer(id_token), "X-Custom": "one", "Cookie": "c1=v1; c2=v2",
                 "User-Agent": "medispecs-test/1"},
    )
    assert r.status_code == 200 and r.json() == {"ok": True}
    assert r.headers["apigw-requestid"]
    (event,) = rec.events
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /videos/{videoId}/playback-url"
    assert event["rawPath"] == "/videos/v_abc%20def/playback-url"
    assert event["rawQueryString"] == "b=2&a=1&a=3&empty="
    assert event["queryStringParameters"] == {"b": "2", "a": "1,3", "empty": ""}
    assert event["pathParameters"] == {"videoId": "v_abc def"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    headers = event["headers"]
    assert all(name == name.lower() for name in headers)
    assert headers["x-custom"] == "one"
    assert headers["authorization"] == f"Bearer {id_token}"
    assert "cookie" not in headers and "connection" not in headers
    ctx = event["requestContext"]
    assert ctx["stage"] == "$default"
    assert ctx["routeKey"] == event["routeKey"]
    assert ctx["requestId"] == r.headers["apigw-requestid"]
    assert ctx["http"] == {
        "method": "GET",
        "path": "/videos/v_abc def/playback-url",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "medispecs-test/1",
    }
    claims = ctx["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == stack_users["demo"]["sub"]
    assert claims["aud"] == local_stack["clientId"]
    assert claims["token_use"] == "id"
    assert all(isinstance(v, str) for v in claims.values())  # API Gateway stringifies claims
    assert ctx["authorizer"]["jwt"]["scopes"] is None
    assert event["isBase64Encoded"] is False and "body" not in event


def test_access_token_scopes_and_client_id(gateway, stack_users, http) -> None:
    gw, rec = gateway
    r = http.get(f"{gw.url}/videos", headers=bearer(stack_users["demo"]["AccessToken"]))
    assert r.status_code == 200
    jwt_ctx = rec.events[0]["requestContext"]["authorizer"]["jwt"]
    assert jwt_ctx["claims"]["token_use"] == "access"
    assert jwt_ctx["claims"]["client_id"] in gw.verifier.audiences
    assert jwt_ctx["scopes"] == ["aws.cognito.signin.user.admin"]
    assert "queryStringParameters" not in rec.events[0]
    assert "pathParameters" not in rec.events[0]


def test_json_body_is_text_and_binary_body_is_base64(gateway, stack_users, http) -> None:
    gw, rec = gateway
    auth = bearer(stack_users["demo"]["IdToken"])
    doc = {"title": "Ward round – ü", "recordedAt": "2026-01-01T00:00:00Z"}
    assert http.post(f"{gw.url}/videos", json=doc, headers=auth).status_code == 200
    blob = bytes(range(256))
    binary = {**auth, "Content-Type": "application/octet-stream"}
    assert http.post(f"{gw.url}/videos", data=blob, headers=binary).status_code == 200
    text_event, bin_event = rec.events
    assert text_event["isBase64Encoded"] is False
    assert json.loads(text_event["body"]) == doc
    assert bin_event["isBase64Encoded"] is True
    assert base64.b64decode(bin_event["body"]) == blob


def test_chunked_body_is_reassembled(gateway, stack_users, http) -> None:
    gw, rec = gateway

    def parts() -> Iterator[bytes]:
        yield b'{"title": '
        yield b'"chunked"}'

    r = http.post(f"{gw.url}/videos", data=parts(),
                  headers={**bearer(stack_users["demo"]["IdToken"]),
                           "Content-Type": "application/json"})
    assert r.status_code == 200
    assert json.loads(rec.events[0]["body"]) == {"title": "chunked"}


def test_unknown_route_is_404_and_another_method_405_before_auth(gateway, http) -> None:
    gw, rec = gateway
    for method, path in (("GET", "/nope"), ("GET", "/videos/a/b/c/d/e"), ("GET", "/")):
        r = http.request(method, gw.url + path)
        assert r.status_code == 404, (method, path)
        assert r.json() == {"message": "Not Found"}
    for method, path, allow in (("PUT", "/videos", "GET, POST, OPTIONS"),
                                ("POST", "/videos/v_1", "DELETE, GET, PATCH, OPTIONS"),
                                ("GET", "/trash/v_1", "DELETE, OPTIONS")):
        r = http.request(method, gw.url + path)
        assert r.status_code == 405, (method, path)
        assert r.json() == {"message": "Method Not Allowed"}
        assert r.headers["Allow"] == allow
    assert rec.events == []


def test_routes_need_a_valid_bearer_token(gateway, stack_users, forge, http) -> None:
    gw, rec = gateway
    good = stack_users["demo"]["IdToken"]
    url = f"{gw.url}/videos"
    bad_headers = [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic ZGVtbzpkZW1v"},
        {"Authorization": "Bearer " + good[:-4] + "AAAA"},  # signature tampered
        bearer(forge(exp=1_000_000)),  # signed by moto's key, long expired
        bearer(forge(aud="some-other-client")),
        bearer(forge(iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_other")),
        bearer(forge(key="foreign")),  # right kid, wrong key
        bearer(forge(key="foreign", kid="unknown-kid")),
        bearer(forge(alg="HS256")),
        bearer(forge(exp=None)),
    ]
    for headers in bad_headers:
        r = http.get(url, headers=headers)
        assert r.status_code == 401, headers
        assert r.json() == {"message": "Unauthorized"}
    assert rec.events == []
    # the bare token (no "Bearer ") is accepted, as by API Gateway
    assert http.get(url, headers={"Authorization": good}).status_code == 200
    # two Authorization headers: refused
    with socket.create_connection(("127.0.0.1", int(gw.url.rsplit(":", 1)[1]))) as sock:
        sock.sendall(
            (f"GET /videos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {good}\r\n"
             f"Authorization: Bearer {good}\r\nConnection: close\r\n\r\n").encode()
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 401")


def test_options_preflight_needs_no_token(gateway, http) -> None:
    gw, rec = gateway
    for path in ("/videos", "/videos/v_1/multipart/u1/sign", "/anything"):
        r = http.options(gw.url + path, headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization,content-type",
        })
        assert r.status_code == 204
        assert r.content == b""
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        methods = r.headers["Access-Control-Allow-Methods"].split(",")
        assert {"GET", "POST", "PATCH", "DELETE", "OPTIONS"} <= set(methods)
        assert "authorization" in r.headers["Access-Control-Allow-Headers"].lower()
    assert rec.events == []


def test_cors_header_on_responses_with_origin(gateway, stack_users, http) -> None:
    gw, _ = gateway
    r = http.get(f"{gw.url}/videos", headers={**bearer(stack_users["demo"]["IdToken"]),
                                               "Origin": "http://localhost"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_payload_over_10_mb_is_413(gateway, stack_users, http) -> None:
    gw, rec = gateway
    auth = bearer(stack_users["demo"]["IdToken"])
    r = http.post(f"{gw.url}/videos", data=b"x" * (MAX_PAYLOAD_BYTES + 1),
                  headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json() == {"message": "Request Entity Too Large"}
    assert rec.events == []
    # a body of exactly the limit still reaches the handler
    r = http.post(f"{gw.url}/videos", data=b"y" * MAX_PAYLOAD_BYTES,
                  headers={**auth, "Content-Type": "text/plain"})
    assert r.status_code == 200
    assert len(rec.events[0]["body"]) == MAX_PAYLOAD_BYTES


def test_handler_failures_are_500_without_details(gateway, stack_users, http, caplog) -> None:
    gw, rec = gateway
    auth = bearer(stack_users["demo"]["IdToken"])
    rec.raise_error = True
    r = http.get(f"{gw.url}/videos", headers=auth)
    assert r.status_code == 500
    assert r.json() == {"message": "Internal Server Error"}
    rec.raise_error = False
    rec.result = {"statusCode": "not a number"}
    assert http.get(f"{gw.url}/videos", headers=auth).status_code == 500


def test_result_mapping() -> None:
    r = lambda_result_to_http({"statusCode": 201, "headers": {"X-A": "1"}, "body": "hé",
                               "cookies": ["s=1; HttpOnly"]})
    assert (r.status, r.body) == (201, "hé".encode())
    assert ("X-A", "1") in r.headers and ("Set-Cookie", "s=1; HttpOnly") in r.headers
    r = lambda_result_to_http({"statusCode": 200, "body": base64.b64encode(b"\xff\x00").decode(),
                               "isBase64Encoded": True})
    assert r.body == b"\xff\x00"
    r = lambda_result_to_http({"items": []})  # no statusCode: 200 JSON of the value
    assert (r.status, json.loads(r.body)) == (200, {"items": []})
    assert lambda_result_to_http({"statusCode": 999}).status == 500
    assert lambda_result_to_http({"statusCode": 200, "body": "%%%",
                                  "isBase64Encoded": True}).status == 500


def test_keep_alive_and_concurrency(gateway, stack_users) -> None:
    gw, rec = gateway
    auth = bearer(stack_users["demo"]["IdToken"])
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with requests.Session() as s:
                s.trust_env = False
                for _ in range(10):
                    assert s.get(f"{gw.url}/videos", headers=auth).status_code == 200
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(rec.events) == 40


def test_stop_leaves_no_threads_even_with_idle_keep_alive(local_stack, stack_users) -> None:
    verifier = JwtVerifier(
        jwks_url=local_stack["jwksUrl"],
        issuer=cognito_issuer(local_stack["region"], local_stack["userPoolId"]),
        audiences={local_stack["clientId"]},
    )
    before = {t.ident for t in threading.enumerate()}
    gw = LocalGateway(Recorder(), verifier)
    url = gw.start()
    session = requests.Session()
    session.trust_env = False
    assert session.get(f"{url}/videos", headers=bearer(stack_users["demo"]["IdToken"])
                       ).status_code == 200  # leaves an idle keep-alive connection open
    gw.stop()
    session.close()
    leftover = [t for t in threading.enumerate() if t.ident not in before]
    assert leftover == []
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/videos", timeout=2)


def test_gateway_refuses_non_loopback_hosts() -> None:
    for host in ("0.0.0.0", "192.168.1.10", "example.org", "::"):
        with pytest.raises(ValueError, match="loopback"):
            LocalGateway(Recorder(), verifier=None, host=host)  # type: ignore[arg-type]


def test_any_method_token_on_a_known_path_is_405(gateway, stack_users, http) -> None:
    gw, rec = gateway
    auth = bearer(stack_users["demo"]["IdToken"])
    for method in ("QUERY", "TRACE", "PROPFIND", "CONNECT"):
        r = http.request(method, f"{gw.url}/videos", headers=auth)
        assert (r.status_code, r.json()) == (405, {"message": "Method Not Allowed"}), method
        assert r.headers["Allow"] == "GET, POST, OPTIONS"
        r = http.request(method, f"{gw.url}/elsewhere", headers=auth)
        assert (r.status_code, r.json()) == (404, {"message": "Not Found"}), method
    assert rec.events == []


def test_oversized_bodies_413_and_the_connection_stays_usable(gateway, stack_users) -> None:
    gw, rec = gateway
    auth = bearer(stack_users["demo"]["IdToken"])
    with requests.Session() as s:
        s.trust_env = False
        r = s.post(f"{gw.url}/videos", data=b"z" * (MAX_PAYLOAD_BYTES + 10),
                   headers={**auth, "Content-Type": "application/json"})
        assert (r.status_code, r.json()) == (413, {"message": "Request Entity Too Large"})
        assert r.headers.get("Connection") != "close"  # the body was drained
        assert s.get(f"{gw.url}/videos", headers=auth).status_code == 200

        def chunks() -> Iterator[bytes]:
            for _ in range(11):
                yield b"c" * (1024 * 1024)

        r = s.post(f"{gw.url}/videos", data=chunks(),
                   headers={**auth, "Content-Type": "application/json"})
        assert (r.status_code, r.json()) == (413, {"message": "Request Entity Too Large"})
        assert s.get(f"{gw.url}/videos", headers=auth).status_code == 200
    assert len(rec.events) == 2


def test_access_log_has_no_tokens_or_query_secrets(gateway, stack_users, http, caplog) -> None:
    gw, _ = gateway
    token = stack_users["demo"]["IdToken"]
    caplog.set_level("DEBUG", logger="medispecs_desktop.local")
    http.get(f"{gw.url}/videos?X-Amz-Signature=abcdef123456", headers=bearer(token))
    http.get(f"{gw.url}/videos", headers=bearer(token[:-3] + "xyz"))  # 401, logged with reason
    http.get(f"{gw.url}/videos/{token}")  # a token pasted into the path
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "/videos" in text
    assert token not in text and token.split(".")[1] not in text
    assert "abcdef123456" not in text
