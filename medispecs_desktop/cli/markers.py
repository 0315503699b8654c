"""``medispecs-desktop markers ID [--json]``: the moments marked in a recording.

Each marker is a time in the recording with a short comment and who made it, earliest first
(the player's marker list). Another user's recording is "not found" (exit 5).
"""

from __future__ import annotations

import argparse
from typing import Any

from medispecs_desktop.cli.account import Context, add_command
from medispecs_desktop.cli.main import EXIT_OK
from medispecs_desktop.core.formatting import format_ms

MARKERS_JSON_HELP = (
    'JSON output (--json) is stable: [{"markerId", "videoId", "timeMs", "text", "author", '
    '"createdAt", "updatedAt", "version"}, ...] earliest first; times UTC '
    "(YYYY-MM-DDTHH:MM:SSZ), author null when unknown."
)


def register(subparsers: Any) -> None:
    add_command(subparsers, "markers", cmd_markers, "list the moments marked in a recording",
                "List the markers of a recording (a time with a short comment), earliest "
                f"first. {MARKERS_JSON_HELP}", video_id=True, json=True)


def format_time(ms: int) -> str:
    """``1:02.345``: the position to the millisecond, as the player shows it."""
    return f"{format_ms(ms)}.{ms % 1000:03d}"


def cmd_markers(args: argparse.Namespace, ctx: Context) -> int:
    markers = ctx.api.list_markers(args.video_id)
    if args.json:
        ctx.json([m.to_json() for m in markers])
        return EXIT_OK
    if not markers:
        ctx.err("no markers")
        return EXIT_OK
    width = max(len(format_time(m.time_ms)) for m in markers)
    for m in markers:
        ctx.out(f"{format_time(m.time_ms):>{width}}  {m.text or '-'}  "
                f"({m.author or 'unknown'}, {m.updated_at or m.created_at or '-'})")
    return EXIT_OK
