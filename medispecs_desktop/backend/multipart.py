"""The multipart upload routes (create, sign parts, list parts, complete, abort).

Every open multipart upload has a session item (``SK=UPLOAD#{videoId}#{uploadId}``, with a TTL)
and a video has at most one: a new create supersedes the earlier ones (see
:meth:`MultipartService.create_multipart`). The scheduled sweep (``jobs.py``) aborts uploads
without a session, so a create whose answer, or whose Lambda, was lost leaves nothing behind.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from . import schema
from .errors import BadRequest, Conflict, NotFound
from .events import Request
from .logs import logger
from .service import (
    MAX_OBJECT_BYTES,
    MAX_PART_BYTES,
    MAX_PARTS,
    MIN_PART_BYTES,
    Result,
    VideoService,
    _list_field,
    crc64nvme_b64,
)
from .storage import ChecksumRefused, PartInfo
from .store import ConflictRetry, Item
from .validation import (
    DEFAULT_CONTENT_TYPE,
    Field,
    extension_for,
    format_utc,
    validate_object,
    validate_upload_id,
)

__all__ = ["COMPLETE_PART_FIELDS", "MULTIPART_FIELDS", "SIGN_PART_FIELDS",
           "UPLOAD_SESSION_TTL_SECONDS", "MultipartService"]

MAX_SIGN_WINDOW = 100
UPLOAD_SESSION_TTL_SECONDS = 8 * 24 * 3600

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


def _objects(values: list[Any], name: str) -> list[Mapping[str, Any]]:
    for v in values:
        if not isinstance(v, dict):
            raise BadRequest(f"every entry of '{name}' must be an object", code="validation_error")
    return values


def _rank(session: Mapping[str, Any]) -> tuple[int, str]:
    """Newer sessions rank higher: when their request began, then the upload id (a total
    order every concurrent create agrees on). Sessions written before this field rank first."""
    return int(session.get("startedAtUs") or 0), str(session["uploadId"])


def _same_upload(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("s3Key", "contentType", "fileSizeBytes",
                                                "partSizeBytes"))


class MultipartService:
    """The multipart routes of one :class:`VideoService` (its store, storage and checks)."""

    def __init__(self, videos: VideoService) -> None:
        self.videos = videos
        self.store = videos.store
        self.storage = videos.storage
        self.config = videos.config

    def clock(self) -> float:
        return self.videos.clock()

    def _session(self, req: Request, user_id: str) -> tuple[str, str, Item]:
        video_id = self.videos._path_video_id(req)
        upload_id = validate_upload_id(req.path_parameters.get("uploadId"))
        session = self.store.get(schema.user_pk(user_id), schema.upload_sk(video_id, upload_id))
        if session is None:
            raise NotFound(
                "the multipart upload does not exist (aborted, completed or never started)",
                code="no_such_upload",
            )
        return video_id, upload_id, session

    @staticmethod
    def _expected_part_size(session: Mapping[str, Any], part_number: int) -> int:
        size = int(session["fileSizeBytes"])
        part = int(session["partSizeBytes"])
        count = int(session["partCount"])
        return part if part_number < count else size - part * (count - 1)

    def create_multipart(self, req: Request, user_id: str) -> Result:
        """Start a multipart upload for the video; it supersedes every earlier one of the same
        video (a retried create whose first answer was lost, a restart from byte 0), so a
        video never holds more than one open upload.

        The session item is written right after S3's CreateMultipartUpload; then the newest
        session of the video (by the time its request began, then its upload id) wins: the
        winner aborts the others and any upload S3 holds under the video's key without a
        session (a create whose Lambda died before writing it); a create that finds a newer
        session for the video aborts its own upload and answers with the newer one (it is the
        same request retried). Whatever the interleaving, the older one is aborted."""
        started_us = int(self.clock() * 1_000_000)
        video_id = self.videos._path_video_id(req)
        body = validate_object(self.videos._body(req), MULTIPART_FIELDS)
        size = int(body["fileSizeBytes"])
        part_size = int(body["partSizeBytes"])
        if size > self.config.max_upload_bytes:
            raise BadRequest(
                f"fileSizeBytes {size} exceeds the maximum upload size "
                f"{self.config.max_upload_bytes}",
                code="too_large",
            )
        part_count = math.ceil(size / part_size)
        if part_count > MAX_PARTS:
            raise BadRequest(
                f"{part_count} parts exceed S3's limit of {MAX_PARTS}; use parts of at least "
                f"{math.ceil(size / MAX_PARTS)} bytes",
                code="too_many_parts",
            )
        item = self.videos._video_unless_trashed(user_id, video_id)
        if item is not None:
            item = self.videos._confirm_upload(item)
            if item.get("status") != "pending":
                raise Conflict(f"video {video_id} is already uploaded", code="already_uploaded")
        content_type = str(
            body.get("contentType") or (item or {}).get("mimeType") or DEFAULT_CONTENT_TYPE
        ).strip().lower()
        key = str(item["s3Key"]) if item else self.videos.video_key(user_id, video_id,
                                                                    content_type)
        extension_for(content_type)
        upload_id = self.storage.create_multipart(key, content_type=content_type)
        now = self.clock()
        session: Item = {
            "PK": schema.user_pk(user_id),
            "SK": schema.upload_sk(video_id, upload_id),
            "entity": schema.ENTITY_UPLOAD,
            "videoId": video_id,
            "uploadId": upload_id,
            "s3Key": key,
            "contentType": content_type,
            "fileSizeBytes": size,
            "partSizeBytes": part_size,
            "partCount": part_count,
            "startedAtUs": started_us,
            "createdAt": format_utc(datetime.fromtimestamp(now, UTC)),
            "ttl": int(now) + UPLOAD_SESSION_TTL_SECONDS,
        }
        try:
            self.store.put(session)
        except Exception:
            self.storage.abort_multipart(key, upload_id)  # never an upload without a session
            raise
        winner = self._supersede(user_id, video_id, session)
        if winner is not session:
            if not _same_upload(winner, session):
                raise ConflictRetry(
                    f"another multipart upload of video {video_id} was started meanwhile; "
                    "retry to continue with it"
                )
            session = winner
        return Result(
            201,
            {
                "videoId": video_id,
                "uploadId": str(session["uploadId"]),
                "s3Key": str(session["s3Key"]),
                "partSizeBytes": int(session["partSizeBytes"]),
                "partCount": int(session["partCount"]),
            },
        )

    def _end(self, session: Mapping[str, Any]) -> None:
        self.storage.abort_multipart(str(session["s3Key"]), str(session["uploadId"]))
        self.store.delete(str(session["PK"]), str(session["SK"]))

    def _supersede(self, user_id: str, video_id: str, mine: Item) -> Item:
        """Leave the newest upload of the video open and abort the others; returns the one
        left open (``mine`` unless a newer create of the video has written its session)."""
        sessions = self.store.query_prefix(user_id, f"UPLOAD#{video_id}#")
        if not any(s["SK"] == mine["SK"] for s in sessions):
            sessions.append(mine)
        newest = max(sessions, key=_rank)
        if newest["SK"] != mine["SK"]:
            logger.info("multipart create superseded by a newer one of the same video",
                        extra={"videoId": video_id})
            self._end(mine)
            return newest
        for old in sessions:
            if old["SK"] != mine["SK"]:
                logger.info("earlier multipart upload of the video aborted",
                            extra={"videoId": video_id, "uploadId": old["uploadId"]})
                self._end(old)
        # uploads S3 holds for this video with no session (their create died in between)
        prefix = f"videos/{user_id}/{video_id}."
        for upload in self.storage.open_uploads(prefix):
            if upload.upload_id != mine["uploadId"]:
                logger.info("multipart upload without a session aborted",
                            extra={"videoId": video_id, "uploadId": upload.upload_id})
                self.storage.abort_multipart(upload.key, upload.upload_id)
        return mine

    def sign_parts(self, req: Request, user_id: str) -> Result:
        _video_id, upload_id, session = self._session(req, user_id)
        body = self.videos._body(req)
        validate_object(body, {}, ignore=("parts",))  # unknown fields
        raw_parts = _objects(
            _list_field(body, "parts", maximum=MAX_SIGN_WINDOW, required=True),
            "parts",
        )
        if not raw_parts:
            raise BadRequest("'parts' must not be empty", code="validation_error")
        count = int(session["partCount"])
        seen: set[int] = set()
        checked: list[tuple[int, int, str]] = []
        for raw in raw_parts:
            part = validate_object(raw, SIGN_PART_FIELDS)
            number = int(part["partNumber"])
            if number > count:
                raise BadRequest(
                    f"partNumber {number} is beyond this upload's {count} parts",
                    code="invalid_part_number",
                )
            if number in seen:
                raise BadRequest(f"partNumber {number} is listed twice", code="duplicate_part")
            seen.add(number)
            expected = self._expected_part_size(session, number)
            if int(part["contentLength"]) != expected:
                raise BadRequest(
                    f"part {number} must be exactly {expected} bytes, not "
                    f"{part['contentLength']}",
                    code="invalid_part_size",
                )
            checksum = crc64nvme_b64(part["checksumCRC64NVME"], "checksumCRC64NVME")
            checked.append((number, expected, checksum))
        key = str(session["s3Key"])
        _, expires_at = self.videos._expiry()
        out = []
        for number, length, checksum in checked:
            out.append(
                {
                    "partNumber": number,
                    "url": self.storage.presign_part(key, upload_id, number, length, checksum),
                    "headers": {
                        "Content-Length": str(length),
                        "x-amz-checksum-crc64nvme": checksum,
                    },
                    "expiresAt": expires_at,
                }
            )
        return Result(200, {"parts": out})

    def list_parts(self, req: Request, user_id: str) -> Result:
        _video_id, upload_id, session = self._session(req, user_id)
        try:
            parts = self.storage.list_parts(str(session["s3Key"]), upload_id)
        except NotFound:
            self.store.delete(str(session["PK"]), str(session["SK"]))  # stale session
            raise
        out: list[dict[str, Any]] = []
        for p in parts:
            entry: dict[str, Any] = {"partNumber": p.part_number, "etag": p.etag, "size": p.size}
            if p.checksum_crc64nvme:
                entry["checksumCRC64NVME"] = p.checksum_crc64nvme
            out.append(entry)
        return Result(200, {"parts": out})

    def complete_multipart(self, req: Request, user_id: str) -> Result:
        video_id, upload_id, session = self._session(req, user_id)
        body = self.videos._body(req)
        validate_object(body, {}, ignore=("parts", "checksumCRC64NVME"))  # unknown fields
        if body.get("checksumCRC64NVME") is None:
            raise BadRequest("'checksumCRC64NVME' (the whole file's) is required",
                             code="validation_error")
        whole_crc = crc64nvme_b64(body["checksumCRC64NVME"], "checksumCRC64NVME")
        raw_parts = _objects(
            _list_field(body, "parts", maximum=MAX_PARTS, required=True), "parts"
        )
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
        key = str(session["s3Key"])
        stored = {p.part_number: p for p in self.storage.list_parts(key, upload_id)}
        missing = sorted(n for n in given if n not in stored)
        if missing:
            raise BadRequest(
                f"part(s) {', '.join(map(str, missing[:10]))} are not in S3; upload them first",
                code="invalid_part",
            )
        total = sum(stored[n].size for n in given)
        expected_total = int(session["fileSizeBytes"])
        if total != expected_total:
            raise BadRequest(
                f"the listed parts hold {total} bytes but the upload was created for "
                f"{expected_total}",
                code="size_mismatch",
            )
        parts = [
            PartInfo(
                part_number=n,
                etag=str(given[n]["etag"]),
                size=stored[n].size,
                checksum_crc64nvme=given[n].get("checksumCRC64NVME")
                or stored[n].checksum_crc64nvme,
            )
            for n in sorted(given)
        ]
        try:
            self.storage.complete_multipart(key, upload_id, parts, checksum_crc64nvme=whole_crc)
        except ChecksumRefused:
            # S3 keeps the upload open after a refused completion: abort it so no parts stay
            # without a session; the client sends the file again as a new upload
            self.storage.abort_multipart(key, upload_id)
            self.store.delete(str(session["PK"]), str(session["SK"]))
            raise
        info = self.storage.head(key, checksums=True)
        if info is None:  # pragma: no cover - S3 just completed it
            raise ConflictRetry("the object is not visible yet; retry")
        self.store.delete(str(session["PK"]), str(session["SK"]))
        stored_crc = info.full_object_crc64nvme
        if stored_crc is not None and stored_crc != whole_crc:
            # an S3 stand-in that does not check at completion (moto) still reports the CRC it
            # computed from the bytes: the same refusal, and nothing is left behind
            self.videos._discard_mismatched(key, video_id)
            raise ChecksumRefused(
                "S3 holds other bytes than the file: the whole file's CRC64NVME is not the "
                "checksum of the parts uploaded; upload the file again"
            )
        record = self.store.get_video(user_id, video_id)
        if record is not None:
            self.videos._confirm_upload(record, strict=True)
        return Result(200, {"videoId": video_id, "s3Key": key, "fileSizeBytes": info.size})

    def abort_multipart(self, req: Request, user_id: str) -> Result:
        video_id = self.videos._path_video_id(req)
        upload_id = validate_upload_id(req.path_parameters.get("uploadId"))
        pk = schema.user_pk(user_id)
        session = self.store.get(pk, schema.upload_sk(video_id, upload_id))
        if session is not None:
            self.storage.abort_multipart(str(session["s3Key"]), upload_id)
            self.store.delete(pk, str(session["SK"]))
        return Result(200, {"aborted": upload_id})

    def routes(self) -> dict[str, Callable[[Request, str], Result]]:
        return {
            "POST /videos/{videoId}/multipart": self.create_multipart,
            "POST /videos/{videoId}/multipart/{uploadId}/sign": self.sign_parts,
            "GET /videos/{videoId}/multipart/{uploadId}/parts": self.list_parts,
            "POST /videos/{videoId}/multipart/{uploadId}/complete": self.complete_multipart,
            "DELETE /videos/{videoId}/multipart/{uploadId}": self.abort_multipart,
        }
