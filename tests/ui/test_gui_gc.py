"""Cyclic garbage holding a Qt object is freed on the GUI thread, never on a worker
(``ui/gui_gc.py``)."""

from __future__ import annotations

import gc
import threading
import weakref
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from medispecs_desktop.ui import gui_gc
from medispecs_desktop.ui.app import make_application


def _cycle_holding_a_qobject(freed_on: list[str]) -> None:
    """A QObject kept alive only by a reference cycle (as a lambda slot capturing its widget
    makes one); reports the thread that destroys it."""
    obj = QObject()
    holder: dict[str, Any] = {"obj": obj}
    holder["self"] = holder
    # runs where the wrapper (and with it the C++ object it owns) is freed
    weakref.finalize(obj, lambda: freed_on.append(threading.current_thread().name))
    del obj  # nothing but the cycle keeps it


def _churn_on_a_worker() -> None:
    """A worker allocating far past every generation's threshold (cycles of its own)."""

    def churn() -> None:
        for _ in range(50):
            junk: list[list[Any]] = [[i] for i in range(20_000)]
            for item in junk:
                item.append(item)
            del junk

    worker = threading.Thread(target=churn, name="churn-worker")
    worker.start()
    worker.join()


def test_the_app_moves_cyclic_collection_to_the_gui_thread(qtbot: Any) -> None:
    app = make_application()
    collector = gui_gc.install(app)
    assert gui_gc.install(app) is collector  # one per application
    assert app.findChildren(gui_gc.GuiThreadGarbageCollector) == [collector]
    assert not gc.isenabled()

    freed_on: list[str] = []
    _cycle_holding_a_qobject(freed_on)

    _churn_on_a_worker()
    assert freed_on == []  # the worker collected nothing
    before = collector.collections
    qtbot.waitUntil(lambda: bool(freed_on))
    assert freed_on == [threading.main_thread().name]
    assert collector.collections > before
    assert QApplication.instance() is app


def test_without_it_a_worker_would_free_the_cycle(qtbot: Any) -> None:
    """The hazard the collector removes is real: with automatic collection on, the worker that
    allocates past the threshold destroys the GUI's object."""
    freed_on: list[str] = []
    was = gc.isenabled()
    gc.collect()
    gc.enable()
    try:
        _cycle_holding_a_qobject(freed_on)

        _churn_on_a_worker()
    finally:
        if not was:
            gc.disable()
    assert freed_on == ["churn-worker"]


def _full_collections() -> int:
    return int(gc.get_stats()[2]["collections"])


def _busy_gui(collector: gui_gc.GuiThreadGarbageCollector, turns: int,
              keep: list[Any] | None = None) -> None:
    """The GUI thread allocating between two looks of the collector, ``turns`` times (what
    uploads and scrolling do); ``keep`` grows by what stays alive."""
    for turn in range(turns):
        batch = [[turn, i] for i in range(1_000)]  # past generation 0's threshold (700)
        collector.check()
        if keep is not None:
            keep.append(batch)
        del batch


def test_a_big_stable_heap_is_not_walked_again_and_again(qtbot: Any) -> None:
    """A full collection froze the GUI for 90-150 ms with 10,000 library rows, and ran about
    every minute while busy. As CPython does, it runs only once the oldest generation grew by
    a quarter since the last one."""
    parent = QObject()
    gc.collect()
    collector = gui_gc.GuiThreadGarbageCollector(parent, interval_ms=2**31 - 1)  # by hand
    try:
        before = _full_collections()
        _busy_gui(collector, 500)  # ~4 times the turns after which a full one is due
        assert _full_collections() == before  # the heap did not grow: never walked again
        assert collector.collections >= 450  # the young generations were collected

        keep: list[Any] = []  # now the heap grows: new long-lived objects, a third of it
        growth = len(gc.get_objects()) // 3
        while sum(len(b) for b in keep) < growth:
            _busy_gui(collector, 10, keep)
        _busy_gui(collector, 300, keep)
        assert _full_collections() > before
        assert collector.full_collections == _full_collections() - before
    finally:
        del parent  # the collector goes with it, now (and turns automatic collection on)
        gc.disable()  # as the test session runs: collected between tests on this thread
