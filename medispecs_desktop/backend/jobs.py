"""Scheduled server-side jobs (the ``videos-jobs`` Lambda, run by EventBridge schedules).

``purge-trash``
    Deletes for good every Trash record whose ``trashExpiresAt`` has passed: one Query per
    shard of the sparse ``TrashExpiry`` GSI (only Trash records carry its keys), never a Scan.
    Chosen over DynamoDB TTL + a stream: TTL deletes the item whenever it gets to it (days late)
    and *first*, so a failed stream consumer would leave bytes without a record; here the bytes
    go first and the record last, every step is idempotent, and a purge cut short is simply
    finished by the next run. The same purge serves "Delete forever" (``trash.TrashService``).
``sweep-orphans``
    Every object has an owner: objects under ``videos/`` older than ``ORPHAN_MIN_AGE_SECONDS``
    whose key no record holds (a lost race, a refused record, a crash between upload and
    record), and thumbnails under ``thumbnails/`` of a video with neither a record nor an
    open upload (a client sends the thumbnail while the bytes go, before the record exists),
    are deleted - on a versioned bucket that leaves a noncurrent version, recoverable until
    the lifecycle rule expires it - and multipart uploads that old with no session item are
    aborted, as are those whose session's TTL has passed (the bucket's abort-incomplete rule
    stays the last net). ``orphan_objects``/``orphan_uploads`` only find them (the test suite's
    end-of-session check uses them with no minimum age).

``verify-sha256``
    Streams once each object whose record has no verified SHA-256 (older clients, the console)
    and records it, so the recording becomes a duplicate target (``verify_sha256``).

All stop early, leaving the rest to the next run, when the Lambda's remaining time runs low.
``run_job(name, config, clock=...)`` runs one on demand (the local stack, tests).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from . import schema
from .aws import AwsClients, raise_if_throttled
from .config import BackendConfig
from .logs import configure_json_logging, logger
from .services import Services
from .storage import ObjectChanged, OpenUpload
from .store import Item, from_dynamo
from .thumbnails import thumbnail_key
from .trash import is_trashed
from .validation import USER_ID_RE, VIDEO_ID_RE, format_utc

__all__ = ["JOBS", "ORPHAN_MIN_AGE_SECONDS", "SHA256_JOB_MAX_BYTES", "JobReport", "Jobs",
           "Sha256Report", "run_job", "scheduled_handler"]

SHA256_JOB_MAX_BYTES = 32 * 1024**3
"""Largest object ``verify-sha256`` reads: a Lambda streams S3 at 50 MB/s or more and hashes
faster, so 32 GiB (11.5 minutes at 50 MB/s) fit in its 15 minutes; a larger one is logged and
left (it would never finish)."""
ORPHAN_MIN_AGE_SECONDS = 24 * 3600
"""An object or multipart upload younger than this may still be on its way to a record."""
DEADLINE_MARGIN_SECONDS = 20.0
VIDEOS_PREFIX = "videos/"
THUMBNAILS_PREFIX = "thumbnails/"


@dataclass(slots=True)
class JobReport:
    job: str
    purged: int = 0
    removedObjects: int = 0  # the JSON names of the report
    abortedUploads: int = 0
    complete: bool = True


@dataclass(slots=True)
class Sha256Report:
    job: str
    verified: int = 0
    """Records whose SHA-256 is now verified (a duplicate target)."""
    mismatched: int = 0
    """Records whose object is not the file their client hashed."""
    complete: bool = True


def owner_of_key(key: str) -> tuple[str, str] | None:
    """(userId, videoId) of a key the server makes (``videos/{userId}/{videoId}.{ext}``, or
    the thumbnail's ``thumbnails/{userId}/{videoId}.jpg``)."""
    parts = key.split("/")
    if len(parts) != 3 or f"{parts[0]}/" not in (VIDEOS_PREFIX, THUMBNAILS_PREFIX) \
            or "." not in parts[2]:
        return None
    user_id, video_id = parts[1], parts[2].rsplit(".", 1)[0]
    if not USER_ID_RE.match(user_id) or not VIDEO_ID_RE.match(video_id):
        return None
    if key.startswith(THUMBNAILS_PREFIX) and key != thumbnail_key(user_id, video_id):
        return None
    return user_id, video_id


def _live(session: Item, now: float) -> bool:
    """The upload session's TTL has not passed (DynamoDB deletes expired items days late)."""
    return int(session.get("ttl") or now + 1) > now


class Jobs:
    """The scheduled jobs over one configuration (clients built lazily, clock injectable)."""

    def __init__(
        self,
        config: BackendConfig,
        *,
        clients: AwsClients | None = None,
        clock: Callable[[], float] = time.time,
        out_of_time: Callable[[], bool] = lambda: False,
        only_user: str | None = None,
        only_video: str | None = None,
    ) -> None:
        self.only_user = only_user
        """Restrict a run to one user's items and ``videos/{user}/`` (tests on a shared stack)."""
        self.only_video = only_video if only_user else None
        """With ``only_user``: only this recording's objects (``videos/{user}/{video}.``)."""
        self.clients = clients or AwsClients(config)
        self.service = Services.build(config, self.clients, clock=clock)
        self.store = self.service.store
        self.storage = self.service.storage
        self.clock = clock
        self.out_of_time = out_of_time

    # ---------------------------------------------------------------- purge-trash

    def _expired_keys(self, shard: str, now_iso: str) -> Iterator[dict[str, str]]:
        kwargs: dict[str, Any] = {
            "TableName": self.store.table,
            "IndexName": schema.TRASH_INDEX,
            "KeyConditionExpression": "#shard = :shard AND #exp <= :now",
            "ExpressionAttributeNames": {"#shard": schema.TRASH_SHARD_ATTR,
                                         "#exp": schema.TRASH_EXPIRES_ATTR},
            "ExpressionAttributeValues": {":shard": {"S": shard}, ":now": {"S": now_iso}},
        }
        while True:
            try:
                resp = self.store.db.query(**kwargs)
            except ClientError as exc:
                raise_if_throttled(exc)
                raise
            for raw in resp.get("Items", []):
                item = from_dynamo(raw)
                yield {"PK": str(item["PK"]), "SK": str(item["SK"])}
            if not resp.get("LastEvaluatedKey"):
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def purge_trash(self) -> JobReport:
        report = JobReport("purge-trash")
        now_iso = format_utc(datetime.fromtimestamp(self.clock(), UTC))
        for n in range(schema.TRASH_SHARDS):
            for key in self._expired_keys(f"TRASH#{n}", now_iso):
                if self.out_of_time():
                    report.complete = False
                    return report
                if self.only_user and key["PK"] != schema.user_pk(self.only_user):
                    continue
                item = self.store.get(key["PK"], key["SK"])  # the index is eventually consistent
                if item is None or not is_trashed(item):
                    continue
                if str(item.get(schema.TRASH_EXPIRES_ATTR, "~")) > now_iso:
                    continue
                if self.service.trash.purge(item):
                    report.purged += 1
        logger.info("job done", extra=asdict(report))
        return report

    # ---------------------------------------------------------------- sweep-orphans

    def _owned(self, key: str) -> bool:
        owner = owner_of_key(key)
        thumbnail = key.startswith(THUMBNAILS_PREFIX)
        if owner is None:
            return thumbnail  # under thumbnails/ but no video's: a marker's still (its marker's)
        record = self.store.get_video(*owner)
        if thumbnail:
            # the record holds it, or will: the video's upload is still open (a live session)
            return record is not None or self._uploading(*owner)
        return record is not None and str(record.get("s3Key")) == key

    def _uploading(self, user_id: str, video_id: str) -> bool:
        """The video has a live upload session."""
        now = self.clock()
        sessions = self.store.query_prefix(user_id, schema.upload_sk(video_id, ""))
        return any(_live(s, now) for s in sessions)

    def _prefix(self, top: str = VIDEOS_PREFIX) -> str:
        if not self.only_user:
            return top
        return f"{top}{self.only_user}/" + (f"{self.only_video}." if self.only_video else "")

    def orphan_objects(self, cutoff: float) -> Iterator[list[str]]:
        """Keys under ``videos/`` last written before ``cutoff`` that no record holds, then
        thumbnails of videos without a record, one list per page of ListObjectsV2 (the caller
        may stop between pages)."""
        for page in self._object_pages():
            yield [
                str(o["Key"]) for o in page
                if o["LastModified"].timestamp() < cutoff and not self._owned(str(o["Key"]))
            ]

    def _object_pages(self) -> Iterator[list[Any]]:
        """The objects under this run's prefixes, one list per ListObjectsV2 page (boto3's
        paginator follows the continuation tokens)."""
        for top in (VIDEOS_PREFIX, THUMBNAILS_PREFIX):
            pages = self.clients.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.storage.bucket, Prefix=self._prefix(top))
            for page in pages:
                yield list(page.get("Contents", []))

    def orphan_uploads(self, cutoff: float) -> Iterator[tuple[OpenUpload, Item | None]]:
        """Multipart uploads under ``videos/`` begun before ``cutoff`` with no live session
        item: none, or one whose TTL has passed (DynamoDB deletes those days late). Each
        comes with its expired session, if any, to delete along with it."""
        now = self.clock()
        for upload in self.storage.open_uploads(self._prefix()):
            if upload.initiated >= cutoff:
                continue
            owner = owner_of_key(upload.key)
            session = None
            if owner is not None:
                session = self.store.get(schema.user_pk(owner[0]),
                                         schema.upload_sk(owner[1], upload.upload_id))
            if session is None or str(session.get("s3Key")) != upload.key:
                yield upload, None
            elif not _live(session, now):
                yield upload, session

    def sweep_orphans(self) -> JobReport:
        report = JobReport("sweep-orphans")
        cutoff = self.clock() - ORPHAN_MIN_AGE_SECONDS
        for orphans in self.orphan_objects(cutoff):
            if orphans:
                logger.warning("removing objects without a record",
                               extra={"count": len(orphans), "keys": orphans[:20]})
                self.storage.delete_objects(orphans)
                report.removedObjects += len(orphans)
            if self.out_of_time():
                report.complete = False
                return report
        for upload, expired in self.orphan_uploads(cutoff):
            self.storage.abort_multipart(upload.key, upload.upload_id)
            if expired is not None:
                self.store.delete(str(expired["PK"]), str(expired["SK"]))
            report.abortedUploads += 1
            if self.out_of_time():
                report.complete = False
                break
        logger.info("job done", extra=asdict(report))
        return report


    # ---------------------------------------------------------------- verify-sha256

    def _needs_sha256(self, record: Item | None, key: str, etag: str) -> bool:
        """A record whose bytes have no verified SHA-256 yet, not checked at this ETag."""
        return (record is not None and not is_trashed(record)
                and str(record.get("s3Key")) == key
                and record.get("status") in ("uploaded", "processing", "ready", "error")
                and record.get("sha256Verified") is not True
                and record.get("sha256CheckedETag") != etag)

    def verify_sha256(self) -> Sha256Report:
        """Records made by older clients (or the console) carry no verified SHA-256, so they
        are no duplicate target and a card holding their file is never "safe to erase": read
        each such object once, in one streaming GET in constant memory, and record its
        SHA-256 (``store.record_sha256``). Objects above ``SHA256_JOB_MAX_BYTES`` are left
        (they would not finish in one run); one cut short by the deadline is read again by
        the next run."""
        report = Sha256Report("verify-sha256")
        for page in self._object_pages():
            for obj in page:
                if self.out_of_time():
                    report.complete = False
                    return report
                key, etag = str(obj["Key"]), str(obj.get("ETag", "")).strip('"')
                owner = owner_of_key(key)
                record = self.store.get_video(*owner) if owner else None
                if record is None or not self._needs_sha256(record, key, etag):
                    continue
                if int(obj.get("Size", 0)) > SHA256_JOB_MAX_BYTES:
                    logger.warning("object too large to hash in one run", extra={"s3Key": key})
                    continue
                try:
                    digest = self.storage.sha256_of(key, etag=etag,
                                                    out_of_time=self.out_of_time)
                except ObjectChanged:
                    continue  # replaced meanwhile: its new version is checked next time
                if digest is None:
                    report.complete = False
                    return report
                outcome = self.store.record_sha256(
                    record, digest, etag=etag,
                    verified_at=format_utc(datetime.fromtimestamp(self.clock(), UTC)))
                if outcome == "verified":
                    report.verified += 1
                elif outcome == "mismatch":
                    report.mismatched += 1
                    logger.warning("object is not the file its client hashed",
                                   extra={"s3Key": key, "videoId": record.get("videoId")})
        logger.info("job done", extra=asdict(report))
        return report


