"""Automatic logoff (HIPAA §164.312(a)(2)(iii)): after N idle minutes the app locks.

Idle means no keyboard, mouse, wheel or touch input to any of the app's windows: one
application-wide event filter (:class:`IdleWatcher`) notes the time of the last input; a coarse
timer compares it with the timeout (``Settings.idle_timeout_minutes``, 15 by default, ``0``
never; IT can fix it in the admin policy). The clock and the check are injectable, so tests do
not wait 15 minutes.

Locked (:class:`IdleLock`), every patient-identifying view is hidden, not merely covered: the
library with its details, the player, the uploads dock (file names), the status bar and tool
bar, every other window of the app (the card import window, dialogs, a full-screen player) —
and any of them that tries to show itself while locked is hidden again. The tray icon is hidden
too, so upload notifications cannot show file names over the locked screen. A lock screen takes the
central area; every action (menus, shortcuts) is disabled; drops are refused. Playback pauses;
uploads keep running (the engine never stops for the lock).

Unlocking needs the user's password again (and the MFA code when the account has MFA), or,
where the organisation signs in through its own login page, that page again (SSO, with its
MFA): it is checked against Cognito through the core's sign-in (``CognitoAuth.sign_in``, SRP;
``sign_in_with_browser``, PKCE) in a separate, throw-away session that must be the same user, on
the ``api`` pool; the app's own session and keyring are untouched. Signing out from the lock
screen ends the session instead.
"""

from __future__ import annotations

import logging
import threading
import time
import webbrowser
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QInputEvent, QInputMethodEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.formatting import plural
from medispecs_desktop.ui.icons import icon
from medispecs_desktop.ui.notify import Notifier
from medispecs_desktop.ui.tasks import API

log = logging.getLogger(__name__)

INPUT_EVENTS = frozenset({
    QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseButtonRelease, QEvent.Type.MouseButtonDblClick, QEvent.Type.MouseMove,
    QEvent.Type.Wheel, QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate,
    QEvent.Type.TabletPress, QEvent.Type.TabletMove, QEvent.Type.InputMethod,
})
WINDOW_TYPES = frozenset({Qt.WindowType.Window, Qt.WindowType.Dialog, Qt.WindowType.Sheet,
                          Qt.WindowType.Drawer, Qt.WindowType.Tool})
"""Windows hidden while locked (menus, tooltips and other popups carry no patient data)."""
CHECK_INTERVAL_MS = 1000


def _duration(seconds: float) -> str:
    if seconds >= 60:
        minutes = round(seconds / 60)
        return plural(minutes, "minute")
    return f"{seconds:g} second" if seconds == 1 else f"{seconds:g} seconds"


