"""``medispecs-desktop configure --from FILE|URL|LINK``: take the settings IT hands out (the
deployment's ``DesktopSettingsJson``, the describe-stacks outputs, or a
``medispecs://configure?...`` link) into the settings file, so nobody types an id. Values the
organisation's policy file fixes stay as the policy says."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from medispecs_desktop.cli.account import Context, add_command
from medispecs_desktop.cli.main import EXIT_OK


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "configure", cmd_configure,
        "import the settings IT hands out (file, https URL or link)",
        "Import the deployment's settings (DesktopSettingsJson from the stack's outputs, as a "
        "file, an https:// URL, a medispecs://configure link, or - for stdin) into this "
        "computer's settings file.", keyring=False)
    parser.add_argument("--from", dest="source", required=True, metavar="FILE|URL|LINK",
                        help="where the settings are ('-' reads them from stdin)")
    parser.add_argument("--json", action="store_true", help="print the imported settings")


def cmd_configure(args: argparse.Namespace, ctx: Context) -> int:
    import tempfile
    from pathlib import Path

    from medispecs_desktop.core.settings_import import import_settings

    source = args.source
    if source == "-":
        text = (ctx.stdin if ctx.stdin is not None else sys.stdin).read()
        with tempfile.TemporaryDirectory() as folder:
            file = Path(folder) / "settings.json"
            file.write_text(text, encoding="utf-8")
            result = import_settings(str(file), ctx.paths)
    else:
        result = import_settings(source, ctx.paths)
    if args.json:
        ctx.json({"imported": result.imported, "keptByPolicy": list(result.kept_by_policy),
                  "settingsFile": str(result.path)})
        return EXIT_OK
    names = ", ".join(sorted(result.imported))
    ctx.out(f"Settings imported into {result.path}: {names}.")
    if result.kept_by_policy:
        ctx.out("Set by your organisation (not changed): "
                + ", ".join(result.kept_by_policy) + ".")
    ctx.out("Sign in with `medispecs-desktop login`" + (
        " (or --browser for your organisation's login page)."
        if result.settings.auth_domain else "."))
    return EXIT_OK
