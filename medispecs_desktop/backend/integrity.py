"""Integrity and status rules of a recording (DESIGN §8 "verified in cloud").

- :func:`verify`: the verification attributes of a record from what S3 reports about its object
  (never by reading it back); a claim S3 contradicts is :class:`ChecksumMismatch`.
- :func:`upload_status`: the one rule that says whether uploaded bytes are ``ready`` or only
  ``uploaded`` (used on confirmation, at create, when a thumbnail is attached).
- :func:`crc64nvme_b64`: a CRC64NVME as S3 wants it (input check shared by the routes).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from .errors import BadRequest, Conflict
from .logs import logger
from .storage import ObjectInfo

__all__ = [
    "VERIFIED_BY_CHECKSUM",
    "VERIFIED_BY_CRC64NVME",
    "VERIFIED_BY_NONE",
    "VERIFIED_BY_PARTS",
    "VERIFIED_BY_READ",
    "ChecksumMismatch",
    "crc64nvme_b64",
    "upload_status",
    "verify",
]

VERIFIED_BY_CRC64NVME = "crc64nvme"
"""S3 accepted (and reports) the full-object CRC64NVME the client computed from the file, in
the same pass as the SHA-256 recorded beside it. Any size."""
VERIFIED_BY_CHECKSUM = "checksum"
"""S3's stored full-object SHA-256 (a single PUT with a signed checksum) equals the claim."""
VERIFIED_BY_READ = "read"
"""The server read the object and hashed it (older handlers; the processing's SHA-256 step)."""
VERIFIED_BY_PARTS = "parts"
"""Not compared, but S3 verified every part's signed SHA-256 (older multipart records)."""
VERIFIED_BY_NONE = "none"
"""Not compared: S3 reports no whole-object checksum that matches a claim."""


class ChecksumMismatch(Conflict):
    """The object in S3 is not the file the client hashed (409 ``checksum_mismatch``)."""

    default_code = "checksum_mismatch"


def crc64nvme_b64(value: object, field: str) -> str:
    """A base64 CRC64NVME as S3 wants it (12 characters, 8 bytes)."""
    if isinstance(value, str) and len(value) == 12:
        try:
            if len(base64.b64decode(value, validate=True)) == 8:
                return value
        except (binascii.Error, ValueError):
            pass
    raise BadRequest(
        f"{field} must be the base64 encoding of an 8-byte CRC64NVME", code="invalid_checksum"
    )


def _b64_to_hex(value: str) -> str | None:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


def upload_status(record: Mapping[str, Any], *, has_thumbnail: bool) -> str:
    """``ready`` once uploaded bytes have a thumbnail and a duration, else ``uploaded``."""
    return "ready" if has_thumbnail and record.get("durationSec") is not None else "uploaded"


def verify(info: ObjectInfo, sha_hex: str | None, crc_b64: str | None, *, now: str
           ) -> dict[str, Any]:
    """The verification attributes of a record whose object ``info`` describes, from what S3
    reports, never by reading the object back.

    The full-object CRC64NVME S3 accepted at completion (and computed itself from the bytes it
    holds) equals the one the client computed from the file: verified at any size, and the
    client's SHA-256 from that same pass is recorded beside it. A single PUT with a signed
    full-object SHA-256 (older clients) is compared directly. Otherwise the record says
    ``sha256Verified: false``. Raises ``ChecksumMismatch`` (nothing deleted yet) when S3's
    checksum differs from the claim."""
    full_crc = info.full_object_crc64nvme
    if crc_b64:
        # S3 keeps a full-object CRC64NVME for every object uploaded as the client does (and
        # adds one by default to others): none, or another one, is not these bytes
        if full_crc != crc_b64:
            raise ChecksumMismatch(
                f"the uploaded object's CRC64NVME is {full_crc or 'unknown'}, not the "
                f"{crc_b64} computed from the file: S3 holds other bytes than the file. The "
                "object was deleted so that no record points at it; upload the file again.",
            )
        return {"sha256Verified": bool(sha_hex), "sha256VerifiedBy": VERIFIED_BY_CRC64NVME,
                "verifiedAt": now, "crc64nvme": full_crc}
    full_sha = info.full_object_sha256
    actual = _b64_to_hex(full_sha) if full_sha else None
    if sha_hex and actual is not None:
        if actual != sha_hex.lower():
            raise ChecksumMismatch(
                f"the uploaded object's SHA-256 is {actual}, not the sha256 {sha_hex} given "
                "for the file: S3 holds other bytes than the file that was hashed. The "
                "object was deleted so that no record points at it; upload the file again.",
            )
        return {"sha256Verified": True, "sha256VerifiedBy": VERIFIED_BY_CHECKSUM,
                "verifiedAt": now}
    by = VERIFIED_BY_PARTS if info.all_parts_checksummed else VERIFIED_BY_NONE
    logger.info("whole-object checksum not compared",
                extra={"size": info.size, "sha256VerifiedBy": by})
    return {"sha256Verified": False, "sha256VerifiedBy": by}
