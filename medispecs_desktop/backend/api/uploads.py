"""Routes that move bytes in: pre-signed single PUTs (recording, thumbnail) and the multipart
upload's create / sign / list / complete / abort."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest
from ..integrity import crc64nvme_b64
from ..uploads import (
    MAX_OBJECT_BYTES,
    MAX_PART_BYTES,
    MAX_PARTS,
    MIN_PART_BYTES,
    CompletedPart,
    PartToSign,
)
from ..validation import Field, validate_checksum_b64, validate_object, validate_upload_id
from .http import Result, body, expiry, list_field, objects, path_video_id
from .registry import Router

if TYPE_CHECKING:
    from ..events import Request
    from ..services import Services

__all__ = ["COMPLETE_PART_FIELDS", "MULTIPART_FIELDS", "SIGN_PART_FIELDS", "router"]

MAX_SIGN_WINDOW = 100

MULTIPART_FIELDS: dict[str, Field] = {
    "fileSizeBytes": Field("int", required=True, minimum=1, maximum=MAX_OBJECT_BYTES),
    "partSizeBytes": Field("int", required=True, minimum=MIN_PART_BYTES, maximum=MAX_PART_BYTES),
    "contentType": Field("str", max_len=100),
}

SIGN_PART_FIELDS: dict[str, Field] = {
    "partNumber": Field("int", required=True, minimum=1, maximum=MAX_PARTS),
    "contentLength": Field("int", required=True, minimum=1, maximum=MAX_PART_BYTES),
    "checksumCRC64NVME": Field("str", required=True),
}

COMPLETE_PART_FIELDS: dict[str, Field] = {
    "partNumber": Field("int", required=True, minimum=1, maximum=MAX_PARTS),
    "etag": Field("str", required=True, min_len=1, max_len=256),
    "checksumCRC64NVME": Field("str"),
}

router = Router()


def _put_url(s: Services, video_id: str, key: str, url: str, headers: dict[str, str]
             ) -> Result:
    """A pre-signed PUT as the client gets it: the headers must be sent exactly."""
    expires_in, expires_at = expiry(s.clock(), s.config.presign_expiry_seconds)
    return Result(200, {"videoId": video_id, "uploadUrl": url, "method": "PUT",
                        "headers": headers, "s3Key": key, "expiresIn": expires_in,
                        "expiresAt": expires_at})


@router.get("/videos/{videoId}/upload-url")
def upload_url(s: Services, req: Request, user_id: str) -> Result:
    video_id = path_video_id(req)
    q = req.query
    size: int | None = None
    if q.get("size"):
        raw = q["size"].strip()
        if not raw.isdigit() or len(raw) > 15:
            raise BadRequest("size must be a whole number of bytes", code="invalid_size")
        size = int(raw)
    sha = validate_checksum_b64(q["sha256"], "sha256") if q.get("sha256") else None
    crc = crc64nvme_b64(q["crc64nvme"], "crc64nvme") if q.get("crc64nvme") else None
    key, url, headers = s.uploads.single_put(user_id, video_id, content_type=q.get("contentType"),
                                             size=size, sha256_b64=sha, crc64nvme_b64=crc)
    return _put_url(s, video_id, key, url, headers)


@router.get("/videos/{videoId}/thumbnail-upload-url")
def thumbnail_upload_url(s: Services, req: Request, user_id: str) -> Result:
    video_id = path_video_id(req)
    s.videos.unless_trashed(user_id, video_id)  # deleted: no new bytes for it
    key, url, headers = s.thumbnails.upload_url(user_id, video_id)
    return _put_url(s, video_id, key, url, headers)


@router.post("/videos/{videoId}/multipart")
def create_multipart(s: Services, req: Request, user_id: str) -> Result:
    video_id = path_video_id(req)
    data = validate_object(body(req), MULTIPART_FIELDS)
    mp = s.uploads.create_multipart(user_id, video_id, size=int(data["fileSizeBytes"]),
                                    part_size=int(data["partSizeBytes"]),
                                    content_type=data.get("contentType"))
    return Result(201, {"videoId": mp.video_id, "uploadId": mp.upload_id, "s3Key": mp.key,
                        "partSizeBytes": mp.part_size, "partCount": mp.part_count})


def _session(s: Services, req: Request, user_id: str) -> dict[str, Any]:
    video_id = path_video_id(req)
    upload_id = validate_upload_id(req.path_parameters.get("uploadId"))
    return s.uploads.session(user_id, video_id, upload_id)


@router.post("/videos/{videoId}/multipart/{uploadId}/sign")
def sign_parts(s: Services, req: Request, user_id: str) -> Result:
    session = _session(s, req, user_id)
    data = body(req)
    validate_object(data, {}, ignore=("parts",))  # unknown fields
    raw_parts = objects(list_field(data, "parts", maximum=MAX_SIGN_WINDOW, required=True),
                        "parts")
    if not raw_parts:
        raise BadRequest("'parts' must not be empty", code="validation_error")
    wanted = []
    for raw in raw_parts:
        part = validate_object(raw, SIGN_PART_FIELDS)
        wanted.append(PartToSign(int(part["partNumber"]), int(part["contentLength"]),
                                 crc64nvme_b64(part["checksumCRC64NVME"], "checksumCRC64NVME")))
    signed = s.uploads.sign_parts(session, wanted)
    _, expires_at = expiry(s.clock(), s.config.presign_expiry_seconds)
    return Result(200, {"parts": [
        {"partNumber": p.number, "url": p.url,
         "headers": {"Content-Length": str(p.length), "x-amz-checksum-crc64nvme": p.crc64nvme},
         "expiresAt": expires_at}
        for p in signed]})


@router.get("/videos/{videoId}/multipart/{uploadId}/parts")
def list_parts(s: Services, req: Request, user_id: str) -> Result:
    session = _session(s, req, user_id)
    out: list[dict[str, Any]] = []
    for p in s.uploads.list_parts(session):
        entry: dict[str, Any] = {"partNumber": p.part_number, "etag": p.etag, "size": p.size}
        if p.checksum_crc64nvme:
            entry["checksumCRC64NVME"] = p.checksum_crc64nvme
        out.append(entry)
    return Result(200, {"parts": out})


@router.post("/videos/{videoId}/multipart/{uploadId}/complete")
def complete_multipart(s: Services, req: Request, user_id: str) -> Result:
    session = _session(s, req, user_id)
    data = body(req)
    validate_object(data, {}, ignore=("parts", "checksumCRC64NVME"))  # unknown fields
    if data.get("checksumCRC64NVME") is None:
        raise BadRequest("'checksumCRC64NVME' (the whole file's) is required",
                         code="validation_error")
    whole_crc = crc64nvme_b64(data["checksumCRC64NVME"], "checksumCRC64NVME")
    raw_parts = objects(list_field(data, "parts", maximum=MAX_PARTS, required=True), "parts")
    if not raw_parts:
        raise BadRequest("'parts' must not be empty", code="validation_error")
    given: dict[int, Mapping[str, Any]] = {}
    for raw in raw_parts:
        part = validate_object(raw, COMPLETE_PART_FIELDS)
        number = int(part["partNumber"])
        if number in given:
            raise BadRequest(f"partNumber {number} is listed twice", code="duplicate_part")
        if part.get("checksumCRC64NVME") is not None:
            crc64nvme_b64(part["checksumCRC64NVME"], "checksumCRC64NVME")
        given[number] = part
    parts = [CompletedPart(n, str(p["etag"]), p.get("checksumCRC64NVME")) for n, p in
             given.items()]
    key, size = s.uploads.complete(user_id, session, parts, whole_crc)
    return Result(200, {"videoId": session["videoId"], "s3Key": key, "fileSizeBytes": size})


@router.delete("/videos/{videoId}/multipart/{uploadId}")
def abort_multipart(s: Services, req: Request, user_id: str) -> Result:
    video_id = path_video_id(req)
    upload_id = validate_upload_id(req.path_parameters.get("uploadId"))
    s.uploads.abort(user_id, video_id, upload_id)
    return Result(200, {"aborted": upload_id})
