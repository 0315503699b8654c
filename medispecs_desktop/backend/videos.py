"""The recordings catalog: a user's video records and their rules (DESIGN §4/§8).

Typed calls, no HTTP: the routes (``api/videos.py``) turn requests into these calls and the
records (plain items) into answers. DynamoDB and S3 are reached through ``VideoStore`` and
``VideoStorage`` only; a client mistake is raised as an ``ApiError``.

A record is ``pending`` until its object is in S3 (:meth:`VideoCatalog.confirm_upload` promotes
it on the next call that looks, checking a claimed checksum), then ``uploaded``/``ready``
(:func:`integrity.upload_status`), then ``processing``/``ready``/``error`` (the processing
function, ``processing/pipeline.py``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import schema
from .config import BackendConfig
from .cursors import decode_cursor, encode_cursor
from .errors import BadRequest, Conflict, NotFound
from .integrity import ChecksumMismatch, upload_status, verify
from .logs import logger
from .storage import ObjectChanged, VideoStorage
from .store import ConflictRetry, Item, VideoStore
from .thumbnails import ThumbnailService, thumbnail_key
from .trash import is_trashed
from .validation import extension_for, format_utc, strip_controls

__all__ = ["NewVideo", "VideoCatalog", "VideoEdit", "video_key"]

OPTIONAL_CREATE_FIELDS = ("deviceId", "durationSec", "fileSizeBytes", "mimeType", "width",
                          "height", "codec", "notes", "uploadKind")


def video_key(user_id: str, video_id: str, content_type: str | None) -> str:
    return f"videos/{user_id}/{video_id}.{extension_for(content_type)}"


@dataclass(frozen=True, slots=True)
class NewVideo:
    """A record to create (``POST /videos``); checksums already checked for shape."""

    video_id: str
    title: str
    recorded_at: str
    sha256: str | None = None
    crc64nvme: str | None = None
    fingerprint: str | None = None
    optional: dict[str, Any] | None = None
    """The ``OPTIONAL_CREATE_FIELDS`` given (deviceId, durationSec, ...)."""


@dataclass(frozen=True, slots=True)
class VideoEdit:
    """A user's edit (``PATCH /videos/{id}``) made against ``version``."""

    version: int
    title: str | None = None
    notes: str | None = None
    thumbnail: bool = False


