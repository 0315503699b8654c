"""Local-stack start-up time.

    .venv/bin/python tests/benchmarks/bench_stack_startup.py [--runs 5]

Measures, median of N runs each:

1. in-process: ``LocalStack(...).start()`` -> info dict, in this process (moto + provisioning
   + gateway [+ demo clips made and uploaded]); the first run includes the cold imports of
   moto's services and is reported separately, as are the phase timings;
2. CLI child: spawn ``python -m medispecs_desktop local-stack --port 0`` until its JSON line
   is read - what the desktop app waits for with ``--local`` - including interpreter start
   and all imports; and its stop (SIGTERM -> exit 0).

Both with and without the demo samples. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from medispecs_desktop.local.child import start_stack_process, stop_stack_process


def _fmt(values: list[float]) -> str:
    return (f"median {statistics.median(values) * 1000:7.0f} ms  "
            f"(min {min(values) * 1000:.0f}, max {max(values) * 1000:.0f}, n={len(values)})")


def bench_in_process(runs: int, samples: bool) -> None:
    from medispecs_desktop.local.stack import LocalStack

    times: list[float] = []
    phases: dict[str, list[float]] = {}
    for _ in range(runs + 1):  # +1: the first (cold) run is reported apart
        stack = LocalStack(with_samples=samples)
        t0 = time.perf_counter()
        stack.start()
        elapsed = time.perf_counter() - t0
        timings = dict(stack.timings)
        stack.stop()
        times.append(elapsed)
        for name, value in timings.items():
            phases.setdefault(name, []).append(value)
    label = "with samples" if samples else "no samples  "
    print(f"in-process  {label}: cold {times[0] * 1000:.0f} ms; warm {_fmt(times[1:])}")
    warm_phases = ", ".join(
        f"{name} {statistics.median(values[1:]) * 1000:.0f}" for name, values in phases.items()
        if name != "total"
    )
    print(f"            phases (warm medians, ms): {warm_phases}")


def bench_child(runs: int, samples: bool) -> None:
    ready: list[float] = []
    stops: list[float] = []
    args = [] if samples else ["--no-samples"]
    for _ in range(runs):
        t0 = time.perf_counter()
        proc, _info = start_stack_process(args)
        ready.append(time.perf_counter() - t0)
        t1 = time.perf_counter()
        code = stop_stack_process(proc)
        stops.append(time.perf_counter() - t1)
        assert code == 0, code
    label = "with samples" if samples else "no samples  "
    print(f"CLI child   {label}: JSON line {_fmt(ready)}; stop {_fmt(stops)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    bench_child(args.runs, samples=True)
    bench_child(args.runs, samples=False)
    bench_in_process(args.runs, samples=True)
    bench_in_process(args.runs, samples=False)


if __name__ == "__main__":
    main()
