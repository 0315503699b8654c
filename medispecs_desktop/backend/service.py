"""The videos API's behaviour (docs/contract.md §1, DESIGN §4/§5/§8), one method per route.

Methods take the normalised ``Request`` and the caller's user id and return a ``Result``; every
client mistake is raised as an ``ApiError``. DynamoDB and S3 are reached only through
``VideoStore`` and ``VideoStorage``.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import schema
from .config import BackendConfig
from .errors import BadRequest, Conflict, NotFound
from .events import Request
from .logs import logger
from .storage import ObjectChanged, ObjectInfo, VideoStorage
from .store import Item, VideoStore, decode_cursor, encode_cursor
from .trash import TrashService, is_trashed
from .validation import (
    DEFAULT_CONTENT_TYPE,
    FINGERPRINT_RE,
    SHA256_HEX_RE,
    Field,
    extension_for,
    format_utc,
    parse_bound,
    parse_limit,
    parse_recorded_at,
    validate_checksum_b64,
    validate_object,
    validate_video_id,
)

__all__ = ["MIB", "Result", "VideoService"]

MIB = 1024 * 1024
GIB = 1024 * MIB
MIN_PART_BYTES = 5 * MIB
MAX_PART_BYTES = 5 * GIB
MAX_PARTS = 10_000
MAX_SINGLE_PUT_BYTES = 5 * GIB
MAX_OBJECT_BYTES = 5 * 1024 * GIB
MAX_DUPLICATE_QUERIES = 100

VERIFIED_BY_CRC64NVME = "crc64nvme"
"""DESIGN §8 "verified in cloud": S3 accepted (and reports) the full-object CRC64NVME the client
computed from the file, in the same pass as the SHA-256 recorded beside it. Any size."""
VERIFIED_BY_CHECKSUM = "checksum"
"""S3's stored full-object SHA-256 (a single PUT with a signed checksum) equals the claim."""
VERIFIED_BY_READ = "read"
"""Older records: the handler once read the object back to hash it (no longer done)."""
VERIFIED_BY_PARTS = "parts"
"""Not compared, but S3 verified every part's signed SHA-256 (older multipart records)."""
VERIFIED_BY_NONE = "none"
"""Not compared: S3 reports no whole-object checksum that matches a claim."""

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
    # made by the processing function (backend/processing) from the bytes themselves
    "frameRate",
    "rotation",
    "containerCreatedAt",
    "audioCodec",
    "statusReason",
    "previewSheetS3Key",
    "previewIndexS3Key",
    "processedAt",
)

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
}

PATCH_FIELDS: dict[str, Field] = {
    "version": Field("int", required=True, minimum=1, maximum=2**53),
    "title": Field("str", min_len=1, max_len=200, title=True),
    "notes": Field("str", max_len=10_000),
    "thumbnail": Field("true"),
}

@dataclass(slots=True)
class Result:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def _list_field(body: Mapping[str, Any], name: str, *, maximum: int, required: bool) -> list[Any]:
    value = body.get(name)
    if value is None:
        if required:
            raise BadRequest(f"'{name}' is required", code="validation_error")
        return []
    if not isinstance(value, list):
        raise BadRequest(f"'{name}' must be an array", code="validation_error")
    if len(value) > maximum:
        raise BadRequest(f"'{name}' may hold at most {maximum} entries", code="too_many_items")
    return value


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


class ChecksumMismatch(Conflict):
    """The object in S3 is not the file the client hashed (409 ``checksum_mismatch``)."""

    default_code = "checksum_mismatch"


