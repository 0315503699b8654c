"""The sign-in dialog: username + password, the "new password required" step, clear messages.

Every call to Cognito runs on the ``api`` executor through ``ui.tasks``; the dialog only shows
a busy state while it waits, so the GUI thread never waits on the network.
"""

from __future__ import annotations

import logging
import threading
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
    CognitoAuth,
    NewPasswordRequired,
    SignInCancelled,
    UserInfo,
)
from medispecs_desktop.core.errors import (
    AuthError,
    ConfigurationError,
    MediSpecsError,
    OfflineError,
)
from medispecs_desktop.ui.icons import fit_bold_button, fit_height, icon, icon_on_accent
from medispecs_desktop.ui.tasks import API, TaskRunner

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 8


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

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(6)
        self.progress.hide()
        layout.addWidget(self.progress)

        self.buttons = QDialogButtonBox()
        self.submit = self.buttons.addButton("Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.submit.setObjectName("submit")
        self.submit.setIcon(icon_on_accent("sign-in"))  # the default button is accent-coloured
        self.cancel = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
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

    SUBMIT_TEXTS = ("Sign in", "Signing in…", "Set password")

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
        return self.pages.currentIndex() == 1

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
                       self.show_password, self.submit):
            widget.setEnabled(not busy)
        self.progress.setVisible(busy)
        if busy:
            self.submit.setText("Signing in…")
        else:
            self.submit.setText("Set password" if self.on_new_password_step else "Sign in")

    # -- actions ----------------------------------------------------------------------
    def _submit(self) -> None:
        if self.busy:
            return
        self._clear_error()
        if self.on_new_password_step:
            self._submit_new_password()
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

    def _done(self, user: Any) -> None:
        self._set_busy(False)
        self.password.clear()
        self.new_password.clear()
        self.confirm_password.clear()
        self.signed_in.emit(user)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, SignInCancelled):
            return
        if isinstance(exc, NewPasswordRequired):
            self._challenge = exc
            self.pages.setCurrentIndex(1)
            self.title.setText("Choose a new password")
            self.new_password_hint.setText(
                f"The account {exc.username} has a temporary password. Choose your own "
                f"password (at least {MIN_PASSWORD_LENGTH} characters, with upper- and "
                "lower-case letters, a digit and a symbol).")
            self._set_busy(False)
            self.new_password.setFocus()
            return
        self._set_busy(False)
        text, settings = describe_error(exc)
        log.warning("sign-in failed: %s", text.replace("\n", " "))  # never the password
        self._show_error(text, settings=settings)
        if self.on_new_password_step:
            self.new_password.setFocus()
            self.new_password.selectAll()
        else:
            self.password.setFocus()
            self.password.selectAll()

    def _settings_clicked(self) -> None:
        self.settings_requested.emit()
        self.reject()

    def reject(self) -> None:
        self._abandon()  # a late answer must not act on a closed dialog, nor sign anyone in
        self._set_busy(False)
        self.password.clear()
        self.new_password.clear()
        self.confirm_password.clear()
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._abandon()
        super().closeEvent(event)
