#!/usr/bin/env python3
"""Cold start of the desktop app to its main window shown (median of N runs), with and without
``--local``; also to the feature views installed (``views_ready``: boto3 and the library,
player and upload views loaded) and, with ``--local``, to the demo stack ready and signed in.

    .venv/bin/python tests/benchmarks/bench_startup.py [--runs 5] [--platform offscreen|xcb]

Each run is a fresh process with a fresh settings directory. Times are wall-clock from
``Popen`` to the app's ``medispecs-event:`` line (``MEDISPECS_TEST_EVENTS=1``); the app quits
by itself after the last event it is asked for (``MEDISPECS_EXIT_ON``). ``--platform xcb``
runs the real window in a private Xvfb.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from a checkout: tests.support is importable
    sys.path.insert(0, str(ROOT))

from tests.support.xvfb import start_xvfb, stop_xvfb  # noqa: E402


def one_run(local: bool, env_base: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="medispecs-bench-") as home:
        env = dict(env_base)
        env.update({"MEDISPECS_HOME": home, "MEDISPECS_TEST_EVENTS": "1",
                    "MEDISPECS_EXIT_ON": "signed_in" if local else "views_ready"})
        if local:
            env["MEDISPECS_AUTOLOGIN"] = "1"
        args = [sys.executable, "-m", "medispecs_desktop"] + (["--local"] if local else [])
        start = time.perf_counter()
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        times: dict[str, float] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("medispecs-event: "):
                times[line.split()[1]] = time.perf_counter() - start
        proc.wait(60)
        times["exit"] = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"the app exited with {proc.returncode}: {times}")
        return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--platform", choices=("offscreen", "xcb"), default="offscreen")
    args = parser.parse_args()
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = args.platform
    env["QT_LOGGING_RULES"] = "qt.*=false"
    for var in ("MEDISPECS_API_URL", "MEDISPECS_USER_POOL_ID", "MEDISPECS_CLIENT_ID",
                "MEDISPECS_COGNITO_ENDPOINT"):
        env.pop(var, None)
    xvfb = None
    if args.platform == "xcb":
        xvfb, env["DISPLAY"] = start_xvfb("1280x800")
    try:
        one_run(False, env)  # warm the OS file cache once: "cold" = a new process, not a cold disk
        print(f"startup benchmark: {args.runs} runs each, QT_QPA_PLATFORM={args.platform}, "
              f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
        for local in (False, True):
            runs = [one_run(local, env) for _ in range(args.runs)]
            events = (["window_shown", "views_ready", "stack_ready", "signed_in"] if local
                      else ["window_shown", "views_ready"])
            label = "medispecs-desktop --local" if local else "medispecs-desktop"
            for event in events:
                values = [r[event] for r in runs]
                print(f"  {label:28s} to {event:13s} median {statistics.median(values):6.2f} s"
                      f"  (min {min(values):.2f}, max {max(values):.2f})")
    finally:
        if xvfb is not None:
            stop_xvfb(xvfb)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
