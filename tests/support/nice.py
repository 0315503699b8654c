"""Nice values as the kernel reports them (Linux /proc), for the background-priority tests."""

from __future__ import annotations

from pathlib import Path


def nice_of(pid: int | str = "self", tid: int | None = None) -> int:
    """Field 19 of /proc/PID/stat (or /proc/PID/task/TID/stat): the nice value."""
    base = Path(f"/proc/{pid}")
    stat = (base / "task" / str(tid) / "stat" if tid is not None else base / "stat").read_text()
    # fields after the command name (which may hold spaces) start at field 3 (state)
    return int(stat.rsplit(")", 1)[1].split()[19 - 3])


def task_nices(pid: int) -> dict[int, int]:
    """Nice value of every thread of process ``pid``."""
    return {int(t.name): nice_of(pid, int(t.name)) for t in Path(f"/proc/{pid}/task").iterdir()}
