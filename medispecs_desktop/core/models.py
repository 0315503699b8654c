"""Typed records exchanged with the videos API."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

VIDEO_STATUSES = ("pending", "uploaded", "processing", "ready", "error")

#: How the server verified a record's bytes (``sha256VerifiedBy``): ``crc64nvme`` (S3 accepted
#: the full-object CRC64NVME computed from the file in the same read as its SHA-256, any size),
#: ``checksum`` (S3's full-object SHA-256 of a single PUT), ``read`` (older records: read back
#: and hashed), ``parts`` (older records, not compared: S3 verified every part) or ``none``.
SHA256_VERIFIED_BY = ("crc64nvme", "checksum", "read", "parts", "none")

#: The integrity line the library and the CLI show for a record (see :attr:`Video.integrity`).
INTEGRITY_VERIFIED = "verified (SHA-256 checked in the cloud)"
INTEGRITY_PARTS = "parts checked (the whole file's SHA-256 was not compared)"
INTEGRITY_NOT_VERIFIED = "not verified"


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
    "sha256_verified": "sha256Verified",
    "sha256_verified_by": "sha256VerifiedBy",
    "verified_at": "verifiedAt",
    "damaged": "damaged",
    "damaged_reason": "damagedReason",
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
    sha256_verified: bool | None = None  # None: the server did not say (older record, pending)
    sha256_verified_by: str | None = None  # one of SHA256_VERIFIED_BY
    verified_at: str | None = None  # UTC, when the server matched the SHA-256
    # kept on the user's word although the file is a damaged recording (truncated, broken)
    damaged: bool | None = None
    damaged_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def recorded_at_dt(self) -> datetime:
        return parse_utc(self.recorded_at)

    @property
    def has_bytes(self) -> bool:
        """True when the API confirmed the object is in S3 (a recording kept as damaged too,
        when the server's processing could not read it: its bytes are there to try)."""
        return self.status in ("uploaded", "processing", "ready") or (
            self.status == "error" and self.damaged is True)

    @property
    def integrity(self) -> str:
        """DESIGN §8 in one phrase: the whole-file SHA-256 was checked in the cloud, only the
        parts were (too large to read back), or nothing was."""
        if self.sha256_verified is True and self.sha256:
            return INTEGRITY_VERIFIED
        if self.sha256_verified_by == "parts":
            return INTEGRITY_PARTS
        return INTEGRITY_NOT_VERIFIED

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
        # Only a JSON boolean says "verified" (a string "false" must never read as true). A value
        # of the wrong type stays in ``extra`` (round-trips unchanged) and counts as unverified.
        typed: tuple[tuple[str, str, type], ...] = (
            ("sha256_verified", "sha256Verified", bool),
            ("sha256_verified_by", "sha256VerifiedBy", str),
            ("verified_at", "verifiedAt", str),
            ("damaged", "damaged", bool),
            ("damaged_reason", "damagedReason", str),
        )
        for name, api_name, kind in typed:
            if name in kwargs and not isinstance(kwargs[name], kind):
                del kwargs[name]
                known.discard(api_name)
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
