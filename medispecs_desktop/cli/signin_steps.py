"""The steps a sign-in may ask for, on a terminal or from options: a new password, an
authenticator or SMS code (``--mfa-code``), authenticator enrolment (QR code in the terminal
and the secret). Used by ``login`` (cli.account)."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from medispecs_desktop.core.errors import AuthError

if TYPE_CHECKING:
    from medispecs_desktop.cli.account import Context
    from medispecs_desktop.core.auth import TotpSetup, UserInfo

MAX_STEPS = 5


def read_line(stream: TextIO, what: str) -> str:
    from medispecs_desktop.cli.account import UsageError

    value = stream.readline().rstrip("\r\n")
    if not value:
        raise UsageError(f"expected {what} on stdin, got nothing")
    return value


def finish_sign_in(args: argparse.Namespace, ctx: Context,
                   attempt: Callable[[], UserInfo]) -> UserInfo:
    """Run ``attempt`` and answer each step it asks for until the user is signed in."""
    from medispecs_desktop.core.auth import MfaRequired, MfaSetupRequired, NewPasswordRequired

    step = attempt
    codes_left = [args.mfa_code] if getattr(args, "mfa_code", None) else []
    for _ in range(MAX_STEPS):
        try:
            return step()
        except NewPasswordRequired as challenge:
            new_password = new_password_for(args, ctx, challenge)
            step = _bind(ctx.auth.complete_new_password, challenge, new_password)
        except MfaRequired as challenge:
            code = codes_left.pop() if codes_left else _ask_code(ctx, str(challenge))
            remember = bool(getattr(args, "remember_device", False))
            step = _bind_mfa(ctx, challenge, code, remember)
        except MfaSetupRequired as challenge:
            if not ctx.stdin.isatty():
                raise AuthError(f"{challenge} Sign in once in the app or on a terminal to set "
                                "it up.", code="mfa_setup_required") from None
            setup = ctx.auth.begin_mfa_setup(challenge)
            show_setup(ctx, setup)
            code = _ask_code(ctx, "Enter the 6-digit code the app shows now.")
            step = _bind(ctx.auth.finish_mfa_setup, setup, code)
    raise AuthError("The sign-in asked for too many steps: try the app.", code="auth")


def _bind_mfa(ctx: Context, challenge: object, code: str,
              remember: bool) -> Callable[[], UserInfo]:
    from medispecs_desktop.core.auth import MfaRequired

    assert isinstance(challenge, MfaRequired)
    return lambda: ctx.auth.answer_mfa(challenge, code, remember_device=remember)


def _bind(fn: Callable[..., UserInfo], *args: object) -> Callable[[], UserInfo]:
    return lambda: fn(*args)


def _ask_code(ctx: Context, prompt: str) -> str:
    if not ctx.stdin.isatty():
        raise AuthError(f"{prompt} Pass it with --mfa-code CODE.", code="mfa_required")
    ctx.err(prompt)
    return input("Code: ").strip()


def show_setup(ctx: Context, setup: TotpSetup) -> None:
    """The QR code (in the terminal) and the secret to type by hand."""
    import segno

    ctx.err("Your organisation requires an authenticator app (for example Microsoft or "
            "Google Authenticator). Scan this code with it:")
    segno.make(setup.uri, error="m").terminal(out=ctx.stderr, compact=True)
    ctx.err(f"or enter this key by hand: {setup.grouped_secret}")


def new_password_for(args: argparse.Namespace, ctx: Context, challenge: AuthError) -> str:
    if getattr(args, "new_password_stdin", False):
        return read_line(ctx.stdin, "the new password (second line)")
    if getattr(args, "password_stdin", False) or not ctx.stdin.isatty():
        raise AuthError(
            f"{challenge} Pass --new-password-stdin with the new password on the second "
            "line of stdin.",
            code="new_password_required",
        )
    ctx.err(str(challenge))
    for _ in range(3):
        first = getpass.getpass("New password: ")
        if first and first == getpass.getpass("Repeat the new password: "):
            return first
        ctx.err("The passwords do not match (or are empty): try again.")
    raise AuthError("No new password chosen.", code="new_password_required")
