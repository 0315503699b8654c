"""Last playback position per recording, per user, so the player can offer to resume.

Qt-free on purpose (plain JSON file, atomic writes, 0600 in a 0700 directory); the player
calls :meth:`PositionStore.save` through the task runner so the GUI thread never waits on disk.
Positions close to the start or the end are not worth resuming and are forgotten.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from medispecs_desktop.core.config import private_dir
from medispecs_desktop.core.library_cache import user_key

log = logging.getLogger(__name__)

MIN_RESUME_MS = 5_000  # closer to the start than this: start over
END_MARGIN_MS = 5_000  # closer to the end than this: it was watched to the end
MAX_ENTRIES = 1_000


class PositionStore:
    """``video_id -> (position_ms, duration_ms, saved_at)``; thread-safe."""

    def __init__(
        self,
        data_dir: Path,
        user_id: str,
        *,
        clock: Callable[[], float] = time.time,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.path = private_dir(data_dir / "positions") / f"{user_key(user_id or 'anonymous')}.json"
        self._clock = clock
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, float]] = self._read()

    def _read(self) -> dict[str, dict[str, float]]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("Ignoring unreadable resume positions (%s)", exc)
            return {}
        out: dict[str, dict[str, float]] = {}
        if isinstance(raw, dict):
            for key, value in raw.items():
                if isinstance(value, dict) and isinstance(value.get("position_ms"), int | float):
                    out[str(key)] = {
                        "position_ms": float(value["position_ms"]),
                        "duration_ms": float(value.get("duration_ms") or 0),
                        "saved_at": float(value.get("saved_at") or 0),
                    }
        return out

    def get(self, video_id: str) -> int | None:
        """Where to offer to resume ``video_id`` (ms), or None."""
        with self._lock:
            entry = self._entries.get(video_id)
        if entry is None:
            return None
        return int(entry["position_ms"])

    def save(self, video_id: str, position_ms: int, duration_ms: int) -> None:
        """Remember ``position_ms``; near the start or the end it is forgotten instead."""
        near_end = duration_ms > 0 and position_ms >= duration_ms - END_MARGIN_MS
        with self._lock:
            if position_ms < MIN_RESUME_MS or near_end:
                if self._entries.pop(video_id, None) is None:
                    return
            else:
                self._entries[video_id] = {
                    "position_ms": float(position_ms),
                    "duration_ms": float(duration_ms),
                    "saved_at": self._clock(),
                }
                if len(self._entries) > self._max:
                    oldest = sorted(self._entries.items(), key=lambda kv: kv[1]["saved_at"])
                    for key, _ in oldest[: len(self._entries) - self._max]:
                        del self._entries[key]
            snapshot = json.dumps(self._entries, sort_keys=True)
            self._write(snapshot)

    def forget(self, video_id: str) -> None:
        with self._lock:
            if self._entries.pop(video_id, None) is not None:
                self._write(json.dumps(self._entries, sort_keys=True))

    def _write(self, text: str) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".positions-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("Could not save resume positions: %s", exc)
            try:
                os.unlink(tmp)
            except OSError:
                pass

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass


def clear_all(data_dir: Path) -> None:
    """Remove every user's resume positions (on sign-out)."""
    directory = data_dir / "positions"
    if directory.exists():
        for path in directory.iterdir():
            try:
                path.unlink()
            except OSError:  # pragma: no cover
                pass
