"""The composition root of the desktop app.

``run_app(args)`` (called by ``medispecs-desktop`` without a sub-command) builds, in order:
logging, the settings, an :class:`AppContext` (settings, paths, auth, API client, task runner,
the local stack child), the :class:`~medispecs_desktop.ui.main_window.MainWindow`, the feature
views (:func:`install_views`) and the :class:`AppController` that drives start-up, sign-in,
settings and the online indicator.

Test hooks (environment variables, for the real-window test, the screenshot script and the
start-up benchmark; none of them changes what a user sees):

* ``MEDISPECS_AUTOLOGIN=1`` — in demo mode only, sign in with the demo account without the
  dialog.
* ``MEDISPECS_TEST_EVENTS=1`` — print ``medispecs-event: <name> <ms>`` lines on stdout for
  ``window_shown``, ``views_ready``, ``stack_ready``, ``signed_in``, ``screenshot_saved``
  (ms since ``ui.app`` was imported).
* ``MEDISPECS_EXIT_ON=<event>`` — quit cleanly right after that event.
* ``MEDISPECS_SCREENSHOT_TO=<file.png>`` — after sign-in (with autologin) or once the window
  is shown, wait ``MEDISPECS_SCREENSHOT_DELAY_MS`` (default 1000) and save a grab of the
  window from the screen (``QScreen.grabWindow``: also captures video surfaces).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtWidgets import QApplication, QDialog

from medispecs_desktop import APP_ID, APP_NAME, __version__
from medispecs_desktop.core.config import Paths, Settings, apply_policy, load_settings
from medispecs_desktop.core.errors import ConfigurationError, OfflineError
from medispecs_desktop.core.logs import setup_logging
from medispecs_desktop.ui import gui_gc, startup_probe
from medispecs_desktop.ui.about import AboutDialog, ShortcutsDialog, open_folder
from medispecs_desktop.ui.icons import app_icon, stylesheet
from medispecs_desktop.ui.import_settings import ImportSettingsDialog
from medispecs_desktop.ui.local_stack_process import LocalStackProcess
from medispecs_desktop.ui.main_window import MainWindow, close_without_asking
from medispecs_desktop.ui.online import OnlineMonitor
from medispecs_desktop.ui.settings_dialog import SettingsDialog
from medispecs_desktop.ui.tasks import API, UPLOADS, TaskRunner

if TYPE_CHECKING:
    # boto3 (under core.auth) takes ~0.5 s to import: it is loaded on a worker thread after
    # the window is shown (see run_app), never before
    from medispecs_desktop.core.api import ApiClient
    from medispecs_desktop.core.auth import CognitoAuth, TokenStore, UserInfo
    from medispecs_desktop.ui.composition import Views
    from medispecs_desktop.ui.signin import SignInDialog

log = logging.getLogger(__name__)

_PROCESS_START = time.monotonic()

ENV_AUTOLOGIN = "MEDISPECS_AUTOLOGIN"
ENV_EVENTS = "MEDISPECS_TEST_EVENTS"
ENV_EXIT_ON = "MEDISPECS_EXIT_ON"
ENV_SCREENSHOT = "MEDISPECS_SCREENSHOT_TO"
ENV_SCREENSHOT_DELAY = "MEDISPECS_SCREENSHOT_DELAY_MS"

CONNECTION_FIELDS = ("api_url", "region", "user_pool_id", "client_id", "cognito_endpoint")
KEYRING_PLAIN = ("Your sign-in won't be remembered after you quit: this computer has no "
                 "secure place to keep it.")


# ----------------------------------------------------------------------------- context


class AppContext(QObject):
    """Everything a view needs, in one place: ``settings``, ``paths``, ``tasks`` (the only
    way to run background work), ``auth`` (CognitoAuth, None until configured), ``api``
    (ApiClient, None until configured), ``user`` (None when signed out), ``online``,
    ``qsettings`` (window/UI state, no secrets) and ``demo``.

    Views react to its signals instead of polling: ``settings_changed`` (the connection
    changed: a new ``auth``/``api``), ``signed_in``/``signed_out`` and ``online_changed``.
    """

    settings_changed = Signal(object)  # Settings
    signed_in = Signal(object)  # UserInfo
    signed_out = Signal()
    online_changed = Signal(bool)

    def __init__(
        self,
        settings: Settings,
        paths: Paths,
        *,
        tasks: TaskRunner | None = None,
        token_store: TokenStore | None = None,
        qsettings: QSettings | None = None,
        build_clients: bool = True,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.paths = paths
        self.settings = settings
        self.tasks = tasks or TaskRunner(
            {UPLOADS: max(2, settings.max_concurrent_files * settings.max_parts_in_flight)},
            parent=self)
        self._token_store_override = token_store
        self._clock = clock  # token expiry arithmetic (tests move it forward)
        if qsettings is None:
            qsettings = QSettings(str(paths.config_dir / "ui-state.ini"),
                                  QSettings.Format.IniFormat, self)
        self.qsettings = qsettings
        self.auth: CognitoAuth | None = None
        self.api: ApiClient | None = None
        self.user: UserInfo | None = None
        # the one source of "online" (status bar, library and uploads follow it)
        self.monitor = OnlineMonitor(self.tasks, lambda: self.api, parent=self)
        self.monitor.online_changed.connect(self.online_changed)
        self.stack: LocalStackProcess | None = None
        self.engine: Any = None  # the signed-in user's UploadEngine (ui.uploads sets it)
        self.demo_credentials: tuple[str, str] | None = None
        self.token_store: TokenStore | None = None
        self.clients_built = False
        if build_clients:
            self.build_clients()

    @property
    def demo(self) -> bool:
        return self.settings.demo

    @property
    def online(self) -> bool | None:
        return self.monitor.online

    def build_clients(self) -> None:
        """(Re)create the token store, ``auth`` and ``api`` for the current settings."""
        from medispecs_desktop.core.auth import CognitoAuth, KeyringTokenStore, MemoryTokenStore

        settings = self.settings
        if self._token_store_override is not None:
            self.token_store = self._token_store_override
        elif settings.demo:
            self.token_store = MemoryTokenStore()  # the demo stack forgets its users anyway
        else:
            self.token_store = KeyringTokenStore.for_settings(settings, self.paths)
        old_api = self.api
        self.auth = None
        self.api = None
        self.user = None
        if settings.region and settings.user_pool_id and settings.client_id:
            self.auth = CognitoAuth(settings, self.token_store, clock=self._clock)
        if settings.api_url and self.auth is not None:
            from medispecs_desktop.core.api import ApiClient

            self.api = ApiClient(settings, self.auth)
        if old_api is not None:
            old_api.close()
        self.clients_built = True

    def apply_settings(self, settings: Settings) -> bool:
        """Use new settings; returns True if the connection changed (then auth/api are new
        and nobody is signed in)."""
        changed = any(getattr(settings, f) != getattr(self.settings, f)
                      for f in (*CONNECTION_FIELDS, "demo", "allow_plaintext_keyring"))
        self.settings = settings
        if changed:
            self.build_clients()
            self.monitor.forget()
        self.settings_changed.emit(settings)
        return changed

    def set_online(self, online: bool) -> None:
        """Evidence for the online monitor (see :mod:`medispecs_desktop.ui.online`)."""
        self.monitor.set_online(online)

    def shutdown(self) -> None:
        """Stop background work and the local stack (on quit). Each step runs even when an
        earlier one failed: a failing engine stop never leaves the demo stack running."""
        steps: list[tuple[str, Callable[[], object]]] = []
        engine, api, stack = self.engine, self.api, self.stack
        if engine is not None:  # running uploads go back to queued for the next start
            steps.append(("upload engine", lambda: engine.stop(timeout=5.0)))
        steps.append(("background tasks", lambda: self.tasks.shutdown(timeout=2.0)))
        if api is not None:
            steps.append(("API client", api.close))
        if stack is not None:
            steps.append(("local stack", stack.stop))
        for name, step in steps:
            try:
                step()
            except Exception:
                log.exception("shutdown: stopping the %s failed; continuing", name)


# ----------------------------------------------------------------------------- views


def install_views(window: MainWindow, ctx: AppContext) -> Views:
    """Put the feature views into the window and wire them to each other (see
    :mod:`medispecs_desktop.ui.composition`). A view gets everything from ``ctx`` (settings,
    api, auth, tasks, the online monitor, signals) and runs background work only through
    ``ctx.tasks``."""
    from medispecs_desktop.ui.composition import compose

    views = compose(window, ctx)
    window.views = views
    return views


# ----------------------------------------------------------------------------- hooks


@dataclass
class AppHooks:
    """See the module docstring; all off unless the environment turns them on."""

    autologin: bool = False
    events: bool = False
    exit_on: str = ""
    screenshot_to: Path | None = None
    screenshot_delay_ms: int = 1000

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> AppHooks:
        env = dict(os.environ) if env is None else env
        shot = env.get(ENV_SCREENSHOT, "").strip()
        try:
            delay = int(env.get(ENV_SCREENSHOT_DELAY, "1000"))
        except ValueError:
            delay = 1000
        return cls(
            autologin=env.get(ENV_AUTOLOGIN, "") in ("1", "true", "yes"),
            events=env.get(ENV_EVENTS, "") in ("1", "true", "yes"),
            exit_on=env.get(ENV_EXIT_ON, "").strip(),
            screenshot_to=Path(shot) if shot else None,
            screenshot_delay_ms=max(0, delay),
        )


# ----------------------------------------------------------------------------- controller


class AppController(QObject):
    """Drives the window through start-up, the demo stack, sign-in, settings and sign-out."""

    milestone = Signal(str)  # window_shown, stack_ready, signed_in, screenshot_saved, ...

    def __init__(
        self,
        ctx: AppContext,
        window: MainWindow,
        *,
        hooks: AppHooks | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.window = window
        self.hooks = hooks or AppHooks()
        self.sign_in_dialog: SignInDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.import_dialog: ImportSettingsDialog | None = None
        self.authenticator_dialog: QDialog | None = None
        self._restore_pending = False
        self.monitor = ctx.monitor
        ctx.online_changed.connect(self._online_changed)
        # a bandwidth cap shows in the status bar while it applies (and changes at once)
        ctx.settings_changed.connect(
            lambda settings: window.set_bandwidth_limit(settings.bandwidth_limit_kbps))
        window.set_bandwidth_limit(ctx.settings.bandwidth_limit_kbps)
        w = window
        w.settings_requested.connect(self.open_settings)
        w.import_settings_requested.connect(self.open_import_settings)
        w.authenticator_requested.connect(self.open_authenticator)
        w.sign_in_requested.connect(self.open_sign_in)
        w.sign_out_requested.connect(self.sign_out)
        w.demo_requested.connect(self.start_demo)
        w.retry_requested.connect(self.start_demo)
        w.about_requested.connect(self.open_about)
        w.shortcuts_requested.connect(self.open_shortcuts)
        w.open_log_folder_requested.connect(self.open_log_folder)
        w.quit_requested.connect(self._quit)
        w.files_chosen.connect(self._files_chosen_fallback)
        w.folder_chosen.connect(self._files_chosen_fallback)

    # -- start-up ---------------------------------------------------------------------
    def start(self, *, local: bool = False, config_error: str = "") -> None:
        self.window.set_demo(local or self.ctx.demo)
        if local:
            self.start_demo()
        elif self.ctx.settings.is_configured:
            self.monitor.check_now()
            self.begin_restore()
        else:
            self.window.show_welcome(self.ctx.settings.missing())
            self.window.set_not_configured()
            if config_error:
                self.window.show_message(config_error, 0)

    def show_window(self) -> None:
        self.window.show()
        QTimer.singleShot(0, lambda: self._milestone("window_shown"))

    def views_installed(self) -> None:
        self._milestone("views_ready")

    # -- the demo stack ---------------------------------------------------------------
    def start_demo(self) -> None:
        ctx = self.ctx
        if ctx.stack is not None and ctx.stack.running:
            return
        if self.sign_in_dialog is not None:
            self.sign_in_dialog.reject()
        stack = ctx.stack or LocalStackProcess(self)
        if ctx.stack is None:
            stack.ready.connect(self._stack_ready)
            stack.failed.connect(self._stack_failed)
            stack.finished.connect(self._stack_finished)
            ctx.stack = stack
        self.window.set_demo(True)
        self.window.show_starting_stack()
        stack.start()

    def _stack_ready(self, info: dict[str, Any]) -> None:
        settings = self.ctx.settings.with_overrides(
            api_url=info["apiUrl"], region=info["region"], user_pool_id=info["userPoolId"],
            client_id=info["clientId"], cognito_endpoint=info["awsEndpoint"], demo=True)
        self.ctx.apply_settings(settings)
        self.ctx.demo_credentials = (str(info.get("username") or ""),
                                     str(info.get("password") or ""))
        self.window.set_signed_in(None)
        self._milestone("stack_ready")
        self.monitor.check_now()
        self.window.show_signed_out("The demo is ready: signing in with the demo account…")
        if self.ctx.auth is not None:  # the demo signs in by itself (no click needed)
            auth = self.ctx.auth
            username, password = self.ctx.demo_credentials
            self.ctx.tasks.run(API, lambda: auth.sign_in(username, password),
                               self._signed_in, self._autologin_failed)
        else:
            self.open_sign_in()

    def _autologin_failed(self, exc: BaseException) -> None:
        from medispecs_desktop.ui.signin import describe_error

        text, _ = describe_error(exc)
        log.error("demo auto sign-in failed: %s", text)
        self.window.show_signed_out(text)
        self.open_sign_in()  # the demo account is filled in there: one click to retry

    def _stack_failed(self, reason: str) -> None:
        self.window.show_stack_failed(reason)
        self._milestone("stack_failed")

    def _stack_finished(self, code: int) -> None:
        if self.ctx.tasks.closed:
            return
        self.ctx.user = None
        self.window.set_signed_in(None)
        self.ctx.set_online(False)
        log.warning("the demo stack stopped unexpectedly (exit code %s)", code)
        self.window.show_stack_failed(
            "The demo's local copy of the cloud stopped unexpectedly, and the recordings "
            "uploaded to it are gone. Choose Try again to start a fresh demo.\n\n"
            f"(exit code {code}; the log folder has the details)",
            title="The demo stopped")
        self.ctx.signed_out.emit()

    # -- sign-in ----------------------------------------------------------------------
    def begin_restore(self) -> None:
        """Silent sign-in from the keyring, in the background."""
        auth = self.ctx.auth
        if auth is None or self._restore_pending:
            return
        self._restore_pending = True
        self.window.show_signed_out("Signing in…")
        self.window.signed_out_panel.progress.show()
        self.ctx.tasks.run(API, auth.restore, self._restored, self._restore_failed)

    def _restored(self, user: Any) -> None:
        self._restore_pending = False
        self.window.signed_out_panel.progress.hide()
        if user is not None:
            self._signed_in(user)
            return
        self.window.show_signed_out()
        self.open_sign_in()

    def _restore_failed(self, exc: BaseException) -> None:
        self._restore_pending = False
        self.window.signed_out_panel.progress.hide()
        if isinstance(exc, OfflineError):
            self.ctx.set_online(False)
            self.window.show_signed_out(
                "You're offline: MediSpecs can't reach the sign-in service. It will sign you "
                "in again when the connection is back.")
            return
        from medispecs_desktop.ui.signin import describe_error

        text, _ = describe_error(exc)
        self.window.show_signed_out(text)

    def open_sign_in(self) -> None:
        from medispecs_desktop.ui.signin import SignInDialog

        ctx = self.ctx
        if ctx.auth is None:
            self.open_settings()
            return
        if self.sign_in_dialog is not None and self.sign_in_dialog.isVisible():
            self.sign_in_dialog.raise_()
            self.sign_in_dialog.activateWindow()
            return
        username, password = ctx.demo_credentials if ctx.demo and ctx.demo_credentials else (
            "", "")
        dialog = SignInDialog(ctx.auth, ctx.tasks, self.window, username=username,
                              password=password, demo=ctx.demo)
        dialog.signed_in.connect(self._signed_in)
        dialog.settings_requested.connect(self.open_settings)
        dialog.finished.connect(dialog.deleteLater)
        dialog.destroyed.connect(lambda *_: self._forget_dialog(dialog))
        self.sign_in_dialog = dialog
        dialog.open()

    def _forget_dialog(self, dialog: SignInDialog) -> None:
        if self.sign_in_dialog is dialog:
            self.sign_in_dialog = None

    def _signed_in(self, user: Any) -> None:
        ctx = self.ctx
        ctx.user = user
        name = getattr(user, "display_name", None) or getattr(user, "username", str(user))
        self.window.set_signed_in(name)
        self.window.show_main()
        auth = ctx.auth
        not_remembered = bool(auth is not None and not ctx.demo and not auth.remembered)
        # plain words in the status bar; the technical reason (the keyring's class name, for
        # IT) only in the warning sign's tooltip
        self.window.set_keyring_notice(
            not_remembered, (auth.remember_error if auth else None) or "")
        if not_remembered:
            self.window.show_message(f"Signed in. {KEYRING_PLAIN}", 15_000)
        else:
            self.window.show_message(f"Signed in as {name}.")
        ctx.signed_in.emit(user)
        self.monitor.check_now()
        self._milestone("signed_in")

    def sign_out(self) -> None:
        ctx = self.ctx
        auth = ctx.auth
        if auth is None:
            return
        ctx.user = None
        self.window.set_signed_in(None)
        self.window.set_keyring_notice(False, "")
        self.window.show_signed_out(
            "You have signed out." if ctx.demo else
            "You have signed out. Your saved sign-in was forgotten.")
        ctx.signed_out.emit()
        # forgetting the keyring entry and revoking the token touch disk/network: off the GUI
        ctx.tasks.run(API, auth.sign_out,
                      lambda _r: self._milestone("signed_out"),
                      lambda exc: self.window.show_message(f"Sign-out: {exc}"))

    # -- settings ---------------------------------------------------------------------
    def open_settings(self) -> None:
        if self.settings_dialog is not None and self.settings_dialog.isVisible():
            self.settings_dialog.raise_()
            return
        dialog = SettingsDialog(self.ctx.settings, self.ctx.paths, self.window)
        dialog.saved.connect(self._settings_saved)
        dialog.import_requested.connect(self.open_import_settings)
        dialog.finished.connect(dialog.deleteLater)
        # forget it when Qt deletes it: a wrapper of a deleted dialog raises on any call
        # (Settings opened only once per session)
        dialog.destroyed.connect(lambda *_: self._forget_settings_dialog(dialog))
        self.settings_dialog = dialog
        dialog.open()

    def _forget_settings_dialog(self, dialog: SettingsDialog) -> None:
        if self.settings_dialog is dialog:
            self.settings_dialog = None

    def open_import_settings(self) -> None:
        dialog = ImportSettingsDialog(self.ctx.paths, self.ctx.tasks, self.window)
        dialog.imported.connect(self._settings_imported)
        dialog.finished.connect(dialog.deleteLater)
        self.import_dialog = dialog
        dialog.open()

    def open_authenticator(self) -> None:
        from medispecs_desktop.ui.totp_enrol import AuthenticatorDialog

        if self.ctx.auth is None or self.ctx.user is None:
            return
        dialog = AuthenticatorDialog(self.ctx.auth, self.ctx.tasks, self.window)
        dialog.accepted.connect(lambda: self.window.show_message(
            "Authenticator app set up: sign-in now asks for its code."))
        dialog.finished.connect(dialog.deleteLater)
        self.authenticator_dialog = dialog
        dialog.open()

    def _settings_imported(self, result: Any) -> None:
        """IT's settings are in the file: use them (with the environment and the policy on
        top, as at start) and sign in."""
        try:
            settings = load_settings(self.ctx.paths)
        except ConfigurationError as exc:
            self.window.show_message(str(exc), 0)
            return
        self._settings_saved(settings)
        self.window.show_message("Settings imported.")
        if not self._restore_pending and self.ctx.user is None and settings.is_configured:
            self.begin_restore()

    def _settings_saved(self, settings: Settings) -> None:
        changed = self.ctx.apply_settings(settings)
        self.window.show_message("Settings saved.")
        if not changed:
            return
        self.window.set_signed_in(None)
        self.window.set_online(None)
        self.ctx.signed_out.emit()
        if settings.is_configured:
            self.monitor.check_now()
            self.begin_restore()
        else:
            self.window.show_welcome(settings.missing())
            self.window.set_not_configured()

    # -- online -----------------------------------------------------------------------
    def _online_changed(self, online: bool) -> None:
        self.window.set_online(online, "" if online else
                               "The MediSpecs service can't be reached. Uploads wait and "
                               "resume by themselves.")
        if (online and self.ctx.user is None and self.ctx.auth is not None
                and not self.ctx.demo and not self._restore_pending
                and self.window.current_page() == "signed_out"
                and self.sign_in_dialog is None):
            self.begin_restore()

    # -- help -------------------------------------------------------------------------
    def open_about(self) -> None:
        dialog = AboutDialog(self.ctx.paths, self.window, demo=self.ctx.demo)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def open_shortcuts(self) -> None:
        dialog = ShortcutsDialog(self.window.all_actions(), self.window)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def open_log_folder(self) -> None:
        if not open_folder(str(self.ctx.paths.log_dir)):
            self.window.show_message(f"The log folder is {self.ctx.paths.log_dir}", 15_000)

    def _files_chosen_fallback(self, _paths: Any) -> None:
        if not getattr(self.window, "uploads_installed", False):
            self.window.show_message("Uploads are not available in this build.")

    # -- hooks ------------------------------------------------------------------------
    def _milestone(self, name: str) -> None:
        elapsed_ms = (time.monotonic() - _PROCESS_START) * 1000
        log.info("milestone %s after %.0f ms", name, elapsed_ms)
        if self.hooks.events:
            print(f"medispecs-event: {name} {elapsed_ms:.0f}", flush=True)
        self.milestone.emit(name)
        shot = self.hooks.screenshot_to
        trigger = "signed_in" if self.hooks.autologin else "window_shown"
        if shot is not None and name == trigger:
            QTimer.singleShot(self.hooks.screenshot_delay_ms, lambda: self._screenshot(shot))
        if self.hooks.exit_on == name:
            QTimer.singleShot(0, lambda: self._quit(ask=False))

    def _screenshot(self, target: Path) -> None:
        ok = grab_window(self.window, target)
        log.info("screenshot %s: %s", "saved" if ok else "FAILED", target)
        self._milestone("screenshot_saved" if ok else "screenshot_failed")

    def _quit(self, ask: bool = True) -> None:
        """File › Quit / Ctrl+Q: the window's close guards may ask first ("uploads are in
        progress…"); keeping the window open cancels the quit."""
        app = QApplication.instance()
        if not ask:
            self.window.ask_before_closing = False
        if not self.window.close():
            return
        if app is not None:
            app.quit()

    def shutdown(self) -> None:
        self.monitor.stop()
        self.window.save_layout()
        self.ctx.shutdown()


