"""Backend fixtures: one real moto server over HTTP per test session (S3 + DynamoDB), the
AppMain table from ``backend.schema`` and the bucket, and helpers to call the handler with
API Gateway HTTP API (payload 2.0) events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import yaml
from botocore.config import Config
from moto.server import ThreadedMotoServer
from openapi_schema_validator import OAS30Validator

from medispecs_desktop.backend.audit import create_audit_table_kwargs
from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.handler import App
from medispecs_desktop.backend.routes import match_route
from medispecs_desktop.backend.schema import create_table_kwargs

if TYPE_CHECKING:
    from mypy_boto3_s3.literals import BucketLocationConstraintType

REGION: BucketLocationConstraintType = "eu-west-2"
BUCKET = "medispecs-videos"
TABLE = "AppMain"
AUDIT_TABLE = "AppAudit"
USER_AGENT = "MediSpecs-Tests/1.0"


SPEC_PATH = Path(__file__).resolve().parents[2] / "medispecs_desktop" / "backend" / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def response_schema(route_key: str, status: int) -> dict[str, Any]:
    method, path = route_key.split(" ", 1)
    responses = SPEC["paths"][path][method.lower()]["responses"]
    if str(status) not in responses:
        raise AssertionError(f"{route_key} answered {status}, which openapi.yaml does not list")
    return _resolve(responses[str(status)])["content"]["application/json"]["schema"]


def validate_response(route_key: str, status: int, body: Any) -> None:
    """Assert ``body`` is what openapi.yaml promises for ``route_key`` + ``status``."""
    schema = {**response_schema(route_key, status), "components": SPEC["components"]}
    OAS30Validator(schema).validate(body)


@dataclass
class Moto:
    endpoint: str
    s3: Any
    dynamodb: Any


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Moto]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    cfg = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint, config=cfg,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    moto = Moto(endpoint, s3, ddb)
    _provision(moto)
    try:
        yield moto
    finally:
        server.stop()


def _provision(moto: Moto) -> None:
    """The bucket and tables, where missing (idempotent)."""
    try:
        moto.s3.head_bucket(Bucket=BUCKET)
    except moto.s3.exceptions.ClientError:
        moto.s3.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        # versioned, as the template declares it: the Trash's purge deletes every version
        moto.s3.put_bucket_versioning(
            Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
        )
    existing = set(moto.dynamodb.list_tables()["TableNames"])
    if TABLE not in existing:
        moto.dynamodb.create_table(**create_table_kwargs(TABLE))
    if AUDIT_TABLE not in existing:
        moto.dynamodb.create_table(**create_audit_table_kwargs(AUDIT_TABLE))


@pytest.fixture(autouse=True)
def _moto_provisioned(request: pytest.FixtureRequest) -> None:
    """moto's state is global to this process: a test elsewhere that runs the local stack
    in-process resets it (tests/local/test_inprocess_stack.py). Whatever ran before, every
    backend test starts with the bucket and tables in place (the suite runs in random order)."""
    if "moto_server" in request.fixturenames:
        _provision(request.getfixturevalue("moto_server"))


def make_config(endpoint: str, **overrides: Any) -> BackendConfig:
    kwargs: dict[str, Any] = {
        "table_name": TABLE,
        "bucket": BUCKET,
        "region": REGION,
        "presign_expiry_seconds": 900,
        "audit_table_name": AUDIT_TABLE,
        "endpoint_url": endpoint,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    kwargs.update(overrides)
    return BackendConfig(**kwargs)


@dataclass
class Api:
    """Calls the real handler with payload-2.0 events, as API Gateway would."""

    app: App
    user: str = field(default_factory=lambda: "user-" + uuid.uuid4().hex[:12])
    ddb_calls: list[str] = field(default_factory=list)
    audit_calls: list[str] = field(default_factory=list)

    def event(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw_body: str | None = None,
        query: dict[str, str] | None = None,
        user: str | EllipsisType | None = ...,  # ...: this Api's own user
        claims: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        who = self.user if user is ... else user
        ctx: dict[str, Any] = {
            "http": {"method": method, "path": path, "sourceIp": "127.0.0.1"},
            "requestId": uuid.uuid4().hex,
            "stage": "$default",
        }
        if claims is not None:
            ctx["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
        elif who is not None:
            ctx["authorizer"] = {"jwt": {"claims": {"sub": who}, "scopes": None}}
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {"content-type": "application/json", "user-agent": USER_AGENT},
            "requestContext": ctx,
            "isBase64Encoded": False,
        }
        if query:
            event["queryStringParameters"] = query
        if raw_body is not None:
            event["body"] = raw_body
        elif body is not None:
            event["body"] = json.dumps(body)
        return event

    def call(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        """Call the handler; every answer of a known route is checked against openapi.yaml."""
        resp = self.app(self.event(method, path, **kw), None)
        text = resp["body"]
        assert resp["headers"]["Access-Control-Allow-Origin"] == "*"
        body = json.loads(text) if text else None
        match = match_route(method, path.split("?", 1)[0])
        if match is not None:
            validate_response(match.route_key, resp["statusCode"], body)
        return resp["statusCode"], body

    def raw(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.app(event, None)

    def create(self, **fields: Any) -> dict[str, Any]:
        body = {"title": "clip", "recordedAt": "2025-11-03T14:30:00Z", **fields}
        status, out = self.call("POST", "/videos", body=body)
        assert status in (200, 201), out
        return out


@pytest.fixture(scope="session")
def backend_config(moto_server: Moto) -> BackendConfig:
    return make_config(moto_server.endpoint)


@dataclass
class _Recorder:
    calls: list[str] = field(default_factory=list)
    """Operations on AppMain (the audit table's writes are in ``audit_calls``)."""
    every_call: set[str] = field(default_factory=set)  # never cleared by tests
    audit_calls: list[str] = field(default_factory=list)

    def __call__(self, event_name: str, params: Any = None, **_: Any) -> None:
        op = event_name.rsplit(".", 1)[-1]
        self.every_call.add(op)
        params = params if isinstance(params, dict) else {}
        tables = {str(params["TableName"])} if "TableName" in params else set()
        for entry in params.get("TransactItems", []):
            tables |= {str(e.get("TableName")) for e in entry.values()}
        (self.audit_calls if tables == {AUDIT_TABLE} else self.calls).append(op)


@pytest.fixture(scope="session")
def _shared_app(backend_config: BackendConfig) -> tuple[App, _Recorder]:
    """One handler for the session (clients built once, as in a warm Lambda container), with
    every DynamoDB operation it makes recorded through botocore's event hooks."""
    app = App(backend_config)
    recorder = _Recorder()
    app.clients.dynamodb.meta.events.register("before-parameter-build.dynamodb", recorder)
    return app, recorder


@pytest.fixture
def app(_shared_app: tuple[App, _Recorder]) -> App:
    return _shared_app[0]


@pytest.fixture
def api(_shared_app: tuple[App, _Recorder]) -> Iterator[Api]:
    """A fresh user per test (isolated partition and S3 prefix); ``api.ddb_calls`` lists the
    DynamoDB operations made since the fixture was created (clear it to start counting).
    After every test: the handler never used Scan."""
    app, recorder = _shared_app
    recorder.calls.clear()
    recorder.every_call.clear()
    recorder.audit_calls.clear()
    yield Api(app, ddb_calls=recorder.calls, audit_calls=recorder.audit_calls)
    assert "Scan" not in recorder.every_call, "the handler used Scan"


@pytest.fixture
def other_api(_shared_app: tuple[App, _Recorder]) -> Api:
    return Api(_shared_app[0], ddb_calls=[])


@pytest.fixture
def put_object(moto_server: Moto) -> Callable[..., None]:
    def _put(key: str, data: bytes, content_type: str = "video/mp4") -> None:
        moto_server.s3.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType=content_type)

    return _put


@pytest.fixture(scope="session")
def make_app(moto_server: Moto) -> Callable[..., App]:
    """``make_app(**config_overrides)`` -> a handler App against the session's moto server."""

    def factory(**overrides: Any) -> App:
        return App(make_config(moto_server.endpoint, **overrides))

    return factory


@pytest.fixture(scope="session")
def check_response() -> Callable[[str, int, Any], None]:
    """``check_response(route_key, status, body)``: assert it is what openapi.yaml promises."""
    return validate_response
