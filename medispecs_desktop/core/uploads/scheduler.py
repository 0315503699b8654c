"""Which job runs next, on which thread, and how it ends.

One scheduler thread picks runnable jobs in queue order, at most
``settings.max_concurrent_files`` at a time, each on its own worker thread (the pipeline), and
only while this process holds the queue's runner lock; otherwise it follows the rows another
process writes. It also wakes jobs that waited for the network or for a pulled card, and ends
every worker in a state: queued again after a stop, waiting, or failed with the reason.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from typing import TYPE_CHECKING, Any

from medispecs_desktop.core.errors import MediSpecsError, NotSignedInError, OfflineError
from medispecs_desktop.core.uploads.base import Control, EngineCore, Interrupted
from medispecs_desktop.core.uploads.jobs import ACTIVE_STATES, RUNNABLE_STATES, Job, JobState
from medispecs_desktop.core.uploads.reader import SourceChangedError
from medispecs_desktop.core.uploads.states import InvalidTransitionError
from medispecs_desktop.core.uploads.store import SIGNED_OUT_NOTE, JobNotFoundError
from medispecs_desktop.core.uploads.transfer import ConnectionLostError, SourceError

if TYPE_CHECKING:
    from medispecs_desktop.core.uploads.multipart import Multipart
    from medispecs_desktop.core.uploads.pipeline import JobPipeline

log = logging.getLogger(__name__)

SOURCE_CHANGING = "source_changing"


def changing_note(name: str, size: int) -> str:
    return (f"{name} is still being written or was changed (now {size:,} bytes): waiting "
            "until it stops changing; it is then read again from the start.")


class Scheduler:
    """Runs the queue: the scheduler thread, the workers, and how each job's run ends."""

    def __init__(self, core: EngineCore, pipeline: JobPipeline, multipart: Multipart) -> None:
        self.core = core
        self.pipeline = pipeline
        self.multipart = multipart

    @property
    def is_runner(self) -> bool:
        """True while this engine sends the queue's bytes (holds the queue's runner lock)."""
        return self.core.runner_lock is None or self.core.runner_lock.held

    def runner_elsewhere(self) -> bool:
        """True when another process (the app, ``upload --wait``) runs this queue right now:
        jobs added or resumed here are then uploaded by it."""
        if self.core.runner_lock is None or self.core.runner_lock.held:
            return False
        return self.core.runner_lock.held_elsewhere()

    def start(self) -> None:
        """Start the scheduler; jobs waiting for this user's sign-in are queued again."""
        with self.core._cond:
            if self.core._scheduler_thread is not None and self.core._scheduler_thread.is_alive():
                return
            self.core._stopping = False
            self.core._signed_out = False
        for job_id in self.core.store.transition_all(
            self.core.user_id, (JobState.WAITING_SIGN_IN,), JobState.QUEUED, error=None,
            error_code=None,
        ):
            self.core._emit(self.core.job(job_id))
        self.core._scheduler_thread = threading.Thread(
            target=self._schedule_loop, name=f"uploads-{self.core.user_id[:8]}", daemon=True
        )
        self.core._scheduler_thread.start()

    def stop(self, *, timeout: float = 30.0, reason: str = "stopped") -> None:
        """Stop all work; running jobs go back to queued (or ``reason``'s state) for next time."""
        with self.core._cond:
            self.core._stopping = True
            controls = list(self.core._running.values())
            threads = list(self.core._threads.values())
            self.core._cond.notify_all()
        for control in controls:
            control.stop(reason)
        deadline = time.monotonic() + timeout
        for thread in threads:
            if thread.ident is not None:  # only started threads can be joined
                thread.join(max(0.0, deadline - time.monotonic()))
        if self.core._scheduler_thread is not None:
            self.core._scheduler_thread.join(max(0.0, deadline - time.monotonic()))
            self.core._scheduler_thread = None
        with self.core._cond:
            quiet = not self.core._running
        if self.core.runner_lock is not None and quiet:
            self.core.runner_lock.release()  # kept while a worker still runs: never two runners

    def sign_out(self) -> None:
        """The user signed out: stop, park their unfinished jobs until they sign in again, and
        forget the finished ones (failed jobs stay: they still need the user)."""
        self.core._signed_out = True
        self.stop(reason="signed-out")
        self.core._emit_many(
            self.core.store.transition_all(
                self.core.user_id,
                (*RUNNABLE_STATES, JobState.WAITING_NETWORK, JobState.WAITING_SOURCE),
                JobState.WAITING_SIGN_IN, error=SIGNED_OUT_NOTE, error_code="signed_out",
            )
        )
        purged = self.core.store.purge_history(self.core.user_id)
        if purged:
            log.info("sign-out: forgot %d finished upload(s)", purged)

    def requeue_waiting_network(self) -> None:
        ids = self.core.store.transition_all(
            self.core.user_id, (JobState.WAITING_NETWORK,), JobState.QUEUED
        )
        if ids:
            log.info("network is back: %d upload(s) resume", len(ids))
            self.core._emit_many(ids)
            self.core._wake()

    def _check_sources(self) -> None:
        for job in self.core.jobs((JobState.WAITING_SOURCE,)):
            try:
                st = job.path.stat()
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            if job.error_code == SOURCE_CHANGING:
                if (st.st_size, st.st_mtime_ns) != (job.size, job.mtime_ns):
                    # still changing: the row follows the file, the wait starts again
                    self.core._set(job, size=st.st_size, mtime_ns=st.st_mtime_ns,
                                   error=changing_note(job.name, st.st_size))
                    continue
                if time.time() - st.st_mtime_ns / 1e9 < self.core.options.source_stable_seconds:
                    continue  # written to a moment ago: not settled yet
            try:
                self.core._move(job, JobState.QUEUED, expect=(JobState.WAITING_SOURCE,))
            except InvalidTransitionError:
                continue

    def _wait_until_settled(self, job: Job) -> None:
        """The file changed under the job (still being copied or recorded, or replaced): drop
        what was read and sent of it (the multipart upload is aborted), take its new size and
        time, and wait until it stops changing; then it is read again from its first byte.
        Never a copy of a file that was still growing marked done."""
        try:
            st = os.stat(job.path)
        except OSError as exc:
            self._fail_or_wait(job, JobState.WAITING_SOURCE, MediSpecsError(
                f"{job.path} is not available (card removed?): waiting for it."),
                "source_vanished")
            log.info("job %s: source gone after it changed: %s", job.id, exc)
            return
        job = self.multipart.abort_remote(self.core.job(job.id))
        job = self.core.store.reset_upload(
            job.id, self.core.user_id, size=st.st_size, mtime_ns=st.st_mtime_ns, sha256=None,
            fingerprint=None, media={})
        log.info("job %s (%s) changed while queued or sent; waiting until it is settled",
                 job.id, job.name)
        self.core.progress.untrack(job.id)
        self._fail_or_wait(job, JobState.WAITING_SOURCE,
                           MediSpecsError(changing_note(job.name, st.st_size)), SOURCE_CHANGING)

    def _schedule_loop(self) -> None:
        try:
            self._schedule()
        finally:
            self.core.awake.release()

    def _become_runner(self) -> bool:
        """Take the queue's runner lock if it is free (at start, or when the other runner
        exits or dies: the OS drops its lock)."""
        lock = self.core.runner_lock
        if lock is None or lock.held:
            return True
        if not lock.acquire():
            return False
        log.info("this process now runs the upload queue")
        self.core._followed.clear()
        return True

    def _follow(self) -> None:
        """Another process runs the queue: report the changes it makes to its rows to this
        engine's listeners (and its byte counts as progress)."""
        seen: dict[int, tuple[Any, ...]] = {}
        changed = False
        for job in self.core.jobs():
            key = (job.state, job.phase, job.bytes_done, job.error, job.updated_at)
            seen[job.id] = key
            if self.core._followed.get(job.id) == key:
                continue
            if job.state in ACTIVE_STATES:
                self.core.progress.track(job.id, job.bytes_done, job.size)
            else:
                self.core.progress.untrack(job.id)
            changed = True
            self.core._emit(job)
        for gone in set(self.core._followed) - set(seen):
            self.core.progress.untrack(gone)
        self.core._followed = seen
        if changed:
            self.core.progress.flush()

    def _schedule(self) -> None:
        announced = False
        while True:
            with self.core._cond:
                if self.core._stopping:
                    return
                self.core._dirty = False
            if not self._become_runner():
                if not announced:
                    announced = True
                    log.info("another process runs this upload queue; following it")
                try:
                    self._follow()
                except Exception:
                    log.exception("upload queue follow error")
                with self.core._cond:
                    if self.core._stopping:
                        return
                    self.core._cond.wait(self.core.options.follow_interval)
                continue
            with self.core._cond:
                if self.core._stopping:
                    return
                slots = self.core.settings.max_concurrent_files - len(self.core._running)
                exclude = list(self.core._running)
            try:
                while slots > 0:
                    job = self.core.store.next_runnable(self.core.user_id, exclude)
                    if job is None:
                        break
                    self._launch(job)
                    exclude.append(job.id)
                    slots -= 1
                with self.core._cond:
                    busy = bool(self.core._running)
                self.core.awake.set(busy)  # the OS may not sleep while bytes move
                waiting = self.core.store.list_jobs(
                    self.core.user_id, states=(JobState.WAITING_NETWORK, JobState.WAITING_SOURCE)
                )
                if any(j.state is JobState.WAITING_NETWORK for j in waiting):
                    if self.core.reachability.online or self.core.reachability.due():
                        if self.core.reachability.probe():
                            self.requeue_waiting_network()
                            continue
                now = self.core._clock()
                if any(j.state is JobState.WAITING_SOURCE for j in waiting) and (
                    now >= self.core._next_source_check
                ):
                    self.core._next_source_check = now + self.core.options.source_check_interval
                    self._check_sources()
                timeout = min(
                    self.core.options.runner_poll_interval,
                    self.core.options.source_check_interval,
                    max(0.01, self.core.reachability.seconds_until_probe())
                    if any(j.state is JobState.WAITING_NETWORK for j in waiting)
                    else self.core.options.probe_interval,
                )
            except Exception:
                log.exception("upload scheduler error")
                timeout = 1.0
            with self.core._cond:
                if self.core._stopping:
                    return
                if not self.core._dirty:
                    self.core._cond.wait(timeout)

    def _launch(self, job: Job) -> None:
        control = Control(job.id, self.core.store)
        thread = threading.Thread(
            target=self._run_job, args=(job, control), name=f"upload-{job.id}", daemon=True
        )
        # registered and started under one lock: stop() never sees a registered thread that
        # has not started ("cannot join thread before it is started"); the worker's own use
        # of the lock waits until start() returns
        with self.core._cond:
            self.core._running[job.id] = control
            self.core._threads[job.id] = thread
            thread.start()

    def _run_job(self, job: Job, control: Control) -> None:
        # at the GUI's priority on purpose: a lowered thread preempted while holding the GIL
        # keeps the GUI thread waiting (core/priority.py)
        try:
            self.pipeline.process(job, control)
        except Interrupted as stop:
            self._after_interrupt(job, stop.reason)
        except InvalidTransitionError:
            log.info("job %s changed state elsewhere (paused/cancelled); worker stops", job.id)
        except Exception as exc:  # noqa: BLE001 - every failure ends in a state, never a crash
            self._after_error(job, exc)
        finally:
            self.core.progress.untrack(job.id)
            with self.core._cond:
                self.core._running.pop(job.id, None)
                self.core._threads.pop(job.id, None)
                self.core._dirty = True
                self.core._cond.notify_all()

    def _after_interrupt(self, job: Job, reason: str) -> None:
        target = {
            "stopped": JobState.QUEUED,
            "signed-out": JobState.WAITING_SIGN_IN,
        }.get(reason)
        if target is not None:
            note: dict[str, str | None] = {}
            if target is JobState.WAITING_SIGN_IN:
                note = {"error": SIGNED_OUT_NOTE, "error_code": "signed_out"}
            try:
                self.core._move(job, target, expect=tuple(ACTIVE_STATES), **note)
            except InvalidTransitionError:
                pass
        if reason == "cancelled":
            self.multipart.abort_remote(self.core.job(job.id))

    def _fail_or_wait(self, job: Job, state: JobState, exc: BaseException, code: str) -> None:
        message = str(exc) or type(exc).__name__
        try:
            job = self.core.job(job.id)
            self.core._move(
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
            self.core.reachability.mark_offline()
            self._fail_or_wait(job, JobState.WAITING_NETWORK, exc, "offline")
            return
        if isinstance(exc, SourceChangedError):
            self._wait_until_settled(job)
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
