"""Rows that are not ready yet become ready by themselves: a light poll of ``GET /videos/{id}``.

The server processes every upload after it lands (``uploaded → processing → ready``, or
``error``); the library shows the row as it was listed. :class:`ReadinessWatch` remembers the
recordings shown as ``uploaded``/``processing`` and, when asked (:meth:`poll_due`), reads again
the ones whose turn has come: first after ``first_delay`` seconds, then after ever longer waits
(×``factor`` up to ``max_delay``), so a recording that takes long costs few requests. A
recording leaves the watch when it is ``ready``/``error`` (its new record is returned: the UI
replaces the row, poster and all), when it is gone (deleted: 404), or after ``give_up_after``
seconds (the next listing shows it as it is).

Qt-free and thread-safe: the UI's timer runs :meth:`poll_due` on a worker thread (``ui/tasks``)
and :meth:`next_due_in` says when to ask again. ``get_video`` is the API client's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .errors import AuthError, MediSpecsError, NotFoundError
from .models import Video

__all__ = ["FINISHED", "WATCHED", "ReadinessWatch"]

log = logging.getLogger(__name__)

WATCHED = frozenset({"uploaded", "processing"})
"""Statuses the server moves on by itself (processing)."""
FINISHED = frozenset({"ready", "error"})


@dataclass(slots=True)
class _Entry:
    status: str
    due: float
    delay: float
    since: float


class ReadinessWatch:
    def __init__(
        self,
        get_video: Callable[[str], Video],
        *,
        clock: Callable[[], float] = time.monotonic,
        first_delay: float = 2.0,
        factor: float = 1.6,
        max_delay: float = 60.0,
        give_up_after: float = 30 * 60.0,
    ) -> None:
        self._get_video = get_video
        self._clock = clock
        self.first_delay = first_delay
        self.factor = factor
        self.max_delay = max_delay
        self.give_up_after = give_up_after
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- what is watched

    def track(self, videos: Iterable[Video]) -> None:
        """Watch those of ``videos`` the server is still working on (a listing, a page, an
        inserted row); a recording already watched keeps its schedule, one shown finished is
        dropped."""
        now = self._clock()
        with self._lock:
            for video in videos:
                entry = self._entries.get(video.video_id)
                if video.status not in WATCHED:
                    self._entries.pop(video.video_id, None)
                elif entry is None:
                    self._entries[video.video_id] = _Entry(
                        video.status, now + self.first_delay, self.first_delay, now)
                else:
                    entry.status = video.status

    def forget(self, video_id: str) -> None:
        with self._lock:
            self._entries.pop(video_id, None)

    def clear(self) -> None:
        """Stop watching everything (sign-out, another user's library)."""
        with self._lock:
            self._entries.clear()

    def watched(self) -> list[str]:
        with self._lock:
            return sorted(self._entries)

    def next_due_in(self) -> float | None:
        """Seconds until :meth:`poll_due` has work (0 when some is due); ``None`` when
        nothing is watched."""
        with self._lock:
            if not self._entries:
                return None
            return max(0.0, min(e.due for e in self._entries.values()) - self._clock())

    # ---------------------------------------------------------------- polling

    def poll_due(self) -> list[Video]:
        """Read the recordings whose turn has come; returns the records that changed status
        (a row to update). Errors other than sign-in ones only postpone a recording."""
        now = self._clock()
        with self._lock:
            due = [vid for vid, e in self._entries.items() if e.due <= now]
        changed: list[Video] = []
        for video_id in due:
            try:
                video = self._get_video(video_id)
            except NotFoundError:
                self.forget(video_id)  # deleted meanwhile
                continue
            except AuthError:
                raise  # the session ended: the app signs in again, then lists anew
            except MediSpecsError as exc:
                log.info("readiness of %s not read now: %s", video_id, exc.code)
                self._postpone(video_id, None)
                continue
            if self._postpone(video_id, video):
                changed.append(video)
        return changed

    def _postpone(self, video_id: str, video: Video | None) -> bool:
        """Reschedule ``video_id`` after a read (``video``: what it answered); True when its
        status changed."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(video_id)
            if entry is None:  # forgotten meanwhile (signed out, deleted)
                return False
            changed = video is not None and video.status != entry.status
            if video is not None and video.status not in WATCHED:
                del self._entries[video_id]
                return changed
            if now - entry.since >= self.give_up_after:
                log.info("stopped watching %s: still %s", video_id, entry.status)
                del self._entries[video_id]
                return changed
            if video is not None:
                entry.status = video.status
            entry.delay = min(self.max_delay, entry.delay * self.factor)
            entry.due = now + entry.delay
            return changed
