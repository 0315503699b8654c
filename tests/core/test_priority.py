"""Background threads run below the GUI's priority (issue 16): a thread that lowers itself has a
higher nice value than the thread that started it, and threads it starts inherit that."""

from __future__ import annotations

import os
import threading

from medispecs_desktop.core.priority import BACKGROUND_NICE, lower_thread_priority
from tests.support.nice import nice_of


def test_a_lowered_thread_and_its_children_run_below_the_caller() -> None:
    caller = nice_of(os.getpid(), threading.get_native_id())
    seen: dict[str, int] = {}

    def child() -> None:
        seen["child"] = nice_of(os.getpid(), threading.get_native_id())

    def worker() -> None:
        seen["before"] = nice_of(os.getpid(), threading.get_native_id())
        seen["took"] = int(lower_thread_priority())
        seen["after"] = nice_of(os.getpid(), threading.get_native_id())
        inner = threading.Thread(target=child)
        inner.start()
        inner.join()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["took"] == 1
    assert seen["before"] == caller
    assert seen["after"] == min(19, caller + BACKGROUND_NICE) > caller
    assert seen["child"] == seen["after"]  # pools created by the lowered thread follow it
    assert nice_of(os.getpid(), threading.get_native_id()) == caller  # the caller unchanged
