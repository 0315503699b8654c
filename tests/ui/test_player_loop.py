"""A-B loop: I and O mark the frames, playback repeats A to B, X clears it (numbered clip)."""

from __future__ import annotations

import itertools
from typing import Any

from medispecs_desktop.ui.player import PlayerController, PlayerWidget
from tests.support.player_s3 import go_to

BUCKET = "player-loop"
KEY = "videos/u/v_loop.mp4"


def test_a_b_loop_repeats_the_frames_between_and_clears(
    qtbot: Any, numbered_player: tuple[PlayerController, PlayerWidget, list[int]]
) -> None:
    controller, widget, shown = numbered_player
    assert isinstance(widget, PlayerWidget)
    go_to(qtbot, controller, shown, 30)
    widget.actions_by_name["loop_start"].trigger()  # I
    assert widget.slider.loop == (controller.loop_a, -1)
    go_to(qtbot, controller, shown, 45)
    widget.actions_by_name["loop_end"].trigger()  # O
    assert controller.loop_a is not None and controller.loop_b is not None
    assert widget.slider.loop == (controller.loop_a, controller.loop_b)
    index = controller.frame_index.index
    assert index is not None
    assert index.frame_at_ms(controller.loop_a) == 30
    assert index.frame_at_ms(controller.loop_b - 1) == 45  # B ends with frame 45

    start = len(shown)
    controller.play()
    # twice round the loop: frame 45 then a frame back near A, twice
    def wraps() -> int:
        seen = shown[start:]
        return sum(1 for x, y in itertools.pairwise(seen) if y < x - 5)

    qtbot.waitUntil(lambda: wraps() >= 2, timeout=15_000)
    looped = shown[start:]
    assert max(looped) <= 48, looped  # B, plus at most the frames decoded before the jump
    assert min(looped) >= 30 and 45 in looped and controller.state == "playing"

    widget.actions_by_name["loop_clear"].trigger()  # X
    assert controller.loop_a is None and widget.slider.loop is None
    qtbot.waitUntil(lambda: shown[-1] > 60, timeout=10_000)  # plays on past B

    # an end before the start is refused with a message
    controller.pause()
    go_to(qtbot, controller, shown, 100)
    widget.actions_by_name["loop_start"].trigger()
    go_to(qtbot, controller, shown, 90)
    with qtbot.waitSignal(controller.message) as said:
        widget.actions_by_name["loop_end"].trigger()
    assert "must end after it starts" in said.args[1] and controller.loop_b is None
