"""Side by side: two recordings (e.g. before / after) in one window, played linked or each on
its own (issue 14).

Each side is a full player (:class:`PlayerController` + :class:`PlayerWidget`, every key and
the hover preview). Linked (the default), what the user does on one side happens on the other:
play, pause, speed, a seek (keeping the distance between the two positions they had when they
were linked) and frame steps. Unlinked, each plays on its own; linking again takes the new
distance.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.formatting import format_local_time
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.player.common import TasksLike, UrlProvider
from medispecs_desktop.ui.player.controller import LocalCopies, PlayerController
from medispecs_desktop.ui.player.widget import PlayerWidget

log = logging.getLogger(__name__)


class Link(QObject):
    """Mirrors what the user does on one player to the other while ``linked``."""

    def __init__(self, left: PlayerController, right: PlayerController,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.left, self.right = left, right
        self.linked = False
        self.offset_ms = 0  # right position - left position, taken when linked
        self._mirroring = False
        for this, other in ((left, right), (right, left)):
            this.stateChanged.connect(lambda state, o=other: self._state(state, o))
            this.seeked.connect(lambda ms, t=this, o=other: self._seek(ms, t, o))
            this.stepped.connect(lambda frames, o=other: self._mirror(
                lambda: o.step_frames(frames)))
            this.rateChanged.connect(lambda rate, o=other: self._mirror(
                lambda: o.set_rate(rate) if abs(o.rate - rate) > 1e-6 else None))

    def set_linked(self, linked: bool) -> None:
        self.linked = linked
        if linked:
            self.offset_ms = self.right.position - self.left.position

    def _mirror(self, action: Callable[[], Any]) -> None:
        if not self.linked or self._mirroring:
            return
        self._mirroring = True
        try:
            action()
        finally:
            self._mirroring = False

    def _state(self, state: str, other: PlayerController) -> None:
        if state == "playing" and other.state != "playing":
            self._mirror(other.play)
        elif state == "paused" and other.state == "playing":
            self._mirror(other.pause)

    def _seek(self, ms: int, this: PlayerController, other: PlayerController) -> None:
        offset = self.offset_ms if this is self.left else -self.offset_ms
        self._mirror(lambda: other.seek(max(0, ms + offset)))


class CompareSide(QWidget):
    """One side: which recording, and its player."""

    def __init__(self, controller: PlayerController, videos: Sequence[Video], chosen: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.videos = list(videos)
        self.choice = QComboBox()
        self.choice.setAccessibleName("Recording")
        for video in self.videos:
            self.choice.addItem(f"{video.title or '(untitled)'} — "
                                f"{format_local_time(video.recorded_at)}", video.video_id)
        self.player = PlayerWidget(controller)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.choice)
        layout.addWidget(self.player, 1)
        self.choice.setCurrentIndex(chosen)
        self.choice.currentIndexChanged.connect(self._open)

    def _open(self, index: int) -> None:
        if 0 <= index < len(self.videos):
            self.controller.open(self.videos[index], autoplay=False)

    def open_chosen(self) -> None:
        self._open(self.choice.currentIndex())


class CompareWindow(QWidget):
    """Two recordings side by side, linked or independent."""

    def __init__(self, videos: Sequence[Video], url_provider: UrlProvider, tasks: TasksLike,
                 *, left: int = 0, right: int = 1, local_copies: LocalCopies | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Compare recordings")
        self.setObjectName("compareWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.controllers = [PlayerController(url_provider, tasks, local_copies=local_copies,
                                             parent=self) for _ in range(2)]
        count = len(videos)
        self.left = CompareSide(self.controllers[0], videos, min(left, count - 1))
        self.right = CompareSide(self.controllers[1], videos, min(right, count - 1))
        self.link = Link(self.controllers[0], self.controllers[1], self)
        self.linked = QCheckBox("Play linked")
        self.linked.setToolTip("Play, pause, seek, speed and frame steps on one side happen on "
                               "the other too (keeping the distance the two had when linked).")
        self.linked.toggled.connect(self.link.set_linked)
        hint = QLabel("Each side has every player key; choose the recordings above them.")
        hint.setObjectName("hint")
        top = QHBoxLayout()
        top.addWidget(self.linked)
        top.addWidget(hint, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.left)
        split.addWidget(self.right)
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        self.resize(1280, 620)
        self.left.open_chosen()
        self.right.open_chosen()
        self.linked.setChecked(True)
        for controller in self.controllers:
            controller.audio.setMuted(controller is self.controllers[1])  # one sound at a time

    def closeEvent(self, event: QCloseEvent) -> None:
        for controller in self.controllers:
            controller.shutdown()
        super().closeEvent(event)
