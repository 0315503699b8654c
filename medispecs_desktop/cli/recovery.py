"""``medispecs-desktop forgot-password -u USER``: a reset code by e-mail, then a new password.

On a terminal it asks for the code and the new password right away. Scripts run it twice:
first to send the code, then with ``--code CODE --new-password-stdin``."""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from medispecs_desktop.cli.account import Context, UsageError, add_command
from medispecs_desktop.cli.main import EXIT_OK
from medispecs_desktop.core.errors import AuthError


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "forgot-password", cmd_forgot_password,
        "reset a forgotten password with a code sent by e-mail",
        "Send a password reset code to the account's e-mail, then set a new password with it. "
        "On a terminal both happen in one go; scripts run the command twice, the second time "
        "with --code CODE --new-password-stdin.", keyring=False)
    parser.add_argument("--username", "-u", required=True, help="the account's username")
    parser.add_argument("--code", help="the code from the e-mail (skips sending a new one)")
    parser.add_argument("--new-password-stdin", action="store_true",
                        help="read the new password from the first line of stdin")


def cmd_forgot_password(args: argparse.Namespace, ctx: Context) -> int:
    from medispecs_desktop.cli.signin_steps import read_line

    username = args.username.strip()
    interactive = ctx.stdin.isatty()
    code = (args.code or "").strip()
    if not code:
        delivery = ctx.auth.forgot_password(username)
        ctx.out(delivery.describe())
        if not interactive:
            ctx.out("Run again with --code CODE --new-password-stdin to set the new password.")
            return EXIT_OK
        code = input("Code from the message: ").strip()
    if args.new_password_stdin:
        new_password = read_line(ctx.stdin, "the new password")
    elif interactive:
        new_password = getpass.getpass("New password: ")
        if new_password != getpass.getpass("Repeat the new password: "):
            raise AuthError("The passwords do not match: nothing was changed.",
                            code="missing_credentials")
    else:
        raise UsageError("no terminal to ask for the new password: use --new-password-stdin")
    ctx.auth.confirm_forgot_password(username, code, new_password)
    ctx.out(f"The password of {username} was changed: sign in with the new one "
            "(`medispecs-desktop login`).")
    return EXIT_OK
