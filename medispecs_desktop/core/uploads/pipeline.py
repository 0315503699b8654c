"""The steps of one upload job, from the queue to "done": check the source, probe the media,
find duplicates by the whole file, send the bytes (``multipart``) with the thumbnail beside them
(``thumbnails``), create the record (it takes the thumbnail), else attach the thumbnail after.
Each step commits what it learned before the next, so a crash resumes (see ``jobs.Phase``);
every state change goes through the one door (``states``).

The one read of the file (its parts, SHA-256 and CRC64NVME) is :mod:`reader`'s; its names are
also importable from here.
"""

from __future__ import annotations

import functools
import logging
import os
import stat
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medispecs_desktop.core.errors import (
    ApiError,
    ConflictError,
    MediSpecsError,
    NotFoundError,
    NotSignedInError,
    OfflineError,
)
from medispecs_desktop.core.hashing import fingerprint, sha256_file
from medispecs_desktop.core.uploads.base import (
    REUPLOAD_CODES,
    CloudCopyRejected,
    Control,
    EngineCore,
    Interrupted,
)
from medispecs_desktop.core.uploads.jobs import (
    ACTIVE_STATES,
    DAMAGED_CODE,
    DAMAGED_REASON_MAX,
    RUNNABLE_STATES,
    Job,
    JobState,
    Phase,
    new_video_id,
)
from medispecs_desktop.core.uploads.reader import (
    HASH_THREADS,
    FileReader,
    HashPool,
    PreparedPart,
    ReadStopped,
    SourceChangedError,
    crc64nvme_b64,
    crc64nvme_of,
)
from medispecs_desktop.core.uploads.thumbnails import EarlyThumbnail, ThumbnailSender
from medispecs_desktop.core.uploads.transfer import (
    ConnectionLostError,
    RejectedError,
    SourceError,
    TransientError,
)

if TYPE_CHECKING:
    from medispecs_desktop.core.uploads.multipart import Multipart

__all__ = [
    "HASH_THREADS", "DamagedRecordingError", "FileReader", "HashPool", "JobPipeline",
    "PreparedPart", "ReadStopped", "SourceChangedError", "crc64nvme_b64", "crc64nvme_of",
]

log = logging.getLogger(__name__)

DELETED_IN_CLOUD = "deleted_in_cloud"
DELETED_NOTE = "This recording was deleted from the cloud; uploading it again."
UPLOADED_AGAIN_NOTE = "This recording had been deleted from the cloud; it was uploaded again."


class DamagedRecordingError(MediSpecsError):
    """The file is a damaged recording and the user has not (yet) said to keep it."""

    code = DAMAGED_CODE


