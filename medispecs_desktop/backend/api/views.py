"""How records are answered: the public fields of a video (never its keys' internals) with
short-lived pre-signed URLs of its thumbnail and preview sheet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import schema
from ..storage import VideoStorage
from ..trash import is_trashed

__all__ = ["PUBLIC_FIELDS", "trash_view", "video_view"]

PUBLIC_FIELDS = (
    "videoId",
    "userId",
    "deviceId",
    "title",
    "notes",
    "s3Key",
    "s3Bucket",
    "thumbnailS3Key",
    "recordedAt",
    "durationSec",
    "fileSizeBytes",
    "mimeType",
    "status",
    "createdAt",
    "updatedAt",
    "version",
    "sha256",
    "fingerprint",
    "width",
    "height",
    "codec",
    "sha256Verified",
    "sha256VerifiedBy",
    "verifiedAt",
    "crc64nvme",
    # the user kept a damaged recording (truncated, broken) on purpose: its bytes are the
    # card's, verified as any other; the reason is the client's probe in plain words
    "damaged",
    "damagedReason",
    # made by the processing function (backend/processing) from the bytes themselves
    "frameRate",
    "rotation",
    "containerCreatedAt",
    "audioCodec",
    "statusReason",
    "previewSheetS3Key",
    "previewIndexS3Key",
    "processedAt",
    "reviewCopy",
    "reviewReason",
)

_SIGNED = (("thumbnailS3Key", "thumbnailUrl", "image/jpeg"),
           ("previewSheetS3Key", "previewSheetUrl", "image/jpeg"),
           ("previewIndexS3Key", "previewIndexUrl", "application/json"))


def video_view(storage: VideoStorage, item: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: item[k] for k in PUBLIC_FIELDS if item.get(k) is not None}
    for key_field, url_field, mime in _SIGNED:
        if item.get(key_field):
            out[url_field] = storage.presign_get(str(item[key_field]), content_type=mime)
    return out


def trash_view(storage: VideoStorage, item: Mapping[str, Any]) -> dict[str, Any]:
    out = video_view(storage, item)
    if is_trashed(item):
        out["trashedAt"] = item["trashedAt"]
        out["purgeAt"] = item[schema.TRASH_EXPIRES_ATTR]
    return out
