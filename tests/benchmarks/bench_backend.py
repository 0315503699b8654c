"""Benchmark the videos-handler: DynamoDB calls per request and handler latency for get-by-id
and list (limit 50) with 10 and with 10,000 videos for one user.

Run:  .venv/bin/python tests/benchmarks/bench_backend.py [--runs 50] [--sizes 10 10000]

Starts a moto server on 127.0.0.1 (S3 + DynamoDB over real HTTP), creates ``AppMain`` from
``backend.schema`` and the bucket, seeds each user's partition with BatchWriteItem (the video
record + its VIDEOID# pointer per video, as the handler writes them), then calls the real handler
with payload-2.0 events. DynamoDB operations are counted with botocore's ``before-call`` hook.
Latency includes moto's own time over loopback, so it is an upper bound on the handler's work;
the call counts are what must not grow with the partition. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from moto.server import ThreadedMotoServer

from medispecs_desktop.backend import schema
from medispecs_desktop.backend.config import BackendConfig
from medispecs_desktop.backend.handler import App
from medispecs_desktop.backend.store import to_dynamo

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from a checkout: tests.support is importable
    sys.path.insert(0, str(ROOT))

from tests.support.timing import median_ms  # noqa: E402

if TYPE_CHECKING:
    from mypy_boto3_s3.literals import BucketLocationConstraintType

REGION: BucketLocationConstraintType = "eu-west-2"
BUCKET = "medispecs-videos"
TABLE = "AppMain"


def seed(ddb: Any, user: str, count: int) -> list[str]:
    pk = schema.user_pk(user)
    ids: list[str] = []
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        pending: dict[str, Any] = {TABLE: list(batch)}
        while pending:
            resp = ddb.batch_write_item(RequestItems=pending)
            pending = resp.get("UnprocessedItems") or {}
        batch.clear()

    for i in range(count):
        vid = f"v_bench{i:06d}"
        ids.append(vid)
        recorded = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_700_000_000 + i * 600))
        sk = schema.video_sk(recorded, vid)
        record = {
            "PK": pk, "SK": sk, "entity": "VIDEO", "videoId": vid, "userId": user,
            "title": f"Recording {i}", "recordedAt": recorded,
            "s3Key": f"videos/{user}/{vid}.mp4", "s3Bucket": BUCKET, "status": "uploaded",
            "fileSizeBytes": 100_000_000 + i, "durationSec": 120.5, "mimeType": "video/mp4",
            "deviceId": "d_bench", "width": 1920, "height": 1080, "codec": "h264",
            "sha256": f"{i:064x}", "createdAt": recorded, "updatedAt": recorded, "version": 1,
        }
        pointer = {"PK": pk, "SK": schema.video_id_sk(vid), "entity": "VIDEOID",
                   "videoId": vid, "videoSK": sk}
        for item in (record, pointer):
            batch.append({"PutRequest": {"Item": to_dynamo(item)}})
            if len(batch) == 25:
                flush()
    if batch:
        flush()
    return ids


def event(user: str, path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    ev: dict[str, Any] = {
        "version": "2.0", "routeKey": "$default", "rawPath": path,
        "requestContext": {"http": {"method": "GET", "path": path},
                           "authorizer": {"jwt": {"claims": {"sub": user}}}},
    }
    if query:
        ev["queryStringParameters"] = query
    return ev


def measure(app: App, calls: list[str], ev: dict[str, Any], runs: int) -> tuple[float, float,
                                                                               float, str]:
    times: list[float] = []
    per_request: list[Counter[str]] = []
    for _ in range(runs):
        calls.clear()
        start = time.perf_counter()
        resp = app(ev, None)
        times.append((time.perf_counter() - start) * 1000)
        assert resp["statusCode"] == 200, resp
        per_request.append(Counter(calls))
    first = per_request[0]
    assert all(c == first for c in per_request), "DynamoDB calls vary between runs"
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return float(sum(first.values())), statistics.median(times), p95, ", ".join(
        f"{k}×{v}" for k, v in sorted(first.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 10_000])
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        ddb = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        s3 = boto3.client("s3", region_name=REGION, endpoint_url=endpoint)
        ddb.create_table(**schema.create_table_kwargs(TABLE))
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        app = App(BackendConfig(table_name=TABLE, bucket=BUCKET, region=REGION,
                                endpoint_url=endpoint))
        calls: list[str] = []
        app.clients.dynamodb.meta.events.register(
            "before-call.dynamodb", lambda event_name, **_: calls.append(event_name.split(".")[-1])
        )
        rows = []
        for size in args.sizes:
            user = f"bench-{size}"
            t0 = time.perf_counter()
            ids = seed(ddb, user, size)
            seed_s = time.perf_counter() - t0
            mid = ids[len(ids) // 2]
            app(event(user, f"/videos/{mid}"), None)  # warm up clients/connections
            get_row = measure(app, calls, event(user, f"/videos/{mid}"), args.runs)
            list_row = measure(app, calls, event(user, "/videos", {"limit": "50"}), args.runs)
            page = json.loads(app(event(user, "/videos", {"limit": "50"}), None)["body"])
            assert len(page["items"]) == min(50, size)
            pk = {"S": schema.user_pk(user)}

            def raw_get(vid: str = mid, pk: Any = pk) -> None:
                ptr = ddb.get_item(TableName=TABLE, ConsistentRead=True,
                                   Key={"PK": pk, "SK": {"S": schema.video_id_sk(vid)}})["Item"]
                ddb.get_item(TableName=TABLE, ConsistentRead=True,
                             Key={"PK": pk, "SK": ptr["videoSK"]})

            def raw_query(pk: Any = pk) -> None:
                ddb.query(TableName=TABLE,
                          KeyConditionExpression="PK = :pk AND SK BETWEEN :a AND :b",
                          ExpressionAttributeValues={":pk": pk, ":a": {"S": "VIDEO#"},
                                                     ":b": {"S": "VIDEO#~"}},
                          ScanIndexForward=False, Limit=51, ConsistentRead=True)

            rows.append((size, "GET /videos/{videoId}", *get_row, median_ms(raw_get, args.runs)))
            rows.append((size, "GET /videos?limit=50", *list_row, median_ms(raw_query, args.runs)))
            print(f"seeded {size} videos ({2 * size} items) in {seed_s:.1f} s", flush=True)
        print()
        print(f"{'videos':>7} | {'route':<22} | {'DDB calls':>9} | {'median ms':>9} | "
              f"{'p95 ms':>7} | {'same calls, boto3->moto only':>28} | operations")
        print("-" * 115)
        for size, route, n, med, p95, ops, raw in rows:
            print(f"{size:>7} | {route:<22} | {n:>9.0f} | {med:>9.2f} | {p95:>7.2f} | "
                  f"{raw:>25.2f} ms | {ops}")
        print(f"\n{args.runs} runs per row; moto {endpoint} over loopback; no Scan anywhere: "
              f"{'Scan' not in calls}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
