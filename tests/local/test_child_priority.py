"""The demo stack child runs below its parent's priority when asked to (as the app's does), so
the GUI or a benchmark in the parent gets a CPU first (issue 16)."""

from __future__ import annotations

import os

from medispecs_desktop.local.child import start_stack_process, stop_stack_process
from tests.support.nice import nice_of, task_nices


def test_a_background_stack_child_has_a_higher_nice_value_than_its_parent() -> None:
    parent = nice_of(os.getpid())
    proc, info = start_stack_process(["--no-samples"], background=True)
    try:
        assert info["apiUrl"].startswith("http://127.0.0.1:")
        assert nice_of(proc.pid) > parent
        threads = task_nices(proc.pid)  # the server's threads too, not just the main one
        assert len(threads) > 1 and all(n > parent for n in threads.values()), threads
    finally:
        stop_stack_process(proc)
    assert nice_of(os.getpid()) == parent
