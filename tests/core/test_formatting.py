"""The human formatting helpers the app's tables, the player and the CLI share."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from medispecs_desktop.core.formatting import (
    format_clock,
    format_duration,
    format_local_time,
    format_ms,
    format_size,
)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1.0 KB"),
        (1536, "1.5 KB"),
        (999_949, "999.9 KB"),
        (12_345_678, "12.3 MB"),
        (2_000_000_000, "2.0 GB"),
        (20 * 1000**4, "20000.0 GB"),  # past GB it stays in GB
        (1.5e6, "1.5 MB"),
    ],
)
def test_format_size(size: float, text: str) -> None:
    assert format_size(size) == text


def test_format_size_unknown_shows_the_missing_text() -> None:
    assert format_size(None) == ""
    assert format_size(None, missing="-") == "-"


@pytest.mark.parametrize(
    ("seconds", "text", "with_hours"),
    [
        (0, "0:00", "0:00:00"),
        (59.4, "0:59", "0:00:59"),
        (59.6, "1:00", "0:01:00"),
        (61, "1:01", "0:01:01"),
        (3599, "59:59", "0:59:59"),
        (3600, "1:00:00", "1:00:00"),
        (36_061, "10:01:01", "10:01:01"),
    ],
)
def test_format_duration(seconds: float, text: str, with_hours: str) -> None:
    assert format_duration(seconds) == text
    assert format_duration(seconds, always_hours=True) == with_hours


def test_format_duration_unknown_shows_the_missing_text() -> None:
    assert format_duration(None) == ""
    assert format_duration(None, missing="-", always_hours=True) == "-"


def test_format_clock_and_ms() -> None:
    assert format_clock(-5) == "0:00"
    assert format_clock(75) == "1:15"
    assert format_clock(75, always_hours=True) == "0:01:15"
    assert format_ms(0) == "0:00"
    assert format_ms(-1) == "0:00"
    assert format_ms(1_999) == "0:01"  # whole seconds elapsed, not rounded
    assert format_ms(3_600_000) == "1:00:00"
    assert format_ms(5_025_500) == "1:23:45"


def test_format_local_time_converts_utc_to_local() -> None:
    moment = datetime(2025, 11, 3, 14, 30, 59, tzinfo=UTC)
    expected = moment.astimezone().strftime("%Y-%m-%d %H:%M")
    assert format_local_time("2025-11-03T14:30:59Z") == expected
    assert format_local_time("2025-11-03T15:30:59+01:00") == expected


def test_format_local_time_keeps_bad_text_and_unknowns() -> None:
    assert format_local_time("not a date") == "not a date"  # shown as it is, never lost
    assert format_local_time(None) == ""
    assert format_local_time("") == ""
    assert format_local_time(None, missing="-") == "-"


def test_formatting_is_qt_free() -> None:
    import subprocess
    import sys

    code = (
        "import sys, medispecs_desktop.core.formatting; "
        "sys.exit(1 if any(m.startswith('PySide6') for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
