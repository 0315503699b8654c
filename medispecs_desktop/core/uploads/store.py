"""The persistent upload queue: one SQLite row per job, one per finished part.

* WAL journal, ``synchronous=FULL``: a committed transition survives a crash or power cut.
* Every change is one committed transaction (``with self._tx()``), so a job is never seen
  half-updated, by this process or by another one (the CLI and the app may share the file).
* Schema versioned with ``PRAGMA user_version`` and an ordered list of migrations.
* Every query is scoped to a ``user_id``: another user signed in on the same workstation never
  sees or runs someone else's jobs.
* A damaged file is moved aside and a fresh queue starts with what could be read from it
  (:attr:`QueueStore.recovery` says so); a lock held longer than ``lock_wait`` raises
  :class:`QueueLockedError` naming the holder (see ``store_recovery``).
"""

# SQL is built only from constant column names and "?" placeholders; values are bound.
# ruff: noqa: S608
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from medispecs_desktop.core.errors import MediSpecsError
from medispecs_desktop.core.uploads import states
from medispecs_desktop.core.uploads.jobs import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    Job,
    JobState,
    Part,
    Phase,
    guess_content_type,
    new_video_id,
)
from medispecs_desktop.core.uploads.states import InvalidTransitionError
from medispecs_desktop.core.uploads.store_recovery import (
    QueueLockedError,
    Recovery,
    classify,
    locked_message,
    quarantine,
    salvage,
)

log = logging.getLogger(__name__)


class JobNotFoundError(MediSpecsError):
    code = "job_not_found"


