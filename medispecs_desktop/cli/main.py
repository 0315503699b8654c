"""`medispecs-desktop`: the GUI by default, or a headless sub-command on the same core.

Each command group lives in its own module exposing ``register(subparsers)``; a group's
handler is stored as ``func`` on the parsed namespace and returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from medispecs_desktop import __version__

# modules under medispecs_desktop.cli that add sub-commands
COMMAND_MODULES = ("account", "recovery", "configure", "uploads", "stack", "history",
                   "doctor", "trash", "markers")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_OFFLINE = 4
EXIT_NOT_FOUND = 5


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="medispecs-desktop",
        description=(
            "MediSpecs Desktop. Without a command it opens the app; --local first starts the "
            "embedded demo stack (in memory: nothing is stored)."
        ),
        epilog=(
            "Settings come from the settings file, then MEDISPECS_API_URL, MEDISPECS_REGION, "
            "MEDISPECS_USER_POOL_ID, MEDISPECS_CLIENT_ID, MEDISPECS_COGNITO_ENDPOINT, then "
            "options. Exit codes: 0 ok, 1 error, 2 usage, 3 not signed in / auth, "
            "4 offline, 5 not found."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--local", action="store_true", help="start the embedded local stack (demo) and use it"
    )
    parser.add_argument("--api-url", help="videos API base URL (MEDISPECS_API_URL)")
    parser.add_argument("--region", help="AWS region of the user pool (MEDISPECS_REGION)")
    parser.add_argument("--user-pool-id", help="Cognito user pool id (MEDISPECS_USER_POOL_ID)")
    parser.add_argument("--client-id", help="Cognito app client id (MEDISPECS_CLIENT_ID)")
    parser.add_argument(
        "--cognito-endpoint", help="Cognito endpoint override (MEDISPECS_COGNITO_ENDPOINT)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log to the console too")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"medispecs_desktop.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"medispecs_desktop.cli.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    func = getattr(args, "func", None)
    if func is None:
        from medispecs_desktop.ui.app import run_app  # GUI only when asked for

        return int(run_app(args))
    try:
        code = int(func(args))
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit-time flush
        return code
    except BrokenPipeError:
        # the reader went away (`medispecs-desktop list --json | head`): stop quietly, and
        # point stdout at /dev/null so the exit-time flush does not fail again
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):  # stdout replaced by something without a descriptor
            pass
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
