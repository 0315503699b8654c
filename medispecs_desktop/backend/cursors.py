"""Opaque page cursors of the listings (the library, the Trash): a ``LastEvaluatedKey`` as
base64 JSON, checked on the way back in so a tampered or foreign cursor is a 400, never another
user's page."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from . import schema
from .errors import BadRequest

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(key: Mapping[str, Any]) -> str:
    """Opaque cursor for a ``LastEvaluatedKey`` (plain PK/SK strings)."""
    payload = json.dumps({"PK": key["PK"], "SK": key["SK"]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(
    cursor: str, *, pk: str, low: str, high: str, prefix: str = schema.VIDEO_SK_PREFIX
) -> dict[str, str]:
    """Decode and check a cursor: it must name the caller's partition and a key starting with
    ``prefix`` (a video, or a Trash entry) inside the requested range, else 400
    ``invalid_cursor`` (a tampered or foreign cursor)."""

    def bad() -> BadRequest:
        return BadRequest("cursor is invalid or belongs to another listing", code="invalid_cursor")

    if not cursor or len(cursor) > 2048:
        raise bad()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad() from None
    if not isinstance(data, dict) or set(data) != {"PK", "SK"}:
        raise bad()
    cpk, csk = data["PK"], data["SK"]
    if not isinstance(cpk, str) or not isinstance(csk, str):
        raise bad()
    if cpk != pk or not csk.startswith(prefix) or not low <= csk <= high:
        raise bad()
    return {"PK": cpk, "SK": csk}
