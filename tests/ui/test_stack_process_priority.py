"""The app's demo stack child (LocalStackProcess) runs below the GUI's priority (issue 16)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from medispecs_desktop.ui.local_stack_process import LocalStackProcess
from tests.support.nice import nice_of, task_nices


def test_the_demo_stack_child_runs_at_a_higher_nice_value_than_the_gui(qtbot: Any) -> None:
    gui = nice_of(os.getpid())
    line = json.dumps({"apiUrl": "http://127.0.0.1:1", "region": "eu-west-2",
                       "userPoolId": "eu-west-2_x", "clientId": "c",
                       "awsEndpoint": "http://127.0.0.1:2"})
    # a stand-in child that, like the stack, starts a server thread before its JSON line
    code = ("import sys, threading; threading.Thread(target=sys.stdin.read, daemon=True)"
            f".start(); print({line!r}, flush=True); sys.stdin.read()")
    stack = LocalStackProcess(program=(sys.executable, ["-c", code]))
    with qtbot.waitSignal(stack.ready, timeout=15_000):
        stack.start()
    try:
        threads = task_nices(stack.pid)
        assert len(threads) == 2 and all(n > gui for n in threads.values()), (gui, threads)
    finally:
        stack.stop(timeout_ms=5000)
    assert not stack.running
    assert nice_of(os.getpid()) == gui
