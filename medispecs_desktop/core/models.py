"""Typed records exchanged with the videos API."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

VIDEO_STATUSES = ("pending", "uploaded", "processing", "ready", "error")


def parse_utc(value: str) -> datetime:
    """Parse the API's UTC timestamps (``YYYY-MM-DDTHH:MM:SSZ`` or any ISO 8601 with offset)."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_utc(moment: datetime) -> str:
    """Format a datetime as the API's canonical UTC string."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_API_NAMES: dict[str, str] = {
    "video_id": "videoId",
    "title": "title",
    "recorded_at": "recordedAt",
    "status": "status",
    "user_id": "userId",
    "device_id": "deviceId",
    "notes": "notes",
    "s3_key": "s3Key",
    "thumbnail_s3_key": "thumbnailS3Key",
    "thumbnail_url": "thumbnailUrl",
    "duration_sec": "durationSec",
    "file_size_bytes": "fileSizeBytes",
    "mime_type": "mimeType",
    "sha256": "sha256",
    "fingerprint": "fingerprint",
    "width": "width",
    "height": "height",
    "codec": "codec",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
    "version": "version",
}


@dataclass(frozen=True, slots=True)
class Video:
    """One recording as the API describes it."""

    video_id: str
    title: str
    recorded_at: str
    status: str
    user_id: str = ""
    device_id: str | None = None
    notes: str | None = None
    s3_key: str | None = None
    thumbnail_s3_key: str | None = None
    thumbnail_url: str | None = None
    duration_sec: float | None = None
    file_size_bytes: int | None = None
    mime_type: str | None = None
    sha256: str | None = None
    fingerprint: str | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


    @property
    def recorded_at_dt(self) -> datetime:
        return parse_utc(self.recorded_at)

    @property
    def has_bytes(self) -> bool:
        """True when the API confirmed the object is in S3."""
        return self.status in ("uploaded", "processing", "ready")

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Video:
        kwargs: dict[str, Any] = {}
        known = set()
        for attr, api_name in _API_NAMES.items():
            known.add(api_name)
            if api_name in data and data[api_name] is not None:
                kwargs[attr] = data[api_name]
        for name in ("duration_sec",):
            if name in kwargs:
                kwargs[name] = float(kwargs[name])
        for name in ("file_size_bytes", "width", "height", "version"):
            if name in kwargs:
                kwargs[name] = int(kwargs[name])
        kwargs.setdefault("title", "")
        kwargs.setdefault("status", "pending")
        kwargs.setdefault("recorded_at", "1970-01-01T00:00:00Z")
        kwargs["extra"] = {k: v for k, v in data.items() if k not in known}
        return cls(**kwargs)

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is not None:
                out[_API_NAMES[f.name]] = value
        out.update(self.extra)
        return out
