"""Python's cyclic garbage collection, run on the GUI thread only, and never while the user works.

CPython collects reference cycles on whichever thread happens to allocate past the collector's
threshold - in this app usually an upload, hashing or API worker. A cycle that holds a Qt object
(a dialog whose slot is a lambda capturing the dialog, a widget kept by its own timer's closure)
is then destroyed on that worker: Qt objects must be destroyed on the thread they live on, and
one destroyed elsewhere crashes the event loop later, far from the cause (seen as segfaults in
``processEvents``). ``ui/tasks.py`` already releases a task's callbacks on the GUI thread; this
closes the other door. It is the long-standing PyQt/PySide remedy (a ``GarbageCollector`` QObject,
as Anki's aqt and many Qt applications in Python carry): automatic collection is switched off and
a GUI-thread timer runs each generation when its count passes the threshold CPython would have
used. Reference counting - which frees almost everything - is untouched.

A collection freezes the GUI for as long as it walks its objects (~0.4-0.9 us each on a 2-core
machine): a full one over the ~170,000 objects of a signed-in app with 1,000 library rows took
70-150 ms, the first one of generation 1 after start-up (which still held everything the window
made) 48 ms - the longest stalls ``tests/benchmarks/bench_gui_uploads.py`` saw while the library
scrolled. So (issue 16):

* **Survivors leave the collector's view.** After every collection of the oldest generation the
  survivors are frozen (``gc.freeze``: CPython's permanent generation, which no collection
  walks), so the next one walks only what was made since: each object is walked there once.
  What exists when the collector is installed (imports, the application) is frozen at once.
* **Big walks wait for a quiet moment.** A collection that would walk more than
  ``quiet_objects`` objects runs only once the user has given no input (keyboard, mouse, wheel,
  touch: an application event filter notes the time) for ``idle_s``, and at most ``max_defer_s``
  later than due whatever happens, so it is never put off for ever.
* **Moving pictures count as work.** A player that shows a video (forwards or backwards) says
  so (:func:`set_playing`): a big walk would show as a hitch in the picture, so it waits as it
  does for input (still at most ``max_defer_s``).
* **A deep collection now and then.** A frozen object that later becomes cyclic garbage is only
  freed by a collection that unfreezes everything first: it runs at a quiet moment once the frozen
  objects grew by a quarter since the last one (CPython's own rule for full collections,
  ``long_lived_pending > long_lived_total / 4`` in its gcmodule.c), and at least every
  ``deep_every_s`` (a closed window's cycles, say, are freed within minutes even when nothing
  new is kept).
"""

from __future__ import annotations

import gc
import logging
import time
import weakref
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer
from PySide6.QtGui import QInputEvent, QInputMethodEvent
from shiboken6 import Shiboken

__all__ = ["GuiThreadGarbageCollector", "install", "moving", "playing", "set_playing"]

log = logging.getLogger(__name__)

INTERVAL_MS = 100  # how often the counts are looked at: young generations stay small
IDLE_S = 1.0  # no input for this long: a quiet moment
MAX_DEFER_S = 120.0  # a due collection waits for a quiet moment at most this long
DEEP_EVERY_S = 600.0  # a deep collection at least this often
QUIET_OBJECTS = 20_000  # walks of more objects than this (~10-20 ms) wait for a quiet moment

_playing: weakref.WeakSet[QObject] = weakref.WeakSet()  # players showing moving pictures


def set_playing(owner: QObject, moving: bool) -> None:
    """``owner`` (a player) shows moving pictures now, or no longer: big collections wait."""
    if moving:
        _playing.add(owner)
    else:
        _playing.discard(owner)


def moving(owner: QObject) -> bool:
    """``owner`` said its picture moves (and has not said otherwise since)."""
    return owner in _playing


def playing() -> bool:
    """Some player shows moving pictures (one whose Qt object is gone no longer counts)."""
    for owner in list(_playing):
        if not Shiboken.isValid(owner):
            _playing.discard(owner)
    return len(_playing) > 0


