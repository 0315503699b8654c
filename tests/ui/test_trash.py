"""The Trash window (ui/trash.py) on real widgets against the local stack: a real clip
(uploaded as the desktop does) is deleted, shows in the Trash, is restored whole (record, bytes,
duplicate pointer), deleted again and then deleted forever after the confirmation."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from PySide6.QtWidgets import QMainWindow, QMenu

from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
from medispecs_desktop.core.errors import NotFoundError
from medispecs_desktop.ui.tasks import TaskRunner
from medispecs_desktop.ui.trash import TrashDialog, install_trash
from tests.support.stack import stack_settings
from tests.support.users import new_user


@pytest.fixture
def tasks(qtbot: Any) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


@pytest.fixture
def api(local_stack: dict[str, Any]) -> Iterator[ApiClient]:
    settings = stack_settings(local_stack)
    auth = CognitoAuth(settings, MemoryTokenStore())
    auth.sign_in(*new_user(local_stack, "trash"))
    client = ApiClient(settings, auth)
    yield client
    client.close()


def _upload(local_stack: dict[str, Any], api: ApiClient, tmp_path: Path) -> tuple[str, bytes]:
    from medispecs_desktop.local.samples import make_video
    from medispecs_desktop.local.seed import upload_recording

    path = make_video(tmp_path / "trash.mp4", seconds=1.0, width=160, height=120, seed=7)
    with requests.Session() as session:
        session.trust_env = False
        seeded = upload_recording(session, local_stack["apiUrl"], api.tokens.id_token(), path,
                                  title="Trash me", recorded_at=datetime(2025, 5, 1, tzinfo=UTC))
    return seeded.video_id, path.read_bytes()


def test_delete_restore_then_delete_forever(
    qtbot: Any, local_stack: dict[str, Any], api: ApiClient, tasks: TaskRunner, tmp_path: Path
) -> None:
    video_id, data = _upload(local_stack, api, tmp_path)
    sha = hashlib.sha256(data).hexdigest()
    api.delete_video(video_id)
    assert api.find_duplicates(sha256s=[sha]) == []

    asked: list[str] = []
    answer = [False]

    def confirm(_parent: Any, text: str) -> bool:
        asked.append(text)
        return answer[0]

    dialog = TrashDialog(lambda: api, tasks, confirm=confirm)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=15_000):
        dialog.reload()
    assert dialog.video_ids() == [video_id]
    row = dialog.tree.topLevelItem(0)
    assert row is not None and row.text(0) == "Trash me" and row.text(3) not in ("", "-")
    assert not dialog.restore_button.isEnabled()  # nothing selected yet
    assert dialog.select_video(video_id) and dialog.restore_button.isEnabled()

    with qtbot.waitSignal(dialog.restored, timeout=15_000) as restored:
        dialog.restore_button.click()
    assert restored.args[0].video_id == video_id
    assert dialog.video_ids() == [] and "Restored “Trash me”" in dialog.message.text()
    back = api.get_video(video_id)
    assert back.title == "Trash me" and back.thumbnail_url
    assert requests.get(api.playback_url(video_id).url, timeout=30).content == data
    assert api.find_duplicates(sha256s=[sha]) == [{"sha256": sha, "videoId": video_id}]

    api.delete_video(video_id)
    with qtbot.waitSignal(dialog.loaded, timeout=15_000):
        dialog.refresh_button.click()
    assert dialog.select_video(video_id)
    dialog.purge_button.click()  # cancelled: nothing happens
    assert asked and "“Trash me”" in asked[-1] and "cannot be undone" in asked[-1]
    assert dialog.video_ids() == [video_id] and tasks.pending() == 0
    answer[0] = True
    with qtbot.waitSignal(dialog.purged, timeout=60_000):  # a safety net, not a measure
        dialog.purge_button.click()
    assert dialog.video_ids() == []
    with pytest.raises(NotFoundError):
        api.restore_video(video_id)
    assert api.find_duplicates(sha256s=[sha]) == []
    with qtbot.waitSignal(dialog.loaded, timeout=15_000):
        dialog.reload()
    assert dialog.message.text() == "The Trash is empty."


def test_view_menu_opens_the_trash_and_a_restore_refreshes_the_library(
    qtbot: Any, api: ApiClient, tasks: TaskRunner
) -> None:
    from PySide6.QtCore import Signal

    class Window(QMainWindow):
        refresh_requested = Signal()

    window = Window()
    qtbot.addWidget(window)
    window.view_menu = QMenu("&View", window)  # type: ignore[attr-defined]

    class Ctx:
        pass

    ctx = Ctx()
    ctx.api = api  # type: ignore[attr-defined]
    ctx.tasks = tasks  # type: ignore[attr-defined]
    video = api.create_video({"videoId": f"v_{uuid.uuid4().hex}", "title": "Menu",
                              "recordedAt": "2025-01-01T00:00:00Z"})
    api.delete_video(video.video_id)
    action = install_trash(window, ctx)
    assert action in window.view_menu.actions()  # type: ignore[attr-defined]
    assert action.text() == "&Trash…"
    action.trigger()
    dialog = window.findChild(TrashDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.video_ids() == [video.video_id], timeout=15_000)
    assert dialog.select_video(video.video_id)
    with qtbot.waitSignal(window.refresh_requested, timeout=15_000):
        dialog.restore_button.click()
    assert api.get_video(video.video_id).title == "Menu"
