"""``medispecs-desktop local-stack``: run the embedded demo stack until interrupted.

Prints ONE JSON line on stdout (docs/contract.md §2) once everything is ready, logs to stderr,
and runs until SIGINT/SIGTERM (exit 0). A parent process can also end it by closing its stdin
(``--exit-on-stdin-eof``) or simply by dying (``--exit-with-parent``).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from medispecs_desktop.cli.main import EXIT_ERROR, EXIT_OK, EXIT_USAGE

log = logging.getLogger("medispecs_desktop.local")

PARENT_POLL_SECONDS = 0.5


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "local-stack",
        help="run the embedded demo stack (in memory: nothing is stored)",
        description=(
            "Start moto (S3, DynamoDB, Cognito), provision the bucket, the AppMain table and a "
            "user pool with demo users, and serve the videos API on loopback through a local "
            "API gateway running the real Lambda handler. Prints one JSON line with everything "
            "a client needs, then runs until SIGINT/SIGTERM. Everything is kept in memory and "
            "lost at exit: it is a demo, nothing is stored. The Lambda's variables "
            "PRE_SIGNED_URL_EXPIRY, MAX_UPLOAD_BYTES, VERIFY_SHA256_MAX_BYTES, USER_ID_CLAIM, "
            "CORS_ALLOW_ORIGIN and LOG_LEVEL are honoured."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1",
        help="loopback address to listen on (127.0.0.1, ::1 or localhost; default 127.0.0.1)",
    )
    parser.add_argument(
        "--port", type=int, default=0,
        help="port of the API (default 0: a free port, reported in the JSON line)",
    )
    parser.add_argument(
        "--moto-port", type=int, default=0,
        help="port of the AWS endpoint (moto; default 0: a free port)",
    )
    parser.add_argument(
        "--no-samples", dest="samples", action="store_false",
        help="do not upload the demo recordings for the demo user",
    )
    parser.add_argument(
        "--exit-on-stdin-eof", action="store_true",
        help="stop when stdin is closed (for a parent process that owns the stack)",
    )
    parser.add_argument(
        "--exit-with-parent", action="store_true",
        help="stop when the parent process dies",
    )
    # fast_exit: end the process right after a clean stop (in-process callers set False)
    parser.set_defaults(func=run, fast_exit=True)


def _setup_logging(verbose: bool) -> None:
    from medispecs_desktop.core.logs import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for chatty in ("medispecs_desktop.local.gateway", "medispecs_desktop.backend"):
        # one line per request: only with --verbose
        logging.getLogger(chatty).setLevel(logging.INFO if verbose else logging.WARNING)
    level = os.environ.get("LOG_LEVEL", "").strip().upper()  # the Lambda's variable
    if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        logging.getLogger("medispecs_desktop.backend").setLevel(level)
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "s3transfer", "moto"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def _port(value: int, name: str) -> str | None:
    if not 0 <= value <= 65535:
        return f"{name} must be 0..65535, got {value}"
    return None


def _watch_stdin(stop: Callable[[str], None]) -> None:
    def watch() -> None:
        # os.read on the raw descriptor: a daemon thread blocked inside sys.stdin's buffered
        # reader would hold its lock and abort the interpreter at exit.
        try:
            fd = sys.stdin.fileno()
            while os.read(fd, 65536):
                pass
        except (OSError, ValueError, AttributeError):
            pass
        stop("stdin closed")

    threading.Thread(target=watch, name="stdin-eof-watch", daemon=True).start()


def _watch_parent(stop: Callable[[str], None], done: threading.Event) -> None:
    # Polling getppid() (the process is re-parented when its parent dies) rather than
    # prctl(PR_SET_PDEATHSIG): that fires when the *thread* that spawned us ends, which would
    # stop the stack early for a parent that starts it from a worker thread.
    parent = os.getppid()

    def watch() -> None:
        while not done.wait(PARENT_POLL_SECONDS):
            if os.getppid() != parent:
                stop("parent process ended")
                return

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def run(args: argparse.Namespace) -> int:
    from medispecs_desktop.local.servers import is_loopback_host

    _setup_logging(bool(getattr(args, "verbose", False)))
    if not is_loopback_host(args.host):
        print(
            f"medispecs-desktop local-stack: refusing to listen on {args.host!r}: the demo stack "
            "has known passwords and no TLS, so it listens on loopback only "
            "(127.0.0.1, ::1 or localhost).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    for value, name in ((args.port, "--port"), (args.moto_port, "--moto-port")):
        problem = _port(value, name)
        if problem:
            print(f"medispecs-desktop local-stack: {problem}", file=sys.stderr)
            return EXIT_USAGE

    done = threading.Event()
    reason: list[str] = []

    def stop(why: str) -> None:
        if not done.is_set():
            reason.append(why)
            done.set()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop(signal.Signals(signum).name)

    previous = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    if hasattr(signal, "SIGHUP"):
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_signal)
    if args.exit_on_stdin_eof:
        _watch_stdin(stop)
    if args.exit_with_parent:
        _watch_parent(stop, done)

    from medispecs_desktop.local.stack import LocalStack

    stack = LocalStack(
        host=args.host, port=args.port, with_samples=args.samples, moto_port=args.moto_port,
        environ=os.environ,  # PRE_SIGNED_URL_EXPIRY and the other backend variables
    )
    try:
        code = _serve(stack, done, reason)
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if getattr(args, "fast_exit", False):
        # Everything is stopped: skip tearing down moto's large in-memory object graph at
        # interpreter exit (~1-2 s), so a parent waiting for this process is not kept waiting.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _serve(stack: Any, done: threading.Event, reason: list[str]) -> int:
    from medispecs_desktop.local.stack import DEMO_NOTE

    log.warning("local stack: %s - everything is lost when it stops", DEMO_NOTE)
    gc.disable()  # starting makes objects that live as long as the stack (see below)
    try:
        info = stack.start()
    except Exception as exc:
        gc.enable()
        log.error("local stack failed to start: %s", exc,
                  exc_info=log.isEnabledFor(logging.DEBUG))
        print(f"medispecs-desktop local-stack: could not start: {exc}", file=sys.stderr)
        return EXIT_ERROR
    # everything made while starting (moto's backends, botocore's service models, the
    # handler's clients) lives as long as the stack: it is put out of the collector's sight,
    # not walked by every full collection (four took 15-93 ms each while the stack started,
    # and later ones 57-137 ms of the stack's one GIL, stalling every request meanwhile)
    gc.freeze()
    gc.enable()
    if done.is_set():
        return EXIT_OK
    try:
        sys.stdout.write(json.dumps(info, separators=(",", ":")) + "\n")
        sys.stdout.flush()
    except OSError as exc:  # e.g. the reader of our stdout has gone away
        log.error("local stack: cannot write its settings line (%s); stopping", exc)
        return EXIT_ERROR
    log.warning(
        "local stack ready: API %s, user %r (%s). Stop with Ctrl+C.",
        info["apiUrl"], info["username"], DEMO_NOTE,
    )
    done.wait()
    log.info("local stack stopping (%s)", reason[0] if reason else "done")
    return EXIT_OK
