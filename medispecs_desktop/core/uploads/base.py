"""What every part of the upload engine shares: the queue, the API, the listeners, the running
jobs and their stop flags, and the few helpers each part uses (API calls with backoff, writes
that tell the listeners, the one door for state moves).

The engine is split by job (see ``engine.py``): ``commands`` (what the user asks), ``scheduler``
(which job runs next, its worker thread, how it ends), ``pipeline`` (the steps of one job) and
``multipart`` (the bytes of one job into S3). Each gets this core and reads and writes through
it, so their state is one.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import requests

from medispecs_desktop.core.config import Settings
from medispecs_desktop.core.errors import MediSpecsError, OfflineError, ServerError
from medispecs_desktop.core.uploads.awake import SleepInhibitor
from medispecs_desktop.core.uploads.jobs import ACTIVE_STATES, RUNNABLE_STATES, Job, JobState
from medispecs_desktop.core.uploads.link import LinkEstimator
from medispecs_desktop.core.uploads.network import Backoff, Reachability
from medispecs_desktop.core.uploads.presentation import BatchSummary, summarize
from medispecs_desktop.core.uploads.progress import ProgressHub, ProgressListener
from medispecs_desktop.core.uploads.reader import HashPool
from medispecs_desktop.core.uploads.runner_lock import RunnerLock
from medispecs_desktop.core.uploads.store import QueueStore
from medispecs_desktop.core.uploads.transfer import (
    TokenBucket,
    UrlRewriter,
    make_upload_session,
)

log = logging.getLogger(__name__)

MIB = 1024 * 1024

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
    # a file that changed (still being copied or recorded) is read again once neither its size
    # nor its modified time has changed for this long
    source_stable_seconds: float = 5.0
    cloud_duplicate_check: bool = True
    # (connect, stall): a PUT fails when the link accepts or answers nothing for `stall` s,
    # never for being slow (transfer.py / link.py)
    put_timeout: tuple[float, float] = (15.0, 120.0)
    # after the server refuses the uploaded copy (checksum_mismatch, not_uploaded) the file is
    # uploaded again this many times by itself before the job fails
    integrity_reuploads: int = 1
    # the record waits this long at most for the thumbnail sent beside the bytes (a stalled
    # thumbnail PUT never holds up a recording that is safe: it is attached after the record)
    thumbnail_wait: float = 5.0
    # another process runs this queue: how often to look at its rows (listeners, take-over)
    follow_interval: float = 0.5
    # the runner looks for jobs queued/resumed by another process at least this often
    runner_poll_interval: float = 1.0
    # how often a running engine looks whether another process signed its user out (a read of
    # SQLite's data_version; the sign-outs table only when another process wrote)
    sign_out_poll_interval: float = 0.25


class Interrupted(Exception):
    """A job must stop now (pause, cancel, engine stop, sign-out, sibling part failed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason



# POST /videos answers after which the bytes must be sent again: the server deleted an object
# whose SHA-256 did not match, or the object is not there (deleted, or lost before a crash)
REUPLOAD_CODES = frozenset({"checksum_mismatch", "size_mismatch", "not_uploaded"})


class CloudCopyRejected(MediSpecsError):
    """The record step refused the uploaded bytes; the job's transfer state was reset."""


class Control:
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


class EngineCore:
    """The state the engine's parts share (see the module docstring)."""

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
        username: str | None = None,
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
        self._running: dict[int, Control] = {}
        self._threads: dict[int, threading.Thread] = {}
        self._scheduler_thread: threading.Thread | None = None
        self._stopping = False
        self._signed_out = False
        self._dirty = True
        self._next_source_check = 0.0
        # only the holder of this OS lock sends bytes for this user's queue (see runner_lock)
        if runner_lock is None and str(store.path) != ":memory:":
            runner_lock = RunnerLock(store.path, user_id)
        self.runner_lock = runner_lock
        self._followed: dict[int, tuple[Any, ...]] = {}
        # a sign-out in any process sharing the queue stops this engine (see signout.py)
        self.username = username
        if username:
            store.remember_account(username, user_id)
        self._sign_out_since: int | None = store.sign_out_generation(user_id)
        self.signed_out_elsewhere = False
        """True once another process signed this user out (the engine stopped)."""
        self._compose()

    def _compose(self) -> None:
        """Builds the parts that work on this state (the engine's facade does)."""

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

    def jobs(self, states: Sequence[JobState] | None = None) -> list[Job]:
        return self.store.list_jobs(self.user_id, states=states)

    def job(self, job_id: int) -> Job:
        return self.store.get(job_id, self.user_id)

    def summary(self, job_ids: Iterable[int] | None = None) -> BatchSummary:
        """What the jobs (default: all of this user's) came to: uploaded, already in the
        library (nothing sent), failed, and the bytes really sent."""
        jobs = self.jobs()
        if job_ids is not None:
            wanted = set(job_ids)
            jobs = [j for j in jobs if j.id in wanted]
        return summarize(jobs)

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

    def _wake(self) -> None:
        with self._cond:
            self._dirty = True  # never lost: the scheduler checks it before it waits
            self._cond.notify_all()

    def _call(self, fn: Callable[[], T], control: Control | None = None) -> T:
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

