"""The stack command's process (``cli/stack.py``): what it makes while starting is put out of
the garbage collector's sight once it is ready."""

from __future__ import annotations

import gc
import io
import threading
from typing import Any

import pytest

from medispecs_desktop.cli import stack as stack_cli
from medispecs_desktop.cli.main import EXIT_OK


class _Stack:
    """Stands in for LocalStack: starting makes long-lived objects (as moto's backends are)
    and looks at the collector meanwhile."""

    def __init__(self) -> None:
        self.kept: list[Any] = []
        self.collecting_while_starting: bool | None = None

    def start(self) -> dict[str, Any]:
        self.collecting_while_starting = gc.isenabled()
        self.kept = [{"n": n} for n in range(1000)]
        return {"apiUrl": "http://127.0.0.1:1", "username": "demo"}


class _StopWhenWaitedFor(threading.Event):
    """Not set while the stack starts; waiting for it ends the serving at once."""

    def wait(self, timeout: float | None = None) -> bool:
        return True


def test_what_starting_made_is_frozen_and_collection_goes_on_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before, every full collection walked moto's backends and botocore's models: four took
    15-93 ms while the stack started (2.2 s -> 1.7 s without them) and later ones 57-137 ms,
    each stalling every request on the stack's one GIL."""
    fake = _Stack()
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    done = _StopWhenWaitedFor()
    frozen_before = gc.get_freeze_count()
    was_enabled = gc.isenabled()  # (the test session collects between tests, see conftest)
    gc.enable()  # as in the stack's process
    try:
        assert stack_cli._serve(fake, done, []) == EXIT_OK
        assert fake.collecting_while_starting is False
        assert gc.isenabled()  # collecting again once ready
        assert gc.get_freeze_count() >= frozen_before + len(fake.kept)
        assert '"apiUrl":"http://127.0.0.1:1"' in out.getvalue()  # the ready line
    finally:
        gc.unfreeze()
        if not was_enabled:
            gc.disable()
