"""J plays backwards by decoding groups of pictures (GOPs), on a clip whose GOP is long
(a keyframe every 250 frames) and whose frames carry their number, streamed from a real
pre-signed URL. What is on screen is read back from the video output, frame by frame."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest
from PySide6.QtCore import Qt

from medispecs_desktop.core import reverse_decode
from medispecs_desktop.ui.player import PlayerController, PlayerWidget
from tests.support.player_s3 import go_to

BUCKET = "player-reverse"
KEY = "videos/u/v_reverse.mp4"
FRAMES = 300
GOP = 250  # keyframes at 0 and 250: stepping back from 280 once cost a decode from 250

Player = tuple[PlayerController, PlayerWidget, list[int]]


@pytest.fixture
def decoder_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The thread of every call that opens or decodes (the real methods still run)."""
    threads: list[int] = []
    for name in ("open", "frames_before"):
        real = getattr(reverse_decode.ReverseDecoder, name)

        def spy(self: Any, *args: Any, _real: Any = real, **kw: Any) -> Any:
            threads.append(threading.get_ident())
            return _real(self, *args, **kw)

        monkeypatch.setattr(reverse_decode.ReverseDecoder, name, spy)
    return threads


def frames_when_stopped(controller: PlayerController, shown: list[int]) -> list[int]:
    """How many frames had been shown each time backward play stopped (what the player
    shows after that is its own picture of the same frame)."""
    stopped: list[int] = []
    controller.reverse.changed.connect(lambda speed: stopped.append(len(shown))
                                       if speed == 0 else None)
    return stopped


def test_j_shows_every_frame_back_across_a_long_gop_and_k_stops_on_it(
    qtbot: Any, numbered_player: Player, decoder_threads: list[int]
) -> None:
    controller, widget, shown = numbered_player
    index = controller.frame_index.index
    assert index is not None
    qtbot.keyClick(widget.slider, Qt.Key.Key_T)  # the frame number display
    go_to(qtbot, controller, shown, 280)
    start = len(shown)
    seen: list[tuple[int, int, str]] = []  # (frame on screen, seek bar, time label)
    controller.reverse.shown.connect(lambda _us: seen.append(
        (shown[-1], widget.slider.value(), widget.time_label.text())))

    stopped = frames_when_stopped(controller, shown)
    qtbot.keyClick(widget.slider, Qt.Key.Key_J)
    assert controller.reverse.active and controller.reverse.speed == 1.0
    qtbot.waitUntil(lambda: bool(shown) and shown[-1] <= 150, timeout=60_000)
    qtbot.keyClick(widget.slider, Qt.Key.Key_K)
    assert not controller.reverse.active and stopped
    stopped_at = stopped[0]
    last = shown[stopped_at - 1]

    # every frame, newest first, none skipped nor repeated, across the keyframe at 250
    assert shown[start:stopped_at] == list(range(279, last - 1, -1))
    # the seek bar and the time (frame number) followed each frame
    for number, slider, label in seen:
        assert slider == index.start_us(number) // 1000
        assert label.startswith(f"Frame {number} ·"), label
    # K: the player itself now shows the same frame (backward play pushes nothing more, so
    # what comes now is the player's own decoded picture)
    qtbot.waitUntil(lambda: len(shown) > stopped_at, timeout=10_000)
    assert set(shown[stopped_at:]) == {last}
    assert index.frame_at_ms(controller.player.position()) == last
    assert controller.current_frame == last and controller.state == "paused"
    # the GUI thread opened and decoded nothing
    assert decoder_threads and threading.main_thread().ident not in decoder_threads


