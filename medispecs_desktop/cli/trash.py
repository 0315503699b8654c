"""``medispecs-desktop trash list [--json] | restore ID | purge ID --yes``: the Trash.

``delete ID`` moves a recording to the Trash; it stays restorable until its purge date (30 days
by default, the deployment's ``TrashRetentionDays``), then the service deletes it for good.
``purge`` deletes it for good now, after a confirmation (``--yes`` for scripts).
"""

from __future__ import annotations

import argparse
from typing import Any

from medispecs_desktop.cli.account import EXIT_HELP, KEYRING_HELP, Context, _runner, video_json
from medispecs_desktop.cli.main import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from medispecs_desktop.cli.output import safe

TRASH_JSON_HELP = (
    'JSON output (--json) is stable: {"items": [video, ...]} most recently deleted first, each '
    "video as `list --json` prints it plus trashedAt and purgeAt (UTC 'YYYY-MM-DDTHH:MM:SSZ')."
)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "trash", help="list, restore or delete forever recordings in the Trash",
        description="Deleted recordings wait in the Trash until their purge date, then the "
                    "service deletes them for good. Restore one, or delete it forever now.",
        epilog=f"{EXIT_HELP} {KEYRING_HELP}",
    )
    sub = parser.add_subparsers(dest="trash_command", metavar="ACTION", required=True)

    listing = sub.add_parser("list", help="list the Trash, most recently deleted first",
                             description=f"List the Trash. {TRASH_JSON_HELP}",
                             epilog=EXIT_HELP)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_runner(cmd_trash_list))

    restore = sub.add_parser("restore", help="put a recording back in the library",
                             description="Put a recording from the Trash back in the library.",
                             epilog=EXIT_HELP)
    restore.add_argument("video_id", metavar="ID")
    restore.set_defaults(func=_runner(cmd_trash_restore))

    purge = sub.add_parser(
        "purge", help="delete a recording in the Trash forever",
        description="Delete a recording in the Trash forever: its video (every stored "
                    "version), thumbnail and record. This cannot be undone. Asks for "
                    "confirmation on a terminal; scripts must pass --yes.",
        epilog=EXIT_HELP,
    )
    purge.add_argument("video_id", metavar="ID")
    purge.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    purge.set_defaults(func=_runner(cmd_trash_purge))


def cmd_trash_list(args: argparse.Namespace, ctx: Context) -> int:
    items = list(ctx.api.iter_trash())
    if args.json:
        ctx.json({"items": [video_json(v) for v in items]})
        return EXIT_OK
    if not items:
        ctx.out("The Trash is empty.")
        return EXIT_OK
    ctx.out(f"{'DELETED (UTC)':<21} {'PURGED AFTER (UTC)':<21} {'VIDEO ID':<34}  TITLE")
    for v in items:
        ctx.out(f"{v.extra.get('trashedAt', '-'):<21} {v.extra.get('purgeAt', '-'):<21} "
                f"{v.video_id:<34}  {safe(v.title)}")
    return EXIT_OK


def cmd_trash_restore(args: argparse.Namespace, ctx: Context) -> int:
    video = ctx.api.restore_video(args.video_id)
    ctx.out(f"Restored {video.video_id} ({safe(video.title)!r}) to the library.")
    return EXIT_OK


def cmd_trash_purge(args: argparse.Namespace, ctx: Context) -> int:
    api = ctx.api
    if not args.yes:
        if not ctx.stdin.isatty():
            ctx.err("error: refusing to delete forever without confirmation: pass --yes")
            return EXIT_USAGE
        answer = input(f"Delete {safe(args.video_id)} forever (its video, thumbnail and record)? "
                       "This cannot be undone. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            ctx.err("Not deleted.")
            return EXIT_ERROR
    api.purge_video(args.video_id)
    ctx.out(f"Deleted {safe(args.video_id)} forever.")
    return EXIT_OK
