"""Benchmark the deployable Lambda zip: build time, size, cold start and warm latency of the
guide's events, run from the unpacked zip in a clean boto3-only virtual environment (Python 3.13
when pyenv has it, like the Lambda runtime) against a moto server over loopback HTTP.

Run:  .venv/bin/python tests/benchmarks/bench_lambda_zip.py [--warm 50] [--colds 5]

"cold" = a new interpreter process: import of the handler module (boto3 included) plus the
first request (which builds the boto3 clients). "warm" = later requests in the same process.
moto's own time over loopback is included, so the figures are upper bounds of the handler's
work; on AWS the network to DynamoDB/S3 replaces moto. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from moto.server import ThreadedMotoServer

from medispecs_desktop.backend.schema import create_table_kwargs

ROOT = Path(__file__).resolve().parents[2]
if TYPE_CHECKING:
    from mypy_boto3_s3.literals import BucketLocationConstraintType

REGION: BucketLocationConstraintType = "ap-southeast-1"

RUNNER = textwrap.dedent(
    """
    import json, sys, time
    t0 = time.perf_counter()
    sys.path.insert(0, sys.argv[1])
    from videos_handler import lambda_handler
    t_import = time.perf_counter() - t0
    warm = int(sys.argv[2])
    list_ev = {"requestContext": {"http": {"method": "GET", "path": "/videos"}},
               "queryStringParameters": {"userId": "u_123"}}
    create_ev = {"requestContext": {"http": {"method": "POST", "path": "/videos"}},
                 "body": json.dumps({"userId": "u_123", "title": "Morning Recording",
                                     "recordedAt": "2025-11-03T14:30:00Z", "durationSec": 120})}
    url_ev = {"requestContext": {"http": {"method": "GET", "path": "/videos/v_123/upload-url"}},
              "pathParameters": {"videoId": "v_123"},
              "queryStringParameters": {"userId": "u_123"}}
    t1 = time.perf_counter()
    first = lambda_handler(list_ev, None)
    t_first = time.perf_counter() - t1
    assert first["statusCode"] == 200, first
    out = {"import_s": t_import, "first_request_s": t_first, "warm": {}}
    for name, ev, code in (("list", list_ev, 200), ("create", create_ev, 201),
                           ("upload-url", url_ev, 200)):
        samples = []
        for _ in range(warm):
            t = time.perf_counter()
            r = lambda_handler(ev, None)
            samples.append(time.perf_counter() - t)
            assert r["statusCode"] == code, r
        out["warm"][name] = samples
    print(json.dumps(out))
    """
)


def _load_build_lambda():
    spec = importlib.util.spec_from_file_location(
        "build_lambda", ROOT / "packaging/build_lambda.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _python() -> str:
    found = sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"), reverse=True)
    return str(found[0]) if found else (shutil.which("python3.13") or sys.executable)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=50, help="warm requests per route")
    parser.add_argument("--colds", type=int, default=5, help="cold starts (new processes)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    build_lambda = _load_build_lambda()

    with tempfile.TemporaryDirectory(prefix="bench-lambda-") as tmp_name:
        tmp = Path(tmp_name)
        t = time.perf_counter()
        zip_path = build_lambda.build(tmp / "videos-handler.zip")
        build_s = time.perf_counter() - t
        zip_bytes = zip_path.stat().st_size
        with zipfile.ZipFile(zip_path) as zf:
            files = len(zf.namelist())
            unpacked = sum(i.file_size for i in zf.infolist())
            zf.extractall(tmp / "task")

        python = _python()
        subprocess.run([python, "-m", "venv", "--without-pip", str(tmp / "venv")], check=True)
        venv_python = tmp / "venv" / "bin" / "python"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(venv_python),
                "install",
                "-q",
                "--disable-pip-version-check",
                f"boto3=={metadata.version('boto3')}",
            ],
            check=True,
            capture_output=True,
        )
        version = subprocess.run(
            [str(venv_python), "-c", "import sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        (tmp / "runner.py").write_text(RUNNER, encoding="utf-8")

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        try:
            kw: dict[str, Any] = {
                "endpoint_url": endpoint,
                "region_name": REGION,
                "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing",
            }
            boto3.client("s3", **kw).create_bucket(
                Bucket="medispecs-videos", CreateBucketConfiguration={"LocationConstraint": REGION}
            )
            boto3.client("dynamodb", **kw).create_table(**create_table_kwargs("AppMain"))
            env = {
                "PATH": os.environ.get("PATH", ""),
                "TABLE_MAIN": "AppMain",
                "S3_BUCKET": "medispecs-videos",
                "S3_REGION": REGION,
                "PRE_SIGNED_URL_EXPIRY": "3600",
                "ALLOW_QUERY_USER_ID": "true",
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "LOG_LEVEL": "WARNING",
            }
            colds: list[dict[str, float]] = []
            warm: dict[str, list[float]] = {}
            for i in range(args.colds):
                t = time.perf_counter()
                done = subprocess.run(
                    [
                        str(venv_python),
                        "-I",
                        "-B",
                        str(tmp / "runner.py"),
                        str(tmp / "task"),
                        str(args.warm if i == 0 else 1),
                    ],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                wall = time.perf_counter() - t
                result = json.loads(done.stdout.strip().splitlines()[-1])
                colds.append(
                    {
                        "import_s": result["import_s"],
                        "first_request_s": result["first_request_s"],
                        "process_s": wall,
                    }
                )
                if i == 0:
                    warm = result["warm"]
        finally:
            server.stop()

    def ms(values: list[float]) -> str:
        return (
            f"median {statistics.median(values) * 1000:.1f} ms, "
            f"p95 {sorted(values)[max(0, int(len(values) * 0.95) - 1)] * 1000:.1f} ms"
        )

    print(
        f"zip: {zip_path.name} {zip_bytes / 1024:.1f} KiB "
        f"({files} files, {unpacked / 1024:.1f} KiB unpacked), built in {build_s * 1000:.0f} ms"
    )
    print(f"runtime: Python {version} venv with only boto3 {metadata.version('boto3')}")
    print(
        f"cold start x{len(colds)}: import {ms([c['import_s'] for c in colds])}; "
        f"first request {ms([c['first_request_s'] for c in colds])}"
    )
    for name, samples in warm.items():
        print(f"warm {name} x{len(samples)}: {ms(samples)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
