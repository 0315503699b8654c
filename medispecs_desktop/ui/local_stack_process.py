"""The embedded local stack as a CHILD process of the app (never inside the GUI process).

``LocalStackProcess.start()`` launches ``medispecs-desktop local-stack --port 0`` with
QProcess (asynchronous: the GUI thread never waits for it), reads the one JSON line the stack
prints (contract §2) and emits :attr:`ready` with it. The child ends with the app:

* on a normal quit, :meth:`stop` closes its stdin, sends SIGTERM and, if it lingers, kills it;
* if the app itself is killed, the child's stdin pipe closes and the stack CLI stops on
  end-of-file (``--exit-on-stdin-eof``, works on every OS); ``--exit-with-parent`` adds the
  parent-death signal/poll as a second line of defence. No orphan keeps running.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal, Slot

from medispecs_desktop.core.logs import redact
from medispecs_desktop.core.priority import lower_process_priority

log = logging.getLogger(__name__)

REQUIRED_KEYS = ("apiUrl", "region", "userPoolId", "clientId", "awsEndpoint")

def stack_command(port: int = 0, host: str = "127.0.0.1") -> tuple[str, list[str]]:
    """Program and arguments that start the stack CLI as a child that ends with the app."""
    cli_args = ["local-stack", "--host", host, "--port", str(port),
                "--exit-on-stdin-eof", "--exit-with-parent"]
    if getattr(sys, "frozen", False):  # a bundled app: the executable is the CLI itself
        return sys.executable, cli_args
    return sys.executable, ["-m", "medispecs_desktop", *cli_args]


class LocalStackProcess(QObject):
    """Starts and owns the local stack child process. Create and use on the GUI thread."""

    ready = Signal(dict)  # the stack's JSON line (contract §2)
    failed = Signal(str)  # a user-facing reason; the process is gone
    finished = Signal(int)  # exit code, after ready (the stack stopped)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        port: int = 0,
        start_timeout_ms: int = 90_000,
        program: tuple[str, list[str]] | None = None,
        retries: int = 1,
    ) -> None:
        super().__init__(parent)
        self._program = program or stack_command(port)
        self._start_timeout_ms = start_timeout_ms
        self._retries = retries
        self._attempt = 0
        self.info: dict[str, Any] | None = None
        self._stdout = b""
        self._stderr_tail: list[str] = []
        self._stopping = False
        self._reported = False
        self._process = QProcess(self)
        self._process.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        self._process.setProcessEnvironment(env)
        # the demo stack runs below the GUI: the window gets a CPU first on a busy machine
        self._process.started.connect(self._on_started)
        self._process.readyReadStandardOutput.connect(self._on_stdout)
        self._process.readyReadStandardError.connect(self._on_stderr)
        self._process.errorOccurred.connect(self._on_error)
        self._process.finished.connect(self._on_finished)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timeout)

    # -- public -----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._process.state() != QProcess.ProcessState.NotRunning

    @property
    def pid(self) -> int:
        return int(self._process.processId())

    def start(self) -> None:
        if self.running:
            return
        self._attempt = 0
        self._launch()

    def _launch(self) -> None:
        self._attempt += 1
        program, args = self._program
        self._stopping = False
        self._reported = False
        self.info = None
        self._stdout = b""
        log.info("starting the local stack: %s %s", program, " ".join(args))
        self._stderr_tail = []
        self._process.start(program, args)  # stdin stays open: the child's lifeline
        if not self._timer.isActive():  # one deadline for all attempts
            self._timer.start(self._start_timeout_ms)

    def stop(self, timeout_ms: int = 5000) -> None:
        """End the child (blocks for at most ``timeout_ms``; called once, on quit)."""
        self._timer.stop()
        if not self.running:
            return
        self._stopping = True
        log.info("stopping the local stack (pid %s)", self.pid)
        self._process.closeWriteChannel()  # the watchdog sees EOF
        self._process.terminate()
        if not self._process.waitForFinished(timeout_ms):
            log.warning("local stack did not stop in %d ms; killing it", timeout_ms)
            self._process.kill()
            self._process.waitForFinished(1000)

    # -- internals --------------------------------------------------------------------
    def _fail(self, reason: str) -> None:
        if self._reported:
            return
        self._reported = True
        self._timer.stop()
        log.error("local stack failed: %s", reason)
        if self.running:
            self._stopping = True
            self._process.kill()
        self.failed.emit(reason)

    @Slot()
    def _on_started(self) -> None:
        lower_process_priority(self.pid)

    def _on_stdout(self) -> None:
        data = bytes(self._process.readAllStandardOutput().data())
        if self.info is not None:
            return  # after the JSON line the stack has nothing to say on stdout
        self._stdout += data
        while b"\n" in self._stdout and self.info is None:
            line, _, self._stdout = self._stdout.partition(b"\n")
            text = line.decode("utf-8", "replace").strip()
            if not text.startswith("{"):
                if text:
                    log.info("local stack: %s", redact(text))
                continue
            try:
                info = json.loads(text)
            except ValueError:
                self._fail("The demo stack printed something unexpected instead of its settings.")
                return
            missing = [k for k in REQUIRED_KEYS if not info.get(k)]
            if not isinstance(info, dict) or missing:
                self._fail(f"The demo stack did not report {', '.join(missing)}.")
                return
            self.info = info
            self._reported = True
            self._timer.stop()
            log.info("local stack ready at %s (pid %s)", info.get("apiUrl"), self.pid)
            self.ready.emit(info)

    @Slot()
    def _on_stderr(self) -> None:
        text = bytes(self._process.readAllStandardError().data()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                self._stderr_tail = [*self._stderr_tail[-19:], line]
                # the stack logs every request at INFO: keep those out of the app's log
                level = logging.DEBUG if " INFO " in line else logging.INFO
                log.log(level, "local stack: %s", redact(line))

    @Slot(QProcess.ProcessError)
    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._attempt = self._retries + 1  # a missing program will not appear on retry
            self._fail(f"Could not start the demo stack: {self._process.errorString()}")

    @Slot(int, QProcess.ExitStatus)
    def _on_finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        if self.info is None:
            if not self._stopping and not self._reported and self._attempt <= self._retries:
                # a start-up failure can be transient (a port taken between probe and bind,
                # a racy import): try once more before telling the user
                log.warning("local stack exited with %s before it was ready; starting it again",
                            code)
                QTimer.singleShot(0, self._launch)
                return
            self._timer.stop()
            if not self._stopping:
                tail = "\n".join(self._stderr_tail[-5:])
                self._fail(
                    f"The demo stack stopped before it was ready (exit code {code})."
                    + (f"\n\n{redact(tail)}" if tail else "")
                )
            return
        if not self._stopping:
            log.warning("local stack exited unexpectedly with code %s", code)
        self.finished.emit(int(code))

    @Slot()
    def _on_timeout(self) -> None:
        seconds = self._start_timeout_ms // 1000
        self._fail(f"The demo stack did not start within {seconds} s.")

