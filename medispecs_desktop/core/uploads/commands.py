"""What the user asks of the queue: add files, pause, resume, cancel, retry, upload next,
remove. Each command is one move through the one door (``states``), so a command the table
does not allow for the job's state is refused, whichever process asks.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medispecs_desktop.core.uploads import states
from medispecs_desktop.core.uploads.base import EngineCore
from medispecs_desktop.core.uploads.jobs import RUNNABLE_STATES, Job, JobState, Phase
from medispecs_desktop.core.uploads.scanner import ScanResult, scan_paths
from medispecs_desktop.core.uploads.states import Command, InvalidTransitionError

if TYPE_CHECKING:
    from medispecs_desktop.core.uploads.multipart import Multipart
    from medispecs_desktop.core.uploads.scheduler import Scheduler


@dataclass
class AddResult:
    """What :meth:`UploadEngine.add_paths` did with each dropped path."""

    added: list[Job] = field(default_factory=list)
    already_queued: list[Job] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


class Commands:
    """The public commands of the engine (``UploadEngine`` passes them on)."""

    def __init__(self, core: EngineCore, scheduler: Scheduler, multipart: Multipart) -> None:
        self.core = core
        self.scheduler = scheduler
        self.multipart = multipart

    def add_paths(
        self, paths: Iterable[str | os.PathLike[str]], *, front: bool = False,
        allow_damaged: bool = False,
    ) -> AddResult:
        """Scan ``paths`` (files and folders) and queue every video file found, once.

        Only ``stat`` and one SQLite transaction per call: fast enough for hundreds of files;
        hashing and probing happen later on the workers. A GUI still calls it off its thread.

        ``allow_damaged``: the user's word to keep a file that turns out to be a damaged
        recording (uploaded and marked damaged); a job already refused as damaged for the
        same file is queued again with that word instead of a second job.
        """
        scan: ScanResult = scan_paths(paths)
        result = AddResult(skipped=list(scan.skipped))
        entries: list[tuple[Path, int, int]] = []
        for path in scan.files:
            try:
                st = path.stat()
            except OSError as exc:
                result.skipped.append((path, f"cannot be read: {exc.strerror or exc}"))
                continue
            if st.st_size == 0:
                result.skipped.append((path, "empty file (0 bytes)"))
                continue
            entries.append((path, st.st_size, st.st_mtime_ns))
        if allow_damaged:
            entries = self._keep_refused_as_damaged(entries, result)
        for job, created in self.core.store.add_many(self.core.user_id, entries, front=front,
                                                     allow_damaged=allow_damaged):
            if not created and job.state is JobState.DONE:
                job = self._recheck(job)
            if allow_damaged and not job.allow_damaged and not job.state.is_terminal:
                job = self.core.store.update(job.id, self.core.user_id, allow_damaged=True)
            (result.added if created else result.already_queued).append(job)
            if created:
                self.core._emit(job)
        self.core._wake()
        return result

    def _recheck(self, job: Job) -> Job:
        """A finished file added again: queued for a look at its recording in the cloud (no
        byte is read or sent while it is there; deleted elsewhere, it is uploaded again)."""
        try:
            return self.core._move(job, JobState.QUEUED, expect=(JobState.DONE,))
        except InvalidTransitionError:
            return self.core.job(job.id)  # changed meanwhile (removed, by another process)

    def _keep_refused_as_damaged(self, entries: list[tuple[Path, int, int]],
                                 result: AddResult) -> list[tuple[Path, int, int]]:
        refused = {
            (str(j.path), j.size, j.mtime_ns): j for j in self.core.jobs((JobState.FAILED,))
            if Command.UPLOAD_DAMAGED in states.job_commands(j)
        }
        rest = []
        for path, size, mtime_ns in entries:
            job = refused.get((os.path.abspath(path), size, mtime_ns))
            if job is None:
                rest.append((path, size, mtime_ns))
            else:
                result.added.append(self.upload_as_damaged(job.id))
        return rest

    def upload_as_damaged(self, job_id: int) -> Job:
        """Keep a recording refused as damaged: queue it again with the user's word; its bytes
        go up verified as any other file's and its record says ``damaged`` with the reason."""
        job = self.core.job(job_id)
        if Command.UPLOAD_DAMAGED not in states.job_commands(job):
            raise InvalidTransitionError(
                f"Job {job_id} was not refused as a damaged recording; there is nothing to "
                "keep as damaged.")
        job = self.core._move(
            job, JobState.QUEUED, expect=(JobState.FAILED,), allow_damaged=True, media={},
            error=None, error_code=None, attempts=job.attempts + 1,
        )
        self.core._wake()
        return job

    def pause(self, job_id: int) -> Job:
        job = self.core.job(job_id)
        if job.state is JobState.PAUSED:
            return job
        job = self.core._move(job, JobState.PAUSED)
        self.core._interrupt(job_id, "paused")
        return job

    def resume(self, job_id: int) -> Job:
        job = self.core.job(job_id)
        if job.state in RUNNABLE_STATES:
            return job
        job = self.core._move(
            job, JobState.QUEUED, expect=states.by(Command.RESUME), error=None,
            error_code=None,
        )
        self.core._wake()
        return job

    def pause_all(self) -> list[int]:
        ids = self.core.store.transition_all(
            self.core.user_id, states.by(Command.PAUSE), JobState.PAUSED
        )
        for job_id in ids:
            self.core._interrupt(job_id, "paused")
        self.core._emit_many(ids)
        return ids

    def resume_all(self) -> list[int]:
        ids = self.core.store.transition_all(
            self.core.user_id, states.by(Command.RESUME), JobState.QUEUED
        )
        self.core._emit_many(ids)
        self.core._wake()
        return ids

    def upload_next(self, job_id: int) -> Job:
        """Move the job to the front of the queue (and queue it if it was paused)."""
        job = self.core.store.move_to_front(job_id, self.core.user_id)
        if Command.RESUME in states.commands(job.state):
            job = self.resume(job_id)
        else:
            self.core._emit(job)
        self.core._wake()
        return job

    def cancel(self, job_id: int) -> Job:
        """Stop the job for good and abort its multipart upload (no parts left in S3)."""
        job = self.core.job(job_id)
        if job.state is JobState.DONE:
            raise InvalidTransitionError(f"Job {job_id} is already uploaded; nothing to cancel.")
        if job.state is not JobState.CANCELLED:
            job = self.core._move(job, JobState.CANCELLED)
        thread = self.core._interrupt(job_id, "cancelled")
        if thread is not None:
            thread.join(timeout=60)
        return self.multipart.abort_remote(self.core.job(job_id))

    def retry(self, job_id: int) -> Job:
        """Queue a failed/cancelled job again; it continues from what S3 already has.

        If the file changed since it was queued, the job starts over for the new content
        (any old multipart upload is aborted first, never mixed with new bytes).
        """
        job = self.core.job(job_id)
        allows = states.commands(job.state)
        if Command.RETRY not in allows:
            if Command.RESUME in allows:
                return self.resume(job_id)
            return job
        try:
            st = job.path.stat()
        except OSError:
            st = None
        changes: dict[str, Any] = {
            "error": None, "error_code": None, "attempts": job.attempts + 1,
        }
        if st is not None and (st.st_size != job.size or st.st_mtime_ns != job.mtime_ns) and (
            job.phase in (Phase.NEW, Phase.PARTS, Phase.COMPLETING)
        ):
            job = self.multipart.abort_remote(job)
            changes.update(size=st.st_size, mtime_ns=st.st_mtime_ns, fingerprint=None,
                           sha256=None, media={})
            job = self.core.store.reset_upload(job.id, self.core.user_id, to=JobState.QUEUED,
                                         expect=states.by(Command.RETRY), **changes)
            self.core._emit(job)
        elif job.state is JobState.CANCELLED:
            job = self.multipart.abort_remote(job)
            job = self.core.store.reset_upload(job.id, self.core.user_id, to=JobState.QUEUED,
                                         expect=states.by(Command.RETRY), **changes)
            self.core._emit(job)
        else:
            job = self.core._move(job, JobState.QUEUED, expect=states.by(Command.RETRY), **changes)
        self.core._wake()
        return job

    def remove(self, job_id: int) -> None:
        """Forget a finished, failed or cancelled job (its uploaded video stays in the cloud)."""
        job = self.core.job(job_id)
        if Command.REMOVE not in states.commands(job.state):
            raise InvalidTransitionError("Cancel the upload before removing it from the list.")
        if job.upload_id:
            self.multipart.abort_remote(job)
        self.core.store.remove(job_id, self.core.user_id)

    def network_changed(self, online: bool) -> None:
        """The OS (e.g. Qt's QNetworkInformation) says the network came back or went away."""
        self.core.reachability.report(online)
        if online:
            self.scheduler.requeue_waiting_network()
