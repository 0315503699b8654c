""""Set up authenticator app…" for the signed-in user (pools where MFA is optional): the QR
code and key of a new secret, then the first code from the app turns the second step on. The
secret is only on screen, never stored by the app."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget
from shiboken6 import isValid

from medispecs_desktop.core.auth import CognitoAuth, TotpSetup
from medispecs_desktop.ui.icons import fit_height
from medispecs_desktop.ui.signin import describe_error
from medispecs_desktop.ui.signin_pages import SetupPage
from medispecs_desktop.ui.tasks import API, TaskRunner


class AuthenticatorDialog(QDialog):
    def __init__(self, auth: CognitoAuth, tasks: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._auth, self._tasks = auth, tasks
        self._setup: TotpSetup | None = None
        self.enabled = False
        self.setWindowTitle("Set up an authenticator app")
        self.setObjectName("authenticatorDialog")
        layout = QVBoxLayout(self)
        self.page = SetupPage()
        self.page.setEnabled(False)
        layout.addWidget(self.page)
        self.message = QLabel("Getting a new key…")
        self.message.setObjectName("infoMessage")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.verify = self.buttons.addButton("Turn on", QDialogButtonBox.ButtonRole.AcceptRole)
        self.verify.setObjectName("verifyAuthenticator")
        self.verify.setEnabled(False)
        self.verify.setDefault(True)
        self.buttons.accepted.connect(self._verify)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        tasks.run(API, auth.start_totp_enrolment, self._got_setup, self._failed)

    def _got_setup(self, setup: Any) -> None:
        if not isValid(self) or not isinstance(setup, TotpSetup):
            return
        self._setup = setup
        self.page.show_setup(setup)
        self.page.setEnabled(True)
        self.verify.setEnabled(True)
        self.message.setText("Then enter the 6-digit code the app shows and choose Turn on.")
        self.page.code.setFocus()
        fit_height(self)

    def _verify(self) -> None:
        setup, code, auth = self._setup, self.page.code.text(), self._auth
        if setup is None:
            return
        self.verify.setEnabled(False)
        self._tasks.run(API, lambda: auth.confirm_totp_enrolment(setup, code), self._done,
                        self._failed)

    def _done(self, _result: Any) -> None:
        if not isValid(self):
            return
        self.enabled = True
        self._setup = None
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        if not isValid(self):
            return
        self.verify.setEnabled(self._setup is not None)
        self.message.setText(describe_error(exc)[0])
        fit_height(self)
