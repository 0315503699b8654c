"""Markers beside the player: a moment of the recording with a short comment.

M (or *Mark*) pauses and captures the frame on screen; the comment box takes the text and Enter
saves it through the API (``/videos/{id}/markers``; the id is made here, so a retry after a
network error is harmless). The list shows every marker in time order; a click jumps to its
frame, a double-click edits the text (with the version last seen: someone else's newer edit is
reported, not overwritten), Delete removes it. The seek bar shows them as ticks.

All API calls run on the task runner's ``api`` pool; only the callbacks touch widgets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.errors import ConflictError, MediSpecsError
from medispecs_desktop.core.formatting import format_clock
from medispecs_desktop.core.markers import MAX_TEXT, Marker, new_marker_id
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.player.common import API_KIND, TasksLike
from medispecs_desktop.ui.player.controller import PlayerController

log = logging.getLogger(__name__)

ApiGetter = Callable[[], Any]  # the signed-in ApiClient, or None
PANEL_WIDTH = 240  # the list's width beside the player
PANEL_MIN_WIDTH = 200  # narrower than this it is hidden (see PlayerView.resizeEvent)


def describe_time(ms: int) -> str:
    """A marker's time to the millisecond: the app's clock (``M:SS`` / ``H:MM:SS``) + ``.mmm``."""
    return f"{format_clock(ms // 1000)}.{ms % 1000:03d}"


class MarkersPanel(QWidget):
    """The open recording's markers (list, add, edit, delete) for one PlayerController."""

    changed = Signal(list)  # [Marker], after every load or change

    def __init__(self, controller: PlayerController, api: ApiGetter, tasks: TasksLike,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._api = api
        self._tasks = tasks
        self.markers: list[Marker] = []
        self._video: Video | None = None
        self._generation = 0
        self._pending_ms: int | None = None
        self._pending_id: str | None = None
        self._pending_still: bytes | None = None  # the frame on screen at M, as a PNG
        self.shown_still: str | None = None  # the marker whose still is shown below
        self.still_png: bytes | None = None  # ... and its PNG bytes

        self.title = QLabel("<b>Markers</b>")
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("Comment for a new marker (M)…")
        self.comment.setMaxLength(MAX_TEXT)
        self.comment.setClearButtonEnabled(True)
        self.add_button = QPushButton("Mark")
        self.add_button.setToolTip("Mark the frame on screen with the comment (M, then Enter)")
        self.list = QListWidget()
        self.list.setAccessibleName("Markers")
        self.list.setWordWrap(True)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected marker (Del)")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.keep_still = QCheckBox("Keep the frame as a still")
        self.keep_still.setToolTip("Store the picture on screen with the marker (a PNG kept "
                                   "with the recording), for a colleague to see at a glance")
        self.keep_still.setChecked(True)
        self.still_view = QLabel()
        self.still_view.setObjectName("markerStill")
        self.still_view.setAccessibleName("Marker still")
        self.still_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.still_view.setVisible(False)

        row = QHBoxLayout()
        row.addWidget(self.comment, 1)
        row.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 4, 6)
        layout.addWidget(self.title)
        layout.addLayout(row)
        layout.addWidget(self.keep_still)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.still_view)
        layout.addWidget(self.delete_button)
        layout.addWidget(self.status)

        self.add_button.clicked.connect(self._add_clicked)
        self.comment.returnPressed.connect(self.save_new)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self.comment, self._cancel_new,
                  context=Qt.ShortcutContext.WidgetShortcut)
        self.list.itemClicked.connect(self._jump)
        self.list.itemActivated.connect(self._jump)
        self.list.itemChanged.connect(self._edited)
        self.list.currentItemChanged.connect(lambda item, _old: self._show_still(item))
        self.delete_button.clicked.connect(self.delete_selected)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.list,
                  self.delete_selected, context=Qt.ShortcutContext.WidgetShortcut)
        controller.videoChanged.connect(self._on_video)
        self._update_enabled()

    def sizeHint(self) -> QSize:
        return QSize(PANEL_WIDTH, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        # never widens the player's minimum: the view hides the panel where it does not fit
        return QSize(0, super().minimumSizeHint().height())

    # -- loading -------------------------------------------------------------------------

    def _run(self, fn: Callable[[], Any], done: Callable[[Any], None],
             failed: Callable[[BaseException], None] | None = None) -> None:
        generation = self._generation

        def on_done(result: Any) -> None:
            if generation == self._generation:
                done(result)

        def on_error(exc: BaseException) -> None:
            if generation == self._generation:
                (failed or self._failed)(exc)

        try:
            self._tasks.run(API_KIND, fn, on_done, on_error)
        except RuntimeError:  # the runner is closed: the app is shutting down
            log.debug("markers task dropped at shutdown")

    def _client(self) -> Any:
        api = self._api()
        if api is None:
            raise MediSpecsError("Not signed in.")
        return api

    def _on_video(self, video: Video | None) -> None:
        self._generation += 1
        self._video = video if video is not None and video.has_bytes else None
        self._set_markers([])
        self._cancel_new()
        self._update_enabled()
        self.reload()

    def reload(self, notice: str = "") -> None:
        """Fetch the markers again; ``notice`` stays shown once they are in."""
        video = self._video
        if video is None:
            return
        self.status.setText(notice or "Loading markers…")

        def loaded(markers: list[Marker]) -> None:
            self.status.setText(notice)
            self._set_markers(markers)

        self._run(lambda: self._client().list_markers(video.video_id), loaded)

    def _failed(self, exc: BaseException) -> None:
        text = str(exc) if isinstance(exc, MediSpecsError) else type(exc).__name__
        self.status.setText(f"Markers: {text}")

    def _set_markers(self, markers: list[Marker]) -> None:
        self.markers = sorted(markers, key=lambda m: (m.time_ms, m.created_at or ""))
        self.list.blockSignals(True)
        try:
            self.list.clear()
            for marker in self.markers:
                item = QListWidgetItem(self._label(marker))
                item.setData(Qt.ItemDataRole.UserRole, marker.marker_id)
                item.setData(Qt.ItemDataRole.EditRole, marker.text)
                item.setText(self._label(marker))
                item.setToolTip(f"{describe_time(marker.time_ms)} — {marker.author or 'unknown'}"
                                f" ({marker.updated_at or marker.created_at or ''})"
                                + ("\nWith a still of the frame" if marker.still_url else ""))
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsEditable)
                self.list.addItem(item)
        finally:
            self.list.blockSignals(False)
        self.title.setText(f"<b>Markers</b> ({len(self.markers)})" if self.markers
                           else "<b>Markers</b>")
        self.changed.emit(list(self.markers))

    @staticmethod
    def _label(marker: Marker) -> str:
        still = " ▣" if marker.still_url else ""
        return f"{describe_time(marker.time_ms)}  {marker.text or '—'}{still}"

    def _show_still(self, item: QListWidgetItem | None) -> None:
        """The selected marker's still under the list (fetched in the background)."""
        marker = self.marker_for(item)
        if marker is None or not marker.still_url:
            self.still_view.setVisible(False)
            self.shown_still = None
            return

        def fetched(data: bytes) -> None:
            pixmap = QPixmap.fromImage(QImage.fromData(data))
            current = self.marker_for(self.list.currentItem())
            if pixmap.isNull() or current is None or current.marker_id != marker.marker_id:
                return
            self.still_view.setPixmap(pixmap.scaledToWidth(
                max(80, self.list.width() - 8), Qt.TransformationMode.SmoothTransformation))
            self.still_view.setToolTip(f"The frame at {describe_time(marker.time_ms)}")
            self.still_view.setVisible(True)
            self.shown_still = marker.marker_id
            self.still_png = data

        self._run(lambda: self._client().fetch_still(marker), fetched)

    def _update_enabled(self) -> None:
        on = self._video is not None
        for w in (self.comment, self.add_button, self.list, self.delete_button):
            w.setEnabled(on)

    # -- adding --------------------------------------------------------------------------

    def start_new(self) -> None:
        """M: pause, remember the frame on screen, and take the comment."""
        if self._video is None:
            return
        self.controller.pause()
        self._pending_ms = self.controller.marker_time_ms()
        self._pending_id = new_marker_id()
        self._pending_still = frame_png(self.controller)
        self.comment.setPlaceholderText(
            f"Comment for {describe_time(self._pending_ms)} — Enter saves, Esc cancels")
        self.comment.setFocus()

    def _add_clicked(self) -> None:
        if self._pending_ms is None:
            self.start_new()
        self.save_new()

    def _cancel_new(self) -> None:
        self._pending_ms = self._pending_id = None
        self._pending_still = None
        self.comment.clear()
        self.comment.setPlaceholderText("Comment for a new marker (M)…")

    def save_new(self) -> None:
        video = self._video
        if video is None:
            return
        if self._pending_ms is None:
            self.start_new()
        time_ms, marker_id = self._pending_ms, self._pending_id
        still = self._pending_still if self.keep_still.isChecked() else None
        assert time_ms is not None and marker_id is not None
        text = self.comment.text().strip()
        self.status.setText("Saving the marker…")

        def done(marker: Marker) -> None:
            self._cancel_new()
            self.status.setText("")
            self._set_markers([m for m in self.markers if m.marker_id != marker.marker_id]
                              + [marker])
            self.controller_focus()

        self._run(lambda: self._client().create_marker(
            video.video_id, time_ms=time_ms, text=text, marker_id=marker_id,
            still_png=still), done)

    def controller_focus(self) -> None:
        widget = self.parentWidget()
        if widget is not None:
            widget.setFocus()

    # -- jumping, editing, deleting ----------------------------------------------------

    def marker_for(self, item: QListWidgetItem | None) -> Marker | None:
        if item is None:
            return None
        marker_id = item.data(Qt.ItemDataRole.UserRole)
        return next((m for m in self.markers if m.marker_id == marker_id), None)

    def _jump(self, item: QListWidgetItem) -> None:
        marker = self.marker_for(item)
        if marker is not None:
            self.controller.seek_to_frame_at(marker.time_ms)

    def _edited(self, item: QListWidgetItem) -> None:
        marker, video = self.marker_for(item), self._video
        if marker is None or video is None:
            return
        text = str(item.data(Qt.ItemDataRole.EditRole) or "").strip()[:MAX_TEXT]
        if text == marker.text or text == self._label(marker):
            self._set_markers(self.markers)  # nothing changed: show the label again
            return
        self.edit_text(marker, text)

    def edit_text(self, marker: Marker, text: str) -> None:
        video = self._video
        if video is None:
            return
        self.status.setText("Saving…")

        def done(updated: Marker) -> None:
            self.status.setText("")
            self._set_markers([updated if m.marker_id == updated.marker_id else m
                               for m in self.markers])

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ConflictError):
                self.reload("Someone changed this marker meanwhile: its newest text is shown; "
                            "edit it again if needed.")
            else:
                self._failed(exc)
                self._set_markers(self.markers)

        self._run(lambda: self._client().update_marker(
            video.video_id, marker.marker_id, version=marker.version, text=text), done, failed)

    def delete_selected(self) -> None:
        marker, video = self.marker_for(self.list.currentItem()), self._video
        if marker is None or video is None:
            return

        def done(_result: Any) -> None:
            self._set_markers([m for m in self.markers if m.marker_id != marker.marker_id])

        self._run(lambda: self._client().delete_marker(video.video_id, marker.marker_id), done)


def frame_png(controller: PlayerController) -> bytes | None:
    """The frame on screen as PNG bytes (lossless: the still is the frame), or None."""
    sink = controller.video_sink
    frame = sink.videoFrame() if sink is not None else None
    if frame is None or not frame.isValid():
        return None
    image = frame.toImage()
    if image.isNull():
        return None
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs want bytes
    buffer.close()
    return bytes(data.data())