class IdleWatcher(QObject):
    """Emits ``idle`` once the app has had no input for ``timeout`` seconds (0: never).

    Install it with ``QApplication.instance().installEventFilter(watcher)``; ``clock``
    (monotonic seconds) and ``check()`` are the test seams."""

    idle = Signal()

    def __init__(self, timeout: float, *, clock: Callable[[], float] = time.monotonic,
                 check_ms: int = CHECK_INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._clock = clock
        self.timeout = max(0.0, float(timeout))
        self.last_input = clock()
        self._fired = False
        self.timer = QTimer(self)
        self.timer.setInterval(check_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
        # every event of the app passes here: the isinstance (~0.15 us) spares the others
        # event.type() (0.5-4 us, see ui/gui_gc.py); every type of INPUT_EVENTS is one of these
        if isinstance(event, (QInputEvent, QInputMethodEvent)) and event.type() in INPUT_EVENTS:
            self.last_input = self._clock()
        return False

    def set_timeout(self, seconds: float) -> None:
        self.timeout = max(0.0, float(seconds))
        self.reset()

    def reset(self) -> None:
        """Start counting again from now (signed in, unlocked)."""
        self.last_input = self._clock()
        self._fired = False

    def idle_for(self) -> float:
        return self._clock() - self.last_input

    def check(self) -> None:
        if self.timeout <= 0 or self._fired:
            return
        if self.idle_for() >= self.timeout:
            self._fired = True
            self.idle.emit()


class LockScreen(QWidget):
    """What a locked window shows: who is signed in and a password (or MFA code) field."""

    unlock_requested = Signal(str)
    browser_requested = Signal()
    sign_out_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lockScreen")
        self.setAutoFillBackground(True)
        self.icon = QLabel()
        self.icon.setPixmap(icon("app").pixmap(64, 64))
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = QLabel("MediSpecs is locked")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.user = QLabel("")
        self.user.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prompt = QLabel("Password:")
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setMinimumWidth(260)
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setDefault(True)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error.setStyleSheet("color: #b00020;")
        self.org_button = QPushButton("Unlock with your organisation's sign-in…")
        self.org_button.hide()
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.setFlat(True)

        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.prompt)
        row.addWidget(self.secret)
        row.addWidget(self.unlock_button)
        row.addStretch(1)
        box = QVBoxLayout(self)
        box.addStretch(2)
        for w in (self.icon, self.title, self.user, self.text):
            box.addWidget(w)  # centred text; a wrapped label needs the whole width
        box.addSpacing(12)
        box.addLayout(row)
        box.addWidget(self.org_button, 0, Qt.AlignmentFlag.AlignHCenter)
        box.addWidget(self.error)
        box.addWidget(self.sign_out_button, 0, Qt.AlignmentFlag.AlignHCenter)
        box.addStretch(3)

        self.unlock_button.clicked.connect(self._submit)
        self.secret.returnPressed.connect(self._submit)
        self.sign_out_button.clicked.connect(self.sign_out_requested)
        self.org_button.clicked.connect(self.browser_requested)

    def _submit(self) -> None:
        if self.secret.text() and self.unlock_button.isEnabled():
            self.unlock_requested.emit(self.secret.text())

    def set_busy(self, busy: bool) -> None:
        self.unlock_button.setEnabled(not busy)
        self.secret.setEnabled(not busy)
        if busy:
            self.error.setText("Checking…")

    def ask(self, prompt: str, *, code: bool = False) -> None:
        self.prompt.setText(prompt)
        self.secret.clear()
        self.secret.setEchoMode(QLineEdit.EchoMode.Normal if code
                                else QLineEdit.EchoMode.Password)
        self.secret.setFocus()


class IdleLock(QObject):
    """Locks ``window`` after the idle timeout; see the module docstring."""

    locked_changed = Signal(bool)

    def __init__(
        self,
        window: QMainWindow,
        ctx: Any,
        *,
        pause_playback: Callable[[], None] = lambda: None,
        timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        check_ms: int = CHECK_INTERVAL_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent or window)
        self.window = window
        self.ctx = ctx
        self.pause_playback = pause_playback
        seconds = timeout if timeout is not None else self.settings_timeout()
        self.watcher = IdleWatcher(seconds, clock=clock, check_ms=check_ms, parent=self)
        self.watcher.idle.connect(self._on_idle)
        self.screen = LockScreen()
        self.screen.hide()
        central = window.centralWidget()
        layout = central.layout() if central is not None else None
        if layout is not None:
            layout.addWidget(self.screen)
        self.screen.unlock_requested.connect(self._try_unlock)
        self.screen.sign_out_requested.connect(self._sign_out)
        self.screen.browser_requested.connect(self._try_browser)
        self.open_browser: Callable[[str], object] = webbrowser.open
        self._browser_cancel: threading.Event | None = None
        self.locked = False
        self._hidden: list[QWidget] = []
        self._actions: list[tuple[QAction, bool]] = []
        self._trays: list[Any] = []
        self._accept_drops = False
        self._challenge: Any = None
        self._attempt = 0
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self.watcher)

    # -- policy ---------------------------------------------------------------------------
    def settings_timeout(self) -> float:
        minutes = getattr(self.ctx.settings, "idle_timeout_minutes", 15)
        return max(0.0, float(minutes or 0)) * 60.0

    def apply_settings(self, _settings: object = None) -> None:
        self.watcher.set_timeout(self.settings_timeout())

    def _on_idle(self) -> None:
        if getattr(self.ctx, "user", None) is not None and not self.locked:
            self.lock()

    # -- locking --------------------------------------------------------------------------
    def _protected(self) -> list[QWidget]:
        w = self.window
        parts: list[Any] = [getattr(w, "pages", None), getattr(w, "uploads_dock", None),
                            w.statusBar(), getattr(w, "toolbar", None)]
        return [p for p in parts if isinstance(p, QWidget)]

    def lock(self) -> None:
        if self.locked:
            return
        self.locked = True
        log.info("Locked after %.0f s without input", self.watcher.idle_for())
        try:
            self.pause_playback()
        except Exception:
            log.exception("pausing playback for the lock failed")
        for widget in self._protected():
            if widget.isVisible():
                self._hidden.append(widget)
                widget.hide()
        for top in QApplication.topLevelWidgets():
            self._hide_window(top)
        self._actions = [(a, a.isEnabled()) for a in self.window.findChildren(QAction)]
        for action, _ in self._actions:
            action.setEnabled(False)
        self._accept_drops = self.window.acceptDrops()
        self.window.setAcceptDrops(False)
        # desktop notifications ("… uploaded") would show file names over the locked screen:
        # without the tray icon they go to the (hidden) status bar instead
        self._trays = [n.tray for n in self.window.findChildren(Notifier)
                       if n.tray is not None and n.tray.isVisible()]
        for tray in self._trays:
            tray.hide()
        user = getattr(self.ctx, "user", None)
        name = getattr(user, "display_name", None) or getattr(user, "username", "")
        self.screen.user.setText(f"Signed in as {name}" if name else "")
        self.screen.text.setText(
            f"Locked after {_duration(self.watcher.timeout)} without use, to keep patient data "
            "private. Uploads continue in the background. Enter your password to continue.")
        self.screen.error.setText("")
        self._challenge = None
        self.screen.ask("Password:")
        demo = getattr(self.ctx, "demo_credentials", None)
        if getattr(self.ctx, "demo", False) and demo:
            self.screen.secret.setText(demo[1])  # the demo's own account: nothing to protect
        self.screen.set_busy(False)
        self.screen.org_button.setVisible(bool(getattr(self.ctx.settings, "auth_domain", "")))
        self.screen.show()
        self.screen.secret.setFocus()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.locked_changed.emit(True)

    def _hide_window(self, top: QWidget) -> None:
        if (top is self.window or not top.isVisible() or top.windowType() not in WINDOW_TYPES
                or top in self._hidden):
            return
        self._hidden.append(top)
        top.hide()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """While locked: whatever shows itself (a card window, the uploads dock) is hidden."""
        if self.locked and event.type() == QEvent.Type.Show and isinstance(obj, QWidget):
            if obj.isWindow():
                self._hide_window(obj)
            elif obj in self._protected():
                if obj not in self._hidden:
                    self._hidden.append(obj)
                QTimer.singleShot(0, obj.hide)
                obj.hide()
        return False

    def release(self) -> None:
        """Take the lock away and show again what it hid."""
        if not self.locked:
            return
        self.locked = False
        self._cancel_browser()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.screen.hide()
        self.screen.secret.clear()
        self.screen.error.setText("")
        for action, enabled in self._actions:
            action.setEnabled(enabled)
        self._actions = []
        self.window.setAcceptDrops(self._accept_drops)
        for tray in self._trays:
            tray.show()
        self._trays = []
        hidden, self._hidden = self._hidden, []
        for widget in hidden:
            widget.show()
        self.watcher.reset()
        self.locked_changed.emit(False)

    # -- unlocking ------------------------------------------------------------------------
    def _try_unlock(self, secret: str) -> None:
        user = getattr(self.ctx, "user", None)
        if user is None:
            self.release()
            return
        self._cancel_browser()
        self._attempt += 1
        attempt = self._attempt
        self.screen.set_busy(True)
        challenge = self._challenge
        settings = self.ctx.settings

        def verify() -> Any:
            from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore, MfaRequired

            probe = challenge[0] if challenge else CognitoAuth(settings, MemoryTokenStore())
            try:
                if challenge:
                    who = probe.answer_mfa(challenge[1], secret)
                else:
                    who = probe.sign_in(user.username, secret)
            except MfaRequired as step:
                return probe, step
            try:
                probe.sign_out()  # the check's own session: revoke it, keep nothing
            except Exception:  # noqa: BLE001 - best effort
                log.info("could not revoke the unlock check's session")
            return who

        self.ctx.tasks.run(API, verify, lambda r: self._verified(attempt, r),
                           lambda exc: self._refused(attempt, exc))

    def _cancel_browser(self) -> None:
        if self._browser_cancel is not None:
            self._browser_cancel.set()
            self._browser_cancel = None

    def _try_browser(self) -> None:
        """The organisation's login page (SSO, its MFA) in the system browser, for the same
        account; the password field stays usable meanwhile."""
        if getattr(self.ctx, "user", None) is None:
            self.release()
            return
        self._cancel_browser()
        self._attempt += 1
        attempt = self._attempt
        cancel = self._browser_cancel = threading.Event()
        settings, opener = self.ctx.settings, self.open_browser
        self._challenge = None
        self.screen.error.setText("Finish signing in in your browser…")

        def verify() -> Any:
            from medispecs_desktop.core.auth import CognitoAuth, MemoryTokenStore

            probe = CognitoAuth(settings, MemoryTokenStore())
            who = probe.sign_in_with_browser(opener, cancel=cancel)
            try:
                probe.sign_out()
            except Exception:  # noqa: BLE001 - best effort
                log.info("could not revoke the unlock check's session")
            return who

        self.ctx.tasks.run(API, verify, lambda r: self._verified(attempt, r),
                           lambda exc: self._refused(attempt, exc))

    def _verified(self, attempt: int, result: Any) -> None:
        if attempt != self._attempt or not self.locked:
            return
        self.screen.set_busy(False)
        if isinstance(result, tuple):  # the account has MFA: ask for the code next
            self._challenge = result
            self.screen.error.setText(str(result[1]))
            self.screen.ask("Code:", code=True)
            return
        user = getattr(self.ctx, "user", None)
        if user is None or getattr(result, "sub", None) != user.sub:
            self._challenge = None
            self.screen.error.setText("That is another account than the one signed in here.")
            self.screen.ask("Password:")
            return
        log.info("Unlocked by %s", user.username)
        self.release()

    def _refused(self, attempt: int, exc: BaseException) -> None:
        if attempt != self._attempt or not self.locked:
            return
        from medispecs_desktop.core.errors import OfflineError

        self.screen.set_busy(False)
        self._challenge = None
        if isinstance(exc, OfflineError):
            self.screen.error.setText(
                "The sign-in service cannot be reached: check the network and try again.")
        else:
            self.screen.error.setText(f"Not unlocked: {exc}")
        log.info("Unlock refused: %s", type(exc).__name__)
        self.screen.ask("Password:")

    def _sign_out(self) -> None:
        self.release()
        sign_out = getattr(self.window, "sign_out_requested", None)
        if sign_out is not None:
            sign_out.emit()


def install_idle_lock(window: QMainWindow, ctx: Any,
                      pause_playback: Callable[[], None] = lambda: None) -> IdleLock:
    """Wire the lock into the app: the timeout follows the settings; signing in starts the
    count again; signing out takes the lock away (the signed-out page shows no patient data)."""
    lock = IdleLock(window, ctx, pause_playback=pause_playback)
    ctx.settings_changed.connect(lock.apply_settings)
    ctx.signed_in.connect(lambda _user: lock.watcher.reset())
    ctx.signed_out.connect(lock.release)
    window.idle_lock = lock  # type: ignore[attr-defined]
    return lock
