"""Safe terminal output: what came from a file name or the server never drives the terminal.

File names become titles, and titles, notes, error messages and file paths reach the terminal.
A name with ESC/OSC sequences (``\\x1b]0;...\\x07`` retitles the window, ``\\x1b[2J`` clears it,
OSC 52 writes the clipboard), a newline (a fake second line) or a bidi override (text shown
backwards) must print as visible escapes instead. Every command prints such values through
:func:`safe`; ``--json`` output goes through :func:`dumps_json`, which stays valid JSON and
escapes the characters JSON itself would leave raw (DEL, C1 controls, bidi controls, lone
surrogates).
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["dumps_json", "dumps_json_listing", "json_list_item", "safe"]

# C0 and C1 controls and DEL; zero-width and bidi formatting characters; BOM; lone surrogates
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff"
    "\ud800-\udfff]"
)
_JSON_UNSAFE = re.compile(
    "[\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def safe(value: object) -> str:
    """``value`` as text with every control/formatting character shown as an escape
    (``\\x1b``, ``\\n``, ``\\u202e``); printable text, accents and emoji unchanged."""
    return _UNSAFE.sub(_escape, str(value))


def dumps_json(value: Any) -> str:
    """Indented JSON (UTF-8 text kept readable) with no raw control or bidi character."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_list_item(value: Any) -> str:
    """``value`` as it appears inside ``{"items": [...]}`` in :func:`dumps_json`'s output
    (indented two levels), encoded on its own: a long listing is encoded item by item while
    its next page is on its way."""
    return "\n".join("    " + line for line in dumps_json(value).split("\n"))


def dumps_json_listing(items: list[str], next_cursor: str | None) -> str:
    """``dumps_json({"items": [...], "nextCursor": next_cursor})`` from items already encoded by
    :func:`json_list_item` (the same text)."""
    body = "[\n" + ",\n".join(items) + "\n  ]" if items else "[]"
    return f'{{\n  "items": {body},\n  "nextCursor": {dumps_json(next_cursor)}\n}}'
