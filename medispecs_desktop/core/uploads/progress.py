"""Upload progress: bytes done/total per job, rolling-average speed, ETA, throttled delivery.

Transfer threads call :meth:`ProgressHub.add` for every block; listeners get a
:class:`ProgressSnapshot` at most ``max_rate`` times per second (default 10), plus a final one
on :meth:`ProgressHub.flush` (state changes). Listeners are plain callables and are called on
whatever thread reported the bytes: a GUI must hop to its own thread (ui/tasks.py does).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobProgress:
    job_id: int
    bytes_done: int
    bytes_total: int
    speed_bps: float  # rolling average over the last few seconds
    eta_seconds: float | None  # None while the speed is unknown

    @property
    def fraction(self) -> float:
        return 1.0 if self.bytes_total <= 0 else min(1.0, self.bytes_done / self.bytes_total)


@dataclass(frozen=True)
class ProgressSnapshot:
    jobs: dict[int, JobProgress]
    bytes_done: int
    bytes_total: int
    speed_bps: float
    eta_seconds: float | None
    at: float


ProgressListener = Callable[[ProgressSnapshot], None]


class RollingRate:
    """Bytes per second over a sliding window of (time, cumulative bytes) samples."""

    def __init__(self, window: float = 5.0) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()
        self.total = 0

    def add(self, now: float, amount: int) -> None:
        self.total += amount
        self._samples.append((now, self.total))
        while len(self._samples) > 2 and now - self._samples[1][0] > self.window:
            self._samples.popleft()

    def rate(self, now: float) -> float:
        if len(self._samples) < 2:
            return 0.0
        t0, b0 = self._samples[0]
        span = max(now, self._samples[-1][0]) - t0
        if span <= 0:
            return 0.0
        return (self.total - b0) / span


class ProgressHub:
    def __init__(
        self,
        *,
        max_rate: float = 10.0,
        window: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._min_gap = 1.0 / max_rate if max_rate > 0 else 0.0
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._done: dict[int, int] = {}
        self._total: dict[int, int] = {}
        self._rates: dict[int, RollingRate] = {}
        self._overall = RollingRate(window)
        self._listeners: list[ProgressListener] = []
        self._last_emit = float("-inf")

    def subscribe(self, listener: ProgressListener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def track(self, job_id: int, done: int, total: int) -> None:
        with self._lock:
            self._done[job_id] = done
            self._total[job_id] = total
            self._rates.setdefault(job_id, RollingRate(self._window))

    def untrack(self, job_id: int) -> None:
        self.flush()  # listeners see the job's last byte count before it leaves
        with self._lock:
            self._done.pop(job_id, None)
            self._total.pop(job_id, None)
            self._rates.pop(job_id, None)
        self.flush()

    def add(self, job_id: int, amount: int) -> None:
        """``amount`` bytes more for the job (negative when a failed part's bytes are undone)."""
        now = self._clock()
        with self._lock:
            self._done[job_id] = self._done.get(job_id, 0) + amount
            if amount > 0:
                self._rates.setdefault(job_id, RollingRate(self._window)).add(now, amount)
                self._overall.add(now, amount)
            due = now - self._last_emit >= self._min_gap
            if due:
                self._last_emit = now
                snap = self._snapshot(now)
                listeners = list(self._listeners)
        if due:
            self._emit(listeners, snap)

    def flush(self) -> None:
        now = self._clock()
        with self._lock:
            self._last_emit = now
            snap = self._snapshot(now)
            listeners = list(self._listeners)
        self._emit(listeners, snap)

    def snapshot(self) -> ProgressSnapshot:
        with self._lock:
            return self._snapshot(self._clock())

    def _snapshot(self, now: float) -> ProgressSnapshot:
        jobs: dict[int, JobProgress] = {}
        for job_id, total in self._total.items():
            done = max(0, min(total, self._done.get(job_id, 0)))
            rate = self._rates[job_id].rate(now) if job_id in self._rates else 0.0
            eta = (total - done) / rate if rate > 0 else None
            jobs[job_id] = JobProgress(job_id, done, total, rate, eta)
        done_all = sum(p.bytes_done for p in jobs.values())
        total_all = sum(p.bytes_total for p in jobs.values())
        rate_all = self._overall.rate(now)
        eta_all = (total_all - done_all) / rate_all if rate_all > 0 else None
        return ProgressSnapshot(jobs, done_all, total_all, rate_all, eta_all, now)

    @staticmethod
    def _emit(listeners: list[ProgressListener], snap: ProgressSnapshot) -> None:
        for listener in listeners:
            try:
                listener(snap)
            except Exception:
                log.exception("progress listener failed")
