"""Validation of everything a client sends: ids, dates, limits, JSON bodies.

All failures raise ``BadRequest`` with a precise code and message; nothing here touches AWS.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any, Literal

from .errors import BadRequest

__all__ = [
    "CONTENT_TYPE_EXTENSIONS",
    "DEFAULT_CONTENT_TYPE",
    "Field",
    "extension_for",
    "format_utc",
    "parse_bound",
    "parse_limit",
    "parse_recorded_at",
    "shorten_text",
    "strip_controls",
    "validate_checksum_b64",
    "validate_object",
    "validate_upload_id",
    "validate_user_id",
    "validate_video_id",
]

VIDEO_ID_RE = re.compile(r"^v_[A-Za-z0-9_-]{1,62}$")
USER_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+=:-]{0,127}$")
# S3 upload ids are opaque URL-safe strings (letters, digits, . _ -); moto's are alphanumeric.
UPLOAD_ID_RE = re.compile(r"^[A-Za-z0-9._~=+-]{1,1024}$")
SHA256_HEX_RE = re.compile(r"^[0-9a-fA-F]{64}$")
FINGERPRINT_RE = re.compile(r"^[0-9]{1,20}:[0-9a-fA-F]{64}$")

DEFAULT_CONTENT_TYPE = "video/mp4"
CONTENT_TYPE_EXTENSIONS: dict[str, str] = {
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/x-m4v": "m4v",
    "video/x-matroska": "mkv",
    "video/webm": "webm",
    "video/x-msvideo": "avi",
    "video/mp2t": "ts",
    "video/3gpp": "3gp",
    "application/octet-stream": "mp4",
}


def validate_video_id(value: object) -> str:
    if not isinstance(value, str) or not VIDEO_ID_RE.match(value):
        raise BadRequest(
            "videoId must be 'v_' followed by 1-62 letters, digits, '_' or '-'",
            code="invalid_video_id",
        )
    return value


def validate_user_id(value: object) -> str:
    if not isinstance(value, str) or not USER_ID_RE.match(value):
        raise BadRequest(
            "userId must be 1-128 letters, digits or _ . @ + = : - (starting with a letter or "
            "digit)",
            code="invalid_user_id",
        )
    return value


def validate_upload_id(value: object) -> str:
    if not isinstance(value, str) or not UPLOAD_ID_RE.match(value):
        raise BadRequest("uploadId is not a valid multipart upload id", code="invalid_upload_id")
    return value


def validate_checksum_b64(value: object, field: str) -> str:
    """A base64 SHA-256 digest as S3 wants it (44 characters, 32 bytes)."""
    if isinstance(value, str) and len(value) == 44:
        try:
            if len(base64.b64decode(value, validate=True)) == 32:
                return value
        except (binascii.Error, ValueError):
            pass
    raise BadRequest(
        f"{field} must be the base64 encoding of a 32-byte SHA-256 digest", code="invalid_checksum"
    )


def extension_for(content_type: str | None) -> str:
    """The S3 key extension for a video content type (``None`` -> mp4)."""
    if content_type is None:
        return "mp4"
    ext = CONTENT_TYPE_EXTENSIONS.get(content_type.strip().lower())
    if ext is None:
        allowed = ", ".join(sorted(CONTENT_TYPE_EXTENSIONS))
        raise BadRequest(
            f"unsupported content type {content_type!r}; use one of: {allowed}",
            code="unsupported_content_type",
        )
    return ext


# --------------------------------------------------------------------------- dates

def format_utc(moment: datetime) -> str:
    """Fixed-width ``YYYY-MM-DDTHH:MM:SSZ`` (zero-padded years too, so keys sort by time)."""
    m = moment.astimezone(UTC)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"
    )


_ISO_CHARS_RE = re.compile(r"^[0-9A-Za-z:.,+\- ]+$")
"""What an ISO 8601 date-time can hold: ASCII only (``fromisoformat`` would also take a NUL or
other separators in some positions)."""


def _parse_iso(value: str, field: str) -> datetime:
    text = value.strip()
    if not text or len(text) > 64 or not _ISO_CHARS_RE.match(text):
        raise BadRequest(f"{field} must be an ISO 8601 date-time", code="invalid_date")
    if text[-1] in "zZ":
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"{field} must be an ISO 8601 date-time such as 2025-11-03T14:30:00Z, got {value!r}",
            code="invalid_date",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # the API speaks UTC
    try:
        utc = parsed.astimezone(UTC)
    except OverflowError:
        raise BadRequest(f"{field} is out of range", code="invalid_date") from None
    return utc


def parse_recorded_at(value: object) -> str:
    """Normalise ``recordedAt`` to UTC ``YYYY-MM-DDTHH:MM:SSZ`` (fractions dropped)."""
    if not isinstance(value, str):
        raise BadRequest("recordedAt must be a string", code="invalid_date")
    return format_utc(_parse_iso(value, "recordedAt"))


_DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
"""What OpenAPI's ``format: date-time`` means (RFC 3339): the API's documented filters."""


def parse_bound(value: str, field: str, *, end: bool) -> str:
    """A ``from``/``to`` filter: a date (whole day, inclusive) or an RFC 3339 date-time,
    exactly as the OpenAPI file says (``format: date`` or ``format: date-time``)."""
    text = value.strip()
    if not _DATE_ONLY_RE.match(text) and not _RFC3339_RE.match(text):
        raise BadRequest(f"{field} must be a date (YYYY-MM-DD) or an RFC 3339 date-time "
                         f"such as 2025-11-03T14:30:00Z, got {value!r}", code="invalid_date")
    if _DATE_ONLY_RE.match(text):
        try:
            day = datetime.strptime(text, "%Y-%m-%d").date()
        except ValueError:
            msg = f"{field} is not a valid date: {value!r}"
            raise BadRequest(msg, code="invalid_date") from None
        moment = datetime.combine(day, time(23, 59, 59) if end else time(0, 0, 0), tzinfo=UTC)
        return format_utc(moment)
    return format_utc(_parse_iso(text, field))


def parse_limit(raw: str | None, *, default: int = 50, maximum: int = 100) -> int:
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not text.isdigit() or len(text) > 6:
        raise BadRequest(f"limit must be an integer 1..{maximum}", code="invalid_limit")
    limit = int(text)
    if not 1 <= limit <= maximum:
        raise BadRequest(f"limit must be an integer 1..{maximum}", code="invalid_limit")
    return limit


# --------------------------------------------------------------------------- text

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_LINE_CONTROLS_RE = re.compile("[\t\n\r\x0b\x0c\x1c-\x1f\x85\u2028\u2029]+")
_JOINERS = {"\u200c", "\u200d"}  # ZWNJ, ZWJ
_ESCAPE_SEQUENCE_RE = re.compile(
    "\x1b\\[[0-?]*[ -/]*[@-~]"  # CSI (colours, cursor moves)
    "|\x1b\\][^\x07\x1b]*(?:\x07|\x1b\\\\)?"  # OSC (window title, hyperlinks)
    "|\x1b[@-_]"  # other two-character escapes
)


def strip_controls(text: str) -> str:
    """A title as one clean line: terminal escape sequences are dropped whole, line and tab
    controls become a space, every other control character (C0, DEL, C1) is dropped, and the
    ends are trimmed."""
    spaced = _LINE_CONTROLS_RE.sub(" ", _ESCAPE_SEQUENCE_RE.sub("", text))
    return "".join(c for c in spaced if unicodedata.category(c) != "Cc").strip()


def _continues(char: str) -> bool:
    """True for a character that belongs to the one before it (a combining mark, a variation
    selector, a zero-width joiner): a cut must not fall just before it."""
    return (unicodedata.combining(char) > 0 or unicodedata.category(char) in ("Mn", "Me")
            or "\ufe00" <= char <= "\ufe0f" or char in _JOINERS
            or "\U0001f3fb" <= char <= "\U0001f3ff")  # skin-tone modifiers


def shorten_text(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: cut on a character boundary that does not
    split a base character from its combining marks (or an emoji sequence), and end with
    "…" when shortened."""
    if len(text) <= limit:
        return text
    cut = limit - 1
    while cut > 0 and (_continues(text[cut]) or text[cut - 1] in _JOINERS):
        cut -= 1
    return text[:cut].rstrip() + "…"


