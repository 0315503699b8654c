"""The library's everyday surface (issue 13): the keyboard on rows, the details pane's order,
empty states, why a row does not play, the delete confirmation and where the focus goes
after it, the grid's caption and which columns survive a narrow list.

The widget runs on the app's real task runner over an in-memory API (its answers are plain
Python objects, as ApiClient's are); the tests against the running stack are in
test_library.py and test_surface_window.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMessageBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from medispecs_desktop.core.errors import NotFoundError
from medispecs_desktop.core.library import LocalQueueItem
from medispecs_desktop.core.models import Video, format_utc
from medispecs_desktop.ui.library import (
    COL_DEVICE,
    COL_DURATION,
    COL_RECORDED,
    COL_STATUS,
    COL_TITLE,
    LibraryTableView,
    LibraryWidget,
)
from medispecs_desktop.ui.library.views import LibraryGridView
from medispecs_desktop.ui.library.widget import confirm_move_to_trash
from medispecs_desktop.ui.online import OnlineMonitor
from medispecs_desktop.ui.tasks import TaskRunner

BASE = datetime(2025, 11, 20, 12, 0, tzinfo=UTC)


def _videos(n: int) -> list[Video]:
    return [Video.from_api({
        "videoId": f"v_{i}", "title": f"Ward round {i}", "status": "ready",
        "recordedAt": format_utc(BASE - timedelta(minutes=i)), "durationSec": 65 + i,
        "fileSizeBytes": 1_000_000, "deviceId": "glasses-00042",
        "s3Key": f"videos/u/v_{i}.mp4"}) for i in range(n)]


@dataclass
class Page:
    items: list[Video]
    next_cursor: str | None = None


class MemoryApi:
    """The library's API over a list (what ApiClient answers, without the network)."""

    def __init__(self, videos: list[Video]) -> None:
        self.videos = list(videos)
        self.deleted: list[str] = []

    def list_videos(self, **_query: Any) -> Page:
        return Page(list(self.videos))

    def get_video(self, video_id: str) -> Video:
        return next(v for v in self.videos if v.video_id == video_id)

    def update_video(self, video_id: str, *, version: int, title: str | None = None,
                     notes: str | None = None) -> Video:
        video = self.get_video(video_id)
        new = replace(video, title=title or video.title, notes=notes, version=version + 1)
        self.videos = [new if v.video_id == video_id else v for v in self.videos]
        return new

    def delete_video(self, video_id: str) -> None:
        if video_id not in {v.video_id for v in self.videos}:
            raise NotFoundError("gone")
        self.videos = [v for v in self.videos if v.video_id != video_id]
        self.deleted.append(video_id)

    def ping(self) -> bool:
        return True


@pytest.fixture
def tasks(qtbot: Any) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def _library(qtbot: Any, tasks: TaskRunner, videos: list[Video], **kw: Any) -> LibraryWidget:
    widget = LibraryWidget(MemoryApi(videos), tasks, **kw)
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitExposed(widget)
    with qtbot.waitSignal(widget.model.pageLoaded, timeout=5_000):
        widget.start()
    return widget


def _focus(qtbot: Any, widget: Any) -> None:
    widget.window().activateWindow()
    qtbot.waitUntil(widget.window().isActiveWindow, timeout=5_000)
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(widget.hasFocus, timeout=2_000)


# -- 4: the keyboard on the list and in Notes --------------------------------------------------


def test_tab_leaves_the_table_in_one_step_and_notes_does_not_eat_it(
    qtbot: Any, tasks: TaskRunner,
) -> None:
    widget = _library(qtbot, tasks, _videos(3))
    widget.table.selectRow(0)
    _focus(qtbot, widget.table)
    QTest.keyClick(widget.table, Qt.Key.Key_Tab)
    assert not widget.table.hasFocus()  # not the next cell of the same row
    notes = widget.details.notes_edit
    _focus(qtbot, notes)
    QTest.keyClick(notes, Qt.Key.Key_Tab)
    assert not notes.hasFocus()
    assert notes.toPlainText() == "" and not widget.details.is_dirty()


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space])
def test_enter_or_space_on_a_row_plays_it(qtbot: Any, tasks: TaskRunner, key: Qt.Key) -> None:
    widget = _library(qtbot, tasks, _videos(3))
    for view in (widget.table, widget.grid):
        widget.view_toggle.setChecked(view is widget.grid)
        view.selectionModel().setCurrentIndex(
            widget.proxy.index(1, COL_TITLE),
            view.selectionModel().SelectionFlag.ClearAndSelect)
        _focus(qtbot, view)
        with qtbot.waitSignal(widget.playRequested, timeout=2_000) as played:
            QTest.keyClick(view, key)
        assert played.args[0].video_id == "v_1"


