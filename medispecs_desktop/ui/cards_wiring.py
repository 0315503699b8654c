"""SD-card import in the main window: a card inserted while someone is signed in (found by
:class:`~medispecs_desktop.ui.card_import.CardMonitor`, which also honours
``MEDISPECS_CARD_ROOTS``) opens the :class:`~medispecs_desktop.ui.card_import.CardImportDialog`
bound to the upload queue and the API; File › Import from card… does the same for a folder the
user picks. Card polling runs only while an upload queue is open (someone is signed in)."""

from __future__ import annotations

import concurrent.futures as cf
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from medispecs_desktop.core.card_scan import scan_and_classify
from medispecs_desktop.core.cards import (
    Card,
    QueueIndex,
    check_card_with_api,
    erase_verified,
)
from medispecs_desktop.ui.card_import import CardImportDialog, CardMonitor

log = logging.getLogger(__name__)


class _OpenTasks:
    """The app's task runner for the card monitor's timer: once the app is shutting down
    (runner closed) a poll is dropped instead of raising in the event loop."""

    def __init__(self, tasks: Any) -> None:
        self._tasks = tasks

    def run(self, kind: str, fn: Callable[[], Any], on_done: Any = None,
            on_error: Any = None) -> cf.Future[Any]:
        if self._tasks.closed:
            future: cf.Future[Any] = cf.Future()
            future.cancel()
            return future
        return self._tasks.run(kind, fn, on_done, on_error)  # type: ignore[no-any-return]


class CardImport(QObject):
    """Opens one import dialog per card; see the module doc."""

    def __init__(self, window: Any, ctx: Any, panel: Any, *,
                 monitor: CardMonitor | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.ctx = ctx
        self.service = panel.service
        self.monitor = monitor or CardMonitor(_OpenTasks(ctx.tasks), parent=self)
        self.dialogs: dict[str, CardImportDialog] = {}
        self.monitor.inserted.connect(self.card_inserted)
        self.monitor.removed.connect(self.card_removed)
        self.service.engine_changed.connect(self._engine_changed)
        self.action = QAction("Import from &card…", window)
        self.action.setShortcut(QKeySequence("Ctrl+Shift+I"))
        self.action.setStatusTip("Import the recordings of a glasses' card (or any folder), "
                                 "see which are already uploaded, and erase verified ones")
        self.action.triggered.connect(self.choose_folder)
        self.action.setEnabled(False)
        menu = getattr(window, "file_menu", None)
        if menu is not None:
            actions = menu.actions()
            anchor = getattr(window, "action_add_folder", None)
            after = actions.index(anchor) + 1 if anchor in actions else 0
            menu.insertAction(actions[after] if after < len(actions) else None, self.action)

    def _engine_changed(self, engine: Any) -> None:
        self.action.setEnabled(engine is not None)
        if engine is not None:
            self.monitor.start()
        else:
            self.monitor.stop()
            for dialog in list(self.dialogs.values()):
                dialog.close()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Import from a card or folder")
        if folder:
            root = Path(folder)
            self.open_dialog(Card(root=root, label=root.name or str(root), reason="chosen"))

    def card_inserted(self, card: Card) -> None:
        if self.service.engine is None:
            self.window.show_message(f"Card {card.label} found: sign in to import it.")
            return
        self.open_dialog(card)

    def card_removed(self, card: Card) -> None:
        dialog = self.dialogs.get(card.key)
        if dialog is not None:
            dialog.card_removed()

    def open_dialog(self, card: Card) -> CardImportDialog | None:
        engine, api, ctx = self.service.engine, self.ctx.api, self.ctx
        if engine is None or api is None:
            self.window.show_message("Sign in to import recordings.")
            return None
        existing = self.dialogs.get(card.key)
        if existing is not None:
            existing.raise_()
            existing.activateWindow()
            return existing
        demo = bool(ctx.demo)
        root = card.root
        dialog = CardImportDialog(
            card.label, tasks=ctx.tasks, parent=self.window, demo=demo,
            scan=lambda: scan_and_classify(
                root, queued=lambda: QueueIndex.from_jobs(engine.jobs()),
                find_duplicates=api.find_duplicates),
            queue_paths=engine.add_paths,
            verify=lambda clips: check_card_with_api(clips, api),
            erase=lambda clips, checks: erase_verified(clips, checks, demo=demo))
        dialog.follow_jobs(engine.subscribe_jobs, ctx.tasks.call_soon)
        dialog.imported.connect(lambda _paths: self._imported())
        dialog.finished.connect(lambda _r: self._forget(card.key, dialog))
        self.dialogs[card.key] = dialog
        dialog.show()
        return dialog

    def _imported(self) -> None:
        self.window.uploads_dock.show()

    def _forget(self, key: str, dialog: CardImportDialog) -> None:
        if self.dialogs.get(key) is dialog:
            del self.dialogs[key]
        dialog.deleteLater()


def install_card_import(window: Any, ctx: Any, panel: Any) -> CardImport:
    """Wire card import into the window (called by ``ui.app.install_views``)."""
    wiring = CardImport(window, ctx, panel)
    window.card_import = wiring
    return wiring


__all__ = ["CardImport", "install_card_import"]
