"""The uploads panel says what happened to the queue itself (issue 16): a damaged queue database
moved aside and its jobs queued again, or a queue locked by another program — with "Try again"
that works once the other program let go. Real app shell, real queue database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from medispecs_desktop.core.config import Paths, Settings
from medispecs_desktop.core.uploads.store import QueueStore
from medispecs_desktop.ui import uploads as uploads_ui
from medispecs_desktop.ui.app import AppContext, AppController, install_views
from medispecs_desktop.ui.main_window import MainWindow
from medispecs_desktop.ui.uploads import UploadsPanel
from tests.support.queue_lock import hold_write_lock

Start = Callable[[], tuple[AppContext, UploadsPanel]]


@pytest.fixture
def start_app(qtbot: Any, local_stack: dict[str, Any]) -> Iterator[Start]:
    """Opens the real app shell and signs in the demo user (the queue opens then)."""
    controllers: list[AppController] = []

    def start() -> tuple[AppContext, UploadsPanel]:
        settings = Settings(
            api_url=local_stack["apiUrl"], region=local_stack["region"],
            user_pool_id=local_stack["userPoolId"], client_id=local_stack["clientId"],
            cognito_endpoint=local_stack["awsEndpoint"], demo=True)
        ctx = AppContext(settings, Paths.default().ensure())
        window = MainWindow(ctx.qsettings)
        qtbot.addWidget(window, before_close_func=lambda w: setattr(w, "ask_before_closing",
                                                                    False))
        install_views(window, ctx)
        controller = AppController(ctx, window)
        controllers.append(controller)
        controller.show_window()
        assert ctx.auth is not None
        controller._signed_in(ctx.auth.sign_in(local_stack["username"],
                                               local_stack["password"]))
        panel = window.uploads_view
        assert isinstance(panel, UploadsPanel)
        return ctx, panel

    yield start
    for controller in controllers:
        controller.shutdown()


def test_a_damaged_queue_is_shown_with_what_was_recovered(
    qtbot: Any, start_app: Start,
) -> None:
    db = Paths.default().ensure().queue_db
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"\x00not a queue database" * 500)
    _ctx, panel = start_app()
    qtbot.waitUntil(lambda: panel.service.engine is not None, timeout=30_000)
    qtbot.waitUntil(panel.notice.isVisible, timeout=5_000)
    text = panel.notice.text()
    assert text.startswith("The upload queue was damaged (file is not a database)")
    assert ".damaged-" in text and list(db.parent.glob(f"{db.name}.damaged-*"))
    assert panel.notice_button.text() == "Dismiss"
    panel.notice_button.click()
    assert not panel.notice.isVisible()


def test_a_locked_queue_says_who_holds_it_and_try_again_opens_it(
    qtbot: Any, start_app: Start, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(uploads_ui, "QUEUE_LOCK_WAIT", 0.5)
    db = Paths.default().ensure().queue_db
    db.parent.mkdir(parents=True, exist_ok=True)
    QueueStore(db).close()
    holder = hold_write_lock(db)
    try:
        _ctx, panel = start_app()
        qtbot.waitUntil(panel.notice.isVisible, timeout=30_000)
        text = panel.notice.text()
        assert text.startswith("Uploads cannot start: The upload queue ")
        assert f"is locked by pid {holder.pid} (" in text
        assert panel.service.engine is None
        assert panel.notice_button.text() == "Try again"
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)
    panel.notice_button.click()  # the other program let go
    qtbot.waitUntil(lambda: panel.service.engine is not None, timeout=30_000)
    assert not panel.notice.isVisible()


