"""One uploaded object through the pipeline: find its record, claim it, probe the media, make
the poster thumbnail and the preview sheet, and record the outcome.

Status moves ``uploaded → processing → ready`` (or ``error`` with a plain ``statusReason``). Every
write is conditional, keyed by the object's ETag, so that

- a redelivered event for an object already processed (``processedETag`` equals the object's
  ETag) writes nothing: same ``version``, same ``updatedAt``;
- two workers never process one object at once (the claim is a compare-and-swap of the
  record's claim token; a claim older than :data:`CLAIM_LEASE_SECONDS` - a worker that died -
  can be taken over);
- none of these writes bumps the record's ``version`` (the version of the user's edits): a
  client that read the record before processing finished edits its title without a 409;
- a ``ready`` record whose object is replaced (a re-upload to the same key) stays ``ready``
  while the new bytes are processed: status never goes back;
- an event that is older than the object (S3 does not order events) processes whatever the
  object is now (its HeadObject), so a stale event cannot undo a newer result.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ..logs import logger
from ..storage import VideoStorage
from ..store import Item, VideoStore
from ..thumbnails import thumbnail_key
from ..trash import is_trashed
from . import preview_keys, review_key
from .media import MediaError, MediaInfo, preview_sheet, probe, thumbnail_jpeg
from .review import REVIEW_MAX_SECONDS, make_review_copy, review_reason
from .s3io import S3RangeFile

__all__ = [
    "CLAIM_LEASE_SECONDS",
    "Outcome",
    "Processor",
    "RetryLater",
    "parse_video_key",
    "preview_keys",
]

CLAIM_ATTRIBUTES = ("processingETag", "processingStartedAt", "processingClaim")
"""What a worker's claim of a record is made of (removed when it finishes or gives up)."""
CLAIM_LEASE_SECONDS = 16 * 60
"""A ``processing`` claim older than this belongs to a worker that died (the function times out
at 15 minutes): another delivery may take it over."""

# videos/{userId}/{videoId}.{ext}: the keys the catalog builds (videos.video_key)
_VIDEO_KEY = re.compile(r"^videos/([^/]{1,128})/(v_[A-Za-z0-9_-]{1,62}|[A-Za-z0-9_-]{1,64})"
                        r"\.([a-z0-9]{1,8})$")


class RetryLater(Exception):
    """Not yet possible (no record yet, bytes not confirmed, another worker on it): the event
    stays on the queue and comes back after ``delay`` seconds."""

    def __init__(self, reason: str, delay: int = 2) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: Literal["ready", "error", "skipped", "ignored"]
    detail: str = ""
    record: Item | None = None


