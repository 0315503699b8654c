"""Background work at a lower OS priority, so the GUI thread gets a CPU first (issue 16).

* :func:`lower_thread_priority` — the calling thread only. Linux keeps a nice value per thread
  (``setpriority`` on the thread's id) and threads inherit it from the thread that creates them,
  so an upload's job thread calls it once and its hashing and sending pools follow. macOS: the
  thread's QoS class becomes "utility"; Windows: ``THREAD_PRIORITY_BELOW_NORMAL``.
* :func:`lower_process_priority` — another process of this user (the demo stack child): every
  thread of it on Linux, the process elsewhere (below-normal priority class on Windows).

Best effort everywhere: a system that refuses leaves the priority as it was (logged at DEBUG).
Raising a nice value needs no privilege; nothing here ever lowers one.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)

BACKGROUND_NICE = 10  # added to the current nice value (capped at 19)
_MAX_NICE = 19
_THREAD_PRIORITY_BELOW_NORMAL = -1
_BELOW_NORMAL_PRIORITY_CLASS = 0x4000
_PROCESS_SET_INFORMATION = 0x0200
_QOS_CLASS_UTILITY = 0x11


def _renice(which: int, who: int, increment: int) -> None:
    current = os.getpriority(which, who)
    target = min(_MAX_NICE, current + increment)
    if target > current:
        os.setpriority(which, who, target)


def lower_thread_priority(increment: int = BACKGROUND_NICE) -> bool:
    """Lower the calling thread's priority; True if the OS took it."""
    try:
        if sys.platform.startswith("linux"):
            _renice(os.PRIO_PROCESS, threading.get_native_id(), increment)
            return True
        if sys.platform == "darwin":
            libc = ctypes.CDLL(None)
            return int(libc.pthread_set_qos_class_self_np(_QOS_CLASS_UTILITY, 0)) == 0
        if sys.platform == "win32":
            kernel32 = ctypes.windll.kernel32
            handle = kernel32.GetCurrentThread()
            return bool(kernel32.SetThreadPriority(handle, _THREAD_PRIORITY_BELOW_NORMAL))
    except (OSError, AttributeError) as exc:
        log.debug("thread priority unchanged: %s", exc)
    return False


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
