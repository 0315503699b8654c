"""``medispecs-desktop history ID [--limit N | --all] [--json]``: who accessed a recording.

The recording's audit trail as the service keeps it (every list that named it, get, playback
URL, edit, delete, restore, purge, and each reading of the history itself), newest first. Only the
recording's owner may read it; another user's recording is "not found" (exit 5).
"""

from __future__ import annotations

import argparse
from typing import Any

from medispecs_desktop.cli.account import Context, add_command, bounded_int
from medispecs_desktop.cli.main import EXIT_OK
from medispecs_desktop.cli.output import safe

HISTORY_JSON_HELP = (
    'JSON output (--json) is stable: [{"at", "action", "userId", "username", "sourceIp", '
    '"userAgent"}, ...] newest first; "at" is UTC with milliseconds '
    "(YYYY-MM-DDTHH:MM:SS.mmmZ), username, sourceIp and userAgent are null when unknown."
)


def register(subparsers: Any) -> None:
    parser = add_command(
        subparsers, "history", cmd_history, "show who accessed a recording (its audit trail)",
        "Show who accessed a recording, newest first: when, what (list, get, playback, edit, "
        "delete, list_trash, restore, purge, history), who and from where. "
        f"{HISTORY_JSON_HELP}", video_id=True, json=True)
    parser.add_argument("--limit", type=bounded_int(1000), default=100, metavar="N",
                        help="at most N events, 1..1000 (default 100)")
    parser.add_argument("--all", action="store_true", help="every event, however many")


def cmd_history(args: argparse.Namespace, ctx: Context) -> int:
    api = ctx.api
    if args.all:
        events = list(api.iter_history(args.video_id))
    else:
        events = api.history(args.video_id, limit=args.limit)
    if args.json:
        ctx.json([e.to_json() for e in events])
        return EXIT_OK
    for e in events:
        who = f"{e.username} ({e.user_id})" if e.username else e.user_id
        ctx.out(f"{safe(e.at):<24}  {safe(e.action):<15}  {safe(who)}  "
                f"from {safe(e.source_ip or '-')}  {safe(e.user_agent or '-')}")
    if not args.all and len(events) == args.limit:
        ctx.err("more events may be older: add --all")
    return EXIT_OK
