"""The upload engine: runs the persistent queue (store.py) against the videos API and S3.

Threads: one scheduler thread picks runnable jobs in queue order, at most
``settings.max_concurrent_files`` at a time, each in its own worker thread; a worker sends up to
``settings.max_parts_in_flight`` parts at once. Everything a job learns is committed to SQLite
before the next step, so a crash at any point resumes (see ``jobs.Phase``).

The job's row is the source of truth for control: pause/cancel (from this process or from the
CLI in another one) change the row, and a worker checks the row before every part and its
in-memory flag before every block, so it stops within one block.

The API the GUI uses: :meth:`UploadEngine.start`/:meth:`~UploadEngine.stop`,
:meth:`~UploadEngine.add_paths`, :meth:`~UploadEngine.pause`/``resume``/``cancel``/``retry``/
``upload_next``/``pause_all``/``resume_all``, :meth:`~UploadEngine.jobs`, and two kinds of plain
listeners: :meth:`~UploadEngine.subscribe_jobs` (a :class:`Job` after every change) and
:meth:`~UploadEngine.subscribe_progress` (throttled :class:`ProgressSnapshot`). Listeners run on
engine threads; a GUI hops to its own thread itself.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import stat
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import requests

from medispecs_desktop.core.config import Settings
from medispecs_desktop.core.errors import (
    ApiError,
    ConflictError,
    MediSpecsError,
    NotFoundError,
    NotSignedInError,
    OfflineError,
    ServerError,
)
from medispecs_desktop.core.hashing import fingerprint, sha256_file
from medispecs_desktop.core.priority import lower_thread_priority
from medispecs_desktop.core.uploads import states
from medispecs_desktop.core.uploads.awake import SleepInhibitor
from medispecs_desktop.core.uploads.jobs import (
    ACTIVE_STATES,
    RUNNABLE_STATES,
    Job,
    JobState,
    Part,
    Phase,
)
from medispecs_desktop.core.uploads.link import LinkEstimator
from medispecs_desktop.core.uploads.network import Backoff, Reachability
from medispecs_desktop.core.uploads.pipeline import (
    FileReader,
    HashPool,
    PreparedPart,
    SourceChangedError,
)
from medispecs_desktop.core.uploads.progress import ProgressHub, ProgressListener
from medispecs_desktop.core.uploads.runner_lock import RunnerLock
from medispecs_desktop.core.uploads.scanner import ScanResult, scan_paths
from medispecs_desktop.core.uploads.states import Command
from medispecs_desktop.core.uploads.store import (
    InvalidTransitionError,
    JobNotFoundError,
    QueueStore,
)
from medispecs_desktop.core.uploads.transfer import (
    BufferSlice,
    ConnectionLostError,
    RejectedError,
    SlowConnectionError,
    SourceError,
    StalledError,
    TokenBucket,
    TransientError,
    UrlExpiredError,
    UrlRewriter,
    make_upload_session,
    put_object,
    slow_connection_message,
)

log = logging.getLogger(__name__)

MIB = 1024 * 1024
S3_MIN_PART = 5 * MIB
S3_MAX_PARTS = 10_000
S3_MAX_PART = 5 * 1024 * MIB
SIGN_BATCH_MAX = 100
READ_AHEAD = 2  # parts read and hashed ahead of those being sent (memory: see _upload_multipart)

T = TypeVar("T")


class UploadApi(Protocol):
    """The part of ``core.api.ApiClient`` the engine uses (contract §4)."""

    def upload_url(
        self, video_id: str, *, content_type: str, size: int, sha256_b64: str | None = None
    ) -> dict[str, Any]: ...

    def thumbnail_upload_url(self, video_id: str) -> dict[str, Any]: ...

    def create_multipart(
        self, video_id: str, *, size: int, part_size: int, content_type: str
    ) -> dict[str, Any]: ...

    def sign_parts(
        self, video_id: str, upload_id: str, parts: list[dict[str, Any]]
    ) -> list[dict[str, Any]]: ...

    def list_parts(self, video_id: str, upload_id: str) -> list[dict[str, Any]]: ...

    def complete_multipart(
        self, video_id: str, upload_id: str, parts: list[dict[str, Any]], *,
        checksum_crc64nvme: str,
    ) -> dict[str, Any]: ...

    def abort_multipart(self, video_id: str, upload_id: str) -> None: ...

    def create_video(self, payload: dict[str, Any]) -> Any: ...

    def update_video(
        self,
        video_id: str,
        *,
        version: int,
        title: str | None = None,
        notes: str | None = None,
        thumbnail: bool | None = None,
    ) -> Any: ...

    def get_video(self, video_id: str) -> Any: ...

    def find_duplicates(
        self, *, sha256s: Sequence[str] = (), fingerprints: Sequence[str] = ()
    ) -> list[dict[str, Any]]: ...

    def ping(self) -> bool: ...


Prober = Callable[[Path], Any]  # core.media.probe -> MediaInfo (with api_fields())
Thumbnailer = Callable[[Path], bytes]


@dataclass(frozen=True)
class EngineOptions:
    # 16 MiB: half the per-part costs of 8 MiB (a journal commit with fsync, a request, a
    # signature) for ~15% more throughput; a cut connection resends at most one part per slot
    min_part_size: int = 16 * MIB
    backoff_attempts: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 20.0
    max_expired_resigns: int = 3  # 403 "Request has expired" in a row before giving up
    probe_interval: float = 15.0  # seconds between api.ping() while offline
    source_check_interval: float = 5.0  # seconds between looks for a pulled card
    cloud_duplicate_check: bool = True
    # (connect, stall): a PUT fails when the link accepts or answers nothing for `stall` s,
    # never for being slow (transfer.py / link.py)
    put_timeout: tuple[float, float] = (15.0, 120.0)
    # after the server refuses the uploaded copy (checksum_mismatch, not_uploaded) the file is
    # uploaded again this many times by itself before the job fails
    integrity_reuploads: int = 1
    # another process runs this queue: how often to look at its rows (listeners, take-over)
    follow_interval: float = 0.5
    # the runner looks for jobs queued/resumed by another process at least this often
    runner_poll_interval: float = 1.0


def choose_part_size(size: int, minimum: int = 8 * MIB) -> int:
    """Smallest whole-MiB part size >= ``minimum`` that fits ``size`` in 10,000 parts."""
    minimum = max(minimum, S3_MIN_PART)
    needed = -(-size // S3_MAX_PARTS)
    part = max(minimum, -(-needed // MIB) * MIB)
    if part > S3_MAX_PART:
        raise RejectedError(
            "The file is larger than S3 allows for one object (5 TiB).", code="too_large"
        )
    return part


@dataclass
class AddResult:
    """What :meth:`UploadEngine.add_paths` did with each dropped path."""

    added: list[Job] = field(default_factory=list)
    already_queued: list[Job] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


class Interrupted(Exception):
    """A job must stop now (pause, cancel, engine stop, sign-out, sibling part failed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# POST /videos answers after which the bytes must be sent again: the server deleted an object
# whose SHA-256 did not match, or the object is not there (deleted, or lost before a crash)
REUPLOAD_CODES = frozenset({"checksum_mismatch", "size_mismatch", "not_uploaded"})


class _CloudCopyRejected(MediSpecsError):
    """The record step refused the uploaded bytes; the job's transfer state was reset."""


class _Control:
    """Per-running-job stop flag, checked per block by FileSlice and per part by the worker."""

    def __init__(self, job_id: int, store: QueueStore) -> None:
        self.job_id = job_id
        self._store = store
        self._reason: str | None = None
        self._lock = threading.Lock()

    def stop(self, reason: str) -> None:
        with self._lock:
            if self._reason is None:
                self._reason = reason

    @property
    def reason(self) -> str | None:
        return self._reason

    def check(self) -> None:
        if self._reason is not None:
            raise Interrupted(self._reason)

    def check_row(self) -> None:
        """Also look at the row: another process may have paused or cancelled the job."""
        self.check()
        state = self._store.state_of(self.job_id)
        if state is None:
            self.stop("removed")
        elif state not in ACTIVE_STATES and state is not JobState.QUEUED:
            self.stop(state.value)
        self.check()


class UploadEngine:
    @property
    def settings(self) -> Settings:
        return self._settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        """New settings while uploads run: the bandwidth cap applies from the next block of
        every part in flight, the other limits from the scheduler's next turn."""
        self._settings = settings
        self.bucket.set_rate(settings.bandwidth_limit_kbps * 1000 / 8)

    def __init__(
        self,
        store: QueueStore,
        api: UploadApi,
        user_id: str,
        *,
        settings: Settings | None = None,
        options: EngineOptions | None = None,
        probe: Prober | None = None,
        thumbnail: Thumbnailer | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        url_rewriter: UrlRewriter | None = None,
        sleep_inhibitor: SleepInhibitor | None = None,
        runner_lock: RunnerLock | None = None,
    ) -> None:
        if not user_id:
            raise ValueError("an upload engine belongs to a signed-in user")
        self.store = store
        self.api = api
        self.user_id = user_id
        self._settings = settings or Settings()
        self.options = options or EngineOptions()
        self._probe = probe
        self._thumbnail = thumbnail
        self._session = session or make_upload_session(
            pool_maxsize=max(4, self.settings.max_concurrent_files
                             * self.settings.max_parts_in_flight + 2)
        )
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self.url_rewriter = url_rewriter  # test hook: send PUTs through a fault proxy
        self.awake = sleep_inhibitor if sleep_inhibitor is not None else SleepInhibitor()
        rate = self.settings.bandwidth_limit_kbps * 1000 / 8
        self.bucket = TokenBucket(rate, sleep=sleep, clock=clock)
        self.link = LinkEstimator(clock=clock)  # write and part sizes follow the link
        self.progress = ProgressHub()
        self.hash_pool = HashPool()  # reads and hashes every file's parts (one read per byte)
        self.reachability = Reachability(
            api.ping, interval=self.options.probe_interval, clock=clock
        )
        self._job_listeners: list[Callable[[Job], None]] = []
        self._cond = threading.Condition()
        self._running: dict[int, _Control] = {}
        self._threads: dict[int, threading.Thread] = {}
        self._scheduler: threading.Thread | None = None
        self._stopping = False
        self._signed_out = False
        self._dirty = True
        self._next_source_check = 0.0
        # only the holder of this OS lock sends bytes for this user's queue (see runner_lock)
        if runner_lock is None and str(store.path) != ":memory:":
            runner_lock = RunnerLock(store.path, user_id)
        self.runner_lock = runner_lock
        self._followed: dict[int, tuple[Any, ...]] = {}

    # ------------------------------------------------------------------ listeners
    def subscribe_jobs(self, listener: Callable[[Job], None]) -> Callable[[], None]:
        """``listener(job)`` after every change of one of this user's jobs."""
        with self._cond:
            self._job_listeners.append(listener)

        def unsubscribe() -> None:
            with self._cond:
                if listener in self._job_listeners:
                    self._job_listeners.remove(listener)

        return unsubscribe

    def subscribe_progress(self, listener: ProgressListener) -> Callable[[], None]:
        """``listener(snapshot)`` at most 10 times a second while bytes move."""
        return self.progress.subscribe(listener)

    def _emit(self, job: Job) -> None:
        with self._cond:
            listeners = list(self._job_listeners)
        for listener in listeners:
            try:
                listener(job)
            except Exception:
                log.exception("job listener failed")

    def _set(self, job: Job, **changes: Any) -> Job:
        """Write ``changes`` (never the state: see :meth:`_move`) and tell the listeners."""
        new = self.store.update(job.id, self.user_id, **changes)
        self._emit(new)
        return new

    def _move(self, job: Job, to: JobState, *, expect: Iterable[JobState] | None = None,
              **changes: Any) -> Job:
        """Move the job to ``to`` through the store's one door (refused unless the table in
        ``states`` allows it from the row's current state, and that is one of ``expect``)."""
        new = self.store.move(job.id, self.user_id, to,
                              expect=tuple(expect) if expect is not None else None, **changes)
        log.info("job %s (%s): %s -> %s", job.id, job.name, job.state.value, new.state.value)
        self._emit(new)
        return new

    # ------------------------------------------------------------------ queries
    def jobs(self, states: Sequence[JobState] | None = None) -> list[Job]:
        return self.store.list_jobs(self.user_id, states=states)

    def job(self, job_id: int) -> Job:
        return self.store.get(job_id, self.user_id)

    @property
    def is_runner(self) -> bool:
        """True while this engine sends the queue's bytes (holds the queue's runner lock)."""
        return self.runner_lock is None or self.runner_lock.held

    def runner_elsewhere(self) -> bool:
        """True when another process (the app, ``upload --wait``) runs this queue right now:
        jobs added or resumed here are then uploaded by it."""
        if self.runner_lock is None or self.runner_lock.held:
            return False
        return self.runner_lock.held_elsewhere()

    def is_idle(self, job_ids: Iterable[int] | None = None) -> bool:
        """True when none of ``job_ids`` (default: all jobs) is queued or running."""
        jobs = self.jobs()
        if job_ids is not None:
            wanted = set(job_ids)
            jobs = [j for j in jobs if j.id in wanted]
        return all(j.state not in RUNNABLE_STATES for j in jobs)

    def wait_until(
        self,
        predicate: Callable[[list[Job]], bool],
        timeout: float | None = None,
    ) -> bool:
        """Block until ``predicate(jobs)`` holds (checked on every job change)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        changed = threading.Event()
        unsubscribe = self.subscribe_jobs(lambda _job: changed.set())
        try:
            while True:
                if predicate(self.jobs()):
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                changed.wait(0.5 if remaining is None else min(0.5, remaining))
                changed.clear()
        finally:
            unsubscribe()

    # ------------------------------------------------------------------ adding
    def add_paths(
        self, paths: Iterable[str | os.PathLike[str]], *, front: bool = False
    ) -> AddResult:
        """Scan ``paths`` (files and folders) and queue every video file found, once.

        Only ``stat`` and one SQLite transaction per call: fast enough for hundreds of files;
        hashing and probing happen later on the workers. A GUI still calls it off its thread.
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
        for job, created in self.store.add_many(self.user_id, entries, front=front):
            (result.added if created else result.already_queued).append(job)
            if created:
                self._emit(job)
        self._wake()
        return result

    # ------------------------------------------------------------------ control
    def pause(self, job_id: int) -> Job:
        job = self.job(job_id)
        if job.state is JobState.PAUSED:
            return job
        job = self._move(job, JobState.PAUSED)
        self._interrupt(job_id, "paused")
        return job

    def resume(self, job_id: int) -> Job:
        job = self.job(job_id)
        if job.state in RUNNABLE_STATES:
            return job
        job = self._move(
            job, JobState.QUEUED, expect=states.by(Command.RESUME), error=None,
            error_code=None,
        )
        self._wake()
        return job

    def pause_all(self) -> list[int]:
        ids = self.store.transition_all(
            self.user_id, states.by(Command.PAUSE), JobState.PAUSED
        )
        for job_id in ids:
            self._interrupt(job_id, "paused")
        self._emit_many(ids)
        return ids

    def resume_all(self) -> list[int]:
        ids = self.store.transition_all(
            self.user_id, states.by(Command.RESUME), JobState.QUEUED
        )
        self._emit_many(ids)
        self._wake()
        return ids

    def upload_next(self, job_id: int) -> Job:
        """Move the job to the front of the queue (and queue it if it was paused)."""
        job = self.store.move_to_front(job_id, self.user_id)
        if Command.RESUME in states.commands(job.state):
            job = self.resume(job_id)
        else:
            self._emit(job)
        self._wake()
        return job

    def cancel(self, job_id: int) -> Job:
        """Stop the job for good and abort its multipart upload (no parts left in S3)."""
        job = self.job(job_id)
        if job.state is JobState.DONE:
            raise InvalidTransitionError(f"Job {job_id} is already uploaded; nothing to cancel.")
        if job.state is not JobState.CANCELLED:
            job = self._move(job, JobState.CANCELLED)
        thread = self._interrupt(job_id, "cancelled")
        if thread is not None:
            thread.join(timeout=60)
        return self._abort_remote(self.job(job_id))

    def retry(self, job_id: int) -> Job:
        """Queue a failed/cancelled job again; it continues from what S3 already has.

        If the file changed since it was queued, the job starts over for the new content
        (any old multipart upload is aborted first, never mixed with new bytes).
        """
        job = self.job(job_id)
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
            job = self._abort_remote(job)
            changes.update(size=st.st_size, mtime_ns=st.st_mtime_ns, fingerprint=None,
                           sha256=None, media={})
            job = self.store.reset_upload(job.id, self.user_id, to=JobState.QUEUED,
                                         expect=states.by(Command.RETRY), **changes)
            self._emit(job)
        elif job.state is JobState.CANCELLED:
            job = self._abort_remote(job)
            job = self.store.reset_upload(job.id, self.user_id, to=JobState.QUEUED,
                                         expect=states.by(Command.RETRY), **changes)
            self._emit(job)
        else:
            job = self._move(job, JobState.QUEUED, expect=states.by(Command.RETRY), **changes)
        self._wake()
        return job

    def remove(self, job_id: int) -> None:
        """Forget a finished, failed or cancelled job (its uploaded video stays in the cloud)."""
        job = self.job(job_id)
        if Command.REMOVE not in states.commands(job.state):
            raise InvalidTransitionError("Cancel the upload before removing it from the list.")
        if job.upload_id:
            self._abort_remote(job)
        self.store.remove(job_id, self.user_id)

    def network_changed(self, online: bool) -> None:
        """The OS (e.g. Qt's QNetworkInformation) says the network came back or went away."""
        self.reachability.report(online)
        if online:
            self._requeue_waiting_network()

    def _emit_many(self, ids: Iterable[int]) -> None:
        for job_id in ids:
            try:
                self._emit(self.job(job_id))
            except MediSpecsError:
                pass

    def _interrupt(self, job_id: int, reason: str) -> threading.Thread | None:
        with self._cond:
            control = self._running.get(job_id)
            thread = self._threads.get(job_id)
        if control is not None:
            control.stop(reason)
        return thread

    def _abort_remote(self, job: Job) -> Job:
        if not job.upload_id or job.phase not in (Phase.PARTS, Phase.COMPLETING):
            return job
        try:
            self.api.abort_multipart(job.video_id, job.upload_id)
        except (OfflineError, ServerError) as exc:
            log.warning("job %s: abort of its multipart upload deferred: %s", job.id, exc)
            return job
        except NotFoundError:
            pass
        return self.store.reset_upload(job.id, self.user_id)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the scheduler; jobs waiting for this user's sign-in are queued again."""
        with self._cond:
            if self._scheduler is not None and self._scheduler.is_alive():
                return
            self._stopping = False
            self._signed_out = False
        for job_id in self.store.transition_all(
            self.user_id, (JobState.WAITING_SIGN_IN,), JobState.QUEUED
        ):
            self._emit(self.job(job_id))
        self._scheduler = threading.Thread(
            target=self._schedule_loop, name=f"uploads-{self.user_id[:8]}", daemon=True
        )
        self._scheduler.start()

    def stop(self, *, timeout: float = 30.0, reason: str = "stopped") -> None:
        """Stop all work; running jobs go back to queued (or ``reason``'s state) for next time."""
        with self._cond:
            self._stopping = True
            controls = list(self._running.values())
            threads = list(self._threads.values())
            self._cond.notify_all()
        for control in controls:
            control.stop(reason)
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread.ident is not None:  # only started threads can be joined
                thread.join(max(0.0, deadline - time.monotonic()))
        if self._scheduler is not None:
            self._scheduler.join(max(0.0, deadline - time.monotonic()))
            self._scheduler = None
        with self._cond:
            quiet = not self._running
        if self.runner_lock is not None and quiet:
            self.runner_lock.release()  # kept while a worker still runs: never two runners

    def sign_out(self) -> None:
        """The user signed out: stop, park their unfinished jobs until they sign in again, and
        forget the finished ones (failed jobs stay: they still need the user)."""
        self._signed_out = True
        self.stop(reason="signed-out")
        self._emit_many(
            self.store.transition_all(
                self.user_id,
                (*RUNNABLE_STATES, JobState.WAITING_NETWORK, JobState.WAITING_SOURCE),
                JobState.WAITING_SIGN_IN,
            )
        )
        purged = self.store.purge_history(self.user_id)
        if purged:
            log.info("sign-out: forgot %d finished upload(s)", purged)

    def _wake(self) -> None:
        with self._cond:
            self._dirty = True  # never lost: the scheduler checks it before it waits
            self._cond.notify_all()

    def _requeue_waiting_network(self) -> None:
        ids = self.store.transition_all(
            self.user_id, (JobState.WAITING_NETWORK,), JobState.QUEUED
        )
        if ids:
            log.info("network is back: %d upload(s) resume", len(ids))
            self._emit_many(ids)
            self._wake()

    def _check_sources(self) -> None:
        for job in self.jobs((JobState.WAITING_SOURCE,)):
            try:
                st = job.path.stat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                try:
                    self._move(job, JobState.QUEUED, expect=(JobState.WAITING_SOURCE,))
                except InvalidTransitionError:
                    continue

    def _schedule_loop(self) -> None:
        try:
            self._schedule()
        finally:
            self.awake.release()

    def _become_runner(self) -> bool:
        """Take the queue's runner lock if it is free (at start, or when the other runner
        exits or dies: the OS drops its lock)."""
        lock = self.runner_lock
        if lock is None or lock.held:
            return True
        if not lock.acquire():
            return False
        log.info("this process now runs the upload queue")
        self._followed.clear()
        return True

    def _follow(self) -> None:
        """Another process runs the queue: report the changes it makes to its rows to this
        engine's listeners (and its byte counts as progress)."""
        seen: dict[int, tuple[Any, ...]] = {}
        changed = False
        for job in self.jobs():
            key = (job.state, job.phase, job.bytes_done, job.error, job.updated_at)
            seen[job.id] = key
            if self._followed.get(job.id) == key:
                continue
            if job.state in ACTIVE_STATES:
                self.progress.track(job.id, job.bytes_done, job.size)
            else:
                self.progress.untrack(job.id)
            changed = True
            self._emit(job)
        for gone in set(self._followed) - set(seen):
            self.progress.untrack(gone)
        self._followed = seen
        if changed:
            self.progress.flush()

    def _schedule(self) -> None:
        announced = False
        while True:
            with self._cond:
                if self._stopping:
                    return
                self._dirty = False
            if not self._become_runner():
                if not announced:
                    announced = True
                    log.info("another process runs this upload queue; following it")
                try:
                    self._follow()
                except Exception:
                    log.exception("upload queue follow error")
                with self._cond:
                    if self._stopping:
                        return
                    self._cond.wait(self.options.follow_interval)
                continue
            with self._cond:
                if self._stopping:
                    return
                slots = self.settings.max_concurrent_files - len(self._running)
                exclude = list(self._running)
            try:
                while slots > 0:
                    job = self.store.next_runnable(self.user_id, exclude)
                    if job is None:
                        break
                    self._launch(job)
                    exclude.append(job.id)
                    slots -= 1
                with self._cond:
                    busy = bool(self._running)
                self.awake.set(busy)  # the OS may not sleep while bytes move
                waiting = self.store.list_jobs(
                    self.user_id, states=(JobState.WAITING_NETWORK, JobState.WAITING_SOURCE)
                )
                if any(j.state is JobState.WAITING_NETWORK for j in waiting):
                    if self.reachability.online or self.reachability.due():
                        if self.reachability.probe():
                            self._requeue_waiting_network()
                            continue
                now = self._clock()
                if any(j.state is JobState.WAITING_SOURCE for j in waiting) and (
                    now >= self._next_source_check
                ):
                    self._next_source_check = now + self.options.source_check_interval
                    self._check_sources()
                timeout = min(
                    self.options.runner_poll_interval,
                    self.options.source_check_interval,
                    max(0.01, self.reachability.seconds_until_probe())
                    if any(j.state is JobState.WAITING_NETWORK for j in waiting)
                    else self.options.probe_interval,
                )
            except Exception:
                log.exception("upload scheduler error")
                timeout = 1.0
            with self._cond:
                if self._stopping:
                    return
                if not self._dirty:
                    self._cond.wait(timeout)

    def _launch(self, job: Job) -> None:
        control = _Control(job.id, self.store)
        thread = threading.Thread(
            target=self._run_job, args=(job, control), name=f"upload-{job.id}", daemon=True
        )
        # registered and started under one lock: stop() never sees a registered thread that
        # has not started ("cannot join thread before it is started"); the worker's own use
        # of the lock waits until start() returns
        with self._cond:
            self._running[job.id] = control
            self._threads[job.id] = thread
            thread.start()

    # ------------------------------------------------------------------ one job
    def _run_job(self, job: Job, control: _Control) -> None:
        lower_thread_priority()  # the GUI first; its hashing and sending threads inherit it
        try:
            self._process(job, control)
        except Interrupted as stop:
            self._after_interrupt(job, stop.reason)
        except InvalidTransitionError:
            log.info("job %s changed state elsewhere (paused/cancelled); worker stops", job.id)
        except Exception as exc:  # noqa: BLE001 - every failure ends in a state, never a crash
            self._after_error(job, exc)
        finally:
            self.progress.untrack(job.id)
            with self._cond:
                self._running.pop(job.id, None)
                self._threads.pop(job.id, None)
                self._dirty = True
                self._cond.notify_all()

    def _after_interrupt(self, job: Job, reason: str) -> None:
        target = {
            "stopped": JobState.QUEUED,
            "signed-out": JobState.WAITING_SIGN_IN,
        }.get(reason)
        if target is not None:
            try:
                self._move(job, target, expect=tuple(ACTIVE_STATES))
            except InvalidTransitionError:
                pass
        if reason == "cancelled":
            self._abort_remote(self.job(job.id))

    def _fail_or_wait(self, job: Job, state: JobState, exc: BaseException, code: str) -> None:
        message = str(exc) or type(exc).__name__
        try:
            job = self.job(job.id)
            self._move(
                job, state, expect=tuple(ACTIVE_STATES | {JobState.QUEUED}),
                error=message,
                error_code=code,
            )
        except (InvalidTransitionError, JobNotFoundError):
            pass  # paused/cancelled/removed meanwhile: the user's choice wins

    def _after_error(self, job: Job, exc: BaseException) -> None:
        if isinstance(exc, NotSignedInError):
            self._fail_or_wait(job, JobState.WAITING_SIGN_IN, exc, exc.code)
            return
        if isinstance(exc, (OfflineError, ConnectionLostError)):
            self.reachability.mark_offline()
            self._fail_or_wait(job, JobState.WAITING_NETWORK, exc, "offline")
            return
        if (isinstance(exc, SourceError) and exc.vanished) or isinstance(exc, FileNotFoundError):
            self._fail_or_wait(
                job, JobState.WAITING_SOURCE,
                MediSpecsError(f"{job.path} is not available (card removed?): waiting for it."),
                "source_vanished",
            )
            return
        if isinstance(exc, MediSpecsError):
            log.warning("job %s (%s) failed: %s", job.id, job.name, exc)
            self._fail_or_wait(job, JobState.FAILED, exc, exc.code)
            return
        if isinstance(exc, OSError):
            log.warning("job %s (%s) failed: %s", job.id, job.name, exc)
            self._fail_or_wait(
                job, JobState.FAILED,
                MediSpecsError(f"Cannot read {job.path}: {exc.strerror or exc}"), "source",
            )
            return
        log.exception("job %s (%s): unexpected error", job.id, job.name)
        self._fail_or_wait(
            job, JobState.FAILED, MediSpecsError(f"Internal error: {exc!r}"), "internal"
        )

    def _process(self, job: Job, control: _Control) -> None:
        control.check()
        job = self._move(job, JobState.HASHING, expect=tuple(RUNNABLE_STATES))
        if job.phase in (Phase.NEW, Phase.PARTS, Phase.COMPLETING):
            self._check_source(job)
        if job.phase is Phase.NEW:
            maybe = self._prepare(job, control)
            if maybe is None:
                return  # duplicate: done without sending a byte
            job = maybe
        reuploads = 0
        while True:
            control.check_row()
            try:
                if job.phase in (Phase.NEW, Phase.PARTS, Phase.COMPLETING):
                    job = self._move(job, JobState.UPLOADING, expect=tuple(ACTIVE_STATES))
                    job = self._upload_multipart(job, control)
                control.check_row()
                job = self._move(job, JobState.FINALIZING, expect=tuple(ACTIVE_STATES))
                if job.phase is not Phase.COMPLETED:
                    break
                recorded = self._create_record(job)
                if recorded is None:
                    return
                job = recorded
                break
            except _CloudCopyRejected as exc:
                # the transfer state is already reset (phase new): the next pass re-reads,
                # re-hashes and re-uploads the file
                job = self.job(job.id)
                if reuploads >= self.options.integrity_reuploads:
                    raise RejectedError(
                        f"The uploaded copy of {job.name} did not match the file "
                        f"({exc.code}) again after it was uploaded "
                        f"{reuploads + 1} times; check the card/disk. Retry starts a fresh "
                        "upload.",
                        code=exc.code,
                    ) from None
                reuploads += 1
                log.warning("job %s: %s; uploading it again (%d of %d)", job.id, exc,
                            reuploads, self.options.integrity_reuploads)
                self._check_source(job)
                self.progress.track(job.id, 0, job.size)
        if job.phase is Phase.RECORDED:
            job = self._attach_thumbnail(job, control)
        self._move(
            job, JobState.DONE, expect=tuple(ACTIVE_STATES), phase=Phase.FINISHED,
            bytes_done=job.size, error=None, error_code=None,
        )

    # -- steps ------------------------------------------------------------------------------
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
            raise SourceChangedError(f"{job.path} is not a regular file; only files are uploaded.")
        if st.st_size != job.size or st.st_mtime_ns != job.mtime_ns:
            raise SourceChangedError(
                f"{job.name} changed since it was queued (size {job.size:,} -> {st.st_size:,} "
                "bytes or modified time differs); it was not uploaded half-old-half-new. "
                "Retry to upload the new content."
            )

    def _prepare(self, job: Job, control: _Control) -> Job | None:
        """Media probe, fingerprint, duplicate checks: everything before the first byte.

        DESIGN §8 (revised): the quick fingerprint only finds candidates. A job is skipped as
        already in the library only when its whole-file SHA-256 equals the SHA-256 of a record
        verified in the cloud; everything else is uploaded."""
        if not job.media:
            info = self._media_probe(job.path)
            media = dict(info.api_fields())
            media["fileSizeBytes"] = job.size
            job = self._set(job, media=media, content_type=str(media.get("mimeType") or
                                                               job.content_type))
        control.check()
        fp = fingerprint(job.path)
        if job.fingerprint and job.fingerprint != fp:
            raise SourceChangedError(f"{job.name} changed since it was queued (content differs).")
        if not job.fingerprint:
            other = self.store.claim_fingerprint(job.id, self.user_id, fp)
            job = self.job(job.id)
            if other is not None:
                # maybe the same recording queued twice: let the other finish first, then
                # the cloud check below decides by the whole file
                self._wait_while_running(other.id, control)
        if not self.options.cloud_duplicate_check:
            return job
        candidates = self._call(lambda: self.api.find_duplicates(fingerprints=[fp]), control)
        if not any(str(m.get("videoId") or "") not in ("", job.video_id) for m in candidates):
            return job
        # a recording with the same size, head and tail is in the library: read the whole
        # file (the only read when it is the same file) and let its SHA-256 decide
        digest = sha256_file(job.path).hexdigest()
        control.check()
        matches = self._call(lambda: self.api.find_duplicates(sha256s=[digest]), control)
        for match in matches:
            video_id = str(match.get("videoId") or "")
            if video_id and video_id != job.video_id and match.get("sha256") == digest:
                self._move(
                    job, JobState.DONE, expect=tuple(ACTIVE_STATES),
                    phase=Phase.FINISHED, duplicate_of=video_id, sha256=digest,
                    error="Already in your library; not uploaded again.",
                    error_code="duplicate",
                )
                return None
        return job

    def _wait_while_running(self, job_id: int, control: _Control) -> None:
        """Block (interruptibly) while another job of this queue is being worked on."""
        changed = threading.Event()
        unsubscribe = self.subscribe_jobs(
            lambda j: changed.set() if j.id == job_id else None)
        try:
            while True:
                control.check()
                with self._cond:
                    running = job_id in self._running
                if not running:
                    return
                changed.wait(0.5)  # also rechecked on a timer: rows change in other processes
                changed.clear()
        finally:
            unsubscribe()

    def _media_probe(self, path: Path) -> Any:
        probe = self._probe
        if probe is None:
            from medispecs_desktop.core.media import probe as media_probe

            probe = media_probe
        return probe(path)

    def _call(self, fn: Callable[[], T], control: _Control | None = None) -> T:
        """An API call with bounded jittered backoff on connection errors and 5xx."""
        backoff = self._backoff()
        attempt = 0
        while True:
            if control is not None:
                control.check()
            try:
                result = fn()
                self.reachability.report(True)
                return result
            except (OfflineError, ServerError) as exc:
                if attempt + 1 >= backoff.attempts:
                    raise
                log.info("API call failed (%s); retry %d", exc, attempt + 1)
                backoff.wait(attempt)
                attempt += 1

    def _backoff(self) -> Backoff:
        return Backoff(
            attempts=self.options.backoff_attempts,
            base=self.options.backoff_base,
            cap=self.options.backoff_cap,
            sleep=self._sleep,
            rng=self._rng,
        )

    def _send(
        self,
        job: Job,
        control: _Control,
        sign: Callable[[], tuple[str, dict[str, str]]],
        data: memoryview,
        *,
        first: tuple[str, dict[str, str]] | None = None,
        label: str,
        abort_siblings: threading.Event | None = None,
    ) -> str:
        """PUT one part (its bytes in memory) with re-signing on expiry and backoff on
        transient failures."""
        backoff = self._backoff()
        transient = 0
        expired = 0
        signed = first
        started = self._clock()
        while True:
            control.check()
            if abort_siblings is not None and abort_siblings.is_set():
                raise Interrupted("sibling-failed")
            if signed is None:
                signed = self._call(sign, control)
            url, headers = signed

            def abort_check() -> None:
                control.check()
                if abort_siblings is not None and abort_siblings.is_set():
                    raise Interrupted("sibling-failed")

            body = BufferSlice(
                data,
                on_read=lambda block: self.progress.add(job.id, len(block)),
                bucket=self.bucket,  # a cap set in Settings applies to parts in flight
                abort_check=abort_check,
                name=job.name,
                link=self.link,
            )
            try:
                etag = put_object(
                    self._session, url, headers, body,
                    timeout=self.options.put_timeout, url_rewriter=self.url_rewriter,
                    link=self.link,
                )
                self.reachability.report(True)
                return etag
            except UrlExpiredError:
                self.progress.add(job.id, -body.sent)
                expired += 1
                if expired > self.options.max_expired_resigns:
                    raise RejectedError(
                        f"The upload links for {label} kept expiring ({expired} times in a "
                        "row); check this computer's clock and retry.",
                        code="url_expired",
                    ) from None
                log.info("job %s %s: URL expired, re-signing", job.id, label)
                signed = None
            except TransientError as exc:
                self.progress.add(job.id, -body.sent)
                expired = 0
                if transient + 1 >= backoff.attempts:
                    if isinstance(exc, StalledError) and self._api_answers():
                        raise self._slow_connection(job, label, started, exc) from None
                    if isinstance(exc, ConnectionLostError):
                        raise
                    raise RejectedError(
                        f"S3 kept failing for {label} after {transient + 1} tries: {exc}. "
                        "Retry later.",
                        code=exc.code,
                    ) from None
                log.info("job %s %s: %s; retry %d", job.id, label, exc, transient + 1)
                if not backoff.wait(transient):
                    control.check()
                transient += 1
            except BaseException:
                self.progress.add(job.id, -body.sent)
                raise

    def _api_answers(self) -> bool:
        try:
            return bool(self.api.ping())
        except Exception:  # noqa: BLE001 - unreachable is the answer
            return False

    def _slow_connection(self, job: Job, label: str, started: float,
                         exc: StalledError) -> SlowConnectionError:
        """A part that kept stalling while the API answers: say so in the row, not loop."""
        seen = self.progress.snapshot().jobs.get(job.id)
        fraction = seen.fraction if seen is not None else 0.0
        log.warning("job %s %s: slow connection, giving up for now: %s", job.id, label, exc)
        return SlowConnectionError(slow_connection_message(
            fraction, self._clock() - started,
            f"{label} stalled {self.options.backoff_attempts} times: nothing accepted for "
            f"{self.options.put_timeout[1]:g} s"))

    def _open_source(self, job: Job) -> int:
        try:
            fd = os.open(job.path, os.O_RDONLY)
        except FileNotFoundError:
            raise SourceError(f"{job.path} is gone", vanished=True) from None
        except OSError as exc:
            raise SourceError(f"Cannot read {job.path}: {exc.strerror or exc}",
                              vanished=True) from None
        st = os.fstat(fd)
        if st.st_size != job.size or st.st_mtime_ns != job.mtime_ns:
            os.close(fd)
            raise SourceChangedError(f"{job.name} changed since it was queued; not uploaded.")
        return fd

    def _create_upload(self, job: Job, control: _Control) -> Job:
        # smaller parts on a slow link: a stalled part costs less, the journal moves often
        part_size = choose_part_size(job.size, self.link.part_size(self.options.min_part_size))
        created = self._call(
            lambda: self.api.create_multipart(
                job.video_id, size=job.size, part_size=part_size,
                content_type=job.content_type,
            ),
            control,
        )
        job = self._set(
            job, upload_id=str(created["uploadId"]),
            part_size=int(created.get("partSizeBytes") or part_size), phase=Phase.PARTS,
        )
        log.info("job %s: multipart upload created (%d parts)", job.id, job.part_count)
        return job

    def _upload_multipart(self, job: Job, control: _Control) -> Job:
        """Every file goes as a multipart upload (one part below the part size) with a
        FULL_OBJECT CRC64NVME: S3 (and the local stack, which computes it from the bytes it
        stores) checks the whole file at completion, at any size."""
        if job.phase is Phase.NEW:
            try:
                job = self._create_upload(job, control)
            except ConflictError as exc:
                if exc.code == "already_uploaded":
                    return self._set(job, phase=Phase.COMPLETED, bytes_done=job.size)
                raise
        if job.phase is Phase.COMPLETING and job.crc64nvme and job.sha256:
            return self._complete(job, control)
        assert job.upload_id is not None and job.part_size is not None
        journal = self.store.parts(job.id)
        if any(len(p.checksum_b64) != 12 for p in journal.values()):
            # a multipart upload begun by an older version (SHA-256 parts, no full-object
            # checksum): S3 would refuse to complete it with a CRC64NVME; start it again
            log.info("job %s: restarting an upload begun by an older version", job.id)
            job = self._abort_remote(job)
            if job.upload_id is not None:
                job = self.store.reset_upload(job.id, self.user_id)
            return self._upload_multipart(job, control)
        upload_id = job.upload_id
        assert upload_id is not None
        try:
            remote_list = self._call(lambda: self.api.list_parts(job.video_id, upload_id), control)
        except NotFoundError:
            log.warning("job %s: multipart upload vanished in S3; starting it again", job.id)
            job = self.store.reset_upload(job.id, self.user_id)
            return self._upload_multipart(job, control)
        remote = {int(p["partNumber"]): p for p in remote_list}
        psize: int = job.part_size or 0
        count = job.part_count

        def expected_len(n: int) -> int:
            return min(psize, job.size - (n - 1) * psize)

        confirmed: dict[int, Part] = {}
        for n, part in journal.items():
            r = remote.get(n)
            if (r is not None and int(r.get("size", -1)) == part.size == expected_len(n)
                    and _etag(r.get("etag")) == _etag(part.etag)):
                confirmed[n] = part
            else:
                self.store.forget_part(job.id, n)
        done_bytes = sum(p.size for p in confirmed.values())
        if remote or journal:
            log.info(
                "job %s: resuming, %d of %d parts already in S3", job.id, len(confirmed), count
            )
        self.progress.track(job.id, done_bytes, job.size)
        job = self._set(job, bytes_done=done_bytes)

        fd = self._open_source(job)
        reader = FileReader(fd, job.size, psize, job.name, self.hash_pool)
        abort_siblings = threading.Event()
        max_flight = max(1, self.settings.max_parts_in_flight)
        # parts held in memory at once (read ahead + signed + sending): the upload's RAM bound
        max_buffers = max_flight + READ_AHEAD
        done_lock = threading.Lock()
        bytes_done = [done_bytes]
        try:
            with ThreadPoolExecutor(max_flight, thread_name_prefix=f"part-{job.id}") as pool:
                prepared: dict[int, Future[PreparedPart]] = {}
                pending: dict[Future[Part], int] = {}
                batch: list[PreparedPart] = []
                next_read = [1]

                def collect(block: bool) -> None:
                    if not pending:
                        return
                    finished, _ = wait(
                        list(pending), timeout=None if block else 0, return_when=FIRST_COMPLETED
                    )
                    for fut in finished:
                        pending.pop(fut)
                        fut.result()  # raises the part's error

                def read_ahead() -> None:
                    while (next_read[0] <= count
                           and len(prepared) + len(batch) + len(pending) < max_buffers):
                        prepared[next_read[0]] = reader.submit(next_read[0])
                        next_read[0] += 1

                def send_part(prep: PreparedPart, first: tuple[str, dict[str, str]]) -> Part:
                    n = prep.number
                    checksum = prep.checksum_b64

                    def sign() -> tuple[str, dict[str, str]]:
                        return _signed(self.api.sign_parts(
                            job.video_id, upload_id,
                            [{"partNumber": n, "contentLength": prep.size,
                              "checksumCRC64NVME": checksum}],
                        )[0])

                    etag = self._send(
                        job, control, sign, prep.data, first=first,
                        label=f"part {n}/{count}", abort_siblings=abort_siblings,
                    )
                    part = Part(n, prep.size, checksum, etag)
                    with done_lock:
                        bytes_done[0] += prep.size
                        total = bytes_done[0]
                    # journal commit (fsync) outside the lock: siblings finishing meanwhile
                    # do not queue behind it
                    self.store.record_part(job.id, part, bytes_done=total)
                    return part

                def flush_batch() -> None:
                    if not batch:
                        return
                    control.check_row()
                    signed = self._call(lambda: self.api.sign_parts(
                        job.video_id, upload_id,
                        [{"partNumber": p.number, "contentLength": p.size,
                          "checksumCRC64NVME": p.checksum_b64} for p in batch],
                    ), control)
                    by_number = {int(s["partNumber"]): s for s in signed}
                    for prep in batch:
                        fut = pool.submit(send_part, prep, _signed(by_number[prep.number]))
                        pending[fut] = prep.number
                    batch.clear()

                try:
                    for n in range(1, count + 1):
                        control.check()
                        read_ahead()
                        while n not in prepared:  # every buffer is busy: free one
                            flush_batch()
                            collect(block=True)
                            read_ahead()
                        prep = prepared.pop(n).result()
                        if n in confirmed:
                            if confirmed[n].checksum_b64 != prep.checksum_b64:
                                raise SourceChangedError(
                                    f"{job.name} changed since part {n} was uploaded; the "
                                    "upload was stopped so old and new content never mix. "
                                    "Retry to upload the new content."
                                )
                            continue
                        r = remote.get(n)
                        remote_crc = None if r is None else r.get("checksumCRC64NVME")
                        if (r is not None and int(r.get("size", -1)) == prep.size
                                and r.get("etag") and remote_crc in (None, prep.checksum_b64)):
                            # in S3 but not journalled (cut before the journal commit): trust
                            # its size and ETag as S3 does; the full-object CRC64NVME checked
                            # at completion proves the bytes are the file's
                            part = Part(n, prep.size, prep.checksum_b64, str(r["etag"]))
                            with done_lock:
                                bytes_done[0] += prep.size
                                self.store.record_part(job.id, part, bytes_done=bytes_done[0])
                            self.progress.add(job.id, prep.size)
                            continue
                        batch.append(prep)
                        if len(batch) >= min(max(1, max_flight - len(pending)),
                                             SIGN_BATCH_MAX):
                            flush_batch()
                        collect(block=False)
                    flush_batch()
                    while pending:
                        collect(block=True)
                except BaseException:
                    abort_siblings.set()
                    reader.stop()
                    for fut in pending:
                        fut.cancel()
                    raise
            sha = reader.sha256()
            crc = reader.crc64nvme_b64()
            self._check_unchanged(job, fd)
        except RejectedError as exc:
            if exc.code != "BadDigest":
                raise
            # S3 refused a part whose bytes were not those hashed (damaged on the way): this
            # upload is dropped and the file read and sent again from its first byte
            self._abort_remote(self.job(job.id))
            self.store.reset_upload(job.id, self.user_id, sha256=None)
            raise _CloudCopyRejected(
                f"S3 refused a part of {job.name}: its bytes arrived damaged",
                code="checksum_mismatch",
            ) from None
        finally:
            reader.drain()
            os.close(fd)
        job = self._set(job, sha256=sha.hexdigest(), crc64nvme=crc, phase=Phase.COMPLETING)
        return self._complete(job, control)

    def _check_unchanged(self, job: Job, fd: int) -> None:
        """After the read: the file still has the size and modification time it was queued
        with, so the bytes hashed and sent are the file as it is (not a growing copy)."""
        st = os.fstat(fd)
        if st.st_size != job.size or st.st_mtime_ns != job.mtime_ns:
            raise SourceChangedError(
                f"{job.name} changed while it was uploaded (size {job.size:,} -> "
                f"{st.st_size:,} bytes or modified time differs); not marked done. "
                "Retry to upload the new content.")

    def _complete(self, job: Job, control: _Control) -> Job:
        assert job.upload_id is not None
        upload_id = job.upload_id
        parts = self.store.parts(job.id)
        if len(parts) != job.part_count or not job.crc64nvme:
            log.warning("job %s: journal has %d/%d parts at complete; resuming parts",
                        job.id, len(parts), job.part_count)
            return self._upload_multipart(self._set(job, phase=Phase.PARTS), control)
        payload = [
            {"partNumber": p.part_number, "etag": p.etag, "checksumCRC64NVME": p.checksum_b64}
            for p in sorted(parts.values(), key=lambda p: p.part_number)
        ]
        whole = job.crc64nvme
        try:
            self._call(lambda: self.api.complete_multipart(
                job.video_id, upload_id, payload, checksum_crc64nvme=whole), control)
        except NotFoundError:
            # completed before a crash (S3 forgets finished uploads); the record step checks
            # that the object is really there (status "uploaded", size and checksum equal).
            log.info("job %s: upload already completed earlier", job.id)
        except ConflictError as exc:
            if exc.code != "checksum_mismatch":
                raise
            # S3 refused the whole-object checksum (the server aborted the upload): send the
            # file again from its first byte
            self.store.reset_upload(job.id, self.user_id, sha256=None)
            raise _CloudCopyRejected(
                f"S3 refused the whole-file checksum of {job.name}", code=exc.code
            ) from None
        return self._set(job, phase=Phase.COMPLETED, bytes_done=job.size)

    def _mark_duplicate(self, job: Job, sha256: str) -> None:
        matches = self._call(lambda: self.api.find_duplicates(sha256s=[sha256]))
        winner = next((str(m["videoId"]) for m in matches
                       if m.get("videoId") and m.get("videoId") != job.video_id), None)
        self._move(
            job, JobState.DONE, expect=tuple(ACTIVE_STATES), phase=Phase.FINISHED,
            duplicate_of=winner, error="Already in your library (the same file was uploaded "
            "from elsewhere meanwhile); this copy was not kept.", error_code="duplicate",
        )

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
            video = self._call(lambda: self.api.create_video(payload))
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
            self.store.reset_upload(job.id, self.user_id, sha256=None)
            raise _CloudCopyRejected(
                f"the cloud copy of {job.name} was refused by the server ({exc.code})",
                code=exc.code,
            ) from None
        status = str(getattr(video, "status", "") or "")
        if status == "pending":
            self.store.reset_upload(job.id, self.user_id, sha256=None)
            raise _CloudCopyRejected(
                f"the server does not see the uploaded copy of {job.name}",
                code="object_missing",
            )
        version = getattr(video, "version", None)
        log.info("job %s: record %s created (%s)", job.id, job.video_id, status)
        return self._set(
            job, phase=Phase.RECORDED, video_version=int(version) if version is not None else None
        )

    def _attach_thumbnail(self, job: Job, control: _Control) -> Job:
        """Best effort: a missing thumbnail never fails an upload that is already safe."""
        try:
            maker = self._thumbnail
            if maker is None:
                from medispecs_desktop.core.media import thumbnail_jpeg

                maker = thumbnail_jpeg
            jpeg = maker(job.path)
        except (MediSpecsError, OSError) as exc:
            log.warning("job %s: no thumbnail: %s", job.id, exc)
            return self._set(job, phase=Phase.FINISHED)
        try:
            info = self._call(lambda: self.api.thumbnail_upload_url(job.video_id), control)
            headers = {str(k): str(v) for k, v in dict(info.get("headers") or {}).items()}
            backoff = self._backoff()
            for attempt in range(backoff.attempts):
                try:
                    put_object(self._session, str(info["uploadUrl"]), headers, jpeg,
                               timeout=self.options.put_timeout, url_rewriter=self.url_rewriter)
                    break
                except UrlExpiredError:
                    info = self._call(lambda: self.api.thumbnail_upload_url(job.video_id),
                                      control)
                except TransientError:
                    if attempt + 1 >= backoff.attempts:
                        raise
                    backoff.wait(attempt)
            version = job.video_version
            if version is None:
                version = int(self._call(lambda: self.api.get_video(job.video_id)).version)
            # the server's processing may bump the version meanwhile: re-read and try again
            for attempt in range(5):
                try:
                    video = self._call(functools.partial(
                        self.api.update_video, job.video_id, version=int(version or 1),
                        thumbnail=True))
                    break
                except ConflictError:
                    if attempt == 4:
                        raise
                    version = int(self._call(lambda: self.api.get_video(job.video_id)).version)
            return self._set(job, phase=Phase.FINISHED,
                             video_version=int(getattr(video, "version", 0) or 0) or None)
        except (OfflineError, ConnectionLostError, NotSignedInError, Interrupted):
            raise
        except (ApiError, RejectedError, TransientError) as exc:
            log.warning("job %s: thumbnail not attached: %s", job.id, exc)
            return self._set(job, phase=Phase.FINISHED)


def _etag(value: Any) -> str:
    return str(value or "").strip().strip('"')


def _signed(entry: dict[str, Any]) -> tuple[str, dict[str, str]]:
    return str(entry["url"]), {str(k): str(v) for k, v in dict(entry.get("headers") or {}).items()}
