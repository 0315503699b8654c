"""Offline copy of the last library listing: one private SQLite file per signed-in user.

The library shows this listing at once when it opens (before, or without, the network) and
marks it as stale. Nothing secret is stored: pre-signed thumbnail URLs are dropped before a
row is written (their signature is a credential and they expire anyway). The files live under
``<cache dir>/library`` (0700 directory, 0600 files) and :func:`clear_all` removes them on
sign-out.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from medispecs_desktop.core.config import private_dir
from medispecs_desktop.core.models import Video

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
LIBRARY_DIR_NAME = "library"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS videos (
    video_id TEXT PRIMARY KEY,
    position INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS videos_position ON videos(position);
"""


@dataclass(frozen=True)
class CachedListing:
    """The listing as it was last seen online."""

    videos: list[Video]
    next_cursor: str | None
    saved_at: float
    date_from: str | None
    date_to: str | None

    def age_seconds(self, now: float | None = None) -> float:
        return max(0.0, (time.time() if now is None else now) - self.saved_at)


def user_key(user_id: str) -> str:
    """A file-name-safe, non-identifying key for a user id (no e-mail or name on disk)."""
    return hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:24]


def library_dir(cache_dir: Path) -> Path:
    return cache_dir / LIBRARY_DIR_NAME


def _secure_file(path: Path) -> None:
    try:
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    except OSError:  # pragma: no cover - filesystems without permissions
        pass


class LibraryCache:
    """A user's cached listing. Thread-safe: one connection guarded by a lock."""

    def __init__(
        self, cache_dir: Path, user_id: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        if not user_id:
            raise ValueError("LibraryCache needs the signed-in user's id")
        self._clock = clock
        self._lock = threading.Lock()
        directory = private_dir(library_dir(cache_dir))
        self.path = directory / f"{user_key(user_id)}.sqlite3"
        self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        # Create the file private before SQLite writes anything into it.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        _secure_file(self.path)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES('schema', ?)", (str(SCHEMA_VERSION),)
                )
            elif row[0] != str(SCHEMA_VERSION):
                # An older layout: the cache is only a copy, so start again.
                conn.executescript("DELETE FROM videos; DELETE FROM meta;")
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES('schema', ?)", (str(SCHEMA_VERSION),)
                )
        except sqlite3.DatabaseError:
            conn.close()
            log.warning("Library cache %s was unreadable; starting a new one", self.path)
            self._remove_files()
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            conn.execute("INSERT INTO meta(key, value) VALUES('schema', ?)", (str(SCHEMA_VERSION),))
        for suffix in ("-wal", "-shm"):
            side = Path(str(self.path) + suffix)
            if side.exists():
                _secure_file(side)
        return conn

    def _remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            try:
                Path(str(self.path) + suffix).unlink()
            except FileNotFoundError:
                pass

    # -- writing -------------------------------------------------------------------------------

    def save_listing(
        self,
        videos: Sequence[Video],
        *,
        next_cursor: str | None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> None:
        """Replace the cached listing with ``videos`` (in display order)."""
        rows = [(v.video_id, i, _encode(v)) for i, v in enumerate(videos)]
        meta = {
            "saved_at": repr(self._clock()),
            "next_cursor": json.dumps(next_cursor),
            "date_from": json.dumps(date_from),
            "date_to": json.dumps(date_to),
        }
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute("DELETE FROM videos")
                self._conn.executemany(
                    "INSERT OR REPLACE INTO videos(video_id, position, body) VALUES(?, ?, ?)", rows
                )
                self._conn.executemany(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", meta.items()
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def append(
        self, videos: Sequence[Video], *, first_position: int, next_cursor: str | None
    ) -> None:
        """Add a further page of the same listing (rows keep their display order)."""
        rows = [(v.video_id, first_position + i, _encode(v)) for i, v in enumerate(videos)]
        meta = {"saved_at": repr(self._clock()), "next_cursor": json.dumps(next_cursor)}
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO videos(video_id, position, body) VALUES(?, ?, ?)", rows
                )
                self._conn.executemany(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", meta.items()
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def upsert(self, video: Video) -> None:
        """Keep the cache in step after an edit (same place in the list if present)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT position FROM videos WHERE video_id=?", (video.video_id,)
            ).fetchone()
            if row is None:
                low = self._conn.execute("SELECT MIN(position) FROM videos").fetchone()[0]
                position = (low if low is not None else 0) - 1
            else:
                position = int(row[0])
            self._conn.execute(
                "INSERT OR REPLACE INTO videos(video_id, position, body) VALUES(?, ?, ?)",
                (video.video_id, position, _encode(video)),
            )

    def remove(self, video_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM videos WHERE video_id=?", (video_id,))

    # -- reading -------------------------------------------------------------------------------

    def load_listing(self) -> CachedListing | None:
        """The cached listing, or None if nothing was ever saved for this user."""
        with self._lock:
            meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
            if "saved_at" not in meta:
                return None
            bodies = [
                r[0] for r in self._conn.execute("SELECT body FROM videos ORDER BY position")
            ]
        videos: list[Video] = []
        for body in bodies:
            try:
                videos.append(Video.from_api(json.loads(body)))
            except (ValueError, TypeError) as exc:
                log.warning("Skipping an unreadable cached row: %s", exc)
        return CachedListing(
            videos=videos,
            next_cursor=_loads_opt(meta.get("next_cursor")),
            saved_at=float(meta["saved_at"]),
            date_from=_loads_opt(meta.get("date_from")),
            date_to=_loads_opt(meta.get("date_to")),
        )

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM videos").fetchone()[0])

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:  # pragma: no cover
                pass

    def clear(self) -> None:
        """Forget this user's cached listing (the files are removed)."""
        self.close()
        self._remove_files()


def clear_all(cache_dir: Path) -> int:
    """Remove every user's cached listing (on sign-out). Returns how many files went."""
    directory = library_dir(cache_dir)
    removed = 0
    if not directory.exists():
        return 0
    for path in directory.iterdir():
        if path.is_file():
            try:
                path.unlink()
                removed += 1
            except OSError as exc:  # pragma: no cover - e.g. held open on Windows
                log.warning("Could not remove cached listing %s: %s", path.name, exc)
    return removed


def _encode(video: Video) -> str:
    # The thumbnail URL is a pre-signed credential with an expiry: never stored.
    clean = replace(video, thumbnail_url=None) if video.thumbnail_url else video
    data = clean.to_api()
    data.pop("thumbnailUrl", None)
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


def _loads_opt(text: str | None) -> str | None:
    if text is None:
        return None
    value = json.loads(text)
    return value if isinstance(value, str) else None
