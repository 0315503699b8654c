"""Upload sessions: pre-signed single PUTs and S3 multipart uploads (DESIGN §6).

Typed calls, no HTTP (the routes are ``api/uploads.py``). A multipart upload is a session item
``UPLOAD#{videoId}#{uploadId}`` in the caller's partition (size, part size, key; expiring after
``UPLOAD_SESSION_TTL_SECONDS``): every call names it, so one user can never sign, list or
complete another's upload. A video holds at most one open upload (a new create supersedes the
earlier ones); the scheduled sweep (``jobs.py``) aborts uploads without a session, so a create
whose answer, or whose Lambda, was lost leaves nothing behind. Parts carry CRC64NVME checksums
S3 checks; the whole object's CRC64NVME is checked at completion.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import schema
from .config import BackendConfig
from .errors import BadRequest, Conflict, NotFound
from .logs import logger
from .storage import ChecksumRefused, PartInfo, VideoStorage
from .store import ConflictRetry, Item, VideoStore
from .validation import DEFAULT_CONTENT_TYPE, extension_for, format_utc
from .videos import VideoCatalog, video_key

__all__ = [
    "GIB",
    "MAX_OBJECT_BYTES",
    "MAX_PARTS",
    "MAX_PART_BYTES",
    "MAX_SINGLE_PUT_BYTES",
    "MIB",
    "MIN_PART_BYTES",
    "UPLOAD_SESSION_TTL_SECONDS",
    "CompletedPart",
    "MultipartUpload",
    "PartToSign",
    "SignedPart",
    "UploadService",
]

MIB = 1024 * 1024
GIB = 1024 * MIB
MIN_PART_BYTES = 5 * MIB
MAX_PART_BYTES = 5 * GIB
MAX_PARTS = 10_000
MAX_SINGLE_PUT_BYTES = 5 * GIB
MAX_OBJECT_BYTES = 5 * 1024 * GIB
UPLOAD_SESSION_TTL_SECONDS = 8 * 24 * 3600


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    video_id: str
    upload_id: str
    key: str
    part_size: int
    part_count: int


@dataclass(frozen=True, slots=True)
class PartToSign:
    number: int
    length: int
    crc64nvme: str


@dataclass(frozen=True, slots=True)
class SignedPart:
    number: int
    length: int
    crc64nvme: str
    url: str


@dataclass(frozen=True, slots=True)
class CompletedPart:
    number: int
    etag: str
    crc64nvme: str | None = None


def _rank(session: Mapping[str, Any]) -> tuple[int, str]:
    """Newer sessions rank higher: when their request began, then the upload id (a total
    order every concurrent create agrees on). Sessions written before this field rank first."""
    return int(session.get("startedAtUs") or 0), str(session["uploadId"])


def _same_upload(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in ("s3Key", "contentType", "fileSizeBytes",
                                                "partSizeBytes"))


class UploadService:
    def __init__(
        self,
        config: BackendConfig,
        store: VideoStore,
        storage: VideoStorage,
        catalog: VideoCatalog,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.storage = storage
        self.catalog = catalog
        self.clock = clock

    def _target(self, user_id: str, video_id: str, content_type: str | None
                ) -> tuple[str, str]:
        """``(key, content type)`` new bytes for the video go to; 409 ``already_uploaded``
        when its record has bytes, 404 when it is in the Trash."""
        item = self.catalog.unless_trashed(user_id, video_id)
        if item is not None:
            item = self.catalog.confirm_upload(item)
            if item.get("status") != "pending":
                raise Conflict(f"video {video_id} is already uploaded", code="already_uploaded")
        kind = str(content_type or (item or {}).get("mimeType") or DEFAULT_CONTENT_TYPE
                   ).strip().lower()
        key = str(item["s3Key"]) if item else video_key(user_id, video_id, kind)
        extension_for(kind)  # 400 for unsupported types
        return key, kind

    # ================================================================ single PUT

    def single_put(self, user_id: str, video_id: str, *, content_type: str | None,
                   size: int | None, sha256_b64: str | None, crc64nvme_b64: str | None
                   ) -> tuple[str, str, dict[str, str]]:
        """``(key, url, headers)`` of a pre-signed PUT of the whole file."""
        if size is not None:
            limit = min(MAX_SINGLE_PUT_BYTES, self.config.max_upload_bytes)
            if size < 1 or size > limit:
                raise BadRequest(
                    f"size must be 1..{limit} bytes for a single PUT; use a multipart upload "
                    "for larger files",
                    code="invalid_size",
                )
        if sha256_b64 and crc64nvme_b64:
            raise BadRequest("give one checksum: sha256 or crc64nvme",
                             code="conflicting_checksums")
        key, kind = self._target(user_id, video_id, content_type)
        url, headers = self.storage.presign_put(
            key, content_type=kind, content_length=size, checksum_sha256=sha256_b64,
            checksum_crc64nvme=crc64nvme_b64,
        )
        return key, url, headers

    # ================================================================ multipart

    def session(self, user_id: str, video_id: str, upload_id: str) -> Item:
        session = self.store.get(schema.user_pk(user_id), schema.upload_sk(video_id, upload_id))
        if session is None:
            raise NotFound(
                "the multipart upload does not exist (aborted, completed or never started)",
                code="no_such_upload",
            )
        return session

    @staticmethod
    def _expected_part_size(session: Mapping[str, Any], part_number: int) -> int:
        size = int(session["fileSizeBytes"])
        part = int(session["partSizeBytes"])
        count = int(session["partCount"])
        return part if part_number < count else size - part * (count - 1)

    def create_multipart(self, user_id: str, video_id: str, *, size: int, part_size: int,
                         content_type: str | None) -> MultipartUpload:
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
        key, kind = self._target(user_id, video_id, content_type)
        upload_id = self.storage.create_multipart(key, content_type=kind)
        now = self.clock()
        session: Item = {
            "PK": schema.user_pk(user_id),
            "SK": schema.upload_sk(video_id, upload_id),
            "entity": schema.ENTITY_UPLOAD,
            "videoId": video_id,
            "uploadId": upload_id,
            "s3Key": key,
            "contentType": kind,
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
        return MultipartUpload(video_id, str(session["uploadId"]), str(session["s3Key"]),
                               int(session["partSizeBytes"]), int(session["partCount"]))

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

    def sign_parts(self, session: Item, parts: list[PartToSign]) -> list[SignedPart]:
        """Pre-signed part PUTs of the upload ``session`` (:meth:`session`), each for exactly
        its part's length and CRC64NVME."""
        upload_id = str(session["uploadId"])
        count = int(session["partCount"])
        seen: set[int] = set()
        for part in parts:
            if part.number > count:
                raise BadRequest(
                    f"partNumber {part.number} is beyond this upload's {count} parts",
                    code="invalid_part_number",
                )
            if part.number in seen:
                raise BadRequest(f"partNumber {part.number} is listed twice",
                                 code="duplicate_part")
            seen.add(part.number)
            expected = self._expected_part_size(session, part.number)
            if part.length != expected:
                raise BadRequest(
                    f"part {part.number} must be exactly {expected} bytes, not {part.length}",
                    code="invalid_part_size",
                )
        key = str(session["s3Key"])
        return [SignedPart(p.number, p.length, p.crc64nvme,
                           self.storage.presign_part(key, upload_id, p.number, p.length,
                                                     p.crc64nvme))
                for p in parts]

    def list_parts(self, session: Item) -> list[PartInfo]:
        """The parts S3 holds for the upload ``session`` (a stale session is forgotten)."""
        try:
            return self.storage.list_parts(str(session["s3Key"]), str(session["uploadId"]))
        except NotFound:
            self.store.delete(str(session["PK"]), str(session["SK"]))  # stale session
            raise

    def complete(self, user_id: str, session: Item, parts: list[CompletedPart],
                 whole_crc64nvme: str) -> tuple[str, int]:
        """Complete the upload ``session`` (S3 checks the whole file's CRC64NVME) and confirm
        the record if it exists; ``(key, size)`` of the object."""
        video_id, upload_id = str(session["videoId"]), str(session["uploadId"])
        key = str(session["s3Key"])
        infos = self._parts_to_complete(session, parts)
        try:
            self.storage.complete_multipart(key, upload_id, infos,
                                            checksum_crc64nvme=whole_crc64nvme)
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
        if stored_crc is not None and stored_crc != whole_crc64nvme:
            # an S3 stand-in that does not check at completion (moto) still reports the CRC it
            # computed from the bytes: the same refusal, and nothing is left behind
            self.catalog.discard_mismatched(key, video_id)
            raise ChecksumRefused(
                "S3 holds other bytes than the file: the whole file's CRC64NVME is not the "
                "checksum of the parts uploaded; upload the file again"
            )
        record = self.store.get_video(user_id, video_id)
        if record is not None:
            self.catalog.confirm_upload(record, strict=True)
        logger.info("multipart upload completed", extra={"videoId": video_id,
                                                         "size": info.size})
        return key, info.size

    def _parts_to_complete(self, session: Mapping[str, Any], parts: list[CompletedPart]
                           ) -> list[PartInfo]:
        """The parts to complete ``session`` with, ascending; 400 ``invalid_part`` or
        ``size_mismatch`` when they are not the whole file.

        Every part 1..count listed with its CRC64NVME (what the app sends): nothing to ask S3
        first. Each part's URL was signed for exactly its length (:meth:`sign_parts`), so S3
        holds no part of another size, and CompleteMultipartUpload refuses a part it does not
        hold or whose ETag or CRC differs (``InvalidPart``: the upload stays open). One S3
        round trip less between the last byte and a finished upload. Otherwise (a part left
        out, a CRC not given) ListParts tells what S3 holds: the missing parts, the size the
        listed ones add up to, and their CRCs."""
        ordered = sorted(parts, key=lambda p: p.number)
        count = int(session["partCount"])
        if ([p.number for p in ordered] == list(range(1, count + 1))
                and all(p.crc64nvme for p in ordered)):
            return [PartInfo(part_number=p.number, etag=p.etag,
                             size=self._expected_part_size(session, p.number),
                             checksum_crc64nvme=p.crc64nvme) for p in ordered]
        stored = {p.part_number: p for p in self.storage.list_parts(str(session["s3Key"]),
                                                                    str(session["uploadId"]))}
        missing = [p.number for p in ordered if p.number not in stored]
        if missing:
            raise BadRequest(
                f"part(s) {', '.join(map(str, missing[:10]))} are not in S3; upload them first",
                code="invalid_part",
            )
        total = sum(stored[p.number].size for p in ordered)
        expected_total = int(session["fileSizeBytes"])
        if total != expected_total:
            raise BadRequest(
                f"the listed parts hold {total} bytes but the upload was created for "
                f"{expected_total}",
                code="size_mismatch",
            )
        return [PartInfo(part_number=p.number, etag=p.etag, size=stored[p.number].size,
                         checksum_crc64nvme=p.crc64nvme or stored[p.number].checksum_crc64nvme)
                for p in ordered]

    def abort(self, user_id: str, video_id: str, upload_id: str) -> None:
        """Abort the upload; a thumbnail sent with its bytes goes too while the video has no
        record (no frame of a recording stays in the cloud without its record)."""
        pk = schema.user_pk(user_id)
        session = self.store.get(pk, schema.upload_sk(video_id, upload_id))
        if session is not None:
            self.storage.abort_multipart(str(session["s3Key"]), upload_id)
            self.store.delete(pk, str(session["SK"]))
        if self.store.get_video(user_id, video_id) is None:
            thumbnail = self.catalog.thumbnails.uploaded(user_id, video_id)
            if thumbnail is not None:  # (a key never written gets no delete marker)
                self.storage.delete_objects([thumbnail])
