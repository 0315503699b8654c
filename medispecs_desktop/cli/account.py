"""Headless account and library commands: ``login``, ``logout``, ``whoami``, ``list``, ``get``,
``delete``, ``playback-url`` — the same settings, keyring and core as the app, for IT scripting
and tests.

Settings come from the settings file, then ``MEDISPECS_*`` environment variables, then the
top-level options (``--api-url`` …). ``login`` keeps the refresh token in the OS keyring; every
later command signs in silently from it. Output for people goes to stdout, problems to stderr;
``--json`` output is one stable JSON document (see ``JSON_HELP``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TextIO

from medispecs_desktop.cli.main import (
    EXIT_AUTH,
    EXIT_ERROR,
    EXIT_NOT_FOUND,
    EXIT_OFFLINE,
    EXIT_OK,
    EXIT_USAGE,
)
from medispecs_desktop.cli.output import dumps_json, dumps_json_listing, json_list_item, safe
from medispecs_desktop.core.config import Paths, Settings, apply_policy, load_settings
from medispecs_desktop.core.errors import (
    AuthError,
    MediSpecsError,
    NotFoundError,
    NotSignedInError,
    OfflineError,
)
from medispecs_desktop.core.formatting import format_duration, format_size
from medispecs_desktop.core.logs import setup_logging
from medispecs_desktop.core.models import Video, format_utc

if TYPE_CHECKING:  # the heavy imports (boto3, requests, keyring) wait for a command to run
    from medispecs_desktop.core.api import ApiClient
    from medispecs_desktop.core.auth import UserInfo

log = logging.getLogger(__name__)

MAX_LIMIT = 100  # the API's page size limit (core.api.MAX_LIMIT)
DEFAULT_LIMIT = 50  # one page for a person to read; --all fetches MAX_LIMIT per request


class UsageError(MediSpecsError):
    """The command line cannot work as given (exit code 2)."""

    code = "usage"


VIDEO_FIELDS = (
    "videoId", "title", "recordedAt", "status", "userId", "deviceId", "notes", "durationSec",
    "fileSizeBytes", "mimeType", "width", "height", "codec", "sha256", "fingerprint", "s3Key",
    "thumbnailS3Key", "thumbnailUrl", "createdAt", "updatedAt", "version",
    "sha256Verified", "sha256VerifiedBy", "verifiedAt",
)

JSON_HELP = (
    "JSON output (--json) is stable: a video is an object with the keys "
    + ", ".join(VIDEO_FIELDS)
    + " (null when unknown; times are UTC 'YYYY-MM-DDTHH:MM:SSZ'; thumbnailUrl is a short-lived "
    "pre-signed URL; sha256Verified is true only when the server compared the whole file's "
    "SHA-256 with the bytes in S3, sha256VerifiedBy says how: checksum|read|parts|none, "
    "verifiedAt when; fields the service adds later appear as extra keys). "
    "`list --json` prints {\"items\": [video, ...], \"nextCursor\": string|null}; "
    "`get --json` prints one video; `whoami --json` prints {\"username\", \"sub\", \"email\", "
    "\"name\", \"remembered\"}; `playback-url --json` prints {\"videoId\", \"playbackUrl\", "
    "\"expiresAt\"}."
)

EXIT_HELP = ("Exit codes: 0 ok, 1 error, 2 usage, 3 not signed in / sign-in failed, "
             "4 offline, 5 not found.")

KEYRING_HELP = (
    "The refresh token is kept in the OS keyring (Keychain, Credential Manager, Secret "
    "Service). On a machine without one the sign-in works for the `login` command only; set "
    "MEDISPECS_ALLOW_PLAINTEXT_KEYRING=1 to keep it in a private plain-text file instead "
    "(headless/CI machines only)."
)


# --------------------------------------------------------------------------- registration


def add_command(
    subparsers: Any, name: str, handler: Callable[[argparse.Namespace, Context], int],
    help_text: str, description: str, *, keyring: bool = True, video_id: bool = False,
    json: bool = False,
) -> argparse.ArgumentParser:
    """A signed-in command: its parser (exit codes, and the keyring note when it signs in, in
    its epilog), an ``ID`` argument and a ``--json`` flag when asked, run by ``handler``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help_text, description=description,
        epilog=f"{EXIT_HELP} {KEYRING_HELP}" if keyring else EXIT_HELP,
    )
    if video_id:
        parser.add_argument("video_id", metavar="ID")
    if json:
        parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=_runner(handler))
    return parser


