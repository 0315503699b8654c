"""The sign-in dialog: "Sign in with your organisation" (the system browser, PKCE) when the
deployment has a sign-in domain, the password form (proved with SRP), and every step a sign-in
may ask for: a new password, an authenticator or SMS code, authenticator enrolment (QR code),
and "Forgot password?" (code by e-mail, new password). The step pages live in
``ui.signin_pages``.

Every call to Cognito runs on the ``api`` executor through ``ui.tasks``; the dialog only shows
a busy state while it waits, so the GUI thread never waits on the network.
"""

from __future__ import annotations

import logging
import threading
import webbrowser
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from medispecs_desktop.core.auth import (
    CodeDelivery,
    CognitoAuth,
    MfaRequired,
    MfaSetupRequired,
    NewPasswordRequired,
    SignInCancelled,
    TotpSetup,
    UserInfo,
)
from medispecs_desktop.core.errors import (
    AuthError,
    ConfigurationError,
    MediSpecsError,
    OfflineError,
)
from medispecs_desktop.ui.icons import fit_bold_button, fit_height, icon, icon_on_accent
from medispecs_desktop.ui.signin_pages import CodePage, ForgotPage, SetupPage
from medispecs_desktop.ui.tasks import API, TaskRunner

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 8

PAGE_CREDENTIALS, PAGE_NEW_PASSWORD, PAGE_CODE, PAGE_SETUP, PAGE_FORGOT = range(5)
TITLES = {PAGE_CREDENTIALS: "Sign in", PAGE_NEW_PASSWORD: "Choose a new password",
          PAGE_CODE: "Enter your code", PAGE_SETUP: "Set up your authenticator app",
          PAGE_FORGOT: "Reset your password"}


def describe_error(exc: BaseException) -> tuple[str, bool]:
    """A user-facing sentence for a sign-in failure, and whether Settings may fix it."""
    if isinstance(exc, OfflineError):
        # core.auth's message already says what and where (and what to check): once is enough
        return f"{exc}\nThen try again.", False
    if isinstance(exc, ConfigurationError):
        return f"MediSpecs isn't set up correctly for signing in. {exc}", True
    if isinstance(exc, AuthError | MediSpecsError):
        return str(exc), False
    log.error("unexpected sign-in failure", exc_info=(type(exc), exc, exc.__traceback__))
    return f"Sign-in failed unexpectedly ({type(exc).__name__}). See the log for details.", False


