"""Size-bounded, private disk cache of recording thumbnails.

Thumbnails are JPEG (or PNG) bytes fetched from the API's pre-signed ``thumbnailUrl``. They are
kept under ``<cache dir>/thumbnails/<user key>/`` (0700 directories, 0600 files), keyed by the
recording and its thumbnail object key (a new thumbnail gets a new entry), evicted least
recently used first when the total goes over ``max_bytes``, and removed on sign-out
(:func:`clear_all`). The URL itself is never stored: its signature is a credential.

Every method does disk or network I/O: call them from a worker, never on the GUI thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from medispecs_desktop.core.config import private_dir
from medispecs_desktop.core.errors import MediSpecsError, OfflineError
from medispecs_desktop.core.library_cache import user_key
from medispecs_desktop.core.logs import redact

log = logging.getLogger(__name__)

THUMBNAILS_DIR_NAME = "thumbnails"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
MAX_THUMBNAIL_BYTES = 4 * 1024 * 1024  # a thumbnail larger than this is not a thumbnail
_SUFFIX = ".img"

Fetcher = Callable[[str], bytes]


class ThumbnailError(MediSpecsError):
    code = "thumbnail"


def looks_like_image(data: bytes) -> bool:
    """JPEG, PNG or WebP magic: keeps S3 XML error bodies out of the cache."""
    return (
        data[:3] == b"\xff\xd8\xff"
        or data[:8] == b"\x89PNG\r\n\x1a\n"
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    )


def http_fetcher(timeout: float = 15.0) -> Fetcher:
    """A fetcher over ``requests`` (the project's session when core.http is present)."""
    import requests

    session: requests.Session
    try:
        from medispecs_desktop.core.http import make_session

        session = make_session()
    except ImportError:  # pragma: no cover - before core.http exists
        session = requests.Session()

    def fetch(url: str) -> bytes:
        try:
            response = session.get(url, timeout=timeout, stream=True)
        except requests.RequestException as exc:
            raise OfflineError(f"Could not download the thumbnail: {redact(str(exc))}") from exc
        with response:
            if response.status_code != 200:
                raise ThumbnailError(
                    f"The thumbnail could not be downloaded (HTTP {response.status_code}).",
                    status=response.status_code,
                )
            body = bytearray()
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_THUMBNAIL_BYTES:
                    raise ThumbnailError("The thumbnail is too large to be a thumbnail.")
            return bytes(body)

    return fetch


class ThumbnailCache:
    """LRU-by-access-time cache of image bytes on disk, bounded by total size."""

    def __init__(
        self,
        cache_dir: Path,
        user_id: str,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        fetcher: Fetcher | None = None,
    ) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.max_bytes = max_bytes
        self.directory = private_dir(thumbnails_dir(cache_dir) / user_key(user_id))
        self._fetcher = fetcher
        self._lock = threading.Lock()

    @staticmethod
    def key_for(video_id: str, thumbnail_s3_key: str | None) -> str:
        return f"{video_id}\n{thumbnail_s3_key or ''}"

    def _path(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode("utf-8")).hexdigest() + _SUFFIX)

    def get(self, key: str) -> bytes | None:
        """Cached bytes for ``key`` (and mark them recently used), or None."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("Unreadable cached thumbnail %s: %s", path.name, exc)
            return None
        try:
            os.utime(path)
        except OSError:  # pragma: no cover
            pass
        return data

    def put(self, key: str, data: bytes) -> None:
        if not looks_like_image(data):
            raise ThumbnailError("The downloaded thumbnail is not an image.")
        if len(data) > min(self.max_bytes, MAX_THUMBNAIL_BYTES):
            return  # never cache what would evict everything else
        target = self._path(key)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.chmod(tmp, 0o600)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        self.evict()

    def load(self, key: str, url: str | None) -> bytes | None:
        """The thumbnail from disk, else downloaded from ``url`` and cached; None offline
        without a cached copy or without a URL."""
        cached = self.get(key)
        if cached is not None:
            return cached
        if not url:
            return None
        if self._fetcher is None:
            self._fetcher = http_fetcher()
        data = self._fetcher(url)
        self.put(key, data)
        return data

    def total_bytes(self) -> int:
        return sum(size for _path, size, _mtime in self._entries())

    def _entries(self) -> list[tuple[Path, int, float]]:
        out: list[tuple[Path, int, float]] = []
        try:
            with os.scandir(self.directory) as it:
                for entry in it:
                    if not entry.name.endswith(_SUFFIX):
                        continue
                    try:
                        st = entry.stat()
                    except FileNotFoundError:
                        continue
                    out.append((Path(entry.path), st.st_size, st.st_mtime))
        except FileNotFoundError:
            return []
        return out

    def evict(self) -> int:
        """Drop least recently used entries until the total fits; returns how many went."""
        with self._lock:
            entries = self._entries()
            total = sum(size for _p, size, _m in entries)
            if total <= self.max_bytes:
                return 0
            removed = 0
            for path, size, _mtime in sorted(entries, key=lambda e: e[2]):
                if total <= self.max_bytes:
                    break
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
                total -= size
                removed += 1
            return removed

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def thumbnails_dir(cache_dir: Path) -> Path:
    return cache_dir / THUMBNAILS_DIR_NAME


def clear_all(cache_dir: Path) -> None:
    """Remove every user's cached thumbnails (on sign-out)."""
    shutil.rmtree(thumbnails_dir(cache_dir), ignore_errors=True)
