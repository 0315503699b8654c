"""PlayerView: the player as the main window installs it."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtGui import QAction, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QWidget,
)

from medispecs_desktop.core import frame_index, preview
from medispecs_desktop.core.errors import (
    NotSignedInError,
)
from medispecs_desktop.core.frame_index import FrameIndex, FrameIndexCache, read_frame_index
from medispecs_desktop.core.models import Video
from medispecs_desktop.core.preview import PreviewCache
from medispecs_desktop.ui.player.common import PlaybackUrlLike
from medispecs_desktop.ui.player.controller import PlayerController
from medispecs_desktop.ui.player.markers_panel import PANEL_MIN_WIDTH, MarkersPanel
from medispecs_desktop.ui.player.widget import PlayerWidget
from medispecs_desktop.ui.positions import PositionStore

log = logging.getLogger(__name__)


class PlayerView(QWidget):
    """The player as the main window shows it: one controller for the app's lifetime, the
    playback URL from ``ctx.api``, resume positions per signed-in user."""

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx

        def playback_url(video_id: str) -> PlaybackUrlLike:
            api = ctx.api
            if api is None:
                raise NotSignedInError("Not signed in.")
            url: PlaybackUrlLike = api.playback_url(video_id)
            return url

        self._frame_cache: FrameIndexCache | None = None

        def frame_times(video: Video, url: str) -> FrameIndex:
            cache = self._frame_cache
            if cache is None:
                return read_frame_index(url)
            content = video.sha256 or video.s3_key or str(video.file_size_bytes or "")
            return cache.load(cache.key_for(video.video_id, content), url)

        self.playback_url = playback_url
        self.controller = PlayerController(playback_url, ctx.tasks, index_loader=frame_times,
                                           parent=self)
        self.widget = PlayerWidget(self.controller)
        # markers beside the player: M in the player starts one, the seek bar shows them
        self.markers = MarkersPanel(self.controller, lambda: ctx.api, ctx.tasks)
        self.widget.markRequested.connect(self._mark)
        self.markers.changed.connect(
            lambda markers: self.widget.set_markers([m.time_ms for m in markers]))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget, 1)
        layout.addWidget(self.markers)
        ctx.signed_in.connect(self._on_signed_in)
        ctx.signed_out.connect(self._on_signed_out)
        app = QApplication.instance()
        if app is not None:  # remember where the user was when the app quits
            app.aboutToQuit.connect(self.controller.shutdown)
        if getattr(ctx, "user", None) is not None:
            self._on_signed_in(ctx.user)

    def _mark(self) -> None:
        self.markers.setVisible(True)  # asked for: shown even where the window is narrow
        self.markers.start_new()

    def resizeEvent(self, event: QResizeEvent) -> None:
        # beside the player only when both fit: a narrow window keeps the player's controls
        # whole (the markers stay on the seek bar, and M brings the list back)
        super().resizeEvent(event)
        room = event.size().width() - self.widget.minimumSizeHint().width()
        self.markers.setVisible(room >= PANEL_MIN_WIDTH)

    def _on_signed_in(self, user: Any) -> None:
        user_id = str(getattr(user, "sub", "") or getattr(user, "username", ""))
        try:
            self.controller.set_positions(PositionStore(self.ctx.paths.data_dir, user_id))
        except OSError as exc:
            log.warning("Resume positions unavailable: %s", exc)
        self._frame_cache = FrameIndexCache(self.ctx.paths.cache_dir, user_id)
        self.widget.preview.cache = PreviewCache(self.ctx.paths.cache_dir, user_id)

    def _on_signed_out(self) -> None:
        # forget positions first: sign-out deletes them, nothing may be written afterwards
        self.controller.set_positions(None, save=False)
        self.controller.close()
        self._frame_cache = None
        self.widget.preview.cache = None
        frame_index.clear_all(self.ctx.paths.cache_dir)  # small files: at once
        cache_dir = self.ctx.paths.cache_dir  # preview pictures are frames: PHI, gone too
        self.ctx.tasks.run("api", lambda: preview.clear_all(cache_dir))

    def open_video(self, video: Video) -> None:
        self.controller.open(video)
        self.widget.setFocus()

    def actions_for_menu(self) -> list[QAction]:
        return list(self.widget.actions_by_name.values())
