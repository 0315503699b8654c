"""Markers beside the player, through the real API of the local stack: M marks the frame on
screen with a comment, the list and the seek bar show it, a click jumps back to that frame, a
double-click edit saves with the version (a concurrent edit is reported), Delete removes it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from medispecs_desktop.ui.tasks import TaskRunner
from tests.support.player_s3 import signed_in_view


@pytest.fixture
def view(qtbot: Any, local_stack: dict[str, Any], tasks: TaskRunner) -> Iterator[Any]:
    yield from signed_in_view(qtbot, local_stack, tasks)


def test_mark_list_jump_edit_and_delete(qtbot: Any, view: Any) -> None:
    view, _ctx, api, video = view
    controller, panel, widget = view.controller, view.markers, view.widget
    before = {m.marker_id for m in api.list_markers(video.video_id)}  # the demo user's own
    # beside the player when both fit; a narrow player keeps its controls whole and M brings
    # the list back
    qtbot.waitUntil(lambda: panel.isVisible(), timeout=2_000)
    view.resize(560, 560)
    qtbot.waitUntil(lambda: not panel.isVisible(), timeout=2_000)
    widget.actions_by_name["mark"].trigger()
    assert panel.isVisible()
    panel._cancel_new()
    view.resize(1000, 560)
    with qtbot.waitSignal(controller.frame_index.ready, timeout=20_000):
        view.open_video(video)
    qtbot.waitUntil(lambda: panel.status.text() == "", timeout=10_000)  # listing loaded
    controller.pause()
    index = controller.frame_index.index
    assert index is not None
    target = min(37, len(index) - 1)
    controller.seek(index.seek_ms(target))
    qtbot.waitUntil(lambda: controller.current_frame == target, timeout=5_000)

    text = f"Wound edge {uuid.uuid4().hex[:6]}"
    widget.actions_by_name["mark"].trigger()  # M
    assert panel.comment.hasFocus() or panel.comment.isEnabled()
    qtbot.keyClicks(panel.comment, text)
    qtbot.keyClick(panel.comment, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(m.text == text for m in panel.markers), timeout=10_000)
    mine = next(m for m in panel.markers if m.text == text)
    assert index.frame_at_ms(mine.time_ms) == target  # the frame that was on screen
    assert mine.time_ms in widget.slider.markers  # a tick on the seek bar
    stored = {m.marker_id: m for m in api.list_markers(video.video_id)}
    assert stored[mine.marker_id].time_ms == mine.time_ms and mine.marker_id not in before

    # a click on the row shows that frame again
    controller.seek(0)
    qtbot.waitUntil(lambda: controller.current_frame == 0, timeout=5_000)
    row = next(i for i in range(panel.list.count())
               if panel.marker_for(panel.list.item(i)) == mine)
    item = panel.list.item(row)
    rect = panel.list.visualItemRect(item)
    qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: controller.current_frame == target, timeout=5_000)

    # edit in place: saved with its version
    item.setData(Qt.ItemDataRole.EditRole, text + ", left")
    qtbot.waitUntil(lambda: any(m.marker_id == mine.marker_id and m.version == 2
                                for m in panel.markers), timeout=10_000)
    assert stored_text(api, video, mine.marker_id) == text + ", left"

    # someone else edits it meanwhile: the stale edit is reported, the newest text shown
    api.update_marker(video.video_id, mine.marker_id, version=2, text="from the ward PC")
    row = next(i for i in range(panel.list.count())
               if panel.marker_for(panel.list.item(i)).marker_id == mine.marker_id)
    panel.list.item(row).setData(Qt.ItemDataRole.EditRole, "my late edit")
    qtbot.waitUntil(lambda: "changed this marker" in panel.status.text(), timeout=10_000)
    qtbot.waitUntil(lambda: any(m.text == "from the ward PC" for m in panel.markers),
                    timeout=10_000)
    assert stored_text(api, video, mine.marker_id) == "from the ward PC"

    # delete
    row = next(i for i in range(panel.list.count())
               if panel.marker_for(panel.list.item(i)).marker_id == mine.marker_id)
    panel.list.setCurrentRow(row)
    panel.delete_button.click()
    qtbot.waitUntil(lambda: all(m.marker_id != mine.marker_id for m in panel.markers),
                    timeout=10_000)
    assert mine.marker_id not in {m.marker_id for m in api.list_markers(video.video_id)}
    assert mine.time_ms not in widget.slider.markers or any(
        m.time_ms == mine.time_ms for m in panel.markers)

    # closing the recording empties the panel
    controller.close()
    assert panel.list.count() == 0 and not panel.comment.isEnabled()


def stored_text(api: Any, video: Any, marker_id: str) -> str:
    return next(m.text for m in api.list_markers(video.video_id) if m.marker_id == marker_id)


def test_a_marker_keeps_the_frame_on_screen_as_a_still(qtbot: Any, view: Any) -> None:
    """M with "Keep the frame as a still": the picture on screen goes with the marker (a PNG
    through a pre-signed URL into the recording's storage), and selecting the marker shows it
    again - the same pixels."""
    from PySide6.QtGui import QImage

    view, _ctx, api, video = view
    controller, panel = view.controller, view.markers
    with qtbot.waitSignal(controller.firstFrame, timeout=20_000):
        view.open_video(video)
    controller.pause()
    qtbot.waitUntil(lambda: controller.state == "paused", timeout=5_000)
    controller.seek(1_000)
    qtbot.waitUntil(lambda: controller.video_sink.videoFrame().isValid()
                    and controller.video_sink.videoFrame().startTime() >= 900_000,
                    timeout=5_000)
    on_screen = controller.video_sink.videoFrame().toImage().convertToFormat(
        QImage.Format.Format_RGB32)
    assert panel.keep_still.isChecked()
    view.widget.actions_by_name["mark"].trigger()  # M
    text = f"still {uuid.uuid4().hex[:6]}"
    panel.comment.setText(text)
    qtbot.keyClick(panel.comment, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(m.text == text for m in panel.markers), timeout=10_000)
    marker = next(m for m in panel.markers if m.text == text)
    assert marker.still_url and "▣" in panel._label(marker)
    stored = api.fetch_still(next(m for m in api.list_markers(video.video_id)
                                  if m.marker_id == marker.marker_id))
    assert stored.startswith(b"\x89PNG")
    row = next(i for i in range(panel.list.count())
               if panel.marker_for(panel.list.item(i)) == marker)
    panel.list.setCurrentRow(row)
    qtbot.waitUntil(lambda: panel.shown_still == marker.marker_id, timeout=10_000)
    assert panel.still_view.isVisible()
    again = QImage.fromData(panel.still_png or b"").convertToFormat(
        QImage.Format.Format_RGB32)
    assert again.size() == on_screen.size() and again == on_screen  # lossless: the frame
    # without the box ticked, no still
    panel.keep_still.setChecked(False)
    view.widget.actions_by_name["mark"].trigger()
    panel.comment.setText(text + " bare")
    qtbot.keyClick(panel.comment, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(m.text == text + " bare" for m in panel.markers),
                    timeout=10_000)
    assert next(m for m in panel.markers if m.text == text + " bare").still_url is None
    for m in api.list_markers(video.video_id):  # leave the shared demo recording as it was
        if m.text.startswith(text):
            api.delete_marker(video.video_id, m.marker_id)

