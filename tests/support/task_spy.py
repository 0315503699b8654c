"""Proof that "nothing happened" in a Qt test: every task handed to a
:class:`~medispecs_desktop.ui.tasks.TaskRunner` is recorded, and :meth:`TaskSpy.settled`
says when each has finished *and* its outcome has reached the GUI thread.

A test that must show an action did not happen waits for ``settled`` (a condition, not a
sleep): whatever the action could have started has then run to its end, callbacks included.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from medispecs_desktop.ui.tasks import TaskRunner


@dataclass
class SpiedTask:
    kind: str
    name: str  # the qualified name of the function run, e.g. "SignInDialog._run.<locals>..."
    future: cf.Future[Any] | None = None
    has_done: bool = False
    has_error: bool = False
    delivered: bool = False

    def settled(self, runner: TaskRunner) -> bool:
        future = self.future
        if future is None or not future.done():
            return False
        if self.delivered or future.cancelled() or runner.closed:
            return True
        # a callback is delivered only where one was given for the outcome
        expects = self.has_error if future.exception() is not None else self.has_done
        return not expects


class TaskSpy:
    """Wraps ``runner.run`` (undone by ``monkeypatch`` at the end of the test)."""

    def __init__(self, runner: TaskRunner, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runner = runner
        self.tasks: list[SpiedTask] = []
        self._lock = threading.Lock()
        real_run = runner.run

        def run(kind: str, fn: Callable[[], Any], on_done: Any = None,
                on_error: Any = None) -> cf.Future[Any]:
            task = SpiedTask(kind, getattr(fn, "__qualname__", repr(fn)),
                             has_done=on_done is not None, has_error=on_error is not None)

            def wrap(callback: Callable[[Any], None] | None) -> Any:
                if callback is None:
                    return None

                def delivered(value: Any) -> None:
                    try:
                        callback(value)  # may start further tasks: recorded before this ends
                    finally:
                        task.delivered = True

                return delivered

            with self._lock:
                self.tasks.append(task)
            task.future = real_run(kind, fn, wrap(on_done), wrap(on_error))
            return task.future

        monkeypatch.setattr(runner, "run", run)

    def count(self) -> int:
        with self._lock:
            return len(self.tasks)

    def since(self, start: int) -> list[SpiedTask]:
        with self._lock:
            return self.tasks[start:]

    def settled(self) -> bool:
        """Every task recorded so far has finished and its callback (if any) has run."""
        with self._lock:
            tasks = list(self.tasks)
        return all(t.settled(self.runner) for t in tasks)