class GuiThreadGarbageCollector(QObject):
    """Owns the switch: automatic collection is off while it lives (see the module's text)."""

    def __init__(self, parent: QObject, interval_ms: int = INTERVAL_MS, *,
                 idle_s: float = IDLE_S, max_defer_s: float = MAX_DEFER_S,
                 deep_every_s: float = DEEP_EVERY_S,
                 quiet_objects: int = QUIET_OBJECTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.setObjectName("gui-thread-gc")
        self._threshold = gc.get_threshold()
        self._clock = clock
        self.idle_s = idle_s
        self.max_defer_s = max_defer_s
        self.deep_every_s = deep_every_s
        self._deep_at = clock()
        self.quiet_objects = quiet_objects
        self.collections = 0
        self.full_collections = 0  # of the oldest generation (frozen objects excepted)
        self.deep_collections = 0  # of every object (the frozen ones too)
        self.deferred = 0  # looks that found a big collection due and left it for later
        self.last_input = clock()
        self._due_since: float | None = None  # when the collection waiting now became due
        self._known_big: set[int] = set()  # generations found too big to walk but quietly
        gc.disable()
        # counted here, not asked for: gc.get_freeze_count() walks the frozen objects (3.6 ms
        # for 43,000 on a busy 2-core machine)
        self._frozen = gc.get_freeze_count()
        self._freeze()  # imports and the application: long-lived (a deep collection checks)
        self._frozen_after_deep = self._frozen
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.destroyed.connect(_automatic_again)

    def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
        # every event of the app passes here: an isinstance costs ~0.15 us, event.type() 0.5-4
        # (an event type Qt does not declare makes a new enum member each time)
        if isinstance(event, (QInputEvent, QInputMethodEvent)):  # keys, mouse, wheel, touch
            self.last_input = self._clock()
        return False

    def quiet(self) -> bool:
        """No input for ``idle_s``, and no video moving on screen."""
        return not playing() and self._clock() - self.last_input >= self.idle_s

    def check(self) -> None:
        """Run the collection that is due: now if it is small, else at a quiet moment (a
        younger one that is small runs meanwhile)."""
        waiting = False
        if (self._frozen > self._frozen_after_deep * 5 // 4
                or self._clock() - self._deep_at >= self.deep_every_s):
            if self._may_run_big():
                self._collect_deep()
                return
            waiting = True
        counts = gc.get_count()
        for generation in (2, 1, 0):  # youngest first, as CPython: n collects the younger too
            threshold = self._threshold[generation]
            if not threshold or counts[generation] <= threshold:
                continue
            if self._big(generation, counts) and not self._may_run_big():
                waiting = True
                continue
            gc.collect(generation)
            self.collections += 1
            self._known_big = {g for g in self._known_big if g > generation}
            if generation == 2:
                self.full_collections += 1
                self._freeze()  # survivors: long-lived, out of the next walks
            break
        if not waiting:
            self._due_since = None

    def _big(self, generation: int, counts: tuple[int, int, int]) -> bool:
        """Whether a collection of ``generation`` walks more than ``quiet_objects``: generation
        0 holds its count, the older ones are counted (a fraction of walking them, done once:
        a generation only grows until it is collected)."""
        if generation in self._known_big:
            return True
        walk = counts[0] + sum(len(gc.get_objects(g)) for g in range(1, generation + 1))
        if walk > self.quiet_objects:
            self._known_big.add(generation)
            return True
        return False

    def _may_run_big(self) -> bool:
        """A big collection runs at a quiet moment, or once one waited ``max_defer_s``."""
        now = self._clock()
        if self._due_since is None:
            self._due_since = now
        if self.quiet() or now - self._due_since >= self.max_defer_s:
            self._due_since = None
            return True
        self.deferred += 1
        return False

    def _freeze(self) -> None:
        """Everything not frozen yet leaves the collector's view (called right after a
        collection of the oldest generation: what is left is its survivors)."""
        self._frozen += len(gc.get_objects())
        gc.freeze()

    def _collect_deep(self) -> None:
        started = time.perf_counter()
        gc.unfreeze()
        self._frozen = 0
        gc.collect()
        self._freeze()
        self._known_big.clear()
        self._frozen_after_deep = self._frozen
        self._deep_at = self._clock()
        self.collections += 1
        self.full_collections += 1
        self.deep_collections += 1
        log.debug("deep collection: %d objects kept, %.0f ms", self._frozen_after_deep,
                  (time.perf_counter() - started) * 1000)


def _automatic_again() -> None:
    gc.unfreeze()
    gc.enable()


def install(app: QCoreApplication) -> GuiThreadGarbageCollector:
    """Run cyclic collection on ``app``'s (the GUI) thread from now on; idempotent."""
    existing = app.findChild(GuiThreadGarbageCollector, "gui-thread-gc")
    if isinstance(existing, GuiThreadGarbageCollector):
        return existing
    collector = GuiThreadGarbageCollector(app)
    log.debug("cyclic garbage collection moved to the GUI thread (every %d ms)", INTERVAL_MS)
    return collector
