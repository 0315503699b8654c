"""The uploads panel says what happened to the queue itself (issue 16): a damaged queue database
moved aside and its jobs queued again, or a queue locked by another program — with "Try again"
that works once the other program let go. Real app shell, real queue database."""

from __future__ import annotations

from typing import Any

import pytest

from medispecs_desktop.core.config import Paths
from medispecs_desktop.core.uploads.store import QueueStore
from medispecs_desktop.ui.uploads import service as uploads_service
from tests.support.queue_lock import hold_write_lock


def test_a_damaged_queue_is_shown_with_what_was_recovered(
    qtbot: Any, start_app: Any,
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
    qtbot: Any, start_app: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(uploads_service, "QUEUE_LOCK_WAIT", 0.5)
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


