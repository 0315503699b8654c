"""The details pane: the selected recording's metadata; edit its title and notes; play;
delete. Unsaved edits survive selecting another row (kept as drafts)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.formatting import format_duration, format_local_time, format_size
from medispecs_desktop.core.library import damaged_tip, integrity_tip, status_text
from medispecs_desktop.core.models import Video


class VideoDetailsPane(QWidget):
    """All metadata of the selected recording; edit title/notes; delete; play."""

    saveRequested = Signal(object, str, str)  # Video, title, notes
    deleteRequested = Signal(object)  # Video
    playRequested = Signal(object)  # Video
    reloadRequested = Signal(object)  # Video
    videoShown = Signal(object)  # Video | None: what the pane shows now (sections follow it)

    FIELDS = (
        ("recorded", "Recorded"),
        ("duration", "Duration"),
        ("size", "Size"),
        ("resolution", "Resolution"),
        ("codec", "Codec"),
        ("device", "Device"),
        ("status", "Status"),
        ("created", "Uploaded"),
        ("updated", "Last changed"),
        ("version", "Version"),
        ("video_id", "Recording ID"),
        ("sha256", "SHA-256"),
        ("integrity", "Integrity"),
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.video: Video | None = None
        self._drafts: dict[str, tuple[str, str]] = {}
        self._online = True
        self._offline_reason = ""
        self._busy = False

        self.heading = QLabel("")
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.heading.setFont(font)

        # Technical metadata in two label/value column pairs (the pane sits beneath the list
        # and is wider than tall); long values (recorded, ids) span the width. The identifiers
        # are read-only line edits: selectable, and a 64-digit hash never widens the pane.
        self.values: dict[str, QLabel | QLineEdit] = {}
        self.fields = QWidget()
        grid = QGridLayout(self.fields)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        labels = dict(self.FIELDS)
        row = 0
        pairs: list[tuple[str, ...]] = [
            ("recorded",), ("duration", "size"), ("resolution", "codec"), ("device", "status"),
            ("created", "updated"), ("version", "integrity"), ("video_id",), ("sha256",),
        ]
        for keys in pairs:
            for i, key in enumerate(keys):
                value: QLabel | QLineEdit
                if key in ("video_id", "sha256"):
                    value = QLineEdit()
                    value.setReadOnly(True)
                    value.setFrame(False)
                    value.setStyleSheet("background: transparent; border: none; padding: 0;")
                    value.setMinimumWidth(60)
                else:
                    value = QLabel("")
                    value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                    value.setWordWrap(True)
                value.setAccessibleName(labels[key])
                self.values[key] = value
                name = QLabel(labels[key] + ":")
                name.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
                name.setBuddy(value)
                span = 3 if len(keys) == 1 else 1
                grid.addWidget(name, row, 2 * i, Qt.AlignmentFlag.AlignTop)
                grid.addWidget(value, row, 2 * i + 1, 1, span, Qt.AlignmentFlag.AlignTop)
            row += 1

        self.title_edit = QLineEdit()
        self.title_edit.setMaxLength(200)
        self.title_edit.setPlaceholderText("Title")
        self.title_edit.setAccessibleName("Title")
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setPlaceholderText("Notes")
        self.notes_edit.setAccessibleName("Notes")
        self.notes_edit.setTabChangesFocus(True)  # Tab moves on; it never types a tab
        line = self.notes_edit.fontMetrics().lineSpacing()
        self.notes_edit.setMinimumHeight(2 * line + 14)
        self.notes_edit.setMaximumHeight(5 * line + 14)
        self.notes_edit.setSizePolicy(QSizePolicy.Policy.Expanding,
                                      QSizePolicy.Policy.Preferred)
        edits = QFormLayout()
        edits.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        edits.addRow("&Title:", self.title_edit)
        edits.addRow("&Notes:", self.notes_edit)

        self.play_button = QPushButton("Play")
        self.save_button = QPushButton("Save changes")
        self.reload_button = QPushButton("Reload latest")
        self.reload_button.setVisible(False)
        self.revert_button = QPushButton("Revert")
        self.delete_button = QPushButton("Move to Trash…")
        for button in (self.play_button, self.save_button, self.reload_button,
                       self.revert_button, self.delete_button):
            button.setAccessibleName(button.text().rstrip("…"))
        buttons = QHBoxLayout()
        for b in (self.play_button, self.save_button, self.revert_button, self.reload_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)  # apart from the everyday buttons

        self.message = QLabel("")
        self.message.setObjectName("detailsMessage")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        self.message.setAccessibleName("Message")

        # the technical details (ids, codec, checksum…) are folded away until asked for
        self.fields_toggle = QToolButton()
        self.fields_toggle.setCheckable(True)
        self.fields_toggle.setChecked(False)
        self.fields_toggle.setAutoRaise(True)
        self.fields_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.fields_toggle.toggled.connect(self.set_fields_visible)

        # what everyday work needs comes first: title, notes, actions and messages
        self.editor = QWidget()
        layout = QVBoxLayout(self.editor)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addLayout(edits)
        layout.addLayout(buttons)
        self.more = QWidget()  # technical details, then more sections (access history)
        more = QVBoxLayout(self.more)
        more.setContentsMargins(0, 0, 0, 0)
        more.addWidget(self.fields_toggle, 0, Qt.AlignmentFlag.AlignLeft)
        more.addWidget(self.fields)
        self.sections = QVBoxLayout()
        more.addLayout(self.sections)

        # nothing selected: one line that says what to do, not a form of empty labels
        self.placeholder = QLabel("Select a recording in the list to see its details, edit "
                                  "its title and notes, or play it.")
        self.placeholder.setObjectName("placeholder")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)

        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        inner_layout.setContentsMargins(8, 6, 8, 6)
        inner_layout.addWidget(self.placeholder)
        inner_layout.addWidget(self.editor)
        inner_layout.addWidget(self.message)  # shown with or without a recording
        inner_layout.addWidget(self.more)
        inner_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        scroll.setWidget(inner)
        self.scroll_area = scroll
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.set_fields_visible(False)

        self.play_button.clicked.connect(lambda: self.video and self.playRequested.emit(self.video))
        self.save_button.clicked.connect(self._save)
        self.revert_button.clicked.connect(self.revert)
        self.delete_button.clicked.connect(
            lambda: self.video and self.deleteRequested.emit(self.video)
        )
        self.reload_button.clicked.connect(
            lambda: self.video and self.reloadRequested.emit(self.video)
        )
        self.title_edit.textEdited.connect(lambda _t: self._update_actions())
        self.notes_edit.textChanged.connect(self._update_actions)
        self.set_video(None)

    def set_fields_visible(self, visible: bool) -> None:
        """Show or fold away the metadata (the title, notes and buttons stay)."""
        self.fields.setVisible(visible)
        self.fields_toggle.setArrowType(
            Qt.ArrowType.DownArrow if visible else Qt.ArrowType.RightArrow)
        self.fields_toggle.setText(
            "Hide technical details" if visible else "Show technical details")
        self.fields_toggle.setAccessibleName(self.fields_toggle.text())
        self.fields_toggle.setToolTip(
            "Fold the technical details away to see more of the list" if visible
            else "Recording ID, checksum, codec, resolution, device and versions")
        if self.fields_toggle.isChecked() != visible:
            self.fields_toggle.setChecked(visible)

    # state
    def set_video(self, video: Video | None, *, keep_edits: bool = False) -> None:
        previous = self.video
        same = video is not None and previous is not None and video.video_id == previous.video_id
        # the recording shown, shown again (the list reloaded, the server updated it): what
        # the user typed and has not saved stays in the fields
        keep_edits = same and (keep_edits or self.is_dirty())
        if previous is not None and not same and self.is_dirty():
            # unsaved edits are never lost by clicking another row: kept as a draft
            self._drafts[previous.video_id] = (
                self.title_edit.text(), self.notes_edit.toPlainText()
            )
        self.video = video
        if not keep_edits:
            self.clear_message()
            self.reload_button.setVisible(False)
        self.placeholder.setVisible(video is None)
        self.editor.setVisible(video is not None)
        self.more.setVisible(video is not None)
        if video is None:
            self.heading.setText("")
            for value in self.values.values():
                value.setText("")
                value.setToolTip("")
            self.title_edit.clear()
            self.notes_edit.clear()
        else:
            self.heading.setText(video.title or "(untitled)")
            v = self.values
            v["recorded"].setText(
                f"{format_local_time(video.recorded_at)} (local) · {video.recorded_at} UTC"
            )
            v["duration"].setText(format_duration(video.duration_sec) or "unknown")
            v["size"].setText(
                f"{format_size(video.file_size_bytes)} ({video.file_size_bytes:,} bytes)"
                if video.file_size_bytes is not None
                else "unknown"
            )
            v["resolution"].setText(
                f"{video.width} × {video.height}" if video.width and video.height else "unknown"
            )
            v["codec"].setText(" · ".join(x for x in (video.codec, video.mime_type) if x) or "")
            v["device"].setText(video.device_id or "")
            v["status"].setText(status_text(video))
            v["status"].setToolTip(damaged_tip(video) if video.damaged else "")
            v["created"].setText(format_local_time(video.created_at))
            v["updated"].setText(format_local_time(video.updated_at))
            v["version"].setText(str(video.version))
            v["video_id"].setText(video.video_id)
            v["sha256"].setText(video.sha256 or "")
            v["integrity"].setText(video.integrity)
            v["integrity"].setToolTip(integrity_tip(video))
            for key in ("video_id", "sha256"):
                field = v[key]
                if isinstance(field, QLineEdit):
                    field.setCursorPosition(0)  # show the start, not the end, of a long id
                    field.setToolTip(field.text())
            if not keep_edits:
                draft = self._drafts.pop(video.video_id, None) if not same else None
                self.title_edit.setText(draft[0] if draft else video.title)
                self.notes_edit.setPlainText(draft[1] if draft else (video.notes or ""))
                if draft is not None and self.is_dirty():
                    self.show_message(
                        "You have unsaved changes to this recording (kept from before). "
                        "Save them, or select “Revert” to discard them."
                    )
        self._update_actions()
        self.videoShown.emit(video)

    def revert(self) -> None:
        """Discard unsaved edits of the shown recording."""
        if self.video is not None:
            self._drafts.pop(self.video.video_id, None)
            self.title_edit.setText(self.video.title)
            self.notes_edit.setPlainText(self.video.notes or "")
            self.clear_message()
        self._update_actions()

    def drafts(self) -> dict[str, tuple[str, str]]:
        """Unsaved edits of recordings not shown right now (video id -> title, notes)."""
        return dict(self._drafts)

    def set_online(self, online: bool, reason: str = "") -> None:
        self._online = online
        self._offline_reason = reason
        self._update_actions()

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_actions()

    def is_dirty(self) -> bool:
        if self.video is None:
            return False
        return (
            self.title_edit.text() != self.video.title
            or self.notes_edit.toPlainText() != (self.video.notes or "")
        )

    def _update_actions(self) -> None:
        video = self.video
        has = video is not None
        net = self._online and not self._busy
        offline_tip = self._offline_reason or "Needs the network."
        self.title_edit.setEnabled(has)
        self.notes_edit.setEnabled(has)
        self.save_button.setEnabled(has and net and self.is_dirty())
        self.revert_button.setEnabled(has and self.is_dirty())
        self.delete_button.setEnabled(has and net)
        self.reload_button.setEnabled(has and net)
        playable = video is not None and video.has_bytes
        self.play_button.setEnabled(has and playable and net)
        if not self._online:
            for b in (self.save_button, self.delete_button, self.play_button, self.reload_button):
                b.setToolTip(offline_tip)
        else:
            self.save_button.setToolTip("Save the title and notes to the cloud")
            self.delete_button.setToolTip("Delete this recording from the cloud")
            self.reload_button.setToolTip("Load the latest version from the cloud")
            if video is not None and not video.has_bytes:
                self.play_button.setToolTip(
                    "This recording is not in the cloud yet: it can be played once its upload "
                    "has finished."
                )
            else:
                self.play_button.setToolTip("Play this recording (streams from the cloud)")

    def _save(self) -> None:
        if self.video is None:
            return
        title = self.title_edit.text().strip()
        if not title:
            self.show_message("A recording needs a title.", error=True)
            return
        self.saveRequested.emit(self.video, title, self.notes_edit.toPlainText())

    def show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020;" if error else "color: #1b7a2f;")
        self.message.setVisible(bool(text))

    def clear_message(self) -> None:
        self.message.setText("")
        self.message.setVisible(False)
