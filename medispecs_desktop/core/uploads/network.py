"""Retry policy and network reachability for uploads (no Qt: the UI may add its own signal).

* :class:`Backoff` — bounded exponential backoff with full jitter (botocore's ``standard``
  policy: delay ``rand(0, 1) * min(base * 2**attempt, cap)``); sleep and randomness are
  injectable so tests never wait for real.
* :class:`Reachability` — remembers whether the API answered lately and decides when to probe
  again (``api.ping()``) while jobs wait for the network; :meth:`Reachability.report` lets the
  UI feed in the operating system's own reachability signal (Qt's QNetworkInformation).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Backoff:
    attempts: int = 5  # tries in a row before giving up on this round
    base: float = 0.5
    cap: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (0-based), jittered in ``[0, min(cap, b·2^a)]``."""
        return float(self.rng.random() * min(self.cap, self.base * (2**attempt)))

    def wait(self, attempt: int, stop: threading.Event | None = None) -> bool:
        """Sleep before retry ``attempt``; False if ``stop`` got set meanwhile."""
        d = self.delay(attempt)
        if stop is not None and stop.is_set():
            return False
        if d > 0:
            self.sleep(d)
        return not (stop is not None and stop.is_set())


class Reachability:
    """Tracks whether the cloud is reachable and paces probes while it is not."""

    def __init__(
        self,
        probe: Callable[[], bool],
        *,
        interval: float = 15.0,
        max_interval: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self.interval = interval
        self.max_interval = max_interval
        self._clock = clock
        self._lock = threading.Lock()
        self.online = True
        self._next_probe = 0.0
        self._failures = 0

    def report(self, online: bool) -> None:
        """A hint from outside (an upload got through, or the OS says the link is up/down)."""
        with self._lock:
            self.online = online
            if online:
                self._failures = 0
                self._next_probe = 0.0

    def mark_offline(self) -> None:
        with self._lock:
            if self.online:
                self.online = False
                self._failures = 0
                self._next_probe = self._clock() + self.interval

    def due(self) -> bool:
        with self._lock:
            return self._clock() >= self._next_probe

    def seconds_until_probe(self) -> float:
        with self._lock:
            return max(0.0, self._next_probe - self._clock())

    def probe(self) -> bool:
        """Ping now; on failure the next probe is later (doubling up to ``max_interval``)."""
        try:
            ok = bool(self._probe())
        except Exception:  # noqa: BLE001 - a probe never raises into the scheduler
            ok = False
        with self._lock:
            self.online = ok
            if ok:
                self._failures = 0
                self._next_probe = 0.0
            else:
                self._failures += 1
                step = min(self.max_interval, self.interval * (2 ** min(self._failures - 1, 6)))
                self._next_probe = self._clock() + step
        return ok