def test_j_again_goes_faster_skipping_frames_and_stops_at_the_first(
    qtbot: Any, numbered_player: Player
) -> None:
    controller, widget, shown = numbered_player
    go_to(qtbot, controller, shown, 290)
    start = len(shown)
    stopped = frames_when_stopped(controller, shown)
    qtbot.keyClick(widget.slider, Qt.Key.Key_J)
    qtbot.keyClick(widget.slider, Qt.Key.Key_J)
    assert controller.reverse.speed == 2.0
    qtbot.waitUntil(lambda: bool(stopped), timeout=60_000)  # at frame 0
    backwards = shown[start:stopped[0]]
    assert backwards[0] == 289 or backwards[0] == 288
    assert all(b < a for a, b in itertools.pairwise(backwards)), backwards
    assert backwards[-1] == 0, backwards  # the first frame is always shown at the end
    # 2× shows every other frame (the first part may have been asked for at 1×)
    assert controller.reverse.frames_shown < 290 * 3 // 4
    qtbot.waitUntil(lambda: controller.current_frame == 0, timeout=10_000)


def test_space_during_backward_play_plays_forwards_from_the_frame_shown(
    qtbot: Any, numbered_player: Player
) -> None:
    controller, widget, shown = numbered_player
    go_to(qtbot, controller, shown, 200)
    qtbot.keyClick(widget.slider, Qt.Key.Key_J)
    assert widget.message_label.text() == "Playing backwards at 1×"
    qtbot.waitUntil(lambda: shown[-1] <= 190, timeout=60_000)
    qtbot.keyClick(widget.slider, Qt.Key.Key_Space)
    last, stopped_at = shown[-1], len(shown)
    assert not controller.reverse.active
    qtbot.waitUntil(lambda: controller.state == "playing", timeout=5_000)
    qtbot.waitUntil(lambda: len(shown) > stopped_at + 3, timeout=10_000)
    after = shown[stopped_at:]
    # forwards from where it was (no jump back to 200)
    assert after[0] in (last, last + 1), after
    assert all(b >= a for a, b in itertools.pairwise(after)), after
    assert "backwards" not in widget.message_label.text()  # it said so while it lasted


def test_a_computer_that_cannot_keep_up_shows_every_frame_late_and_says_so(
    qtbot: Any, numbered_player: Player, monkeypatch: pytest.MonkeyPatch
) -> None:
    controller, widget, shown = numbered_player
    real = reverse_decode.ReverseDecoder.frames_before

    def slow(self: Any, *args: Any, **kw: Any) -> Any:
        time.sleep(0.3)  # a slow machine: 4 frames (0.13 s of video) take at least 0.3 s
        return real(self, *args, **kw)

    monkeypatch.setattr(reverse_decode.ReverseDecoder, "frames_before", slow)
    controller.reverse.max_bytes = 4 * (224 * 96 * 3)  # 4 frames a part
    go_to(qtbot, controller, shown, 100)
    start = len(shown)
    stopped = frames_when_stopped(controller, shown)
    qtbot.keyClick(widget.slider, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: "this computer manages" in widget.message_label.text(),
                    timeout=60_000)
    qtbot.keyClick(widget.slider, Qt.Key.Key_K)
    assert stopped
    backwards = shown[start:stopped[0]]
    assert backwards == list(range(99, 99 - len(backwards), -1))  # late, but every frame
    assert controller.reverse.frames_skipped == 0


def test_a_seek_during_backward_play_goes_there_and_backward_play_stops(
    qtbot: Any, numbered_player: Player
) -> None:
    controller, widget, shown = numbered_player
    index = controller.frame_index.index
    assert index is not None
    go_to(qtbot, controller, shown, 240)
    qtbot.keyClick(widget.slider, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: shown[-1] <= 235, timeout=60_000)
    controller.seek(index.seek_ms(50))
    assert not controller.reverse.active
    pushed = controller.reverse.frames_shown
    qtbot.waitUntil(lambda: shown[-1] == 50, timeout=10_000)
    assert controller.reverse.frames_shown == pushed  # none of its frames came after the seek
    assert controller.current_frame == 50 and widget.slider.value() == controller.position
