"""Timing for the benchmark scripts (tests/benchmarks/bench_*.py)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def median_ms(fn: Callable[[], object], runs: int) -> float:
    """The median wall-clock time of ``runs`` calls of ``fn``, in milliseconds."""
    times = []
    for _ in range(max(1, runs)):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def wait_until(predicate: Any, timeout: float = 30.0) -> float:
    """Process Qt events until ``predicate()``; returns the seconds it took (GUI benchmarks)."""
    from PySide6.QtCore import QCoreApplication

    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("condition not met")
        QCoreApplication.processEvents()
        time.sleep(0.0005)
    return time.perf_counter() - start
