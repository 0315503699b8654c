"""The app shell's everyday surface (issue 13 #3, #6, #12, #14, #18, #19) with real widgets:
Settings opens every time and keeps its size while typing, a bandwidth cap applies to the
running upload engine and shows in the status bar, adding files needs a signed-in user and
says so, the keyring warning is in plain words, file dialogs start in the last used folder."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLineEdit,
    QMessageBox,
    QTreeView,
    QWidget,
)

from medispecs_desktop.core.config import Settings
from medispecs_desktop.ui.app import AppContext, AppController
from medispecs_desktop.ui.main_window import (
    KEYRING_SHORT,
    LAST_FOLDER_KEY,
    PAGE_MAIN,
    MainWindow,
    default_media_folder,
)
from medispecs_desktop.ui.settings_dialog import SettingsDialog
from tests.support.keyrings import MemoryKeyring, active_keyring

Shell = tuple[AppContext, MainWindow, AppController]


@pytest.fixture
def app_style() -> Iterator[None]:
    """The app's style sheet (its padding and borders are what sizes the dialogs)."""
    from medispecs_desktop.ui.icons import stylesheet

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    previous = app.styleSheet()
    app.setStyleSheet(stylesheet())
    yield
    app.setStyleSheet(previous)


def _open_settings(qtbot: Any, window: MainWindow) -> SettingsDialog:
    window.action_settings.trigger()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(SettingsDialog)),
                    timeout=5_000)
    return next(d for d in window.findChildren(SettingsDialog) if d.isVisible())


def test_settings_open_again_after_being_closed(
    qtbot: Any, make_shell: Callable[..., Shell]
) -> None:
    """The second open raised "SettingsDialog already deleted": the controller kept the
    wrapper of the dialog Qt had deleted after it closed."""
    _ctx, window, controller = make_shell(Settings())
    for _ in range(3):
        dialog = _open_settings(qtbot, window)
        assert controller.settings_dialog is dialog
        dialog.reject()
        qtbot.waitUntil(lambda: controller.settings_dialog is None, timeout=5_000)
    dialog = _open_settings(qtbot, window)
    window.action_settings.trigger()  # while open: the same dialog comes to the front
    assert [d for d in window.findChildren(SettingsDialog) if d.isVisible()] == [dialog]


def test_settings_keep_their_size_and_save_stays_put_while_typing(
    qtbot: Any, app_style: None
) -> None:
    from medispecs_desktop.core.config import Paths

    dialog = SettingsDialog(Settings(), Paths.default().ensure())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    QApplication.processEvents()
    size = dialog.size()
    save_at = dialog.save_button.mapTo(dialog, QPoint(0, 0))
    for name, text in (("api_url", "not a url"), ("region", "moon"),
                       ("client_id", "a b c"), ("user_pool_id", "?")):
        edit = dialog.fields[name]
        qtbot.keyClicks(edit, text)
        QApplication.processEvents()
        assert dialog.error.isVisible() and dialog.error.text()
        assert dialog.size() == size, name
        assert dialog.save_button.mapTo(dialog, QPoint(0, 0)) == save_at, name
        # the problem is readable in the space it has
        assert dialog.error.heightForWidth(dialog.error.width()) <= dialog.error.height(), (
            name, dialog.error.text())
    assert "and 3 more problems" in dialog.error.text()
    for name in ("api_url", "region", "client_id", "user_pool_id"):
        dialog.fields[name].clear()
    QApplication.processEvents()
    assert not dialog.error.isVisible() and dialog.size() == size
    assert dialog.save_button.mapTo(dialog, QPoint(0, 0)) == save_at


def test_a_bandwidth_limit_applies_at_once_to_the_running_engine_and_shows(
    qtbot: Any, start_app: Any
) -> None:
    ctx, panel = start_app()
    window = panel.window()
    assert isinstance(window, MainWindow)
    qtbot.waitUntil(lambda: ctx.engine is not None, timeout=15_000)
    engine = ctx.engine
    bucket = engine.bucket
    assert bucket.unlimited and not window.bandwidth_label.isVisible()
    dialog = _open_settings(qtbot, window)
    dialog.bandwidth.setValue(2000)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    # the same engine and bucket every running part draws from: capped now, not at the
    # next sign-in
    assert ctx.engine is engine and engine.bucket is bucket
    assert bucket.rate == 2000 * 1000 / 8 and not bucket.unlimited
    assert window.bandwidth_label.isVisible()
    assert window.bandwidth_label.text() == "Upload limit 2 Mbit/s"
    assert window.current_page() == PAGE_MAIN  # still signed in, library shown
    dialog = _open_settings(qtbot, window)
    dialog.bandwidth.setValue(0)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert bucket.unlimited and not window.bandwidth_label.isVisible()


def _type_and_accept(dialog: QFileDialog, path: Path) -> None:
    """As a user: go to the folder, type the file's name, press Open."""
    dialog.setDirectory(str(path.parent))
    edit = dialog.findChild(QLineEdit, "fileNameEdit")
    assert edit is not None
    edit.setText(path.name)
    dialog.accept()


