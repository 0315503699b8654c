"""Run the local stack as a child process and read its JSON line (Qt-free).

Used by the tests' session fixture, the start-up benchmark and any headless tool that wants a
stack without moto's process-global state in its own process:

    proc, info = start_stack_process()
    ...
    stop_stack_process(proc)

The child is started with ``--exit-on-stdin-eof``: if this process dies, its end of the stdin
pipe closes and the stack stops by itself.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import IO, Any

from medispecs_desktop.core.priority import lower_process_priority

__all__ = ["StackProcessError", "stack_stderr", "start_stack_process", "stop_stack_process"]


class StackProcessError(RuntimeError):
    """The child stack did not start (the message carries the tail of its stderr)."""


def _tail(stream: IO[bytes] | None, limit: int = 4000) -> str:
    if stream is None:
        return ""
    try:
        stream.seek(0)
        return stream.read().decode("utf-8", "replace")[-limit:]
    except (OSError, ValueError):
        return ""


def start_stack_process(
    args: Sequence[str] = (),
    *,
    timeout: float = 90.0,
    env: dict[str, str] | None = None,
    background: bool = False,
) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Start ``python -m medispecs_desktop local-stack --port 0 --exit-on-stdin-eof *args`` and
    wait (at most ``timeout`` s) for its JSON line. Returns the process and the parsed line.
    ``background``: the child runs at a lower OS priority than this process (as the app's demo
    stack does), so a GUI or benchmark in this process gets a CPU first."""
    stderr = tempfile.TemporaryFile()  # a file, not a pipe: a chatty child can never block
    cmd = [sys.executable, "-m", "medispecs_desktop", "local-stack", "--port", "0",
           "--exit-on-stdin-eof", *args]
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("PYTHONUNBUFFERED", "1")
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=child_env
    )
    proc._medispecs_stderr = stderr  # type: ignore[attr-defined]
    if background:
        lower_process_priority(proc.pid)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    buffer = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                stop_stack_process(proc)
                raise StackProcessError(
                    f"the local stack printed nothing within {timeout:.0f} s\n{_tail(stderr)}"
                )
            if not sel.select(left):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                code = proc.wait(10)
                raise StackProcessError(
                    f"the local stack exited with code {code} before it was ready\n"
                    f"{_tail(stderr)}"
                )
            buffer += chunk
    line = buffer.split(b"\n", 1)[0]
    try:
        info = json.loads(line)
    except ValueError:
        stop_stack_process(proc)
        raise StackProcessError(
            f"unexpected first line from the local stack: {line[:200]!r}"
        ) from None
    if not isinstance(info, dict):
        stop_stack_process(proc)
        raise StackProcessError("the local stack's first line is not a JSON object")
    return proc, info


def stack_stderr(proc: subprocess.Popen[bytes]) -> str:
    """What the child has logged to stderr so far (before :func:`stop_stack_process`)."""
    return _tail(getattr(proc, "_medispecs_stderr", None), limit=1_000_000)


def stop_stack_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """SIGTERM the child (and close its stdin), wait for it, kill it if it lingers; returns
    the exit code."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            pass
    for stream in (proc.stdin, proc.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait(5)
    stderr = getattr(proc, "_medispecs_stderr", None)
    if stderr is not None:
        stderr.close()
    return code
