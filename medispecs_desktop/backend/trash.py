"""The Trash: ``DELETE /videos/{id}`` moves a recording here instead of destroying it.

A trashed record moves from ``VIDEO#{recordedAt}#{id}`` to ``TRASH#{trashedAt}#{id}`` in one
transaction, so the library's Query no longer sees it (no filter over the partition), its
``VIDEOID#`` pointer follows it (get/restore/purge by id stay O(1), and a POST of the same id
cannot make a second record) and its ``SHA256#``/``FP#`` pointers are removed (a trashed
recording is no duplicate target; uploading the same file again makes a new recording). It
carries ``trashShard``/``trashExpiresAt``, the keys of the sparse ``TrashExpiry`` GSI the
scheduled purge Queries. The bytes and the thumbnail stay where they are.

Restore is the reverse transaction (the duplicate pointers come back; 409 ``duplicate`` when the
same file was stored again meanwhile). Purge - "Delete forever" or the scheduled job after
``trash_retention_days`` - marks the record (so a concurrent restore loses), deletes every S3
version of the object, thumbnail and preview sheet, the markers' stills and the markers,
then the record and its pointer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from . import schema
from .aws import error_code, raise_if_throttled
from .cursors import decode_cursor, encode_cursor
from .errors import Conflict, NotFound
from .logs import logger
from .processing import preview_keys, review_key
from .storage import VideoStorage
from .store import ConflictRetry, Item, VideoStore, to_dynamo
from .thumbnails import thumbnail_key
from .validation import format_utc

__all__ = ["TRASH_ATTRS", "TrashService", "is_trashed"]

TRASH_ATTRS = ("trashedAt", schema.TRASH_EXPIRES_ATTR, schema.TRASH_SHARD_ATTR,
               "purgeStartedAt")
"""Attributes only a record in the Trash carries."""

_ATTEMPTS = 4


def is_trashed(item: Mapping[str, Any]) -> bool:
    return str(item.get("SK", "")).startswith(schema.TRASH_SK_PREFIX)


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {schema.PK_ATTR: {"S": pk}, schema.SK_ATTR: {"S": sk}}


@dataclass(frozen=True, slots=True)
class _Cancelled:
    failed: set[str]


class TrashService:
    """The Trash routes and the purge the scheduled job shares."""

    def __init__(
        self,
        store: VideoStore,
        storage: VideoStorage,
        *,
        retention_days: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.storage = storage
        self.retention_seconds = retention_days * 24 * 3600
        self.clock = clock

    # ================================================================ helpers

    def _iso(self, at: float) -> str:
        return format_utc(datetime.fromtimestamp(at, UTC))

    @property
    def retention_days(self) -> int:
        return self.retention_seconds // 86400

    def _trashed_or_404(self, user_id: str, video_id: str) -> Item:
        item = self.store.get_video(user_id, video_id)
        if item is None or item.get("purgeStartedAt"):
            raise NotFound(f"video {video_id} not found", code="not_found")
        if not is_trashed(item):
            raise Conflict(f"video {video_id} is in the library, not in the Trash",
                           code="not_in_trash")
        return item

    def _transact(self, ops: list[tuple[str, dict[str, Any]]]) -> _Cancelled | None:
        """Run the named operations in one transaction; the names whose condition failed."""
        try:
            items: list[Any] = [op for _, op in ops]
            self.store.db.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise_if_throttled(exc)
                raise
            reasons = exc.response.get("CancellationReasons") or []
            failed = {ops[i][0] for i, r in enumerate(reasons)
                      if i < len(ops) and r.get("Code") == "ConditionalCheckFailed"}
            return _Cancelled(failed)
        return None

    def _pointer_update(self, pk: str, video_id: str, old_sk: str, new_sk: str
                        ) -> dict[str, Any]:
        return {"Update": {
            "TableName": self.store.table,
            "Key": _key(pk, schema.video_id_sk(video_id)),
            "UpdateExpression": "SET #vsk = :new",
            "ConditionExpression": "#vsk = :old",
            "ExpressionAttributeNames": {"#vsk": "videoSK"},
            "ExpressionAttributeValues": {":new": {"S": new_sk}, ":old": {"S": old_sk}},
        }}

    def _delete_versioned(self, pk: str, sk: str, version: int) -> dict[str, Any]:
        return {"Delete": {
            "TableName": self.store.table,
            "Key": _key(pk, sk),
            "ConditionExpression": "attribute_exists(#pk) AND #version = :v",
            "ExpressionAttributeNames": {"#pk": schema.PK_ATTR, "#version": "version"},
            "ExpressionAttributeValues": {":v": {"N": str(version)}},
        }}

    def _put_new(self, item: Item) -> dict[str, Any]:
        return {"Put": {
            "TableName": self.store.table,
            "Item": to_dynamo(item),
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": schema.PK_ATTR},
        }}

    @staticmethod
    def _duplicate_pointers(record: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        """(operation name, SK, entity) of the duplicate pointers ``record`` owns."""
        out: list[tuple[str, str, str]] = []
        if record.get("sha256"):
            out.append(("sha256", schema.sha256_sk(str(record["sha256"])), schema.ENTITY_SHA256))
        if record.get("fingerprint") and record.get("ownsFingerprint"):
            out.append(("fingerprint", schema.fingerprint_sk(str(record["fingerprint"])),
                        schema.ENTITY_FP))
        return out

    # ================================================================ move to Trash

    def move_to_trash(self, user_id: str, video_id: str) -> Item:
        """Move the caller's recording to the Trash. 404 when it is not in the library
        (never was, or already in the Trash: like every ``/videos/{id}`` route)."""
        for _attempt in range(_ATTEMPTS):
            item = self.store.get_video(user_id, video_id)
            if item is None or is_trashed(item):
                raise NotFound(f"video {video_id} not found", code="not_found")
            for session in self.store.query_prefix(user_id, f"UPLOAD#{video_id}#"):
                self.storage.abort_multipart(str(session["s3Key"]), str(session["uploadId"]))
                self.store.delete(str(session["PK"]), str(session["SK"]))
            moved = self._try_move(item)
            if moved is not None:
                logger.info("moved to trash", extra={"videoId": video_id})
                return moved
        raise ConflictRetry("the record changed concurrently; retry")

    def _try_move(self, item: Item) -> Item | None:
        now = self.clock()
        pk, video_id = str(item["PK"]), str(item["videoId"])
        trashed_at = self._iso(now)
        version = int(item.get("version", 1))
        record = dict(item)
        record.update({
            "SK": schema.trash_sk(trashed_at, video_id),
            "trashedAt": trashed_at,
            schema.TRASH_EXPIRES_ATTR: self._iso(now + self.retention_seconds),
            schema.TRASH_SHARD_ATTR: schema.trash_shard(video_id),
            "updatedAt": trashed_at,
            "version": version + 1,
        })
        ops: list[tuple[str, dict[str, Any]]] = [
            ("video", self._delete_versioned(pk, str(item["SK"]), version)),
            ("trash", self._put_new(record)),
            ("pointer", self._pointer_update(pk, video_id, str(item["SK"]), str(record["SK"]))),
        ]
        for name, sk, _entity in self._duplicate_pointers(item):
            ops.append((name, {"Delete": {
                "TableName": self.store.table,
                "Key": _key(pk, sk),
                "ConditionExpression": "attribute_not_exists(#pk) OR #vid = :vid",
                "ExpressionAttributeNames": {"#pk": schema.PK_ATTR, "#vid": "videoId"},
                "ExpressionAttributeValues": {":vid": {"S": video_id}},
            }}))
        if self._transact(ops) is not None:
            return None  # changed meanwhile: the caller re-reads and tries again
        return record

    # ================================================================ restore

    def restore(self, user_id: str, video_id: str) -> Item:
        for _attempt in range(_ATTEMPTS):
            item = self.store.get_video(user_id, video_id)
            if item is not None and not is_trashed(item) and _attempt > 0:
                return item  # restored by a concurrent call
            item = self._trashed_or_404(user_id, video_id)
            restored = self._try_restore(item)
            if restored is not None:
                logger.info("restored from trash", extra={"videoId": video_id})
                return restored
        raise ConflictRetry("the record changed concurrently; retry")

    def _try_restore(self, item: Item) -> Item | None:
        pk, video_id = str(item["PK"]), str(item["videoId"])
        version = int(item.get("version", 1))
        record = {k: v for k, v in item.items() if k not in TRASH_ATTRS}
        record.update({
            "SK": schema.video_sk(str(item["recordedAt"]), video_id),
            "updatedAt": self._iso(self.clock()),
            "version": version + 1,
        })
        own_fp = bool(item.get("ownsFingerprint"))
        for _ in range(2):
            record["ownsFingerprint"] = own_fp
            ops: list[tuple[str, dict[str, Any]]] = [
                ("trash", self._delete_versioned(pk, str(item["SK"]), version)),
                ("video", self._put_new(record)),
                ("pointer", self._pointer_update(pk, video_id, str(item["SK"]),
                                                 str(record["SK"]))),
            ]
            for name, sk, entity in self._duplicate_pointers(record):
                ops.append((name, self._put_new(
                    {"PK": pk, "SK": sk, "entity": entity, "videoId": video_id})))
            cancelled = self._transact(ops)
            if cancelled is None:
                return record
            if "sha256" in cancelled.failed:
                holder = self.store.get(pk, schema.sha256_sk(str(item["sha256"])))
                if holder is not None and holder.get("videoId") != video_id:
                    raise Conflict(
                        f"the same file is in your library again as {holder['videoId']}; "
                        f"delete one of them forever (or keep {video_id} in the Trash)",
                        code="duplicate",
                    )
            if "fingerprint" in cancelled.failed and own_fp:
                own_fp = False  # a hint only: restore without owning it
                continue
            return None
        return None

    # ================================================================ purge

    def purge(self, item: Item) -> bool:
        """Delete a trashed record for good: every S3 version of its object and thumbnail,
        its open multipart uploads, then the record and its ``VIDEOID#`` pointer.

        The record is first marked ``purgeStartedAt`` (a version bump): a restore racing
        with the purge then fails its condition instead of reviving a record whose bytes are
        being deleted. Objects go before the record, so a purge cut short leaves a record
        (retried by the next run), never bytes without an owner. False when another purge
        or a restore won."""
        pk, sk = str(item["PK"]), str(item["SK"])
        user_id, video_id = str(item["userId"]), str(item["videoId"])
        if not item.get("purgeStartedAt"):
            marked = self.store.update_video(
                {"PK": pk, "SK": sk},
                expected_version=int(item.get("version", 1)),
                # expiring now: if this purge is cut short, the next scheduled run finishes it
                set_values={"purgeStartedAt": self._iso(self.clock()),
                            schema.TRASH_EXPIRES_ATTR: self._iso(self.clock())},
            )
            if marked is None:
                return False
        for session in self.store.query_prefix(user_id, f"UPLOAD#{video_id}#"):
            self.storage.abort_multipart(str(session["s3Key"]), str(session["uploadId"]))
            self.store.delete(str(session["PK"]), str(session["SK"]))
        keys = [str(item["s3Key"]), thumbnail_key(user_id, video_id),
                *preview_keys(user_id, video_id),  # frames of the recording: PHI as well
                review_key(user_id, video_id)]
        for derived in ("thumbnailS3Key", "previewSheetS3Key", "previewIndexS3Key",
                        "reviewS3Key"):
            if item.get(derived):
                keys.append(str(item[derived]))
        # its markers go with it, and their stills (frames of the recording) before them
        markers = self.store.query_prefix(user_id, f"MARKER#{video_id}#")
        keys += [str(m["stillS3Key"]) for m in markers if m.get("stillS3Key")]
        self.storage.delete_all_versions(keys)
        for marker in markers:
            self.store.delete(str(marker["PK"]), str(marker["SK"]))
        cancelled = self._transact([
            ("trash", {"Delete": {
                "TableName": self.store.table,
                "Key": _key(pk, sk),
                "ConditionExpression": "attribute_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": schema.PK_ATTR},
            }}),
            ("pointer", {"Delete": {
                "TableName": self.store.table,
                "Key": _key(pk, schema.video_id_sk(video_id)),
                "ConditionExpression": "attribute_not_exists(#pk) OR #vsk = :sk",
                "ExpressionAttributeNames": {"#pk": schema.PK_ATTR, "#vsk": "videoSK"},
                "ExpressionAttributeValues": {":sk": {"S": sk}},
            }}),
        ])
        if cancelled is not None:
            return False
        logger.info("purged from trash", extra={"videoId": video_id, "userId": user_id})
        return True

    # ================================================================ listing, forever

    def page(self, user_id: str, *, limit: int, cursor: str | None
             ) -> tuple[list[Item], str | None]:
        """A page of the user's Trash, newest deleted first, and the next page's cursor."""
        low, high = schema.TRASH_SK_PREFIX, schema.TRASH_SK_PREFIX + "~"
        pk = schema.user_pk(user_id)
        start = (decode_cursor(cursor, pk=pk, low=low, high=high, prefix=schema.TRASH_SK_PREFIX)
                 if cursor else None)
        items, last = self.store.query_videos(user_id, low=low, high=high, limit=limit,
                                              start=start)
        return ([i for i in items if not i.get("purgeStartedAt")],
                encode_cursor(last) if last else None)

    def delete_forever(self, user_id: str, video_id: str) -> None:
        """"Delete forever" of one recording in the Trash (409 ``not_in_trash`` for one in
        the library)."""
        for _attempt in range(_ATTEMPTS):
            item = self.store.get_video(user_id, video_id)
            if item is None:
                raise NotFound(f"video {video_id} not found", code="not_found")
            if not is_trashed(item):
                raise Conflict(f"video {video_id} is in the library, not in the Trash",
                               code="not_in_trash")
            if self.purge(item):
                return
        raise ConflictRetry("the record changed concurrently; retry")
