"""Where the time of one GUI-thread stall went, from the kernel's own accounting (Linux).

``/proc/<pid>/task/<tid>/schedstat`` holds, per thread, the nanoseconds it ran on a CPU and the
nanoseconds it waited on a run queue (runnable, no CPU given). Snapshots taken at two heartbeat
ticks split the gap between them into:

* ``cpu``: the GUI thread ran (Python in slots, layout, paint, GC...);
* ``runq``: it was runnable and waited for a CPU (other threads or processes had them);
* ``blocked``: it slept. Past the tick's due time that is a lock, nearly always the GIL held by
  another thread of this process (or a blocking call, which the GUI thread must never make).

and say which threads of this process, the stack child and the rest of the machine used the
CPUs meanwhile. Used by ``bench_gui_uploads.py --explain``; a sweep costs ~0.1 ms.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

_TICK = os.sysconf("SC_CLK_TCK")


def _read(path: Path) -> tuple[int, int]:
    try:
        cpu, runq, _ = path.read_text().split()
        return int(cpu), int(runq)
    except (OSError, ValueError):
        return 0, 0


def _tasks(pid: int | str) -> dict[int, tuple[int, int]]:
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        out[int(task.name)] = _read(task / "schedstat")
    return out


def _comm(tid: int) -> str:
    try:
        return "native:" + Path(f"/proc/self/task/{tid}/comm").read_text().strip()
    except OSError:
        return "ended"


def _machine_busy_ns() -> int:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + values[4]  # idle + iowait
    return int((sum(values[:8]) - idle) * 1e9 / _TICK)


class SchedTrace:
    def __init__(self, child_pid: int | None = None, interval_ms: float = 5.0) -> None:
        self.interval = interval_ms
        self.gui = threading.get_native_id()
        self.child = child_pid
        self.rows: list[dict[str, Any]] = []
        self.late = {"ticks": 0, "stall": 0.0, "runq": 0.0, "blocked": 0.0}
        self._last = self._snap()

    def _snap(self) -> dict[str, Any]:
        return {"t": time.perf_counter_ns(), "self": _tasks("self"),
                "child": _tasks(self.child) if self.child else {},
                "machine": _machine_busy_ns()}

    def tick(self, stall_ms: float, context: str = "") -> None:
        """Call at every heartbeat; records a breakdown when ``stall_ms`` is long."""
        now = self._snap()
        if stall_ms > 30:
            self.rows.append(self._explain(self._last, now, context))
        if stall_ms > 2:  # every late tick: how much of the lateness was which kind of wait
            g0 = self._last["self"].get(self.gui, (0, 0))
            g1 = now["self"].get(self.gui, (0, 0))
            runq = min(stall_ms, (g1[1] - g0[1]) / 1e6)
            late = self.late
            late["ticks"] += 1
            late["stall"] += stall_ms
            late["runq"] += runq
            gap = (now["t"] - self._last["t"]) / 1e6
            late["blocked"] += min(stall_ms - runq,
                                   max(0.0, gap - (g1[0] - g0[0]) / 1e6 - runq - self.interval))
        self._last = now

    def _explain(self, a: dict[str, Any], b: dict[str, Any], context: str) -> dict[str, Any]:
        gap = (b["t"] - a["t"]) / 1e6
        g0, g1 = a["self"].get(self.gui, (0, 0)), b["self"].get(self.gui, (0, 0))
        cpu, runq = (g1[0] - g0[0]) / 1e6, (g1[1] - g0[1]) / 1e6
        names = {t.native_id: t.name for t in threading.enumerate()}
        others: dict[str, float] = {}
        waited: dict[str, float] = {}
        for tid, (c, r) in b["self"].items():
            if tid == self.gui:
                continue
            before = a["self"].get(tid, (0, 0))
            used, queued = (c - before[0]) / 1e6, (r - before[1]) / 1e6
            name = (names.get(tid) or _comm(tid)).rstrip("0123456789_-")
            if used > 0.5:
                others[name] = others.get(name, 0.0) + used
            if queued > 0.5:
                waited[name] = waited.get(name, 0.0) + queued
        ours = sum(others.values()) + cpu
        child = sum(c - a["child"].get(tid, (0, 0))[0] for tid, (c, _r) in b["child"].items())
        machine = (b["machine"] - a["machine"]) / 1e6
        return {"gap": gap, "cpu": cpu, "runq": runq, "blocked": gap - cpu - runq,
                "others": others, "waited": waited, "child": child / 1e6,
                "elsewhere": max(0.0, machine - ours - child / 1e6), "context": context}

    def report(self) -> None:
        late = self.late
        print(f"late ticks (> 2 ms): {late['ticks']}, lateness {late['stall']:.0f} ms of which "
              f"waiting for a CPU {late['runq']:.0f}, blocked (GIL/locks) about "
              f"{late['blocked']:.0f}")
        if not self.rows:
            print("no stall > 30 ms")
            return
        print("stalls > 30 ms: gap = GUI cpu + waiting for a CPU + blocked (GIL/locks), and "
              "who used the 2 CPUs meanwhile (ms):")
        for r in self.rows:
            top = ", ".join(f"{k} {v:.0f}" for k, v in
                            sorted(r["others"].items(), key=lambda kv: -kv[1])[:4])
            queued = ", ".join(f"{k} {v:.0f}" for k, v in
                               sorted(r["waited"].items(), key=lambda kv: -kv[1])[:4])
            print(f"  gap {r['gap']:5.1f} = cpu {r['cpu']:4.1f} + runq {r['runq']:5.1f} + "
                  f"blocked {r['blocked']:5.1f} | this process: {top or '-'}; stack child "
                  f"{r['child']:.0f}; other processes {r['elsewhere']:.0f}; waiting for a CPU "
                  f"in this process: {queued or '-'}")
        n = len(self.rows)
        print(f"  sums over {n}: cpu {sum(r['cpu'] for r in self.rows):.0f}, runq "
              f"{sum(r['runq'] for r in self.rows):.0f}, blocked "
              f"{sum(r['blocked'] for r in self.rows):.0f}")
