"""What every route module shares: the ``Result`` a handler answers and the small readers of
request bodies, path parameters and expiry times."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest
from ..validation import format_utc, validate_video_id

if TYPE_CHECKING:
    from ..events import Request

__all__ = ["Result", "body", "expiry", "list_field", "objects", "path_video_id"]


@dataclass(slots=True)
class Result:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def body(req: Request) -> dict[str, Any]:
    """The JSON object body without ``userId`` (the handler checked it against the caller)."""
    out = dict(req.json_object())
    out.pop("userId", None)
    return out


def path_video_id(req: Request) -> str:
    return validate_video_id(req.path_parameters.get("videoId"))


def expiry(now: float, seconds: int) -> tuple[int, str]:
    """``(expiresIn, expiresAt)`` of a URL signed at ``now`` for ``seconds``."""
    return seconds, format_utc(datetime.fromtimestamp(now + seconds, UTC))


def list_field(data: Mapping[str, Any], name: str, *, maximum: int, required: bool) -> list[Any]:
    value = data.get(name)
    if value is None:
        if required:
            raise BadRequest(f"'{name}' is required", code="validation_error")
        return []
    if not isinstance(value, list):
        raise BadRequest(f"'{name}' must be an array", code="validation_error")
    if len(value) > maximum:
        raise BadRequest(f"'{name}' may hold at most {maximum} entries", code="too_many_items")
    return value


def objects(values: list[Any], name: str) -> list[Mapping[str, Any]]:
    for v in values:
        if not isinstance(v, dict):
            raise BadRequest(f"every entry of '{name}' must be an object", code="validation_error")
    return values
