"""Finished uploads join the library without a reset (issue 16): the rows already loaded, the
scroll position and the selection survive; the new recording is where the server lists it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QPoint

from medispecs_desktop.core.models import Video, format_utc
from medispecs_desktop.ui.library import VIDEO_ROLE, LibraryWidget, LocalQueueItem
from medispecs_desktop.ui.library.common import COL_THUMB
from medispecs_desktop.ui.tasks import TaskRunner

BASE = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


def _video(video_id: str, minutes_ago: int, title: str) -> Video:
    return Video.from_api({"videoId": video_id, "title": title, "status": "ready",
                           "recordedAt": format_utc(BASE - timedelta(minutes=minutes_ago)),
                           "durationSec": 30, "fileSizeBytes": 10_000, "deviceId": "g-1"})


@dataclass
class Page:
    items: list[Video]
    next_cursor: str | None


class ListApi:
    """``list_videos`` over a plain list, newest first, paged like the API."""

    def __init__(self, videos: list[Video]) -> None:
        self.videos = videos
        self.cursors: list[str | None] = []

    def list_videos(self, *, date_from: Any = None, date_to: Any = None, limit: int = 50,
                    cursor: str | None = None) -> Page:
        self.cursors.append(cursor)
        start = int(cursor or 0)
        chunk = self.videos[start:start + limit]
        end = start + len(chunk)
        return Page(chunk, str(end) if end < len(self.videos) else None)


def show_library(qtbot: Any, api: Any, runner: TaskRunner, *, page_size: int = 100
                 ) -> LibraryWidget:
    """A shown LibraryWidget over ``api`` in pages of ``page_size``, its first page in."""
    widget = LibraryWidget(api, runner, page_size=page_size)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    with qtbot.waitSignal(widget.model.pageLoaded, timeout=10_000):
        widget.start()
    return widget


@pytest.fixture
def tasks(qtbot: Any) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def _ids(model: Any) -> list[str | None]:
    videos = [model.index(r, 0).data(VIDEO_ROLE) for r in range(model.rowCount())]
    return [v.video_id if isinstance(v, Video) else None for v in videos]


def _selected_id(widget: LibraryWidget) -> str | None:
    rows = widget.table.selectionModel().selectedRows()
    if len(rows) != 1:
        return None
    video = rows[0].data(VIDEO_ROLE)
    return video.video_id if isinstance(video, Video) else None


def test_a_finished_upload_is_inserted_and_scroll_and_selection_survive(
    qtbot: Any, tasks: TaskRunner,
) -> None:
    api = ListApi([_video(f"v_{i:04d}", 10 + i, f"Recording {i:04d}") for i in range(1000)])
    library_api: Any = api  # list_videos only: nothing else is used here
    widget = LibraryWidget(library_api, tasks, page_size=50)
    qtbot.addWidget(widget)
    widget.resize(1100, 600)
    widget.show()
    model = widget.model
    with qtbot.waitSignal(model.pageLoaded, timeout=10_000):
        widget.start()
    while model.rowCount() < 200:  # the user scrolled: four pages are loaded
        with qtbot.waitSignal(model.pageLoaded, timeout=10_000):
            model.fetchMore(QModelIndex())
    assert widget.select_video("v_0150")
    bar = widget.table.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    scrolled = bar.value()
    assert scrolled > 0 and _selected_id(widget) == "v_0150"
    qtbot.waitUntil(lambda: not model.loading, timeout=10_000)  # the view may fetch a page too
    loaded = _ids(model)
    top = _top_id(widget)

    # an upload runs (its row shows on top), then finishes: the server lists it, the queue
    # no longer does, and the upload service asks the library to show it
    widget.model.set_local_items([LocalQueueItem("v_new", "Fresh clip", "uploading",
                                                 progress=0.5)])
    assert _ids(model) == [None, *loaded]  # a queue row on top: inserted, no reset
    api.videos.insert(0, _video("v_new", 0, "Fresh clip"))
    widget.model.set_local_items([])
    replaced: list[bool] = []
    model.listingReplaced.connect(lambda: replaced.append(True))
    with qtbot.waitSignal(model.pageLoaded, timeout=10_000):
        widget.insert_new()

    assert replaced == []  # no reset
    # the new one where the server lists it, then every row loaded before (the view may have
    # fetched the next page meanwhile: it comes after them)
    assert _ids(model)[:len(loaded) + 1] == ["v_new", *loaded]
    assert _selected_id(widget) == "v_0150"
    assert bar.value() >= scrolled and _top_id(widget) == top  # the same rows in view


def test_in_the_app_a_finished_upload_inserts_instead_of_reloading(
    qtbot: Any, start_app: Any,
) -> None:
    _ctx, panel = start_app()
    window = panel.window()
    library = window.findChild(LibraryWidget)
    assert library is not None
    with qtbot.waitSignal(library.model.listingReplaced, timeout=30_000):
        library.refresh()  # the listing is loaded (this one supersedes the sign-in's)
    replaced: list[bool] = []
    library.model.listingReplaced.connect(lambda: replaced.append(True))
    with qtbot.waitSignal(library.model.pageLoaded, timeout=30_000):
        panel.service.library_changed.emit()  # what a finished upload makes the service say
    assert replaced == []


def _top_id(widget: LibraryWidget) -> str | None:
    video = widget.table.indexAt(QPoint(1, 1)).data(VIDEO_ROLE)
    return video.video_id if isinstance(video, Video) else None


@pytest.mark.parametrize("width", [1100, 420])  # narrow: the thumbnail column is hidden
def test_rows_coming_and_going_above_do_not_move_what_a_scrolled_user_sees(
    qtbot: Any, tasks: TaskRunner, width: int,
) -> None:
    """An upload's queue row appears on top, goes when done, and the finished recording is
    inserted on top: a user scrolled down the list keeps seeing the same rows (Qt keeps the
    scroll bar's value, so they jumped by a row each time); at the top, new rows show."""
    api = ListApi([_video(f"v_{i:04d}", 10 + i, f"Recording {i:04d}") for i in range(300)])
    library_api: Any = api
    widget = LibraryWidget(library_api, tasks, page_size=100)
    qtbot.addWidget(widget)
    widget.resize(width, 600)
    widget.show()
    qtbot.waitExposed(widget)
    assert widget.table.isColumnHidden(COL_THUMB) == (width < 500)
    model = widget.model
    with qtbot.waitSignal(model.pageLoaded, timeout=10_000):
        widget.start()
    qtbot.waitUntil(lambda: not model.loading, timeout=10_000)
    bar = widget.table.verticalScrollBar()
    bar.setValue(40)
    qtbot.waitUntil(lambda: not model.loading, timeout=10_000)
    assert widget.select_video("v_0045")
    bar.setValue(40)
    top = _top_id(widget)
    assert top == "v_0040"

    item = LocalQueueItem("v_new", "Fresh clip", "uploading", progress=0.5)
    widget.model.set_local_items([item])  # an upload starts: its row on top
    assert _top_id(widget) == top
    api.videos[:0] = [_video("v_new", 0, "Fresh clip"),
                      *(_video(f"v_new{i}", 1 + i, f"Clip {i}") for i in range(3))]
    widget.model.set_local_items([])  # it finished: the queue row goes
    assert _top_id(widget) == top
    with qtbot.waitSignal(model.pageLoaded, timeout=10_000):
        widget.insert_new()  # and the recordings (four uploads) join the list on top
    assert _ids(model)[:4] == ["v_new", "v_new0", "v_new1", "v_new2"]
    assert _top_id(widget) == top
    assert _selected_id(widget) == "v_0045"

    bar.setValue(0)  # at the top of the list new rows show where the user looks
    widget.model.set_local_items([LocalQueueItem("v_next", "Next clip", "uploading")])
    assert bar.value() == 0
    assert widget.table.indexAt(QPoint(1, 1)).row() == 0
    assert _top_id(widget) is None  # the queue row
