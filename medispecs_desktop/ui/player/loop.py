"""The A-B loop of the player (I / O / X): repeat the frames from A to B.

A mixin of :class:`~medispecs_desktop.ui.player.controller.PlayerController` (which keeps
``loop_a`` / ``loop_b``, checks the position against B and emits ``loopChanged``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medispecs_desktop.core.models import Video
    from medispecs_desktop.ui.player.frames import FrameStepper


class LoopMixin:
    """I sets A at the frame on screen, O sets B after it, X clears the loop."""

    if TYPE_CHECKING:
        loop_a: int | None
        loop_b: int | None
        video: Video | None
        stepper: FrameStepper
        message: Any
        loopChanged: Any

        @property
        def position(self) -> int: ...

        def marker_time_ms(self) -> int: ...

    def set_loop_start(self) -> None:
        """I: the loop starts at the frame on screen (an end before it is dropped)."""
        if self.video is None:
            return
        self.loop_a = self.marker_time_ms()
        if self.loop_b is not None and self.loop_b <= self.loop_a:
            self.loop_b = None
        self._announce_loop()

    def set_loop_end(self) -> None:
        """O: the loop ends after the frame on screen; playback then repeats A to B."""
        if self.video is None:
            return
        end = self.stepper.shown_end_us
        b = end // 1000 if end is not None else self.position
        a = self.loop_a if self.loop_a is not None else 0
        if b <= a:
            self.message.emit("info", "The loop must end after it starts (I sets its start).")
            return
        self.loop_a, self.loop_b = a, b
        self._announce_loop()

    def clear_loop(self) -> None:
        if self.loop_a is None and self.loop_b is None:
            return
        self.loop_a = self.loop_b = None
        self._announce_loop()

    def _announce_loop(self) -> None:
        a = -1 if self.loop_a is None else self.loop_a
        b = -1 if self.loop_b is None else self.loop_b
        self.loopChanged.emit(a, b)