def bounded_int(maximum: int) -> Callable[[str], int]:
    """An argparse type: a whole number from 1 to ``maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be between 1 and {maximum}")
        return value

    return parse


def register(subparsers: Any) -> None:
    def add(name: str, handler: Callable[[argparse.Namespace, Context], int], help_text: str,
            description: str, **kw: bool) -> argparse.ArgumentParser:
        return add_command(subparsers, name, handler, help_text, description, **kw)

    login = add(
        "login", cmd_login, "sign in and remember the sign-in in the OS keyring",
        "Sign in to the user pool with a username and password (proved with SRP: the password "
        "itself is never sent), or with --browser through your organisation's login page. "
        "Prompts for what is missing (on a terminal); for scripts use --password-stdin and "
        "--mfa-code. An account with a temporary password must choose a new one: prompted on a "
        "terminal, or the second stdin line with --new-password-stdin.",
    )
    login.add_argument("--username", "-u", help="the account's username")
    login.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin")
    login.add_argument("--new-password-stdin", action="store_true",
                       help="with a temporary password, read the new password from the next "
                            "line of stdin")
    login.add_argument("--mfa-code", metavar="CODE",
                       help="the code from your authenticator app (or the SMS) when the "
                            "account asks for one")
    login.add_argument("--remember-device", action="store_true",
                       help="with --mfa-code: ask the pool to remember this computer, so the "
                            "code is not asked here again (if your organisation allows it)")
    login.add_argument("--browser", action="store_true",
                       help="sign in through your organisation's login page in the browser "
                            "(single sign-on; needs the sign-in domain in the settings)")

    add("logout", cmd_logout, "forget the sign-in (keyring and server-side, best effort)",
        "Forget the remembered sign-in on this computer and revoke its refresh token.")

    add("whoami", cmd_whoami, "show who is signed in",
        "Sign in silently from the keyring and show the user.", json=True)

    listing = add(
        "list", cmd_list, "list recordings, newest first",
        "List the signed-in user's recordings, newest first. Dates are UTC: YYYY-MM-DD "
        f"(the whole day) or an ISO date-time. {JSON_HELP}",
    )
    listing.add_argument("--from", dest="date_from", type=_date_arg, metavar="DATE",
                         help="recorded at or after (UTC)")
    listing.add_argument("--to", dest="date_to", type=_date_arg, metavar="DATE",
                         help="recorded at or before (UTC; a date includes the whole day)")
    listing.add_argument("--limit", type=bounded_int(MAX_LIMIT), default=None, metavar="N",
                         help=f"page size, 1..{MAX_LIMIT} (default {DEFAULT_LIMIT}; "
                              f"{MAX_LIMIT} with --all)")
    listing.add_argument("--cursor", help="continue after a previous page (its nextCursor)")
    listing.add_argument("--all", action="store_true", help="follow every page")
    listing.add_argument("--json", action="store_true", help="print JSON")

    add("get", cmd_get, "show one recording", f"Show one recording. {JSON_HELP}",
        video_id=True, json=True)

    delete = add(
        "delete", cmd_delete, "move a recording to the Trash (restorable until purged)",
        "Move a recording to the Trash: it leaves the library and is deleted for good after "
        "the Trash's retention (30 days by default); `trash restore ID` brings it back, `trash "
        "purge ID` deletes it forever now. Asks for confirmation on a terminal; scripts must "
        "pass --yes.", video_id=True,
    )
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    add("playback-url", cmd_playback_url, "print a short-lived streaming URL",
        f"Print a pre-signed URL that streams the recording. {JSON_HELP}",
        video_id=True, json=True)


def _date_arg(text: str) -> str:
    value = text.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or an ISO date-time"
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # documented: dates are UTC
    return format_utc(moment)


# --------------------------------------------------------------------------- context


class Context:
    """Settings, the token store, the auth session and (lazily) the API client."""

    def __init__(self, args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO,
                 stderr: TextIO) -> None:
        self.args = args
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr
        self.paths = Paths.default()
        self.settings = settings_from_args(args, self.paths)
        from medispecs_desktop.core.auth import CognitoAuth, KeyringTokenStore

        self.store = KeyringTokenStore.for_settings(self.settings, self.paths)
        self.auth = CognitoAuth(self.settings, self.store)
        self._api: ApiClient | None = None

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def err(self, text: str) -> None:
        print(text, file=self.stderr)

    def json(self, value: Any) -> None:
        self.stdout.write(dumps_json(value) + "\n")  # no raw control characters

    def signed_in(self) -> UserInfo:
        """Sign in silently from the keyring, or explain why not."""
        user = self.auth.restore()
        if user is not None:
            return user
        if self.auth.remember_error:
            raise NotSignedInError(f"Not signed in: {self.auth.remember_error}")
        raise NotSignedInError("Not signed in: run `medispecs-desktop login` first.")

    @property
    def api(self) -> ApiClient:
        if self._api is None:
            self.settings.require()
            self.signed_in()
            from medispecs_desktop.core.api import ApiClient

            self._api = ApiClient(self.settings, self.auth)
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()


def settings_from_args(args: argparse.Namespace, paths: Paths | None = None) -> Settings:
    """The settings file, then the environment, then the command-line options."""
    return apply_policy(load_settings(paths).with_overrides(  # IT's policy wins over options
        api_url=getattr(args, "api_url", None),
        region=getattr(args, "region", None),
        user_pool_id=getattr(args, "user_pool_id", None),
        client_id=getattr(args, "client_id", None),
        cognito_endpoint=getattr(args, "cognito_endpoint", None),
    ))


def exit_code_for(error: BaseException) -> int:
    if isinstance(error, UsageError):
        return EXIT_USAGE
    if isinstance(error, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(error, OfflineError):
        return EXIT_OFFLINE
    if isinstance(error, AuthError):
        return EXIT_AUTH
    return EXIT_ERROR


def _runner(handler: Callable[[argparse.Namespace, Context], int]
            ) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        verbose = bool(getattr(args, "verbose", False))
        stdin, stdout, stderr = sys.stdin, sys.stdout, sys.stderr
        ctx: Context | None = None
        if getattr(args, "local", False):
            print("error: --local starts the demo stack for the app only; for these commands "
                  "run `medispecs-desktop local-stack` and point MEDISPECS_API_URL, "
                  "MEDISPECS_REGION, MEDISPECS_USER_POOL_ID, MEDISPECS_CLIENT_ID and "
                  "MEDISPECS_COGNITO_ENDPOINT at what it prints", file=stderr)
            return EXIT_USAGE
        try:
            paths = Paths.default().ensure()
            setup_logging(paths.log_dir, level=logging.DEBUG if verbose else logging.INFO,
                          console=verbose)
            ctx = Context(args, stdin=stdin, stdout=stdout, stderr=stderr)
            return handler(args, ctx)
        except MediSpecsError as exc:
            print(f"error: {safe(exc)}", file=stderr)
            log.info("%s failed: %s (%s)", getattr(args, "command", "?"), exc, exc.code)
            return exit_code_for(exc)
        except KeyboardInterrupt:
            print("interrupted", file=stderr)
            return 130
        finally:
            if ctx is not None:
                ctx.close()

    return run


# --------------------------------------------------------------------------- commands


def cmd_login(args: argparse.Namespace, ctx: Context) -> int:
    from medispecs_desktop.cli.signin_steps import finish_sign_in, read_line

    interactive = ctx.stdin.isatty()
    try:
        if args.browser:
            user = ctx.auth.sign_in_with_browser(lambda url: _open_browser(ctx, url))
        else:
            username = (args.username or "").strip()
            if not username:
                if args.password_stdin or not interactive:
                    raise UsageError("give --username when the password comes from stdin")
                last = ctx.auth.last_username()
                typed = input(f"Username [{last}]: " if last else "Username: ").strip()
                username = typed or (last or "")
            if args.password_stdin:
                password = read_line(ctx.stdin, "the password")
            elif interactive:
                password = getpass.getpass("Password: ")
            else:
                raise UsageError("no terminal to ask for the password: use --password-stdin")
            auth = ctx.auth
            user = finish_sign_in(args, ctx, lambda: auth.sign_in(username, password))
    except UsageError as exc:
        ctx.err(f"error: {safe(exc)}")
        return EXIT_USAGE
    who = f"{user.username} ({user.email})" if user.email else user.username
    ctx.out(f"Signed in as {who}.")
    if not ctx.auth.remembered:
        ctx.err(
            "warning: the sign-in will NOT be remembered for later commands: "
            f"{ctx.auth.remember_error or 'no secure keyring'}"
        )
    return EXIT_OK


def _open_browser(ctx: Context, url: str) -> None:
    import webbrowser

    ctx.err("Opening your organisation's sign-in page in the browser. If it does not open, "
            f"visit:\n{url}")
    try:
        webbrowser.open(url)
    except webbrowser.Error as exc:  # no browser here: the printed address still works
        log.info("no browser to open (%s)", exc)


def cmd_logout(args: argparse.Namespace, ctx: Context) -> int:
    who = ctx.auth.last_username()
    ctx.auth.sign_out()
    _stop_uploads(ctx, who)
    ctx.out(f"Signed out {who}." if who else "Nobody was signed in on this computer.")
    if ctx.auth.remember_error:
        ctx.err(f"warning: {ctx.auth.remember_error}")
    return EXIT_OK


def _stop_uploads(ctx: Context, username: str | None) -> None:
    """Stop the user's uploads in every process sharing the queue (an ``upload --wait``, the
    app): the sign-out is written to the queue, where their engines see it within a second."""
    from medispecs_desktop.core.uploads.signout import sign_out_queue

    if not username:
        return
    try:
        stopped = sign_out_queue(ctx.paths.queue_db, username)
    except MediSpecsError as exc:  # a locked or damaged queue does not undo the sign-out
        ctx.err(f"warning: the upload queue could not be told of the sign-out: {safe(exc)}")
        return
    if stopped:
        ctx.out("Uploads of this user stopped; they will resume after sign-in.")


def cmd_whoami(args: argparse.Namespace, ctx: Context) -> int:
    user = ctx.signed_in()
    if args.json:
        ctx.json({"username": user.username, "sub": user.sub, "email": user.email,
                  "name": user.name, "remembered": ctx.auth.remembered})
    else:
        ctx.out(safe(user.username) + (f" <{safe(user.email)}>" if user.email else ""))
        if user.name:
            ctx.out(f"name: {safe(user.name)}")
        ctx.out(f"user pool: {ctx.settings.user_pool_id} ({ctx.settings.region})")
    return EXIT_OK


def video_json(video: Video) -> dict[str, Any]:
    """A video with every documented key (null when unknown), then any extra keys."""
    data = video.to_api()
    out: dict[str, Any] = {key: data.pop(key, None) for key in VIDEO_FIELDS}
    out.update(data)
    return out


def cmd_list(args: argparse.Namespace, ctx: Context) -> int:
    api = ctx.api
    limit = args.limit if args.limit is not None else MAX_LIMIT if args.all else DEFAULT_LIMIT
    query = {"date_from": args.date_from, "date_to": args.date_to, "limit": limit}
    if args.all and args.json:
        # each recording is encoded while the next page is on its way (one page ahead)
        encoded = [json_list_item(video_json(v))
                   for v in api.iter_videos(cursor=args.cursor, prefetch=True, **query)]
        ctx.stdout.write(dumps_json_listing(encoded, None) + "\n")
        return EXIT_OK
    if args.all:
        # the next page is on its way while this one is read
        items = list(api.iter_videos(cursor=args.cursor, prefetch=True, **query))
        next_cursor = None
    else:
        page = api.list_videos(cursor=args.cursor, **query)
        items, next_cursor = page.items, page.next_cursor
    if args.json:
        ctx.json({"items": [video_json(v) for v in items], "nextCursor": next_cursor})
        return EXIT_OK
    if not items:
        ctx.out("No recordings.")
    else:
        ctx.out(f"{'RECORDED (UTC)':<21} {'VIDEO ID':<34} {'STATUS':<10} {'DURATION':>8} "
                f"{'SIZE':>9}  TITLE")
        for v in items:
            duration = format_duration(v.duration_sec, missing="-", always_hours=True)
            size = format_size(v.file_size_bytes, missing="-")
            ctx.out(f"{safe(v.recorded_at):<21} {safe(v.video_id):<34} {safe(v.status):<10} "
                    f"{duration:>8} {size:>9}  {safe(v.title)}")
    if next_cursor:
        ctx.err(f"more recordings: add --cursor {next_cursor} (or --all)")
    return EXIT_OK


def cmd_get(args: argparse.Namespace, ctx: Context) -> int:
    video = ctx.api.get_video(args.video_id)
    if args.json:
        ctx.json(video_json(video))
        return EXIT_OK
    data = video_json(video)
    data.pop("thumbnailUrl", None)  # long, signed and useless on a terminal
    data["integrity"] = video.integrity  # DESIGN §8 in words: verified / parts checked / not
    width = max(len(k) for k in data)
    for key, value in data.items():
        if value is not None:
            text = json.dumps(value) if isinstance(value, bool) else value  # true/false
            ctx.out(f"{key:<{width}}  {safe(text)}")
    return EXIT_OK


def cmd_delete(args: argparse.Namespace, ctx: Context) -> int:
    api = ctx.api
    if not args.yes:
        if not ctx.stdin.isatty():
            ctx.err("error: refusing to delete without confirmation: pass --yes")
            return EXIT_USAGE
        video = api.get_video(args.video_id)
        answer = input(
            f"Move {safe(video.title or video.video_id)!r} ({video.video_id}, recorded "
            f"{video.recorded_at}) to the Trash? It can be restored until it is purged. [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            ctx.err("Not deleted.")
            return EXIT_ERROR
    api.delete_video(args.video_id)
    ctx.out(f"Moved {safe(args.video_id)} to the Trash "
            f"(undo: medispecs-desktop trash restore {safe(args.video_id)}).")
    return EXIT_OK


def cmd_playback_url(args: argparse.Namespace, ctx: Context) -> int:
    grant = ctx.api.playback_url(args.video_id)
    expires = format_utc(datetime.fromtimestamp(grant.expires_at, UTC))
    if args.json:
        ctx.json({"videoId": args.video_id, "playbackUrl": grant.url, "expiresAt": expires})
    else:
        ctx.out(grant.url)
        ctx.err(f"valid until {expires}")
    return EXIT_OK

