"""A real library in the demo stack: 10,000 recordings created through the API, then listed.

    .venv/bin/python tests/benchmarks/bench_demo_scale.py [--count 10000] [--json out.json]

* starts the demo stack as the app does (``medispecs-desktop local-stack`` as a child process,
  ``--no-samples`` so the demo user's library holds exactly ``--count`` recordings);
* warms the handler up with 5 uploads for the *other* demo user (first-call imports and client
  creation are not charged to the first measured POST);
* creates ``--count`` recordings for the demo user through the real API path - ``GET
  upload-url`` -> ``PUT`` a tiny unique object to the pre-signed URL -> ``POST /videos`` (the
  service HEADs the object, verifies its SHA-256 and writes the record with its pointers in one
  DynamoDB transaction) - and reports the ``POST /videos`` latency (median / p95) of the
  requests up to 10 and of the last 100 up to 1,000, 5,000 and 10,000 records, with the stack
  process's RSS and its CPU time per recording (all three requests; the work, whatever the
  machine's load) over the same requests;
* the same POSTs paired with a *reference* stack (a second, small stack: at most 10 + 100 per
  checkpoint recordings): each measured POST to the big stack is followed by one to the
  reference, so both see the same machine load, and the ratio of their medians says what the
  library's size costs. A run of 10,000 takes tens of minutes, and on a shared machine the load
  changes meanwhile: the across-time ratio (at 10,000 / at 10) measures the load as much as the
  stack, the paired ratio does not (``--no-reference``: without the second stack);
* lists them all with ``medispecs-desktop list --all --json`` (a CLI subprocess, signed in with
  ``login --password-stdin``; wall time of the whole command);
* scroll-equivalent: every page of 100 through ``GET /videos`` (per-page median / p95 / last).

Goals (issue 10 / 16): POST latency at 10,000 within 1.5x of that at 10 (the paired ratio: the
big stack's median over the reference's, under the same load; without a reference the
across-time ratio); stack RSS < 1 GiB; ``list --all`` of 10,000 <= 10 s. The script prints
PASS/FAIL per goal (not a test).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import requests

from medispecs_desktop.local.child import start_stack_process, stop_stack_process
from medispecs_desktop.local.stack import sign_in

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINTS = (10, 1_000, 5_000, 10_000)
WINDOW = 100  # POSTs per checkpoint (all of them up to 10)
GOAL_LATENCY_RATIO = 1.5
GOAL_RSS_BYTES = 1 << 30
GOAL_LIST_SECONDS = 10.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def create_recording(
    session: requests.Session, api: str, token: str, index: int, recorded_at: datetime
) -> float:
    """One recording through the real API flow; returns the POST /videos latency (s)."""
    auth = {"Authorization": f"Bearer {token}"}
    video_id = "v_" + uuid.uuid4().hex
    data = f"medispecs bench {video_id} {index}\n".encode()  # unique: no duplicate SHA-256
    digest = hashlib.sha256(data)
    grant = session.get(
        f"{api}/videos/{video_id}/upload-url",
        params={"contentType": "video/mp4", "size": str(len(data)),
                "sha256": base64.b64encode(digest.digest()).decode()},
        headers=auth, timeout=60,
    )
    grant.raise_for_status()
    g = grant.json()
    put = session.request(str(g.get("method", "PUT")), g["uploadUrl"], data=data,
                          headers={str(k): str(v) for k, v in (g.get("headers") or {}).items()},
                          timeout=60)
    put.raise_for_status()
    body = {
        "videoId": video_id,
        "title": f"Bench recording {index:05d}",
        "recordedAt": recorded_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mimeType": "video/mp4",
        "fileSizeBytes": len(data),
        "durationSec": 1.0,
        "width": 640,
        "height": 360,
        "codec": "h264",
        "deviceId": "d_bench",
        "sha256": digest.hexdigest(),
        "fingerprint": f"{len(data)}:{digest.hexdigest()}",
        "uploadKind": "single",
    }
    started = time.perf_counter()
    created = session.post(f"{api}/videos", json=body, headers=auth, timeout=60)
    elapsed = time.perf_counter() - started
    if created.status_code != 201:
        raise RuntimeError(f"POST /videos #{index}: HTTP {created.status_code} {created.text}")
    return elapsed


def stack_cpu(process: psutil.Process) -> float:
    """CPU seconds the stack process has used (user + system): work, whatever the load."""
    times = process.cpu_times()
    return float(times.user + times.system)


def cli_env(info: dict[str, Any], home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDISPECS_")}
    env.update({
        "MEDISPECS_API_URL": info["apiUrl"],
        "MEDISPECS_REGION": info["region"],
        "MEDISPECS_USER_POOL_ID": info["userPoolId"],
        "MEDISPECS_CLIENT_ID": info["clientId"],
        "MEDISPECS_COGNITO_ENDPOINT": info["awsEndpoint"],
        "MEDISPECS_HOME": str(home),
        # a benchmark machine has no Secret Service: a private token file under MEDISPECS_HOME
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "MEDISPECS_ALLOW_PLAINTEXT_KEYRING": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    })
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="recordings to create")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-reference", action="store_true",
                        help="no second stack: compare the checkpoints across time only")
    args = parser.parse_args(argv)
    checkpoints = sorted({c for c in CHECKPOINTS if c < args.count} | {args.count})
    figures: dict[str, Any] = {"count": args.count, "loadavg_start": os.getloadavg(),
                               "cpus": os.cpu_count(), "checkpoints": {}}

    proc, info = start_stack_process(["--no-samples"], timeout=180)
    stack = psutil.Process(proc.pid)
    ref_proc: subprocess.Popen[bytes] | None = None
    try:
        reference: tuple[str, str] | None = None  # (api, token) of the small stack
        if not args.no_reference:
            ref_proc, ref_info = start_stack_process(["--no-samples"], timeout=180)
            ref_user = next(u for u in ref_info["users"]
                            if u["username"] == ref_info["username"])
            reference = (ref_info["apiUrl"].rstrip("/"), sign_in(
                ref_info["awsEndpoint"], ref_info["region"], ref_info["clientId"],
                ref_user["username"], ref_user["password"],
                user_pool_id=ref_info["userPoolId"])["IdToken"])
        api = info["apiUrl"].rstrip("/")
        users = {u["username"]: u["password"] for u in info["users"]}
        tokens = {name: sign_in(info["awsEndpoint"], info["region"], info["clientId"], name,
                                password, user_pool_id=info["userPoolId"])["IdToken"]
                  for name, password in users.items()}
        other = next(name for name in tokens if name != info["username"])
        base = datetime(2026, 1, 1, tzinfo=UTC)
        with requests.Session() as session:
            session.trust_env = False
            for i in range(5):  # warm-up on the other user's partition
                create_recording(session, api, tokens[other], i,
                                 base - timedelta(days=1, minutes=i))
                if reference is not None:
                    create_recording(session, reference[0], reference[1], -1 - i,
                                     base - timedelta(days=2, minutes=i))
            rss_start = stack.memory_info().rss
            figures["stack_rss_start_mib"] = rss_start / 2**20
            print(f"stack pid {proc.pid}, RSS after warm-up {rss_start / 2**20:.0f} MiB; "
                  f"creating {args.count} recordings (load {os.getloadavg()[0]:.1f})", flush=True)
            token = tokens[info["username"]]
            latencies: list[float] = []
            ref_latencies: list[float] = []  # the reference's POST paired with each measured one
            ref_made = 0
            cpu_after = [stack_cpu(stack)]  # [i]: the stack's CPU seconds after i recordings
            started = time.perf_counter()
            for i in range(1, args.count + 1):
                # newest first in the listing: recordedAt goes back one minute per record
                latencies.append(create_recording(session, api, token, i,
                                                  base - timedelta(minutes=i)))
                cpu_after.append(stack_cpu(stack))
                next_checkpoint = min(c for c in checkpoints if c >= i)
                if reference is not None and i > next_checkpoint - WINDOW:
                    ref_made += 1
                    ref_latencies.append(create_recording(
                        session, reference[0], reference[1], ref_made,
                        base - timedelta(minutes=ref_made)))
                if i in checkpoints:
                    window = latencies[-min(i, WINDOW):]
                    rss = stack.memory_info().rss
                    cpu_ms = (cpu_after[i] - cpu_after[i - len(window)]) / len(window) * 1e3
                    point = {"posts": len(window), "median_ms": statistics.median(window) * 1e3,
                             "p95_ms": percentile(window, 0.95) * 1e3,
                             "stack_cpu_ms_per_recording": cpu_ms,
                             "stack_rss_mib": rss / 2**20,
                             "elapsed_s": time.perf_counter() - started,
                             "loadavg": os.getloadavg()[0]}
                    paired = ""
                    if reference is not None:
                        ref_window = ref_latencies[-len(window):]
                        point["reference_median_ms"] = statistics.median(ref_window) * 1e3
                        point["reference_records"] = ref_made
                        point["paired_ratio"] = point["median_ms"] / point["reference_median_ms"]
                        paired = (f"; reference ({ref_made} records) "
                                  f"{point['reference_median_ms']:6.1f} ms -> paired ratio "
                                  f"{point['paired_ratio']:.2f}")
                    figures["checkpoints"][i] = point
                    print(f"  at {i:>6}: POST /videos median {point['median_ms']:6.1f} ms, "
                          f"p95 {point['p95_ms']:6.1f} ms (last {len(window)}); stack CPU "
                          f"{cpu_ms:5.1f} ms/recording; RSS "
                          f"{point['stack_rss_mib']:6.0f} MiB; {point['elapsed_s']:6.0f} s; "
                          f"load {point['loadavg']:.1f}{paired}", flush=True)

            # scroll-equivalent: every page of 100, newest first
            pages: list[float] = []
            seen = 0
            cursor: str | None = None
            t0 = time.perf_counter()
            while True:
                params: dict[str, Any] = {"limit": 100}
                if cursor:
                    params["cursor"] = cursor
                t = time.perf_counter()
                r = session.get(f"{api}/videos", params=params,
                                headers={"Authorization": f"Bearer {token}"}, timeout=60)
                pages.append(time.perf_counter() - t)
                r.raise_for_status()
                page = r.json()
                seen += len(page["items"])
                cursor = page.get("nextCursor")
                if not cursor:
                    break
            figures["pages"] = {"pages": len(pages), "items": seen,
                                "total_s": time.perf_counter() - t0,
                                "median_ms": statistics.median(pages) * 1e3,
                                "p95_ms": percentile(pages, 0.95) * 1e3,
                                "last_ms": pages[-1] * 1e3}
            p = figures["pages"]
            print(f"pages of 100: {p['pages']} pages, {p['items']} items in {p['total_s']:.2f} s; "
                  f"per page median {p['median_ms']:.1f} ms, p95 {p['p95_ms']:.1f} ms, "
                  f"last {p['last_ms']:.1f} ms", flush=True)
            if seen != args.count:
                raise RuntimeError(f"listed {seen} recordings, created {args.count}")

        with tempfile.TemporaryDirectory(prefix="bench-scale-") as home:
            env = cli_env(info, Path(home))
            cmd = [sys.executable, "-m", "medispecs_desktop"]
            login = subprocess.run([*cmd, "login", "-u", info["username"], "--password-stdin"],
                                   input=users[info["username"]] + "\n", text=True,
                                   capture_output=True, env=env, timeout=120)
            if login.returncode != 0:
                raise RuntimeError(f"login failed: {login.stderr}")
            t = time.perf_counter()
            listing = subprocess.run([*cmd, "list", "--all", "--json"], text=True,
                                     capture_output=True, env=env, timeout=600)
            list_s = time.perf_counter() - t
            if listing.returncode != 0:
                raise RuntimeError(f"list --all failed: {listing.stderr}")
            items = json.loads(listing.stdout)["items"]
            figures["list_all"] = {"seconds": list_s, "items": len(items)}
            print(f"medispecs-desktop list --all --json: {len(items)} recordings in "
                  f"{list_s:.2f} s", flush=True)
            if len(items) != args.count:
                raise RuntimeError(f"list --all printed {len(items)}, created {args.count}")
        figures["stack_rss_end_mib"] = stack.memory_info().rss / 2**20
        figures["loadavg_end"] = os.getloadavg()
    finally:
        stop_stack_process(proc)
        if ref_proc is not None:
            stop_stack_process(ref_proc)

    first, last = figures["checkpoints"][checkpoints[0]], figures["checkpoints"][checkpoints[-1]]
    ratio = last["median_ms"] / first["median_ms"]
    peak_rss = max(c["stack_rss_mib"] for c in figures["checkpoints"].values())
    load_note = f"load {first['loadavg']:.1f} -> {last['loadavg']:.1f}"
    if "paired_ratio" in last:
        latency_goal = (
            f"POST median at {checkpoints[-1]} / the reference's under the same load = "
            f"{last['paired_ratio']:.2f} (<= {GOAL_LATENCY_RATIO}; across time: at "
            f"{checkpoints[-1]} / at {checkpoints[0]} = {ratio:.2f}, {load_note})",
            last["paired_ratio"] <= GOAL_LATENCY_RATIO)
    else:
        latency_goal = (f"POST median at {checkpoints[-1]} / at {checkpoints[0]} = {ratio:.2f} "
                        f"(<= {GOAL_LATENCY_RATIO}; {load_note})", ratio <= GOAL_LATENCY_RATIO)
    goals = {
        latency_goal[0]: latency_goal[1],
        f"stack RSS {peak_rss:.0f} MiB (< 1024 MiB)": peak_rss * 2**20 < GOAL_RSS_BYTES,
        f"list --all {figures['list_all']['seconds']:.2f} s (<= {GOAL_LIST_SECONDS:.0f} s)":
            figures["list_all"]["seconds"] <= GOAL_LIST_SECONDS,
    }
    figures["goals"] = goals
    for text, ok in goals.items():
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
