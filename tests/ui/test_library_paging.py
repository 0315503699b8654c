"""Paging ahead of a fast scroll (issue 16): against the real local stack."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta
from typing import Any

from PySide6.QtCore import QModelIndex

from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.library import (
    LibraryQuery,
    LibraryWidget,
    VideoTableModel,
    local_date_range_to_utc,
    video_for_index,
)
from medispecs_desktop.ui.library.common import COL_TITLE
from medispecs_desktop.ui.tasks import TaskRunner
from tests.ui.test_library import DAY, Stack, stack, tasks  # noqa: F401 (fixtures)
from tests.ui.test_library_insert_new import ListApi, _video, show_library


def test_the_next_page_is_asked_for_before_a_page_s_rows_go_in(
    qtbot: Any, stack: Stack, tasks: TaskRunner  # noqa: F811
) -> None:
    """While the view pages, page N+1's request starts as soon as page N has its cursor (on a
    worker), not once page N's rows are in the model and the view asked again: the GUI
    thread's work on a page overlaps the next round trip. Before, each page waited for the
    previous one's hand-off to the GUI thread, its rows going in and the view's next
    fetchMore (the last of 10,000 rows took 1.5x the pages' round trips alone)."""
    lock = threading.Lock()
    started: list[str | None] = []  # the cursor of each request, as it starts
    third_started = threading.Event()
    local_day = DAY.astimezone().date()
    date_from, date_to = local_date_range_to_utc(local_day, local_day + timedelta(days=1))

    def fetch(query: LibraryQuery, cursor: str | None) -> Any:
        with lock:
            started.append(cursor)
            if len(started) >= 3:
                third_started.set()
        return stack.api.list_videos(date_from=query.date_from, date_to=query.date_to,
                                     limit=query.limit, cursor=cursor)

    model = VideoTableModel(fetch, tasks, query=LibraryQuery(date_from, date_to, limit=1))
    # when page 2's row is about to go in (the GUI thread held there), page 3's request has
    # started: nothing on the GUI thread was needed for it (before, it never came: timeout)
    seen_at_insert: list[bool] = []

    def about_to_insert(_parent: QModelIndex, first: int, _last: int) -> None:
        if first == 1:
            seen_at_insert.append(third_started.wait(timeout=60))

    model.rowsAboutToBeInserted.connect(about_to_insert)
    with qtbot.waitSignal(model.pageLoaded, timeout=15_000):
        model.refresh()
    assert model.rowCount() == 1 and started == [None]  # the first page alone
    while model.has_more:  # the view pages to the end
        if model.canFetchMore(QModelIndex()):
            model.fetchMore(QModelIndex())
        qtbot.waitUntil(lambda: not model.loading, timeout=15_000)
    assert seen_at_insert == [True]
    shown = [model.video_at(r) for r in range(model.rowCount())]
    assert [v.video_id for v in shown if v is not None] == stack.ids
    assert len(started) == len(set(started))  # each page asked for once
    model.close()


def _rows_in_view(widget: LibraryWidget) -> set[str]:
    table = widget.table
    first = table.rowAt(0)
    last = table.rowAt(table.viewport().height() - 1)
    last = widget.proxy.rowCount() - 1 if last < 0 else last
    ids = set()
    for row in range(first, last + 1):
        video = video_for_index(widget.proxy.index(row, COL_TITLE))
        assert video is not None
        ids.add(video.video_id)
    return ids


def test_rows_scrolled_past_fetch_no_thumbnails(qtbot: Any) -> None:
    """A thumbnail's download starts only if its row is still on screen when its turn comes:
    a fast scroll to the end of a big library sent one for every row flown past (1,078 in
    the 10,000-row benchmark), each competing with the pages' own requests."""
    runner = TaskRunner()
    videos = [replace(_video(f"v_{i:04d}", 10 + i, f"Recording {i:04d}"),
                      thumbnail_s3_key=f"thumbnails/u/v_{i:04d}.jpg") for i in range(100)]
    api: Any = ListApi(videos)
    widget = show_library(qtbot, api, runner)
    lock = threading.Lock()
    asked: list[str] = []

    def loader(video: Video) -> bytes | None:  # on a worker
        with lock:
            asked.append(video.video_id)
        return None  # no copy: the placeholder stays

    thumbnails = widget.model.thumbnails
    thumbnails.set_loader(loader)
    try:
        # the top rows paint (their downloads would start at the event loop's next turn),
        # and the user is at the bottom before that
        widget.table.viewport().repaint()
        top = _rows_in_view(widget)
        bar = widget.table.verticalScrollBar()
        bar.setValue(bar.maximum())
        bottom = _rows_in_view(widget)
        assert top and bottom and not top & bottom
        # the rows now on screen are painted and fetched; the queue is then idle
        qtbot.waitUntil(lambda: bottom <= set(asked) and thumbnails.idle, timeout=10_000)
        assert not top & set(asked)  # before: the rows scrolled past were fetched too
        assert thumbnails.skipped > 0
    finally:
        widget.shutdown()
        runner.shutdown()