def test_delete_key_and_the_row_menu_move_the_selected_recording_to_the_trash(
    qtbot: Any, tasks: TaskRunner,
) -> None:
    asked: list[str] = []

    def agree(_parent: Any, text: str) -> bool:
        asked.append(text)
        return True

    widget = _library(qtbot, tasks, _videos(3), confirm=agree)
    api = widget.api
    assert isinstance(api, MemoryApi)
    widget.table.selectRow(0)
    _focus(qtbot, widget.table)
    QTest.keyClick(widget.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: api.deleted == ["v_0"] and widget.model.rowCount() == 2,
                    timeout=5_000)
    assert "Ward round 0" in asked[0]
    menu = widget.table.actions()
    assert widget.table.contextMenuPolicy() == Qt.ContextMenuPolicy.ActionsContextMenu
    assert [a.text() for a in menu] == ["Play", "Edit title and notes", "Move to Trash…"]
    next(a for a in menu if a.text() == "Move to Trash…").trigger()
    qtbot.waitUntil(lambda: api.deleted == ["v_0", "v_1"], timeout=5_000)


# -- 17: the confirmation's buttons; focus after a delete ------------------------------------


def test_delete_confirmation_says_move_to_trash_or_cancel(qtbot: Any) -> None:
    seen: list[list[str]] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)
            return
        seen.append(sorted(b.text() for b in box.buttons()))
        assert box.defaultButton() is not None and box.defaultButton().text() == "Cancel"
        box.defaultButton().click()

    QTimer.singleShot(0, answer)
    assert confirm_move_to_trash(None, "Move “Ward round 0” to the Trash?") is False  # type: ignore[arg-type]
    assert seen == [["Cancel", "Move to Trash"]]


def test_after_a_delete_the_next_recording_is_selected_and_the_list_has_the_focus(
    qtbot: Any, tasks: TaskRunner,
) -> None:
    widget = _library(qtbot, tasks, _videos(3), confirm=lambda _p, _t: True)
    widget.table.selectRow(1)
    widget.details.delete_button.setFocus()
    widget.details.delete_button.click()
    qtbot.waitUntil(lambda: widget.model.rowCount() == 2, timeout=5_000)
    assert widget.details.video is not None and widget.details.video.video_id == "v_2"
    assert widget.table.hasFocus() and not widget.details.delete_button.hasFocus()
    assert "Moved “Ward round 1” to the Trash" in widget.details.message.text()


# -- 5 and 16: the details pane ---------------------------------------------------------------


def test_details_show_title_notes_actions_and_messages_first_technical_folded(
    qtbot: Any, tasks: TaskRunner,
) -> None:
    widget = _library(qtbot, tasks, _videos(2))
    details = widget.details
    widget.table.selectRow(0)
    details.show_message("Saved.")
    order = [details.title_edit, details.notes_edit, details.play_button, details.message,
             details.fields_toggle]
    ys = [w.mapTo(details, w.rect().topLeft()).y() for w in order]
    assert ys == sorted(ys), ys
    assert not details.fields.isVisible()  # Recording ID, SHA-256, Version, Codec: folded
    assert details.fields_toggle.text() == "Show technical details"
    for button in (details.play_button, details.save_button, details.delete_button):
        assert button.isVisible()
        bottom = button.mapTo(details.scroll_area.viewport(), button.rect().bottomLeft()).y()
        assert bottom <= details.scroll_area.viewport().height()  # above the fold


def test_nothing_selected_shows_one_hint_not_empty_labels(qtbot: Any, tasks: TaskRunner) -> None:
    widget = _library(qtbot, tasks, _videos(2))
    details = widget.details
    assert details.video is None
    assert details.placeholder.isVisible() and "Select a recording" in details.placeholder.text()
    shown = [w for w in details.findChildren(QLabel) if w.isVisible()]
    assert shown == [details.placeholder]
    widget.table.selectRow(0)
    assert not details.placeholder.isVisible() and details.title_edit.isVisible()