# --------------------------------------------------------------------------- JSON bodies

Kind = Literal["str", "int", "number", "bool", "true"]


@dataclass(frozen=True, slots=True)
class Field:
    kind: Kind
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    min_len: int = 0
    max_len: int | None = None
    pattern: re.Pattern[str] | None = None
    choices: tuple[str, ...] | None = None
    title: bool = False
    """A title: control characters stripped (nothing left: "Untitled"), longer than
    ``max_len`` shortened - never refused for its length (a file name becomes the title)."""


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _check(name: str, spec: Field, value: object) -> Any:
    def fail(expected: str) -> BadRequest:
        return BadRequest(
            f"'{name}' must be {expected}, got {_type_name(value)}", code="validation_error"
        )

    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise fail("a boolean")
        return value
    if spec.kind == "true":
        if value is not True:
            raise BadRequest(f"'{name}' may only be true", code="validation_error")
        return value
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail("an integer")
        if isinstance(value, float):
            if not value.is_integer():
                raise fail("an integer")
            value = int(value)
    elif spec.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail("a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise fail("a finite number")
    elif spec.kind == "str":
        if not isinstance(value, str):
            raise fail("a string")
        if _SURROGATE_RE.search(value):  # a lone surrogate ("\ud800") is no Unicode text
            raise BadRequest(f"'{name}' must be valid Unicode text (it holds a lone "
                             "surrogate)", code="validation_error")
        if spec.title:
            value = strip_controls(value) or ("Untitled" if value else "")
            if spec.max_len is not None:
                value = shorten_text(value, spec.max_len)
        if len(value) < spec.min_len:
            raise BadRequest(
                f"'{name}' must not be empty" if spec.min_len == 1
                else f"'{name}' must be at least {spec.min_len} characters",
                code="validation_error",
            )
        if spec.max_len is not None and len(value) > spec.max_len:
            raise BadRequest(
                f"'{name}' must be at most {spec.max_len} characters", code="validation_error"
            )
        if spec.pattern is not None and not spec.pattern.match(value):
            raise BadRequest(f"'{name}' has an invalid format", code="validation_error")
        if spec.choices is not None and value not in spec.choices:
            raise BadRequest(
                f"'{name}' must be one of {', '.join(spec.choices)}", code="validation_error"
            )
        return value
    assert isinstance(value, int | float)
    if spec.minimum is not None and value < spec.minimum:
        raise BadRequest(f"'{name}' must be >= {spec.minimum:g}", code="validation_error")
    if spec.maximum is not None and value > spec.maximum:
        raise BadRequest(f"'{name}' must be <= {spec.maximum:g}", code="validation_error")
    return value


def validate_object(
    body: Mapping[str, Any], fields: Mapping[str, Field], *, ignore: tuple[str, ...] = (),
    null_is_absent: bool = True,
) -> dict[str, Any]:
    """Check ``body`` against ``fields``: unknown fields, missing required ones and wrong types
    are 400 ``validation_error``. ``null`` counts as absent (``null_is_absent``: the OpenAPI
    file marks those fields nullable), or is a 400 (an edit: null is no value to set).
    Returns the present fields."""
    unknown = sorted(k for k in body if k not in fields and k not in ignore)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}", code="unknown_field")
    out: dict[str, Any] = {}
    for name, spec in fields.items():
        value = body.get(name)
        if value is None and name in body and not null_is_absent:
            raise BadRequest(f"'{name}' must not be null", code="validation_error")
        if value is None:
            if spec.required:
                raise BadRequest(f"'{name}' is required", code="validation_error")
            continue
        out[name] = _check(name, spec, value)
    return out
