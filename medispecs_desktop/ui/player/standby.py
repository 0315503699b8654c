"""Seamless URL renewal: a hidden second player loads the renewed pre-signed URL, parks a
little ahead of the visible one and takes over when playback reaches that point (paused: at
once), so a renewal shows no stall. A mixin of
:class:`~medispecs_desktop.ui.player.controller.PlayerController`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QObject, QUrl
from PySide6.QtMultimedia import QMediaPlayer, QVideoSink

from medispecs_desktop.ui.player.common import (
    STANDBY_LEAD_MS,
    STANDBY_TIMEOUT_MS,
    PlaybackUrlLike,
    Standby,
)

log = logging.getLogger(__name__)


class StandbyMixin:
    """The standby player's life: prepared, parked, ready, swapped in or dropped."""

    if TYPE_CHECKING:
        player: QMediaPlayer
        audio: Any
        _standby: Standby | None
        _output: Any
        _url: PlaybackUrlLike | None
        seamless_swaps: int
        url_refreshes: int
        urlRefreshed: Any

        @property
        def frame_ms(self) -> float: ...

        @property
        def rate(self) -> float: ...

        def _apply_url(self, url: PlaybackUrlLike, *, position: int | None,
                       play: bool) -> None: ...

        def _schedule_refresh(self, url: PlaybackUrlLike) -> None: ...

        def _connect_player(self, player: QMediaPlayer) -> None: ...

        def _disconnect_player(self, player: QMediaPlayer) -> None: ...

        def set_video_output(self, output: Any) -> None: ...

    def _prepare_standby(self, url: PlaybackUrlLike) -> None:
        """Load the new URL in a hidden player, park it a little ahead of the visible one,
        and swap them when playback reaches that point (paused: at once). The visible player
        keeps playing meanwhile, so the renewal shows no stall; if the standby cannot get
        ready in time, fall back to reloading the source at the same position."""
        self._drop_standby()
        standby = QMediaPlayer(cast(QObject, self))  # owned by the controller
        sink = QVideoSink(standby)
        standby.setVideoOutput(sink)
        state = Standby(standby, sink, url)
        self._standby = state
        standby.mediaStatusChanged.connect(lambda status: self._standby_status(state, status))
        standby.errorOccurred.connect(lambda _e, _t: self._standby_failed(state))
        sink.videoFrameChanged.connect(lambda frame: self._standby_frame(state, frame))
        state.timer.timeout.connect(lambda: self._standby_failed(state))
        state.timer.start(STANDBY_TIMEOUT_MS)
        standby.setSource(QUrl(url.url))
        standby.pause()

    def _standby_status(self, state: Standby, status: QMediaPlayer.MediaStatus) -> None:
        if state is not self._standby or state.target is not None:
            return
        if status in (QMediaPlayer.MediaStatus.LoadedMedia,
                      QMediaPlayer.MediaStatus.BufferedMedia):
            playing = self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
            lead = round(STANDBY_LEAD_MS * max(1.0, self.rate)) if playing else 0
            target = self.player.position() + lead
            duration = self.player.duration()
            if duration > 0:
                target = min(target, max(0, duration - 1))
            state.target = target
            state.player.setPosition(target)

    def _standby_frame(self, state: Standby, frame: Any) -> None:
        if state is not self._standby or state.target is None or state.ready:
            return
        if frame.startTime() < 0 or frame.startTime() // 1000 < state.target - self.frame_ms * 2:
            return  # a frame from before the seek
        state.ready = True
        if self.player.playbackState() != QMediaPlayer.PlaybackState.PlayingState \
                or self.player.position() >= state.target:
            self._swap_to_standby()

    def _standby_failed(self, state: Standby) -> None:
        if state is not self._standby:
            return
        log.info("Standby player not ready: renewing by reloading the source")
        url = state.url
        self._drop_standby()
        position = self.player.position()
        play = self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        self.url_refreshes += 1
        self._apply_url(url, position=position, play=play)
        self.urlRefreshed.emit()

    def _swap_to_standby(self) -> None:
        state = self._standby
        if state is None:
            return
        self._standby = None
        state.timer.stop()
        old, new = self.player, state.player
        playing = old.playbackState() == QMediaPlayer.PlaybackState.PlayingState
        rate = old.playbackRate()
        self._disconnect_player(old)
        old.pause()
        new.setVideoOutput(self._output)
        new.setAudioOutput(self.audio)
        new.setPlaybackRate(rate)
        self.player = new
        self._connect_player(new)
        if self._output is not None:
            self.set_video_output(self._output)
        if playing:
            new.play()
        old.stop()
        old.setSource(QUrl())
        old.deleteLater()
        state.sink.deleteLater()
        self._url = state.url
        self._schedule_refresh(state.url)
        self.url_refreshes += 1
        self.seamless_swaps += 1
        self.urlRefreshed.emit()

    def _drop_standby(self) -> None:
        state = self._standby
        self._standby = None
        if state is not None:
            state.timer.stop()
            state.player.stop()
            state.player.setSource(QUrl())
            state.player.deleteLater()
            state.sink.deleteLater()
