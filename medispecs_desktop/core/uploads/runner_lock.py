"""One runner per upload queue: an OS file lock next to the queue database.

The GUI app and ``medispecs-desktop upload --wait`` (or two app instances) may open the same
queue file. Any of them may add and control jobs (every change is a committed row), but only
the process holding this lock sends bytes, so two engines never run the same job at once.

The lock is an advisory OS lock on ``<queue db>.runner-<user hash>.lock`` (``fcntl.flock`` on POSIX,
``msvcrt.locking`` on Windows). The OS drops it when the holder exits for any reason, crash and
``kill -9`` included, so a stale lock can never block the queue; the file itself is left in
place (deleting it would race with a process opening it). The holder writes its pid into the
file, for messages only.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from pathlib import Path

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def lock_path_for(db_path: str | os.PathLike[str], user_id: str = "") -> Path:
    """``<db>.runner-<user>.lock``: jobs belong to one user, so each user's queue in the file
    has its own runner (the user id is hashed: no account names in file names)."""
    db = Path(db_path)
    tag = hashlib.sha256(user_id.encode()).hexdigest()[:16]
    return db.with_name(f"{db.name}.runner-{tag}.lock")


class RunnerLock:
    """Non-blocking, re-checkable ownership of one queue's transfers.

    ``acquire()`` returns True when this object holds the lock (now or already); ``release()``
    gives it up. ``held_elsewhere()`` tells whether another process (or another RunnerLock in
    this process) is the runner right now. Thread-safe.
    """

    def __init__(self, db_path: str | os.PathLike[str], user_id: str = "") -> None:
        self.path = lock_path_for(db_path, user_id)
        self._fd: int | None = None
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        with self._mutex:
            if self._fd is not None:
                return True
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            if not _try_lock(fd):
                os.close(fd)
                return False
            try:  # the holder's pid, for "already uploading (pid N)" messages
                if sys.platform != "win32":  # a locked byte cannot be written there
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            except OSError:
                pass
            self._fd = fd
            return True

    def release(self) -> None:
        with self._mutex:
            fd, self._fd = self._fd, None
            if fd is None:
                return
            try:
                _unlock(fd)
            finally:
                os.close(fd)

    def held_elsewhere(self) -> bool:
        """True when another holder runs this queue (a quick try-and-release)."""
        with self._mutex:
            if self._fd is not None:
                return False
        if self.acquire():
            self.release()
            return False
        return True

    def holder_pid(self) -> int | None:
        """The runner's pid as it wrote it (None if unknown)."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isdigit() else None

    def __enter__(self) -> RunnerLock:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
