"""``list --all`` of a big library against its physical limit on the same demo stack.

    .venv/bin/python tests/benchmarks/bench_list_all.py [--count 10000] [--rounds 3]

* starts the demo stack as the app does (a child process, ``--no-samples``) and seeds
  ``--count`` recordings (+ their VIDEOID pointers) for the demo user straight into its DynamoDB
  with BatchWriteItem (the item shape of backend/schema.py, as bench_library.py does): creating
  them through the API (bench_demo_scale.py) takes tens of minutes and lists the same way;
* then, in alternating rounds so every figure sees the same machine load:
  - ``ddb``: a raw boto3 Query loop over the same table, the same key condition and page size
    as the backend's (100 + 1, newest first): the stack's DynamoDB alone, the physical limit;
  - ``api``: every page of 100 through ``GET /videos`` with one keep-alive requests session
    (the gateway, the real handler: Query, thumbnail URLs, the audit transaction per page);
  - ``cli``: ``medispecs-desktop list --all --json`` in a subprocess (wall time, start-up and
    printing included), signed in with ``login --password-stdin``;
* prints per-round figures with the load average, medians, and the per-round ratios cli/ddb
  and cli/api (median of the ratios). Goal (issue 16): ``list --all`` of 10,000 <= 10 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import psutil
import requests

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from a checkout: tests.benchmarks is importable
    sys.path.insert(0, str(ROOT))

from medispecs_desktop.backend import schema  # noqa: E402
from medispecs_desktop.core.models import format_utc  # noqa: E402
from medispecs_desktop.local.child import start_stack_process, stop_stack_process  # noqa: E402
from medispecs_desktop.local.stack import sign_in  # noqa: E402
from tests.benchmarks.bench_demo_scale import cli_env  # noqa: E402

PAGE = 100
GOAL_LIST_SECONDS = 10.0


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def seed(ddb: Any, table: str, bucket: str, user_id: str, count: int) -> None:
    pk = schema.user_pk(user_id)
    now = datetime.now(UTC).replace(microsecond=0)
    stamp = format_utc(now)
    batch: list[dict[str, Any]] = []
    for i in range(count):
        video_id = f"v_bench{i:06d}{uuid.uuid4().hex[:8]}"
        recorded = format_utc(now - timedelta(days=400) + timedelta(minutes=i))
        sk = schema.video_sk(recorded, video_id)
        item = {
            "PK": {"S": pk}, "SK": {"S": sk}, "entity": {"S": schema.ENTITY_VIDEO},
            "videoId": {"S": video_id}, "userId": {"S": user_id},
            "deviceId": {"S": "d_bench_glasses"}, "title": {"S": f"Bench recording {i:05d}"},
            "s3Key": {"S": f"videos/{user_id}/{video_id}.mp4"}, "s3Bucket": {"S": bucket},
            "thumbnailS3Key": {"S": f"thumbnails/{user_id}/{video_id}.jpg"},
            "recordedAt": {"S": recorded}, "durationSec": {"N": str(30 + i % 600)},
            "fileSizeBytes": {"N": str(5_000_000 + i)}, "mimeType": {"S": "video/mp4"},
            "status": {"S": "ready"}, "createdAt": {"S": stamp}, "updatedAt": {"S": stamp},
            "version": {"N": "1"}, "width": {"N": "1280"}, "height": {"N": "720"},
            "codec": {"S": "h264"},
        }
        pointer = {"PK": {"S": pk}, "SK": {"S": schema.video_id_sk(video_id)},
                   "entity": {"S": schema.ENTITY_VIDEO_ID}, "videoId": {"S": video_id},
                   "videoSK": {"S": sk}}
        batch += [{"PutRequest": {"Item": item}}, {"PutRequest": {"Item": pointer}}]
    for start in range(0, len(batch), 25):
        chunk: Any = {table: batch[start:start + 25]}
        while chunk:
            chunk = ddb.batch_write_item(RequestItems=chunk).get("UnprocessedItems") or {}


def ddb_round(ddb: Any, table: str, user_id: str) -> tuple[float, int]:
    """The backend's Query, page after page, straight to the stack's DynamoDB."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
        "ExpressionAttributeNames": {"#pk": schema.PK_ATTR, "#sk": schema.SK_ATTR},
        "ExpressionAttributeValues": {":pk": {"S": schema.user_pk(user_id)},
                                      ":lo": {"S": schema.VIDEO_SK_PREFIX},
                                      ":hi": {"S": schema.VIDEO_SK_PREFIX + "~"}},
        "ScanIndexForward": False, "Limit": PAGE + 1, "ConsistentRead": True,
    }
    seen = 0
    t0 = time.perf_counter()
    while True:
        items = ddb.query(**kwargs).get("Items", [])
        if len(items) <= PAGE:
            seen += len(items)
            break
        seen += PAGE
        kwargs["ExclusiveStartKey"] = {"PK": items[PAGE - 1]["PK"], "SK": items[PAGE - 1]["SK"]}
    return time.perf_counter() - t0, seen


