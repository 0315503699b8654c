"""AppContext.shutdown: every clean-up step runs even when an earlier one fails (a failing
engine stop once left the demo stack running)."""

from __future__ import annotations

from typing import Any

from medispecs_desktop.core.config import Paths, Settings
from medispecs_desktop.ui.app import AppContext


class Boom:
    def stop(self, **_kw: Any) -> None:
        raise RuntimeError("cannot join thread before it is started")


class Recorder:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def stop(self) -> None:
        self.calls.append("stop")

    def close(self) -> None:
        self.calls.append("close")


def test_shutdown_runs_every_step_when_the_engine_stop_fails(qapp: Any) -> None:
    ctx = AppContext(Settings(), Paths.default().ensure(), build_clients=False)
    stack, api = Recorder(), Recorder()
    ctx.engine = Boom()
    ctx.stack = stack  # type: ignore[assignment]
    ctx.api = api  # type: ignore[assignment]
    ctx.shutdown()
    assert api.calls == ["close"]
    assert stack.calls == ["stop"]