def grab_window(window: MainWindow, target: Path) -> bool:
    """Save the window as the screen shows it (QScreen.grabWindow also captures video
    surfaces, unlike QWidget.grab)."""
    screen = window.screen() or QApplication.primaryScreen()
    if screen is None:
        return False
    pixmap = screen.grabWindow(window.winId())
    if pixmap.isNull():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    return bool(pixmap.save(str(target), "PNG"))


# ----------------------------------------------------------------------------- entry


def settings_from_args(args: argparse.Namespace, paths: Paths) -> tuple[Settings, str]:
    """Settings file + environment + command-line options; and a problem to show, if any."""
    problem = ""
    try:
        settings = load_settings(paths)
    except ConfigurationError as exc:
        settings, problem = Settings(), str(exc)
    overrides = {name: getattr(args, name, None) for name in CONNECTION_FIELDS}
    try:
        settings = apply_policy(settings.with_overrides(**overrides))  # IT's policy wins
    except ConfigurationError as exc:
        problem = str(exc)
    return settings, problem


GUI_SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits (Python's default: 0.005). With 4
uploads running and the library scrolling, 4 alternating pairs of
``tests/benchmarks/bench_gui_uploads.py --switch-ms 5`` / ``--switch-ms 1``: the longest GUI
stall was shorter with 1 ms in every pair (22-30 ms against 34-92 ms at load 2-3) and the
uploads no slower (1.0-1.3 s against 1.2-2.0 s): the background threads spend their time in C
that releases the GIL (hashing, sockets, file reads), so the extra hand-overs cost nothing
measurable."""


def make_application(argv: list[str] | None = None) -> QApplication:
    # Qt's raster engine hands every fill of 96+ lines (a scrolled table's background) to its
    # GUI thread pool and waits: on a busy machine the GUI thread then waits for pool threads
    # to get a CPU (issue 16). Read once, when Qt first wants the pool: fills stay on the GUI
    # thread (image scaling on the worker that asks for it).
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
    # the GUI thread shares the GIL with the engine's hashing, part and upload threads: when
    # it wants the GIL, the holder is asked to let go after the switch interval - and with
    # several threads waiting the GUI thread may lose the hand-over more than once (issue 16)
    sys.setswitchinterval(GUI_SWITCH_INTERVAL)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(
        argv if argv is not None else sys.argv[:1])
    app.setApplicationName(APP_ID)
    app.setApplicationDisplayName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName("MediSpecs")
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    app.setStyle("Fusion")
    app.setStyleSheet(stylesheet())
    gui_gc.install(app)  # cycles holding Qt objects are freed on this thread, never a worker's
    return app


def _install_signal_handlers(app: QApplication) -> QTimer:
    """Ctrl+C / SIGTERM quit cleanly (so the local stack child is stopped too), without
    asking anything - as does the end of the OS session (logout, shutdown).

    Python runs a signal handler between two bytecodes of the main thread, which may be in
    the middle of anything (holding an executor's lock, say): the handler only raises a flag,
    and a timer - which also gives Python the chance to run the handler while Qt waits for
    events - quits from a clean point of the event loop."""
    requested: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        requested.append(signum)

    def poll() -> None:
        if requested:
            log.info("quitting on signal %s", signal.Signals(requested[0]).name)
            requested.clear()
            close_without_asking(app)
            app.quit()

    app.commitDataRequest.connect(lambda _manager: close_without_asking(app))
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    ticker = QTimer()
    ticker.timeout.connect(poll)
    ticker.start(200)
    return ticker


def _preload_core() -> None:
    """Import the heavy core modules (boto3, requests, keyring) off the GUI thread."""
    import medispecs_desktop.core.api
    import medispecs_desktop.core.auth  # noqa: F401


def run_app(args: argparse.Namespace) -> int:
    """Open the main window; with ``args.local`` start the demo stack first."""
    paths = Paths.default().ensure()
    log_file = setup_logging(paths.log_dir, console=bool(getattr(args, "verbose", False)))
    log.info("%s %s starting (log %s)", APP_NAME, __version__, log_file)
    from medispecs_desktop.core.crash import install_crash_reporting
    from medispecs_desktop.ui.crash_report import install_qt_message_handler, offer_crash_report

    crashes, previous_crash = install_crash_reporting(paths.log_dir)  # issue 12
    settings, problem = settings_from_args(args, paths)
    local = bool(getattr(args, "local", False))
    if local:
        settings = settings.with_overrides(demo=True)
    app = make_application()
    install_qt_message_handler(crashes)
    startup_probe.install_from_environment()  # .ci/run's fresh-machine check; inert otherwise
    ticker = _install_signal_handlers(app)
    # Show the window first; boto3 & co. (~0.5-1 s of imports) load on a worker meanwhile.
    ctx = AppContext(settings, paths, build_clients=False)
    window = MainWindow(ctx.qsettings)
    controller = AppController(ctx, window, hooks=AppHooks.from_env())
    app.aboutToQuit.connect(controller.shutdown)
    controller.show_window()
    if previous_crash is not None:
        QTimer.singleShot(0, lambda: offer_crash_report(window, previous_crash, crashes))
    if local:
        controller.start(local=True)  # the stack child needs none of those imports

    def core_loaded(_result: object = None) -> None:
        if not ctx.clients_built:
            ctx.build_clients()
        install_views(window, ctx)
        controller.views_installed()
        if not local:
            controller.start(config_error=problem)

    ctx.tasks.run(API, _preload_core, core_loaded, lambda _exc: core_loaded())
    try:
        code = int(app.exec())
    finally:
        ticker.stop()
        if not ctx.tasks.closed:
            controller.shutdown()
    crashes.clean_exit()
    log.info("%s exiting with %d", APP_NAME, code)
    return code


__all__ = [
    "AppContext",
    "AppController",
    "AppHooks",
    "OnlineMonitor",
    "grab_window",
    "install_views",
    "make_application",
    "run_app",
]
