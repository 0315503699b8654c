"""Playing backwards (J) for the J/K/L shuttle.

QMediaPlayer only plays forwards. Here backward play is a paced run of exact frame steps back
(:class:`~medispecs_desktop.ui.player.frames.FrameStepper`): one frame per frame interval at
1× (2×, 4× on further presses), each step waiting for the previous frame to be on screen, so
no frame is skipped and the picture never runs ahead of the decoder. On long groups of
pictures a step back costs a decode from the previous keyframe, so the real speed is what the
machine manages up to the asked one (not a GOP-reversing decoder as in mpv).
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal

SPEEDS = (1.0, 2.0, 4.0)


class _Steps(Protocol):
    @property
    def frame_ms(self) -> float: ...

    def step_once_back(self) -> bool: ...

    def step_pending(self) -> bool: ...


class ReverseShuttle(QObject):
    """Steps ``target`` back one frame per tick until stopped or at the first frame."""

    changed = Signal(float)  # backward speed; 0 when stopped

    def __init__(self, target: _Steps, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._target = target
        self.speed = 0.0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)

    @property
    def active(self) -> bool:
        return self.speed > 0

    def start_or_faster(self) -> None:
        faster = [s for s in SPEEDS if s > self.speed]
        self.speed = faster[0] if faster else SPEEDS[-1]
        self._timer.setInterval(max(1, round(self._target.frame_ms / self.speed)))
        if not self._timer.isActive():
            self._timer.start()
            self._tick()
        self.changed.emit(self.speed)

    def stop(self) -> None:
        if self.speed == 0:
            return
        self.speed = 0.0
        self._timer.stop()
        self.changed.emit(0.0)

    def _tick(self) -> None:
        if self._target.step_pending():
            return  # the previous frame is not on screen yet
        if not self._target.step_once_back():
            self.stop()  # the first frame
