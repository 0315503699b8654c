"""Sign-out reaches every process that shares the upload queue (issue 17, finding 5).

The app and any number of CLI processes share one SQLite queue (``store.py``); tokens live in
the keyring and in each process's memory, so a ``logout`` in one process cannot take another
process's tokens away. What they do share is the queue file: a sign-out is written there as a
row of ``sign_outs`` (a generation per user), in the same moment the user's unfinished jobs are
parked (*Signed out — will resume after sign-in*).

A running engine watches for it with :class:`SignOutWatch`: SQLite offers no cross-process
notification, so it polls ``PRAGMA data_version`` -- a read of a counter in the file's shared
memory that changes only when another connection has committed -- every ``interval`` seconds,
and reads the ``sign_outs`` table only then. When the user's generation passed the one the
engine started at, the engine signs out: in-flight parts stop at their next block, the jobs
stay parked with their multipart upload and parts journal, and they resume after sign-in.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from medispecs_desktop.core.errors import MediSpecsError
from medispecs_desktop.core.uploads.store import QueueStore

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.25  # seconds between two looks at PRAGMA data_version


def sign_out_queue(queue_db: Path, username: str | None, *, user_id: str | None = None,
                   lock_wait: float = 5.0) -> list[str]:
    """Record that ``username`` (and/or ``user_id``) signed out in the queue at ``queue_db``,
    if there is one: their running uploads in every process stop, their unfinished jobs wait
    for the next sign-in, their finished ones are forgotten. Returns the user ids signed out.
    """
    if not Path(queue_db).exists():
        return []  # nothing was ever queued here: nothing to stop (and no file to create)
    store = QueueStore(queue_db, lock_wait=lock_wait)
    try:
        ids = list(dict.fromkeys(
            ([user_id] if user_id else []) + (store.user_ids_of(username) if username else [])))
        for uid in ids:
            store.record_sign_out(uid)
            purged = store.purge_history(uid)
            log.info("sign-out recorded in the upload queue (%d finished job(s) forgotten)",
                     purged)
        return ids
    finally:
        store.close()


class SignOutWatch:
    """Calls ``on_sign_out`` once when another process records a sign-out of ``user_id``
    after ``since`` (the generation the engine started at)."""

    def __init__(self, store: QueueStore, user_id: str, since: int,
                 on_sign_out: Callable[[], None], *, interval: float = POLL_INTERVAL) -> None:
        self._store = store
        self._user_id = user_id
        self._since = since
        self._on_sign_out = on_sign_out
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sign-out-watch", daemon=True)

    def start(self) -> SignOutWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def signed_out(self) -> bool:
        return self._store.sign_out_generation(self._user_id) > self._since

    def _run(self) -> None:
        seen = -1
        while not self._stop.is_set():
            try:
                version = self._store.data_version()
                hit = version != seen and self.signed_out()
                seen = version
            except (sqlite3.Error, MediSpecsError):  # closed or busy: look again later
                log.debug("sign-out watch: queue not readable now", exc_info=True)
                hit = False
            if hit:
                log.info("signed out in another process: stopping this user's uploads")
                self._stop.set()
                self._on_sign_out()
                return
            self._stop.wait(self._interval)
