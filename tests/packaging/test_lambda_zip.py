"""The built Lambda zip, unpacked into a clean virtual environment that has only boto3, runs the
setup guide's four test events (DESIGN §5/§8) against a real moto server over HTTP, with real
bytes PUT through the pre-signed URL it hands out."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from medispecs_desktop.backend.schema import create_table_kwargs

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("build_lambda", ROOT / "packaging/build_lambda.py")
assert _spec and _spec.loader
build_lambda = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_lambda)

if TYPE_CHECKING:
    from mypy_boto3_s3.literals import BucketLocationConstraintType

REGION: BucketLocationConstraintType = "ap-southeast-1"
BUCKET = "medispecs-videos-zip-test"  # moto state is shared by every server in this process
TABLE = "AppMainZipTest"

# The guide's test events, verbatim.
EVENT_1 = {
    "requestContext": {"http": {"method": "GET", "path": "/videos"}},
    "queryStringParameters": {"userId": "u_123"},
}
EVENT_2 = {
    "requestContext": {"http": {"method": "POST", "path": "/videos"}},
    "body": '{"userId":"u_123","deviceId":"d_123","title":"Morning Recording",'
    '"recordedAt":"2025-11-03T14:30:00Z","durationSec":120}',
}
EVENT_3 = {
    "requestContext": {"http": {"method": "GET", "path": "/videos/v_123/upload-url"}},
    "pathParameters": {"videoId": "v_123"},
    "queryStringParameters": {"userId": "u_123"},
}
EVENT_4 = {
    "requestContext": {"http": {"method": "GET", "path": "/videos/v_123/playback-url"}},
    "pathParameters": {"videoId": "v_123"},
    "queryStringParameters": {"userId": "u_123"},
}

# Runs inside the clean venv, the code dir first on sys.path, like the Lambda runtime does.
RUNNER = textwrap.dedent(
    """
    import importlib.util, json, sys
    code_dir, handler = sys.argv[1], sys.argv[2]
    sys.path.insert(0, code_dir)
    module_name, func_name = handler.rsplit(".", 1)

    class Context:  # the attributes of the Lambda runtime's context object
        function_name = "videos-handler"
        function_version = "$LATEST"
        memory_limit_in_mb = 256
        aws_request_id = "req-zip-test"
        invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:videos-handler"
        log_group_name = "/aws/lambda/videos-handler"
        log_stream_name = "zip-test"
        def get_remaining_time_in_millis(self):
            return 29000

    func = getattr(__import__(module_name, fromlist=[func_name]), func_name)
    reachable = {
        name: importlib.util.find_spec(name) is not None
        for name in ("boto3", "medispecs_desktop.core", "medispecs_desktop.local",
                     "medispecs_desktop.ui", "PySide6", "requests", "moto", "av")
    }
    results = [func(event, Context()) for event in json.load(sys.stdin)]
    import boto3, botocore
    print(json.dumps({"results": results, "reachable": reachable,
                      "boto3": [boto3.__version__, boto3.__file__.startswith(code_dir)],
                      "botocore": [botocore.__version__, botocore.__file__.startswith(code_dir)],
                      "python": list(sys.version_info[:2])}))
    """
)


def _lambda_like_python() -> str:
    """Python 3.13 (the function's runtime) when pyenv has it, else this interpreter."""
    for candidate in sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"), reverse=True):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("python3.13")
    return found or sys.executable


@pytest.fixture(scope="session")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_lambda.build(tmp_path_factory.mktemp("lambda-build") / "videos-handler.zip")


@pytest.fixture(scope="session")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("lambda-venv") / "venv"
    subprocess.run(
        [_lambda_like_python(), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    # Nothing installed: the zip must bring its own boto3 (whatever boto3 a Lambda runtime has,
    # or none, the function runs on the locked one).
    assert subprocess.run([str(python), "-I", "-c", "import boto3"], capture_output=True).returncode
    return python


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def provisioned(moto_endpoint: str) -> Iterator[str]:
    kw: dict[str, Any] = {
        "endpoint_url": moto_endpoint,
        "region_name": REGION,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    s3 = boto3.client("s3", **kw)
    ddb = boto3.client("dynamodb", **kw)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    ddb.create_table(**create_table_kwargs(TABLE))
    try:
        yield moto_endpoint
    finally:
        listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        for obj in listed:
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
        s3.delete_bucket(Bucket=BUCKET)
        ddb.delete_table(TableName=TABLE)


def _run_events(
    python: Path,
    code_dir: Path,
    endpoint: str,
    events: list[dict[str, Any]],
    handler: str = build_lambda.HANDLER,
    console_test: bool = True,
) -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(code_dir.parent),
        # the function's configuration (template.yaml) ...
        "TABLE_MAIN": TABLE,
        "S3_BUCKET": BUCKET,
        "S3_REGION": REGION,
        "PRE_SIGNED_URL_EXPIRY": "900",
        # ... moto instead of AWS, and (console test events) users named by a parameter
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_LAMBDA_FUNCTION_NAME": "videos-handler",
    }
    if console_test:
        env["ALLOW_QUERY_USER_ID"] = "true"
    runner = code_dir.parent / "runner.py"
    runner.write_text(RUNNER, encoding="utf-8")
    result = subprocess.run(
        [str(python), "-I", "-B", str(runner), str(code_dir), handler],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=code_dir,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_zip_holds_the_backend_the_shim_and_the_locked_boto3(lambda_zip: Path) -> None:
    with zipfile.ZipFile(lambda_zip) as zf:
        names = zf.namelist()
        assert zf.testzip() is None
    assert "videos_handler.py" in names
    assert "medispecs_desktop/backend/handler.py" in names
    tops = {n.split("/")[0] for n in names if n != "videos_handler.py"}
    locked = build_lambda.locked_versions()
    vendored = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3"}
    dist_info = {
        f"{name.replace('-', '_')}-{version}.dist-info" for name, version in locked.items()
    }
    assert tops == {"medispecs_desktop"} | vendored | dist_info
    assert not [n for n in names if n.startswith("medispecs_desktop/") and
                not n.startswith("medispecs_desktop/backend/")]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    source = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "medispecs_desktop/backend").rglob("*")
        if p.suffix in (".py", ".yaml") and "__pycache__" not in p.parts
    }
    assert source <= set(names)  # every module, and the OpenAPI file once it exists


def test_build_is_reproducible(lambda_zip: Path, tmp_path: Path) -> None:
    again = build_lambda.build(tmp_path / "again.zip")
    assert again.read_bytes() == lambda_zip.read_bytes()


def test_build_command_line(tmp_path: Path) -> None:
    out = tmp_path / "cli.zip"
    result = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "build_lambda.py"), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert out.is_file() and "videos_handler.lambda_handler" in result.stdout


def test_build_refuses_a_missing_backend(tmp_path: Path) -> None:
    with pytest.raises(build_lambda.BuildError, match=r"handler\.py"):
        build_lambda.build(tmp_path / "x.zip", backend=tmp_path / "nothing")
    assert not (tmp_path / "x.zip").exists()


def test_guide_events_through_the_zip_in_a_clean_venv(
    lambda_zip: Path, clean_venv: Path, provisioned: str, tmp_path: Path
) -> None:
    code = tmp_path / "task"  # /var/task on Lambda
    with zipfile.ZipFile(lambda_zip) as zf:
        zf.extractall(code)

    # Events 1-3 as one cold start: list, create (metadata first), get an upload URL.
    first = _run_events(clean_venv, code, provisioned, [EVENT_1, EVENT_2, EVENT_3])
    locked = build_lambda.locked_versions()
    assert first["boto3"] == [locked["boto3"], True]  # the zip's own, the locked version
    assert first["botocore"] == [locked["botocore"], True]
    assert first["reachable"] == {
        "boto3": True,
        "medispecs_desktop.core": False,
        "medispecs_desktop.local": False,
        "medispecs_desktop.ui": False,
        "PySide6": False,
        "requests": False,
        "moto": False,
        "av": False,
    }
    listed, created, upload = first["results"]

    assert listed["statusCode"] == 200, listed
    assert json.loads(listed["body"]) == {"items": [], "nextCursor": None}

    assert created["statusCode"] == 201, created
    video = json.loads(created["body"])
    assert video["status"] == "pending"
    assert video["videoId"].startswith("v_") and video["videoId"] != "v_123"
    assert video["title"] == "Morning Recording" and video["durationSec"] == 120
    assert video["recordedAt"] == "2025-11-03T14:30:00Z" and video["userId"] == "u_123"

    assert upload["statusCode"] == 200, upload
    target = json.loads(upload["body"])
    assert target["videoId"] == "v_123" and target["method"] == "PUT"
    assert target["s3Key"] == "videos/u_123/v_123.mp4"

    # Real bytes through the real pre-signed URL, then the metadata for v_123.
    payload = os.urandom(256 * 1024)
    put = requests.put(
        target["uploadUrl"], data=payload, headers=target.get("headers") or {}, timeout=30
    )
    assert put.status_code == 200, put.text
    register = {
        "requestContext": {"http": {"method": "POST", "path": "/videos"}},
        "body": json.dumps(
            {
                "userId": "u_123",
                "videoId": "v_123",
                "title": "Morning Recording",
                "recordedAt": "2025-11-03T14:30:00Z",
                "durationSec": 120,
            }
        ),
    }
    # A second container (new process): the record, then event 4 and event 1 again.
    second = _run_events(
        clean_venv,
        code,
        provisioned,
        [register, EVENT_4, EVENT_1],
        handler=build_lambda.FULL_HANDLER,
    )
    registered, playback, relisted = second["results"]
    assert registered["statusCode"] == 201, registered
    record = json.loads(registered["body"])
    assert record["status"] == "uploaded" and record["fileSizeBytes"] == len(payload)

    assert playback["statusCode"] == 200, playback
    url = json.loads(playback["body"])["playbackUrl"]
    got = requests.get(url, timeout=30)
    assert got.status_code == 200 and got.content == payload

    ids = {item["videoId"] for item in json.loads(relisted["body"])["items"]}
    assert ids == {"v_123", video["videoId"]}


def test_event_4_without_bytes_is_404(
    lambda_zip: Path, clean_venv: Path, provisioned: str, tmp_path: Path
) -> None:
    code = tmp_path / "task"
    with zipfile.ZipFile(lambda_zip) as zf:
        zf.extractall(code)
    (playback,) = _run_events(clean_venv, code, provisioned, [EVENT_4])["results"]
    assert playback["statusCode"] == 404, playback
    assert json.loads(playback["body"])["error"]["code"] == "not_found"


def test_deployed_configuration_needs_the_authorizers_claims(
    lambda_zip: Path, clean_venv: Path, provisioned: str, tmp_path: Path
) -> None:
    """As deployed (no ALLOW_QUERY_USER_ID), the guide's bare event is refused and the same
    event with the claims the JWT authorizer passes is served; another user is refused."""
    code = tmp_path / "task"
    with zipfile.ZipFile(lambda_zip) as zf:
        zf.extractall(code)
    claims: dict[str, Any] = {"authorizer": {"jwt": {"claims": {"sub": "u_123"},
                                                     "scopes": None}}}
    context: dict[str, Any] = dict(EVENT_1["requestContext"])  # type: ignore[call-overload]
    with_token = {**EVENT_1, "requestContext": {**context, **claims}}
    other_user = {**with_token, "queryStringParameters": {"userId": "u_999"}}
    bare, served, refused = _run_events(
        clean_venv, code, provisioned, [EVENT_1, with_token, other_user], console_test=False
    )["results"]
    assert bare["statusCode"] == 401, bare
    assert served["statusCode"] == 200, served
    assert json.loads(served["body"])["items"] == []
    assert refused["statusCode"] == 403, refused
    assert json.loads(refused["body"])["error"]["code"] == "forbidden"