def test_adding_files_needs_a_signed_in_user_and_says_so(
    qtbot: Any, make_shell: Callable[..., Shell], tmp_path: Path
) -> None:
    _ctx, window, _controller = make_shell(Settings())
    for action in (window.action_add_files, window.action_add_folder):
        assert not action.isEnabled()  # signed out: nothing to drop silently
        assert "Sign in" in action.toolTip()
    window.set_signed_in("Dr Demo")
    assert window.action_add_files.isEnabled() and window.action_add_folder.isEnabled()
    clip = tmp_path / "knee.mp4"
    clip.write_bytes(b"not looked at")
    chosen: list[Any] = []
    window.files_chosen.connect(chosen.append)
    window.action_add_files.trigger()
    dialog = window.file_dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    window.set_signed_in(None)  # signed out (or locked) while the dialog was open
    _type_and_accept(dialog, clip)
    assert chosen == []
    box = window.not_added_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "not added" in box.text() and "Sign in" in box.text()


def test_file_dialogs_start_in_the_last_folder_used_and_show_whole_names(
    qtbot: Any, make_shell: Callable[..., Shell], tmp_path: Path
) -> None:
    _ctx, window, _controller = make_shell(Settings())
    window.set_signed_in("Dr Demo")
    first = window.start_folder()
    assert first == default_media_folder() and Path(first).is_dir()
    assert Path(first) != Path(os.getcwd())  # not where the app happened to start
    folder = tmp_path / "Card dump"
    folder.mkdir()
    long_name = "GLS_2025-11-03_theatre-3_knee-arthroscopy_left_0001.mp4"
    (folder / long_name).write_bytes(b"x")
    chosen: list[Any] = []
    window.files_chosen.connect(chosen.append)
    window.action_add_files.trigger()
    dialog = window.file_dialog
    assert dialog is not None and Path(dialog.directory().absolutePath()) == Path(first)
    dialog.setDirectory(str(folder))
    view = next(v for v in dialog.findChildren(QTreeView) if v.isVisible())
    qtbot.waitUntil(lambda: view.model().rowCount(view.rootIndex()) > 0, timeout=10_000)
    QApplication.processEvents()
    needed = view.fontMetrics().horizontalAdvance(long_name)
    assert view.header().sectionSize(0) >= needed  # the name is not cut
    _type_and_accept(dialog, folder / long_name)
    assert chosen == [[str(folder / long_name)]]
    assert window._qsettings is not None
    assert window._qsettings.value(LAST_FOLDER_KEY) == str(folder)
    window.action_add_folder.trigger()  # the next dialog starts there
    dialog = window.file_dialog
    assert dialog is not None and Path(dialog.directory().absolutePath()) == folder
    dialog.reject()


class PlaintextFileKeyring(MemoryKeyring):
    """Named as a plain-text keyring (as keyrings.alt's): refused, with its class name."""


def test_the_keyring_warning_is_in_plain_words(
    qtbot: Any, make_shell: Callable[..., Shell], stack_settings: Settings,
    local_stack: dict[str, Any],
) -> None:
    with active_keyring(PlaintextFileKeyring()):
        ctx, window, controller = make_shell(stack_settings)
        assert ctx.auth is not None
        controller._signed_in(ctx.auth.sign_in(local_stack["username"],
                                               local_stack["password"]))
        assert not ctx.auth.remembered
        message = window.statusBar().currentMessage()
        assert "won't be remembered" in message
        assert "PlaintextFileKeyring" not in message and "keyring" not in message.lower()
        assert window.keyring_text.isVisible() and window.keyring_text.text() == KEYRING_SHORT
        # the class name is for IT, in the tooltip
        assert "PlaintextFileKeyring" in window.keyring_text.toolTip()


def test_the_sign_in_dialog_keeps_its_size_and_nothing_shows_below_its_buttons(
    qtbot: Any, app_style: None, stack_settings: Settings
) -> None:
    """The busy bar was a thin line under the form that came and went (a stray line at the
    bottom, and the dialog jumped); it sits beside the buttons now."""
    from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore
    from medispecs_desktop.ui.signin import SignInDialog
    from medispecs_desktop.ui.tasks import TaskRunner

    tasks = TaskRunner()
    try:
        dialog = SignInDialog(CognitoAuth(stack_settings, MemoryTokenStore()), tasks,
                              username="demo", password="x", demo=True)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        QApplication.processEvents()
        size = dialog.size()
        for busy in (True, False, True):
            dialog._set_busy(busy)
            QApplication.processEvents()
            assert dialog.size() == size, busy
            bottom = dialog.buttons.mapTo(dialog, QPoint(0, dialog.buttons.height())).y()
            below = [w.objectName() or type(w).__name__ for w in dialog.findChildren(QWidget)
                     if w.isVisible() and w.mapTo(dialog, QPoint(0, 0)).y() >= bottom]
            assert below == [], below
        assert dialog.progress.isVisible()
        bar = dialog.progress.mapTo(dialog, QPoint(0, 0)).y()
        assert bar < bottom  # beside the buttons
    finally:
        tasks.shutdown()
