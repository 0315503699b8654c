"""The library's offline copy: every change to the listing shown is written to the user's
private :class:`~medispecs_desktop.core.library_cache.LibraryCache` on a worker, one write at
a time and in the order asked for (a page's rows never land before the listing they
extend)."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject

from medispecs_desktop.core.library import LibraryQuery
from medispecs_desktop.core.library_cache import LibraryCache
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.library.common import API_KIND, submit
from medispecs_desktop.ui.tasks import TasksLike

log = logging.getLogger(__name__)


class ListingCacheWriter(QObject):
    def __init__(self, cache: LibraryCache, tasks: TasksLike,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self._tasks = tasks
        self._writes: deque[Callable[[], None]] = deque()
        self._busy = False
        self._next_position = 0

    def save_listing(self, videos: Sequence[Video], query: LibraryQuery,
                     next_cursor: str | None) -> None:
        """Replace the copy with the rows loaded now (after a fresh first page)."""
        cache, rows = self.cache, list(videos)
        self._next_position = len(rows)
        self._write(lambda: cache.save_listing(rows, next_cursor=next_cursor,
                                               date_from=query.date_from,
                                               date_to=query.date_to))

    def append(self, videos: Sequence[Video], next_cursor: str | None) -> None:
        cache, rows = self.cache, list(videos)
        first = self._next_position
        self._next_position += len(rows)
        self._write(lambda: cache.append(rows, first_position=first, next_cursor=next_cursor))

    def upsert(self, video: Video) -> None:
        cache = self.cache
        self._write(lambda: cache.upsert(video))

    def remove(self, video_id: str) -> None:
        cache = self.cache
        self._write(lambda: cache.remove(video_id))

    def idle(self) -> bool:
        """No write waiting or running (tests, shutdown)."""
        return not self._busy and not self._writes

    def _write(self, write: Callable[[], None]) -> None:
        self._writes.append(write)
        self._next()

    def _next(self) -> None:
        if self._busy or not self._writes:
            return
        write = self._writes.popleft()
        self._busy = True

        def finished(_result: object = None) -> None:
            self._busy = False
            self._next()

        def failed(exc: BaseException) -> None:
            log.warning("Offline listing not updated: %s", exc)
            finished()

        if not submit(self._tasks, API_KIND, write, finished, failed):
            self._busy = False
            self._writes.clear()
