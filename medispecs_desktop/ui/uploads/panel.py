"""The Uploads dock: a tool bar, the jobs table (a context menu per row, keys while it has
the focus), a notice about the queue itself, and the "Files not added" list."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QModelIndex, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QStyle,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.formatting import plural
from medispecs_desktop.core.uploads.jobs import Job
from medispecs_desktop.core.uploads.presentation import FINISHED, is_harmless, quit_question
from medispecs_desktop.core.uploads.states import Command, job_commands
from medispecs_desktop.ui.confirm import ask
from medispecs_desktop.ui.uploads.model import (
    COL_ERROR,
    COL_FINISH,
    COL_NAME,
    COL_PROGRESS,
    COL_SIZE,
    COL_SPEED,
    COL_STATE,
    ProgressDelegate,
)
from medispecs_desktop.ui.uploads.service import (
    OPENING_HINT,
    SIGNED_OUT_HINT,
    UploadService,
)
from medispecs_desktop.ui.uploads.skipped import SkippedDialog

log = logging.getLogger(__name__)


def _allowed(jobs: Iterable[Job]) -> frozenset[Command]:
    """The commands at least one of ``states`` allows."""
    return frozenset().union(*(job_commands(j) for j in jobs))

EMPTY_HINT = ("Files you add are uploaded here, one after another. Drop files or folders on "
              "the window, or use File › Add files… to choose them.")
SIGNED_OUT_TIP = "Sign in to see and control your uploads"
OPENING_TIP = "Your upload queue is opening…"


_OP_ICONS = {
    "pause": QStyle.StandardPixmap.SP_MediaPause,
    "resume": QStyle.StandardPixmap.SP_MediaPlay,
    "cancel": QStyle.StandardPixmap.SP_DialogCancelButton,
    "retry": QStyle.StandardPixmap.SP_BrowserReload,
    "upload_next": QStyle.StandardPixmap.SP_ArrowUp,
    "remove": QStyle.StandardPixmap.SP_TrashIcon,
}


class QueueTable(QTableView):
    """The jobs table. Its size hint is a few rows high (not Qt's 192 px default): the dock
    that holds it takes its hint when the first file is queued, and must not squeeze the
    library and the player to make room for rows that are not there."""

    HINT_ROWS = 3

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        rows = self.verticalHeader().defaultSectionSize() * self.HINT_ROWS
        frame = 2 * self.frameWidth()
        return QSize(hint.width(), self.horizontalHeader().sizeHint().height() + rows + frame)


class UploadsPanel(QWidget):
    """The Uploads dock: a tool bar, the jobs table and a per-row context menu."""

    message = Signal(str, int)  # for the status bar: text, milliseconds
    signInRequested = Signal()

    def __init__(self, service: UploadService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("uploadsPanel")
        self.service = service
        self.confirm: Callable[[str], bool] = self._ask
        self.confirm_damaged: Callable[[str], bool] = self._ask_damaged
        self.ask_quit: Callable[[str], bool] = self._ask_quit
        self.quit_box: QMessageBox | None = None  # while the quit question is shown
        self.sign_in_box: QMessageBox | None = None  # "Sign in to upload" after a drop
        self.skipped_dialog: SkippedDialog | None = None
        self.model = service.model

        self.toolbar = QToolBar("Uploads")
        self.toolbar.setObjectName("uploadsToolBar")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.action_pause = self._action("Pause", "Pause the selected uploads", "pause")
        self.action_resume = self._action("Resume", "Resume the selected uploads", "resume")
        self.action_cancel = self._action("Cancel…", "Cancel the selected uploads", "cancel")
        self.action_retry = self._action("Retry", "Try the selected failed uploads again",
                                         "retry")
        self.action_next = self._action("Upload next", "Move the selected uploads to the "
                                         "front of the queue", "upload_next")
        self.action_remove = self._action("Remove", "Remove the selected finished uploads "
                                          "from the list", "remove")
        self.action_damaged = self._action(
            "Upload as damaged…", "Keep the selected damaged recordings: upload them as they "
            "are, verified, and mark them damaged in the library", "upload_as_damaged")
        self.action_pause_all = QAction("Pause all", self)
        self.action_pause_all.setToolTip("Pause every upload")
        self.action_pause_all.triggered.connect(service.pause_all)
        self.action_resume_all = QAction("Resume all", self)
        self.action_resume_all.setToolTip("Resume every paused or waiting upload")
        self.action_resume_all.triggered.connect(service.resume_all)
        self.action_remove_finished = QAction("Remove finished", self)
        self.action_remove_finished.setToolTip("Remove uploaded and cancelled files from the "
                                               "list (the recordings stay in the cloud)")
        self.action_remove_finished.triggered.connect(service.remove_finished)
        for action in (self.action_pause, self.action_resume, self.action_cancel,
                       self.action_retry, self.action_next):
            self.toolbar.addAction(action)
        # keys work while the queue has the focus (they don't clash with the player's)
        for action, key in ((self.action_remove, QKeySequence.StandardKey.Delete),
                            (self.action_retry, QKeySequence("Ctrl+R")),
                            (self.action_next, QKeySequence("Ctrl+Up")),
                            (self.action_pause, QKeySequence("Ctrl+P")),
                            (self.action_resume, QKeySequence("Ctrl+Shift+P"))):
            action.setShortcut(key)
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
        self.toolbar.addSeparator()
        self.toolbar.addActions([self.action_pause_all, self.action_resume_all,
                                 self.action_remove_finished])

        self.table = QueueTable()
        self.table.setObjectName("uploadsTable")
        self.table.setAccessibleName("Upload queue")
        self.table.setTabKeyNavigation(False)  # Tab leaves the queue: one stop, not a cell
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(COL_PROGRESS, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_ERROR, QHeaderView.ResizeMode.Interactive)
        for col, width in ((COL_SIZE, 80), (COL_PROGRESS, 140), (COL_SPEED, 90),
                           (COL_FINISH, 80), (COL_STATE, 150), (COL_ERROR, 220)):
            self.table.setColumnWidth(col, width)
        self.empty = QLabel(EMPTY_HINT)
        self.empty.setObjectName("placeholder")
        self.empty.setWordWrap(True)
        # about the queue itself (repaired after damage, locked by another program)
        self.notice = QLabel()
        self.notice.setObjectName("queueNotice")
        self.notice.setWordWrap(True)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice_button = QPushButton()
        self.notice_button.clicked.connect(self._notice_clicked)
        notice_row = QHBoxLayout()
        notice_row.addWidget(self.notice, 1)
        notice_row.addWidget(self.notice_button, 0, Qt.AlignmentFlag.AlignTop)
        # files a drop or "Add folder…" left out, when they are only not videos
        self._skipped: tuple[list[Any], int, int] | None = None
        self.skipped_label = QLabel()
        self.skipped_label.setObjectName("skippedNotice")
        self.skipped_label.setWordWrap(True)
        self.skipped_details = QPushButton("Details…")
        self.skipped_details.setAccessibleName("Details of the files not added")
        self.skipped_details.clicked.connect(self.show_skipped)
        self.skipped_dismiss = QPushButton("Dismiss")
        self.skipped_dismiss.setAccessibleName("Dismiss the files not added")
        self.skipped_dismiss.clicked.connect(self._dismiss_skipped)
        self._dismiss_skipped()
        skipped_row = QHBoxLayout()
        skipped_row.addWidget(self.skipped_label, 1)
        skipped_row.addWidget(self.skipped_details, 0, Qt.AlignmentFlag.AlignTop)
        skipped_row.addWidget(self.skipped_dismiss, 0, Qt.AlignmentFlag.AlignTop)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 4)
        top = QHBoxLayout()
        top.addWidget(self.toolbar, 1)
        layout.addLayout(top)
        layout.addLayout(notice_row)
        layout.addLayout(skipped_row)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)

        self.table.selectionModel().selectionChanged.connect(self.update_actions)
        # not on dataChanged: progress changes it ten times a second, states come with jobs
        for signal in (self.model.modelReset, self.model.rowsInserted, self.model.rowsRemoved,
                       service.jobs_applied):
            signal.connect(self.update_actions)
        service.engine_changed.connect(lambda _e: self.update_actions())
        service.ctx.signed_in.connect(lambda _u: self.update_actions())
        service.ctx.signed_out.connect(self.update_actions)
        service.added.connect(self._show_added)
        service.notice_changed.connect(self._show_notice)
        self._show_notice(service.notice, service.notice_can_retry)
        self._tips = {a: a.toolTip() for a in self.queue_actions()}
        self.update_actions()

    def _show_notice(self, text: str, can_retry: bool) -> None:
        self.notice.setText(text)
        self.notice_button.setText("Try again" if can_retry else "Dismiss")
        self.notice.setVisible(bool(text))
        self.notice_button.setVisible(bool(text))

    def _notice_clicked(self) -> None:
        if self.service.notice_can_retry:
            self.service.retry_attach()
        else:
            self.service.dismiss_notice()

    def _action(self, text: str, tip: str, op: str) -> QAction:
        action = QAction(text, self)
        pixmap = _OP_ICONS.get(op)
        if pixmap is not None:
            action.setIcon(self.style().standardIcon(pixmap))
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(lambda: self.trigger(op))
        return action

    def queue_actions(self) -> list[QAction]:
        """Every control of the queue (tool bar, context menu, keys)."""
        return [self.action_pause, self.action_resume, self.action_cancel, self.action_retry,
                self.action_next, self.action_remove, self.action_damaged,
                self.action_pause_all,
                self.action_resume_all, self.action_remove_finished]

    # -- selection & actions ----------------------------------------------------------
    def selected_jobs(self) -> list[Job]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [j for j in (self.model.job_at(r) for r in rows) if j is not None]

    def select_jobs(self, job_ids: Iterable[int]) -> None:
        selection = self.table.selectionModel()
        selection.clearSelection()
        for job_id in job_ids:
            row = self.model.row_of(job_id)
            if row is not None:
                selection.select(self.model.index(row, 0),
                                 selection.SelectionFlag.Select
                                 | selection.SelectionFlag.Rows)

    def update_actions(self, *_: Any) -> None:
        # which commands the rows allow comes from the engine's transition table
        selected = _allowed(self.selected_jobs())
        ready = self.service.ready
        self.action_pause.setEnabled(ready and Command.PAUSE in selected)
        self.action_resume.setEnabled(ready and Command.RESUME in selected)
        self.action_cancel.setEnabled(ready and Command.CANCEL in selected)
        self.action_retry.setEnabled(ready and Command.RETRY in selected)
        self.action_next.setEnabled(ready and Command.UPLOAD_NEXT in selected)
        self.action_remove.setEnabled(ready and Command.REMOVE in selected)
        self.action_damaged.setEnabled(ready and Command.UPLOAD_DAMAGED in selected)
        all_states = {j.state for j in self.model.jobs()}
        every = _allowed(self.model.jobs())
        self.action_pause_all.setEnabled(ready and Command.PAUSE in every)
        self.action_resume_all.setEnabled(ready and Command.RESUME in every)
        self.action_remove_finished.setEnabled(ready and bool(all_states & FINISHED))
        # without a queue, every control says why it is off
        signed_in = self.service.signed_in
        why = "" if ready else (OPENING_TIP if signed_in else SIGNED_OUT_TIP)
        for action, tip in self._tips.items():
            text = tip if not why else why
            if action.toolTip() != text:
                action.setToolTip(text)
                action.setStatusTip(text)
        hint = EMPTY_HINT if ready else (OPENING_HINT if signed_in else SIGNED_OUT_HINT)
        if self.empty.text() != hint:
            self.empty.setText(hint)
        has_rows = ready and self.model.rowCount() > 0
        self.empty.setVisible(not has_rows)
        self.table.setVisible(has_rows)

    def trigger(self, op: str) -> None:
        jobs = self.selected_jobs()
        command = Command(op)
        ids = [j.id for j in jobs if command in job_commands(j)]
        if not ids:
            return
        if command is Command.UPLOAD_DAMAGED:
            names = ", ".join(j.name for j in jobs if j.id in ids[:3])
            more = f" and {len(ids) - 3} more" if len(ids) > 3 else ""
            if not self.confirm_damaged(
                    f"Upload {names}{more} as damaged? The file is uploaded exactly as it is "
                    "(its bytes verified in the cloud) and kept in your library marked as "
                    "damaged; playback may stop early. Its card can then be erased."):
                return
        if op == "cancel":
            names = ", ".join(j.name for j in jobs if j.id in ids[:3])
            more = f" and {len(ids) - 3} more" if len(ids) > 3 else ""
            if not self.confirm(f"Cancel the upload of {names}{more}? The bytes already sent "
                                "are discarded; you can retry later from the start."):
                return
        self.service.control(op, ids)

    def _ask(self, text: str) -> bool:
        return ask(self.window(), title="Cancel upload", text=text, action="Cancel upload",
                   cancel="Keep uploading", name="cancelUpload")

    def _ask_damaged(self, text: str) -> bool:
        return ask(self.window(), title="Upload as damaged", text=text,
                   action="Upload as damaged", cancel="Don't upload", name="uploadAsDamaged",
                   warning=True)

    # -- quitting ---------------------------------------------------------------------
    def confirm_quit(self) -> bool:
        """The main window's close guard: while uploads are in progress, ask before quitting
        (they continue at the next start). True = quit."""
        service = self.service
        if service.tasks.closed:  # already shutting down
            return True
        count = service.in_progress()
        demo = bool(service.ctx.demo)
        return count == 0 or self.ask_quit(quit_question(count, demo=demo))

    def _ask_quit(self, text: str) -> bool:
        return ask(self.window(), title="Quit MediSpecs", text=text, action="Quit",
                   cancel="Keep uploading", name="quitQuestion",
                   shown=lambda box: setattr(self, "quit_box", box))

    # -- drops while signed out --------------------------------------------------------
    def drop_refused(self, paths: list[str], reason: str) -> None:
        """Files were dropped that can't be queued now (nobody is signed in): say so, with
        a way to sign in; nothing is queued."""
        count = len(paths)
        what = f"the {count} dropped items were" if count != 1 else "the dropped item was"
        text = f"{reason}: {what} not added to the upload queue."
        log.info("drop refused (%s): %d item(s)", reason, count)
        window = self.window()
        self.message.emit(text, 10_000)
        if self.sign_in_box is not None:
            self.sign_in_box.close()
        box = QMessageBox(QMessageBox.Icon.Information, reason,
                          f"{text}\n\nSign in, then drop them again.",
                          QMessageBox.StandardButton.NoButton, window)
        box.setObjectName("signInToUpload")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        sign_in = box.addButton("Sign in…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.setDefaultButton(sign_in)
        sign_in.clicked.connect(self.signInRequested)
        box.destroyed.connect(lambda *_: self._forget_sign_in_box(box))
        self.sign_in_box = box
        box.open()

    def _forget_sign_in_box(self, box: QMessageBox) -> None:
        if self.sign_in_box is box:
            self.sign_in_box = None

    def context_menu(self) -> QMenu:
        menu = QMenu(self)
        # every row command, greyed where the selected rows do not allow it ("Upload as
        # damaged…" only for recordings refused as damaged): the menu is also the keyboard's
        # way to the commands without a shortcut (Menu key / Shift+F10)
        for action in (self.action_pause, self.action_resume, self.action_next,
                       self.action_retry, self.action_cancel, self.action_remove,
                       self.action_damaged):
            menu.addAction(action)
        menu.addSeparator()
        menu.addActions([self.action_pause_all, self.action_resume_all,
                         self.action_remove_finished])
        return menu

    def _context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if index.isValid() and not self.table.selectionModel().isRowSelected(
                index.row(), QModelIndex()):
            job = self.model.job_at(index.row())
            if job is not None:
                self.select_jobs([job.id])
        self.update_actions()
        menu = self.context_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _show_added(self, result: Any) -> None:
        """What was not added: harmless skips (not videos, hidden or system files) are one
        line in the panel with "Details…"; real problems (unreadable, gone) open the list at
        once. Neither blocks the window."""
        if not result.skipped:
            return
        self._skipped = (list(result.skipped), len(result.added), len(result.already_queued))
        if all(is_harmless(reason) for _path, reason in result.skipped):
            count = len(result.skipped)
            names = ", ".join(p.name or str(p) for p, _r in result.skipped[:3])
            more = f" and {count - 3} more" if count > 3 else ""
            self.skipped_label.setText(
                f"{plural(count, 'item')} not added (not videos): "
                f"{names}{more}.")
            self.skipped_label.setVisible(True)
            self.skipped_details.setVisible(True)
            self.skipped_dismiss.setVisible(True)
            return
        self.show_skipped()

    def show_skipped(self) -> None:
        """The "Files not added" list (non-modal)."""
        if self._skipped is None:
            return
        skipped, added, already = self._skipped
        if self.skipped_dialog is not None:
            self.skipped_dialog.close()
        dialog = SkippedDialog(skipped, added=added, already=already, parent=self.window())
        dialog.setModal(False)
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: self._forget_dialog(dialog))
        self.skipped_dialog = dialog
        dialog.show()

    def _dismiss_skipped(self) -> None:
        for widget in (self.skipped_label, self.skipped_details, self.skipped_dismiss):
            widget.setVisible(False)

    def _forget_dialog(self, dialog: SkippedDialog) -> None:
        if self.skipped_dialog is dialog:
            self.skipped_dialog = None
