"""Hover previews for the seek bar (Qt-free): a small picture of the recording at a time.

Two sources, best first:

* the recording's **preview sheet**, made by the server's processing pipeline: one JPEG
  sprite of small frames every few seconds and a JSON index of where each tile is
  (``previewSheetUrl`` / ``previewIndexUrl`` in the video record, pre-signed). Fetched once,
  kept privately on disk: every hover is then a crop of a picture already in memory.
* until a recording has one: **keyframes decoded on demand** with PyAV from the same source
  the player plays (pre-signed URL with range reads, or the local file), one per time bucket,
  scaled small and kept privately on disk as JPEGs.

Both caches live under the user cache dir in a 0700 directory per user (a hash of the user
id, no name on disk) and are removed on sign-out (:func:`clear_all`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from medispecs_desktop.core.config import private_dir
from medispecs_desktop.core.library_cache import user_key
from medispecs_desktop.core.logs import redact

log = logging.getLogger(__name__)

PREVIEWS_DIR_NAME = "previews"
KEYFRAME_WIDTH = 240
MAX_BUCKETS = 200  # keyframe previews per recording: one per 1/200 of its length, >= 1 s
OPEN_TIMEOUT_S = 15.0
FETCH_TIMEOUT_S = 20.0
MAX_SHEET_BYTES = 20 * 1024 * 1024


class PreviewError(Exception):
    """No preview could be had (no sheet, undecodable source): the bar shows the time only."""


@dataclass(frozen=True)
class Tile:
    time_ms: int
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class SheetIndex:
    """Where each tile of a preview sheet is (the processing pipeline's ``index.json``)."""

    tiles: tuple[Tile, ...]

    @classmethod
    def from_json(cls, data: bytes | str) -> SheetIndex:
        try:
            raw = json.loads(data)
            width, height = int(raw["tileWidth"]), int(raw["tileHeight"])
            tiles = sorted((Tile(round(float(t["t"]) * 1000), int(t["x"]), int(t["y"]), width,
                                 height) for t in raw["tiles"]), key=lambda t: t.time_ms)
        except (ValueError, KeyError, TypeError) as exc:
            raise PreviewError(f"The preview index is not readable: {exc}") from exc
        if not tiles or width <= 0 or height <= 0:
            raise PreviewError("The preview index has no tiles.")
        return cls(tuple(tiles))

    def tile_for(self, time_ms: int) -> Tile:
        """The tile shown for ``time_ms``: the last one at or before it."""
        found = self.tiles[0]
        for tile in self.tiles:
            if tile.time_ms > time_ms:
                break
            found = tile
        return found


def sheet_urls(video: Any) -> tuple[str, str] | None:
    """(sheet URL, index URL) of a :class:`~medispecs_desktop.core.models.Video`, if any."""
    extra = getattr(video, "extra", None) or {}
    sheet, index = extra.get("previewSheetUrl"), extra.get("previewIndexUrl")
    if isinstance(sheet, str) and isinstance(index, str) and sheet and index:
        return sheet, index
    return None


def fetch_sheet(sheet_url: str, index_url: str, *, session: Any = None
                ) -> tuple[SheetIndex, bytes]:
    """Download a preview sheet and its index through their pre-signed URLs."""
    import requests

    http = session or requests
    try:
        index_answer = http.get(index_url, timeout=FETCH_TIMEOUT_S)
        index_answer.raise_for_status()
        index = SheetIndex.from_json(index_answer.content)
        sheet_answer = http.get(sheet_url, timeout=FETCH_TIMEOUT_S)
        sheet_answer.raise_for_status()
        jpeg = bytes(sheet_answer.content)
    except requests.RequestException as exc:
        raise PreviewError(f"The preview sheet could not be fetched: {redact(str(exc))}") \
            from exc
    if not jpeg.startswith(b"\xff\xd8") or len(jpeg) > MAX_SHEET_BYTES:
        raise PreviewError("The preview sheet is not a JPEG picture.")
    return index, jpeg


def bucket_ms(time_ms: int, duration_ms: int) -> int:
    """The time whose keyframe stands for ``time_ms`` (hovers this close share one)."""
    step = max(1000, duration_ms // MAX_BUCKETS) if duration_ms > 0 else 1000
    return (max(0, time_ms) // step) * step


class KeyframeSource:
    """Decodes the keyframe at or before a time from one source (URL or file), keeping the
    container open between calls (one at a time: a lock)."""

    def __init__(self, source: str, *, width: int = KEYFRAME_WIDTH) -> None:
        self.source = source
        # PyAV opens a local file by its path (a file:// URI from the player's local copy)
        self._name = url2pathname(urlparse(source).path) if source.startswith("file:") \
            else source
        self.width = width
        self._lock = threading.Lock()
        self._container: Any = None

    def jpeg_at(self, time_ms: int) -> bytes:
        import av

        from medispecs_desktop.core.media import frame_jpeg

        with self._lock:
            try:
                if self._container is None:
                    self._container = av.open(self._name, timeout=OPEN_TIMEOUT_S)
                container = self._container
                stream = container.streams.video[0]
                stream.codec_context.skip_frame = "NONKEY"  # keyframes only: fast
                container.seek(max(0, time_ms) * 1000, backward=True, any_frame=False)
                for frame in container.decode(stream):
                    return frame_jpeg(frame, self.width)
            except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
                self.close_locked()
                raise PreviewError(f"No preview picture: {redact(str(exc))}") from exc
            raise PreviewError("No preview picture: nothing could be decoded there.")

    def close_locked(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            try:
                container.close()
            except Exception:  # pragma: no cover - closing a broken stream
                log.debug("preview source close failed", exc_info=True)

    def close(self) -> None:
        with self._lock:
            self.close_locked()


class PreviewCache:
    """One user's preview sheets and keyframe pictures, private and on disk."""

    def __init__(self, cache_dir: Path, user_id: str) -> None:
        self.directory = previews_dir(cache_dir) / user_key(user_id)

    @staticmethod
    def _safe(video_id: str) -> str:
        return "".join(c for c in video_id if c.isalnum() or c in "_-")[:80] or "_"

    def _video_dir(self, video_id: str, content: str) -> Path:
        return self.directory / f"{self._safe(video_id)}-{user_key(content or '')[:12]}"

    def sheet(self, video_id: str, content: str) -> tuple[SheetIndex, bytes] | None:
        folder = self._video_dir(video_id, content)
        try:
            index = SheetIndex.from_json((folder / "index.json").read_bytes())
            return index, (folder / "sheet.jpg").read_bytes()
        except FileNotFoundError:
            return None
        except (OSError, PreviewError) as exc:
            log.info("Preview sheet cache entry dropped: %s", exc)
            shutil.rmtree(folder, ignore_errors=True)
            return None

    def put_sheet(self, video_id: str, content: str, index_json: bytes, jpeg: bytes) -> None:
        folder = self._video_dir(video_id, content)
        self._write(folder, "sheet.jpg", jpeg)
        self._write(folder, "index.json", index_json)

    def keyframe(self, video_id: str, content: str, bucket: int) -> bytes | None:
        try:
            return (self._video_dir(video_id, content) / f"k{bucket}.jpg").read_bytes()
        except OSError:
            return None

    def put_keyframe(self, video_id: str, content: str, bucket: int, jpeg: bytes) -> None:
        self._write(self._video_dir(video_id, content), f"k{bucket}.jpg", jpeg)

    @staticmethod
    def _write(folder: Path, name: str, data: bytes) -> None:
        private_dir(folder)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o600)
            os.replace(tmp, folder / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def index_json(index: SheetIndex) -> bytes:
    """The index as the cache stores it (the pipeline's shape, tiles only)."""
    first = index.tiles[0]
    return json.dumps({"tileWidth": first.width, "tileHeight": first.height,
                       "tiles": [{"t": t.time_ms / 1000, "x": t.x, "y": t.y}
                                 for t in index.tiles]}).encode()


def previews_dir(cache_dir: Path) -> Path:
    return cache_dir / PREVIEWS_DIR_NAME


def clear_all(cache_dir: Path) -> None:
    """Remove every user's preview pictures (on sign-out: they are frames of recordings)."""
    shutil.rmtree(previews_dir(cache_dir), ignore_errors=True)


__all__ = ["KeyframeSource", "PreviewCache", "PreviewError", "SheetIndex", "Tile",
           "bucket_ms", "clear_all", "fetch_sheet", "sheet_urls"]