JOBS: dict[str, Callable[[Jobs], JobReport | Sha256Report]] = {
    "purge-trash": Jobs.purge_trash,
    "sweep-orphans": Jobs.sweep_orphans,
    "verify-sha256": Jobs.verify_sha256,
}


def run_job(
    name: str,
    config: BackendConfig,
    *,
    clock: Callable[[], float] = time.time,
    clients: AwsClients | None = None,
    out_of_time: Callable[[], bool] = lambda: False,
    only_user: str | None = None,
    only_video: str | None = None,
) -> dict[str, Any]:
    """Run one job now and return its report (``ValueError`` for an unknown name)."""
    if name not in JOBS:
        raise ValueError(f"unknown job {name!r}; one of {', '.join(sorted(JOBS))}")
    jobs = Jobs(config, clients=clients, clock=clock, out_of_time=out_of_time,
                only_user=only_user, only_video=only_video)
    return asdict(JOBS[name](jobs))


def scheduled_handler(event: Any, context: Any) -> dict[str, Any]:
    """Lambda entry point of the EventBridge schedules: ``{"job": NAME}`` with a name of
    ``JOBS`` (``purge-trash``, ``sweep-orphans``, ``verify-sha256``)."""
    configure_json_logging(os.environ.get("LOG_LEVEL", "INFO"))
    name = event.get("job") if isinstance(event, dict) else None
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    started = time.monotonic()
    budget = (float(remaining()) / 1000.0 - DEADLINE_MARGIN_SECONDS) if callable(remaining) \
        else None

    def out_of_time() -> bool:
        return budget is not None and time.monotonic() - started >= budget

    return run_job(str(name), BackendConfig.from_env(), out_of_time=out_of_time)
