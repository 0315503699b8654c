"""The upload engine: runs the persistent queue (store.py) against the videos API and S3.

Threads: one scheduler thread picks runnable jobs in queue order, at most
``settings.max_concurrent_files`` at a time, each in its own worker thread; a worker sends up to
``settings.max_parts_in_flight`` parts at once. Everything a job learns is committed to SQLite
before the next step, so a crash at any point resumes (see ``jobs.Phase``).

The job's row is the source of truth for control: pause/cancel (from this process or from the
CLI in another one) change the row through the one door (``states``: a transition table and
``QueueStore.move``), and a worker checks the row before every part and its in-memory flag
before every block, so it stops within one block.

:class:`UploadEngine` is a facade over the engine's parts, each a module of its own:

* ``commands``: what the user asks (add, pause, resume, cancel, retry, upload next, remove);
* ``scheduler``: which job runs next, its worker thread, how a run ends;
* ``pipeline``: the steps of one job (probe, duplicates, bytes, record, thumbnail);
* ``multipart``: the bytes of one job into S3 (create, resume, send parts, complete, abort);
* ``thumbnails``: a job's thumbnail, sent beside its bytes so its record is made with it;
* ``base``: what they share (the queue, the API, listeners, running jobs).

The API the GUI uses: :meth:`UploadEngine.start`/:meth:`~UploadEngine.stop`,
:meth:`~UploadEngine.add_paths`, :meth:`~UploadEngine.pause`/``resume``/``cancel``/``retry``/
``upload_next``/``pause_all``/``resume_all``, :meth:`~UploadEngine.jobs`, and two kinds of plain
listeners: :meth:`~UploadEngine.subscribe_jobs` (a :class:`Job` after every change) and
:meth:`~UploadEngine.subscribe_progress` (throttled :class:`ProgressSnapshot`). Listeners run on
engine threads; a GUI hops to its own thread itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from medispecs_desktop.core.uploads.base import (
    MIB,
    REUPLOAD_CODES,
    EngineCore,
    EngineOptions,
    Interrupted,
    Prober,
    Thumbnailer,
    UploadApi,
)
from medispecs_desktop.core.uploads.commands import AddResult, Commands
from medispecs_desktop.core.uploads.jobs import Job
from medispecs_desktop.core.uploads.multipart import (
    READ_AHEAD,
    S3_MAX_PART,
    S3_MAX_PARTS,
    S3_MIN_PART,
    SIGN_BATCH_MAX,
    Multipart,
    choose_part_size,
)
from medispecs_desktop.core.uploads.pipeline import JobPipeline
from medispecs_desktop.core.uploads.scheduler import Scheduler
from medispecs_desktop.core.uploads.signout import SignOutWatch

__all__ = [
    "MIB", "READ_AHEAD", "REUPLOAD_CODES", "S3_MAX_PART", "S3_MAX_PARTS", "S3_MIN_PART",
    "SIGN_BATCH_MAX", "AddResult", "EngineOptions", "Interrupted", "Prober", "Thumbnailer",
    "UploadApi", "UploadEngine", "choose_part_size",
]


class UploadEngine(EngineCore):
    """One signed-in user's upload queue, run (see the module docstring)."""

    def _compose(self) -> None:
        self.multipart = Multipart(self)
        self.pipeline = JobPipeline(self, self.multipart)
        self.scheduler = Scheduler(self, self.pipeline, self.multipart)
        self.commands = Commands(self, self.scheduler, self.multipart)
        self._watch: SignOutWatch | None = None
        self._sign_out_listeners: list[Callable[[], None]] = []

    # ------------------------------------------------------------------ running
    @property
    def is_runner(self) -> bool:
        """True while this engine sends the queue's bytes (holds the queue's runner lock)."""
        return self.scheduler.is_runner

    def runner_elsewhere(self) -> bool:
        """True when another process (the app, ``upload --wait``) runs this queue right now:
        jobs added or resumed here are then uploaded by it."""
        return self.scheduler.runner_elsewhere()

    def start(self) -> None:
        """Start the scheduler; jobs waiting for this user's sign-in are queued again.

        Not when the user was signed out in another process since this engine was made (its
        tokens are no longer the user's wish): the engine then stays stopped."""
        if self._sign_out_since is None:  # started again after a sign-out: a new sign-in
            self._sign_out_since = self.store.sign_out_generation(self.user_id)
            self.signed_out_elsewhere = False
        elif self.store.sign_out_generation(self.user_id) > self._sign_out_since:
            self._on_signed_out_elsewhere()
            return
        self.scheduler.start()
        if self._watch is None:
            self._watch = SignOutWatch(self.store, self.user_id, self._sign_out_since,
                                       self._on_signed_out_elsewhere,
                                       interval=self.options.sign_out_poll_interval).start()

    def stop(self, *, timeout: float = 30.0, reason: str = "stopped") -> None:
        """Stop all work; running jobs go back to queued (or ``reason``'s state) for next time.
        The hashing pool's threads end too (a later start makes new ones); before, every
        engine stopped left its two idle hashing threads behind for the life of the process."""
        self._stop_watch()
        self.scheduler.stop(timeout=timeout, reason=reason)
        self.hash_pool.shutdown()

    def sign_out(self) -> None:
        """The user signed out: stop, park their unfinished jobs until they sign in again, and
        forget the finished ones (failed jobs stay: they still need the user). Every other
        process's engine of this user stops too (the sign-out is written to the queue)."""
        self._stop_watch()
        self.store.record_sign_out(self.user_id)
        self.scheduler.sign_out()
        self._sign_out_since = None

    def subscribe_sign_out(self, listener: Callable[[], None]) -> Callable[[], None]:
        """``listener()`` once another process signs this user out (on an engine thread),
        after the engine stopped and parked the jobs."""
        self._sign_out_listeners.append(listener)
        return lambda: self._sign_out_listeners.remove(listener) \
            if listener in self._sign_out_listeners else None

    def _stop_watch(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.stop()

    def _on_signed_out_elsewhere(self) -> None:
        """Another process signed the user out: in-flight parts stop at their next block, the
        jobs keep their multipart upload and parts journal and wait for the next sign-in."""
        self._watch = None  # (this runs on the watch's own thread, which ends after it)
        self.scheduler.sign_out()
        self._sign_out_since = None
        self.signed_out_elsewhere = True
        for listener in list(self._sign_out_listeners):
            listener()
        self._emit_many(j.id for j in self.jobs())  # wake wait_until() callers

    def network_changed(self, online: bool) -> None:
        """The OS (e.g. Qt's QNetworkInformation) says the network came back or went away."""
        self.commands.network_changed(online)

    # ------------------------------------------------------------------ commands
    def add_paths(
        self, paths: Iterable[str | os.PathLike[str]], *, front: bool = False,
        allow_damaged: bool = False,
    ) -> AddResult:
        """Scan ``paths`` (files and folders) and queue every video file found, once
        (``allow_damaged``: keep a damaged recording, marked damaged)."""
        return self.commands.add_paths(paths, front=front, allow_damaged=allow_damaged)

    def upload_as_damaged(self, job_id: int) -> Job:
        """Queue a job refused as a damaged recording again, to keep it marked damaged."""
        return self.commands.upload_as_damaged(job_id)

    def pause(self, job_id: int) -> Job:
        return self.commands.pause(job_id)

    def resume(self, job_id: int) -> Job:
        return self.commands.resume(job_id)

    def pause_all(self) -> list[int]:
        return self.commands.pause_all()

    def resume_all(self) -> list[int]:
        return self.commands.resume_all()

    def upload_next(self, job_id: int) -> Job:
        """Move the job to the front of the queue (and queue it if it was paused)."""
        return self.commands.upload_next(job_id)

    def cancel(self, job_id: int) -> Job:
        """Stop the job for good and abort its multipart upload (no parts left in S3)."""
        return self.commands.cancel(job_id)

    def retry(self, job_id: int) -> Job:
        """Queue a failed/cancelled job again; it continues from what S3 already has."""
        return self.commands.retry(job_id)

    def remove(self, job_id: int) -> None:
        """Forget a finished, failed or cancelled job (its uploaded video stays in the cloud)."""
        self.commands.remove(job_id)