class VideoService:
    def __init__(
        self,
        config: BackendConfig,
        store: VideoStore,
        storage: VideoStorage,
        *,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: "v_" + uuid.uuid4().hex,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.store = store
        self.storage = storage
        self.clock = clock
        self.new_id = new_id
        self.monotonic = monotonic
        self.trash = TrashService(
            store, storage, retention_days=config.trash_retention_days, public=self.public,
            thumbnail_key=self.thumbnail_key, clock=lambda: self.clock(),
        )

    # ================================================================ helpers

    def _now(self) -> str:
        return format_utc(datetime.fromtimestamp(self.clock(), UTC))

    def _expiry(self, seconds: int | None = None) -> tuple[int, str]:
        seconds = seconds or self.config.presign_expiry_seconds
        return seconds, format_utc(datetime.fromtimestamp(self.clock() + seconds, UTC))

    def video_key(self, user_id: str, video_id: str, content_type: str | None) -> str:
        return f"videos/{user_id}/{video_id}.{extension_for(content_type)}"

    @staticmethod
    def thumbnail_key(user_id: str, video_id: str) -> str:
        return f"thumbnails/{user_id}/{video_id}.jpg"

    def public(self, item: Mapping[str, Any]) -> dict[str, Any]:
        out = {k: item[k] for k in PUBLIC_FIELDS if item.get(k) is not None}
        thumb = item.get("thumbnailS3Key")
        if thumb:
            out["thumbnailUrl"] = self.storage.presign_get(str(thumb), content_type="image/jpeg")
        for key_field, url_field, mime in (("previewSheetS3Key", "previewSheetUrl", "image/jpeg"),
                                       ("previewIndexS3Key", "previewIndexUrl",
                                        "application/json")):
            if item.get(key_field):
                out[url_field] = self.storage.presign_get(str(item[key_field]), content_type=mime)
        return out

    def _video_unless_trashed(self, user_id: str, video_id: str) -> Item | None:
        """The record, or None when there is none yet (URL-first flows); 404 for a video in
        the Trash: a deleted recording takes no new bytes."""
        item = self.store.get_video(user_id, video_id)
        if item is not None and is_trashed(item):
            raise NotFound(f"video {video_id} not found", code="not_found")
        return item

    def _video_or_404(self, user_id: str, video_id: str) -> Item:
        item = self.store.get_video(user_id, video_id)
        if item is None or is_trashed(item):  # the Trash is reached through /trash only
            raise NotFound(f"video {video_id} not found", code="not_found")
        return item

    def _path_video_id(self, req: Request) -> str:
        return validate_video_id(req.path_parameters.get("videoId"))

    @staticmethod
    def _body(req: Request) -> dict[str, Any]:
        body = dict(req.json_object())
        body.pop("userId", None)  # checked against the caller by the handler
        return body

    def _verify(
        self, info: ObjectInfo, sha_hex: str | None, crc_b64: str | None
    ) -> dict[str, Any]:
        """The verification attributes of a record whose object ``info`` describes (DESIGN §8
        "verified in cloud"), from what S3 reports, never by reading the object back.

        The full-object CRC64NVME S3 accepted at completion (and computed itself from the bytes
        it holds) equals the one the client computed from the file: verified at any size, and
        the client's SHA-256 from that same pass is recorded beside it. A single PUT with a
        signed full-object SHA-256 (older clients) is compared directly. Otherwise the record
        says ``sha256Verified: false``. Raises ``ChecksumMismatch`` (nothing deleted yet) when
        S3's checksum differs from the claim."""
        full_crc = info.full_object_crc64nvme
        if crc_b64:
            # S3 keeps a full-object CRC64NVME for every object uploaded as the client does
            # (and adds one by default to others): none, or another one, is not these bytes
            if full_crc != crc_b64:
                raise ChecksumMismatch(
                    f"the uploaded object's CRC64NVME is {full_crc or 'unknown'}, not the "
                    f"{crc_b64} computed from the file: S3 holds other bytes than the file. The "
                    "object was deleted so that no record points at it; upload the file again.",
                )
            return {"sha256Verified": bool(sha_hex), "sha256VerifiedBy": VERIFIED_BY_CRC64NVME,
                    "verifiedAt": self._now(), "crc64nvme": full_crc}
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
                    "verifiedAt": self._now()}
        by = VERIFIED_BY_PARTS if info.all_parts_checksummed else VERIFIED_BY_NONE
        logger.info("whole-object checksum not compared",
                    extra={"size": info.size, "sha256VerifiedBy": by})
        return {"sha256Verified": False, "sha256VerifiedBy": by}

    def _discard_mismatched(self, key: str, video_id: str) -> None:
        """Delete an object whose bytes are not the file's, so nothing can point at them."""
        logger.warning("sha256 mismatch: object deleted",
                       extra={"s3Key": key, "videoId": video_id})
        self.storage.delete_objects([key])

    def _confirm_upload(self, item: Item, *, strict: bool = False) -> Item:
        """Promote a ``pending`` record once its object is really in S3 (HeadObject) and, when
        the record holds a ``crc64nvme``/``sha256``, S3's whole-object checksum matches it.

        On a mismatch the object is deleted and the record stays ``pending`` (the bytes can
        be uploaded again); ``strict`` then raises the 409 ``checksum_mismatch`` too (routes
        whose caller asked to confirm these bytes)."""
        if item.get("status") != "pending":
            return item
        key = str(item["s3Key"])
        info = self.storage.head(key, checksums=True)
        if info is None:
            return item
        values: dict[str, Any] = {}
        if item.get("sha256") or item.get("crc64nvme"):
            try:
                values.update(self._verify(info, item.get("sha256"), item.get("crc64nvme")))
            except ChecksumMismatch:
                self._discard_mismatched(key, str(item["videoId"]))
                if strict:
                    raise
                return item
            except ObjectChanged:
                if strict:
                    raise
                return item  # overwritten meanwhile: still pending, the next call checks
        thumb_key = self.thumbnail_key(str(item["userId"]), str(item["videoId"]))
        values.update({"fileSizeBytes": info.size, "updatedAt": self._now()})
        has_thumb = bool(item.get("thumbnailS3Key")) or self.storage.head(thumb_key) is not None
        if has_thumb:
            values["thumbnailS3Key"] = thumb_key
        values["status"] = "ready" if has_thumb and item.get("durationSec") is not None \
            else "uploaded"
        if not item.get("mimeType") and info.content_type:
            values["mimeType"] = info.content_type
        updated = self.store.update_video(
            {"PK": str(item["PK"]), "SK": str(item["SK"])},
            expected_version=None,
            set_values=values,
            condition="#status = :pending",
            condition_values={":pending": "pending"},
        )
        if updated is not None:
            return updated
        fresh = self.store.get(str(item["PK"]), str(item["SK"]))  # promoted concurrently
        return fresh if fresh is not None else item

    # ================================================================ list / create / get

    def list_videos(self, req: Request, user_id: str) -> Result:
        q = req.query
        limit = parse_limit(q.get("limit"))
        date_from = parse_bound(q["from"], "from", end=False) if q.get("from") else None
        date_to = parse_bound(q["to"], "to", end=True) if q.get("to") else None
        if date_from and date_to and date_from > date_to:
            raise BadRequest("'from' must not be after 'to'", code="invalid_range")
        low = schema.VIDEO_SK_PREFIX + (date_from or "")
        high = schema.VIDEO_SK_PREFIX + (date_to or "") + "~"
        pk = schema.user_pk(user_id)
        start = decode_cursor(q["cursor"], pk=pk, low=low, high=high) if q.get("cursor") else None
        items, last = self.store.query_videos(
            user_id, low=low, high=high, limit=limit, start=start
        )
        return Result(
            200,
            {
                "items": [self.public(i) for i in items],
                "nextCursor": encode_cursor(last) if last else None,
            },
        )

    def create_video(self, req: Request, user_id: str) -> Result:
        body = validate_object(self._body(req), CREATE_FIELDS)
        video_id = validate_video_id(body["videoId"]) if "videoId" in body else self.new_id()
        recorded_at = parse_recorded_at(body["recordedAt"])
        mime = body.get("mimeType")
        key = self.video_key(user_id, video_id, mime)
        sha = body["sha256"].lower() if body.get("sha256") else None
        crc = crc64nvme_b64(body["crc64nvme"], "crc64nvme") if body.get("crc64nvme") else None
        fp = body["fingerprint"].lower() if body.get("fingerprint") else None

        pk = schema.user_pk(user_id)
        existing = self.store.get_video(user_id, video_id)
        if existing is not None and is_trashed(existing):
            raise Conflict(f"video {video_id} is in the Trash: restore it instead",
                           code="in_trash")
        if existing is not None:
            return Result(200, self.public(
                self._confirm_upload(existing, strict=True)))

        info = self.storage.head(key, checksums=True)
        now = self._now()
        record: Item = {
            "PK": pk,
            "SK": schema.video_sk(recorded_at, video_id),
            "entity": schema.ENTITY_VIDEO,
            "videoId": video_id,
            "userId": user_id,
            "title": body["title"],
            "recordedAt": recorded_at,
            "s3Key": key,
            "s3Bucket": self.storage.bucket,
            "createdAt": now,
            "updatedAt": now,
            "version": 1,
        }
        for name in ("deviceId", "durationSec", "fileSizeBytes", "mimeType", "width", "height",
                     "codec", "notes", "uploadKind"):
            if name in body:
                record[name] = body[name]
        if sha:
            record["sha256"] = sha
        if crc:
            record["crc64nvme"] = crc
        if fp:
            record["fingerprint"] = fp
        if info is None:
            if body.get("uploadKind"):
                raise Conflict(
                    f"no uploaded object for {video_id}: upload the bytes before creating the "
                    "record",
                    code="not_uploaded",
                )
            record["status"] = "pending"
        else:
            claimed = body.get("fileSizeBytes")
            if claimed is not None and claimed != info.size:
                raise Conflict(
                    f"fileSizeBytes {claimed} differs from the uploaded object's {info.size} bytes",
                    code="size_mismatch",
                )
            if sha or crc:
                try:
                    record.update(self._verify(info, sha, crc))
                except ChecksumMismatch:
                    self._discard_mismatched(key, video_id)
                    raise
            record["fileSizeBytes"] = info.size
            if not mime and info.content_type:
                record["mimeType"] = info.content_type
            thumb_key = self.thumbnail_key(user_id, video_id)
            if self.storage.head(thumb_key) is not None:
                record["thumbnailS3Key"] = thumb_key
            record["status"] = (
                "ready" if "thumbnailS3Key" in record and "durationSec" in record else "uploaded"
            )

        outcome = self.store.create_video(record, sha256=sha, fingerprint=fp)
        if outcome.kind == "duplicate":
            if info is not None:
                # the same file won the race from elsewhere: these bytes have no record and
                # never will (no object without an owner)
                logger.info("duplicate upload: object deleted",
                            extra={"s3Key": key, "videoId": video_id})
                self.storage.delete_objects([key])
            raise Conflict(
                f"this file is already stored as {outcome.duplicate_of}", code="duplicate"
            )
        assert outcome.item is not None
        if outcome.kind == "exists":
            return Result(200, self.public(
                self._confirm_upload(outcome.item, strict=True)))
        return Result(201, self.public(outcome.item))

    def get_video(self, req: Request, user_id: str) -> Result:
        video_id = self._path_video_id(req)
        item = self._confirm_upload(self._video_or_404(user_id, video_id))
        return Result(200, self.public(item))

    def patch_video(self, req: Request, user_id: str) -> Result:
        video_id = self._path_video_id(req)
        body = validate_object(self._body(req), PATCH_FIELDS, null_is_absent=False)
        if not any(k in body for k in ("title", "notes", "thumbnail")):
            raise BadRequest("nothing to update: give title, notes or thumbnail",
                             code="validation_error")
        item = self._video_or_404(user_id, video_id)
        expected = int(body["version"])
        if int(item.get("version", 0)) != expected:
            raise self._version_conflict(expected, item)
        values: dict[str, Any] = {"updatedAt": self._now()}
        for name in ("title", "notes"):
            if name in body:
                values[name] = body[name]
        if body.get("thumbnail"):
            thumb_key = self.thumbnail_key(user_id, video_id)
            if self.storage.head(thumb_key) is None:
                raise Conflict("no thumbnail has been uploaded for this video",
                               code="thumbnail_not_uploaded")
            values["thumbnailS3Key"] = thumb_key
            if item.get("status") in ("uploaded", "ready") and item.get("durationSec") is not None:
                values["status"] = "ready"
        updated = self.store.update_video(
            {"PK": str(item["PK"]), "SK": str(item["SK"])},
            expected_version=expected,
            set_values=values,
        )
        if updated is None:
            current = self.store.get(str(item["PK"]), str(item["SK"]))
            if current is None:
                raise NotFound(f"video {video_id} not found", code="not_found")
            raise self._version_conflict(expected, current)
        return Result(200, self.public(updated))

    @staticmethod
    def _version_conflict(expected: int, item: Mapping[str, Any]) -> Conflict:
        return Conflict(
            f"version {expected} is stale; the video is at version {item.get('version')}",
            code="version_conflict",
        )

    def delete_video(self, req: Request, user_id: str) -> Result:
        """Move to the Trash (restorable until ``purgeAt``; see ``trash``)."""
        video_id = self._path_video_id(req)
        item = self.trash.move_to_trash(user_id, video_id)
        return Result(200, {"deleted": video_id, "inTrash": True,
                            "purgeAt": item["trashExpiresAt"]})

    def list_trash(self, req: Request, user_id: str) -> Result:
        return Result(200, self.trash.list_trash(req, user_id))

    def restore_video(self, req: Request, user_id: str) -> Result:
        return Result(200, self.trash.restore_route(req, user_id))

    def purge_video(self, req: Request, user_id: str) -> Result:
        return Result(200, self.trash.purge_route(req, user_id))

    # ================================================================ URLs

    def upload_url(self, req: Request, user_id: str) -> Result:
        video_id = self._path_video_id(req)
        q = req.query
        size: int | None = None
        if q.get("size"):
            raw = q["size"].strip()
            if not raw.isdigit() or len(raw) > 15:
                raise BadRequest("size must be a whole number of bytes", code="invalid_size")
            size = int(raw)
            limit = min(MAX_SINGLE_PUT_BYTES, self.config.max_upload_bytes)
            if size < 1 or size > limit:
                raise BadRequest(
                    f"size must be 1..{limit} bytes for a single PUT; use a multipart upload "
                    "for larger files",
                    code="invalid_size",
                )
        checksum = validate_checksum_b64(q["sha256"], "sha256") if q.get("sha256") else None
        crc = crc64nvme_b64(q["crc64nvme"], "crc64nvme") if q.get("crc64nvme") else None
        if checksum and crc:
            raise BadRequest("give one checksum: sha256 or crc64nvme",
                             code="conflicting_checksums")
        item = self._video_unless_trashed(user_id, video_id)
        if item is not None:
            item = self._confirm_upload(item)
            if item.get("status") != "pending":
                raise Conflict(f"video {video_id} is already uploaded", code="already_uploaded")
        content_type = q.get("contentType") or (item or {}).get("mimeType") or DEFAULT_CONTENT_TYPE
        content_type = str(content_type).strip().lower()
        key = str(item["s3Key"]) if item else self.video_key(user_id, video_id, content_type)
        extension_for(content_type)  # 400 for unsupported types
        url, headers = self.storage.presign_put(
            key, content_type=content_type, content_length=size, checksum_sha256=checksum,
            checksum_crc64nvme=crc,
        )
        return self._put_url_result(video_id, key, url, headers)

    def _put_url_result(
        self, video_id: str, key: str, url: str, headers: dict[str, str]
    ) -> Result:
        """A pre-signed PUT as the client gets it: the headers must be sent exactly."""
        expires_in, expires_at = self._expiry()
        return Result(
            200,
            {
                "videoId": video_id,
                "uploadUrl": url,
                "method": "PUT",
                "headers": headers,
                "s3Key": key,
                "expiresIn": expires_in,
                "expiresAt": expires_at,
            },
        )

    def playback_url(self, req: Request, user_id: str) -> Result:
        video_id = self._path_video_id(req)
        item = self._confirm_upload(self._video_or_404(user_id, video_id))
        if item.get("status") == "pending":
            raise Conflict(f"video {video_id} has no uploaded bytes yet", code="not_uploaded")
        url = self.storage.presign_get(str(item["s3Key"]))
        expires_in, expires_at = self._expiry(self.config.playback_expiry_seconds)
        return Result(
            200,
            {"videoId": video_id, "playbackUrl": url, "expiresIn": expires_in,
             "expiresAt": expires_at},
        )

    def thumbnail_upload_url(self, req: Request, user_id: str) -> Result:
        video_id = self._path_video_id(req)
        self._video_unless_trashed(user_id, video_id)  # deleted: no new bytes for it
        key = self.thumbnail_key(user_id, video_id)
        url, headers = self.storage.presign_put(key, content_type="image/jpeg")
        return self._put_url_result(video_id, key, url, headers)

    # ================================================================ duplicates

    def find_duplicates(self, req: Request, user_id: str) -> Result:
        body = self._body(req)
        validate_object(body, {}, ignore=("sha256", "fingerprints"))
        shas = _list_field(body, "sha256", maximum=MAX_DUPLICATE_QUERIES, required=False)
        fps = _list_field(body, "fingerprints", maximum=MAX_DUPLICATE_QUERIES, required=False)
        for s in shas:
            if not isinstance(s, str) or not SHA256_HEX_RE.match(s):
                raise BadRequest("'sha256' entries must be 64 hex characters",
                                 code="validation_error")
        for f in fps:
            if not isinstance(f, str) or len(f) > 100 or not FINGERPRINT_RE.match(f):
                raise BadRequest("'fingerprints' entries must look like '{size}:{sha256 hex}'",
                                 code="validation_error")
        sha_keys = {schema.sha256_sk(s): s.lower() for s in shas}
        fp_keys = {schema.fingerprint_sk(f.lower()): f for f in fps}
        found = self.store.batch_get(schema.user_pk(user_id), [*sha_keys, *fp_keys])
        by_sk = {str(i["SK"]): str(i["videoId"]) for i in found}
        matches: list[dict[str, str]] = []
        for sk, value in sha_keys.items():
            # DESIGN §8: a SHA-256 match is a duplicate only for a record whose bytes are
            # verified in the cloud (fingerprints below are mere candidates)
            if sk in by_sk and self._verified_record(user_id, by_sk[sk]):
                matches.append({"sha256": value, "videoId": by_sk[sk]})
        for sk, value in fp_keys.items():
            if sk in by_sk:
                matches.append({"fingerprint": value, "videoId": by_sk[sk]})
        return Result(200, {"matches": matches})

    def _verified_record(self, user_id: str, video_id: str) -> bool:
        item = self.store.get_video(user_id, video_id)
        return (item is not None and item.get("status") != "pending"
                and item.get("sha256Verified") is True)

    # ================================================================ routing

    def routes(self) -> dict[str, Callable[[Request, str], Result]]:
        return {
            "GET /videos": self.list_videos,
            "POST /videos": self.create_video,
            "POST /videos/duplicates": self.find_duplicates,
            "GET /videos/{videoId}": self.get_video,
            "PATCH /videos/{videoId}": self.patch_video,
            "DELETE /videos/{videoId}": self.delete_video,
            "GET /videos/{videoId}/upload-url": self.upload_url,
            "GET /videos/{videoId}/playback-url": self.playback_url,
            "GET /videos/{videoId}/thumbnail-upload-url": self.thumbnail_upload_url,
            "GET /trash": self.list_trash,
            "POST /trash/{videoId}/restore": self.restore_video,
            "DELETE /trash/{videoId}": self.purge_video,
        }
