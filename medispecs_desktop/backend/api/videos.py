"""Routes of the recordings themselves: list, create, read, edit, delete (to the Trash), the
playback URL and the duplicate check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import BadRequest
from ..integrity import crc64nvme_b64
from ..uploads import MAX_OBJECT_BYTES
from ..validation import (
    FINGERPRINT_RE,
    SHA256_HEX_RE,
    Field,
    parse_bound,
    parse_limit,
    parse_recorded_at,
    validate_object,
    validate_video_id,
)
from ..videos import NewVideo, VideoEdit
from .http import Result, body, expiry, list_field, path_video_id
from .registry import Router
from .views import video_view

if TYPE_CHECKING:
    from ..events import Request
    from ..services import Services

__all__ = ["CREATE_FIELDS", "PATCH_FIELDS", "router"]

MAX_DUPLICATE_QUERIES = 100

CREATE_FIELDS: dict[str, Field] = {
    "videoId": Field("str"),
    "title": Field("str", required=True, min_len=1, max_len=200, title=True),
    "recordedAt": Field("str", required=True),
    "deviceId": Field("str", min_len=1, max_len=128),
    "durationSec": Field("number", minimum=0, maximum=7 * 24 * 3600),
    "fileSizeBytes": Field("int", minimum=0, maximum=MAX_OBJECT_BYTES),
    "mimeType": Field("str", max_len=100),
    "sha256": Field("str", pattern=SHA256_HEX_RE),
    "crc64nvme": Field("str", min_len=12, max_len=12),
    "fingerprint": Field("str", max_len=100, pattern=FINGERPRINT_RE),
    "width": Field("int", minimum=0, maximum=100_000),
    "height": Field("int", minimum=0, maximum=100_000),
    "codec": Field("str", min_len=1, max_len=64),
    "notes": Field("str", max_len=10_000),
    "uploadKind": Field("str", choices=("single", "multipart")),
    "damaged": Field("bool"),
    "damagedReason": Field("str", min_len=1, max_len=500),
}

PATCH_FIELDS: dict[str, Field] = {
    "version": Field("int", required=True, minimum=1, maximum=2**53),
    "title": Field("str", min_len=1, max_len=200, title=True),
    "notes": Field("str", max_len=10_000),
    "thumbnail": Field("true"),
}

router = Router()


@router.get("/videos")
def list_videos(s: Services, req: Request, user_id: str) -> Result:
    q = req.query
    limit = parse_limit(q.get("limit"))
    items, cursor = s.videos.page(
        user_id,
        date_from=parse_bound(q["from"], "from", end=False) if q.get("from") else None,
        date_to=parse_bound(q["to"], "to", end=True) if q.get("to") else None,
        limit=limit, cursor=q.get("cursor") or None)
    return Result(200, {"items": [video_view(s.storage, i) for i in items],
                        "nextCursor": cursor})


@router.post("/videos")
def create_video(s: Services, req: Request, user_id: str) -> Result:
    data = validate_object(body(req), CREATE_FIELDS)
    video_id = validate_video_id(data["videoId"]) if "videoId" in data else s.videos.new_id()
    new = NewVideo(
        video_id=video_id,
        title=data["title"],
        recorded_at=parse_recorded_at(data["recordedAt"]),
        sha256=data["sha256"].lower() if data.get("sha256") else None,
        crc64nvme=crc64nvme_b64(data["crc64nvme"], "crc64nvme") if data.get("crc64nvme")
        else None,
        fingerprint=data["fingerprint"].lower() if data.get("fingerprint") else None,
        optional=data,
    )
    item, created = s.videos.create(user_id, new)
    return Result(201 if created else 200, video_view(s.storage, item))


@router.post("/videos/duplicates")
def find_duplicates(s: Services, req: Request, user_id: str) -> Result:
    data = body(req)
    validate_object(data, {}, ignore=("sha256", "fingerprints"))
    shas = list_field(data, "sha256", maximum=MAX_DUPLICATE_QUERIES, required=False)
    fps = list_field(data, "fingerprints", maximum=MAX_DUPLICATE_QUERIES, required=False)
    for sha in shas:
        if not isinstance(sha, str) or not SHA256_HEX_RE.match(sha):
            raise BadRequest("'sha256' entries must be 64 hex characters",
                             code="validation_error")
    for fp in fps:
        if not isinstance(fp, str) or len(fp) > 100 or not FINGERPRINT_RE.match(fp):
            raise BadRequest("'fingerprints' entries must look like '{size}:{sha256 hex}'",
                             code="validation_error")
    return Result(200, {"matches": s.videos.duplicates(user_id, shas, fps)})


@router.get("/videos/{videoId}")
def get_video(s: Services, req: Request, user_id: str) -> Result:
    return Result(200, video_view(s.storage, s.videos.get(user_id, path_video_id(req))))


@router.patch("/videos/{videoId}")
def patch_video(s: Services, req: Request, user_id: str) -> Result:
    video_id = path_video_id(req)
    data: dict[str, Any] = validate_object(body(req), PATCH_FIELDS, null_is_absent=False)
    if not any(k in data for k in ("title", "notes", "thumbnail")):
        raise BadRequest("nothing to update: give title, notes or thumbnail",
                         code="validation_error")
    edit = VideoEdit(version=int(data["version"]), title=data.get("title"),
                     notes=data.get("notes"), thumbnail=bool(data.get("thumbnail")))
    return Result(200, video_view(s.storage, s.videos.edit(user_id, video_id, edit)))


@router.delete("/videos/{videoId}")
def delete_video(s: Services, req: Request, user_id: str) -> Result:
    """Move to the Trash (restorable until ``purgeAt``)."""
    video_id = path_video_id(req)
    item = s.trash.move_to_trash(user_id, video_id)
    return Result(200, {"deleted": video_id, "inTrash": True,
                        "purgeAt": item["trashExpiresAt"]})


@router.get("/videos/{videoId}/playback-url")
def playback_url(s: Services, req: Request, user_id: str) -> Result:
    video_id = path_video_id(req)
    url = s.storage.presign_get(s.videos.playback_key(user_id, video_id))
    expires_in, expires_at = expiry(s.clock(), s.config.playback_expiry_seconds)
    return Result(200, {"videoId": video_id, "playbackUrl": url, "expiresIn": expires_in,
                        "expiresAt": expires_at})