def api_round(session: requests.Session, api: str, token: str) -> tuple[float, int]:
    seen = 0
    cursor: str | None = None
    t0 = time.perf_counter()
    while True:
        params: dict[str, Any] = {"limit": PAGE}
        if cursor:
            params["cursor"] = cursor
        r = session.get(f"{api}/videos", params=params,
                        headers={"Authorization": f"Bearer {token}"}, timeout=60)
        r.raise_for_status()
        page = r.json()
        seen += len(page["items"])
        cursor = page.get("nextCursor")
        if not cursor:
            return time.perf_counter() - t0, seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("ddb", "api", "cli"), action="append",
                        help="measure only these (repeatable; default all three)")
    args = parser.parse_args(argv)
    kinds = args.only or ["ddb", "api", "cli"]
    proc, info = start_stack_process(["--no-samples"], timeout=180)
    try:
        users = {u["username"]: u["password"] for u in info["users"]}
        username = info["username"]
        tokens = sign_in(info["awsEndpoint"], info["region"], info["clientId"], username,
                         users[username], user_pool_id=info["userPoolId"])
        import jwt

        user_id = str(jwt.decode(tokens["IdToken"], options={"verify_signature": False})["sub"])
        ddb = boto3.client("dynamodb", endpoint_url=info["awsEndpoint"],
                           region_name=info["region"], aws_access_key_id="testing",
                           aws_secret_access_key="testing")
        t0 = time.perf_counter()
        seed(ddb, info["table"], info["bucket"], user_id, args.count)
        print(f"seeded {args.count} recordings in {time.perf_counter() - t0:.1f} s ({load()})",
              flush=True)
        api = info["apiUrl"].rstrip("/")
        with tempfile.TemporaryDirectory(prefix="bench-list-") as home, \
                requests.Session() as session:
            session.trust_env = False
            env = cli_env(info, Path(home))
            cmd = [sys.executable, "-m", "medispecs_desktop"]
            login = subprocess.run([*cmd, "login", "-u", username, "--password-stdin"],
                                   input=users[username] + "\n", text=True,
                                   capture_output=True, env=env, timeout=120)
            if login.returncode != 0:
                raise RuntimeError(f"login failed: {login.stderr}")

            cli_cpu: list[float] = []

            def cli_round() -> tuple[float, int]:
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                out = subprocess.run([*cmd, "list", "--all", "--json"], capture_output=True,
                                     env=env, timeout=900)
                elapsed = time.perf_counter() - t
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cli_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime
                               - before.ru_stime)
                if out.returncode != 0:
                    raise RuntimeError(f"list --all failed: {out.stderr.decode()}")
                return elapsed, out.stdout.count(b'"videoId"')

            runs = {"ddb": lambda: ddb_round(ddb, info["table"], user_id),
                    "api": lambda: api_round(session, api, tokens["IdToken"]),
                    "cli": cli_round}
            figures: dict[str, list[float]] = {k: [] for k in kinds}
            stack_cpu: dict[str, list[float]] = {k: [] for k in kinds}
            server = psutil.Process(proc.pid)
            for r in range(args.rounds):
                order = kinds if r % 2 == 0 else kinds[::-1]  # alternate who goes first
                line = []
                for kind in order:
                    cpu0 = sum(server.cpu_times()[:2])
                    seconds, seen = runs[kind]()
                    stack_cpu[kind].append(sum(server.cpu_times()[:2]) - cpu0)
                    if seen != args.count:
                        raise RuntimeError(f"{kind}: listed {seen}, seeded {args.count}")
                    figures[kind].append(seconds)
                    line.append(f"{kind} {seconds:6.2f} s (stack CPU "
                                f"{stack_cpu[kind][-1]:5.2f} s"
                                + (f", CLI CPU {cli_cpu[-1]:5.2f} s" if kind == "cli" else "")
                                + ")")
                print(f"round {r + 1}: " + ", ".join(line) + f" ({load()})", flush=True)
        print(f"medians over {args.rounds} rounds of {args.count} recordings "
              f"(pages of {PAGE}): " + ", ".join(
                  f"{k} {statistics.median(v):.2f} s" for k, v in figures.items()))
        print("CPU per page of 100, load-independent: stack " + ", ".join(
            f"{k} {statistics.median(v) / (args.count / PAGE) * 1e3:.1f} ms"
            for k, v in stack_cpu.items())
              + (f"; the CLI process {statistics.median(cli_cpu) / (args.count / PAGE) * 1e3:.1f}"
                 " ms" if cli_cpu else ""))
        for a, b in (("cli", "ddb"), ("cli", "api"), ("api", "ddb")):
            if a in figures and b in figures:
                ratios = [x / y for x, y in zip(figures[a], figures[b], strict=True)]
                print(f"  {a}/{b}: median of per-round ratios {statistics.median(ratios):.2f}")
        if "cli" in figures:
            best = statistics.median(figures["cli"])
            ok = best <= GOAL_LIST_SECONDS
            print(f"{'PASS' if ok else 'FAIL'}  list --all of {args.count}: {best:.2f} s "
                  f"(<= {GOAL_LIST_SECONDS:.0f} s; {load()})")
            return 0 if ok else 1
        return 0
    finally:
        stop_stack_process(proc)


if __name__ == "__main__":
    sys.exit(main())
