"""The library as the main window shows it, driven by the app's ``AppContext``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QVBoxLayout, QWidget

from medispecs_desktop.core.config import Settings
from medispecs_desktop.core.library import LocalQueueItem
from medispecs_desktop.core.library_cache import LibraryCache
from medispecs_desktop.core.thumbnail_cache import ThumbnailCache
from medispecs_desktop.ui.library.common import API_KIND, submit
from medispecs_desktop.ui.library.widget import LibraryWidget

if TYPE_CHECKING:
    from medispecs_desktop.ui.app import AppContext

log = logging.getLogger(__name__)


class LibraryView(QWidget):
    """On sign-in it opens the user's private listing and thumbnail caches and a
    :class:`LibraryWidget` over ``ctx.api``; on sign-out it removes the widget and deletes the
    caches (and the resume positions). New settings close the library only when they gave the
    app a new connection (a new ``ctx.api``); a bandwidth limit or an idle timeout leaves it
    as it is.
    """

    playRequested = Signal(object)  # Video
    videoUpdated = Signal(object)  # Video
    videoRemoved = Signal(str)  # video id
    status = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.library: LibraryWidget | None = None
        self._local_items: list[LocalQueueItem] = []
        # local first: True when the upload queue has the file for a videoId (composition)
        self.has_local_copy: Callable[[str], bool] | None = None
        self.ask_quit: Callable[[str, str, str], bool] = self._ask_quit
        self.quit_box: QMessageBox | None = None  # while the unsaved-edits question is shown
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._empty = QLabel("Sign in to see your recordings.")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self._empty)
        ctx.signed_in.connect(self._on_signed_in)
        ctx.signed_out.connect(self._on_signed_out)
        ctx.settings_changed.connect(self._on_settings_changed)
        if ctx.user is not None:
            self._on_signed_in(ctx.user)

    def _on_settings_changed(self, _settings: Settings) -> None:
        library = self.library
        if library is not None and library.api is not self.ctx.api:
            self._close_library()  # a new connection: the old API's listing is not it

    def _on_signed_in(self, user: Any) -> None:
        self._close_library()
        api = self.ctx.api
        if api is None:
            return
        user_id = str(getattr(user, "sub", "") or getattr(user, "username", ""))
        cache_dir = self.ctx.paths.cache_dir
        cache: LibraryCache | None
        try:
            cache = LibraryCache(cache_dir, user_id)
        except (OSError, ValueError) as exc:
            log.warning("Offline listing cache unavailable: %s", exc)
            cache = None
        thumbnails = ThumbnailCache(cache_dir, user_id) if user_id else None
        library = LibraryWidget(api, self.ctx.tasks, online=self.ctx.monitor, cache=cache,
                                thumbnails=thumbnails)
        library.has_local_copy = self.has_local_copy
        library.playRequested.connect(self.playRequested)
        library.videoUpdated.connect(self.videoUpdated)
        library.videoRemoved.connect(self.videoRemoved)
        library.status.connect(self.status)
        self._empty.setVisible(False)
        self._layout.addWidget(library)
        library.show()  # now, not on the next turn: the window sizes its panes by it
        self.library = library
        if self._local_items:
            library.set_local_items(self._local_items)
        library.start()

    def _close_library(self) -> None:
        library = self.library
        if library is None:
            return
        self.library = None
        library.shutdown()
        if library.cache is not None:
            library.cache.close()
        library.setParent(None)
        library.deleteLater()
        self._empty.setVisible(True)

    def _on_signed_out(self) -> None:
        self._close_library()
        paths = self.ctx.paths

        def clear() -> None:
            from medispecs_desktop.core import library_cache, thumbnail_cache
            from medispecs_desktop.ui import positions

            library_cache.clear_all(paths.cache_dir)
            thumbnail_cache.clear_all(paths.cache_dir)
            positions.clear_all(paths.data_dir)

        submit(self.ctx.tasks, API_KIND, clear, None,
               lambda exc: log.warning("Could not clear the caches: %s", exc))

    def confirm_quit(self) -> bool:
        """The main window's close guard: titles or notes typed and not saved are never
        dropped without a question. True = quit."""
        return self._confirm_dropping_edits("Quit MediSpecs", "quit", "Quit without saving")

    def confirm_sign_out(self) -> bool:
        """The main window's sign-out guard (File › Sign out, asked by the user signed in; the
        lock screen's Sign out is someone else taking the workstation: not asked). True =
        sign out."""
        return self._confirm_dropping_edits("Sign out", "sign out", "Sign out without saving")

    def _confirm_dropping_edits(self, title: str, verb: str, action: str) -> bool:
        library = self.library
        count = library.unsaved() if library is not None else 0
        if count == 0:
            return True
        what = "one recording" if count == 1 else f"{count} recordings"
        return self.ask_quit(
            f"You have unsaved changes to the title or notes of {what}. If you {verb} now, "
            "they are lost. Go back to save them (or revert them).", title, action)

    def _ask_quit(self, text: str, title: str, action: str) -> bool:
        from medispecs_desktop.ui.confirm import ask

        return ask(self.window(), title=title, text=text,
                   action=action, cancel="Go back", name="unsavedQuestion",
                   destructive=True, shown=lambda box: setattr(self, "quit_box", box))

    def refresh(self) -> None:
        if self.library is not None:
            self.library.refresh()

    def insert_new(self) -> None:
        """Hook for the upload queue: finished uploads join the list (no reset)."""
        if self.library is not None:
            self.library.insert_new()

    def set_local_items(self, items: Sequence[LocalQueueItem]) -> None:
        """Hook for the upload queue: its jobs not yet in the cloud listing."""
        self._local_items = list(items)
        if self.library is not None:
            self.library.set_local_items(self._local_items)
