"""The sign-in dialog's steps with real widgets against the local stack: an authenticator code
(pyotp), authenticator enrolment with its QR code, "Forgot password?" (the stack's mailbox
code), and "Sign in with your organisation" (the browser driven with requests through the
loopback redirect); the Settings dialog under an organisation's policy, and "Import settings…"
on the first-run card."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore, UserInfo
from medispecs_desktop.core.config import Paths, Settings, load_settings
from medispecs_desktop.core.policy import load_policy
from medispecs_desktop.ui.settings_dialog import POLICY_NOTE, SettingsDialog
from medispecs_desktop.ui.signin import (
    PAGE_CODE,
    PAGE_CREDENTIALS,
    PAGE_FORGOT,
    PAGE_SETUP,
    SignInDialog,
)
from medispecs_desktop.ui.tasks import TaskRunner
from tests.support.browser import login_page_browser
from tests.support.cognito import (
    PASSWORD,
    SignInPool,
    mailbox_code,
    make_pool,
    totp_code,
    wrong_code,
)
from tests.support.stack import stack_settings


@pytest.fixture
def tasks() -> Iterator[TaskRunner]:
    runner = TaskRunner({"api": 2})
    yield runner
    runner.shutdown(timeout=5)


@pytest.fixture
def make_dialog(qtbot: Any, tasks: TaskRunner) -> Callable[..., tuple[SignInDialog, list[Any]]]:
    def factory(settings: Settings) -> tuple[SignInDialog, list[Any]]:
        auth = CognitoAuth(settings, MemoryTokenStore())
        dialog = SignInDialog(auth, tasks)
        qtbot.addWidget(dialog)
        signed: list[Any] = []
        dialog.signed_in.connect(signed.append)
        dialog.show()
        return dialog, signed

    return factory


@pytest.fixture(scope="module")
def required_pool(local_stack: dict[str, Any]) -> Iterator[SignInPool]:
    pool = make_pool(local_stack["awsEndpoint"], mfa="ON")
    yield pool
    pool.delete()


def _click(qtbot: Any, dialog: SignInDialog) -> None:
    qtbot.mouseClick(dialog.submit, Qt.MouseButton.LeftButton)


def _idle(dialog: SignInDialog) -> Callable[[], bool]:
    return lambda: not dialog.busy


def test_authenticator_code_step(qtbot: Any, local_stack: dict[str, Any],
                                 make_dialog: Callable[..., Any]) -> None:
    account = local_stack["mfaUser"]
    dialog, signed = make_dialog(stack_settings(local_stack))
    dialog.username.setText(account["username"])
    dialog.password.setText(account["password"])
    _click(qtbot, dialog)
    qtbot.waitUntil(lambda: dialog.page == PAGE_CODE, timeout=15_000)
    assert dialog.title.text() == "Enter your code"
    assert "authenticator app" in dialog.code_page.hint.text()
    assert dialog.submit.text() == "Verify" and dialog.password.text() == account["password"]
    dialog.code_page.code.setText(wrong_code(account["totpSecret"]))
    _click(qtbot, dialog)
    qtbot.waitUntil(lambda: "code is not right" in dialog.error_text, timeout=15_000)
    assert not signed and dialog.page == PAGE_CODE
    # Cognito ends the challenge session after a wrong code on AWS; moto keeps it. Either
    # way a right code (or a fresh sign-in) must work: start again from the password.
    dialog.code_page.code.setText(totp_code(account["totpSecret"]))
    assert dialog.code_page.remember.isVisible() and not dialog.code_page.remember.isChecked()
    dialog.code_page.remember.setChecked(True)  # the demo pool remembers devices
    _click(qtbot, dialog)
    qtbot.waitUntil(lambda: bool(signed) or bool(dialog.error_text), timeout=15_000)
    assert signed and isinstance(signed[0], UserInfo)
    assert dialog._auth.device_remembered
    assert signed[0].username == account["username"]
    assert dialog.code_page.code.text() == "" and dialog.password.text() == ""


def test_authenticator_enrolment_shows_a_qr_code(qtbot: Any, required_pool: SignInPool,
                                                 make_dialog: Callable[..., Any]) -> None:
    user = required_pool.add_user()
    dialog, signed = make_dialog(required_pool.settings())
    dialog.username.setText(user)
    dialog.password.setText(PASSWORD)
    _click(qtbot, dialog)
    qtbot.waitUntil(lambda: dialog.page == PAGE_SETUP, timeout=15_000)
    pixmap = dialog.setup_page.qr.pixmap()
    assert not pixmap.isNull() and pixmap.width() >= 100
    secret = dialog._setup.secret if dialog._setup else ""
    assert secret and secret[:4] in dialog.setup_page.secret.text()
    dialog.setup_page.code.setText(totp_code(secret))
    _click(qtbot, dialog)
    qtbot.waitUntil(lambda: bool(signed) or bool(dialog.error_text), timeout=15_000)
    assert signed and signed[0].username == user
    assert dialog._setup is None  # the secret is not kept once enrolled


def test_forgot_password_in_the_dialog(qtbot: Any, required_pool: SignInPool,
                                       local_stack: dict[str, Any],
                                       make_dialog: Callable[..., Any]) -> None:
    pool = make_pool(local_stack["awsEndpoint"])
    try:
        user = pool.add_user()
        dialog, _signed = make_dialog(pool.settings())
        dialog.username.setText(user)
        qtbot.mouseClick(dialog.forgot_link, Qt.MouseButton.LeftButton)
        assert dialog.page == PAGE_FORGOT and dialog.submit.text() == "Send code"
        assert dialog.forgot_page.username.text() == user
        assert not dialog.forgot_page.code.isVisible()
        _click(qtbot, dialog)
        qtbot.waitUntil(lambda: dialog.forgot_page.code_sent, timeout=15_000)
        assert "A code was sent by e-mail" in dialog.forgot_page.hint.text()
        assert dialog.forgot_page.code.isVisible() and dialog.submit.text() == "Set password"
        code = mailbox_code(pool.endpoint, pool.client_id, user)
        dialog.forgot_page.code.setText(code)
        dialog.forgot_page.new_password.setText("Dialog-Reset-77!")
        dialog.forgot_page.repeat.setText("Dialog-Reset-78!")
        _click(qtbot, dialog)
        assert "not the same" in dialog.error_text
        dialog.forgot_page.repeat.setText("Dialog-Reset-77!")
        _click(qtbot, dialog)
        qtbot.waitUntil(lambda: dialog.page == PAGE_CREDENTIALS, timeout=15_000)
        assert "password was changed" in dialog.info.text()
        assert dialog.username.text() == user and dialog.forgot_page.code.text() == ""
        assert CognitoAuth(pool.settings(), MemoryTokenStore()).sign_in(
            user, "Dialog-Reset-77!").username == user
    finally:
        pool.delete()


def test_sign_in_with_the_organisation_in_the_browser(
        qtbot: Any, local_stack: dict[str, Any], make_dialog: Callable[..., Any]) -> None:
    plain, _ = make_dialog(stack_settings(local_stack))
    assert plain.org_button.isHidden()  # no sign-in domain: the password form only
    dialog, signed = make_dialog(stack_settings(local_stack,
                                                auth_domain=local_stack["authDomain"]))
    assert dialog.org_button.isVisible()
    account = local_stack["users"][1]
    opened: list[str] = []
    dialog.open_browser = login_page_browser(account, opened)
    qtbot.mouseClick(dialog.org_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(signed) or bool(dialog.error_text), timeout=20_000)
    assert signed and signed[0].username == account["username"]
    assert opened and "code_challenge_method=S256" in opened[0]


def _policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, values: dict[str, Any]) -> None:
    system = tmp_path / "etc-xdg"
    (system / "medispecs-desktop").mkdir(parents=True)
    (system / "medispecs-desktop" / "policy.json").write_text(json.dumps(values))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(system))


def test_settings_fixed_by_the_organisation_are_read_only(
        qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _policy(tmp_path, monkeypatch, {"api_url": "https://api.hospital.example",
                                    "idleTimeoutMinutes": 5})
    paths = Paths.default().ensure()
    settings = load_settings(paths)
    assert settings.api_url == "https://api.hospital.example"
    dialog = SettingsDialog(settings, paths)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.locked("api_url") and dialog.locked("idle_timeout_minutes")
    assert not dialog.fields["api_url"].isEnabled() and not dialog.idle_timeout.isEnabled()
    assert dialog.policy_notes["api_url"].text() == POLICY_NOTE
    assert dialog.idle_timeout.value() == 5
    assert dialog.fields["region"].isEnabled() and not dialog.locked("region")
    dialog.fields["region"].setText("eu-west-2")
    saved: list[Settings] = []
    dialog.saved.connect(saved.append)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert saved and saved[0].region == "eu-west-2" and saved[0].idle_timeout_minutes == 5
    stored = json.loads(paths.settings_file.read_text())
    assert stored["region"] == "eu-west-2"
    assert stored["api_url"] != "https://api.hospital.example"  # the policy stays the policy
    assert load_settings(paths).api_url == "https://api.hospital.example"
    assert load_policy().fixes("idle_timeout_minutes")


def test_first_run_imports_the_settings_file_and_signs_in(
        qtbot: Any, local_stack: dict[str, Any], tmp_path: Path) -> None:
    """A first run: the welcome card's Import settings… takes IT's file and the sign-in
    follows - no id typed anywhere."""
    from medispecs_desktop.ui.app import AppContext, AppController, install_views
    from medispecs_desktop.ui.main_window import PAGE_WELCOME, MainWindow

    handed_out = tmp_path / "MediSpecs-settings.json"
    handed_out.write_text(json.dumps({k: v for k, v in local_stack["desktopSettings"].items()
                                      if k != "demo"}))
    paths = Paths.default().ensure()
    ctx = AppContext(load_settings(paths), paths)
    window = MainWindow(ctx.qsettings)
    qtbot.addWidget(window)
    install_views(window, ctx)
    controller = AppController(ctx, window)
    try:
        controller.show_window()
        controller.start()
        assert window.current_page() == PAGE_WELCOME
        assert window.welcome_import_button.isVisible()
        qtbot.mouseClick(window.welcome_import_button, Qt.MouseButton.LeftButton)
        dialog = controller.import_dialog
        assert dialog is not None and dialog.isVisible()
        dialog.source.setText(str(handed_out))
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: controller.sign_in_dialog is not None
                        and controller.sign_in_dialog.isVisible(), timeout=15_000)
        assert ctx.settings.api_url == local_stack["apiUrl"]
        assert ctx.settings.auth_domain == local_stack["authDomain"]
        signin = controller.sign_in_dialog
        assert signin is not None and signin.org_button.isVisible()
        account = local_stack["users"][1]
        signin.username.setText(account["username"])
        signin.password.setText(account["password"])
        qtbot.mouseClick(signin.submit, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: ctx.user is not None, timeout=15_000)
        assert ctx.user is not None and ctx.user.username == account["username"]
    finally:
        controller.shutdown()


def test_signed_in_user_sets_up_an_authenticator_from_the_file_menu(
        qtbot: Any, local_stack: dict[str, Any]) -> None:
    from medispecs_desktop.core.auth import MfaRequired
    from medispecs_desktop.ui.app import AppContext, AppController, install_views
    from medispecs_desktop.ui.main_window import MainWindow
    from medispecs_desktop.ui.totp_enrol import AuthenticatorDialog

    pool = make_pool(local_stack["awsEndpoint"], mfa="OPTIONAL")
    user = pool.add_user()
    paths = Paths.default().ensure()
    ctx = AppContext(pool.settings(api_url=local_stack["apiUrl"]), paths)
    window = MainWindow(ctx.qsettings)
    qtbot.addWidget(window)
    install_views(window, ctx)
    controller = AppController(ctx, window)
    try:
        controller.show_window()
        assert not window.action_authenticator.isVisible()
        assert ctx.auth is not None
        controller._signed_in(ctx.auth.sign_in(user, PASSWORD))
        assert window.action_authenticator.isVisible()
        window.action_authenticator.trigger()
        dialog = controller.authenticator_dialog
        assert isinstance(dialog, AuthenticatorDialog)
        qtbot.waitUntil(lambda: dialog.verify.isEnabled(), timeout=15_000)
        assert not dialog.page.qr.pixmap().isNull()
        secret = dialog._setup.secret if dialog._setup else ""
        dialog.page.code.setText(wrong_code(secret))
        qtbot.mouseClick(dialog.verify, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: "code is not right" in dialog.message.text(), timeout=15_000)
        dialog.page.code.setText(totp_code(secret))
        qtbot.mouseClick(dialog.verify, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.enabled, timeout=15_000)
        with pytest.raises(MfaRequired):
            CognitoAuth(pool.settings(), MemoryTokenStore()).sign_in(user, PASSWORD)
    finally:
        controller.shutdown()
        pool.delete()
