""""Access history" in the library's details against the local stack: the get, playback and
upload of a fresh user's recording, by that user, loaded off the GUI thread and only while the
section is unfolded (reading the history is itself audited)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from medispecs_desktop.core.api import ApiClient
from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
from medispecs_desktop.core.config import Settings
from medispecs_desktop.ui.access_history import AccessHistoryPanel
from medispecs_desktop.ui.library import LibraryWidget
from medispecs_desktop.ui.tasks import TaskRunner
from tests.support.users import new_user


@pytest.fixture
def signed_in(local_stack: dict[str, Any], make_video: Any) -> Iterator[tuple[str, ApiClient,
                                                                             str]]:
    """(username, api, videoId): a fresh user with one real uploaded clip."""
    from medispecs_desktop.local.seed import upload_recording

    settings = Settings(api_url=local_stack["apiUrl"], region=local_stack["region"],
                        user_pool_id=local_stack["userPoolId"],
                        client_id=local_stack["clientId"],
                        cognito_endpoint=local_stack["awsEndpoint"])
    auth = CognitoAuth(settings, MemoryTokenStore())
    username, password = new_user(local_stack, "hist")
    auth.sign_in(username, password)
    with requests.Session() as session:
        session.trust_env = False
        seeded = upload_recording(session, local_stack["apiUrl"], auth.id_token(),
                                  make_video("ward.mp4", seconds=1.0, width=160, height=120),
                                  title="Ward round, bed 4")
    api = ApiClient(settings, auth)
    try:
        yield username, api, seeded.video_id
    finally:
        api.close()


@pytest.fixture
def tasks(qtbot: Any) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def texts(panel: AccessHistoryPanel) -> list[list[str]]:
    rows = []
    for i in range(panel.table.topLevelItemCount()):
        item = panel.table.topLevelItem(i)
        assert item is not None
        rows.append([item.text(c) for c in range(5)])
    return rows


def test_details_show_who_accessed_the_recording(
    qtbot: Any, tasks: TaskRunner, signed_in: tuple[str, ApiClient, str]
) -> None:
    username, api, video_id = signed_in
    api.get_video(video_id)
    api.playback_url(video_id)
    library = LibraryWidget(api, tasks)
    qtbot.addWidget(library)
    library.resize(1000, 700)
    library.show()
    library.start()
    qtbot.waitUntil(lambda: library.select_video(video_id), timeout=20_000)
    panel = library.access_history
    assert panel.video_id == video_id and not panel.expanded
    assert panel.table.isHidden()

    panel.toggle.setChecked(True)
    qtbot.waitUntil(lambda: panel.table.topLevelItemCount() > 0, timeout=20_000)
    rows = texts(panel)
    whats = [r[1] for r in rows]
    assert whats[0] == "Viewed access history"
    assert whats[-1] == "Uploaded"
    assert {"Opened", "Played", "Listed"} <= set(whats)
    assert whats.index("Played") < whats.index("Opened")  # newest first
    for row in rows:
        assert row[2].startswith(f"{username} (") and row[3] == "127.0.0.1"
        if row[1] not in ("Uploaded", "Edited"):  # the fixture uploaded with plain requests
            assert row[4].startswith("medispecs-desktop/")
    assert panel.status.text() == f"{len(rows)} accesses, newest first."

    # another recording selected while unfolded: the panel follows it
    library.details.set_video(None)
    assert panel.video_id is None and panel.table.topLevelItemCount() == 0


def test_loaded_off_the_gui_thread_and_only_when_unfolded(
    qtbot: Any, tasks: TaskRunner, signed_in: tuple[str, ApiClient, str]
) -> None:
    _username, api, video_id = signed_in
    calls: list[str] = []

    def loader(vid: str, *, limit: int) -> Any:
        calls.append(threading.current_thread().name)
        return api.history(vid, limit=limit)

    panel = AccessHistoryPanel(loader, tasks)
    qtbot.addWidget(panel)
    panel.show()
    panel.set_video_id(video_id)
    panel.set_video_id("v_someone_else")
    panel.set_video_id(video_id)
    assert calls == []  # folded: nothing asked, nothing audited
    panel.toggle.setChecked(True)
    qtbot.waitUntil(lambda: panel.table.topLevelItemCount() > 0, timeout=20_000)
    assert len(calls) == 1 and calls[0].startswith("ms-api")
    assert threading.current_thread() is threading.main_thread()
    assert texts(panel)[0][1] == "Viewed access history"
    # folding and unfolding again does not ask again; Refresh does
    panel.toggle.setChecked(False)
    panel.toggle.setChecked(True)
    assert len(calls) == 1
    panel.refresh.click()
    qtbot.waitUntil(lambda: len(calls) == 2 and panel.refresh.isEnabled(), timeout=20_000)
    qtbot.waitUntil(lambda: texts(panel)[1][1] == "Viewed access history", timeout=20_000)