class SignInDialog(QDialog):
    """Non-blocking (use ``open()``); emits :attr:`signed_in` with the UserInfo on success."""

    signed_in = Signal(object)  # UserInfo
    settings_requested = Signal()

    def __init__(
        self,
        auth: CognitoAuth,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        username: str = "",
        password: str = "",
        demo: bool = False,
    ) -> None:
        super().__init__(parent)
        self._auth = auth
        self._tasks = tasks
        self._challenge: NewPasswordRequired | None = None
        self._mfa: MfaRequired | None = None
        self._setup: TotpSetup | None = None
        self.open_browser: Callable[[str], object] = webbrowser.open
        self._request = 0  # answers to an abandoned request are ignored
        self._cancel = threading.Event()  # set when the running request is abandoned
        self.busy = False
        self.setWindowTitle("Sign in to MediSpecs")
        self.setObjectName("signInDialog")
        self.setModal(True)
        self.setMinimumWidth(440)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        head = QHBoxLayout()
        pic = QLabel()
        pic.setPixmap(icon("app").pixmap(QSize(40, 40)))
        self.title = QLabel("Sign in")
        self.title.setObjectName("dialogTitle")
        head.addWidget(pic)
        head.addWidget(self.title, 1)
        layout.addLayout(head)

        self.info = QLabel()
        self.info.setObjectName("infoMessage")
        self.info.setWordWrap(True)
        self.info.setVisible(demo)
        if demo:
            self.info.setText(
                "Demo: the demo account is filled in for you. Recordings are kept in memory "
                "and not stored.")
        layout.addWidget(self.info)

        self.org_button = QPushButton("Sign in with your organisation")
        self.org_button.setObjectName("organisationSignIn")
        self.org_button.setIcon(icon("sign-in"))
        self.org_button.setToolTip(
            "Opens your organisation's sign-in page in your web browser (single sign-on). "
            "MediSpecs never sees your password there.")
        self.org_button.clicked.connect(self._browser_sign_in)
        self.org_button.setVisible(auth.browser_sign_in_available)
        layout.addWidget(self.org_button)

        self.pages = QStackedWidget()
        layout.addWidget(self.pages)

        # page 1: credentials
        creds = QWidget()
        form = QFormLayout(creds)
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(8)
        self.username = QLineEdit(username)
        self.username.setObjectName("username")
        self.username.setPlaceholderText("your MediSpecs username or e-mail")
        self.password = QLineEdit(password)
        self.password.setObjectName("password")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.show_password = QCheckBox("Show password")
        self.show_password.toggled.connect(self._toggle_echo)
        form.addRow("&Username", self.username)
        form.addRow("&Password", self.password)
        form.addRow("", self.show_password)
        self.forgot_link = QPushButton("Forgot password?")
        self.forgot_link.setObjectName("forgotPassword")
        self.forgot_link.setFlat(True)
        self.forgot_link.setCursor(Qt.CursorShape.PointingHandCursor)
        self.forgot_link.clicked.connect(self._show_forgot)
        form.addRow("", self.forgot_link)
        self.pages.addWidget(creds)

        # page 2: new password
        fresh = QWidget()
        form2 = QFormLayout(fresh)
        form2.setContentsMargins(0, 0, 0, 0)
        self.new_password_hint = QLabel()
        self.new_password_hint.setObjectName("hint")
        self.new_password_hint.setWordWrap(True)
        self.new_password = QLineEdit()
        self.new_password.setObjectName("newPassword")
        self.new_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm_password = QLineEdit()
        self.confirm_password.setObjectName("confirmPassword")
        self.confirm_password.setEchoMode(QLineEdit.EchoMode.Password)
        form2.addRow(self.new_password_hint)
        form2.addRow("&New password", self.new_password)
        form2.addRow("&Repeat it", self.confirm_password)
        self.pages.addWidget(fresh)
        self.code_page = CodePage()
        self.pages.addWidget(self.code_page)
        self.setup_page = SetupPage()
        self.pages.addWidget(self.setup_page)
        self.forgot_page = ForgotPage()
        self.pages.addWidget(self.forgot_page)

        self.error = QLabel()
        self.error.setObjectName("errorMessage")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        layout.addWidget(self.error)
        self.open_settings = QPushButton("Open Settings…")
        self.open_settings.setIcon(icon("settings"))
        self.open_settings.hide()
        self.open_settings.clicked.connect(self._settings_clicked)
        layout.addWidget(self.open_settings, 0, Qt.AlignmentFlag.AlignLeft)

        # the busy bar sits in the button row, left of the buttons, and keeps its place when
        # hidden: below them it read as a stray line at the bottom and made the dialog jump
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(6)
        self.progress.setFixedWidth(72)
        self.progress.setAccessibleName("Signing in")
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.progress.setSizePolicy(policy)
        self.progress.hide()

        self.buttons = QDialogButtonBox()
        self.submit = self.buttons.addButton("Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.submit.setObjectName("submit")
        self.submit.setIcon(icon_on_accent("sign-in"))  # the default button is accent-coloured
        self.cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        button_row = QHBoxLayout()
        button_row.addWidget(self.progress, 0, Qt.AlignmentFlag.AlignVCenter)
        button_row.addWidget(self.buttons, 1)
        layout.addLayout(button_row)
        # Enter signs in: the default button must be set once the button box is inside the
        # dialog (set before, QDialog doesn't know it and Enter does nothing)
        self.submit.setDefault(True)
        self._fit_submit()

        if self.username.text():
            self.password.setFocus()
        else:
            self.username.setFocus()
            # the last user's name comes from the keyring (D-Bus/Keychain: may be slow or ask
            # to unlock): fetch it on a worker and fill it in if the field is still empty
            tasks.run(API, auth.last_username, self._prefill_username, lambda _exc: None)

    SUBMIT_TEXTS = ("Sign in", "Signing in…", "Set password", "Verify", "Send code",
                    "Waiting for the browser…")

    def _fit_submit(self) -> None:
        fit_bold_button(self.submit, self.SUBMIT_TEXTS)

    def _prefill_username(self, name: Any) -> None:
        if not isValid(self):  # the dialog was closed and deleted meanwhile
            return
        if name and not self.username.text() and not self.busy:
            self.username.setText(str(name))
            self.password.setFocus()

    # -- state ------------------------------------------------------------------------
    @property
    def on_new_password_step(self) -> bool:
        return self.pages.currentIndex() == PAGE_NEW_PASSWORD

    @property
    def page(self) -> int:
        return self.pages.currentIndex()

    def _go(self, page: int, focus: QWidget | None = None) -> None:
        self.pages.setCurrentIndex(page)
        self.title.setText(TITLES[page])
        self.org_button.setVisible(page == PAGE_CREDENTIALS
                                   and self._auth.browser_sign_in_available)
        self._set_busy(False)
        if focus is not None:
            focus.setFocus()
        self._fit_height()

    def _submit_text(self) -> str:
        if self.page == PAGE_NEW_PASSWORD:
            return "Set password"
        if self.page in (PAGE_CODE, PAGE_SETUP):
            return "Verify"
        if self.page == PAGE_FORGOT:
            return "Set password" if self.forgot_page.code_sent else "Send code"
        return "Sign in"

    @property
    def error_text(self) -> str:
        return self.error.text().replace("\u200b", "") if not self.error.isHidden() else ""

    def _toggle_echo(self, show: bool) -> None:
        self.password.setEchoMode(
            QLineEdit.EchoMode.Normal if show else QLineEdit.EchoMode.Password)

    def _show_error(self, text: str, *, settings: bool = False) -> None:
        # let long addresses wrap (QLabel breaks lines only at spaces)
        self.error.setText(text.replace("/", "/\u200b"))
        self.error.show()
        self.open_settings.setVisible(settings)
        self._fit_height()

    def _fit_height(self) -> None:
        """The dialog grows for a long, wrapped message (it was cut off after two lines)."""
        fit_height(self)

    def _clear_error(self) -> None:
        self.error.clear()
        self.error.hide()
        self.open_settings.hide()

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        for widget in (self.username, self.password, self.new_password, self.confirm_password,
                       self.show_password, self.submit, self.org_button, self.forgot_link,
                       self.code_page.code, self.setup_page.code, self.forgot_page):
            widget.setEnabled(not busy)
        if not busy:  # the forgot page enables its code rows itself
            self.forgot_page.set_code_sent(self.forgot_page.code_sent)
        self.progress.setVisible(busy)
        self.submit.setText("Signing in…" if busy else self._submit_text())

    # -- actions ----------------------------------------------------------------------
    def _submit(self) -> None:
        if self.busy:
            return
        self._clear_error()
        if self.on_new_password_step:
            self._submit_new_password()
            return
        if self.page in (PAGE_CODE, PAGE_SETUP):
            self._submit_code()
            return
        if self.page == PAGE_FORGOT:
            self._submit_forgot()
            return
        username = self.username.text().strip()
        password = self.password.text()
        if not username or not password:
            self._show_error("Enter your username and password.")
            (self.username if not username else self.password).setFocus()
            return
        auth = self._auth
        self._run(lambda cancel: auth.sign_in(username, password, cancel=cancel))

    def _submit_new_password(self) -> None:
        new, again = self.new_password.text(), self.confirm_password.text()
        if len(new) < MIN_PASSWORD_LENGTH:
            self._show_error(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
            self.new_password.setFocus()
            return
        if new != again:
            self._show_error("The two passwords are not the same.")
            self.confirm_password.setFocus()
            return
        challenge = self._challenge
        assert challenge is not None
        auth = self._auth
        self._run(lambda cancel: auth.complete_new_password(challenge, new, cancel=cancel))

    def _submit_code(self) -> None:
        auth = self._auth
        if self.page == PAGE_CODE:
            code, challenge = self.code_page.code.text(), self._mfa
            remember = self.code_page.remember.isChecked()
            assert challenge is not None
            self._run(lambda cancel: auth.answer_mfa(challenge, code, cancel=cancel,
                                                     remember_device=remember))
        else:
            code, setup = self.setup_page.code.text(), self._setup
            assert setup is not None
            self._run(lambda cancel: auth.finish_mfa_setup(setup, code, cancel=cancel))

    def _browser_sign_in(self) -> None:
        if self.busy:
            return
        self._clear_error()
        auth, opener = self._auth, self.open_browser
        self._run(lambda cancel: auth.sign_in_with_browser(opener, cancel=cancel))
        self.submit.setText("Waiting for the browser…")
        self.info.setText("Finish signing in in your web browser; this window continues by "
                          "itself. Cancel stops waiting.")
        self.info.show()

    # -- forgot password ----------------------------------------------------------------
    def _show_forgot(self) -> None:
        self._clear_error()
        self.forgot_page.username.setText(self.username.text().strip())
        self.forgot_page.clear_secrets()
        self.forgot_page.set_code_sent(
            False, "Enter your username: we send a code to your e-mail address.")
        self._go(PAGE_FORGOT, self.forgot_page.username)

    def _submit_forgot(self) -> None:
        page, auth = self.forgot_page, self._auth
        username = page.username.text().strip()
        if not page.code_sent:
            if not username:
                self._show_error("Enter your username.")
                return
            self._step(lambda: auth.forgot_password(username), self._code_sent)
            return
        new, again, code = page.new_password.text(), page.repeat.text(), page.code.text()
        if len(new) < MIN_PASSWORD_LENGTH:
            self._show_error(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")
            return
        if new != again:
            self._show_error("The two passwords are not the same.")
            return
        self._step(lambda: auth.confirm_forgot_password(username, code, new),
                   lambda _none: self._password_reset(username))

    def _code_sent(self, delivery: Any) -> None:
        text = delivery.describe() if isinstance(delivery, CodeDelivery) else "A code was sent."
        self.forgot_page.set_code_sent(True, f"{text} Enter it and choose a new password.")
        self._go(PAGE_FORGOT, self.forgot_page.code)

    def _password_reset(self, username: str) -> None:
        self.forgot_page.clear_secrets()
        self.username.setText(username)
        self.password.clear()
        self.info.setText("Your password was changed: sign in with the new one.")
        self.info.show()
        self._go(PAGE_CREDENTIALS, self.password)

    def _step(self, fn: Callable[[], object], done: Callable[[Any], None]) -> None:
        """A request that does not sign in (e.g. send a code): busy, then ``done``."""
        self._request += 1
        request = self._request
        self._set_busy(True)

        def finished(result: Any) -> None:
            if isValid(self) and request == self._request:
                self._set_busy(False)
                done(result)

        def failed(exc: BaseException) -> None:
            if isValid(self) and request == self._request:
                self._failed(exc)

        self._tasks.run(API, fn, finished, failed)

    def _run(self, fn: Callable[[threading.Event], UserInfo]) -> None:
        self._request += 1
        request = self._request
        cancel = self._cancel = threading.Event()
        self._set_busy(True)
        auth, tasks = self._auth, self._tasks

        def done(user: Any) -> None:
            if isValid(self) and request == self._request:
                self._done(user)
            elif isinstance(user, UserInfo) and not tasks.closed:
                # cancelled after Cognito answered: nobody sees this session, so end it
                # (only if it is still the current one: a newer sign-in stays)
                tasks.run(API, lambda: auth.discard(user), None, lambda _exc: None)

        def failed(exc: BaseException) -> None:
            if isValid(self) and request == self._request:
                self._failed(exc)

        tasks.run(API, lambda: fn(cancel), done, failed)

    def _abandon(self) -> None:
        """Forget the running request: its answer is ignored and its session discarded."""
        self._request += 1
        self._cancel.set()

    def _clear_secrets(self) -> None:
        for edit in (self.password, self.new_password, self.confirm_password,
                     self.code_page.code, self.setup_page.code):
            edit.clear()
        self.forgot_page.clear_secrets()
        self._setup = None

    def _done(self, user: Any) -> None:
        self._set_busy(False)
        self._clear_secrets()
        self.signed_in.emit(user)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, SignInCancelled):
            return
        if isinstance(exc, NewPasswordRequired):
            self._challenge = exc
            self.new_password_hint.setText(
                f"The account {exc.username} has a temporary password. Choose your own "
                f"password (at least {MIN_PASSWORD_LENGTH} characters, with upper- and "
                "lower-case letters, a digit and a symbol).")
            self._go(PAGE_NEW_PASSWORD, self.new_password)
            return
        if isinstance(exc, MfaRequired):
            self._mfa = exc
            self.code_page.hint.setText(str(exc))
            self.code_page.code.clear()
            self._go(PAGE_CODE, self.code_page.code)
            return
        if isinstance(exc, MfaSetupRequired):
            auth = self._auth
            self._step(lambda: auth.begin_mfa_setup(exc), self._show_setup)
            return
        self._set_busy(False)
        if (self.page in (PAGE_CODE, PAGE_SETUP) and isinstance(exc, AuthError)
                and exc.code == "session_expired"):
            self._go(PAGE_CREDENTIALS, self.password)  # the challenge is over: start again
        text, settings = describe_error(exc)
        log.warning("sign-in failed: %s", text.replace("\n", " "))  # never the password
        self._show_error(text, settings=settings)
        retry = {PAGE_NEW_PASSWORD: self.new_password, PAGE_CODE: self.code_page.code,
                 PAGE_SETUP: self.setup_page.code,
                 PAGE_FORGOT: (self.forgot_page.code if self.forgot_page.code_sent
                               else self.forgot_page.username)}.get(self.page, self.password)
        retry.setFocus()
        retry.selectAll()

    def _show_setup(self, setup: Any) -> None:
        if not isinstance(setup, TotpSetup):
            return
        self._setup = setup
        self.setup_page.show_setup(setup)
        self._go(PAGE_SETUP, self.setup_page.code)

    def _settings_clicked(self) -> None:
        self.settings_requested.emit()
        self.reject()

    def reject(self) -> None:
        self._abandon()  # a late answer must not act on a closed dialog, nor sign anyone in
        self._set_busy(False)
        self._clear_secrets()
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._abandon()
        super().closeEvent(event)
