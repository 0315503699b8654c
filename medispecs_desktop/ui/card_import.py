"""The SD-card import dialog: a thin view over ``core.cards``.

It lists every clip on the card with its thumbnail, recorded time (local), duration, size and
status (new / duplicate / already queued / already in the cloud / unreadable); new clips are
pre-selected and "Import N clips" hands them to the upload queue. Each clip then moves
card -> queued -> uploading -> in cloud -> verified as the app reports job changes
(:meth:`CardImportDialog.on_job_changed`). When every clip on the card is verified in the cloud
(DESIGN §8), the dialog says the card is safe to erase and offers to erase the verified clips,
after a confirmation naming how many; never in demo mode.

All disk and network work (scan, thumbnails, hashing for verification, erasing) runs on the
app's :class:`~medispecs_desktop.ui.tasks.TaskRunner`; the widget only shows results.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.card_scan import CardScan
from medispecs_desktop.core.cards import (
    Card,
    CardClip,
    CardWatcher,
    ClipStatus,
    CloudCheck,
    EraseResult,
    safe_to_erase,
)
from medispecs_desktop.core.formatting import (
    agree,
    format_duration,
    format_local_time,
    format_size,
    plural,
)
from medispecs_desktop.core.media import thumbnail_jpeg
from medispecs_desktop.ui.icons import fit_bold_button
from medispecs_desktop.ui.tasks import TasksLike

log = logging.getLogger(__name__)

MEDIA_KIND = "media"
API_KIND = "api"

COL_SELECT, COL_THUMB, COL_NAME, COL_RECORDED, COL_DURATION, COL_SIZE, COL_STATUS = range(7)
HEADERS = ["", "Preview", "File", "Recorded", "Duration", "Size", "Status"]
THUMB_SIZE = QSize(96, 54)
NAME_WIDTH = 240

STATUS_TEXT: dict[ClipStatus, str] = {
    ClipStatus.NEW: "New",
    ClipStatus.DUPLICATE: "Duplicate on card",
    ClipStatus.QUEUED: "Queued",
    ClipStatus.UPLOADING: "Uploading",
    ClipStatus.IN_CLOUD: "In cloud",
    ClipStatus.VERIFIED: "Verified in cloud",
    ClipStatus.FAILED: "Failed",
    ClipStatus.UNREADABLE: "Unreadable",
}

# Upload-job states (core.uploads.jobs.JobState values) -> the clip's status here.
_JOB_STATE_TO_STATUS: dict[str, ClipStatus] = {
    "queued": ClipStatus.QUEUED,
    "hashing": ClipStatus.QUEUED,
    "paused": ClipStatus.QUEUED,
    "waiting-for-network": ClipStatus.QUEUED,
    "waiting-for-sign-in": ClipStatus.QUEUED,
    "waiting-for-source": ClipStatus.QUEUED,
    "uploading": ClipStatus.UPLOADING,
    "finalizing": ClipStatus.UPLOADING,
    "done": ClipStatus.IN_CLOUD,
    "failed": ClipStatus.FAILED,
    "cancelled": ClipStatus.NEW,
}


Tasks = TasksLike  # what the dialog needs of the TaskRunner


class _ElideRight(QStyledItemDelegate):
    """The status column keeps its beginning ("Unreadable: why…"); the table elides the
    other columns in the middle."""

    def initStyleOption(self, option: QStyleOptionViewItem, index: Any) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideRight


class CardImportDialog(QDialog):
    """Import the clips of one card. See the module doc.

    ``scan()`` returns the card's classified clips (e.g. ``core.cards.scan_and_classify`` bound
    to the card, the upload queue's fingerprints and ``ApiClient.find_duplicates``);
    ``queue_paths(paths)`` adds files to the upload queue (the engine's ``add_paths``);
    ``verify(clips)`` checks clips against the cloud (``core.cards.check_card_in_cloud``);
    ``erase(clips, checks)`` deletes verified clips (``core.cards.erase_verified`` with the
    app's demo flag). ``thumbnail(path)`` makes JPEG bytes (``core.media.thumbnail_jpeg``).
    With ``auto_import`` the new clips are queued as soon as the card has been read.
    """

    imported = Signal(list)  # the paths handed to the queue
    erased = Signal(list)  # the paths deleted from the card

    def __init__(
        self,
        card_label: str,
        *,
        tasks: Tasks,
        scan: Callable[[], CardScan],
        queue_paths: Callable[[list[Path]], Any],
        verify: Callable[[Sequence[CardClip]], Mapping[Path, CloudCheck]] | None = None,
        erase: Callable[[Sequence[CardClip], Mapping[Path, CloudCheck]], EraseResult]
        | None = None,
        thumbnail: Callable[[Path], bytes] = thumbnail_jpeg,
        demo: bool = False,
        auto_import: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Import from {card_label}")
        self.setObjectName("cardImportDialog")
        self.resize(860, 480)
        self._tasks = tasks
        self._scan = scan
        self._queue_paths = queue_paths
        self._verify = verify
        self._erase = erase
        self._thumbnail = thumbnail
        self._demo = demo
        self._auto_import = auto_import
        self._clips: list[CardClip] = []
        self._rows: dict[Path, int] = {}
        self._errors: dict[Path, str] = {}
        self._tips: dict[Path, str] = {}  # the full "verified in cloud" outcome, as a tooltip
        self._checks: dict[Path, CloudCheck] = {}
        self._futures: list[cf.Future[Any]] = []
        self._closed = False
        self._verifying = False
        self._populating = False
        self._importing = False
        self._card_present = True
        self._unsubscribe: list[Callable[[], None]] = []
        self.thumbnails_done = 0

        self.title = QLabel(f"Reading the card {card_label}…")
        self.title.setObjectName("cardTitle")
        self.note = QLabel("")
        self.note.setObjectName("cardNote")
        self.note.setWordWrap(True)
        self.note.hide()

        self.table = QTableWidget(0, len(HEADERS))
        self.table.setObjectName("cardClips")
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(THUMB_SIZE)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(THUMB_SIZE.height() + 6)
        # the status is what the clinician reads: it takes the free width; long card paths
        # are elided in the middle (the file name stays visible, the full path in a tooltip)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_STATUS, QHeaderView.ResizeMode.Stretch)
        for col in (COL_SELECT, COL_RECORDED, COL_DURATION, COL_SIZE):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(COL_THUMB, THUMB_SIZE.width() + 8)
        self.table.setColumnWidth(COL_NAME, NAME_WIDTH)
        self.table.setItemDelegateForColumn(COL_STATUS, _ElideRight(self.table))
        self.table.itemChanged.connect(self._on_item_changed)

        # notes and camera files on the card: said, so nobody wonders whether they went up
        self.other_files = QLabel("")
        self.other_files.setObjectName("cardOtherFiles")
        self.other_files.setWordWrap(True)
        self.other_files.hide()

        self.safe_label = QLabel("")
        self.safe_label.setObjectName("safeToErase")
        self.safe_label.setWordWrap(True)
        self.safe_label.hide()

        self.import_button = QPushButton("Import 0 clips")
        self.import_button.setObjectName("importButton")
        self.import_button.setDefault(True)
        fit_bold_button(self.import_button, ("Import 888 clips",))
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.import_selected)
        self.erase_button = QPushButton("Erase verified clips…")
        self.erase_button.setObjectName("eraseButton")
        self.erase_button.hide()
        self.erase_button.clicked.connect(self.confirm_erase)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)

        buttons = QHBoxLayout()
        buttons.addWidget(self.erase_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        buttons.addWidget(self.import_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.other_files)
        layout.addWidget(self.safe_label)
        layout.addLayout(buttons)

        self._start(self._scan, self._on_scanned, self._on_scan_failed, MEDIA_KIND)

    # --- public --------------------------------------------------------------------------

    @property
    def clips(self) -> list[CardClip]:
        return list(self._clips)

    def status_of(self, path: Path) -> ClipStatus | None:
        row = self._rows.get(Path(path))
        return self._clips[row].status if row is not None else None

    def selected_paths(self) -> list[Path]:
        out = []
        for row, clip in enumerate(self._clips):
            item = self.table.item(row, COL_SELECT)
            if item is not None and item.checkState() == Qt.CheckState.Checked:
                out.append(clip.path)
        return out

    def set_checked(self, path: Path, checked: bool) -> None:
        row = self._rows[Path(path)]
        item = self.table.item(row, COL_SELECT)
        if item is not None and item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def import_selected(self) -> None:
        """Queue the ticked clips (``queue_paths`` runs off the GUI thread)."""
        paths = self.selected_paths()
        if not paths or self._importing:
            return
        self._importing = True
        self.import_button.setEnabled(False)
        queue = self._queue_paths
        self._start(lambda: queue(paths), lambda result: self._on_queued(paths, result),
                    self._on_queue_failed, API_KIND)

    def follow_jobs(
        self,
        subscribe: Callable[[Callable[[Any], None]], Callable[[], None]],
        call_soon: Callable[[Callable[[], Any]], None],
    ) -> None:
        """Follow the upload engine: ``subscribe`` is ``UploadEngine.subscribe_jobs`` (its
        listener runs on engine threads), ``call_soon`` is ``TaskRunner.call_soon`` (hops to
        the GUI thread). Unsubscribes when the dialog closes."""

        def listener(job: Any) -> None:
            call_soon(lambda: self._job_on_gui_thread(job))

        self._unsubscribe.append(subscribe(listener))

    def card_removed(self) -> None:
        """The card was pulled: say which clips still need it (the queue keeps them and
        waits for the card; clips already in the cloud are safe)."""
        self._card_present = False
        self._show_removed_note()
        self._populating = True
        for row in range(self.table.rowCount()):
            item = self.table.item(row, COL_SELECT)
            if item is not None:
                item.setFlags(Qt.ItemFlag.ItemIsSelectable)
                item.setData(Qt.ItemDataRole.CheckStateRole, None)
        self._populating = False
        self.erase_button.hide()
        self._update_buttons()

    def _show_removed_note(self) -> None:
        """What the pulled card means now: once the clips that needed it have finished
        uploading, "put the card back" goes (it said so next to "verified")."""
        need = [c for c in self._clips
                if c.status in (ClipStatus.QUEUED, ClipStatus.UPLOADING)]
        not_imported = [c for c in self._clips if c.status in (ClipStatus.NEW,
                                                                ClipStatus.DUPLICATE)]
        lines = ["The card was removed."]
        if need:
            lines.append(f"{plural(len(need), 'clip')} still {agree(len(need), 'needs', 'need')}"
                         " the card to finish uploading: " + ", ".join(c.name for c in need)
                         + ". Put the card back to continue.")
        else:
            lines.append("No upload needs the card any more.")
        if not_imported:
            lines.append(f"{plural(len(not_imported), 'clip')} "
                         f"{agree(len(not_imported), 'was', 'were')} not imported.")
        self.note.setText(" ".join(lines))
        self.note.show()

    def on_job_changed(self, job: Any) -> None:
        """Follow an upload job (``core.uploads.jobs.Job`` or anything with ``path``,
        ``state`` and optionally ``error``/``video_id``/``sha256``)."""
        path = Path(getattr(job, "path", ""))
        if path not in self._rows:
            return
        state = str(getattr(getattr(job, "state", ""), "value", getattr(job, "state", "")))
        status = _JOB_STATE_TO_STATUS.get(state)
        if status is None:
            return
        detail = None
        if state == "waiting-for-source":
            detail = "Waiting for the card"
        elif status is ClipStatus.FAILED:
            detail = str(getattr(job, "error", None) or "Failed")
        self.set_clip_status(path, status, detail=detail,
                             video_id=getattr(job, "video_id", None),
                             sha256=getattr(job, "sha256", None))
        self._maybe_verify()

    def set_clip_status(self, path: Path, status: ClipStatus, *, detail: str | None = None,
                        video_id: str | None = None, sha256: str | None = None) -> None:
        row = self._rows.get(Path(path))
        if row is None:
            return
        clip = self._clips[row]
        if clip.status is ClipStatus.VERIFIED and status is not ClipStatus.VERIFIED:
            return  # verification is final for this dialog
        changes: dict[str, Any] = {"status": status}
        if video_id:
            changes["video_id"] = video_id
        if sha256:
            changes["sha256"] = sha256
        self._clips[row] = replace(clip, **changes)
        if detail:
            self._errors[clip.path] = detail
        else:
            self._errors.pop(clip.path, None)
        self._render_row(row)
        self._update_buttons()
        self.title.setText(_progress_summary(self._clips))
        if not self._card_present:
            self._show_removed_note()

    def verify_now(self) -> None:
        """Check every clip against the cloud (in the background)."""
        if self._verify is None or self._verifying or self._closed:
            return
        clips = [c for c in self._clips if c.readable]
        if not clips:
            return
        self._verifying = True
        verify = self._verify
        self._start(lambda: dict(verify(clips)), self._on_verified, self._on_verify_failed,
                    MEDIA_KIND)

    def confirm_erase(self) -> None:
        verdict = safe_to_erase(self._clips, self._checks)
        if self._demo or self._erase is None or not verdict.safe or not self._card_present:
            return
        n = len(verdict.verified)
        answer = QMessageBox.question(
            self,
            "Erase verified clips",
            f"Delete the {plural(n, 'verified clip')} from the card? Every one is "
            "verified in the cloud. Other files on the card are not touched.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.erase_verified_now()

    def erase_verified_now(self) -> None:
        """Erase without asking (after :meth:`confirm_erase`)."""
        if self._demo or self._erase is None or not self._card_present:
            return
        erase = self._erase
        clips, checks = list(self._clips), dict(self._checks)
        self.erase_button.setEnabled(False)
        self._start(lambda: erase(clips, checks), self._on_erased, self._on_erase_failed,
                    MEDIA_KIND)

    # --- background results ----------------------------------------------------------------

    def _start(self, fn: Callable[[], Any], on_done: Callable[[Any], None],
               on_error: Callable[[BaseException], None], kind: str) -> None:
        def done(value: Any) -> None:
            if not self._closed:
                on_done(value)

        def failed(exc: BaseException) -> None:
            if not self._closed:
                on_error(exc)

        self._futures.append(self._tasks.run(kind, fn, done, failed))

    def _job_on_gui_thread(self, job: Any) -> None:
        if not self._closed:
            self.on_job_changed(job)

    def _on_queued(self, paths: list[Path], result: Any) -> None:
        self._importing = False
        skipped = {Path(p): why for p, why in getattr(result, "skipped", None) or []}
        queued = [p for p in paths if p not in skipped]
        for path in queued:
            if self.status_of(path) in (ClipStatus.NEW, ClipStatus.DUPLICATE):
                self.set_clip_status(path, ClipStatus.QUEUED)
        for path, why in skipped.items():
            self.set_clip_status(path, ClipStatus.FAILED, detail=f"not queued: {why}")
        self._update_buttons()
        self.imported.emit(queued)

    def _on_queue_failed(self, exc: BaseException) -> None:
        self._importing = False
        self._update_buttons()
        QMessageBox.warning(self, "Import", f"The clips could not be queued: {exc}")

    def _on_scanned(self, scan: CardScan) -> None:
        self._clips = list(scan.clips)
        self._rows = {clip.path: row for row, clip in enumerate(self._clips)}
        self._populating = True
        self.table.setRowCount(len(self._clips))
        for row, clip in enumerate(self._clips):
            for col in range(len(HEADERS)):
                self.table.setItem(row, col, QTableWidgetItem())
            check = self.table.item(row, COL_SELECT)
            assert check is not None
            if clip.status is ClipStatus.NEW:
                check.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable
                               | Qt.ItemFlag.ItemIsSelectable)
                check.setCheckState(Qt.CheckState.Checked)
            elif clip.status is ClipStatus.DUPLICATE:
                check.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable
                               | Qt.ItemFlag.ItemIsSelectable)
                check.setCheckState(Qt.CheckState.Unchecked)
            else:
                check.setFlags(Qt.ItemFlag.ItemIsSelectable)
            self._render_row(row)
        self._populating = False
        self.title.setText(_summary(scan))
        self.other_files.setText(_other_files_text(scan.other_files))
        self.other_files.setToolTip("\n".join(scan.other_files))
        self.other_files.setVisible(bool(scan.other_files))
        notes = [scan.note] if scan.note else []
        if self._demo:
            notes.append("Demo mode: uploads go to the in-memory demo stack and are not "
                         "stored; the card is never erased.")
        if notes:
            self.note.setText(" ".join(notes))
            self.note.show()
        self._update_buttons()
        for clip in self._clips:
            if clip.readable:
                self._request_thumbnail(clip.path)
        if self._auto_import and self.selected_paths():
            self.import_selected()  # the user chose "import cards automatically"
        self._maybe_verify()

    def _on_scan_failed(self, exc: BaseException) -> None:
        self.title.setText(f"The card could not be read: {exc}")
        self._update_buttons()

    def _request_thumbnail(self, path: Path) -> None:
        make = self._thumbnail

        def show(data: bytes) -> None:
            row = self._rows.get(path)
            item = self.table.item(row, COL_THUMB) if row is not None else None
            pixmap = QPixmap()
            if item is not None and pixmap.loadFromData(data, "JPG"):
                item.setData(Qt.ItemDataRole.DecorationRole, pixmap.scaled(
                    THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation))
            self.thumbnails_done += 1

        def failed(exc: BaseException) -> None:
            log.info("no thumbnail for %s: %s", path.name, exc)
            self.thumbnails_done += 1

        self._start(lambda: make(path), show, failed, MEDIA_KIND)

    def _on_verified(self, checks: dict[Path, CloudCheck]) -> None:
        self._verifying = False
        self._checks.update(checks)
        for path, check in checks.items():
            row = self._rows.get(path)
            if row is None:
                continue
            if check.verified:
                self._tips[path] = (check.reason[:1].upper() + check.reason[1:]
                                    + "; the size and SHA-256 match this file")
                self.set_clip_status(path, ClipStatus.VERIFIED, video_id=check.video_id,
                                     detail="SHA-256 checked")
            elif self._clips[row].readable:
                self._errors[path] = ("parts checked only, not safe to erase"
                                      if check.parts_only else f"not verified: {check.reason}")
                self._tips[path] = f"Not verified in the cloud: {check.reason}"
                self._render_row(row)
        self._update_safe_to_erase()

    def _on_verify_failed(self, exc: BaseException) -> None:
        self._verifying = False
        self.safe_label.setText(f"Could not verify the clips in the cloud: {exc}")
        self.safe_label.show()

    def _on_erased(self, result: EraseResult) -> None:
        for path in result.deleted:
            row = self._rows.get(path)
            if row is not None:
                self._errors[path] = "Erased from the card"
                self._render_row(row)
        kept = [(p, why) for p, why in result.kept
                if self.status_of(p) is ClipStatus.VERIFIED]
        n = len(result.deleted)
        text = f"Erased {plural(n, 'verified clip')} from the card."
        if kept:
            text += " Not erased: " + "; ".join(f"{p.name} ({why})" for p, why in kept)
        self.safe_label.setText(text)
        self.safe_label.show()
        self.erase_button.hide()
        self.erased.emit(result.deleted)

    def _on_erase_failed(self, exc: BaseException) -> None:
        self.safe_label.setText(f"Nothing was erased: {exc}")
        self.safe_label.show()
        self.erase_button.setEnabled(True)

    # --- rendering -------------------------------------------------------------------------

    def _render_row(self, row: int) -> None:
        clip = self._clips[row]
        self._populating, was = True, self._populating
        try:
            values = {
                COL_NAME: clip.relpath,
                COL_RECORDED: format_local_time(clip.recorded_at),
                COL_DURATION: format_duration(clip.duration_sec),
                COL_SIZE: format_size(clip.size_bytes),
                COL_STATUS: self._status_text(clip),
            }
            for col, text in values.items():
                item = self.table.item(row, col)
                if item is not None:
                    item.setText(text)
            status = self.table.item(row, COL_STATUS)
            if status is not None:
                status.setData(Qt.ItemDataRole.UserRole, clip.status.value)
                status.setToolTip(clip.error or self._tips.get(clip.path)
                                  or self._errors.get(clip.path, "") or values[COL_STATUS])
            name = self.table.item(row, COL_NAME)
            if name is not None:
                name.setToolTip(str(clip.path))
            check = self.table.item(row, COL_SELECT)
            if check is not None and clip.status not in (ClipStatus.NEW, ClipStatus.DUPLICATE):
                check.setFlags(Qt.ItemFlag.ItemIsSelectable)
                check.setData(Qt.ItemDataRole.CheckStateRole, None)
        finally:
            self._populating = was

    def _status_text(self, clip: CardClip) -> str:
        text = STATUS_TEXT[clip.status]
        detail = self._errors.get(clip.path)
        if clip.status is ClipStatus.UNREADABLE and clip.error:
            return f"{text}: {clip.error}"
        if clip.status is ClipStatus.DUPLICATE and clip.duplicate_of:
            return f"{text} (same as {Path(clip.duplicate_of).name})"
        return f"{text} — {detail}" if detail else text

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if not self._populating and item.column() == COL_SELECT:
            self._update_buttons()

    def _update_buttons(self) -> None:
        n = len(self.selected_paths())
        self.import_button.setText(f"Import {plural(n, 'clip')}")
        self.import_button.setEnabled(n > 0 and not self._importing and self._card_present)

    def _maybe_verify(self) -> None:
        readable = [c for c in self._clips if c.readable]
        if readable and all(c.status in (ClipStatus.IN_CLOUD, ClipStatus.VERIFIED,
                                         ClipStatus.DUPLICATE) for c in readable) and any(
                c.status is ClipStatus.IN_CLOUD for c in readable):
            self.verify_now()

    def _update_safe_to_erase(self) -> None:
        verdict = safe_to_erase(self._clips, self._checks)
        if verdict.safe and self._demo:
            self.safe_label.setText(verdict.message.replace(
                "The card is safe to erase.",
                "(Demo mode: nothing is stored in the demo cloud, so the card is not erased.)"))
            self.erase_button.hide()
        elif verdict.safe:
            self.safe_label.setText(verdict.message)
            n = len(verdict.verified)
            self.erase_button.setText(f"Erase {plural(n, 'verified clip')}…")
            self.erase_button.setVisible(self._erase is not None)
            self.erase_button.setEnabled(True)
        else:
            self.safe_label.setText(verdict.message)
            self.erase_button.hide()
        self.safe_label.show()

    # --- lifetime --------------------------------------------------------------------------

    def done(self, result: int) -> None:
        self._shutdown()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._shutdown()
        super().closeEvent(event)

    def _shutdown(self) -> None:
        self._closed = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for future in self._futures:
            future.cancel()
        self._futures.clear()


class CardMonitor(QObject):
    """Polls for recording cards on the task runner (never on the GUI thread: a stat of a
    slow mount can block) and emits ``inserted``/``removed`` with :class:`Card` values.

    Operating systems and Qt offer no portable insertion signal, so this is a timer; the
    default interval (2 s) keeps the cost to a few ``stat`` calls per mount point."""

    inserted = Signal(object)  # Card
    removed = Signal(object)  # Card

    def __init__(self, tasks: Tasks, watcher: CardWatcher | None = None, *,
                 interval_ms: int = 2000, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self.watcher = watcher or CardWatcher()
        self._busy = False
        self._timer = QTimer(self)
        self._timer.setInterval(max(100, interval_ms))
        self._timer.timeout.connect(self.poll_now)

    def start(self) -> None:
        self.poll_now()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def cards(self) -> list[Card]:
        return self.watcher.cards

    def poll_now(self) -> None:
        if self._busy:
            return
        self._busy = True
        self._tasks.run(MEDIA_KIND, self.watcher.poll, self._on_polled, self._on_failed)

    def _on_polled(self, result: tuple[list[Card], list[Card]]) -> None:
        self._busy = False
        inserted, removed = result
        for card in removed:
            self.removed.emit(card)
        for card in inserted:
            self.inserted.emit(card)

    def _on_failed(self, exc: BaseException) -> None:
        self._busy = False
        log.warning("card polling failed: %s", exc)



_SUMMARY_WORDS: tuple[tuple[ClipStatus, str], ...] = (
    (ClipStatus.NEW, "new"),
    (ClipStatus.DUPLICATE, "duplicate"),
    (ClipStatus.QUEUED, "queued"),
    (ClipStatus.UPLOADING, "uploading"),
    (ClipStatus.IN_CLOUD, "in the cloud"),
    (ClipStatus.VERIFIED, "verified in the cloud"),
    (ClipStatus.FAILED, "failed"),
    (ClipStatus.UNREADABLE, "unreadable"),
)


def _progress_summary(clips: Sequence[CardClip]) -> str:
    """The title once clips move on (the scan's summary would still say "2 new")."""
    total = len(clips)
    if not total:
        return "No clips on this card."
    counts = {status: sum(1 for c in clips if c.status is status) for status, _ in
              _SUMMARY_WORDS}
    parts = [f"{counts[status]} {words}" for status, words in _SUMMARY_WORDS if counts[status]]
    return f"{plural(total, 'clip')} on the card: " + ", ".join(parts) + "."


OTHER_FILES_SHOWN = 3  # names listed before "and N more" (all of them in the tooltip)


def _other_files_text(names: tuple[str, ...]) -> str:
    """"Also on this card, not uploaded (1 file that is not a video): NOTES.TXT." """
    if not names:
        return ""
    n = len(names)
    shown = list(names[:OTHER_FILES_SHOWN])
    if n > len(shown):
        listed = ", ".join(shown) + f" and {n - len(shown)} more"
    elif n > 1:
        listed = ", ".join(shown[:-1]) + f" and {shown[-1]}"
    else:
        listed = shown[0]
    what = agree(n, "is not a video", "are not videos")
    return f"Also on this card, not uploaded ({plural(n, 'file')} that {what}): {listed}."


def _summary(scan: CardScan) -> str:
    total = len(scan.clips)
    if not total:
        return "No clips on this card."
    parts = [f"{scan.count(ClipStatus.NEW)} new"]
    if scan.count(ClipStatus.DUPLICATE):
        parts.append(f"{scan.count(ClipStatus.DUPLICATE)} duplicate")
    parts.append(f"{scan.count(ClipStatus.QUEUED)} already queued")
    parts.append(f"{scan.count(ClipStatus.IN_CLOUD)} already in the cloud")
    if scan.count(ClipStatus.UNREADABLE):
        parts.append(f"{scan.count(ClipStatus.UNREADABLE)} unreadable")
    return f"{plural(total, 'clip')} on the card: " + ", ".join(parts) + "."
