"""A damaged or locked queue database never crashes the app or the CLI.

* **Damaged** (``file is not a database``, ``database disk image is malformed``, a failed
  ``PRAGMA quick_check``): the file (and its ``-wal``/``-shm``) is moved aside to
  ``uploads.sqlite3.damaged-<UTC time>``, a fresh queue starts, and whatever rows can still be
  read from the old file are put back: unfinished jobs queued again (same video id, multipart
  upload and journalled parts, so nothing is sent twice and no upload is orphaned), failed
  ones kept as failed. :class:`Recovery` says what happened, in words for the user.
* **Locked** (another program holds a write lock longer than the wait): the error names the
  holders: the processes that have the file open (``/proc`` on Linux) and the queue's runner
  (``runner_lock``'s pid file).
"""

# SQL is built only from constant column names; values are bound.
# ruff: noqa: S608
from __future__ import annotations

import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medispecs_desktop.core.errors import MediSpecsError

SUFFIXES = ("", "-wal", "-shm")
_DAMAGED = ("file is not a database", "malformed", "database corrupt", "not a database",
            "quick_check")
_LOCKED = ("database is locked", "database table is locked", "database schema is locked")


class QueueLockedError(MediSpecsError):
    code = "queue_locked"


@dataclass(frozen=True)
class Recovery:
    """What was done with a damaged queue database."""

    reason: str
    moved_to: Path
    requeued: int
    kept_failed: int
    lost: bool  # some rows could not be read

    def __str__(self) -> str:
        text = (f"The upload queue was damaged ({self.reason}); it was moved to "
                f"{self.moved_to} and a new queue started. ")
        if self.requeued or self.kept_failed:
            text += f"{self.requeued} unfinished upload(s) were queued again"
            text += f", {self.kept_failed} failed one(s) kept." if self.kept_failed else "."
        else:
            text += "Nothing unfinished could be read from it."
        if self.lost:
            text += " Some entries could not be read: add those files again."
        return text


def classify(exc: BaseException) -> str | None:
    """``"locked"``, ``"damaged"`` or None for an sqlite3 error."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return None
    text = str(exc).lower()
    if any(m in text for m in _LOCKED):
        return "locked"
    if isinstance(exc, sqlite3.OperationalError) and "quick_check" not in text:
        return None  # disk full, read-only, I/O: not a reason to move the file
    if any(m in text for m in _DAMAGED):
        return "damaged"
    return None


def quarantine(path: Path, now: float | None = None) -> Path:
    """Move the database and its WAL/SHM aside; the new name of the main file."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while any(Path(f"{target}{s}").exists() for s in SUFFIXES):
        n += 1
        target = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in SUFFIXES:
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, f"{target}{suffix}")
    return target


def salvage(damaged: Path, columns: str
            ) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]], bool]:
    """Rows of ``jobs`` (as dicts) and ``parts`` still readable in ``damaged`` (opened
    read-only), and whether anything was unreadable."""
    try:
        conn = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return [], [], True
    try:
        conn.row_factory = sqlite3.Row
        try:  # a queue written by an older version lacks the newer columns: read what it has
            present = {str(r[1]) for r in conn.execute("PRAGMA table_info(jobs)")}
        except sqlite3.DatabaseError:
            present = set()
        wanted = [c.strip() for c in columns.split(",")]
        columns = ", ".join(c for c in wanted if c in present) if present else columns
        jobs, lost_jobs = _rows(conn, f"SELECT {columns} FROM jobs NOT INDEXED")
        parts, lost_parts = _rows(
            conn, "SELECT job_id, part_number, size, checksum, etag FROM parts NOT INDEXED")
    finally:
        conn.close()
    return [dict(r) for r in jobs], [tuple(r) for r in parts], lost_jobs or lost_parts


def _rows(conn: sqlite3.Connection, sql: str) -> tuple[list[sqlite3.Row], bool]:
    """Every row readable before the first damaged page, and whether one was hit."""
    out: list[sqlite3.Row] = []
    try:
        cursor = conn.execute(sql)
        while (row := cursor.fetchone()) is not None:
            out.append(row)
    except sqlite3.DatabaseError:
        return out, True
    return out, False


def lock_holders(path: Path) -> list[str]:
    """Who holds the queue: processes with the file open (Linux), then the runner's pid."""
    names = {str(Path(f"{path}{s}").resolve()) for s in SUFFIXES}
    found: dict[int, str] = {}
    me = os.getpid()
    if sys.platform.startswith("linux"):
        for entry in _proc_entries():
            pid = int(entry)
            if pid == me or pid in found:
                continue
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in names:
                        found[pid] = describe(pid)
                        break
                except OSError:
                    continue
    for lock in path.parent.glob(f"{path.name}.runner-*.lock"):
        try:
            text = lock.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if text.isdigit() and int(text) not in found and int(text) != me and _alive(int(text)):
            found[int(text)] = describe(int(text)) + ", the upload runner"
    return [found[pid] for pid in sorted(found)]


def locked_message(path: Path, waited: float) -> str:
    holders = lock_holders(path)
    who = "; ".join(holders) if holders else "another program (not found: it may have ended)"
    return (f"The upload queue {path} is locked by {who}. Waited {waited:g} s; close that "
            "program (or wait for it to finish) and try again.")


def describe(pid: int) -> str:
    """``pid 1234 (python3 -m medispecs_desktop upload --wait)`` (command line when known)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        command = " ".join(p.decode(errors="replace") for p in raw.split(b"\0") if p)
    except OSError:
        command = ""
    command = "".join(c if c.isprintable() else "?" for c in command)
    if len(command) > 100:
        command = command[:97] + "..."
    return f"pid {pid} ({command})" if command else f"pid {pid}"


def _proc_entries() -> list[str]:
    try:
        return [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
