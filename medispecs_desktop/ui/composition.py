"""The composition root of the feature views: builds the library, the player, the upload
queue, card import, the Trash and the idle lock, puts them into the main window's slots and
connects every signal that goes from one feature to another. Features never look each other
up; what one tells another is wired here, once.

* library → player: Play / double-click opens it; edits and deletes follow the open one.
* upload queue → library: queued recordings show on top; finished ones join the list.
* upload queue → status bar: totals and messages; → online monitor: a job that lost the
  connection makes the monitor check at once; monitor → engine: every answer.
* window → library: View › Refresh (F5); → upload queue: File › Add files…/folder…, drops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction

from medispecs_desktop.core.local_copies import LocalCandidate, find_candidate
from medispecs_desktop.ui.dropzone import DropZone
from medispecs_desktop.ui.library.view import LibraryView
from medispecs_desktop.ui.main_window import MainWindow
from medispecs_desktop.ui.notify import Notifier
from medispecs_desktop.ui.player import PlayerView
from medispecs_desktop.ui.uploads.panel import UploadsPanel
from medispecs_desktop.ui.uploads.service import UploadService

if TYPE_CHECKING:
    from medispecs_desktop.ui.app import AppContext
    from medispecs_desktop.ui.cards_wiring import CardImport
    from medispecs_desktop.ui.idle_lock import IdleLock

EngineFactory = Callable[[Any, str], Any]


@dataclass
class Views:
    """Every feature view of the window (what tests and the app reach them by)."""

    library: LibraryView
    player: PlayerView
    uploads: UploadsPanel
    service: UploadService
    drops: DropZone
    cards: CardImport
    trash: QAction
    idle_lock: IdleLock


def compose(window: MainWindow, ctx: AppContext, *,
            engine_factory: EngineFactory | None = None,
            notifier: Notifier | None = None) -> Views:
    from medispecs_desktop.ui.cards_wiring import install_card_import
    from medispecs_desktop.ui.icons import icon
    from medispecs_desktop.ui.idle_lock import install_idle_lock
    from medispecs_desktop.ui.trash import install_trash

    library, player = _library_and_player(window, ctx)
    service, panel, drops = _uploads(window, ctx, engine_factory=engine_factory,
                                     notifier=notifier)
    _uploads_to_library(service, library)
    _local_first(service, library, player)
    _compare(window, ctx, library, player)
    cards = install_card_import(window, ctx, panel)
    if cards.action.icon().isNull():  # every File-menu item has an icon
        cards.action.setIcon(icon("card"))
    trash = install_trash(window, ctx)  # View ▸ Trash
    idle_lock = install_idle_lock(window, ctx, player.controller.pause)  # automatic logoff
    return Views(library=library, player=player, uploads=panel, service=service, drops=drops,
                 cards=cards, trash=trash, idle_lock=idle_lock)


def _library_and_player(window: MainWindow, ctx: AppContext) -> tuple[LibraryView, PlayerView]:
    """Double-click/Play opens the player, View ▸ Refresh (F5) reloads the library, and the
    player's shortcuts are listed in the View menu (and so in Help ▸ Keyboard shortcuts)."""
    library = LibraryView(ctx)
    player = PlayerView(ctx)
    library.playRequested.connect(player.open_video)
    # the player follows edits of the open recording: renamed, or deleted
    library.videoUpdated.connect(player.controller.update_video)
    library.videoRemoved.connect(player.controller.forget_video)
    library.status.connect(window.show_message)
    window.refresh_requested.connect(library.refresh)
    window.add_close_guard(library.confirm_quit)  # unsaved titles/notes: asked before quitting
    window.add_sign_out_guard(library.confirm_sign_out)  # ... and before signing out
    window.set_library_view(library)
    window.set_player_view(player)
    window.view_menu.addSeparator()
    window.view_menu.addActions(player.actions_for_menu())
    window.full_screen_handler = player.widget.toggle_fullscreen  # one full screen: F11 = F
    return library, player


def _uploads(window: MainWindow, ctx: AppContext, *, engine_factory: EngineFactory | None,
             notifier: Notifier | None) -> tuple[UploadService, UploadsPanel, DropZone]:
    """The dock's panel, drops on the window, File › Add files…/Add folder…, the status-bar
    totals, notifications, and the online monitor."""
    if notifier is None:
        def bring_to_front() -> None:
            window.showNormal()
            window.raise_()
            window.activateWindow()
            window.uploads_dock.show()

        notifier = Notifier(window.show_message, icon=window.windowIcon(),
                            on_activate=bring_to_front, parent=window)
    service = UploadService(ctx, notifier=notifier, engine_factory=engine_factory,
                            parent=window)
    panel = UploadsPanel(service)
    window.set_uploads_view(panel)
    window.files_chosen.connect(service.add_paths)
    window.folder_chosen.connect(lambda folder: service.add_paths([folder]))
    drops = DropZone(window, hint=lambda text: window.show_message(text, 3000) if text
                     else window.statusBar().clearMessage(), refusal=service.drop_refusal)
    drops.paths_dropped.connect(service.add_paths)
    drops.refused.connect(panel.drop_refused)
    panel.signInRequested.connect(window.sign_in_requested)
    panel.message.connect(window.show_message)
    window.add_close_guard(panel.confirm_quit)  # quitting while uploads run asks first
    service.totals_changed.connect(window.set_upload_totals)
    service.message.connect(window.show_message)
    # one source of "online": a job that lost the connection makes the monitor look now,
    # and the engine follows every answer of the monitor
    service.network_doubted.connect(ctx.monitor.check_now)
    ctx.monitor.checked.connect(service.network_changed)

    def show_dock(result: Any) -> None:
        if result.added:
            window.uploads_dock.show()
            window.uploads_dock.raise_()

    service.added.connect(show_dock)
    return service, panel, drops


def _local_first(service: UploadService, library: LibraryView, player: PlayerView) -> None:
    """A clip still on this computer or card (its upload queue job) plays from its file."""

    def candidate(video_id: str) -> LocalCandidate | None:
        return find_candidate(service.model.jobs(), video_id)

    player.controller.local_copies = candidate
    library.has_local_copy = lambda video_id: candidate(video_id) is not None


def _compare(window: MainWindow, ctx: AppContext, library: LibraryView,
             player: PlayerView) -> None:
    """View › Compare two recordings…: the recording selected in the library on the left,
    the next one in the list on the right (each side can choose another)."""

    def open_compare() -> None:
        from medispecs_desktop.ui.player.compare import CompareWindow

        widget = library.library
        local = player.controller.local_copies
        videos = [] if widget is None else [
            v for v in widget.model.videos
            if v.has_bytes or (local is not None and local(v.video_id) is not None)]
        if len(videos) < 2:
            window.show_message("Compare needs two recordings that can be played.", 10_000)
            return
        selected = widget.details.video if widget is not None else None
        ids = [v.video_id for v in videos]
        left = ids.index(selected.video_id) if selected and selected.video_id in ids else 0
        compare = CompareWindow(videos, player.playback_url, ctx.tasks, left=left,
                                right=(left + 1) % len(videos), local_copies=local,
                                parent=window)
        window.compare_window = compare
        compare.show()

    window.compare_requested.connect(open_compare)


def _uploads_to_library(service: UploadService, library: LibraryView) -> None:
    service.local_items_changed.connect(library.set_local_items)
    service.library_changed.connect(library.insert_new)  # no reset: scroll stays