MIGRATIONS: list[str] = [
    # 1: jobs + parts journal
    """
    CREATE TABLE jobs (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id       TEXT    NOT NULL,
        path          TEXT    NOT NULL,
        size          INTEGER NOT NULL,
        mtime_ns      INTEGER NOT NULL,
        video_id      TEXT    NOT NULL UNIQUE,
        state         TEXT    NOT NULL,
        phase         TEXT    NOT NULL DEFAULT 'new',
        position      REAL    NOT NULL,
        fingerprint   TEXT,
        sha256        TEXT,
        content_type  TEXT    NOT NULL,
        upload_id     TEXT,
        part_size     INTEGER,
        bytes_done    INTEGER NOT NULL DEFAULT 0,
        attempts      INTEGER NOT NULL DEFAULT 0,
        error         TEXT,
        error_code    TEXT,
        duplicate_of  TEXT,
        media         TEXT    NOT NULL DEFAULT '{}',
        video_version INTEGER,
        created_at    REAL    NOT NULL,
        updated_at    REAL    NOT NULL
    );
    CREATE INDEX jobs_user_state ON jobs (user_id, state, position);
    CREATE INDEX jobs_user_fp ON jobs (user_id, fingerprint);
    CREATE TABLE parts (
        job_id       INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        part_number  INTEGER NOT NULL,
        size         INTEGER NOT NULL,
        checksum     TEXT    NOT NULL,
        etag         TEXT    NOT NULL,
        PRIMARY KEY (job_id, part_number)
    );
    """,
    # 2: the whole-file CRC64NVME S3 checks at completion (parts journal checksums are
    # CRC64NVME from now on)
    """
    ALTER TABLE jobs ADD COLUMN crc64nvme TEXT;
    """,
    # 3: sign-outs every process sharing the queue sees (a running engine of that user stops),
    # and which user ids a user name signed in as (a `logout` knows only the name)
    """
    CREATE TABLE sign_outs (
        generation INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id    TEXT NOT NULL,
        at         REAL NOT NULL
    );
    CREATE INDEX sign_outs_user ON sign_outs (user_id, generation);
    CREATE TABLE accounts (
        username TEXT NOT NULL,
        user_id  TEXT NOT NULL,
        seen_at  REAL NOT NULL,
        PRIMARY KEY (username, user_id)
    );
    """,
    # 4: "upload as damaged": the user's consent to keep a damaged recording
    """
    ALTER TABLE jobs ADD COLUMN allow_damaged INTEGER NOT NULL DEFAULT 0;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)

_COLUMNS = (
    "id, user_id, path, size, mtime_ns, video_id, state, phase, position, fingerprint, sha256, "
    "content_type, upload_id, part_size, bytes_done, attempts, error, error_code, duplicate_of, "
    "media, video_version, created_at, updated_at, crc64nvme, allow_damaged"
)
_UPDATABLE = frozenset(c.strip() for c in _COLUMNS.split(",")) - {"id", "user_id", "created_at"}

# what a sign-out parks until the user signs in again (running, queued, waiting for the
# network or the file); paused and failed jobs stay as they are
SIGN_OUT_PARKS = (JobState.QUEUED, *sorted(ACTIVE_STATES, key=lambda s: s.value),
                  JobState.WAITING_NETWORK, JobState.WAITING_SOURCE)

SIGNED_OUT_NOTE = "Signed out — will resume after sign-in."

# states a job that is still "in the queue" (not finished or given up) can be in
_LIVE_STATES = tuple(s.value for s in JobState if s not in TERMINAL_STATES)


def _row_to_job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        user_id=row["user_id"],
        path=Path(row["path"]),
        size=row["size"],
        mtime_ns=row["mtime_ns"],
        video_id=row["video_id"],
        state=JobState(row["state"]),
        phase=Phase(row["phase"]),
        position=row["position"],
        fingerprint=row["fingerprint"],
        sha256=row["sha256"],
        crc64nvme=row["crc64nvme"],
        content_type=row["content_type"],
        upload_id=row["upload_id"],
        part_size=row["part_size"],
        bytes_done=row["bytes_done"],
        attempts=row["attempts"],
        error=row["error"],
        error_code=row["error_code"],
        duplicate_of=row["duplicate_of"],
        media=json.loads(row["media"] or "{}"),
        video_version=row["video_version"],
        allow_damaged=bool(row["allow_damaged"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


BUSY_WAIT = 30.0  # seconds a write waits for another process's transaction

__all__ = ["InvalidTransitionError", "JobNotFoundError", "QueueLockedError", "QueueStore",
           "Recovery"]


class QueueStore:
    """Thread-safe access to the queue database (one connection, serialised by a lock).

    ``lock_wait``: seconds to wait at open for another program's write lock before
    :class:`QueueLockedError` (the CLI waits briefly); once open, writes wait up to
    :data:`BUSY_WAIT` seconds, as the app and a CLI runner share the file.
    """

    def __init__(self, path: Path | str, *, clock: Callable[[], float] = time.time,
                 lock_wait: float = 30.0) -> None:
        self.path = Path(path)
        self._clock = clock
        self.lock_wait = lock_wait
        self._waiting = lock_wait  # what a "locked" message says was waited
        self.recovery: Recovery | None = None  # set when a damaged file was replaced
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            kind = classify(exc)
            if getattr(self, "_conn", None) is not None:
                self._conn.close()
            if kind == "locked":
                raise QueueLockedError(locked_message(self.path, lock_wait)) from None
            if kind != "damaged" or str(path) == ":memory:":
                raise
            moved = quarantine(self.path, self._clock())
            self._open()
            self.recovery = self._restore(moved, str(exc))
        if str(path) != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.chmod(str(self.path) + suffix, 0o600)
                except OSError:
                    pass

    # -- plumbing -------------------------------------------------------------------------
    def _open(self) -> None:
        self._conn = sqlite3.connect(
            str(self.path), timeout=self.lock_wait, isolation_level=None,
            check_same_thread=False,
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute(f"PRAGMA busy_timeout={int(self.lock_wait * 1000)}")
        check = str(self._conn.execute("PRAGMA quick_check").fetchone()[0])
        if check != "ok":
            raise sqlite3.DatabaseError(f"quick_check: {check.splitlines()[0]}")
        self._waiting = self.lock_wait
        self._migrate()
        self._waiting = max(BUSY_WAIT, self.lock_wait)
        self._conn.execute(f"PRAGMA busy_timeout={int(self._waiting * 1000)}")

    def _restore(self, damaged: Path, reason: str) -> Recovery:
        """Put back what is readable in ``damaged``: unfinished jobs queued again with their
        video id, multipart upload and parts journal; failed ones kept; history dropped."""
        jobs, parts, lost = salvage(damaged, _COLUMNS)
        requeued = kept = 0
        keep: set[int] = set()
        with self._tx() as db:
            for row in jobs:
                try:
                    state = JobState(row["state"])
                except (KeyError, ValueError):
                    lost = True
                    continue
                target = states.recovered(state)
                if target is None:
                    continue  # finished history is not carried over
                names = list(row)
                db.execute(
                    f"INSERT INTO jobs ({', '.join(names)}) VALUES "
                    f"({', '.join('?' * len(names))})",
                    [row[n] for n in names],
                )
                if target is not state:  # an unfinished job is queued again, as any move
                    self._write(db, int(row["id"]), str(row["user_id"]), target, None, {})
                if target is JobState.FAILED:
                    kept += 1
                else:
                    requeued += 1
                keep.add(int(row["id"]))
            for part in parts:
                if int(part[0]) in keep:
                    db.execute(
                        "INSERT OR REPLACE INTO parts (job_id, part_number, size, checksum, "
                        "etag) VALUES (?, ?, ?, ?, ?)", part,
                    )
        recovery = Recovery(reason, damaged, requeued, kept, lost)
        log.warning("%s", recovery)
        return recovery

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction (write lock taken up front: no upgrade deadlocks)."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if classify(exc) == "locked":
                    raise QueueLockedError(locked_message(self.path, self._waiting)) from None
                raise
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def _migrate(self) -> None:
        with self._tx() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise MediSpecsError(
                    f"The upload queue {self.path} was written by a newer MediSpecs "
                    f"(schema {version} > {SCHEMA_VERSION}); update the app.",
                    code="schema_too_new",
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- reads ----------------------------------------------------------------------------
    def get(self, job_id: int, user_id: str) -> Job:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE id = ? AND user_id = ?", (job_id, user_id)
            ).fetchone()
        if row is None:
            raise JobNotFoundError(f"No upload job {job_id} in your queue.")
        return _row_to_job(row)

    def list_jobs(self, user_id: str, *, states: Sequence[JobState] | None = None) -> list[Job]:
        """The user's jobs in queue order (position, then id)."""
        sql = f"SELECT {_COLUMNS} FROM jobs WHERE user_id = ?"
        args: list[Any] = [user_id]
        if states is not None:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            args.extend(s.value for s in states)
        sql += " ORDER BY position, id"
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [_row_to_job(r) for r in rows]

    def next_runnable(self, user_id: str, exclude: Sequence[int] = ()) -> Job | None:
        """The first queued (or crash-interrupted active) job not already being run."""
        states = [JobState.QUEUED.value, *(s.value for s in ACTIVE_STATES)]
        sql = (
            f"SELECT {_COLUMNS} FROM jobs WHERE user_id = ? "
            f"AND state IN ({','.join('?' * len(states))})"
        )
        args: list[Any] = [user_id, *states]
        if exclude:
            sql += f" AND id NOT IN ({','.join('?' * len(exclude))})"
            args.extend(exclude)
        sql += " ORDER BY position, id LIMIT 1"
        with self._lock:
            row = self._conn.execute(sql, args).fetchone()
        return None if row is None else _row_to_job(row)

    def parts(self, job_id: int) -> dict[int, Part]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT part_number, size, checksum, etag FROM parts WHERE job_id = ? "
                "ORDER BY part_number",
                (job_id,),
            ).fetchall()
        return {r[0]: Part(r[0], r[1], r[2], r[3]) for r in rows}

    def state_of(self, job_id: int) -> JobState | None:
        with self._lock:
            row = self._conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else JobState(row[0])

    # -- writes ---------------------------------------------------------------------------
    def add(
        self,
        user_id: str,
        path: Path,
        *,
        size: int,
        mtime_ns: int,
        content_type: str | None = None,
        front: bool = False,
    ) -> tuple[Job, bool]:
        """Queue one file; see :meth:`add_many`."""
        added = self.add_many(
            user_id, [(path, size, mtime_ns)], front=front, content_type=content_type
        )
        return added[0]

    def add_many(
        self,
        user_id: str,
        entries: Sequence[tuple[Path, int, int]],
        *,
        front: bool = False,
        content_type: str | None = None,
        allow_damaged: bool = False,
    ) -> list[tuple[Job, bool]]:
        """Queue ``(path, size, mtime_ns)`` entries in ONE transaction; ``[(job, created)]``.

        The same file (same absolute path, size and mtime) already live or done in the queue
        is not queued twice: its existing job comes back with ``created=False``. A failed or
        cancelled job for it does not block a new one.
        """
        now = self._clock()
        out: list[tuple[Job, bool]] = []
        with self._tx() as db:
            bound = db.execute(
                "SELECT MIN(position), MAX(position) FROM jobs WHERE user_id = ?", (user_id,)
            ).fetchone()
            low = bound[0] if bound[0] is not None else 0.0
            high = bound[1] if bound[1] is not None else 0.0
            states = (*_LIVE_STATES, JobState.DONE.value)
            fresh: list[tuple[Path, int, int]] = []
            for raw, size, mtime_ns in entries:
                path = Path(os.path.abspath(raw))
                row = db.execute(
                    f"SELECT {_COLUMNS} FROM jobs WHERE user_id = ? AND path = ? AND size = ? "
                    f"AND mtime_ns = ? AND state IN ({','.join('?' * len(states))}) "
                    "ORDER BY id DESC LIMIT 1",
                    (user_id, str(path), size, mtime_ns, *states),
                ).fetchone()
                if row is not None:
                    out.append((_row_to_job(row), False))
                    continue
                if any(p == path for p, _s, _m in fresh):
                    continue  # the same path twice in one drop
                fresh.append((path, size, mtime_ns))
            for index, (path, size, mtime_ns) in enumerate(fresh):
                position = low - len(fresh) + index if front else high + 1.0 + index
                cur = db.execute(
                    "INSERT INTO jobs (user_id, path, size, mtime_ns, video_id, state, phase, "
                    "position, content_type, created_at, updated_at, allow_damaged) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        user_id,
                        str(path),
                        size,
                        mtime_ns,
                        new_video_id(),
                        JobState.QUEUED.value,
                        Phase.NEW.value,
                        position,
                        content_type or guess_content_type(path),
                        now,
                        now,
                        int(allow_damaged),
                    ),
                )
                row = db.execute(
                    f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (int(cur.lastrowid or 0),)
                ).fetchone()
                out.append((_row_to_job(row), True))
        return out

    def update(self, job_id: int, user_id: str, **changes: Any) -> Job:
        """Apply ``changes`` (anything but the state) in one transaction."""
        if "state" in changes:
            raise ValueError("a job's state changes only through QueueStore.move()")
        with self._tx() as db:
            return self._write(db, job_id, user_id, None, None, changes)

    def move(
        self,
        job_id: int,
        user_id: str,
        to: JobState,
        *,
        expect: Sequence[JobState] | None = None,
        **changes: Any,
    ) -> Job:
        """The one door for a job's state: move it to ``to`` (with ``changes``) in one
        transaction, when the table in :mod:`states` allows it from the state the row has
        now (and that state is one of ``expect``, if given).

        Raises :class:`InvalidTransitionError` otherwise (for example the user cancelled it
        from another process meanwhile); the row is then unchanged."""
        with self._tx() as db:
            return self._write(db, job_id, user_id, to, expect, changes)

    def _write(
        self,
        db: sqlite3.Connection,
        job_id: int,
        user_id: str,
        to: JobState | None,
        expect: Sequence[JobState] | None,
        changes: dict[str, Any],
    ) -> Job:
        """Inside a transaction: check the move (if any) against the row, then write."""
        bad = set(changes) - _UPDATABLE - {"state"}
        if bad or "state" in changes:
            raise ValueError(f"cannot update {sorted(bad | ({'state'} & set(changes)))}")
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if isinstance(value, (JobState, Phase)):
                value = value.value
            elif key == "media":
                value = json.dumps(value or {}, sort_keys=True)
            elif key == "path":
                value = str(value)
            values[key] = value
        row = db.execute(
            "SELECT state FROM jobs WHERE id = ? AND user_id = ?", (job_id, user_id)
        ).fetchone()
        if row is None:
            raise JobNotFoundError(f"No upload job {job_id} in your queue.")
        if to is not None:
            states.check(job_id, JobState(row[0]), to, expect)
            values["state"] = to.value
        elif expect is not None and JobState(row[0]) not in expect:
            states.check(job_id, JobState(row[0]), JobState(row[0]), expect)
        values["updated_at"] = self._clock()
        assignments = ", ".join(f"{k} = ?" for k in values)
        db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*values.values(), job_id))
        new = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _row_to_job(new)

    def claim_fingerprint(self, job_id: int, user_id: str, fp: str) -> Job | None:
        """Store ``fp`` on the job; return another live job of the user with the same ``fp``.

        The fingerprint only finds candidates (DESIGN §8, revised): the other job is not
        proof of a duplicate, only a reason to let it finish first so that the whole-file
        SHA-256 can decide. Finished jobs are not consulted: the cloud knows whether that
        video still exists."""
        with self._tx() as db:
            states = _LIVE_STATES
            row = db.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE user_id = ? AND fingerprint = ? AND id != ? "
                f"AND state IN ({','.join('?' * len(states))}) ORDER BY id LIMIT 1",
                (user_id, fp, job_id, *states),
            ).fetchone()
            db.execute(
                "UPDATE jobs SET fingerprint = ?, updated_at = ? WHERE id = ?",
                (fp, self._clock(), job_id),
            )
        return None if row is None else _row_to_job(row)

    def record_part(self, job_id: int, part: Part, *, bytes_done: int | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO parts (job_id, part_number, size, checksum, etag) "
                "VALUES (?, ?, ?, ?, ?)",
                (job_id, part.part_number, part.size, part.checksum_b64, part.etag),
            )
            if bytes_done is not None:
                db.execute(
                    # parts finish out of order: the count never goes backwards
                    "UPDATE jobs SET bytes_done = MAX(bytes_done, ?), updated_at = ? WHERE id = ?",
                    (bytes_done, self._clock(), job_id),
                )

    def forget_part(self, job_id: int, part_number: int) -> None:
        with self._tx() as db:
            db.execute(
                "DELETE FROM parts WHERE job_id = ? AND part_number = ?", (job_id, part_number)
            )

    def reset_upload(self, job_id: int, user_id: str, *, to: JobState | None = None,
                     expect: Sequence[JobState] | None = None, **changes: Any) -> Job:
        """Forget the multipart upload (parts journal included) and apply ``changes``; with
        ``to``, also move the job there (checked as :meth:`move` does), all in one
        transaction."""
        changes.setdefault("crc64nvme", None)
        changes.update(upload_id=None, part_size=None, phase=Phase.NEW, bytes_done=0)
        with self._tx() as db:
            job = self._write(db, job_id, user_id, to, expect, changes)
            db.execute("DELETE FROM parts WHERE job_id = ?", (job_id,))
        return job

    def move_to_front(self, job_id: int, user_id: str) -> Job:
        with self._tx() as db:
            low = db.execute(
                "SELECT MIN(position) FROM jobs WHERE user_id = ?", (user_id,)
            ).fetchone()[0]
            cur = db.execute(
                "UPDATE jobs SET position = ?, updated_at = ? WHERE id = ? AND user_id = ?",
                ((low if low is not None else 0.0) - 1.0, self._clock(), job_id, user_id),
            )
            if cur.rowcount == 0:
                raise JobNotFoundError(f"No upload job {job_id} in your queue.")
        return self.get(job_id, user_id)

    def transition_all(
        self, user_id: str, from_states: Sequence[JobState], to: JobState, **changes: Any
    ) -> list[int]:
        """Move every job of the user in ``from_states`` to ``to`` in one transaction; each
        of ``from_states`` must be allowed to move to ``to`` by the table."""
        for src in from_states:
            states.check(None, src, to)
        now = self._clock()
        extra = "".join(f", {k} = ?" for k in changes)
        if "state" in changes or set(changes) - _UPDATABLE:
            raise ValueError(f"cannot update {sorted(changes)}")
        with self._tx() as db:
            ids = [
                int(r[0])
                for r in db.execute(
                    f"SELECT id FROM jobs WHERE user_id = ? "
                    f"AND state IN ({','.join('?' * len(from_states))})",
                    (user_id, *(s.value for s in from_states)),
                ).fetchall()
            ]
            if ids:
                db.execute(
                    f"UPDATE jobs SET state = ?, updated_at = ?{extra} "
                    f"WHERE id IN ({','.join('?' * len(ids))})",
                    (to.value, now, *changes.values(), *ids),
                )
        return ids

    def purge_history(self, user_id: str) -> int:
        """Forget the user's finished jobs (done, and cancelled ones with nothing left to abort
        in the cloud): file names can name patients, so they don't outlive the sign-in."""
        with self._tx() as db:
            cursor = db.execute(
                "DELETE FROM jobs WHERE user_id = ? AND (state = ? OR (state = ? AND "
                "(upload_id IS NULL OR upload_id = '')))",
                (user_id, JobState.DONE.value, JobState.CANCELLED.value),
            )
            return int(cursor.rowcount)

    # -- sign-outs shared by every process using this queue -------------------------------
    def remember_account(self, username: str, user_id: str) -> None:
        """``username`` is signed in as ``user_id`` (so a ``logout`` that knows only the name
        can stop that user's uploads)."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO accounts (username, user_id, seen_at) "
                       "VALUES (?, ?, ?)", (username, user_id, self._clock()))

    def user_ids_of(self, username: str) -> list[str]:
        with self._lock:
            rows = self._conn.execute("SELECT user_id FROM accounts WHERE username = ? "
                                      "ORDER BY seen_at DESC", (username,)).fetchall()
        return [str(r[0]) for r in rows]

    def record_sign_out(self, user_id: str) -> int:
        """The user signed out (in this process or another): note it for every process's
        engine to see, and park the user's unfinished jobs until they sign in again. Returns
        the sign-out's generation."""
        with self._tx() as db:
            cursor = db.execute("INSERT INTO sign_outs (user_id, at) VALUES (?, ?)",
                                (user_id, self._clock()))
            generation = int(cursor.lastrowid or 0)
        self.transition_all(user_id, SIGN_OUT_PARKS, JobState.WAITING_SIGN_IN,
                            error=SIGNED_OUT_NOTE, error_code="signed_out")
        return generation

    def sign_out_generation(self, user_id: str) -> int:
        """The user's latest sign-out (0: none): an engine that started at a lower one stops."""
        with self._lock:
            row = self._conn.execute("SELECT MAX(generation) FROM sign_outs WHERE user_id = ?",
                                     (user_id,)).fetchone()
        return int(row[0] or 0)

    def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version``: changes when another connection (another process)
        has committed to the file since this one last looked. A cheap read to poll."""
        with self._lock:
            return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def remove(self, job_id: int, user_id: str) -> None:
        """Forget a job, only in a state the table lets the user remove (checked in the same
        transaction as the delete)."""
        removable = tuple(s.value for s in states.states_allowing(states.Command.REMOVE))
        with self._tx() as db:
            row = db.execute(
                "SELECT state FROM jobs WHERE id = ? AND user_id = ?", (job_id, user_id)
            ).fetchone()
            if row is None:
                return
            if row[0] not in removable:
                raise InvalidTransitionError(
                    f"Job {job_id} is {JobState(row[0]).label.lower()}: cancel the upload "
                    "before removing it from the list.")
            db.execute("DELETE FROM jobs WHERE id = ? AND user_id = ?", (job_id, user_id))
