"""The player: a QObject facade over QMediaPlayer + QAudioOutput, and a separate widget.

:class:`PlayerController` (like Picard's ``picard/ui/player``) owns the media objects and the
logic: it asks for a pre-signed playback URL on the task runner, streams it directly (Qt's
FFmpeg backend reads it over HTTP with Range requests: nothing is downloaded first), renews
the URL at 80 % of its lifetime and carries on at the same position, turns failures into
clear messages (stream errors, a recording not uploaded yet, no network), remembers the
position of each recording and offers to resume.

:class:`PlayerWidget` is only the view: video, seek slider with times, buttons, speed,
volume, fullscreen, and the keyboard shortcuts (listed in a help overlay, :data:`SHORTCUTS`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QLoggingCategory, QObject, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QHideEvent, QKeySequence
from PySide6.QtMultimedia import QAudioOutput, QMediaMetaData, QMediaPlayer, QVideoSink
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import (
    QApplication,
    QBoxLayout,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from medispecs_desktop.core.errors import (
    ConflictError,
    MediSpecsError,
    NotFoundError,
    NotSignedInError,
    OfflineError,
)
from medispecs_desktop.core.formatting import format_ms
from medispecs_desktop.core.logs import redact
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui.icons import icon as named_icon
from medispecs_desktop.ui.positions import MIN_RESUME_MS, PositionStore

log = logging.getLogger(__name__)

API_KIND = "api"
RATES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
ICON_SIZE = QSize(20, 20)  # player control icons
DEFAULT_FPS = 30.0
REFRESH_FRACTION = 0.8
SMALL_STEP_MS = 5_000
BIG_STEP_MS = 30_000
SAVE_POSITION_EVERY_MS = 5_000
MAX_ERROR_REFRESHES = 2  # URL renewals in a row after stream errors, then give up

# (keys, what they do) - the help overlay and the widget's actions are built from this
SHORTCUTS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("Space", "K"), "Play / pause", "toggle"),
    (("Left",), "Back 5 seconds", "back_small"),
    (("Right",), "Forward 5 seconds", "forward_small"),
    (("J", "Shift+Left"), "Back 30 seconds", "back_big"),
    (("L", "Shift+Right"), "Forward 30 seconds", "forward_big"),
    ((",",), "Previous frame (pauses)", "frame_back"),
    ((".",), "Next frame (pauses)", "frame_forward"),
    (("[",), "Slower (down to 0.25×)", "slower"),
    (("]",), "Faster (up to 2×)", "faster"),
    (("F",), "Fullscreen on / off", "fullscreen"),
    (("M",), "Mute / unmute", "mute"),
    (("?", "F1"), "Show / hide these shortcuts", "help"),
    (("Esc",), "Leave fullscreen / close this help", "escape"),
)


_SEEKABLE = (
    QMediaPlayer.MediaStatus.LoadedMedia,
    QMediaPlayer.MediaStatus.BufferingMedia,
    QMediaPlayer.MediaStatus.BufferedMedia,
    QMediaPlayer.MediaStatus.StalledMedia,
    QMediaPlayer.MediaStatus.EndOfMedia,
)


def _quiet_stream_summary() -> None:
    """Qt's FFmpeg backend prints FFmpeg's stream summary to stderr when it opens a source
    ("Input #0, mov,... from 'https://...X-Amz-Signature=...'"): the whole pre-signed URL,
    signature included, in whatever keeps the app's stderr (a desktop session log). Turn
    that one summary off; QT_LOGGING_RULES can still turn it back on for debugging."""
    QLoggingCategory.setFilterRules("qt.multimedia.ffmpeg.mediadataholder.info=false")


STANDBY_LEAD_MS = 1_500  # the standby player is parked this far ahead of the visible one
STANDBY_TIMEOUT_MS = 15_000  # not ready by then: reload the source instead


class _Standby:
    """A hidden player loading a renewed URL (see PlayerController._prepare_standby)."""

    def __init__(self, player: QMediaPlayer, sink: QVideoSink, url: PlaybackUrlLike) -> None:
        self.player = player
        self.sink = sink
        self.url = url
        self.target: int | None = None
        self.ready = False
        self.timer = QTimer(player)
        self.timer.setSingleShot(True)


class PlaybackUrlLike(Protocol):
    url: str
    expires_at: float


class TasksLike(Protocol):
    def run(
        self,
        kind: str,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None] | None = ...,
        on_error: Callable[[BaseException], None] | None = ...,
    ) -> Any: ...


UrlProvider = Callable[[str], PlaybackUrlLike]


def describe_url_error(exc: BaseException, title: str) -> str:
    """The sentence the player shows when it cannot get a playback URL."""
    name = f"“{title}”" if title else "This recording"
    if isinstance(exc, ConflictError) and exc.code in ("not_uploaded", "conflict"):
        return (
            f"{name} is not in the cloud yet: it can be played once its upload has finished "
            "(see Uploads)."
        )
    if isinstance(exc, NotFoundError):
        return f"{name} no longer exists in the cloud (it may have been deleted)."
    if isinstance(exc, OfflineError):
        return (
            "No network connection: recordings stream from the cloud. Playback will be possible "
            "again once the connection is back."
        )
    if isinstance(exc, NotSignedInError):
        return "Your session has ended: please sign in again to play recordings."
    if isinstance(exc, MediSpecsError):
        return f"{name} cannot be played: {exc}"
    return f"{name} cannot be played: unexpected error ({type(exc).__name__})."


class PlayerController(QObject):
    """Everything about playing one recording, without any widget."""

    stateChanged = Signal(str)  # "idle" | "loading" | "playing" | "paused" | "stopped" | "error"
    positionChanged = Signal(int)  # ms
    durationChanged = Signal(int)  # ms
    message = Signal(str, str)  # kind ("error" | "info" | ""), text ("" clears)
    resumeOffered = Signal(int)  # ms of the remembered position
    videoChanged = Signal(object)  # Video | None
    rateChanged = Signal(float)
    mutedChanged = Signal(bool)
    volumeChanged = Signal(float)
    urlRefreshed = Signal()
    firstFrame = Signal()  # the first frame of the current source was shown
    titleChanged = Signal(str)  # the open recording was renamed

    def __init__(
        self,
        url_provider: UrlProvider,
        tasks: TasksLike,
        *,
        positions: PositionStore | None = None,
        clock: Callable[[], float] = time.time,
        refresh_fraction: float = REFRESH_FRACTION,
        min_refresh_ms: int = 1_000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._url_provider = url_provider
        self._tasks = tasks
        self._positions = positions
        self._clock = clock
        self._refresh_fraction = refresh_fraction
        self._min_refresh_ms = min_refresh_ms

        _quiet_stream_summary()
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self._sink: QVideoSink | None = None

        self.video: Video | None = None
        self._url: PlaybackUrlLike | None = None
        self._request = 0  # generation of URL requests: answers for older ones are dropped
        self._pending_position: int | None = None
        self._pending_play = False
        self._awaiting_first_frame = False
        self._error_refreshes = 0
        self._state = "idle"
        self.url_requests = 0
        self.url_refreshes = 0

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(lambda: self._renew_url(reason="expiry"))
        self._save_timer = QTimer(self)
        self._save_timer.setInterval(SAVE_POSITION_EVERY_MS)
        self._save_timer.timeout.connect(self.save_position)

        self._output: QObject | None = None
        self._standby: _Standby | None = None
        self.seamless_swaps = 0
        self._connect_player(self.player)
        self.audio.mutedChanged.connect(lambda m: self.mutedChanged.emit(bool(m)))
        self.audio.volumeChanged.connect(lambda v: self.volumeChanged.emit(float(v)))

    def _connect_player(self, player: QMediaPlayer) -> None:
        player.positionChanged.connect(self._on_position)
        player.durationChanged.connect(self._on_duration)
        player.playbackStateChanged.connect(self._on_playback_state)
        player.mediaStatusChanged.connect(self._on_media_status)
        player.errorOccurred.connect(self._on_error)
        player.playbackRateChanged.connect(self._on_rate)

    def _disconnect_player(self, player: QMediaPlayer) -> None:
        for signal in (player.positionChanged, player.durationChanged,
                       player.playbackStateChanged, player.mediaStatusChanged,
                       player.errorOccurred, player.playbackRateChanged):
            try:
                signal.disconnect()
            except (RuntimeError, TypeError):  # pragma: no cover - nothing connected
                pass

    def _on_duration(self, duration: int) -> None:
        self.durationChanged.emit(int(duration))

    def _on_rate(self, rate: float) -> None:
        self.rateChanged.emit(float(rate))

    def set_positions(self, positions: PositionStore | None, *, save: bool = True) -> None:
        """The signed-in user's resume positions (None: remember nothing)."""
        if save:
            self.save_position()
        self._positions = positions

    # -- outputs ---------------------------------------------------------------------------

    def set_video_output(self, output: QObject | None) -> None:
        """A QVideoWidget, QGraphicsVideoItem or QVideoSink (None detaches)."""
        if self._sink is not None:
            try:
                self._sink.videoFrameChanged.disconnect(self._on_frame)
            except (RuntimeError, TypeError):  # pragma: no cover
                pass
        self._output = output
        self.player.setVideoOutput(output)  # type: ignore[arg-type]  # None detaches
        sink = self.player.videoSink()
        self._sink = sink
        if sink is not None:
            sink.videoFrameChanged.connect(self._on_frame)

    @property
    def video_sink(self) -> QVideoSink | None:
        return self._sink

    # -- opening ---------------------------------------------------------------------------

    @property
    def state(self) -> str:
        return self._state

    def open(self, video: Video, *, autoplay: bool = True) -> None:
        """Start streaming ``video``; a URL is fetched first (in the background)."""
        self.save_position()
        self._stop_media()
        self.video = video
        self._url = None
        self._error_refreshes = 0
        self.videoChanged.emit(video)
        self.message.emit("", "")
        if not video.has_bytes:
            self._set_state("error")
            self.message.emit("error", describe_url_error(
                ConflictError("not uploaded", code="not_uploaded", status=409), video.title))
            return
        self._set_state("loading")
        self.message.emit("info", f"Opening “{video.title}”…")
        self._fetch_url(position=None, play=autoplay, offer_resume=True)

    def close(self) -> None:
        """Stop and forget the current recording (its position is remembered)."""
        self.save_position()
        self._stop_media()
        self.video = None
        self._url = None
        self._set_state("idle")
        self.videoChanged.emit(None)

    def update_video(self, video: Video) -> None:
        """The library saved an edit of ``video``: if it is the open one, show its new title
        (playback and position carry on)."""
        if self.video is None or self.video.video_id != video.video_id:
            return
        self.video = video
        self.titleChanged.emit(video.title)

    def forget_video(self, video_id: str) -> None:
        """The library deleted ``video_id``: if it is the open one, stop showing it."""
        if self.video is not None and self.video.video_id == video_id:
            self.close()

    def retry(self) -> None:
        """Try the current recording again from where it was (after an error)."""
        if self.video is None:
            return
        position = self._pending_position or self.player.position()
        self._error_refreshes = 0
        self._set_state("loading")
        self.message.emit("info", "Trying again…")
        self._fetch_url(position=position, play=True, offer_resume=False)

    def _stop_media(self) -> None:
        self._drop_standby()
        self._request += 1
        self._refresh_timer.stop()
        self._save_timer.stop()
        self._pending_position = None
        self.player.stop()
        self.player.setSource(QUrl())

    def _fetch_url(self, *, position: int | None, play: bool, offer_resume: bool) -> None:
        video = self.video
        if video is None:
            return
        self._request += 1
        request = self._request
        provider = self._url_provider
        positions = self._positions
        self.url_requests += 1

        def work() -> tuple[PlaybackUrlLike, int | None]:
            url = provider(video.video_id)
            resume = None
            if positions is not None and offer_resume:
                resume = positions.get(video.video_id)
            return url, resume

        def done(result: tuple[PlaybackUrlLike, int | None]) -> None:
            if request != self._request:
                return
            url, resume = result
            self._apply_url(url, position=position, play=play)
            if resume is not None and resume >= MIN_RESUME_MS:
                self.resumeOffered.emit(int(resume))

        def failed(exc: BaseException) -> None:
            if request != self._request:
                return
            self._set_state("error")
            self.message.emit("error", describe_url_error(exc, video.title))

        self._submit(work, done, failed)

    def _submit(
        self,
        fn: Callable[[], Any],
        done: Callable[[Any], None] | None,
        failed: Callable[[BaseException], None] | None,
    ) -> None:
        try:
            self._tasks.run(API_KIND, fn, done, failed)
        except RuntimeError:  # the runner is closed: the app is shutting down
            log.debug("player task dropped at shutdown")

    def _apply_url(self, url: PlaybackUrlLike, *, position: int | None, play: bool) -> None:
        self._url = url
        self._pending_position = position if position and position > 0 else None
        self._pending_play = play
        self._awaiting_first_frame = True
        self.player.setSource(QUrl())  # a re-signed URL can be identical: force a reload
        self.player.setSource(QUrl(url.url))
        if play:
            self.player.play()
        else:
            self.player.pause()
        self._schedule_refresh(url)

    def _schedule_refresh(self, url: PlaybackUrlLike) -> None:
        lifetime = url.expires_at - self._clock()
        delay_ms = max(self._min_refresh_ms, int(lifetime * self._refresh_fraction * 1000))
        self._refresh_timer.start(min(delay_ms, 2**31 - 1))

    @property
    def refresh_due_in_ms(self) -> int:
        return self._refresh_timer.remainingTime() if self._refresh_timer.isActive() else -1

    def _renew_url(self, *, reason: str) -> None:
        """A new URL for the same recording; playback goes on where it was."""
        video = self.video
        if video is None:
            return
        position = self._pending_position or self.player.position()
        play = self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState or (
            reason == "error" and self._pending_play
        )
        self._request += 1
        request = self._request
        provider = self._url_provider
        self.url_requests += 1
        log.info("Renewing the playback URL of %s (%s)", video.video_id, reason)

        def done(url: PlaybackUrlLike) -> None:
            if request != self._request or self.video is None:
                return
            if reason == "expiry" and self.player.mediaStatus() in _SEEKABLE \
                    and self._pending_position is None:
                self._prepare_standby(url)  # swapped in without a visible stall
                return
            self.url_refreshes += 1
            # take the position again: playback went on while the URL was being fetched
            now = self.player.position()
            self._apply_url(url, position=max(position, now), play=play)
            self.urlRefreshed.emit()

        def failed(exc: BaseException) -> None:
            if request != self._request:
                return
            stopped = self.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState
            if reason == "expiry" and not stopped:
                # the current URL still works for a while: try again shortly
                self.message.emit("info", describe_url_error(exc, video.title))
                self._refresh_timer.start(max(self._min_refresh_ms, 5_000))
                return
            self._set_state("error")
            self.message.emit("error", describe_url_error(exc, video.title))

        self._submit(lambda: provider(video.video_id), done, failed)

    # -- seamless renewal: a second player on the new URL takes over --------------------

    def _prepare_standby(self, url: PlaybackUrlLike) -> None:
        """Load the new URL in a hidden player, park it a little ahead of the visible one,
        and swap them when playback reaches that point (paused: at once). The visible player
        keeps playing meanwhile, so the renewal shows no stall; if the standby cannot get
        ready in time, fall back to reloading the source at the same position."""
        self._drop_standby()
        standby = QMediaPlayer(self)
        sink = QVideoSink(standby)
        standby.setVideoOutput(sink)
        state = _Standby(standby, sink, url)
        self._standby = state
        standby.mediaStatusChanged.connect(lambda status: self._standby_status(state, status))
        standby.errorOccurred.connect(lambda _e, _t: self._standby_failed(state))
        sink.videoFrameChanged.connect(lambda frame: self._standby_frame(state, frame))
        state.timer.timeout.connect(lambda: self._standby_failed(state))
        state.timer.start(STANDBY_TIMEOUT_MS)
        standby.setSource(QUrl(url.url))
        standby.pause()

    def _standby_status(self, state: _Standby, status: QMediaPlayer.MediaStatus) -> None:
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

    def _standby_frame(self, state: _Standby, frame: Any) -> None:
        if state is not self._standby or state.target is None or state.ready:
            return
        if frame.startTime() < 0 or frame.startTime() // 1000 < state.target - self.frame_ms * 2:
            return  # a frame from before the seek
        state.ready = True
        if self.player.playbackState() != QMediaPlayer.PlaybackState.PlayingState \
                or self.player.position() >= state.target:
            self._swap_to_standby()

    def _standby_failed(self, state: _Standby) -> None:
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
        new.setVideoOutput(self._output)  # type: ignore[arg-type]
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

    # -- transport -------------------------------------------------------------------------

    def play(self) -> None:
        if self.player.source().isEmpty():
            if self.video is not None and self._state in ("error", "stopped"):
                self.retry()
            return
        if self.player.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia:
            self.player.setPosition(0)
        self.player.play()

    def pause(self) -> None:
        self.player.pause()

    def toggle(self) -> None:
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.pause()
        else:
            self.play()

    @property
    def position(self) -> int:
        pending = self._pending_position
        return pending if pending is not None else self.player.position()

    @property
    def duration(self) -> int:
        # closed: Qt keeps reporting the last source's length after setSource(QUrl())
        return self.player.duration() if self.video is not None else 0

    def seek(self, position_ms: int) -> None:
        duration = self.player.duration()
        target = max(0, int(position_ms))
        if duration > 0:
            target = min(target, duration)
        if self._standby is not None:  # parked for the old position: start it again
            url = self._standby.url
            self._prepare_standby(url)
        loaded = self.player.mediaStatus() in _SEEKABLE
        if self._pending_position is not None or not loaded:
            self._pending_position = target  # applied once the media has loaded
            self.positionChanged.emit(target)
            return
        if self.player.playbackState() == QMediaPlayer.PlaybackState.StoppedState:
            # played to the end (or stopped): a stopped player does not render, so the
            # picture would stay black at the new position until Play; pause shows the frame
            self.player.pause()
        self.player.setPosition(target)

    def skip(self, delta_ms: int) -> None:
        self.seek(self.position + delta_ms)

    @property
    def frame_rate(self) -> float:
        value = self.player.metaData().value(QMediaMetaData.Key.VideoFrameRate)
        try:
            fps = float(value) if value is not None else 0.0
        except (TypeError, ValueError):
            fps = 0.0
        if not 1.0 <= fps <= 1000.0:
            fps = DEFAULT_FPS
        return fps

    @property
    def frame_ms(self) -> float:
        return 1000.0 / self.frame_rate

    def step_frames(self, frames: int) -> None:
        """Pause and move by whole frames (forward > 0, back < 0)."""
        self.pause()
        current = self.position
        # snap to the frame grid first so repeated steps do not drift
        index = round(current / self.frame_ms)
        self.seek(round((index + frames) * self.frame_ms))

    def set_rate(self, rate: float) -> None:
        rate = min(RATES[-1], max(RATES[0], float(rate)))
        self.player.setPlaybackRate(rate)

    @property
    def rate(self) -> float:
        return float(self.player.playbackRate())

    def faster(self) -> None:
        current = self.rate
        bigger = [r for r in RATES if r > current + 1e-6]
        if bigger:
            self.set_rate(bigger[0])

    def slower(self) -> None:
        current = self.rate
        smaller = [r for r in RATES if r < current - 1e-6]
        if smaller:
            self.set_rate(smaller[-1])

    def set_volume(self, volume: float) -> None:
        self.audio.setVolume(min(1.0, max(0.0, float(volume))))
        if volume > 0 and self.audio.isMuted():
            self.audio.setMuted(False)

    def toggle_mute(self) -> None:
        self.audio.setMuted(not self.audio.isMuted())

    # -- resume ----------------------------------------------------------------------------

    def resume_at(self, position_ms: int) -> None:
        self.seek(position_ms)

    def save_position(self) -> None:
        video, positions = self.video, self._positions
        if video is None or positions is None or self.player.source().isEmpty():
            return
        position, duration = self.position, self.player.duration()
        if duration <= 0:
            return
        try:
            self._tasks.run(
                API_KIND,
                lambda: positions.save(video.video_id, position, duration),
                None,
                lambda exc: log.warning("Position not saved: %s", exc),
            )
        except RuntimeError:  # the app is shutting down: the runner is closed
            positions.save(video.video_id, position, duration)

    # -- media events ----------------------------------------------------------------------

    def _on_position(self, position: int) -> None:
        standby = self._standby
        if standby is not None and standby.ready and standby.target is not None \
                and position >= standby.target + self.frame_ms and self._sink is None:
            self._swap_to_standby()  # no video output to watch: go by the position
            return
        if self._pending_position is None:
            self.positionChanged.emit(position)

    def _on_media_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status in (QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.BufferedMedia):
            if self._pending_position is not None:
                target = self._pending_position
                self._pending_position = None  # once only: status returns here after seeks
                self.player.setPosition(target)
                self.positionChanged.emit(target)
            if self._state in ("loading",) and not self._pending_play:
                self._set_state("paused")
            if self._state == "loading" or self._state == "error":
                self.message.emit("", "")
        elif status == QMediaPlayer.MediaStatus.EndOfMedia:
            self._set_state("stopped")
            if self._positions is not None and self.video is not None:
                video, positions = self.video, self._positions
                self._submit(lambda: positions.forget(video.video_id), None, None)
        # InvalidMedia always comes with errorOccurred, handled (and explained) there

    def _on_playback_state(self, state: QMediaPlayer.PlaybackState) -> None:
        if state == QMediaPlayer.PlaybackState.PlayingState:
            self._set_state("playing")
            self._save_timer.start()
            self.message.emit("", "")
        elif state == QMediaPlayer.PlaybackState.PausedState:
            self._set_state("paused")
            self._save_timer.stop()
            self.save_position()
        else:
            self._save_timer.stop()
            if self._state not in ("error", "loading", "idle"):
                self._set_state("stopped")

    def _on_frame(self, frame: Any) -> None:
        standby = self._standby
        if standby is not None and standby.ready and standby.target is not None:
            shown_ms = frame.startTime() // 1000 if frame.startTime() >= 0 else -1
            if shown_ms >= standby.target - self.frame_ms * 1.5:
                # the frame just before the standby's first one is on screen: hand over
                self._swap_to_standby()
        if self._awaiting_first_frame:
            self._awaiting_first_frame = False
            self._error_refreshes = 0
            self.firstFrame.emit()

    def _on_error(self, error: QMediaPlayer.Error, text: str) -> None:
        if error == QMediaPlayer.Error.NoError or self.video is None:
            return
        safe = redact(text)
        log.warning("Playback error for %s: %s %s", self.video.video_id, error, safe)
        expired = self._url is not None and self._url.expires_at <= self._clock()
        network_like = error in (QMediaPlayer.Error.ResourceError, QMediaPlayer.Error.NetworkError,
                                 QMediaPlayer.Error.AccessDeniedError)
        if network_like and self._error_refreshes < MAX_ERROR_REFRESHES:
            # An expired or revoked URL looks like a resource/access error: renew it once or
            # twice and carry on where playback was; never loop.
            self._error_refreshes += 1
            self.message.emit("info", "Reconnecting to the recording…" if not expired
                              else "The link expired: renewing it…")
            self._renew_url(reason="error")
            return
        self._set_state("error")
        if error == QMediaPlayer.Error.FormatError:
            text_out = "This recording cannot be decoded: its format is not supported or the " \
                       "file is damaged."
        elif network_like:
            text_out = ("The recording could not be streamed from the cloud (the connection "
                        "failed or was refused). Check the network and press Play to try again.")
        else:
            text_out = f"Playback failed: {safe}"
        self.message.emit("error", text_out)

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)

    def shutdown(self) -> None:
        self.save_position()
        self._stop_media()