def parse_video_key(key: str) -> tuple[str, str] | None:
    """``(userId, videoId)`` of a ``videos/{userId}/{videoId}.{ext}`` key, else ``None``."""
    m = _VIDEO_KEY.match(key)
    return (m.group(1), m.group(2)) if m else None


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Processor:
    """The pipeline over the backend's own table and bucket adapters. Its AWS calls are few
    (its role grants only them): HeadObject/ranged GetObject of ``videos/``, PutObject of
    ``thumbnails/`` and ``previews/``, GetItem and UpdateItem of the record."""

    def __init__(
        self,
        store: VideoStore,
        storage: VideoStorage,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.storage = storage
        self.clock = clock

    # ------------------------------------------------------------------ entry

    def process(self, key: str) -> Outcome:
        """Process the object now at ``key`` (the event names the key; HeadObject says which
        bytes are there now). Raises :class:`RetryLater` or an AWS error to be retried."""
        ids = parse_video_key(key)
        if ids is None:
            return Outcome("ignored", "not a recording key")
        user_id, video_id = ids
        item = self.store.get_video(user_id, video_id)
        if item is None:
            # the guide's console flow PUTs the bytes before POST /videos creates the record
            raise RetryLater("no record for this object yet")
        if is_trashed(item):
            return Outcome("ignored", "the recording is in the Trash")
        if str(item.get("s3Key")) != key:
            return Outcome("ignored", "the record names another object")
        if item.get("status") == "pending":
            # the API confirms the bytes (and checks a claimed SHA-256, deleting a mismatch)
            # on the client's next call: this function neither deletes nor re-verifies
            raise RetryLater("the upload is not confirmed by the API yet")
        info = self.storage.head(key)
        if info is None:
            return Outcome("ignored", "the object is gone")
        etag = info.etag or ""
        status = item.get("status")
        if item.get("processedETag") == etag and status in ("ready", "error"):
            return Outcome("skipped", "already processed", item)
        if status == "processing" and item.get("processingETag") == etag \
                and float(item.get("processingStartedAt", 0)) > self.clock() - CLAIM_LEASE_SECONDS:
            raise RetryLater("another worker is processing this object", delay=30)
        claimed = self._claim(item, etag)
        prior = str(item.get("status"))
        try:
            outcome = self._run(claimed, key, etag, info.size)
        except BaseException:
            self._release(claimed, etag, prior)
            raise
        return outcome

    # ------------------------------------------------------------------ steps

    def _key(self, item: Item) -> dict[str, str]:
        return {"PK": str(item["PK"]), "SK": str(item["SK"])}

    def _claim(self, item: Item, etag: str) -> Item:
        """Take the record for processing ``etag``: a compare-and-swap on the claim token
        (``processingClaim``) as it was read, so two workers never both win, without touching
        the user-edit ``version``."""
        now = self.clock()
        values: dict[str, Any] = {
            "processingETag": etag,
            "processingStartedAt": int(now),
            "processingClaim": uuid.uuid4().hex,
        }
        if item.get("status") != "ready":  # a ready record stays ready while re-processed
            values["status"] = "processing"
            values["updatedAt"] = _utc(now)
        seen = item.get("processingClaim")
        claimed = self.store.update_video(
            self._key(item), expected_version=None, set_values=values,
            condition="#status IN (:uploaded, :processing, :ready, :error) AND "
                      + ("processingClaim = :seen" if seen else
                         "attribute_not_exists(processingClaim)"),
            condition_values={":uploaded": "uploaded", ":processing": "processing",
                              ":ready": "ready", ":error": "error",
                              **({":seen": str(seen)} if seen else {})},
            bump_version=False,
        )
        if claimed is None:
            raise RetryLater("the record changed while it was claimed", delay=1)
        return claimed

    def _release(self, item: Item, etag: str, prior: str) -> None:
        """Give the claim back after a failure that will be retried (status as before)."""
        try:
            self.store.update_video(
                self._key(item), expected_version=None,
                set_values={"status": prior if prior != "processing" else "uploaded"},
                remove=CLAIM_ATTRIBUTES,
                condition="#status IN (:processing, :ready) AND processingClaim = :claim",
                condition_values={":processing": "processing", ":ready": "ready",
                                  ":claim": str(item.get("processingClaim"))},
                bump_version=False,
            )
        except Exception:  # noqa: BLE001 - the lease expires anyway
            logger.warning("could not release the processing claim", exc_info=True)

    def _run(self, item: Item, key: str, etag: str, size: int) -> Outcome:
        user_id, video_id = str(item["userId"]), str(item["videoId"])
        f = S3RangeFile(lambda: self.storage.s3, self.storage.bucket, key, size=size, etag=etag)
        try:
            info = probe(f, size)
            values = self._media_values(info)
            # the client's own thumbnail is kept; one this function made for older bytes
            # (a re-upload) is made again
            made_for = item.get("thumbnailMadeForETag")
            if not item.get("thumbnailS3Key") or (made_for and made_for != etag):
                thumb_key = thumbnail_key(user_id, video_id)
                self._put(thumb_key, thumbnail_jpeg(f, info), "image/jpeg")
                values.update(thumbnailS3Key=thumb_key, thumbnailMadeForETag=etag)
            sheet = preview_sheet(f, info)
            sheet_key, index_key = preview_keys(user_id, video_id)
            self._put(sheet_key, sheet.jpeg, "image/jpeg")
            self._put(index_key, sheet.index_json(), "application/json")
            values.update(previewSheetS3Key=sheet_key, previewIndexS3Key=index_key,
                          status="ready")
            remove: tuple[str, ...] = ("statusReason", "errorKind")
            values.update(self._review_copy(f, info, user_id, video_id))
            if "reviewS3Key" not in values:
                remove = (*remove, "reviewS3Key")
            kind: Literal["ready", "error"] = "ready"
        except MediaError as exc:
            values = {"status": "error", "statusReason": exc.reason, "errorKind": exc.kind}
            remove = ()
            kind = "error"
        finally:
            f.close()
        now = self.clock()
        values.update(processedETag=etag, processedAt=_utc(now), updatedAt=_utc(now))
        done = self.store.update_video(
            self._key(item), expected_version=None, set_values=values,
            remove=(*remove, *CLAIM_ATTRIBUTES),
            condition="#status IN (:processing, :ready) AND processingClaim = :claim",
            condition_values={":processing": "processing", ":ready": "ready",
                              ":claim": str(item.get("processingClaim"))},
            bump_version=False,  # the service's own results: no user edit becomes stale
        )
        if done is None:  # a newer claim (a re-upload) took over: its result wins
            return Outcome("skipped", "superseded by a newer upload")
        logger.info("processed recording", extra={
            "videoId": video_id, "outcome": kind, "reason": values.get("statusReason")})
        return Outcome(kind, str(values.get("statusReason", "")), done)

    @staticmethod
    def _media_values(info: MediaInfo) -> dict[str, Any]:
        values: dict[str, Any] = {
            "durationSec": info.duration_sec,
            "width": info.width,
            "height": info.height,
            "codec": info.codec,
            "rotation": info.rotation,
        }
        if info.frame_rate is not None:
            values["frameRate"] = info.frame_rate
        if info.container_created_at is not None:
            values["containerCreatedAt"] = info.container_created_at
        if info.audio_codec is not None:
            values["audioCodec"] = info.audio_codec
        return values

    def _review_copy(self, f: S3RangeFile, info: MediaInfo, user_id: str, video_id: str
                     ) -> dict[str, Any]:
        """An H.264/AAC review copy when the desktop player cannot play the original in real
        time (``processing/review.py``); the original is never touched."""
        reason = review_reason(info)
        if reason is None:
            return {"reviewCopy": "not_needed"}
        if info.duration_sec > REVIEW_MAX_SECONDS:
            logger.info("no review copy: too long", extra={"videoId": video_id})
            return {"reviewCopy": "too_long", "reviewReason": reason}
        key = review_key(user_id, video_id)
        with tempfile.TemporaryDirectory() as folder:  # the function's /tmp
            path = os.path.join(folder, "review.mp4")
            make_review_copy(f, path, info)
            with open(path, "rb") as out:
                self.storage.s3.put_object(Bucket=self.storage.bucket, Key=key, Body=out,
                                           ContentType="video/mp4")
        return {"reviewCopy": "made", "reviewReason": reason, "reviewS3Key": key}

    def _put(self, key: str, body: bytes, content_type: str) -> None:
        self.storage.s3.put_object(Bucket=self.storage.bucket, Key=key, Body=body,
                                   ContentType=content_type)

