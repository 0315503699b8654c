"""J/K/L as editors know them, with real key presses on the real widget and a numbered clip."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from medispecs_desktop.ui import gui_gc
from medispecs_desktop.ui.player import SHORTCUTS, PlayerController, PlayerWidget
from tests.support.player_s3 import go_to

BUCKET = "player-jkl"
KEY = "videos/u/v_jkl.mp4"


def test_l_plays_then_2x_then_4x_and_k_pauses(
    qtbot: Any, numbered_player: tuple[PlayerController, PlayerWidget, list[int]]
) -> None:
    controller, widget, _shown = numbered_player
    qtbot.keyClick(widget.slider, Qt.Key.Key_L)
    qtbot.waitUntil(lambda: controller.state == "playing", timeout=5_000)
    assert controller.rate == 1.0
    for rate in (2.0, 4.0, 4.0):
        qtbot.keyClick(widget.slider, Qt.Key.Key_L)
        assert controller.rate == rate
    assert widget.speed.currentText() == "4×"
    qtbot.keyClick(widget.slider, Qt.Key.Key_K)
    qtbot.waitUntil(lambda: controller.state == "paused", timeout=5_000)
    qtbot.keyClick(widget.slider, Qt.Key.Key_L)  # from pause: 1× again
    qtbot.waitUntil(lambda: controller.state == "playing", timeout=5_000)
    assert controller.rate == 1.0


def test_k_held_with_j_or_l_steps_one_frame(
    qtbot: Any, numbered_player: tuple[PlayerController, PlayerWidget, list[int]]
) -> None:
    controller, widget, shown = numbered_player
    go_to(qtbot, controller, shown, 120)
    target = widget.slider
    qtbot.keyPress(target, Qt.Key.Key_K)
    for expected in (121, 122, 123):
        qtbot.keyClick(target, Qt.Key.Key_L)
        qtbot.waitUntil(lambda e=expected: shown[-1] == e, timeout=5_000)
    for expected in (122, 121):
        qtbot.keyClick(target, Qt.Key.Key_J)
        qtbot.waitUntil(lambda e=expected: shown[-1] == e, timeout=5_000)
    assert controller.state == "paused" and not controller.reverse.active
    qtbot.keyRelease(target, Qt.Key.Key_K)
    # K released: L is play again, not a step
    qtbot.keyClick(target, Qt.Key.Key_L)
    qtbot.waitUntil(lambda: controller.state == "playing", timeout=5_000)


def test_k_held_ends_when_the_app_loses_focus_and_only_input_reads_the_keys(
    qtbot: Any, numbered_player: tuple[PlayerController, PlayerWidget, list[int]]
) -> None:
    """K pressed, then another application takes the focus (K's release goes there): L plays
    again, not a step. The app-wide key filter looks at input events only: a plain event of
    another type (a timer, a queued call) with a key's type number changes nothing."""
    from PySide6.QtCore import QCoreApplication, QEvent

    controller, widget, shown = numbered_player
    go_to(qtbot, controller, shown, 120)
    target = widget.slider
    qtbot.keyPress(target, Qt.Key.Key_K)
    qtbot.keyClick(target, Qt.Key.Key_L)
    qtbot.waitUntil(lambda: shown[-1] == 121, timeout=5_000)
    app = QCoreApplication.instance()
    assert app is not None
    # not a QKeyEvent: the K stays held
    QCoreApplication.sendEvent(app, QEvent(QEvent.Type.KeyRelease))
    qtbot.keyClick(target, Qt.Key.Key_L)
    qtbot.waitUntil(lambda: shown[-1] == 122, timeout=5_000)
    QCoreApplication.sendEvent(app, QEvent(QEvent.Type.ApplicationDeactivate))
    qtbot.keyClick(target, Qt.Key.Key_L)  # K no longer held: play
    qtbot.waitUntil(lambda: controller.state == "playing", timeout=5_000)


def test_j_plays_backwards_frame_by_frame_and_stops_at_the_start(
    qtbot: Any, numbered_player: tuple[PlayerController, PlayerWidget, list[int]]
) -> None:
    controller, widget, shown = numbered_player
    go_to(qtbot, controller, shown, 60)
    start = len(shown)
    qtbot.keyClick(widget.slider, Qt.Key.Key_J)
    assert controller.reverse.active and controller.reverse.speed == 1.0
    # frame 40 among those shown since J (not 'the last one': a GUI thread that was held up
    # shows the frames it was handed in one go, between two looks of waitUntil)
    qtbot.waitUntil(lambda: 40 in shown[start:], timeout=10_000)
    backwards = shown[start:]
    # every frame, newest first, none skipped nor repeated
    assert backwards[: 60 - 40] == list(range(59, 39, -1)), backwards
    qtbot.keyClick(widget.slider, Qt.Key.Key_J)
    assert controller.reverse.speed == 2.0
    qtbot.keyClick(widget.slider, Qt.Key.Key_K)
    assert not controller.reverse.active and controller.state == "paused"

    go_to(qtbot, controller, shown, 5)
    qtbot.keyClick(widget.slider, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: not controller.reverse.active, timeout=10_000)  # at frame 0
    assert shown[-1] == 0

    # J while playing forwards: forward play stops, backward play starts
    go_to(qtbot, controller, shown, 100)
    controller.play()
    qtbot.waitUntil(lambda: controller.state == "playing", timeout=5_000)
    qtbot.keyClick(widget.slider, Qt.Key.Key_J)
    qtbot.waitUntil(lambda: controller.state == "paused", timeout=5_000)
    assert controller.reverse.active
    peak = shown[-1]
    qtbot.waitUntil(lambda: shown[-1] <= peak - 3, timeout=10_000)
    qtbot.keyClick(widget.slider, Qt.Key.Key_L)  # L: forwards again at 1×
    assert not controller.reverse.active
    qtbot.waitUntil(lambda: controller.state == "playing", timeout=5_000)


def test_shortcuts_are_listed_in_help_and_menus(
    numbered_player: tuple[PlayerController, PlayerWidget, list[int]]
) -> None:
    _controller, widget, _shown = numbered_player
    help_text = widget.help_overlay.text()
    for keys, text, name in SHORTCUTS:
        assert text in help_text
        action = widget.actions_by_name[name]
        assert action.text() == text
        assert [s.toString() for s in action.shortcuts()] == list(keys)
    assert {"J", "K", "L"} <= {k for keys, _t, _n in SHORTCUTS for k in keys}


def test_the_garbage_collector_knows_while_the_picture_moves(
    qtbot: Any, numbered_player: tuple[PlayerController, PlayerWidget, list[int]]
) -> None:
    """Forwards (L) and backwards (J) the picture moves: big collections wait (ui/gui_gc.py);
    paused (K) it does not."""
    controller, widget, shown = numbered_player
    assert not gui_gc.moving(controller)
    qtbot.keyClick(widget.slider, Qt.Key.Key_L)
    qtbot.waitUntil(lambda: controller.state == "playing", timeout=5_000)
    assert gui_gc.moving(controller)
    qtbot.keyClick(widget.slider, Qt.Key.Key_K)
    qtbot.waitUntil(lambda: controller.state == "paused", timeout=5_000)
    assert not gui_gc.moving(controller)
    go_to(qtbot, controller, shown, 60)
    qtbot.keyClick(widget.slider, Qt.Key.Key_J)
    assert controller.reverse.active and gui_gc.moving(controller)
    qtbot.keyClick(widget.slider, Qt.Key.Key_K)
    assert not controller.reverse.active and not gui_gc.moving(controller)