class VideoCatalog:
    def __init__(
        self,
        config: BackendConfig,
        store: VideoStore,
        storage: VideoStorage,
        thumbnails: ThumbnailService,
        *,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: "v_" + uuid.uuid4().hex,
    ) -> None:
        self.config = config
        self.store = store
        self.storage = storage
        self.thumbnails = thumbnails
        self.clock = clock
        self.new_id = new_id

    def now(self) -> str:
        return format_utc(datetime.fromtimestamp(self.clock(), UTC))

    # ================================================================ reading one record

    def unless_trashed(self, user_id: str, video_id: str) -> Item | None:
        """The record, or None when there is none yet (URL-first flows); 404 for a video in
        the Trash: a deleted recording takes no new bytes."""
        item = self.store.get_video(user_id, video_id)
        if item is not None and is_trashed(item):
            raise NotFound(f"video {video_id} not found", code="not_found")
        return item

    def get_or_404(self, user_id: str, video_id: str) -> Item:
        item = self.store.get_video(user_id, video_id)
        if item is None or is_trashed(item):  # the Trash is reached through /trash only
            raise NotFound(f"video {video_id} not found", code="not_found")
        return item

    def get(self, user_id: str, video_id: str) -> Item:
        """The record, promoted from ``pending`` if its bytes arrived meanwhile."""
        return self.confirm_upload(self.get_or_404(user_id, video_id))

    def playback_key(self, user_id: str, video_id: str) -> str:
        """The object to stream: the review copy when the processing made one (the desktop
        player cannot play the original smoothly), else the original; 409 ``not_uploaded``
        while the record has no bytes."""
        item = self.get(user_id, video_id)
        if item.get("status") == "pending":
            raise Conflict(f"video {video_id} has no uploaded bytes yet", code="not_uploaded")
        return str(item.get("reviewS3Key") or item["s3Key"])

    # ================================================================ confirming uploads

    def discard_mismatched(self, key: str, video_id: str) -> None:
        """Delete an object whose bytes are not the file's, so nothing can point at them."""
        logger.warning("sha256 mismatch: object deleted",
                       extra={"s3Key": key, "videoId": video_id})
        self.storage.delete_objects([key])

    def confirm_upload(self, item: Item, *, strict: bool = False) -> Item:
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
                values.update(verify(info, item.get("sha256"), item.get("crc64nvme"),
                                     now=self.now()))
            except ChecksumMismatch:
                self.discard_mismatched(key, str(item["videoId"]))
                if strict:
                    raise
                return item
            except ObjectChanged:
                if strict:
                    raise
                return item  # overwritten meanwhile: still pending, the next call checks
        user_id, video_id = str(item["userId"]), str(item["videoId"])
        values.update({"fileSizeBytes": info.size, "updatedAt": self.now()})
        has_thumb = bool(item.get("thumbnailS3Key")) or \
            self.thumbnails.uploaded(user_id, video_id) is not None
        if has_thumb:
            values["thumbnailS3Key"] = thumbnail_key(user_id, video_id)
        values["status"] = upload_status(item, has_thumbnail=has_thumb)
        if not item.get("mimeType") and info.content_type:
            values["mimeType"] = info.content_type
        updated = self.store.update_video(
            {"PK": str(item["PK"]), "SK": str(item["SK"])},
            expected_version=None,
            set_values=values,
            condition="#status = :pending",
            condition_values={":pending": "pending"},
            bump_version=False,  # the service's own update: no user edit becomes stale
        )
        if updated is not None:
            return updated
        fresh = self.store.get(str(item["PK"]), str(item["SK"]))  # promoted concurrently
        return fresh if fresh is not None else item

    # ================================================================ list / create

    def page(self, user_id: str, *, date_from: str | None, date_to: str | None, limit: int,
             cursor: str | None) -> tuple[list[Item], str | None]:
        """A newest-first page of the library between two normalised UTC bounds, and the
        cursor of the next page."""
        if date_from and date_to and date_from > date_to:
            raise BadRequest("'from' must not be after 'to'", code="invalid_range")
        low = schema.VIDEO_SK_PREFIX + (date_from or "")
        high = schema.VIDEO_SK_PREFIX + (date_to or "") + "~"
        pk = schema.user_pk(user_id)
        start = decode_cursor(cursor, pk=pk, low=low, high=high) if cursor else None
        items, last = self.store.query_videos(user_id, low=low, high=high, limit=limit,
                                              start=start)
        return items, encode_cursor(last) if last else None

    def create(self, user_id: str, new: NewVideo) -> tuple[Item, bool]:
        """Create the record (``True``), or answer the one with this videoId (``False``).

        409 ``duplicate`` when the same SHA-256 is stored already, ``in_trash`` for a
        deleted one, ``size_mismatch``/``checksum_mismatch`` when the uploaded object is
        not the file described."""
        video_id = new.video_id
        optional = dict(new.optional or {})
        mime = optional.get("mimeType")
        key = video_key(user_id, video_id, mime)
        existing = self.store.get_video(user_id, video_id)
        if existing is not None and is_trashed(existing):
            raise Conflict(f"video {video_id} is in the Trash: restore it instead",
                           code="in_trash")
        if existing is not None:
            return self.confirm_upload(existing, strict=True), False

        info = self.storage.head(key, checksums=True)
        now = self.now()
        record: Item = {
            "PK": schema.user_pk(user_id),
            "SK": schema.video_sk(new.recorded_at, video_id),
            "entity": schema.ENTITY_VIDEO,
            "videoId": video_id,
            "userId": user_id,
            "title": new.title,
            "recordedAt": new.recorded_at,
            "s3Key": key,
            "s3Bucket": self.storage.bucket,
            "createdAt": now,
            "updatedAt": now,
            "version": 1,
        }
        record.update({k: v for k, v in optional.items() if k in OPTIONAL_CREATE_FIELDS})
        for name, value in (("sha256", new.sha256), ("crc64nvme", new.crc64nvme),
                            ("fingerprint", new.fingerprint)):
            if value:
                record[name] = value
        if optional.get("damaged") is True:  # kept on the user's word, marked damaged
            record["damaged"] = True
        if optional.get("damagedReason"):
            record["damagedReason"] = strip_controls(optional["damagedReason"]) or "damaged"
        if info is None:
            if optional.get("uploadKind"):
                raise Conflict(
                    f"no uploaded object for {video_id}: upload the bytes before creating the "
                    "record",
                    code="not_uploaded",
                )
            record["status"] = "pending"
        else:
            claimed = optional.get("fileSizeBytes")
            if claimed is not None and claimed != info.size:
                raise Conflict(
                    f"fileSizeBytes {claimed} differs from the uploaded object's {info.size} bytes",
                    code="size_mismatch",
                )
            if new.sha256 or new.crc64nvme:
                try:
                    record.update(verify(info, new.sha256, new.crc64nvme, now=now))
                except ChecksumMismatch:
                    self.discard_mismatched(key, video_id)
                    raise
            record["fileSizeBytes"] = info.size
            if not mime and info.content_type:
                record["mimeType"] = info.content_type
            thumb = self.thumbnails.uploaded(user_id, video_id)
            if thumb:
                record["thumbnailS3Key"] = thumb
            record["status"] = upload_status(record, has_thumbnail=bool(thumb))

        outcome = self.store.create_video(record, sha256=new.sha256, fingerprint=new.fingerprint)
        if outcome.kind == "duplicate":
            if info is not None:
                # the same file won the race from elsewhere: these bytes (and a thumbnail
                # sent with them) have no record and never will (no object without an owner)
                logger.info("duplicate upload: object deleted",
                            extra={"s3Key": key, "videoId": video_id})
                self.storage.delete_objects(
                    [k for k in (key, record.get("thumbnailS3Key")) if k])
            raise Conflict(
                f"this file is already stored as {outcome.duplicate_of}", code="duplicate"
            )
        assert outcome.item is not None
        if outcome.kind == "exists":
            return self.confirm_upload(outcome.item, strict=True), False
        return outcome.item, True

    # ================================================================ edit

    def edit(self, user_id: str, video_id: str, edit: VideoEdit) -> Item:
        """Apply a user's edit of the title/notes if the record is still at ``edit.version``
        (409 ``version_conflict`` otherwise: another edit came first); the edit bumps the
        version. Attaching the uploaded thumbnail is no user edit: alone, it neither compares
        nor bumps the version (the server may have worked on the record meanwhile)."""
        user_edit = edit.title is not None or edit.notes is not None
        thumb = None
        for _attempt in range(3):
            item = self.get_or_404(user_id, video_id)
            if user_edit and int(item.get("version", 0)) != edit.version:
                raise self._version_conflict(edit.version, item)
            values: dict[str, Any] = {"updatedAt": self.now()}
            if edit.title is not None:
                values["title"] = edit.title
            if edit.notes is not None:
                values["notes"] = edit.notes
            status = str(item.get("status"))
            if edit.thumbnail:
                thumb = thumb or self.thumbnails.uploaded(user_id, video_id)
                if thumb is None:
                    raise Conflict("no thumbnail has been uploaded for this video",
                                   code="thumbnail_not_uploaded")
                values["thumbnailS3Key"] = thumb
                if status in ("uploaded", "ready") and \
                        upload_status(item, has_thumbnail=True) == "ready":
                    values["status"] = "ready"
            updated = self.store.update_video(
                {"PK": str(item["PK"]), "SK": str(item["SK"])},
                expected_version=edit.version if user_edit else None,
                set_values=values,
                # a status is set only over the one it was decided from (not over the
                # processing function's "processing" that began meanwhile)
                condition="#status = :seen" if "status" in values else None,
                condition_values={":seen": status},
                bump_version=user_edit,
            )
            if updated is not None:
                return updated
            current = self.store.get(str(item["PK"]), str(item["SK"]))
            if current is None:
                raise NotFound(f"video {video_id} not found", code="not_found")
            if user_edit and int(current.get("version", 0)) != edit.version:
                raise self._version_conflict(edit.version, current)
        raise ConflictRetry("the record changed concurrently; retry")

    @staticmethod
    def _version_conflict(expected: int, item: Item) -> Conflict:
        return Conflict(
            f"version {expected} is stale; the video is at version {item.get('version')}",
            code="version_conflict",
        )

    # ================================================================ duplicates

    def duplicates(self, user_id: str, sha256s: list[str], fingerprints: list[str]
                   ) -> list[dict[str, str]]:
        """Which of these files the user has stored: a SHA-256 only of a record whose bytes
        are verified in the cloud (DESIGN §8), a fingerprint as a mere candidate."""
        sha_keys = {schema.sha256_sk(s): s.lower() for s in sha256s}
        fp_keys = {schema.fingerprint_sk(f.lower()): f for f in fingerprints}
        found = self.store.batch_get(schema.user_pk(user_id), [*sha_keys, *fp_keys])
        by_sk = {str(i["SK"]): str(i["videoId"]) for i in found}
        matches: list[dict[str, str]] = []
        for sk, value in sha_keys.items():
            if sk in by_sk and self._verified_record(user_id, by_sk[sk]):
                matches.append({"sha256": value, "videoId": by_sk[sk]})
        for sk, value in fp_keys.items():
            if sk in by_sk:
                matches.append({"fingerprint": value, "videoId": by_sk[sk]})
        return matches

    def _verified_record(self, user_id: str, video_id: str) -> bool:
        item = self.store.get_video(user_id, video_id)
        return (item is not None and item.get("status") != "pending"
                and item.get("sha256Verified") is True)