class JobPipeline:
    """Runs one job through its steps on its worker thread (one instance serves every worker:
    a job's state is in its row)."""

    def __init__(self, core: EngineCore, multipart: Multipart) -> None:
        self.core = core
        self.multipart = multipart
        self.thumbnails = ThumbnailSender(core)

    def process(self, job: Job, control: Control) -> None:
        control.check()
        job = self.core._move(job, JobState.HASHING, expect=tuple(RUNNABLE_STATES))
        if job.phase is Phase.FINISHED:  # done before, added again: still in the cloud?
            maybe_gone = self._recheck_cloud(job, control)
            if maybe_gone is None:
                return
            job = maybe_gone
        if job.phase in (Phase.NEW, Phase.PARTS, Phase.COMPLETING):
            self._check_source(job)
        if job.phase is Phase.NEW:
            maybe = self._prepare(job, control)
            if maybe is None:
                return  # duplicate: done without sending a byte
            job = maybe
        early: list[EarlyThumbnail] = []  # the thumbnail sent while the bytes go

        def started(upload: Job) -> None:
            if not early:
                early.append(self.thumbnails.start(upload, control))

        try:
            maybe_sent = self._send(job, control, started, early)
        finally:
            for thumbnail in early:  # a cancel's abort (it deletes the thumbnail) comes after
                thumbnail.wait(self.core.options.thumbnail_wait)
        if maybe_sent is None:
            return
        job = maybe_sent
        if job.phase is Phase.RECORDED:  # the record has no thumbnail yet
            if early and early[0].no_frame:
                job = self.core._set(job, phase=Phase.FINISHED)  # (the file has none)
            else:
                job = self._attach_thumbnail(job, control)
        again = job.error_code == DELETED_IN_CLOUD
        self.core._move(
            job, JobState.DONE, expect=tuple(ACTIVE_STATES), phase=Phase.FINISHED,
            bytes_done=job.size, error=UPLOADED_AGAIN_NOTE if again else None,
            error_code=DELETED_IN_CLOUD if again else None,
        )

    def _send(self, job: Job, control: Control, started: Callable[[Job], None],
              early: list[EarlyThumbnail]) -> Job | None:
        """The bytes into S3 and the record made (uploading the file again while the server
        refuses the copy, up to ``integrity_reuploads`` times); None when the job turned out
        to be a duplicate (it is then done)."""
        reuploads = 0
        while True:
            control.check_row()
            try:
                if job.phase in (Phase.NEW, Phase.PARTS, Phase.COMPLETING):
                    job = self.core._move(job, JobState.UPLOADING, expect=tuple(ACTIVE_STATES))
                    job = self.multipart.upload(job, control, started=started)
                if job.phase is not Phase.COMPLETED:
                    control.check_row()
                job = self._finalizing(job)
                if job.phase is not Phase.COMPLETED:
                    return job
                for thumbnail in early:  # the record attaches a thumbnail that is in S3
                    thumbnail.wait(self.core.options.thumbnail_wait)
                return self._create_record(job)
            except CloudCopyRejected as exc:
                # the transfer state is already reset (phase new): the next pass re-reads,
                # re-hashes and re-uploads the file
                job = self.core.job(job.id)
                if reuploads >= self.core.options.integrity_reuploads:
                    raise RejectedError(
                        f"The uploaded copy of {job.name} did not match the file "
                        f"({exc.code}) again after it was uploaded "
                        f"{reuploads + 1} times; check the card/disk. Retry starts a fresh "
                        "upload.",
                        code=exc.code,
                    ) from None
                reuploads += 1
                log.warning("job %s: %s; uploading it again (%d of %d)", job.id, exc,
                            reuploads, self.core.options.integrity_reuploads)
                self._check_source(job)
                self.core.progress.track(job.id, 0, job.size)

    def _recheck_cloud(self, job: Job, control: Control) -> Job | None:
        """A job that was done and is added again: done again when its recording (or the one
        it duplicates) is still in the library; when it was deleted on another computer or
        purged from the Trash (404), the file is uploaded again as a new recording, saying so.
        Returns the job to upload, or None when there is nothing to do."""
        target = job.duplicate_of or job.video_id
        try:
            self.core._call(lambda: self.core.api.get_video(target), control)
        except NotFoundError:
            log.info("job %s (%s): its recording %s was deleted from the cloud; uploading the "
                     "file again", job.id, job.name, target)
            job = self.core.store.reset_upload(
                job.id, self.core.user_id, video_id=new_video_id(), sha256=None,
                fingerprint=None, duplicate_of=None, video_version=None,
                error=DELETED_NOTE, error_code=DELETED_IN_CLOUD)
            self.core._emit(job)
            self._check_source(job)
            return job
        self.core._move(job, JobState.DONE, expect=tuple(ACTIVE_STATES), phase=Phase.FINISHED)
        return None

    def _check_source(self, job: Job) -> None:
        """The file must still be there, a regular file, and unchanged since it was queued."""
        try:
            st = os.stat(job.path)
        except FileNotFoundError:
            raise SourceError(f"{job.path} is gone", vanished=True) from None
        except OSError as exc:
            raise SourceError(
                f"Cannot read {job.path}: {exc.strerror or exc}", vanished=True
            ) from None
        if not stat.S_ISREG(st.st_mode):
            raise SourceError(f"{job.path} is not a regular file; only files are uploaded.")
        if st.st_size != job.size or st.st_mtime_ns != job.mtime_ns:
            raise SourceChangedError(
                f"{job.name} changed since it was queued (size {job.size:,} -> {st.st_size:,} "
                "bytes or modified time differs)."
            )

    def _prepare(self, job: Job, control: Control) -> Job | None:
        """Media probe, fingerprint, duplicate checks: everything before the first byte.

        DESIGN §8 (revised): the quick fingerprint only finds candidates. A job is skipped as
        already in the library only when its whole-file SHA-256 equals the SHA-256 of a record
        verified in the cloud; everything else is uploaded."""
        if not job.media:
            try:
                media = dict(self._media_probe(job.path).api_fields())
            except MediSpecsError as exc:
                if not getattr(exc, "damaged", False):
                    raise  # not a recording at all: never uploaded
                media = self._damaged(job, exc)
            media["fileSizeBytes"] = job.size
            job = self.core._set(job, media=media, content_type=str(media.get("mimeType") or
                                                               job.content_type))
        control.check()
        fp = fingerprint(job.path)
        if job.fingerprint and job.fingerprint != fp:
            raise SourceChangedError(f"{job.name} changed since it was queued (content differs).")
        if not job.fingerprint:
            other = self.core.store.claim_fingerprint(job.id, self.core.user_id, fp)
            job = self.core.job(job.id)
            if other is not None:
                # maybe the same recording queued twice: let the other finish first, then
                # the cloud check below decides by the whole file
                self._wait_while_running(other.id, control)
        if not self.core.options.cloud_duplicate_check:
            return job
        candidates = self.core._call(
            lambda: self.core.api.find_duplicates(fingerprints=[fp]), control)
        if not any(str(m.get("videoId") or "") not in ("", job.video_id) for m in candidates):
            return job
        # a recording with the same size, head and tail is in the library: read the whole
        # file (the only read when it is the same file) and let its SHA-256 decide
        digest = sha256_file(job.path).hexdigest()
        control.check()
        matches = self.core._call(lambda: self.core.api.find_duplicates(sha256s=[digest]), control)
        for match in matches:
            video_id = str(match.get("videoId") or "")
            if video_id and video_id != job.video_id and match.get("sha256") == digest:
                self.core._move(
                    job, JobState.DONE, expect=tuple(ACTIVE_STATES),
                    phase=Phase.FINISHED, duplicate_of=video_id, sha256=digest,
                    error="Already in your library; not uploaded again.",
                    error_code="duplicate",
                )
                return None
        return job

    def _damaged(self, job: Job, exc: MediSpecsError) -> dict[str, Any]:
        """A damaged recording: refused with a message that names the way to keep it, or --
        with the user's consent (``allow_damaged``) -- the record fields that say so. Its
        bytes then go up verified exactly as any other file's."""
        reason = str(exc).strip()
        if not job.allow_damaged:
            raise DamagedRecordingError(
                f"{reason} It was not uploaded. If this is the only copy of the recording, "
                "keep it anyway as a damaged recording: choose 'Upload as damaged' in the "
                "Uploads panel, or run: medispecs-desktop upload --damaged-ok FILE",
                code=DAMAGED_CODE,
            ) from None
        log.warning("job %s: uploading a damaged recording on the user's word: %s", job.id,
                    reason)
        recorded = datetime.fromtimestamp(job.mtime_ns / 1e9, UTC)
        return {
            "damaged": True,
            "damagedReason": reason[:DAMAGED_REASON_MAX],
            "recordedAt": recorded.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "mimeType": job.content_type,
        }

    def _wait_while_running(self, job_id: int, control: Control) -> None:
        """Block (interruptibly) while another job of this queue is being worked on."""
        changed = threading.Event()
        unsubscribe = self.core.subscribe_jobs(
            lambda j: changed.set() if j.id == job_id else None)
        try:
            while True:
                control.check()
                with self.core._cond:
                    running = job_id in self.core._running
                if not running:
                    return
                changed.wait(0.5)  # also rechecked on a timer: rows change in other processes
                changed.clear()
        finally:
            unsubscribe()

    def _media_probe(self, path: Path) -> Any:
        probe = self.core._probe
        if probe is None:
            from medispecs_desktop.core.media import probe as media_probe

            probe = media_probe
        return probe(path)

    def _mark_duplicate(self, job: Job, sha256: str) -> None:
        matches = self.core._call(lambda: self.core.api.find_duplicates(sha256s=[sha256]))
        winner = next((str(m["videoId"]) for m in matches
                       if m.get("videoId") and m.get("videoId") != job.video_id), None)
        self.core._move(
            job, JobState.DONE, expect=tuple(ACTIVE_STATES), phase=Phase.FINISHED,
            duplicate_of=winner, error="Already in your library (the same file was uploaded "
            "from elsewhere meanwhile); this copy was not kept.", error_code="duplicate",
        )

    def _finalizing(self, job: Job) -> Job:
        """The job goes on to its record. Once the whole file is in the cloud (phase
        completed) its record is made at once, before a pause or a stop asked meanwhile takes
        effect, so an orderly pause or quit never leaves an object without its record (a
        crash can; the next start records it, or the backend's sweep removes it a day later).
        A cancel still wins: the user asked for the bytes to be discarded."""
        if job.phase is Phase.COMPLETED:
            state = self.core.store.state_of(job.id)
            if state is JobState.PAUSED:
                return self.core.job(job.id)  # paused meanwhile: recorded first, then paused
            if state not in ACTIVE_STATES:
                raise Interrupted(state.value if state is not None else "removed")
        return self.core._move(job, JobState.FINALIZING, expect=tuple(ACTIVE_STATES))

    def _create_record(self, job: Job) -> Job | None:
        """POST /videos for the uploaded bytes; ``None`` when the file turned out to be a
        duplicate (the job is then done)."""
        media = dict(job.media)
        payload: dict[str, Any] = {
            "videoId": job.video_id,
            "title": job.title,
            **media,
            "fileSizeBytes": job.size,
            "mimeType": media.get("mimeType") or job.content_type,
            "uploadKind": "multipart",
        }
        if job.sha256:
            payload["sha256"] = job.sha256
        if job.crc64nvme:
            payload["crc64nvme"] = job.crc64nvme
        if job.fingerprint:
            payload["fingerprint"] = job.fingerprint
        try:
            video = self.core._call(lambda: self.core.api.create_video(payload))
        except ConflictError as exc:
            if exc.code == "duplicate" and job.sha256:
                # the same file reached the library from elsewhere meanwhile; the server
                # deleted this upload's copy (no object without a record)
                self._mark_duplicate(job, job.sha256)
                return None
            if exc.code not in REUPLOAD_CODES:
                raise
            # the server refused (and removed) the bytes or does not see them: forget the
            # transfer so the next pass uploads the file again from its first byte
            self.core.store.reset_upload(job.id, self.core.user_id, sha256=None)
            raise CloudCopyRejected(
                f"the cloud copy of {job.name} was refused by the server ({exc.code})",
                code=exc.code,
            ) from None
        status = str(getattr(video, "status", "") or "")
        if status == "pending":
            self.core.store.reset_upload(job.id, self.core.user_id, sha256=None)
            raise CloudCopyRejected(
                f"the server does not see the uploaded copy of {job.name}",
                code="object_missing",
            )
        version = getattr(video, "version", None)
        has_thumbnail = bool(getattr(video, "thumbnail_s3_key", None))
        log.info("job %s: record %s created (%s%s)", job.id, job.video_id, status,
                 ", with its thumbnail" if has_thumbnail else "")
        return self.core._set(
            job, phase=Phase.FINISHED if has_thumbnail else Phase.RECORDED,
            video_version=int(version) if version is not None else None,
        )

    def _attach_thumbnail(self, job: Job, control: Control) -> Job:
        """After the record (the thumbnail did not go with the bytes): send it and attach it.
        Best effort: a missing thumbnail never fails an upload that is already safe."""
        jpeg = self.thumbnails.make(job)
        if jpeg is None:
            return self.core._set(job, phase=Phase.FINISHED)
        try:
            self.thumbnails.send(job, jpeg, control)
            # attaching the thumbnail compares no version (contract: the server's own updates
            # never bump it either), so processing that finished meanwhile is no conflict
            video = self.core._call(functools.partial(
                self.core.api.update_video, job.video_id, version=int(job.video_version or 1),
                thumbnail=True))
            return self.core._set(job, phase=Phase.FINISHED,
                             video_version=int(getattr(video, "version", 0) or 0) or None)
        except (OfflineError, ConnectionLostError, NotSignedInError, Interrupted):
            raise
        except (ApiError, RejectedError, TransientError) as exc:
            log.warning("job %s: thumbnail not attached: %s", job.id, exc)
            return self.core._set(job, phase=Phase.FINISHED)
