"""What the library's parts share: columns, roles, sizes, the API it needs and a safe
``tasks.run``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QPixmap

from medispecs_desktop.core.library import STATUS_TEXT, LibraryQuery
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.tasks import TasksLike

log = logging.getLogger(__name__)

API_KIND = "api"

# columns
COL_THUMB, COL_TITLE, COL_RECORDED, COL_DURATION, COL_SIZE, COL_DEVICE, COL_STATUS = range(7)
HEADERS = ("", "Title", "Recorded", "Duration", "Size", "Device", "Status")
# what each column sorts by (core.library.sort_key)
SORT_COLUMNS = {COL_THUMB: "recorded", COL_TITLE: "title", COL_RECORDED: "recorded",
                COL_DURATION: "duration", COL_SIZE: "size", COL_DEVICE: "device",
                COL_STATUS: "status"}

# roles
VIDEO_ROLE = Qt.ItemDataRole.UserRole + 1  # the Video (or None for a local queue item)
SORT_ROLE = Qt.ItemDataRole.UserRole + 2  # raw value for sorting
VIDEO_ID_ROLE = Qt.ItemDataRole.UserRole + 3
LOCAL_ITEM_ROLE = Qt.ItemDataRole.UserRole + 4

THUMB_SIZE = QSize(96, 54)
TABLE_THUMB_SIZE = QSize(64, 36)  # in the table: more rows on a laptop screen
GRID_THUMB_SIZE = QSize(160, 90)
# The table hides these (in this order) when the list is too narrow for them and a readable
# title; the details pane shows every field of the selected recording anyway.
OPTIONAL_COLUMNS = (COL_SIZE, COL_THUMB, COL_DEVICE)  # the device (which glasses) stays longest
TITLE_MIN_WIDTH = 180  # the title keeps this much before an optional column shows
# the widest text each fixed column shows (the header text counts too)
COLUMN_SAMPLES = {
    COL_RECORDED: ("2026-12-28 23:58",),
    COL_DURATION: ("0:00:00",),
    COL_SIZE: ("999.9 MB",),
    COL_DEVICE: ("glasses-00000",),
}

STATUS_COLOR = {
    "pending": "#8a6d00",
    "uploaded": "#1f5fa8",
    "processing": "#1f5fa8",
    "ready": "#1b7a2f",
    "error": "#b00020",
}

__all__ = ["STATUS_TEXT"]  # re-exported for the views


# -- interfaces the library needs (core.api.ApiClient and ui.tasks.TaskRunner fit) -----------


class PageLike(Protocol):
    items: list[Video]
    next_cursor: str | None


class LibraryApi(Protocol):
    def list_videos(
        self,
        *,
        date_from: str | None = ...,
        date_to: str | None = ...,
        limit: int = ...,
        cursor: str | None = ...,
    ) -> Any: ...

    def get_video(self, video_id: str) -> Video: ...

    def update_video(
        self,
        video_id: str,
        *,
        version: int,
        title: str | None = ...,
        notes: str | None = ...,
    ) -> Video: ...

    def delete_video(self, video_id: str) -> None: ...

    def ping(self) -> bool: ...


FetchPage = Callable[[LibraryQuery, "str | None"], PageLike]


def submit(
    tasks: TasksLike,
    kind: str,
    fn: Callable[[], Any],
    on_done: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
) -> bool:
    """``tasks.run`` unless the runner is closed (the app is quitting): then nothing."""
    if getattr(tasks, "closed", False):
        log.debug("task dropped: the task runner is closed")
        return False
    tasks.run(kind, fn, on_done, on_error)
    return True


def placeholder_pixmap(size: QSize) -> QPixmap:
    pixmap = QPixmap(size)
    pixmap.fill(QColor("#d9dde3"))
    return pixmap
