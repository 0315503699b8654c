"""``medispecs-desktop doctor``: what works on this computer, with a concrete fix for each
failure. Exit 0 when everything works, 1 when something is broken; ``--json`` for scripts."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from medispecs_desktop.cli.main import EXIT_ERROR, EXIT_OK
from medispecs_desktop.cli.output import dumps_json, safe


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check what works on this computer (Qt, video playback, keyring, network, logs)",
        description=(
            "Check the Qt platform plugin, the multimedia backend (video playback), the "
            "keyring that keeps the sign-in, the network to the configured API and the log "
            "directory, and print a concrete fix for each failure. Exit code 0: all works; "
            "1: something is broken. --json prints {\"ok\": bool, \"checks\": [{\"name\", "
            "\"ok\", \"detail\", \"fix\"}]}."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    # the doctor's own child process: start Qt as the app does and print what works
    parser.add_argument("--qt-probe", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from medispecs_desktop.cli.account import settings_from_args
    from medispecs_desktop.core.config import Paths
    from medispecs_desktop.core.diagnostics import api_check, keyring_check, log_dir_check
    from medispecs_desktop.ui.diagnostics import probe, qt_checks

    if args.qt_probe:
        print(json.dumps(probe()), flush=True)
        return EXIT_OK
    paths = Paths.default()
    settings = settings_from_args(args, paths)
    checks = [*qt_checks(), keyring_check(settings, paths), api_check(settings),
              log_dir_check(paths)]
    ok = all(c.ok for c in checks)
    if args.json:
        sys.stdout.write(dumps_json({"ok": ok, "checks": [c.to_json() for c in checks]}) + "\n")
    else:
        for check in checks:
            print(f"{'OK  ' if check.ok else 'FAIL'}  {check.name}: {safe(check.detail)}")
            if not check.ok and check.fix:
                print(f"      fix: {safe(check.fix)}")
        print("Everything works." if ok else "Something is broken: see the fixes above.")
    return EXIT_OK if ok else EXIT_ERROR
