"""The sign-in dialog's extra steps as small pages: an authenticator/SMS code, authenticator
enrolment (QR code + secret), and forgot password (send a code, then set a new password).
Each page only holds widgets; ``ui.signin.SignInDialog`` runs the steps."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from medispecs_desktop.core.auth import TotpSetup

CODE_PLACEHOLDER = "123456"


def _code_edit(name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setPlaceholderText(CODE_PLACEHOLDER)
    edit.setMaxLength(9)  # "123 456" / "123-456" are fine too
    edit.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
    edit.setAccessibleName("Verification code")
    return edit


def _hint(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("hint")
    label.setWordWrap(True)
    return label


class CodePage(QWidget):
    """"Enter the 6-digit code" (authenticator app or text message)."""

    def __init__(self) -> None:
        super().__init__()
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.hint = _hint()
        self.code = _code_edit("mfaCode")
        self.remember = QCheckBox("&Remember this computer (no code here next time)")
        self.remember.setObjectName("rememberDevice")
        self.remember.setToolTip(
            "Only on a computer that is yours alone: your organisation decides whether "
            "computers can be remembered.")
        form.addRow(self.hint)
        form.addRow("&Code", self.code)
        form.addRow("", self.remember)


class SetupPage(QWidget):
    """Authenticator enrolment: scan the QR code (or type the key), then enter a code."""

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_hint(
            "Your organisation asks for a second step when you sign in. Scan this code with "
            "an authenticator app (for example Microsoft Authenticator or Google "
            "Authenticator):"))
        self.qr = QLabel()
        self.qr.setObjectName("totpQr")
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setAccessibleName("QR code for the authenticator app")
        layout.addWidget(self.qr)
        self.secret = QLabel()
        self.secret.setObjectName("totpSecret")
        self.secret.setWordWrap(True)
        self.secret.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.secret)
        form = QFormLayout()
        self.code = _code_edit("setupCode")
        form.addRow("&Code from the app", self.code)
        layout.addLayout(form)

    def show_setup(self, setup: TotpSetup) -> None:
        pixmap = QPixmap()
        pixmap.loadFromData(setup.qr_png(scale=4), "PNG")
        self.qr.setPixmap(pixmap)
        self.secret.setText(f"Or enter this key in the app by hand: <b>{setup.grouped_secret}"
                            "</b>")
        self.code.clear()


class ForgotPage(QWidget):
    """Forgot password: the username (and "Send code"), then the code and a new password."""

    def __init__(self) -> None:
        super().__init__()
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.hint = _hint("Enter your username: we send a code to your e-mail address.")
        self.username = QLineEdit()
        self.username.setObjectName("forgotUsername")
        self.code = _code_edit("resetCode")
        self.new_password = QLineEdit()
        self.new_password.setObjectName("resetPassword")
        self.new_password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setObjectName("resetRepeat")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.hint)
        form.addRow("&Username", self.username)
        form.addRow("C&ode", self.code)
        form.addRow("&New password", self.new_password)
        form.addRow("&Repeat it", self.repeat)
        self.set_code_sent(False)

    @property
    def code_sent(self) -> bool:
        return self.code.isEnabled()

    def set_code_sent(self, sent: bool, text: str = "") -> None:
        for widget in (self.code, self.new_password, self.repeat):
            widget.setEnabled(sent)
        form = self.layout()
        if isinstance(form, QFormLayout):
            for widget in (self.code, self.new_password, self.repeat):
                form.setRowVisible(widget, sent)
        self.username.setReadOnly(sent)
        if text:
            self.hint.setText(text)

    def clear_secrets(self) -> None:
        for edit in (self.code, self.new_password, self.repeat):
            edit.clear()