def test_a_search_with_no_match_says_so_and_offers_to_clear_it(
    qtbot: Any, tasks: TaskRunner,
) -> None:
    widget = _library(qtbot, tasks, _videos(3))
    qtbot.keyClicks(widget.search, "knee arthroscopy")
    assert widget.empty_state.isVisible() and not widget.table.isVisible()
    assert "knee arthroscopy" in widget.empty_label.text()
    assert widget.clear_search_button.isVisible()
    widget.clear_search_button.click()
    assert widget.search.text() == "" and widget.table.isVisible()
    assert not widget.empty_state.isVisible() and widget.proxy.rowCount() == 3


# -- 8: a row that does not play says why ----------------------------------------------------


def test_double_click_offline_or_on_a_clip_still_uploading_says_why(
    qtbot: Any, tasks: TaskRunner,
) -> None:
    monitor = OnlineMonitor(tasks, lambda: None)  # nothing to probe: only what is reported
    widget = _library(qtbot, tasks, _videos(2), online=monitor)
    statuses: list[str] = []
    widget.status.connect(statuses.append)
    played: list[Any] = []
    widget.playRequested.connect(played.append)

    widget.set_local_items([LocalQueueItem("v_local", "Clinic 3", "uploading", progress=0.4)])
    widget.table.doubleClicked.emit(widget.proxy.index(0, COL_TITLE))  # the queued one
    assert "still being uploaded" in widget.details.message.text()
    assert statuses and "still being uploaded" in statuses[-1]

    monitor.set_online(False)
    row = widget.model.row_of("v_0")
    widget.table.selectRow(row)
    widget.table.doubleClicked.emit(widget.proxy.index(row, COL_TITLE))
    assert "Offline" in widget.details.message.text() and "Offline" in statuses[-1]
    assert played == []
    monitor.set_online(True)
    widget.table.doubleClicked.emit(widget.proxy.index(row, COL_TITLE))
    assert [v.video_id for v in played] == ["v_0"]


# -- 20: the grid's caption; the device column --------------------------------------------------


def test_grid_caption_shows_the_duration(qtbot: Any, tasks: TaskRunner) -> None:
    widget = _library(qtbot, tasks, _videos(1))
    grid = widget.grid
    assert isinstance(grid, LibraryGridView)
    option = QStyleOptionViewItem()
    index = widget.proxy.index(0, 0)
    delegate = grid.itemDelegate()
    assert isinstance(delegate, QStyledItemDelegate)
    delegate.initStyleOption(option, index)
    duration = widget.proxy.index(0, COL_DURATION).data()
    assert duration == "1:05" and duration in option.text


def test_device_column_survives_the_width_a_1360_px_window_gives_the_list(
    qtbot: Any, tasks: TaskRunner,
) -> None:
    widget = _library(qtbot, tasks, _videos(3))
    table = widget.table
    assert isinstance(table, LibraryTableView)
    # the main window gives the library 55 % of 1360 px; the widget's margins and the
    # table's frame take the rest of this
    widget.resize(int(1360 * 0.55), 700)
    qtbot.waitUntil(lambda: table.viewport().width() < 740, timeout=2_000)
    QApplication.processEvents()
    assert not table.isColumnHidden(COL_DEVICE)
    for col in (COL_TITLE, COL_RECORDED, COL_DURATION, COL_STATUS):
        assert not table.isColumnHidden(col)
    assert table.horizontalScrollBar().maximum() == 0


def test_restored_sizes_never_squeeze_the_title_or_the_rows(qtbot: Any, tasks: TaskRunner) -> None:
    """The table asks for room for the scanned columns, a readable title and a few rows: a
    splitter restored from a smaller screen cannot go below it."""
    from medispecs_desktop.ui.library.common import TITLE_MIN_WIDTH

    widget = _library(qtbot, tasks, _videos(8))
    hint = widget.table.minimumSizeHint()
    fixed = sum(widget.table.columnWidth(c) for c in (COL_RECORDED, COL_DURATION, COL_STATUS))
    assert hint.width() >= fixed + TITLE_MIN_WIDTH * 2 // 3
    assert hint.height() >= 4 * widget.table.verticalHeader().defaultSectionSize()
    assert widget.minimumSizeHint().width() >= hint.width()
