"""Human-readable sizes, durations and local times, shared by the app and the CLI (Qt-free).

Sizes use decimal units (1 KB = 1000 bytes), as file managers and the S3 console show them.
Every function takes ``None`` for "unknown" and returns ``missing`` then (``""`` in the app's
tables, ``"-"`` in the CLI's columns).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from medispecs_desktop.core.models import parse_utc

SIZE_UNITS = ("B", "KB", "MB", "GB")


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``count`` and the noun that agrees with it: ``plural(1, "clip")`` is "1 clip",
    ``plural(3, "clip")`` "3 clips", ``plural(2, "copy", "copies")`` "2 copies". The one
    place the app and the CLI make plurals (English: 1 is singular, 0 and the rest plural)."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def agree(count: int, singular: str, many: str) -> str:
    """The word that agrees with ``count``: ``agree(1, "is", "are")`` is "is"; a verb
    after a plural noun, ``f"{plural(n, 'clip')} still {agree(n, 'needs', 'need')}"``."""
    return singular if count == 1 else many


def format_size(size: float | None, *, missing: str = "") -> str:
    """``999 B``, ``1.5 KB``, ``12.3 MB``, ``2.0 GB``; sizes past GB stay in GB (``1500.0 GB``)."""
    if size is None:
        return missing
    value = float(size)
    for unit in SIZE_UNITS[:-1]:
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} {SIZE_UNITS[-1]}"


def format_clock(total_seconds: int, *, always_hours: bool = False) -> str:
    """Whole seconds as ``M:SS``, or ``H:MM:SS`` from one hour on (or always with
    ``always_hours``); negative values count as 0."""
    hours, rest = divmod(max(0, int(total_seconds)), 3600)
    minutes, seconds = divmod(rest, 60)
    if hours or always_hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


def format_duration(
    seconds: float | None, *, missing: str = "", always_hours: bool = False
) -> str:
    """A duration in seconds, rounded to the nearest second, as :func:`format_clock` shows it."""
    if seconds is None:
        return missing
    return format_clock(round(seconds), always_hours=always_hours)


def format_ms(ms: int) -> str:
    """A media position in milliseconds (whole seconds elapsed, as players count them)."""
    return format_clock(max(0, int(ms)) // 1000)


def format_local_time(utc: str | None, *, missing: str = "") -> str:
    """A UTC ``YYYY-MM-DDTHH:MM:SSZ`` as local ``YYYY-MM-DD HH:MM``; text that is not such a
    time is returned as it is (never lost)."""
    if not utc:
        return missing
    try:
        return parse_utc(utc).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return utc


def format_speed(bps: float | None) -> str:
    """A transfer rate (``12.3 MB/s``); "" when nothing moves."""
    if not bps or bps <= 0:
        return ""
    return f"{format_size(bps)}/s"


def format_finish(eta_seconds: float | None, now: datetime) -> str:
    """The local clock time at which something ``eta_seconds`` from ``now`` ends."""
    if eta_seconds is None or eta_seconds < 0:
        return ""
    try:
        end = now + timedelta(seconds=eta_seconds)
    except OverflowError:
        return ""
    if end.date() == now.date():
        return end.strftime("%H:%M:%S" if eta_seconds < 60 else "%H:%M")
    if end - now < timedelta(days=7):
        return end.strftime("%a %H:%M")
    return end.strftime("%Y-%m-%d %H:%M")
