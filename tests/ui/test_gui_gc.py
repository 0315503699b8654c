"""Cyclic garbage holding a Qt object is freed on the GUI thread, never on a worker
(``ui/gui_gc.py``)."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget
from shiboken6 import Shiboken

from medispecs_desktop.ui import gui_gc
from medispecs_desktop.ui.app import make_application


def _live_cycle_holding_a_qobject(freed_on: list[str]) -> dict[str, Any]:
    """A QObject in a reference cycle (as a lambda slot capturing its widget makes one), kept
    alive by the caller for now; reports the thread that destroys it."""
    holder: dict[str, Any] = {"obj": QObject()}
    holder["self"] = holder
    # runs where the wrapper (and with it the C++ object it owns) is freed
    weakref.finalize(holder["obj"], lambda: freed_on.append(threading.current_thread().name))
    return holder


def _cycle_holding_a_qobject(freed_on: list[str]) -> None:
    """As above, kept alive only by the cycle."""
    _live_cycle_holding_a_qobject(freed_on)


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


class _Clock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Desk:
    """A collector checked by hand (its timer never fires in a test) on the test's clock, and
    a window the user types into (the key events pass the application's event filters, as the
    platform's do)."""

    def __init__(self, qtbot: Any) -> None:
        make_application()
        self.widget = QWidget()
        qtbot.addWidget(self.widget)
        self.clock = _Clock()
        self.parent = QObject()
        gc.collect()
        self.collector = gui_gc.GuiThreadGarbageCollector(
            self.parent, interval_ms=2**31 - 1, idle_s=1.0, max_defer_s=60.0,
            quiet_objects=5_000, clock=self.clock)

    def user_types(self) -> None:
        QApplication.sendEvent(self.widget, QKeyEvent(
            QEvent.Type.KeyPress, Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier))

    def wait(self, seconds: float) -> None:
        self.clock.now += seconds

    def quiet_turns(self, until: Any, keep: list[Any] | None = None) -> None:
        """The GUI thread allocating between two looks of the collector while the user reads
        (no input), until ``until()``; ``keep`` grows by what stays alive."""
        for turn in range(10_000):
            if until():
                return
            batch = [[turn, i] for i in range(1_000)]  # past generation 0's threshold (700)
            self.wait(0.1)
            self.collector.check()
            if keep is not None:
                keep.append(batch)
            del batch
        raise AssertionError("never happened")


@pytest.fixture(autouse=True)
def _no_player_of_another_test(monkeypatch: Any) -> None:
    """A player another test left playing (alive until its cycles are collected) would hold
    big collections back here: these tests see only the players they make."""
    monkeypatch.setattr(gui_gc, "_playing", weakref.WeakSet())


@pytest.fixture
def desk(qtbot: Any) -> Iterator[_Desk]:
    made = _Desk(qtbot)
    yield made
    del made.parent, made.collector  # the collector goes (and turns automatic collection on)
    gc.disable()  # as the test session runs: collected between tests on this thread


def test_a_big_collection_waits_until_the_user_pauses(desk: _Desk) -> None:
    """A collection walking many objects froze the GUI for 48-150 ms while the library
    scrolled: it now waits until there was no input for a second."""
    freed_on: list[str] = []
    _cycle_holding_a_qobject(freed_on)
    young = [[i] for i in range(20_000)]  # generation 0: due, and more than quiet_objects
    desk.user_types()
    desk.collector.check()
    assert freed_on == [] and desk.collector.collections == 0
    desk.wait(0.6)
    desk.user_types()  # still at work
    desk.wait(0.9)
    desk.collector.check()
    assert freed_on == [] and desk.collector.collections == 0
    assert desk.collector.deferred >= 2
    desk.wait(0.2)  # a second since the last key: a quiet moment
    desk.collector.check()
    assert freed_on == [threading.main_thread().name]
    assert desk.collector.collections == 1
    del young


def test_a_big_collection_waits_while_a_video_plays(desk: _Desk) -> None:
    """Watching a recording is no input, yet a 70-150 ms walk would show as a hitch in the
    picture: while a player says its picture moves, a big collection waits as for input."""
    freed_on: list[str] = []
    _cycle_holding_a_qobject(freed_on)
    young = [[i] for i in range(20_000)]  # generation 0: due, and more than quiet_objects
    player = QObject()
    gui_gc.set_playing(player, True)
    try:
        desk.wait(5.0)  # no input for long
        desk.collector.check()
        assert freed_on == [] and desk.collector.collections == 0 and desk.collector.deferred
        gui_gc.set_playing(player, False)  # paused: a quiet moment
        desk.collector.check()
        assert freed_on == [threading.main_thread().name]
    finally:
        gui_gc.set_playing(player, False)
    del young


def test_a_player_destroyed_while_playing_no_longer_holds_collections_back() -> None:
    player = QObject()
    gui_gc.set_playing(player, True)
    assert gui_gc.playing()
    Shiboken.delete(player)  # the Qt object is gone, its Python wrapper is still referenced
    assert not gui_gc.playing()


def test_a_wheel_turn_or_a_mouse_move_is_the_user_at_work_too(desk: _Desk) -> None:
    freed: list[str] = []
    _cycle_holding_a_qobject(freed)
    young = [[i] for i in range(20_000)]
    at = QPointF(5, 5)
    for event in (
        QWheelEvent(at, at, QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
                    Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False),
        QMouseEvent(QEvent.Type.MouseMove, at, at, Qt.MouseButton.NoButton,
                    Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier),
    ):
        desk.wait(5.0)
        QApplication.sendEvent(desk.widget, event)
        desk.wait(0.5)
        desk.collector.check()
        assert freed == [] and desk.collector.collections == 0
    desk.wait(0.6)
    desk.collector.check()
    assert freed == [threading.main_thread().name]
    del young


def test_a_small_collection_runs_while_the_user_works(desk: _Desk) -> None:
    freed_on: list[str] = []
    _cycle_holding_a_qobject(freed_on)
    young = [[i] for i in range(1_000)]  # past generation 0's threshold (700), small
    desk.user_types()
    desk.collector.check()
    assert freed_on == [threading.main_thread().name]
    assert desk.collector.collections == 1 and desk.collector.deferred == 0
    del young


def test_a_due_collection_is_never_put_off_for_ever(desk: _Desk) -> None:
    freed_on: list[str] = []
    _cycle_holding_a_qobject(freed_on)
    young = [[i] for i in range(20_000)]
    for _ in range(120):  # a user who never stops for a second: 0 to 59.5 s
        desk.user_types()
        desk.collector.check()
        desk.wait(0.5)
    assert freed_on == []
    desk.user_types()
    desk.collector.check()  # 60 s after it was due
    assert freed_on == [threading.main_thread().name]
    del young


def test_what_survives_a_full_collection_is_not_walked_again(desk: _Desk) -> None:
    """A full collection walked every object of the app (~170,000: 70-150 ms) each time it
    ran; its survivors now leave the collector's view (frozen), so the next one walks only
    what was made since."""
    long_lived = [[i] for i in range(50_000)]
    frozen = gc.get_freeze_count()
    desk.quiet_turns(lambda: desk.collector.full_collections > 0)
    assert gc.get_freeze_count() >= frozen + 50_000
    assert len(gc.get_objects(2)) < 5_000  # what the next full collection walks
    walked = {id(o) for o in gc.get_objects()}
    assert not any(id(o) in walked for o in long_lived[:100])


def test_frozen_garbage_is_freed_at_a_quiet_moment_on_the_gui_thread(qtbot: Any) -> None:
    """Cycles among frozen objects are freed by a deep collection (everything unfrozen first),
    once the frozen objects grew by a quarter, and on the GUI thread."""
    freed_on: list[str] = []
    holder = _live_cycle_holding_a_qobject(freed_on)
    made = _Desk(qtbot)  # its collector freezes the cycle (alive now)
    try:
        del holder  # cyclic garbage, frozen
        gc.collect()
        assert freed_on == []  # a full collection does not walk frozen objects
        keep: list[Any] = []
        grown = gc.get_freeze_count() * 5 // 4
        made.user_types()
        made.quiet_turns(lambda: gc.get_freeze_count() > grown, keep)
        made.user_types()  # at work: the deep collection waits
        made.wait(0.5)
        made.collector.check()
        assert freed_on == [] and made.collector.deep_collections == 0
        made.wait(0.6)
        made.collector.check()
        assert made.collector.deep_collections == 1
        assert freed_on == [threading.main_thread().name]
        del keep
    finally:
        del made  # the collector goes with its parent (and turns automatic collection on)
        gc.disable()


def test_a_look_does_not_count_the_frozen_objects(desk: _Desk, monkeypatch: Any) -> None:
    """``gc.get_freeze_count()`` walks every frozen object (3.6 ms for 43,000 on a busy
    2-core machine): the look every 100 ms, and a full collection, never ask for it."""
    asked: list[int] = []

    def counted() -> int:
        asked.append(1)
        return 0

    monkeypatch.setattr(gc, "get_freeze_count", counted)
    desk.quiet_turns(lambda: desk.collector.full_collections > 1)
    assert asked == []


def test_frozen_garbage_is_freed_within_minutes_when_nothing_grows(qtbot: Any) -> None:
    """Without the quarter's growth, a deep collection still runs every 10 minutes (at a quiet
    moment): a closed window's cycles do not wait for ever."""
    freed_on: list[str] = []
    holder = _live_cycle_holding_a_qobject(freed_on)
    gc.collect()
    made = _Desk(qtbot)  # its collector freezes the cycle (alive now)
    try:
        del holder  # cyclic garbage, frozen
        made.wait(598.0)
        made.collector.check()
        assert freed_on == [] and made.collector.deep_collections == 0
        made.wait(2.5)
        made.user_types()  # at work: it waits
        made.collector.check()
        assert freed_on == [] and made.collector.deep_collections == 0
        made.wait(1.1)
        made.collector.check()
        assert made.collector.deep_collections == 1
        assert freed_on == [threading.main_thread().name]
    finally:
        del made
        gc.disable()
