"""PlayerController: a QObject facade over QMediaPlayer + QAudioOutput (no widgets).

Like Picard's ``picard/ui/player``, it owns the media objects and the
logic: it asks for a pre-signed playback URL on the task runner, streams it directly (Qt's
FFmpeg backend reads it over HTTP with Range requests: nothing is downloaded first), renews
the URL at 80 % of its lifetime and carries on at the same position, turns failures into
clear messages (stream errors, a recording not uploaded yet, no network), remembers the
position of each recording and offers to resume.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtMultimedia import (
    QAudioOutput,
    QMediaMetaData,
    QMediaPlayer,
    QVideoFrame,
    QVideoSink,
)

from medispecs_desktop.core.errors import (
    ConflictError,
)
from medispecs_desktop.core.local_copies import LocalCandidate, LocalUrl, local_file_uri
from medispecs_desktop.core.logs import redact
from medispecs_desktop.core.models import Video
from medispecs_desktop.ui import gui_gc
from medispecs_desktop.ui.diagnostics import playback_unavailable
from medispecs_desktop.ui.player.common import (
    API_KIND,
    DEFAULT_FPS,
    MAX_ERROR_REFRESHES,
    RATES,
    REFRESH_FRACTION,
    SAVE_POSITION_EVERY_MS,
    SEEKABLE,
    SHUTTLE_RATES,
    PlaybackUrlLike,
    Standby,
    TasksLike,
    UrlProvider,
    describe_url_error,
    quiet_stream_summary,
)
from medispecs_desktop.ui.player.frames import FrameIndexBridge, FrameStepper, IndexLoader
from medispecs_desktop.ui.player.loop import LoopMixin
from medispecs_desktop.ui.player.shuttle import ReverseShuttle
from medispecs_desktop.ui.player.standby import StandbyMixin
from medispecs_desktop.ui.positions import MIN_RESUME_MS, PositionStore

log = logging.getLogger(__name__)

LocalCopies = Callable[[str], LocalCandidate | None]  # videoId -> the queue's file for it


class PlayerController(LoopMixin, StandbyMixin, QObject):
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
    loopChanged = Signal(int, int)  # A-B loop start and end in ms (-1, -1: no loop)
    sourceChanged = Signal(str)  # "local" (the file on this computer / card) or "cloud"
    seeked = Signal(int)  # the user moved the position (seek, skip): target ms
    stepped = Signal(int)  # the user stepped this many frames (compare: the other follows)

    def __init__(
        self,
        url_provider: UrlProvider,
        tasks: TasksLike,
        *,
        positions: PositionStore | None = None,
        clock: Callable[[], float] = time.time,
        refresh_fraction: float = REFRESH_FRACTION,
        min_refresh_ms: int = 1_000,
        index_loader: IndexLoader | None = None,
        local_copies: LocalCopies | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._url_provider = url_provider
        # local first: the upload queue's file for a videoId (looked up on the GUI thread,
        # checked on a worker), played at once instead of asking for a URL
        self.local_copies = local_copies
        self.source = ""  # "local" | "cloud" for the open recording
        self._tasks = tasks
        self.tasks = tasks  # the player's views run their background work here too
        self._positions = positions
        self._clock = clock
        self._refresh_fraction = refresh_fraction
        self._min_refresh_ms = min_refresh_ms

        quiet_stream_summary()
        self.player = QMediaPlayer(self)
        self.audio = QAudioOutput(self)
        self.player.setAudioOutput(self.audio)
        self._sink: QVideoSink | None = None
        # no multimedia backend (e.g. a missing system library): say so, not a black box
        self.unavailable = playback_unavailable(self.player)

        self.video: Video | None = None
        self._url: PlaybackUrlLike | None = None
        self._request = 0  # generation of URL requests: answers for older ones are dropped
        self._pending_position: int | None = None
        self._pending_play = False
        self._awaiting_first_frame = False
        self._error_refreshes = 0
        self._state = "idle"
        # exact frames: the recording's frame times (built in the background) and the
        # frame on screen
        self.frame_index = FrameIndexBridge(tasks, index_loader, self)
        self.stepper = FrameStepper(self.frame_index, self)
        self.frameShown = self.stepper.frameShown
        self.reverse = ReverseShuttle(self, self)
        self.reverse.changed.connect(self._reverse_changed)
        self.loop_a: int | None = None  # A-B loop: from the start of frame A ...
        self.loop_b: int | None = None  # ... to the end of frame B (ms)
        self.url_requests = 0
        self.url_refreshes = 0

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(lambda: self._renew_url(reason="expiry"))
        self._save_timer = QTimer(self)
        self._save_timer.setInterval(SAVE_POSITION_EVERY_MS)
        self._save_timer.timeout.connect(self.save_position)

        self._output: QObject | None = None
        # the last picture shown: held on screen at the end of the clip (Qt blanks it)
        self._last_frame: QVideoFrame | None = None
        self._holding = False
        self._standby: Standby | None = None
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
        # every recording starts at normal speed: 0.25× left over from the last one went
        # unnoticed (the speed box also stands out whenever the speed is not 1×)
        self.set_rate(1.0)
        self.videoChanged.emit(video)
        self.message.emit("", "")
        if self.unavailable:
            self._set_state("error")
            self.message.emit("error", self.unavailable)
            return
        if not video.has_bytes and self._local_candidate(video) is None:
            self._set_state("error")
            self.message.emit("error", describe_url_error(
                ConflictError("not uploaded", code="not_uploaded", status=409), video.title))
            return
        self._set_state("loading")
        if video.damaged:  # kept on purpose: play what decodes, say why it may stop
            self.message.emit("info", f"Opening “{video.title}”, a damaged recording: it plays "
                              "as far as it can and may stop early…")
        else:
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
        self.reverse.stop(settle=False)
        self.clear_loop()
        self.frame_index.clear()
        self.stepper.reset()
        self._drop_standby()
        self._request += 1
        self._refresh_timer.stop()
        self._save_timer.stop()
        self._pending_position = None
        self._last_frame = None  # no recording: the picture goes
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
        local = self._local_candidate(video)

        def work() -> tuple[PlaybackUrlLike, int | None]:
            uri = local_file_uri(local) if local is not None else None
            url: PlaybackUrlLike
            if uri is not None:
                url = LocalUrl(uri)
            elif not video.has_bytes:  # its file moved or changed, and it is not uploaded
                raise ConflictError("not uploaded", code="not_uploaded", status=409)
            else:
                url = provider(video.video_id)
            resume = None
            if positions is not None and offer_resume:
                resume = positions.get(video.video_id)
            return url, resume

        def done(result: tuple[PlaybackUrlLike, int | None]) -> None:
            if request != self._request:
                return
            url, resume = result
            self.source = "local" if getattr(url, "local", False) else "cloud"
            if self.source == "cloud":
                self.url_requests += 1
            self.sourceChanged.emit(self.source)
            self._apply_url(url, position=position, play=play)
            self.frame_index.request(video, url.url)
            if resume is not None and resume >= MIN_RESUME_MS:
                self.resumeOffered.emit(int(resume))

        def failed(exc: BaseException) -> None:
            if request != self._request:
                return
            self._set_state("error")
            self.message.emit("error", describe_url_error(exc, video.title))

        self._submit(work, done, failed)

    def _local_candidate(self, video: Video) -> LocalCandidate | None:
        copies = self.local_copies
        return copies(video.video_id) if copies is not None else None

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
        if not math.isfinite(url.expires_at):  # a local file: nothing to renew
            self._refresh_timer.stop()
            return
        lifetime = url.expires_at - self._clock()
        delay_ms = max(self._min_refresh_ms, int(lifetime * self._refresh_fraction * 1000))
        self._refresh_timer.start(min(delay_ms, 2**31 - 1))

    @property
    def source_url(self) -> str:
        """What the player plays now: the pre-signed URL or the local file's URI ("" none)."""
        return self._url.url if self._url is not None else ""

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
            if reason == "expiry" and self.player.mediaStatus() in SEEKABLE \
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

    # -- transport -------------------------------------------------------------------------

    def play(self) -> None:
        self.reverse.stop()
        self.stepper.forget_pending()
        if self.player.source().isEmpty():
            if self.video is not None and self._state in ("error", "stopped"):
                self.retry()
            return
        if self.player.mediaStatus() == QMediaPlayer.MediaStatus.EndOfMedia:
            self.player.setPosition(0)
        self.player.play()

    def pause(self) -> None:
        self.reverse.stop()
        self.player.pause()

    # -- J / K / L ---------------------------------------------------------------------

    def shuttle_forward(self) -> None:
        """L: play at 1×; while playing forwards, 2× then 4×."""
        if self.reverse.active or self.player.playbackState() \
                != QMediaPlayer.PlaybackState.PlayingState:
            self.reverse.stop()
            self.set_rate(1.0)
            self.play()
            return
        faster = [r for r in SHUTTLE_RATES if r > self.rate + 1e-6]
        self.set_rate(faster[0] if faster else SHUTTLE_RATES[-1])

    def shuttle_back(self) -> None:
        """J: play backwards at 1×; again: 2×, then 4× (see :mod:`.shuttle`)."""
        if self.video is None or self.player.source().isEmpty():
            return
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.player.pause()
        self.reverse.start_or_faster()

    def playback_source(self) -> str | None:
        """The URL (or local file) being played: backward play decodes the same."""
        return self._url.url if self._url is not None and self.video is not None else None

    def settle_reverse(self, position_ms: int) -> None:
        """Backward play stopped on the frame at ``position_ms``: the player shows it."""
        self.stepper.seeking(position_ms)
        self._seek(position_ms)

    def toggle(self) -> None:
        if self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self.pause()
        else:
            self.play()

    @property
    def position(self) -> int:
        if self.reverse.active:
            return self.reverse.position_ms
        pending = self._pending_position
        return pending if pending is not None else self.player.position()

    @property
    def duration(self) -> int:
        # closed: Qt keeps reporting the last source's length after setSource(QUrl())
        return self.player.duration() if self.video is not None else 0

    def seek(self, position_ms: int) -> None:
        """Show the frame at ``position_ms`` (clamped to the recording)."""
        self.reverse.stop(settle=False)
        self.stepper.seeking(self._clamp(position_ms))
        self._seek(position_ms)
        self.seeked.emit(self._clamp(position_ms))

    def _clamp(self, position_ms: int) -> int:
        duration = self.player.duration()
        target = max(0, int(position_ms))
        return min(target, duration) if duration > 0 else target

    def _seek(self, position_ms: int) -> None:
        target = self._clamp(position_ms)
        if self._standby is not None:  # parked for the old position: start it again
            url = self._standby.url
            self._prepare_standby(url)
        loaded = self.player.mediaStatus() in SEEKABLE
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
        """Pause and show the frame ``frames`` away (forward > 0, back < 0): the next
        decoded frame by its real presentation time (see :mod:`.frames`)."""
        if self.video is None or self.player.source().isEmpty():
            return
        self.pause()
        target = self.stepper.target_ms(frames, self.position, self.frame_ms)
        if target is not None:
            self._seek(target)
            self.stepped.emit(frames)

    def marker_time_ms(self) -> int:
        """The time that names the frame on screen: a whole millisecond strictly inside it,
        so a jump back to it shows the same frame."""
        index, start = self.stepper.index, self.stepper.shown_start_us
        if index is not None and start is not None:
            return index.seek_ms(self.stepper.shown_frame)  # its middle: away from both edges
        if start is None:
            return self.position
        end = self.stepper.shown_end_us
        ms = start // 1000 + 1  # a whole ms after the start (Qt shows the frame before at it)
        return ms if end is None or ms * 1000 < end else -(-start // 1000)

    def seek_to_frame_at(self, time_ms: int) -> None:
        """Show the frame that is on screen at ``time_ms`` (a marker's time)."""
        index = self.stepper.index
        self.seek(index.seek_ms(index.frame_at_ms(time_ms)) if index is not None else time_ms)

    @property
    def current_frame(self) -> int:
        """The number of the frame on screen (from 0); -1 while the frame times load."""
        return self.stepper.shown_frame

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
        if self.loop_a is not None and self.loop_b is not None and position >= self.loop_b \
                and self.player.playbackState() == QMediaPlayer.PlaybackState.PlayingState:
            self._seek(self.loop_a)  # A-B loop: back to A, still playing

    def _on_media_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status in (QMediaPlayer.MediaStatus.LoadedMedia, QMediaPlayer.MediaStatus.BufferedMedia):
            if self._pending_position is not None:
                target = self._pending_position
                self._pending_position = None  # once only: status returns here after seeks
                self.player.setPosition(target)
                self.positionChanged.emit(target)
            was_loading = self._state == "loading"
            if was_loading and not self._pending_play:
                self._set_state("paused")  # opened paused: "Opening …" must go too
            if was_loading or self._state == "error":
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
        if not frame.isValid():
            # the end of the clip (or a source reload) blanks the picture: hold the last
            # frame instead, as players do; a closed recording clears _last_frame first
            held, sink = self._last_frame, self._sink
            if held is not None and sink is not None and self.video is not None:
                self._holding = True  # the held frame comes back through this slot
                try:
                    sink.setVideoFrame(held)
                finally:
                    self._holding = False
            return
        if self._holding:
            return
        self._last_frame = frame
        self.stepper.on_frame(frame)
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
            self._moving_changed()
            self.stateChanged.emit(state)

    def _reverse_changed(self, _speed: float) -> None:
        self._moving_changed()

    def _moving_changed(self) -> None:
        """The garbage collector leaves big walks for later while the picture moves."""
        gui_gc.set_playing(self, self._state == "playing" or self.reverse.active)

    def shutdown(self) -> None:
        self.save_position()
        self._stop_media()
        gui_gc.set_playing(self, False)


