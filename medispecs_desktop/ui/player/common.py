"""What the player's parts share: constants, the shortcut table, small protocols and the
sentence shown when a playback URL cannot be had."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QLoggingCategory, QSize, QTimer
from PySide6.QtMultimedia import QMediaPlayer, QVideoSink

from medispecs_desktop.core.errors import (
    ConflictError,
    MediSpecsError,
    NotFoundError,
    NotSignedInError,
    OfflineError,
)
from medispecs_desktop.ui.tasks import TasksLike as TasksLike  # re-exported

log = logging.getLogger(__name__)

API_KIND = "api"
RATES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 4.0)
SHUTTLE_RATES = (1.0, 2.0, 4.0)  # L, L again, L again
ICON_SIZE = QSize(20, 20)  # player control icons
DEFAULT_FPS = 30.0
REFRESH_FRACTION = 0.8
SMALL_STEP_MS = 5_000
BIG_STEP_MS = 30_000
SAVE_POSITION_EVERY_MS = 5_000
MAX_ERROR_REFRESHES = 2  # URL renewals in a row after stream errors, then give up

# (keys, what they do) - the help overlay and the widget's actions are built from this
SHORTCUTS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("Space",), "Play / pause", "toggle"),
    (("L",), "Play; again: 2×, then 4×", "shuttle_forward"),
    (("K",), "Pause (hold K and press J / L: one frame back / on)", "shuttle_stop"),
    (("J",), "Play backwards, every frame; again: 2×, then 4×", "shuttle_back"),
    (("Left",), "Back 5 seconds", "back_small"),
    (("Right",), "Forward 5 seconds", "forward_small"),
    (("Shift+Left",), "Back 30 seconds", "back_big"),
    (("Shift+Right",), "Forward 30 seconds", "forward_big"),
    ((",",), "Previous frame (pauses)", "frame_back"),
    ((".",), "Next frame (pauses)", "frame_forward"),
    (("[",), "Slower (down to 0.25×)", "slower"),
    (("]",), "Faster (up to 4×)", "faster"),
    (("T",), "Time / frame number display", "time_display"),
    (("I",), "Loop from this frame (A)", "loop_start"),
    (("O",), "Loop to this frame (B): repeat A to B", "loop_end"),
    (("X",), "Clear the A-B loop", "loop_clear"),
    (("+", "="), "Zoom in (or the mouse wheel)", "zoom_in"),
    (("-",), "Zoom out", "zoom_out"),
    (("0",), "Whole picture (no zoom)", "zoom_reset"),
    (("Ctrl+Left",), "Pan left when zoomed in (or drag)", "pan_left"),
    (("Ctrl+Right",), "Pan right when zoomed in", "pan_right"),
    (("Ctrl+Up",), "Pan up when zoomed in", "pan_up"),
    (("Ctrl+Down",), "Pan down when zoomed in", "pan_down"),
    (("F",), "Full screen on / off (also F11, or double-click the picture)", "fullscreen"),
    (("M",), "Mark this moment (a marker with a comment)", "mark"),
    (("Shift+M",), "Mute / unmute", "mute"),
    (("?", "F1"), "Show / hide these shortcuts", "help"),
    (("Esc",), "Leave fullscreen / close this help", "escape"),
)


SEEKABLE = (
    QMediaPlayer.MediaStatus.LoadedMedia,
    QMediaPlayer.MediaStatus.BufferingMedia,
    QMediaPlayer.MediaStatus.BufferedMedia,
    QMediaPlayer.MediaStatus.StalledMedia,
    QMediaPlayer.MediaStatus.EndOfMedia,
)


def quiet_stream_summary() -> None:
    """Qt's FFmpeg backend prints FFmpeg's stream summary to stderr when it opens a source
    ("Input #0, mov,... from 'https://...X-Amz-Signature=...'"): the whole pre-signed URL,
    signature included, in whatever keeps the app's stderr (a desktop session log). Turn
    that one summary off; QT_LOGGING_RULES can still turn it back on for debugging."""
    QLoggingCategory.setFilterRules("qt.multimedia.ffmpeg.mediadataholder.info=false")


STANDBY_LEAD_MS = 1_500  # the standby player is parked this far ahead of the visible one
STANDBY_TIMEOUT_MS = 15_000  # not ready by then: reload the source instead


class Standby:
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
    # read-only: core.api.PlaybackUrl is a frozen dataclass
    @property
    def url(self) -> str: ...

    @property
    def expires_at(self) -> float: ...


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


