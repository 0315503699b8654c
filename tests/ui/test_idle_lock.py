"""Automatic logoff without waiting 15 minutes: the idle watcher on an injected clock, and what
the lock hides in the real main window (offscreen). The real-window test with a real password
check is tests/e2e/test_idle_lock_window.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QWidget

from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
from medispecs_desktop.core.config import Settings, load_settings
from medispecs_desktop.ui.idle_lock import IdleLock, IdleWatcher
from medispecs_desktop.ui.main_window import MainWindow
from medispecs_desktop.ui.notify import Notifier
from medispecs_desktop.ui.tasks import TaskRunner
from tests.support.browser import login_page_browser
from tests.support.stack import stack_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_fires_once_after_the_timeout_and_input_postpones_it(qtbot: Any) -> None:
    clock = Clock()
    watcher = IdleWatcher(15 * 60, clock=clock, check_ms=60_000)
    app: Any = QApplication.instance()
    app.installEventFilter(watcher)
    fired: list[bool] = []
    watcher.idle.connect(lambda: fired.append(True))
    field = QLineEdit()
    qtbot.addWidget(field)
    try:
        clock.now += 15 * 60 - 1
        watcher.check()
        assert fired == []
        qtbot.keyClick(field, Qt.Key.Key_A)  # any key press is activity
        clock.now += 15 * 60 - 1
        watcher.check()
        assert fired == []
        clock.now += 1
        watcher.check()
        watcher.check()
        assert fired == [True]  # once, not every check
        watcher.reset()
        clock.now += 15 * 60
        watcher.check()
        assert fired == [True, True]
        watcher.set_timeout(0)  # 0: never
        clock.now += 10**6
        watcher.check()
        assert fired == [True, True]
    finally:
        app.removeEventFilter(watcher)


def test_timeout_comes_from_the_settings_and_the_environment(monkeypatch: Any) -> None:
    assert Settings().idle_timeout_minutes == 15
    monkeypatch.setenv("MEDISPECS_IDLE_TIMEOUT_MINUTES", "5")
    assert load_settings().idle_timeout_minutes == 5


def _window(qtbot: Any, minutes: int = 15) -> tuple[MainWindow, IdleLock, Clock, Any]:
    window = MainWindow()
    qtbot.addWidget(window)
    window.show_main()
    window.show()
    window.uploads_dock.show()
    tasks = TaskRunner()
    ctx = SimpleNamespace(settings=Settings(idle_timeout_minutes=minutes), tasks=tasks,
                          user=SimpleNamespace(username="dr.grey", sub="s-1",
                                               display_name="Dr Grey"),
                          demo=False, demo_credentials=None)
    clock = Clock()
    lock = IdleLock(window, ctx, clock=clock, check_ms=60_000)
    return window, lock, clock, ctx


def _readable(app: Any) -> list[str]:
    return [w.text() for w in app.allWidgets()
            if w.isVisible() and isinstance(w, QLabel | QLineEdit)]


def test_lock_hides_every_view_and_what_shows_itself_later(qtbot: Any) -> None:
    window, lock, clock, ctx = _window(qtbot)
    assert lock.watcher.timeout == 15 * 60
    secret = QLabel("PATIENT-TITLE-0001")
    layout = window.library_view.layout()
    assert layout is not None
    layout.addWidget(secret)
    qtbot.waitUntil(secret.isVisible)
    card = QWidget()
    card.setWindowTitle("Import from GLASSES")
    qtbot.addWidget(card)
    card.show()
    paused: list[bool] = []
    lock.pause_playback = lambda: paused.append(True)
    notifier = Notifier(window.show_message, use_tray=True, parent=window)
    assert notifier.uses_tray

    clock.now += 15 * 60
    lock.watcher.check()
    assert lock.locked and paused == [True]
    assert not window.pages.isVisible() and not window.uploads_dock.isVisible()
    assert not window.statusBar().isVisible() and not card.isVisible()
    assert lock.screen.isVisible() and "Dr Grey" in lock.screen.user.text()
    assert not any(a.isEnabled() for a in window.all_actions())
    assert not window.acceptDrops()
    # a window (a card inserted meanwhile) or the dock that shows itself is hidden again
    late = QWidget()
    qtbot.addWidget(late)
    late.show()
    window.uploads_dock.show()
    qtbot.waitUntil(lambda: not late.isVisible() and not window.uploads_dock.isVisible())
    assert not secret.isVisible()
    note = notifier.notify("Uploaded", "UPLOAD-PATIENT-0002.mp4")
    assert note.via == "status bar" and not notifier.uses_tray  # no balloon with a file name
    assert all("PATIENT" not in t for t in _readable(QApplication.instance()))

    lock.release()
    assert window.pages.isVisible() and window.uploads_dock.isVisible() and card.isVisible()
    assert late.isVisible() and not lock.screen.isVisible()
    assert window.action_refresh.isEnabled()
    assert notifier.uses_tray
    ctx.tasks.shutdown()


def test_signed_out_never_locks(qtbot: Any) -> None:
    window, lock, clock, ctx = _window(qtbot)
    ctx.user = None
    clock.now += 3600
    lock.watcher.check()
    assert not lock.locked and window.pages.isVisible()
    ctx.tasks.shutdown()


def test_unlock_through_the_organisations_login_page(
    qtbot: Any, local_stack: dict[str, Any]
) -> None:
    """SSO users have no password in the app: the lock offers the login page again, and only
    the same account unlocks."""
    settings = stack_settings(local_stack, auth_domain=local_stack["authDomain"])
    account, other = local_stack["users"][1], local_stack["users"][0]
    user = CognitoAuth(settings, MemoryTokenStore()).sign_in(account["username"],
                                                              account["password"])
    window = MainWindow()
    qtbot.addWidget(window)
    window.show_main()
    window.show()
    tasks = TaskRunner()
    ctx = SimpleNamespace(settings=settings, tasks=tasks, user=user, demo=False,
                          demo_credentials=None)
    lock = IdleLock(window, ctx, check_ms=60_000)
    try:
        lock.lock()
        assert lock.screen.org_button.isVisible()
        lock.open_browser = login_page_browser(other)
        lock.screen.org_button.click()
        qtbot.waitUntil(lambda: "another account" in lock.screen.error.text(), timeout=20_000)
        assert lock.locked and not window.pages.isVisible()
        lock.open_browser = login_page_browser(account)
        lock.screen.org_button.click()
        qtbot.waitUntil(lambda: not lock.locked, timeout=20_000)
        assert window.pages.isVisible()
    finally:
        tasks.shutdown()
