"""A recording's title from its file name, as the service stores it (Qt-free).

The service strips control characters from titles and shortens those over ``TITLE_MAX_CHARS``
(``backend/validation.py``; the core and the backend share no code). The client does the same
before it sends one, so a file whose stem is longer than the limit is uploaded under a shortened
title instead of being refused, and the title the app shows is the title stored.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["TITLE_MAX_CHARS", "title_from_file_name"]

TITLE_MAX_CHARS = 200

_ESCAPES = re.compile("\x1b\\[[0-?]*[ -/]*[@-~]|\x1b\\][^\x07\x1b]*(?:\x07|\x1b\\\\)?|\x1b[@-_]")
_SPACES = re.compile("[\t\n\r\x0b\x0c\x1c-\x1f\x85\u2028\u2029]+")
_JOINERS = {"\u200c", "\u200d"}


def _belongs_to_previous(char: str) -> bool:
    return (unicodedata.category(char) in ("Mn", "Me") or "\ufe00" <= char <= "\ufe0f"
            or char in _JOINERS or "\U0001f3fb" <= char <= "\U0001f3ff")


def title_from_file_name(stem: str, limit: int = TITLE_MAX_CHARS) -> str:
    """One clean line of at most ``limit`` characters: escape sequences and control
    characters removed, cut (ending in "…") where no character is parted from its marks."""
    text = _SPACES.sub(" ", _ESCAPES.sub("", stem))
    text = "".join(c for c in text if unicodedata.category(c) != "Cc").strip() or "Untitled"
    if len(text) <= limit:
        return text
    cut = limit - 1
    while cut > 0 and (_belongs_to_previous(text[cut]) or text[cut - 1] in _JOINERS):
        cut -= 1
    return text[:cut].rstrip() + "…"
