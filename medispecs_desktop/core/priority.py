"""Background processes at a lower OS priority, so the GUI thread gets a CPU first (issue 16).

:func:`lower_process_priority` lowers another process of this user (the demo stack child):
every thread of it on Linux, the process elsewhere (below-normal priority class on Windows).

Threads of *this* process are deliberately left at the GUI's priority. They share the GIL with
the GUI thread, and a lowered thread that is preempted while it holds the GIL (or a lock the GUI
thread needs) keeps the GUI waiting until the scheduler gives it a CPU again: a priority
inversion. Measured with ``tests/benchmarks/bench_gui_uploads.py --explain`` (4 uploads while the
library scrolls, 12 alternating pairs on a loaded 2-core machine), lowering the upload threads by
10 made the time the GUI thread spent blocked about 1.7x longer (median of per-pair ratios) and
the uploads ran at 0.8x the throughput; the longest stall was no shorter (it is
the wait for a CPU that other programs hold).

Linux's SCHED_IDLE policy for the stack child (instead of or besides nice +10) was measured the
same way (9 alternating pairs, load 3-4): the longest stall was no shorter (median 47-73 ms
against 30-44 ms) and the uploads to the stack slower (36-43 MB/s against 39-60), so the child
keeps its nice value only.

Best effort everywhere: a system that refuses leaves the priority as it was (logged at DEBUG).
Raising a nice value needs no privilege; nothing here ever lowers one.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

BACKGROUND_NICE = 10  # added to the current nice value (capped at 19)
_MAX_NICE = 19
_BELOW_NORMAL_PRIORITY_CLASS = 0x4000
_PROCESS_SET_INFORMATION = 0x0200


def _renice(which: int, who: int, increment: int) -> None:
    current = os.getpriority(which, who)
    target = min(_MAX_NICE, current + increment)
    if target > current:
        os.setpriority(which, who, target)


def lower_process_priority(pid: int, increment: int = BACKGROUND_NICE) -> bool:
    """Lower the priority of process ``pid`` (all its threads); True if the OS took it."""
    try:
        if sys.platform.startswith("linux"):
            # setpriority(PRIO_PROCESS, pid) changes one thread on Linux: do each that exists
            # (threads created later inherit from their creator)
            tasks = [int(t.name) for t in Path(f"/proc/{pid}/task").iterdir()]
            for tid in tasks or [pid]:
                try:
                    _renice(os.PRIO_PROCESS, tid, increment)
                except ProcessLookupError:  # the thread ended meanwhile
                    pass
            return True
        if sys.platform == "win32":
            kernel32 = ctypes.windll.kernel32
            handle = kernel32.OpenProcess(_PROCESS_SET_INFORMATION, False, pid)
            if not handle:
                return False
            try:
                return bool(kernel32.SetPriorityClass(handle, _BELOW_NORMAL_PRIORITY_CLASS))
            finally:
                kernel32.CloseHandle(handle)
        _renice(os.PRIO_PROCESS, pid, increment)  # macOS and the BSDs: the whole process
        return True
    except (OSError, AttributeError) as exc:
        log.debug("priority of process %s unchanged: %s", pid, exc)
    return False
