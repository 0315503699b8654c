"""Benchmark the server-side whole-file SHA-256 check of POST /videos (videos-handler).

Run:  .venv/bin/python tests/benchmarks/bench_sha256_verify.py [--sizes 8 32 64] [--runs 3]

Starts a moto server on 127.0.0.1 (S3 + DynamoDB over real HTTP) and, per size (MiB):
- uploads a multipart object through the handler's pre-signed part URLs, then times POST /videos
  with its ``sha256`` (the handler streams the object back from S3 and hashes it: "read");
- puts a single object with a full-object SHA-256 checksum and times POST /videos ("checksum":
  compared from HeadObject, no read);
- times ``VideoStorage.read_sha256`` alone on the same object (the read-back throughput).
Also prints the S3/DynamoDB operations of each create. moto serves ~200-300 MB/s over loopback
and keeps objects in RAM several times over: keep sizes to tens of MiB. On AWS the read runs at
Lambda's S3 throughput (memory-dependent) and stops before the timeout (sha256Verified false).
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import statistics
import time
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

import boto3
import requests
from botocore.config import Config
from moto.server import ThreadedMotoServer

from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.handler import App
from medispecs_desktop.backend.schema import create_table_kwargs

if TYPE_CHECKING:
    from mypy_boto3_s3.literals import BucketLocationConstraintType

REGION: BucketLocationConstraintType = "eu-west-2"
BUCKET = "medispecs-videos-bench"
TABLE = "AppMainBench"
MIB = 2**20
PART = 8 * MIB


def b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def event(user: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "version": "2.0", "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": method, "path": path},
                           "authorizer": {"jwt": {"claims": {"sub": user}}},
                           "requestId": uuid.uuid4().hex, "stage": "$default"},
        "isBase64Encoded": False,
    }
    if body is not None:
        ev["body"] = json.dumps(body)
    return ev


def call(app: App, user: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    resp = app(event(user, method, path, body), None)
    return resp["statusCode"], json.loads(resp["body"]) if resp["body"] else None


def multipart(app: App, user: str, vid: str, data: bytes) -> None:
    status, mp = call(app, user, "POST", f"/videos/{vid}/multipart",
                      {"fileSizeBytes": len(data), "partSizeBytes": PART})
    assert status == 201, mp
    chunks = {n + 1: data[o:o + PART] for n, o in enumerate(range(0, len(data), PART))}
    status, signed = call(app, user, "POST", f"/videos/{vid}/multipart/{mp['uploadId']}/sign",
                          {"parts": [{"partNumber": n, "contentLength": len(c),
                                      "checksumSHA256": b64(c)} for n, c in chunks.items()]})
    assert status == 200, signed
    done = []
    for p in signed["parts"]:
        r = requests.put(p["url"], data=chunks[p["partNumber"]], headers=p["headers"],
                         timeout=120)
        r.raise_for_status()
        done.append({"partNumber": p["partNumber"], "etag": r.headers["ETag"]})
    status, out = call(app, user, "POST", f"/videos/{vid}/multipart/{mp['uploadId']}/complete",
                       {"parts": done})
    assert status == 200, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 32, 64], help="MiB")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    creds: dict[str, Any] = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint, **creds,
                      config=Config(s3={"addressing_style": "path"}))
    ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint, **creds)
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    ddb.create_table(**create_table_kwargs(TABLE))
    app = App(BackendConfig(table_name=TABLE, bucket=BUCKET, region=REGION,
                            endpoint_url=endpoint, **creds))
    ops: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        ops[event_name.rsplit(".", 1)[-1]] += 1

    app.clients.s3.meta.events.register("before-call.s3", count)
    app.clients.dynamodb.meta.events.register("before-call.dynamodb", count)

    print(f"moto {endpoint}; {args.runs} runs per row (median)\n")
    print(f"{'MiB':>5} | {'path':<9} | {'POST /videos ms':>15} | {'read-back MB/s':>14} | "
          "operations per create")
    print("-" * 100)
    try:
        for size in args.sizes:
            user = "bench-" + uuid.uuid4().hex[:8]
            for kind in ("read", "checksum"):
                times: list[float] = []
                last_ops = ""
                for run in range(args.runs):
                    data = os.urandom(size * MIB)
                    vid = f"v_{kind}{size}x{run}"
                    if kind == "read":
                        multipart(app, user, vid, data)
                    else:
                        s3.put_object(Bucket=BUCKET, Key=f"videos/{user}/{vid}.mp4", Body=data,
                                      ContentType="video/mp4", ChecksumAlgorithm="SHA256",
                                      ChecksumSHA256=b64(data))
                    body = {"videoId": vid, "title": "bench", "sha256":
                            hashlib.sha256(data).hexdigest(),
                            "recordedAt": "2025-11-03T14:30:00Z", "fileSizeBytes": len(data),
                            "uploadKind": "multipart" if kind == "read" else "single"}
                    ops.clear()
                    t0 = time.perf_counter()
                    status, video = call(app, user, "POST", "/videos", body)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert status == 201 and video["sha256VerifiedBy"] == kind, video
                    last_ops = " ".join(f"{k}x{v}" for k, v in sorted(ops.items()))
                rate = ""
                if kind == "read":
                    key = f"videos/{user}/v_read{size}x0.mp4"
                    info = app.service.storage.head(key, checksums=True)
                    assert info is not None
                    reads = []
                    for _ in range(args.runs):
                        t0 = time.perf_counter()
                        app.service.storage.read_sha256(key, info)
                        reads.append(time.perf_counter() - t0)
                    rate = f"{size * MIB / statistics.median(reads) / 1e6:.0f}"
                print(f"{size:>5} | {kind:<9} | {statistics.median(times):>15.1f} | "
                      f"{rate:>14} | {last_ops}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
