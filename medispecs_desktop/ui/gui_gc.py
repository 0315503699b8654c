"""Python's cyclic garbage collection, run on the GUI thread only.

CPython collects reference cycles on whichever thread happens to allocate past the collector's
threshold - in this app usually an upload, hashing or API worker. A cycle that holds a Qt object
(a dialog whose slot is a lambda capturing the dialog, a widget kept by its own timer's closure)
is then destroyed on that worker: Qt objects must be destroyed on the thread they live on, and
one destroyed elsewhere crashes the event loop later, far from the cause (seen as segfaults in
``processEvents``). ``ui/tasks.py`` already releases a task's callbacks on the GUI thread; this
closes the other door. It is the long-standing PyQt/PySide remedy (a ``GarbageCollector`` QObject,
as many Qt applications in Python carry): automatic collection is switched off and a GUI-thread
timer runs each generation when its count passes the threshold CPython would have used, so
collection happens about as often as before, just always here. Reference counting - which frees
almost everything - is untouched.

A full collection (the oldest generation) walks every tracked object: with 10,000 library rows
that is ~170,000 objects and 90-150 ms of a frozen GUI (measured by bench_gui_uploads.py on a
loaded 2-core machine). CPython itself runs one only when the objects that reached the oldest
generation since the last full collection are at least a quarter of those that survived it
(``long_lived_pending > long_lived_total / 4`` in its gcmodule.c), so a big, stable heap is not
walked again and again; the collector keeps that rule (counting the oldest generation costs
~2 ms and is done only when a full collection is due by the thresholds).
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QCoreApplication, QObject, QTimer

__all__ = ["GuiThreadGarbageCollector", "install"]

log = logging.getLogger(__name__)

INTERVAL_MS = 500


class GuiThreadGarbageCollector(QObject):
    """Owns the switch: automatic collection is off while it lives (see the module's text)."""

    def __init__(self, parent: QObject, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.setObjectName("gui-thread-gc")
        self._threshold = gc.get_threshold()
        self.collections = 0
        self.full_collections = 0
        self._long_lived = len(gc.get_objects(2))  # survivors of the last full collection
        self._full_check_at = 0  # the oldest generation's count that makes it look again
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        self.destroyed.connect(_enable_gc)

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds (youngest first, as
        CPython does: a collection of generation n also collects the younger ones)."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            threshold = self._threshold[generation]
            if not threshold or counts[generation] <= threshold:
                continue
            if generation == 2 and not self._full_due(counts[2]):
                continue
            gc.collect(generation)
            self.collections += 1
            if generation == 2:
                self.full_collections += 1
                self._long_lived = len(gc.get_objects(2))
            return

    def _full_due(self, count: int) -> bool:
        """CPython's rule: the oldest generation grew by a quarter since the last full
        collection (looked at again only after another threshold's worth of younger
        collections)."""
        if count <= self._full_check_at:
            return False
        pending = len(gc.get_objects(2)) - self._long_lived
        if pending > self._long_lived // 4:
            self._full_check_at = 0
            return True
        self._full_check_at = count + self._threshold[2]
        return False


def _enable_gc() -> None:
    gc.enable()


def install(app: QCoreApplication) -> GuiThreadGarbageCollector:
    """Run cyclic collection on ``app``'s (the GUI) thread from now on; idempotent."""
    existing = app.findChild(GuiThreadGarbageCollector, "gui-thread-gc")
    if isinstance(existing, GuiThreadGarbageCollector):
        return existing
    collector = GuiThreadGarbageCollector(app)
    log.debug("cyclic garbage collection moved to the GUI thread (every %d ms)", INTERVAL_MS)
    return collector
