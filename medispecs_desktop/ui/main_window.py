"""The main window: menus, tool bar, the centre (library | player), the upload-queue dock,
the demo banner and the status bar.

The window is a passive view: it shows what the controller (``ui.app``) tells it and turns
user actions into signals. Feature views are installed into its slots with
:meth:`MainWindow.set_library_view`, :meth:`set_player_view` and :meth:`set_uploads_view`;
until then each slot shows a placeholder.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QSize, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop import APP_NAME
from medispecs_desktop.core.formatting import format_size
from medispecs_desktop.ui.icons import app_icon, icon, icon_on_accent

if TYPE_CHECKING:
    from medispecs_desktop.ui.composition import Views

VIDEO_FILTER = "Videos (*.mp4 *.mov *.m4v *.mkv *.avi *.webm *.MP4 *.MOV);;All files (*)"

PAGE_WELCOME = "welcome"
PAGE_STARTING = "starting"
PAGE_SIGNED_OUT = "signed_out"
PAGE_STACK_FAILED = "stack_failed"
PAGE_MAIN = "main"

MIN_WIDTH, MIN_HEIGHT = 960, 600  # fits a 1024 x 768 screen
LIBRARY_SHARE = 0.55  # of the width, on a first start: the list needs title, date, duration
LAST_FOLDER_KEY = "dialogs/last_folder"  # where File › Add files… / Add folder… start
SIGN_IN_TO_ADD = "Sign in to add files to the upload queue"
KEYRING_SHORT = "Sign-in not remembered"


def default_media_folder() -> str:
    """The user's Videos folder where there is one, else the home folder (never the folder
    the app happened to be started from)."""
    for location in (QStandardPaths.StandardLocation.MoviesLocation,
                     QStandardPaths.StandardLocation.HomeLocation):
        folder = QStandardPaths.writableLocation(location)
        if folder and Path(folder).is_dir():
            return folder
    return str(Path.home())


def widen_file_columns(dialog: QFileDialog) -> None:
    """Qt's own file dialog (where the platform has none) starts with a narrow Name column
    that cuts names: let the columns follow their contents as folders load."""
    for view in dialog.findChildren(QTreeView):
        header = view.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, header.count()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)


def _placeholder(text: str, icon_name: str) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.addStretch(1)
    pic = QLabel()
    pic.setPixmap(icon(icon_name).pixmap(QSize(48, 48)))
    pic.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label = QLabel(text)
    label.setObjectName("placeholder")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    layout.addWidget(pic)
    layout.addWidget(label)
    layout.addStretch(2)
    return box


class Panel(QWidget):
    """A centred card with a title, a text and buttons (first run, starting, signed out)."""

    def __init__(self, title: str, text: str = "", icon_name: str = "app") -> None:
        super().__init__()
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        self.card = QFrame()
        self.card.setObjectName("panel")
        self.card.setMaximumWidth(560)
        self.card.setMinimumWidth(420)
        row.addWidget(self.card, 3)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        layout = QVBoxLayout(self.card)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(12)
        head = QHBoxLayout()
        pic = QLabel()
        pic.setPixmap(icon(icon_name).pixmap(QSize(40, 40)))
        self.title = QLabel(title)
        self.title.setObjectName("panelTitle")
        self.title.setWordWrap(True)
        head.addWidget(pic)
        head.addWidget(self.title, 1)
        layout.addLayout(head)
        self.text = QLabel(text)
        self.text.setObjectName("panelText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.text)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.hide()
        layout.addWidget(self.progress)
        self.buttons = QHBoxLayout()
        self.buttons.addStretch(1)
        layout.addLayout(self.buttons)

    def add_button(self, text: str, *, primary: bool = False, icon_name: str = "") -> QPushButton:
        button = QPushButton(text)
        if icon_name:  # a dark icon vanishes on the primary button's accent background
            button.setIcon(icon_on_accent(icon_name) if primary else icon(icon_name))
        if primary:
            button.setProperty("primary", True)
            button.setDefault(True)
        self.buttons.addWidget(button)
        return button

    def set_text(self, text: str) -> None:
        self.text.setText(text)


class MainWindow(QMainWindow):
    """The application window. Signals are requests for the controller."""

    files_chosen = Signal(list)  # list[str] of video files the user picked (File > Add files)
    folder_chosen = Signal(str)  # a folder (File > Add folder, e.g. a card)
    refresh_requested = Signal()
    settings_requested = Signal()
    import_settings_requested = Signal()  # the first-run card: IT's settings file or link
    authenticator_requested = Signal()  # File > Set up authenticator app…
    sign_in_requested = Signal()
    sign_out_requested = Signal()
    demo_requested = Signal()
    retry_requested = Signal()  # retry the demo stack / reconnect
    about_requested = Signal()
    shortcuts_requested = Signal()
    open_log_folder_requested = Signal()
    quit_requested = Signal()
    compare_requested = Signal()  # View › Compare two recordings…

    def __init__(self, qsettings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._qsettings = qsettings
        self._split_done = False  # the library/player split was set (or restored)
        # asked in turn before the window closes (e.g. "uploads are running: quit?"); a guard
        # returns False to keep the window open. Off for an unattended quit (SIGTERM, logout)
        self._close_guards: list[Callable[[], bool]] = []
        self._sign_out_guards: list[Callable[[], bool]] = []
        self.ask_before_closing = True
        self.views: Views | None = None  # the feature views, once installed
        self.signed_in = False
        # F11: what the player's F does (set by the app once the player is installed)
        self.full_screen_handler: Callable[[], None] | None = None
        self.file_dialog: QFileDialog | None = None
        self.compare_window: QWidget | None = None  # View › Compare (the composition opens it)
        self.not_added_box: QMessageBox | None = None
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(app_icon())
        self.setObjectName("mainWindow")
        # below this the player's buttons turn into "…" and the list shows one row
        self.setMinimumSize(QSize(MIN_WIDTH, MIN_HEIGHT))
        self.resize(1200, 760)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks
        )
        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_centre()
        self._build_uploads_dock()
        self._build_status_bar()
        self.set_signed_in(None)
        self.set_online(None)
        self.restore_layout()

    # -- construction -----------------------------------------------------------------
    def _action(
        self, text: str, icon_name: str = "", shortcut: QKeySequence | str | None = None,
        tip: str = "",
    ) -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icon(icon_name))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        return action

    def _build_actions(self) -> None:
        self.action_add_files = self._action(
            "&Add files…", "add-file", "Ctrl+O", "Add video files to the upload queue")
        self.action_add_files.triggered.connect(self._choose_files)
        self.action_add_folder = self._action(
            "Add &folder…", "add-folder", "Ctrl+Shift+O",
            "Add every video in a folder (for example a glasses' SD card)")
        self.action_add_folder.triggered.connect(self._choose_folder)
        self.action_settings = self._action(
            "&Settings…", "settings", "Ctrl+,", "Connection and upload settings")
        self.action_settings.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.action_settings.triggered.connect(self.settings_requested)
        self.action_sign_in = self._action("Sign &in…", "sign-in", "Ctrl+I", "Sign in")
        self.action_sign_in.triggered.connect(self.sign_in_requested)
        self.action_sign_out = self._action(
            "Sign &out", "sign-out", "Ctrl+Shift+L", "Sign out and forget the saved sign-in")
        self.action_sign_out.triggered.connect(self._sign_out_if_allowed)
        self.action_authenticator = self._action(
            "Set up &authenticator app…", "user", None,
            "Ask for a code from an authenticator app at every sign-in (two-step sign-in)")
        self.action_authenticator.triggered.connect(self.authenticator_requested)
        self.action_quit = self._action("&Quit", "quit", "Ctrl+Q", "Quit MediSpecs Desktop")
        self.action_quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.action_quit.triggered.connect(self.quit_requested)
        self.action_refresh = self._action(
            "&Refresh", "refresh", "F5", "Reload the recordings from the cloud")
        self.action_refresh.triggered.connect(self.refresh_requested)
        # one full screen: F11 (anywhere in the app) does what F does in the player; the
        # app connects the player, until then it falls back to the whole window
        self.action_full_screen = self._action(
            "&Full screen", "fullscreen", "F11", "The player fills the screen (F11 or F)")
        self.action_full_screen.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        self.action_full_screen.triggered.connect(self._full_screen)
        self.action_compare = self._action(
            "&Compare two recordings…", "player", "Ctrl+Shift+C",
            "Two recordings side by side (for example before and after), played linked or "
            "each on its own")
        self.action_compare.triggered.connect(self.compare_requested)
        self.action_shortcuts = self._action(
            "&Keyboard shortcuts", "keyboard", "Ctrl+/", "List the keyboard shortcuts")
        self.action_shortcuts.triggered.connect(self.shortcuts_requested)
        self.action_open_logs = self._action(
            "Open &log folder", "log-folder", None, "Open the folder with the app's log files")
        self.action_open_logs.triggered.connect(self.open_log_folder_requested)
        self.action_about = self._action(f"&About {APP_NAME}", "about", None)
        self.action_about.setMenuRole(QAction.MenuRole.AboutRole)
        self.action_about.triggered.connect(self.about_requested)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.action_add_files, self.action_add_folder])
        file_menu.addSeparator()
        file_menu.addAction(self.action_settings)
        file_menu.addSeparator()
        file_menu.addActions([self.action_sign_in, self.action_authenticator,
                              self.action_sign_out])
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        self.file_menu = file_menu
        self.view_menu = bar.addMenu("&View")
        self.view_menu.addAction(self.action_refresh)
        self.view_menu.addAction(self.action_compare)
        self.view_menu.addSeparator()
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.action_shortcuts)
        help_menu.addAction(self.action_open_logs)
        help_menu.addSeparator()
        help_menu.addAction(self.action_about)
        self.help_menu = help_menu

    def _build_toolbar(self) -> None:
        bar = QToolBar("Main tool bar")
        bar.setObjectName("mainToolBar")
        bar.setMovable(False)
        bar.setIconSize(QSize(20, 20))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addActions([self.action_add_files, self.action_add_folder, self.action_refresh])
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        bar.addAction(self.action_settings)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar
        self.action_show_toolbar = bar.toggleViewAction()
        self.action_show_toolbar.setText("Show &tool bar")

    def _build_centre(self) -> None:
        centre = QWidget()
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.demo_banner = QFrame()
        self.demo_banner.setObjectName("demoBanner")
        banner_row = QHBoxLayout(self.demo_banner)
        banner_row.setContentsMargins(12, 6, 12, 6)
        banner_icon = QLabel()
        banner_icon.setPixmap(icon("demo").pixmap(QSize(18, 18)))
        self.demo_banner_label = QLabel("Demo — recordings are kept in memory and not stored")
        banner_row.addWidget(banner_icon)
        banner_row.addWidget(self.demo_banner_label, 1)
        self.demo_banner.hide()
        layout.addWidget(self.demo_banner)

        self.pages = QStackedWidget()
        layout.addWidget(self.pages, 1)
        self._pages: dict[str, QWidget] = {}

        self.welcome_panel = Panel("Welcome to MediSpecs Desktop", "", "app")
        self.welcome_import_button = self.welcome_panel.add_button(
            "Import settings…", primary=True, icon_name="settings")
        self.welcome_import_button.setToolTip(
            "Take the settings file or link your IT team gave you: no ids to type.")
        self.welcome_import_button.clicked.connect(self.import_settings_requested)
        self.welcome_settings_button = self.welcome_panel.add_button(
            "Open Settings…", icon_name="settings")
        self.welcome_settings_button.clicked.connect(self.settings_requested)
        self.welcome_demo_button = self.welcome_panel.add_button(
            "Try the demo", icon_name="demo")
        self.welcome_demo_button.setToolTip(
            "Runs a copy of the MediSpecs cloud on this computer, with sample recordings. "
            "Nothing is kept after you quit.")
        self.welcome_demo_button.clicked.connect(self.demo_requested)
        self._add_page(PAGE_WELCOME, self.welcome_panel)

        self.starting_panel = Panel(
            "Starting the demo…",
            "Starting a local, in-memory copy of the MediSpecs cloud on this computer. "
            "This takes a few seconds.", "demo")
        self.starting_panel.progress.show()
        self._add_page(PAGE_STARTING, self.starting_panel)

        self.signed_out_panel = Panel("Sign in to MediSpecs", "", "sign-in")
        self.signed_out_sign_in_button = self.signed_out_panel.add_button(
            "Sign in…", primary=True, icon_name="sign-in")
        self.signed_out_sign_in_button.clicked.connect(self.sign_in_requested)
        self._add_page(PAGE_SIGNED_OUT, self.signed_out_panel)

        self.stack_failed_panel = Panel("The demo could not start", "", "warning")
        retry = self.stack_failed_panel.add_button("Try again", primary=True, icon_name="refresh")
        retry.clicked.connect(self.retry_requested)
        self.stack_failed_panel.add_button("Open Settings…", icon_name="settings").clicked.connect(
            self.settings_requested)
        self._add_page(PAGE_STACK_FAILED, self.stack_failed_panel)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("librarySplitter")
        self.splitter.setChildrenCollapsible(False)
        self.library_view: QWidget = _placeholder(
            "Your recordings will appear here.", "library")
        self.player_view: QWidget = _placeholder(
            "Select a recording to play it.", "player")
        self.library_view.setMinimumWidth(320)
        self.player_view.setMinimumWidth(360)
        self.splitter.addWidget(self.library_view)
        self.splitter.addWidget(self.player_view)
        self.splitter.setStretchFactor(0, 3)  # the library has a list and a details pane
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([660, 540])
        self._add_page(PAGE_MAIN, self.splitter)
        self.setCentralWidget(centre)

    def _add_page(self, name: str, widget: QWidget) -> None:
        self._pages[name] = widget
        self.pages.addWidget(widget)

    def _build_uploads_dock(self) -> None:
        dock = QDockWidget("Uploads", self)
        dock.setObjectName("uploadsDock")
        dock.setAllowedAreas(
            Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.uploads_view: QWidget = _placeholder(
            "Files you add are uploaded here, one after another. "
            "Use File › Add files… or drop a card's folder.", "upload")
        self.uploads_view.setMinimumHeight(140)
        self.uploads_installed = False
        dock.setWidget(self.uploads_view)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.uploads_dock = dock
        toggle = dock.toggleViewAction()
        toggle.setText("Show &uploads")
        toggle.setShortcut(QKeySequence("Ctrl+U"))
        toggle.setIcon(icon("upload"))
        self.action_show_uploads = toggle
        self.view_menu.addAction(toggle)
        self.view_menu.addAction(self.action_show_toolbar)
        self.view_menu.addSeparator()
        self.view_menu.addAction(self.action_full_screen)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        bar.setSizeGripEnabled(True)
        self.keyring_notice = QLabel()
        self.keyring_notice.setPixmap(icon("warning").pixmap(QSize(16, 16)))
        self.keyring_notice.setToolTip(
            "No system keyring is available, so your sign-in won't be remembered after you quit.")
        self.keyring_notice.hide()
        self.keyring_text = QLabel(KEYRING_SHORT)
        self.keyring_text.setObjectName("keyringNotice")
        self.keyring_text.setToolTip(self.keyring_notice.toolTip())
        self.keyring_text.hide()
        self.bandwidth_label = QLabel()
        self.bandwidth_label.setObjectName("bandwidthLabel")
        self.bandwidth_label.hide()
        self.user_icon = QLabel()
        self.user_icon.setPixmap(icon("user").pixmap(QSize(16, 16)))
        self.user_label = QLabel()
        self.user_label.setObjectName("userLabel")
        self.online_icon = QLabel()
        self.online_label = QLabel()
        self.online_label.setObjectName("onlineLabel")
        self.uploads_label = QLabel("No uploads")
        self.uploads_label.setObjectName("uploadsLabel")
        self.uploads_bar = QProgressBar()
        self.uploads_bar.setObjectName("uploadsBar")
        self.uploads_bar.setFixedWidth(140)
        self.uploads_bar.setRange(0, 1000)
        self.uploads_bar.setTextVisible(False)
        self.uploads_bar.hide()
        for widget in (self.uploads_label, self.uploads_bar, self.bandwidth_label,
                       self.keyring_notice, self.keyring_text, self.user_icon, self.user_label,
                       self.online_icon, self.online_label):
            bar.addPermanentWidget(widget)

    # -- slots for feature views (other issues install theirs) ------------------------
    def set_library_view(self, widget: QWidget) -> None:
        """Replace the library placeholder (left of the splitter)."""
        self._replace_in_splitter(0, widget)
        self.library_view = widget

    def set_player_view(self, widget: QWidget) -> None:
        """Replace the player placeholder (right of the splitter)."""
        self._replace_in_splitter(1, widget)
        self.player_view = widget

    def set_uploads_view(self, widget: QWidget) -> None:
        """Replace the upload-queue placeholder (the bottom dock)."""
        old = self.uploads_dock.widget()
        self.uploads_dock.setWidget(widget)
        if old is not None and old is not widget:
            old.deleteLater()
        self.uploads_view = widget
        self.uploads_installed = True

    def _replace_in_splitter(self, index: int, widget: QWidget) -> None:
        sizes = self.splitter.sizes()
        old = self.splitter.replaceWidget(index, widget)
        if old is not None and old is not widget:
            old.deleteLater()
        self.splitter.setSizes(sizes)

    # -- state shown by the controller ------------------------------------------------
    def show_page(self, name: str) -> None:
        self.pages.setCurrentWidget(self._pages[name])
        signed_in_page = name == PAGE_MAIN
        self.action_refresh.setEnabled(signed_in_page)
        self.action_compare.setEnabled(signed_in_page)
        if signed_in_page and not self._split_done:
            self._default_split()
        if signed_in_page:  # after the views have filled in (sign-in runs right after)
            QTimer.singleShot(0, self, self.clamp_layout)

    # a restored Uploads dock taller than 40 % of the window is brought back to 25 %
    DOCK_TOO_TALL = 0.4
    DOCK_MAX_SHARE = 0.25

    def clamp_layout(self) -> None:
        """Sizes restored from an earlier run (another screen, an older version) are not
        trusted blindly: the library and the player each get at least their minimum width,
        and the Uploads dock gives the list back its rows if it was left very tall."""
        for view in (self.library_view, self.player_view):  # sizes of what is in them now
            layout = view.layout()
            if layout is not None:
                layout.activate()
        sizes = self.splitter.sizes()
        total = sum(sizes)
        if total > 0 and len(sizes) == 2:
            lib_min = max(self.library_view.minimumWidth(),
                          self.library_view.minimumSizeHint().width())
            player_min = max(self.player_view.minimumWidth(),
                             self.player_view.minimumSizeHint().width())
            # at (or squeezed below) a minimum: the splitter only enforced it; go back to the
            # first-start split
            if sizes[0] <= lib_min + 8 or sizes[1] <= player_min + 8:
                library = max(lib_min, int(total * LIBRARY_SHARE))
                self.splitter.setSizes([library, max(1, total - library)])
        dock = self.uploads_dock
        if (dock.isVisible() and not dock.isFloating()
                and self.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea):
            if dock.height() > int(self.height() * self.DOCK_TOO_TALL):
                limit = int(self.height() * self.DOCK_MAX_SHARE)
                self.resizeDocks([dock], [max(dock.minimumSizeHint().height(), limit)],
                                 Qt.Orientation.Vertical)

    def _default_split(self) -> None:
        """First time the library is shown (no remembered layout): give the list its share
        of the width. The splitter only hands out *extra* width by its stretch factors, so
        left alone the list keeps its small size hint and truncates every column."""
        total = self.pages.width() - self.splitter.handleWidth()
        if total <= 0 or not self.isVisible():
            return  # not laid out yet: the next show_page does it
        library = max(self.library_view.minimumWidth(), int(total * LIBRARY_SHARE))
        self.splitter.setSizes([library, max(1, total - library)])
        self._split_done = True

    def current_page(self) -> str:
        current = self.pages.currentWidget()
        return next(name for name, page in self._pages.items() if page is current)

    def show_welcome(self, missing: list[str]) -> None:
        names = {
            "api_url": "the <b>API URL</b> (https://…/ of your MediSpecs deployment)",
            "region": "the <b>AWS region</b> (for example ap-southeast-1)",
            "user_pool_id": "the <b>Cognito user pool id</b> (region_XXXXXXXXX)",
            "client_id": "the <b>app client id</b> of the user pool",
        }
        items = "".join(f"<li>{names.get(m, m)}</li>" for m in missing)
        self.welcome_panel.set_text(
            "MediSpecs isn't connected to your organisation's cloud yet. Your IT team gives "
            "you a settings file or link: choose <b>Import settings…</b>. (Or enter "
            f"{'these' if missing else 'them'} in <b>Settings</b>:<ul>{items}</ul>) "
            "You can also try the app first with the demo: it runs a local copy of the cloud "
            "on this computer and keeps nothing after you quit.")
        self.show_page(PAGE_WELCOME)

    def show_starting_stack(self) -> None:
        self.show_page(PAGE_STARTING)

    def show_stack_failed(self, reason: str, *,
                          title: str = "The demo could not start") -> None:
        self.stack_failed_panel.title.setText(title)
        self.stack_failed_panel.set_text(_html(reason))
        self.show_page(PAGE_STACK_FAILED)

    def show_signed_out(self, message: str = "") -> None:
        self.signed_out_panel.set_text(
            _html(message) if message else
            "Sign in with your MediSpecs account to see your recordings and upload new ones.")
        self.show_page(PAGE_SIGNED_OUT)

    def show_main(self) -> None:
        self.show_page(PAGE_MAIN)

    def set_demo(self, demo: bool) -> None:
        self.demo_banner.setVisible(demo)
        # Qt appends the application display name to titles that don't end with it (X11,
        # Windows): end with it, or the bar reads "MediSpecs Desktop — Demo — MediSpecs Desktop"
        self.setWindowTitle(f"Demo — {APP_NAME}" if demo else APP_NAME)

    def set_signed_in(self, username: str | None) -> None:
        if username:
            self.user_label.setText(username)
            self.user_label.setToolTip(f"Signed in as {username}")
        else:
            self.user_label.setText("Not signed in")
            self.user_label.setToolTip("")
        self.signed_in = bool(username)
        for action, tip in ((self.action_add_files, "Add video files to the upload queue"),
                            (self.action_add_folder, "Add every video in a folder (for "
                             "example a glasses' SD card)")):
            # signed out, a file could only be dropped on the floor: say why instead
            action.setEnabled(bool(username))
            text = tip if username else f"{SIGN_IN_TO_ADD} (File › Sign in…)"
            action.setToolTip(text)
            action.setStatusTip(text)
        self.action_sign_out.setEnabled(bool(username))
        self.action_sign_in.setEnabled(not username)
        self.action_sign_in.setVisible(not username)
        self.action_sign_out.setVisible(bool(username))
        self.action_authenticator.setEnabled(bool(username))
        self.action_authenticator.setVisible(bool(username))

    def set_keyring_notice(self, visible: bool, detail: str = "") -> None:
        """A warning sign and a few plain words; the technical reason in their tooltip."""
        tip = ("Your sign-in won't be remembered after you quit: this computer has no secure "
               "place to keep it." + (f"\n\nDetails for your IT team: {detail}" if detail
                                      else ""))
        for label in (self.keyring_notice, self.keyring_text):
            label.setToolTip(tip)
            label.setVisible(visible)

    def set_bandwidth_limit(self, kbps: int) -> None:
        """Say in the status bar when uploads are capped (Settings › Bandwidth limit)."""
        if kbps > 0:
            speed = (f"{kbps / 1000:g} Mbit/s" if kbps >= 1000 else f"{kbps} kbit/s")
            self.bandwidth_label.setText(f"Upload limit {speed}")
            self.bandwidth_label.setToolTip(
                f"Uploads are capped at {speed} (Settings › Uploads › Bandwidth limit).")
        self.bandwidth_label.setVisible(kbps > 0)

    def set_not_configured(self) -> None:
        """No cloud set up yet: nothing to check, so don't say "Checking…" forever."""
        self.set_online(None, "MediSpecs isn't connected to a cloud yet: see Settings.")
        self.online_label.setText("Not set up")

    def set_online(self, online: bool | None, detail: str = "") -> None:
        """None = not known yet (checking)."""
        if online is None:
            name, text = "unknown", "Checking…"
        elif online:
            name, text = "online", "Online"
        else:
            name, text = "offline", "Offline"
        self.online_icon.setPixmap(icon(name).pixmap(QSize(14, 14)))
        self.online_label.setText(text)
        self.online_label.setToolTip(detail or text)
        self.online_state = online

    def set_upload_totals(
        self, files_done: int, files_total: int, bytes_done: int, bytes_total: int
    ) -> None:
        """Status-bar summary of the upload queue (called by the uploads view)."""
        if files_total <= 0:
            self.uploads_label.setText("No uploads")
            self.uploads_bar.hide()
            return
        text = (f"Uploaded {files_done} of {files_total} · "
                f"{format_size(bytes_done)} of {format_size(bytes_total)}")
        if text != self.uploads_label.text():  # repaint only on a visible change
            self.uploads_label.setText(text)
        # whole percent (range 0..1000 in steps of 10): bytes that move it by less repaint
        # nothing
        self.uploads_bar.setValue(10 * (100 * bytes_done // bytes_total) if bytes_total else 0)
        self.uploads_bar.setVisible(files_done < files_total)

    def show_message(self, text: str, timeout_ms: int = 6000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    # -- user actions -----------------------------------------------------------------
    def start_folder(self) -> str:
        """The folder the file dialogs open in: the last one used (remembered across
        starts), else Videos, else home."""
        last = self._qsettings.value(LAST_FOLDER_KEY) if self._qsettings is not None else None
        if isinstance(last, str) and last and Path(last).is_dir():
            return last
        return default_media_folder()

    def _remember_folder(self, folder: str) -> None:
        if self._qsettings is not None and folder:
            self._qsettings.setValue(LAST_FOLDER_KEY, folder)

    def _file_dialog(self, title: str, *, folders: bool) -> QFileDialog:
        dialog = QFileDialog(self, title, self.start_folder())
        dialog.setObjectName("addFolderDialog" if folders else "addFilesDialog")
        if folders:
            dialog.setFileMode(QFileDialog.FileMode.Directory)
            dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        else:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
            dialog.setNameFilter(VIDEO_FILTER)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.resize(max(dialog.width(), 860), max(dialog.height(), 520))
        widen_file_columns(dialog)
        self.file_dialog = dialog
        dialog.destroyed.connect(lambda *_: self._forget_file_dialog(dialog))
        return dialog

    def _forget_file_dialog(self, dialog: QFileDialog) -> None:
        if getattr(self, "file_dialog", None) is dialog:
            self.file_dialog = None

    def _chosen(self, paths: list[str], *, folder: bool) -> None:
        if not paths:
            return
        first = Path(paths[0])
        self._remember_folder(str(first if folder else first.parent))
        if not self.signed_in:  # the session ended while the dialog was open
            self.show_not_added(len(paths))
            return
        if folder:
            self.folder_chosen.emit(paths[0])
        else:
            self.files_chosen.emit(list(paths))

    def show_not_added(self, count: int) -> None:
        what = "the file was" if count == 1 else f"the {count} files were"
        box = QMessageBox(QMessageBox.Icon.Information, SIGN_IN_TO_ADD,
                          f"You are signed out, so {what} not added to the upload queue.\n\n"
                          "Sign in, then add them again.",
                          QMessageBox.StandardButton.Close, self)
        box.setObjectName("notAddedSignedOut")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        sign_in = box.addButton("Sign in…", QMessageBox.ButtonRole.AcceptRole)
        sign_in.clicked.connect(self.sign_in_requested)
        self.not_added_box = box
        box.open()

    def _choose_files(self) -> None:
        dialog = self._file_dialog("Add video files", folders=False)
        dialog.filesSelected.connect(lambda files: self._chosen(list(files), folder=False))
        dialog.open()

    def _choose_folder(self) -> None:
        dialog = self._file_dialog("Add a folder of videos", folders=True)
        dialog.fileSelected.connect(lambda folder: self._chosen([folder], folder=True))
        dialog.open()

    def _full_screen(self) -> None:
        if self.full_screen_handler is not None:
            self.full_screen_handler()
        elif self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def all_actions(self) -> list[QAction]:
        """Every menu action (for the keyboard-shortcuts list)."""
        seen: list[QAction] = []
        for menu in (self.file_menu, self.view_menu, self.help_menu):
            for action in menu.actions():
                if not action.isSeparator() and action not in seen:
                    seen.append(action)
        return seen

    # -- geometry ---------------------------------------------------------------------
    def _default_size(self) -> None:
        """First start: 85 % of the screen (at most 1440 x 900), never below the minimum,
        centred on the screen (left to the window manager it may hang off the bottom)."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            return
        available = screen.availableGeometry()
        width = max(self.minimumWidth(), min(1440, int(available.width() * 0.85)))
        height = max(self.minimumHeight(), min(900, int(available.height() * 0.85)))
        self.resize(width, height)
        self.move(available.x() + max(0, (available.width() - width) // 2),
                  available.y() + max(0, (available.height() - height) // 2))

    def restore_layout(self) -> None:
        geometry = self._qsettings.value("window/geometry") if self._qsettings else None
        if geometry is None:
            self._default_size()
        if self._qsettings is None:
            return
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self._qsettings.value("window/state")
        if state is not None:
            self.restoreState(state)
        splitter = self._qsettings.value("window/splitter")
        if splitter is not None:
            self._split_done = bool(self.splitter.restoreState(splitter))

    def save_layout(self) -> None:
        if self._qsettings is None:
            return
        self._qsettings.setValue("window/geometry", self.saveGeometry())
        self._qsettings.setValue("window/state", self.saveState())
        if self._split_done:  # never saved before the library was shown and laid out
            self._qsettings.setValue("window/splitter", self.splitter.saveState())
        self._qsettings.sync()

    def add_close_guard(self, guard: Callable[[], bool]) -> None:
        """``guard()`` runs before the window closes (window close, File › Quit, Ctrl+Q) and
        may ask the user; False keeps the window open."""
        self._close_guards.append(guard)

    def add_sign_out_guard(self, guard: Callable[[], bool]) -> None:
        """``guard()`` runs when the user signs out from the menu (not from the lock screen)
        and may ask; False keeps the user signed in."""
        self._sign_out_guards.append(guard)

    def _sign_out_if_allowed(self) -> None:
        if all(guard() for guard in self._sign_out_guards):
            self.sign_out_requested.emit()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.ask_before_closing and not all(guard() for guard in self._close_guards):
            event.ignore()
            return
        self.save_layout()
        super().closeEvent(event)


def close_without_asking(app: QApplication) -> None:
    """An unattended quit is coming (SIGTERM, the OS session ending): the main windows
    close without asking anything."""
    for widget in app.topLevelWidgets():
        if isinstance(widget, MainWindow):
            widget.ask_before_closing = False


def _html(text: str) -> str:
    return escape(text).replace("\n", "<br>")
