"""The application shell with real widgets (pytest-qt, offscreen) against the real local stack:
first run, settings, sign-in (wrong password, unknown user, new-password challenge), silent
sign-in from the keyring, sign-out clearing the keyring, offline start, the demo child."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import psutil
import pytest
from PySide6.QtCore import QElapsedTimer, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QPushButton

from medispecs_desktop import APP_NAME, __version__
from medispecs_desktop.core.config import Paths, Settings, load_settings
from medispecs_desktop.ui.about import AboutDialog, ShortcutsDialog
from medispecs_desktop.ui.app import (
    AppContext,
    AppController,
    settings_from_args,
)
from medispecs_desktop.ui.local_stack_process import LocalStackProcess
from medispecs_desktop.ui.main_window import (
    PAGE_MAIN,
    PAGE_SIGNED_OUT,
    PAGE_STARTING,
    PAGE_WELCOME,
    MainWindow,
)
from medispecs_desktop.ui.settings_dialog import SettingsDialog
from medispecs_desktop.ui.signin import SignInDialog
from medispecs_desktop.ui.tasks import API
from tests.support.keyrings import MemoryKeyring
from tests.support.task_spy import TaskSpy

# ----------------------------------------------------------------------------- fixtures


Shell = tuple[AppContext, MainWindow, AppController]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dialog(qtbot: Any, controller: AppController) -> SignInDialog:
    qtbot.waitUntil(lambda: controller.sign_in_dialog is not None
                    and controller.sign_in_dialog.isVisible(), timeout=10_000)
    assert controller.sign_in_dialog is not None
    return controller.sign_in_dialog


def _submit(qtbot: Any, dialog: SignInDialog, username: str, password: str) -> None:
    dialog.username.setText(username)
    dialog.password.setText(password)
    qtbot.mouseClick(dialog.submit, Qt.MouseButton.LeftButton)


def _table_rows(table: Any) -> dict[str, str]:
    """The first two columns of a QTableWidget, as {column 0: column 1}."""
    rows = {}
    for r in range(table.rowCount()):
        key, value = table.item(r, 0), table.item(r, 1)
        assert key is not None and value is not None, r
        rows[key.text()] = value.text()
    return rows


def _wait_error(qtbot: Any, dialog: SignInDialog) -> str:
    qtbot.waitUntil(lambda: bool(dialog.error_text) and not dialog.busy, timeout=15_000)
    return dialog.error_text


# ----------------------------------------------------------------------------- tests


def test_first_run_says_what_to_enter_and_settings_connect_the_app(
    qtbot: Any, make_shell: Callable[..., Shell], stack_settings: Settings,
    test_keyring: MemoryKeyring,
) -> None:
    ctx, window, controller = make_shell(Settings())
    controller.start()
    assert window.current_page() == PAGE_WELCOME
    text = window.welcome_panel.text.text()
    for words in ("API URL", "user pool id", "app client id"):
        assert words in text
    assert window.welcome_demo_button.text() == "Try the demo"
    assert window.online_label.text() == "Not set up"  # nothing to check: not "Checking…"

    qtbot.mouseClick(window.welcome_settings_button, Qt.MouseButton.LeftButton)
    dialog = controller.settings_dialog
    assert isinstance(dialog, SettingsDialog) and dialog.isVisible()
    items = [a for a in window.file_menu.actions() if not a.isSeparator()]
    assert "Import from &card…" in [a.text() for a in items]
    assert all(not a.icon().isNull() for a in items), [a.text() for a in items
                                                        if a.icon().isNull()]
    dialog.fields["api_url"].setText("not a url")
    assert not dialog.save_button.isEnabled()
    assert "https://" in dialog.error.text()
    for name in ("api_url", "region", "user_pool_id", "client_id", "cognito_endpoint"):
        dialog.fields[name].setText(getattr(stack_settings, name))
    dialog.max_files.setValue(3)
    assert dialog.save_button.isEnabled()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

    saved = load_settings(ctx.paths, env={})
    assert saved.api_url == stack_settings.api_url
    assert saved.client_id == stack_settings.client_id
    assert saved.max_concurrent_files == 3
    assert not saved.demo
    assert "token" not in ctx.paths.settings_file.read_text().lower()
    # now configured: nothing remembered, so the sign-in dialog opens; the API is reachable
    _dialog(qtbot, controller)
    qtbot.waitUntil(lambda: window.online_label.text() == "Online", timeout=10_000)


def test_sign_in_restore_and_sign_out_clear_the_keyring(
    qtbot: Any, make_shell: Callable[..., Shell], stack_settings: Settings,
    local_stack: dict[str, Any], test_keyring: MemoryKeyring,
) -> None:
    ctx, window, controller = make_shell(stack_settings)
    controller.start()
    dialog = _dialog(qtbot, controller)
    assert window.current_page() == PAGE_SIGNED_OUT
    _submit(qtbot, dialog, local_stack["username"], local_stack["password"])
    assert dialog.busy and not dialog.submit.isEnabled()  # busy state while the call runs
    qtbot.waitUntil(lambda: window.current_page() == PAGE_MAIN, timeout=15_000)
    assert ctx.user is not None and ctx.user.username == local_stack["username"]
    assert window.user_label.text() == ctx.user.display_name
    assert window.keyring_notice.isHidden()
    assert window.action_sign_out.isEnabled()
    assert len(test_keyring.refresh_tokens()) == 1  # remembered in the (test) keyring
    qtbot.waitUntil(lambda: window.online_label.text() == "Online", timeout=10_000)

    # next start: silent sign-in from the keyring, no dialog
    ctx2, window2, controller2 = make_shell(stack_settings)
    with qtbot.waitSignal(controller2.milestone, timeout=15_000,
                          check_params_cb=lambda name: name == "signed_in"):
        controller2.start()
    assert window2.current_page() == PAGE_MAIN
    assert controller2.sign_in_dialog is None
    assert ctx2.user is not None and ctx2.user.username == local_stack["username"]

    # sign out (menu) forgets the tokens, keyring entry included
    with qtbot.waitSignal(controller2.milestone, timeout=15_000,
                          check_params_cb=lambda name: name == "signed_out"):
        window2.action_sign_out.trigger()
    assert window2.current_page() == PAGE_SIGNED_OUT
    assert window2.user_label.text() == "Not signed in"
    assert test_keyring.refresh_tokens() == []
    assert ctx2.auth is not None and not ctx2.auth.signed_in


def test_wrong_password_and_unknown_user_messages(
    qtbot: Any, make_shell: Callable[..., Shell], stack_settings: Settings,
    local_stack: dict[str, Any], test_keyring: MemoryKeyring,
) -> None:
    _ctx, window, controller = make_shell(stack_settings)
    controller.start()
    dialog = _dialog(qtbot, controller)
    _submit(qtbot, dialog, local_stack["username"], "Wrong-password-1")
    assert _wait_error(qtbot, dialog) == "Wrong username or password."
    assert dialog.isVisible() and dialog.submit.isEnabled()
    # the password field takes the dialog's focus with its text selected, ready to retype
    # (the dialog's own focus widget: window activation is up to the platform)
    assert dialog.focusWidget() is dialog.password
    assert dialog.password.selectedText() == "Wrong-password-1"

    _submit(qtbot, dialog, f"nobody-{uuid.uuid4().hex[:6]}", "Whatever-1")
    qtbot.waitUntil(lambda: not dialog.busy, timeout=15_000)
    message = _wait_error(qtbot, dialog)
    # moto answers an unknown user like Cognito with "prevent user existence errors" on
    assert message.startswith(("There is no account", "Wrong username or password"))

    dialog.username.clear()
    qtbot.mouseClick(dialog.submit, Qt.MouseButton.LeftButton)
    assert dialog.error_text == "Enter your username and password."  # no network call
    assert window.current_page() == PAGE_SIGNED_OUT


def test_new_password_challenge(
    qtbot: Any, make_shell: Callable[..., Shell], stack_settings: Settings,
    local_stack: dict[str, Any], test_keyring: MemoryKeyring,
) -> None:
    username = f"nurse-{uuid.uuid4().hex[:8]}"
    idp = boto3.client("cognito-idp", region_name=local_stack["region"],
                       endpoint_url=local_stack["awsEndpoint"])
    idp.admin_create_user(UserPoolId=local_stack["userPoolId"], Username=username,
                          TemporaryPassword="Temp-pass-123", MessageAction="SUPPRESS")

    ctx, window, controller = make_shell(stack_settings)
    controller.start()
    dialog = _dialog(qtbot, controller)
    _submit(qtbot, dialog, username, "Temp-pass-123")
    qtbot.waitUntil(lambda: dialog.on_new_password_step and not dialog.busy, timeout=15_000)
    assert dialog.title.text() == "Choose a new password"
    assert username in dialog.new_password_hint.text()

    dialog.new_password.setText("Brand-new-pass-1")
    dialog.confirm_password.setText("Brand-new-pass-2")
    qtbot.mouseClick(dialog.submit, Qt.MouseButton.LeftButton)
    assert dialog.error_text == "The two passwords are not the same."

    dialog.confirm_password.setText("Brand-new-pass-1")
    qtbot.mouseClick(dialog.submit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.current_page() == PAGE_MAIN, timeout=15_000)
    assert ctx.user is not None and ctx.user.username == username
    # the new password is the real one now
    auth = ctx.auth
    assert auth is not None
    assert auth.sign_in(username, "Brand-new-pass-1").username == username


def test_offline_start_shows_offline_and_never_blocks(
    qtbot: Any, make_shell: Callable[..., Shell], test_keyring: MemoryKeyring,
) -> None:
    """The API host accepts connections but never answers (a black hole: the worst case, the
    ping waits for its 5 s read timeout) and the sign-in service refuses connections. The
    indicator turns Offline, sign-in says why, and the GUI thread keeps beating throughout:
    a call made on the GUI thread would freeze it for seconds."""
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(16)  # connections are taken and held: no byte ever comes back
    api_url = f"http://127.0.0.1:{blackhole.getsockname()[1]}"
    held: list[socket.socket] = []
    connected_at: list[int] = []  # when the first ping reached the black hole (ms)

    def hold() -> None:
        while True:
            try:
                conn, _ = blackhole.accept()
            except OSError:  # closed at the end of the test
                return
            held.append(conn)
            if not connected_at:
                connected_at.append(clock.elapsed())

    refused = f"http://127.0.0.1:{_free_port()}"
    settings = Settings(api_url=api_url, region="eu-west-2",
                        user_pool_id="eu-west-2_Offline1", client_id="offlineclient",
                        cognito_endpoint=refused)
    beats: list[int] = []
    clock = QElapsedTimer()
    clock.start()
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: beats.append(clock.elapsed()))
    heartbeat.start(10)
    threading.Thread(target=hold, daemon=True).start()
    offline_at: list[int] = []
    try:
        ctx, window, controller = make_shell(settings)
        ctx.online_changed.connect(
            lambda online: None if online or offline_at else offline_at.append(clock.elapsed()))
        controller.start()
        assert window.online_label.text() == "Checking…"
        dialog = _dialog(qtbot, controller)
        _submit(qtbot, dialog, "someone", "Some-password-1")
        message = _wait_error(qtbot, dialog)
        qtbot.waitUntil(lambda: window.online_label.text() == "Offline", timeout=15_000)
    finally:
        heartbeat.stop()
        blackhole.close()
        for conn in held:
            conn.close()
    assert message.startswith("Cannot reach the sign-in service")
    assert refused in message and "Details" not in message  # said once, with the address
    # the whole message is on screen: the dialog grew for the wrapped label
    assert dialog.error.height() >= dialog.error.heightForWidth(dialog.error.width())
    assert dialog.error.geometry().bottom() < dialog.buttons.geometry().top()
    assert "can't be reached" in window.online_label.toolTip()
    assert window.current_page() == PAGE_SIGNED_OUT
    # the ping waited in the black hole for its read timeout before the app said Offline...
    assert connected_at and offline_at and offline_at[0] - connected_at[0] >= 4000
    # ...and all that while the GUI thread kept beating: a ping on the GUI thread would have
    # held it from the connection to the verdict (at most one coalesced beat in between)
    during = [b for b in beats if connected_at[0] < b < offline_at[0]]
    assert len(during) >= 10, (len(during), connected_at, offline_at)


def test_without_a_keyring_the_session_works_and_says_it_is_not_remembered(
    qtbot: Any, make_shell: Callable[..., Shell], stack_settings: Settings,
    local_stack: dict[str, Any], no_keyring: None,
) -> None:
    ctx, window, controller = make_shell(stack_settings)
    controller.start()
    dialog = _dialog(qtbot, controller)
    _submit(qtbot, dialog, local_stack["username"], local_stack["password"])
    qtbot.waitUntil(lambda: window.current_page() == PAGE_MAIN, timeout=15_000)
    assert ctx.auth is not None and not ctx.auth.remembered
    assert window.keyring_notice.isVisible()
    assert "won't be remembered" in window.statusBar().currentMessage()


def test_demo_mode_runs_the_stack_as_a_child_that_ends_with_the_app(
    qtbot: Any, make_shell: Callable[..., Shell],
) -> None:
    ctx, window, controller = make_shell(Settings(demo=True))
    # the child stack (moto, seeded library) may take a while on a busy machine: wait for
    # its own "ready" as the app does (its start timeout is 90 s), not a fixed few seconds
    with qtbot.waitSignal(controller.milestone, timeout=90_000,
                          check_params_cb=lambda name: name == "stack_ready"):
        controller.start(local=True)
        assert window.demo_banner.isVisible()
        assert "not stored" in window.demo_banner_label.text()
        assert window.current_page() == PAGE_STARTING
        assert window.starting_panel.title.text() == "Starting the demo…"
    # once the child printed its JSON line the demo signs in by itself: no dialog, no click
    # (issue 13 item 19: it filled in the demo account and waited for a click on Sign in)
    qtbot.waitUntil(lambda: window.current_page() == PAGE_MAIN, timeout=20_000)
    assert controller.sign_in_dialog is None
    assert ctx.stack is not None and ctx.stack.info is not None
    assert ctx.user is not None and ctx.user.username == ctx.stack.info["username"]
    child = psutil.Process(ctx.stack.pid)
    assert child.ppid() == psutil.Process().pid
    assert ctx.settings.demo and ctx.settings.api_url == ctx.stack.info["apiUrl"]
    assert window.keyring_notice.isHidden()  # demo never uses the keyring: nothing to say
    controller.shutdown()
    assert not ctx.stack.running
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE


def test_window_layout_is_remembered_and_views_plug_in(
    qtbot: Any, tmp_path: Any,
) -> None:
    qsettings = QSettings(str(tmp_path / "ui-state.ini"), QSettings.Format.IniFormat)
    window = MainWindow(qsettings)
    qtbot.addWidget(window)
    window.show()
    window.resize(960, 640)
    window.uploads_dock.hide()
    window.save_layout()
    assert "geometry" in (tmp_path / "ui-state.ini").read_text()

    again = MainWindow(QSettings(str(tmp_path / "ui-state.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    again.show()
    assert (again.width(), again.height()) == (960, 640)
    assert again.uploads_dock.isHidden()

    library, player, uploads = QLabel("library"), QLabel("player"), QLabel("uploads")
    again.set_library_view(library)
    again.set_player_view(player)
    again.set_uploads_view(uploads)
    assert again.splitter.widget(0) is library and again.splitter.widget(1) is player
    assert again.uploads_dock.widget() is uploads and again.uploads_installed

    again.set_upload_totals(1, 3, 5_000_000, 20_000_000)
    assert again.uploads_label.text() == "Uploaded 1 of 3 · 5.0 MB of 20.0 MB"
    assert again.uploads_bar.value() == 250 and not again.uploads_bar.isHidden()
    again.set_upload_totals(0, 0, 0, 0)
    assert again.uploads_label.text() == "No uploads" and again.uploads_bar.isHidden()


def test_menus_shortcuts_and_about(qtbot: Any, tmp_path: Any) -> None:
    window = MainWindow(None)
    qtbot.addWidget(window)
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&View", "&Help"]
    file_items = [a.text() for a in window.file_menu.actions() if not a.isSeparator()]
    assert file_items == ["&Add files…", "Add &folder…", "&Settings…", "Sign &in…",
                          "Set up &authenticator app…", "Sign &out", "&Quit"]
    help_items = [a.text() for a in window.help_menu.actions() if not a.isSeparator()]
    assert help_items[:2] == ["&Keyboard shortcuts", "Open &log folder"]
    assert all(not a.icon().isNull() for a in (window.action_add_files, window.action_settings,
                                               window.action_about))

    shortcuts = ShortcutsDialog(window.all_actions(), window)
    qtbot.addWidget(shortcuts)
    rows = _table_rows(shortcuts.table)
    assert rows["Add files"] == "Ctrl+O"
    assert rows["Quit"] == "Ctrl+Q"
    assert rows["Show uploads"] == "Ctrl+U"

    about = AboutDialog(Paths.default(), window, demo=True)
    qtbot.addWidget(about)
    assert __version__ in about.title.text() and "demo mode" in about.title.text()

    requested: list[str] = []
    window.about_requested.connect(lambda: requested.append("about"))
    window.action_about.trigger()
    assert requested == ["about"]
    buttons = window.findChildren(QPushButton)
    assert any(b.text() == "Try the demo" for b in buttons)


def test_stack_process_reports_failures_clearly(qtbot: Any) -> None:
    """A child that dies before its JSON line is retried once, then reported with its stderr;
    a child that prints nonsense is killed and reported; a good line is parsed."""
    dies = LocalStackProcess(program=(sys.executable, [
        "-c", "import sys; print('port 5000 is taken', file=sys.stderr); sys.exit(3)"]))
    with qtbot.waitSignal(dies.failed, timeout=15_000) as failed:
        dies.start()
    assert failed.args[0].startswith("The demo stack stopped before it was ready (exit code 3)")
    assert "port 5000 is taken" in failed.args[0]
    assert dies._attempt == 2  # retried once

    garbage = LocalStackProcess(program=(sys.executable, [
        "-c", "import time; print('{not json', flush=True); time.sleep(30)"]))
    with qtbot.waitSignal(garbage.failed, timeout=15_000) as failed:
        garbage.start()
    assert "unexpected" in failed.args[0]
    qtbot.waitUntil(lambda: not garbage.running, timeout=5000)

    line = json.dumps({"apiUrl": "http://127.0.0.1:1", "region": "eu-west-2",
                       "userPoolId": "eu-west-2_x", "clientId": "c",
                       "awsEndpoint": "http://127.0.0.1:2", "password": "secret-demo-pw"})
    good = LocalStackProcess(program=(sys.executable, [
        "-c", f"import sys; print({line!r}, flush=True); sys.stdin.read()"]))
    with qtbot.waitSignal(good.ready, timeout=15_000) as ready:
        good.start()
    assert ready.args[0]["apiUrl"] == "http://127.0.0.1:1"
    assert good.running
    good.stop(timeout_ms=5000)  # closes stdin: this child ends on EOF, like the real one
    assert not good.running


def test_command_line_options_override_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = Paths.default().ensure()
    paths.settings_file.write_text(json.dumps(
        {"api_url": "https://file.example", "client_id": "fromfile", "region": "eu-west-2"}))
    monkeypatch.setenv("MEDISPECS_CLIENT_ID", "fromenv")
    args = argparse.Namespace(api_url="https://option.example", region=None,
                              user_pool_id=None, client_id=None, cognito_endpoint=None)
    settings, problem = settings_from_args(args, paths)
    assert problem == ""
    assert settings.api_url == "https://option.example"  # option beats file
    assert settings.client_id == "fromenv"  # environment beats file
    assert settings.region == "eu-west-2"

    paths.settings_file.write_text("{broken")
    settings, problem = settings_from_args(args, paths)
    assert "Cannot read settings file" in problem
    assert settings.api_url == "https://option.example"


def test_online_indicator_follows_the_api(
    qtbot: Any, make_shell: Callable[..., Shell], test_keyring: MemoryKeyring,
) -> None:
    """A real HTTP server stands in for the API host: down -> Offline, up again -> Online."""
    import http.server

    port = _free_port()

    def serve() -> http.server.ThreadingHTTPServer:
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", port), http.server.BaseHTTPRequestHandler)  # answers 501: reachable
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    settings = Settings(api_url=f"http://127.0.0.1:{port}", region="eu-west-2",
                        user_pool_id="eu-west-2_Online1", client_id="onlineclient")
    ctx, window, controller = make_shell(settings)
    changes: list[bool] = []
    ctx.online_changed.connect(changes.append)
    server = serve()
    try:
        controller.monitor.check_now()
        qtbot.waitUntil(lambda: window.online_label.text() == "Online", timeout=10_000)
    finally:
        server.shutdown()
        server.server_close()
    controller.monitor.check_now()
    qtbot.waitUntil(lambda: window.online_label.text() == "Offline", timeout=10_000)
    server = serve()
    try:
        controller.monitor.check_now()
        qtbot.waitUntil(lambda: window.online_label.text() == "Online", timeout=10_000)
    finally:
        server.shutdown()
        server.server_close()
    assert changes == [True, False, True]


def test_tokens_are_refreshed_before_they_expire(
    qtbot: Any, make_shell: Callable[..., Shell], stack_settings: Settings,
    local_stack: dict[str, Any], test_keyring: MemoryKeyring,
) -> None:
    """An hour later (the app's clock moved on), the next API call first refreshes the ID
    token with the refresh token from the keyring, on a worker, and then succeeds."""
    offset = [0.0]
    ctx, window, controller = make_shell(stack_settings, clock=lambda: time.time() + offset[0])
    controller.start()
    _submit(qtbot, _dialog(qtbot, controller), local_stack["username"], local_stack["password"])
    qtbot.waitUntil(lambda: window.current_page() == PAGE_MAIN, timeout=15_000)
    auth, api = ctx.auth, ctx.api
    assert auth is not None and api is not None and auth.expires_at is not None
    first_expiry = auth.expires_at
    offset[0] = first_expiry - time.time() - 60  # one minute left: inside the refresh margin
    results: list[Any] = []
    ctx.tasks.run(API, lambda: api.list_videos(limit=5), results.append, results.append)
    qtbot.waitUntil(lambda: bool(results), timeout=15_000)
    page = results[0]
    assert not isinstance(page, BaseException), page
    assert len(page.items) >= 1  # the demo user's seeded recordings
    assert auth.expires_at is not None and auth.expires_at > first_expiry + 3000  # refreshed
    assert len(test_keyring.refresh_tokens()) == 1


def test_sign_in_prefills_the_last_user_from_the_keyring(
    qtbot: Any, make_shell: Callable[..., Shell], stack_settings: Settings,
    test_keyring: MemoryKeyring,
) -> None:
    scope = f"{stack_settings.user_pool_id}/{stack_settings.client_id}"
    test_keyring.set_password("medispecs-desktop", f"last-user:{scope}", "dr-who")
    _ctx, _window, controller = make_shell(stack_settings)
    controller.start()  # no refresh token for dr-who: the dialog opens
    dialog = _dialog(qtbot, controller)
    qtbot.waitUntil(lambda: dialog.username.text() == "dr-who", timeout=10_000)
    assert dialog.password.text() == ""


# ----------------------------------------------------------------------------- quality pass


def _lightness(icon: QIcon) -> float:
    """Mean lightness (0-255) of an icon's visible pixels."""
    image = icon.pixmap(QSize(20, 20)).toImage()
    values = [QColor(image.pixel(x, y)).lightness()
              for x in range(image.width()) for y in range(image.height())
              if QColor.fromRgba(image.pixel(x, y)).alpha() > 128]
    assert values, "the icon is empty"
    return sum(values) / len(values)


def test_enter_signs_in_and_shows_the_clinicians_name(
    qtbot: Any, make_shell: Callable[..., Shell], stack_settings: Settings,
    local_stack: dict[str, Any], test_keyring: MemoryKeyring,
) -> None:
    """Enter in the password field signs in (the default button used to be lost, so Enter did
    nothing); the status bar shows the name from the ID token, not just the username."""
    ctx, window, controller = make_shell(stack_settings)
    controller.start()
    dialog = _dialog(qtbot, controller)
    assert dialog.submit.isDefault()
    # the default (accent-coloured) button carries a light icon, not the dark one
    assert _lightness(dialog.submit.icon()) > 200
    dialog.username.setText(local_stack["username"])
    dialog.password.setText(local_stack["password"])
    dialog.password.setFocus()
    qtbot.keyClick(dialog.password, Qt.Key.Key_Return)
    assert dialog.busy
    qtbot.waitUntil(lambda: window.current_page() == PAGE_MAIN, timeout=15_000)
    assert ctx.user is not None and ctx.user.email == "demo@example.org"
    assert window.user_label.text() == "Demo clinician (demo)"


def test_a_sign_in_cancelled_while_it_runs_leaves_no_session(
    qtbot: Any, make_shell: Callable[..., Shell], stack_settings: Settings,
    local_stack: dict[str, Any], test_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cancel while Cognito is still answering: the late success must not leave a signed-in
    session (with a remembered refresh token) that the window doesn't show."""
    ctx, window, controller = make_shell(stack_settings)
    controller.start()
    dialog = _dialog(qtbot, controller)
    auth = ctx.auth
    assert auth is not None
    gate, entered = threading.Event(), threading.Event()
    real_call = auth._call

    def slow_call(*args: Any, **kwargs: Any) -> Any:  # the real call, answered late
        entered.set()
        assert gate.wait(15)
        return real_call(*args, **kwargs)

    auth._call = slow_call  # type: ignore[method-assign]
    spy = TaskSpy(ctx.tasks, monkeypatch)
    _submit(qtbot, dialog, local_stack["username"], local_stack["password"])
    qtbot.waitUntil(entered.is_set, timeout=5_000)
    qtbot.mouseClick(dialog.cancel, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    gate.set()
    # the late answer has reached the GUI thread, and whatever it started (a discard of the
    # session) has run to its end too: only then is "no session" a finding
    sign_ins = [t for t in spy.tasks if t.name.startswith("SignInDialog._run.")]
    assert len(sign_ins) == 1
    qtbot.waitUntil(lambda: sign_ins[0].delivered and spy.settled(), timeout=15_000)
    assert not auth.signed_in and auth.user is None
    assert ctx.user is None and window.current_page() == PAGE_SIGNED_OUT
    assert window.user_label.text() == "Not signed in"
    assert test_keyring.refresh_tokens() == []


def test_discard_only_ends_the_session_it_was_given(
    stack_settings: Settings, local_stack: dict[str, Any], test_keyring: MemoryKeyring,
) -> None:
    """The late answer of a cancelled sign-in arriving after a newer sign-in must not sign
    the newer one out."""
    from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore

    auth = CognitoAuth(stack_settings, MemoryTokenStore())
    stale = auth.sign_in(local_stack["username"], local_stack["password"])
    current = auth.sign_in(local_stack["username"], local_stack["password"])
    assert not auth.discard(stale) and auth.user is current and auth.signed_in
    assert auth.discard(current) and not auth.signed_in


def test_window_titles_name_the_app_once(qtbot: Any) -> None:
    """Qt appends the display name to titles not ending with it: "MediSpecs Desktop — Demo"
    became "MediSpecs Desktop — Demo — MediSpecs Desktop" in the title bar."""
    window = MainWindow(None)
    qtbot.addWidget(window)
    for demo in (False, True):
        window.set_demo(demo)
        assert window.windowTitle().endswith(APP_NAME)
        assert window.windowTitle().count(APP_NAME) == 1
    assert "Demo" in window.windowTitle()


def test_primary_buttons_have_light_icons_on_the_accent(qtbot: Any) -> None:
    window = MainWindow(None)
    qtbot.addWidget(window)
    assert _lightness(window.welcome_import_button.icon()) > 200  # was dark on teal
    assert _lightness(window.signed_out_sign_in_button.icon()) > 200
    assert _lightness(window.welcome_demo_button.icon()) < 200  # white button: regular icon


def test_first_start_centres_the_window_and_gives_the_library_its_share(
    qtbot: Any, make_shell: Callable[..., Shell],
) -> None:
    """No remembered layout: the window is centred on the screen, and the library list gets
    more than half the width when it is first shown (it used to keep its small size hint and
    truncate every column)."""
    _ctx, window, _controller = make_shell(Settings())
    available = window.screen().availableGeometry()
    frame = window.geometry()
    for start, size, room in ((frame.x() - available.x(), frame.width(), available.width()),
                              (frame.y() - available.y(), frame.height(), available.height())):
        # centred; a window larger than the screen starts at its top-left corner
        assert abs(start - max(0, (room - size) // 2)) <= 2, (start, size, room)
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: window.width() == 1280)
    window.show_main()
    library, player = window.splitter.sizes()
    assert library >= 0.5 * (library + player), (library, player)
    assert player >= window.player_view.minimumWidth()


def test_shortcuts_list_every_key_of_an_action(qtbot: Any) -> None:
    parent = MainWindow(None)
    qtbot.addWidget(parent)
    play = QAction("Play / pause", parent)
    play.setShortcuts([QKeySequence("Space"), QKeySequence("K")])
    dialog = ShortcutsDialog([*parent.all_actions(), play], parent)
    qtbot.addWidget(dialog)
    rows = _table_rows(dialog.table)
    assert rows["Play / pause"] == "Space, K"
    widest = dialog.fontMetrics().horizontalAdvance(rows["Add folder"])
    assert dialog.table.columnWidth(1) >= widest + 16  # "Ctrl+Shift+O" not clipped


def test_the_bold_default_button_is_wide_enough_for_its_texts(
    qtbot: Any, make_shell: Callable[..., Shell], stack_settings: Settings,
    test_keyring: MemoryKeyring,
) -> None:
    """Default buttons are bold (style sheet) but Qt sized the button for regular text: the
    dialog showed "Sign ir"."""
    from PySide6.QtGui import QFont, QFontMetrics

    _ctx, _window, controller = make_shell(stack_settings)
    controller.start()
    dialog = _dialog(qtbot, controller)
    font = QFont(dialog.submit.font())
    font.setBold(True)
    metrics = QFontMetrics(font)
    for text in ("Sign in", "Signing in…", "Set password"):
        needed = metrics.horizontalAdvance(text) + dialog.submit.iconSize().width() + 28
        assert dialog.submit.width() >= needed, (text, dialog.submit.width(), needed)


def test_a_long_sign_in_error_is_shown_whole(
    qtbot: Any, make_shell: Callable[..., Shell], stack_settings: Settings,
    test_keyring: MemoryKeyring,
) -> None:
    """The dialog grows for a long, word-wrapped message (it was cut off after two lines)."""
    _ctx, _window, controller = make_shell(stack_settings)
    controller.start()
    dialog = _dialog(qtbot, controller)
    long_text = ("The app client 1234567890abcdefghijklmnop belongs to the user pool "
                 "eu-west-2_Zyxwvutsr, not eu-west-2_Abcdefghi: correct the user pool id in "
                 "Settings. " * 4 + "https://cognito-idp.eu-west-2.amazonaws.com/"
                 "eu-west-2_Abcdefghi/.well-known/jwks.json")
    dialog._show_error(long_text, settings=True)
    # the dialog's layout settles on the event loop: wait for the label's full height (a
    # condition, not a fixed 20 ms); the rest of the layout is checked after it
    qtbot.waitUntil(
        lambda: dialog.error.height() >= dialog.error.heightForWidth(dialog.error.width()),
        timeout=5_000)
    assert dialog.error.geometry().bottom() < dialog.open_settings.geometry().top()
    assert dialog.open_settings.geometry().bottom() < dialog.buttons.geometry().top()
    assert dialog.buttons.geometry().bottom() <= dialog.height()
    assert dialog.error_text == long_text


def test_settings_rows_are_not_squeezed_by_the_wrapped_hint(qtbot: Any) -> None:
    """The connection fields touched each other: the dialog was sized without the wrapped
    hint's height, so the form rows were compressed below their size."""
    from medispecs_desktop.ui.icons import stylesheet

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    previous = app.styleSheet()
    app.setStyleSheet(stylesheet())  # the app's look: its padding is what squeezed the rows
    try:
        _check_settings_rows(qtbot)
    finally:
        app.setStyleSheet(previous)


def _check_settings_rows(qtbot: Any) -> None:
    dialog = SettingsDialog(Settings(), Paths.default().ensure())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    edits = [dialog.fields[name] for name in
             ("api_url", "region", "user_pool_id", "client_id", "cognito_endpoint")]
    for edit in edits:
        assert edit.height() >= edit.sizeHint().height(), edit.objectName()
    for upper, lower in itertools.pairwise(edits):
        assert lower.geometry().top() - upper.geometry().bottom() >= 6
    dialog.fields["api_url"].setText("not a url")  # the error line appears: still room
    assert dialog.buttons.geometry().bottom() <= dialog.height()
    assert dialog.error.height() >= dialog.error.heightForWidth(dialog.error.width())


_SHORT_SCREEN_CHECK = """
import json, sys
from PySide6.QtWidgets import QApplication
from medispecs_desktop.core.config import Paths, Settings
from medispecs_desktop.ui.app import make_application
from medispecs_desktop.ui.settings_dialog import SettingsDialog
app = make_application()
dialog = SettingsDialog(Settings(), Paths.default().ensure())
dialog.show()
for _ in range(20):
    app.processEvents()
screen = dialog.screen().availableGeometry()
save = dialog.save_button
tl = save.mapToGlobal(save.rect().topLeft())
br = save.mapToGlobal(save.rect().bottomRight())
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
dialog.activateWindow()
dialog.fields["api_url"].setFocus()
for _ in range(40):  # Tab, as a person would, to the last section
    app.processEvents()
    focused = app.focusWidget()
    if focused is dialog.allow_plaintext:
        break
    QTest.keyClick(focused or dialog, Qt.Key.Key_Tab)
for _ in range(20):
    app.processEvents()
seen = dialog.allow_plaintext.visibleRegion().boundingRect().height()
print(json.dumps({
    "screen": [screen.x(), screen.y(), screen.width(), screen.height()],
    "content": dialog.sections.widget().sizeHint().height(),
    "frame": [dialog.frameGeometry().y(), dialog.frameGeometry().height()],
    "save_on_screen": screen.contains(tl) and screen.contains(br) and save.isVisible(),
    "last_row_seen": seen == dialog.allow_plaintext.height(),
    "focused_last": app.focusWidget() is dialog.allow_plaintext,
}))
"""


def test_settings_fit_a_short_screen_with_save_in_view(tmp_path: Path) -> None:
    """On a 1280x720 laptop the dialog was taller than the screen and Save/Cancel were off it;
    now the sections scroll and the buttons stay on the screen. A screen of 1280x560 (the
    offscreen platform's size is set when the application starts: a process of its own)."""
    config = tmp_path / "screen.json"
    config.write_text(json.dumps({"screens": [{
        "name": "short", "x": 0, "y": 0, "width": 1280, "height": 560,
        "logicalDpiX": 96, "logicalDpiY": 96, "dpr": 1}]}), encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    out = subprocess.run([sys.executable, "-c", _SHORT_SCREEN_CHECK], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["screen"][3] == 560, got  # the short screen was used
    assert got["content"] > 560, got  # the sections really are taller than it
    top, height = got["frame"]
    assert top >= 0 and top + height <= 560, got
    assert got["save_on_screen"], got
    # Tab to the last section scrolls it into view
    assert got["focused_last"] and got["last_row_seen"], got


def test_at_its_minimum_size_the_window_is_still_usable(
    qtbot: Any, make_shell: Callable[..., Shell],
) -> None:
    """The window could be shrunk to 720 x 480, where the player's buttons read "…"."""
    from PySide6.QtWidgets import QAbstractButton

    from medispecs_desktop.ui.icons import stylesheet

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    previous = app.styleSheet()
    app.setStyleSheet(stylesheet())
    try:
        _ctx, window, _controller = make_shell(Settings())
        window.resize(window.minimumSize())
        window.show_main()
        qtbot.waitUntil(lambda: window.size() == window.minimumSize(), timeout=2_000)
        QApplication.processEvents()
        player = window.player_view
        buttons = [b for b in player.findChildren(QAbstractButton) if b.isVisibleTo(player)]
        assert buttons
        for button in buttons:
            assert button.width() >= button.minimumSizeHint().width(), button.toolTip()
        library, _player = window.splitter.sizes()
        assert library >= window.library_view.minimumWidth()
    finally:
        app.setStyleSheet(previous)


def test_a_demo_stack_that_dies_later_is_not_called_a_failed_start(
    qtbot: Any, make_shell: Callable[..., Shell],
) -> None:
    """The panel said "The demo stack could not start" over "…stopped unexpectedly"; no
    "stack" jargon in the titles a clinician reads."""
    from medispecs_desktop.ui.main_window import PAGE_STACK_FAILED

    _ctx, window, controller = make_shell(Settings(demo=True))
    controller._stack_failed("The demo stack stopped before it was ready (exit code 3).")
    assert window.stack_failed_panel.title.text() == "The demo could not start"
    controller._stack_finished(9)  # what the child's finished signal calls
    assert window.current_page() == PAGE_STACK_FAILED
    assert window.stack_failed_panel.title.text() == "The demo stopped"
    text = window.stack_failed_panel.text.text()
    assert "Try again" in text and "exit code 9" in text
    assert window.user_label.text() == "Not signed in" and window.online_label.text() == "Offline"