# -- the widget ----------------------------------------------------------------------------


class PlayerWidget(QWidget):
    """Video + controls over a :class:`PlayerController`."""

    def __init__(self, controller: PlayerController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._slider_dragging = False
        self._fullscreen_home: tuple[QWidget, int] | None = None

        self.video_widget = QVideoWidget()
        self.video_widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.video_widget.setMinimumSize(320, 180)
        self.video_widget.setAccessibleName("Video")
        controller.set_video_output(self.video_widget)

        self.title_label = QLabel("No recording open")
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setVisible(False)
        self.retry_button = QPushButton("Try again")
        self.retry_button.setVisible(False)

        # resume offer
        self.resume_bar = QWidget()
        resume_layout = QHBoxLayout(self.resume_bar)
        resume_layout.setContentsMargins(0, 0, 0, 0)
        self.resume_label = QLabel("")
        self.resume_button = QPushButton("Resume")
        self.start_over_button = QPushButton("Start over")
        resume_layout.addWidget(self.resume_label, 1)
        resume_layout.addWidget(self.resume_button)
        resume_layout.addWidget(self.start_over_button)
        self.resume_bar.setVisible(False)
        self._resume_ms = 0

        # controls
        style = self.style()
        self.play_button = QToolButton()
        self.play_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.play_button.setToolTip("Play / pause (Space, K)")
        c = controller
        self.back_big = self._button("−30 s", "Back 30 seconds (J)", lambda: c.skip(-BIG_STEP_MS))
        self.back_small = self._button(
            "−5 s", "Back 5 seconds (←)", lambda: c.skip(-SMALL_STEP_MS)
        )
        self.frame_back = self._icon_button(
            "frame-back", "Previous frame (,)", lambda: c.step_frames(-1))
        self.frame_forward = self._icon_button(
            "frame-forward", "Next frame (.)", lambda: c.step_frames(1))
        self.forward_small = self._button(
            "+5 s", "Forward 5 seconds (→)", lambda: c.skip(SMALL_STEP_MS)
        )
        self.forward_big = self._button(
            "+30 s", "Forward 30 seconds (L)", lambda: c.skip(BIG_STEP_MS)
        )
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setAccessibleName("Position")
        self.time_label = QLabel("0:00 / 0:00")
        self.time_label.setAlignment(
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        # wide enough for "h:mm:ss / h:mm:ss" from the start: the text never truncates and
        # the slider does not jump when an hour-long recording opens
        self.time_label.setMinimumWidth(
            self.time_label.fontMetrics().horizontalAdvance("00:00:00 / 00:00:00") + 4)
        self.time_label.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
        self.speed = QComboBox()
        for rate in RATES:
            self.speed.addItem(f"{rate:g}×", rate)
        self.speed.setCurrentIndex(RATES.index(1.0))
        self.speed.setToolTip("Playback speed ([ slower, ] faster)")
        self.mute_button = QToolButton()
        self.mute_button.setCheckable(True)
        self.mute_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaVolume))
        self.mute_button.setToolTip("Mute (M)")
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(round(controller.audio.volume() * 100))
        self.volume.setMinimumWidth(60)  # squeezed to its handle it looks like a checkbox
        self.volume.setMaximumWidth(110)
        self.volume.setToolTip("Volume")
        self.volume.setAccessibleName("Volume")
        self.fullscreen_button = self._icon_button(
            "fullscreen", "Full screen (F)", self.toggle_fullscreen)
        self.help_button = self._icon_button(
            "keyboard", "Keyboard shortcuts (?)", self.toggle_help)
        self.play_button.setAccessibleName("Play")
        self.mute_button.setAccessibleName("Mute")
        for button in (self.play_button, self.mute_button):
            button.setIconSize(ICON_SIZE)
            button.setAutoRaise(True)

        # the seek slider has a full-width row of its own above the buttons
        seek_row = QHBoxLayout()
        seek_row.addWidget(self.slider, 1)
        seek_row.addWidget(self.time_label)
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        for w in (self.play_button, self.back_big, self.back_small, self.frame_back,
                  self.frame_forward, self.forward_small, self.forward_big):
            buttons.addWidget(w)
        buttons.addStretch(1)
        buttons.addWidget(self.speed)
        buttons.addWidget(self.mute_button)
        buttons.addWidget(self.volume)
        buttons.addWidget(self.fullscreen_button)
        buttons.addWidget(self.help_button)
        # one widget for the bar: compact buttons, so the player leaves the library its room
        self.control_bar = QWidget()
        self.control_bar.setObjectName("playerControls")
        self.control_bar.setStyleSheet("QToolButton { padding: 3px 4px; }")
        controls = QVBoxLayout(self.control_bar)
        controls.setContentsMargins(0, 0, 0, 0)
        controls.setSpacing(2)
        controls.addLayout(seek_row)
        controls.addLayout(buttons)

        # help overlay (on top of the video)
        # A frameless tool window: video surfaces are native and would hide a child widget.
        self.help_overlay = QLabel(self.shortcut_help_text(), self)
        self.help_overlay.setWindowFlags(
            Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
        )
        self.help_overlay.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.help_overlay.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.help_overlay.setTextFormat(Qt.TextFormat.RichText)
        self.help_overlay.setStyleSheet(
            "background: rgba(20,20,20,215); color: white; padding: 12px; border-radius: 6px;"
        )
        self.help_overlay.setVisible(False)

        video_area = QWidget()
        grid = QGridLayout(video_area)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.video_widget, 0, 0)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title_label)
        layout.addWidget(self.resume_bar)
        layout.addWidget(video_area, 1)
        msg = QHBoxLayout()
        msg.addWidget(self.message_label, 1)
        msg.addWidget(self.retry_button)
        layout.addLayout(msg)
        layout.addWidget(self.control_bar)

        self.actions_by_name: dict[str, QAction] = {}
        handlers: dict[str, Callable[[], None]] = {
            "toggle": controller.toggle,
            "back_small": lambda: controller.skip(-SMALL_STEP_MS),
            "forward_small": lambda: controller.skip(SMALL_STEP_MS),
            "back_big": lambda: controller.skip(-BIG_STEP_MS),
            "forward_big": lambda: controller.skip(BIG_STEP_MS),
            "frame_back": lambda: controller.step_frames(-1),
            "frame_forward": lambda: controller.step_frames(1),
            "slower": controller.slower,
            "faster": controller.faster,
            "fullscreen": self.toggle_fullscreen,
            "mute": controller.toggle_mute,
            "help": self.toggle_help,
            "escape": self._escape,
        }
        for keys, text, name in SHORTCUTS:
            action = QAction(text, self)
            action.setShortcuts([QKeySequence(k) for k in keys])
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(handlers[name])
            self.addAction(action)
            self.actions_by_name[name] = action

        # wiring
        self.play_button.clicked.connect(controller.toggle)
        self.slider.sliderPressed.connect(self._slider_pressed)
        self.slider.sliderReleased.connect(self._slider_released)
        self.slider.sliderMoved.connect(self._slider_moved)
        self.slider.actionTriggered.connect(self._slider_action)
        self.speed.activated.connect(lambda i: controller.set_rate(float(self.speed.itemData(i))))
        self.mute_button.toggled.connect(lambda on: controller.audio.setMuted(on))
        self.volume.valueChanged.connect(lambda v: controller.set_volume(v / 100.0))
        self.retry_button.clicked.connect(controller.retry)
        self.resume_button.clicked.connect(self._resume)
        self.start_over_button.clicked.connect(lambda: self.resume_bar.setVisible(False))

        controller.positionChanged.connect(self._on_position)
        controller.durationChanged.connect(self._on_duration)
        controller.stateChanged.connect(self._on_state)
        controller.message.connect(self._on_message)
        controller.resumeOffered.connect(self._on_resume_offered)
        controller.videoChanged.connect(self._on_video)
        controller.titleChanged.connect(self.title_label.setText)
        controller.rateChanged.connect(self._on_rate)
        controller.mutedChanged.connect(self._on_muted)
        controller.volumeChanged.connect(lambda v: self._set_quietly(self.volume, round(v * 100)))
        self._update_enabled()

    def _button(self, text: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    def _icon_button(self, name: str, tip: str, slot: Callable[[], None]) -> QToolButton:
        """An icon-only button; the tooltip (and the accessible name) say what it does and
        its shortcut, the text is for screen readers and a missing icon file."""
        button = self._button(tip.split(" (")[0], tip, slot)
        button.setIcon(named_icon(name))
        button.setIconSize(ICON_SIZE)
        button.setToolButtonStyle(
            Qt.ToolButtonStyle.ToolButtonIconOnly if not button.icon().isNull()
            else Qt.ToolButtonStyle.ToolButtonTextOnly)
        return button

    # -- help ------------------------------------------------------------------------------

    @staticmethod
    def shortcut_help() -> list[tuple[str, str]]:
        return [(" / ".join(keys), text) for keys, text, _name in SHORTCUTS]

    def shortcut_help_text(self) -> str:
        rows = "".join(
            f"<tr><td><b>{keys}</b></td><td>&nbsp;&nbsp;{text}</td></tr>"
            for keys, text in self.shortcut_help()
        )
        return f"<b>Keyboard shortcuts</b><table>{rows}</table>"

    def toggle_help(self) -> None:
        overlay = self.help_overlay
        if overlay.isVisible():
            overlay.hide()
            return
        overlay.adjustSize()
        centre = self.video_widget.mapToGlobal(self.video_widget.rect().center())
        overlay.move(centre.x() - overlay.width() // 2, centre.y() - overlay.height() // 2)
        overlay.show()
        overlay.raise_()

    def hideEvent(self, event: QHideEvent) -> None:
        self.help_overlay.hide()  # a separate tool window: it must not linger alone
        super().hideEvent(event)

    def _escape(self) -> None:
        if self.help_overlay.isVisible():
            self.help_overlay.setVisible(False)
        elif self.is_fullscreen:
            self.toggle_fullscreen()

    @property
    def is_fullscreen(self) -> bool:
        return self._fullscreen_home is not None or (
            self.isWindow() and self.isFullScreen()
        )

    def toggle_fullscreen(self) -> None:
        """The player alone fills the screen (it leaves its place in the window and comes
        back to it); Esc or F again restores it. The video keeps playing throughout."""
        self._toggle_fullscreen()
        full = self.is_fullscreen
        self.fullscreen_button.setIcon(named_icon("fullscreen-exit" if full else "fullscreen"))
        self.fullscreen_button.setToolTip("Leave full screen (F, Esc)" if full
                                          else "Full screen (F)")

    def _toggle_fullscreen(self) -> None:
        if self._fullscreen_home is not None:
            parent, index = self._fullscreen_home
            self._fullscreen_home = None
            self.showNormal()
            layout = parent.layout()
            self.setParent(parent)
            if isinstance(layout, QBoxLayout):
                layout.insertWidget(max(0, index), self)
            elif layout is not None:
                layout.addWidget(self)
            self.show()
            self.setFocus()
            return
        current = self.parentWidget()
        if current is None:  # already a window of its own
            if self.isFullScreen():
                self.showNormal()
            else:
                self.showFullScreen()
            return
        layout = current.layout()
        index = layout.indexOf(self) if layout is not None else -1
        self._fullscreen_home = (current, index)
        screen = current.window().screen()
        self.setParent(None)
        if screen is not None:
            # the screen the window is on, and its whole area even where no window manager
            # honours the full-screen state (kiosk sessions, X without a WM)
            self.setScreen(screen)
            self.setGeometry(screen.geometry())
        self.showFullScreen()
        self.activateWindow()
        self.setFocus()

    # -- controller -> widgets -------------------------------------------------------------

    def _on_video(self, video: Video | None) -> None:
        self.title_label.setText(video.title if video is not None else "No recording open")
        self.resume_bar.setVisible(False)
        self._set_quietly(self.slider, 0)
        if video is None:  # closed: Qt keeps reporting the old length, show none
            self.slider.setRange(0, 0)
            self.time_label.setText(f"{format_ms(0)} / {format_ms(0)}")
        self._update_enabled()

    def _on_position(self, position: int) -> None:
        if not self._slider_dragging:
            self._set_quietly(self.slider, position)
        self._update_time(position)

    def _on_duration(self, duration: int) -> None:
        self.slider.setRange(0, max(0, duration))
        self.slider.setPageStep(max(1000, duration // 20))
        self._update_time(self.controller.position)

    def _update_time(self, position: int) -> None:
        self.time_label.setText(f"{format_ms(position)} / {format_ms(self.controller.duration)}")

    def _on_state(self, state: str) -> None:
        icon = (
            QStyle.StandardPixmap.SP_MediaPause
            if state == "playing"
            else QStyle.StandardPixmap.SP_MediaPlay
        )
        self.play_button.setIcon(self.style().standardIcon(icon))
        self.retry_button.setVisible(state == "error" and self.controller.video is not None
                                     and self.controller.video.has_bytes)
        self._update_enabled()

    def _on_message(self, kind: str, text: str) -> None:
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))
        self.message_label.setStyleSheet("color: #b00020;" if kind == "error" else "")

    def _on_resume_offered(self, position: int) -> None:
        self._resume_ms = position
        self.resume_label.setText(f"You stopped at {format_ms(position)} last time.")
        self.resume_bar.setVisible(True)

    def _resume(self) -> None:
        self.resume_bar.setVisible(False)
        self.controller.resume_at(self._resume_ms)

    def _on_rate(self, rate: float) -> None:
        for i in range(self.speed.count()):
            if abs(float(self.speed.itemData(i)) - rate) < 1e-6:
                self._set_quietly(self.speed, i)

    def _on_muted(self, muted: bool) -> None:
        self._set_quietly(self.mute_button, muted)
        self.mute_button.setIcon(self.style().standardIcon(
            QStyle.StandardPixmap.SP_MediaVolumeMuted if muted
            else QStyle.StandardPixmap.SP_MediaVolume))

    def _update_enabled(self) -> None:
        has = self.controller.video is not None and self.controller.state not in ("idle",)
        for w in (self.play_button, self.back_big, self.back_small, self.frame_back,
                  self.frame_forward, self.forward_small, self.forward_big, self.slider,
                  self.speed):
            w.setEnabled(has)

    # -- slider ----------------------------------------------------------------------------

    def _slider_pressed(self) -> None:
        self._slider_dragging = True

    def _slider_moved(self, value: int) -> None:
        self._update_time(value)

    def _slider_released(self) -> None:
        self._slider_dragging = False
        self.controller.seek(self.slider.value())

    def _slider_action(self, action: int) -> None:
        # page/step clicks on the groove (not drags): seek to where the slider will be
        if not self._slider_dragging and action != QSlider.SliderAction.SliderMove.value:
            QTimer.singleShot(0, lambda: self.controller.seek(self.slider.value()))

    @staticmethod
    def _set_quietly(widget: Any, value: Any) -> None:
        widget.blockSignals(True)
        try:
            if isinstance(widget, QComboBox):
                widget.setCurrentIndex(value)
            elif isinstance(widget, QToolButton):
                widget.setChecked(bool(value))
            else:
                widget.setValue(value)
        finally:
            widget.blockSignals(False)


# -- the view the app installs -------------------------------------------------------------


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

        self.controller = PlayerController(playback_url, ctx.tasks, parent=self)
        self.widget = PlayerWidget(self.controller)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.widget)
        ctx.signed_in.connect(self._on_signed_in)
        ctx.signed_out.connect(self._on_signed_out)
        app = QApplication.instance()
        if app is not None:  # remember where the user was when the app quits
            app.aboutToQuit.connect(self.controller.shutdown)
        if getattr(ctx, "user", None) is not None:
            self._on_signed_in(ctx.user)

    def _on_signed_in(self, user: Any) -> None:
        user_id = str(getattr(user, "sub", "") or getattr(user, "username", ""))
        try:
            self.controller.set_positions(PositionStore(self.ctx.paths.data_dir, user_id))
        except OSError as exc:
            log.warning("Resume positions unavailable: %s", exc)

    def _on_signed_out(self) -> None:
        # forget positions first: sign-out deletes them, nothing may be written afterwards
        self.controller.set_positions(None, save=False)
        self.controller.close()

    def open_video(self, video: Video) -> None:
        self.controller.open(video)
        self.widget.setFocus()

    def actions_for_menu(self) -> list[QAction]:
        return list(self.widget.actions_by_name.values())
