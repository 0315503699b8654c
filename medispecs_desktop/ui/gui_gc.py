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
        generation = -1
        for n, (count, threshold) in enumerate(zip(counts, self._threshold, strict=True)):
            if threshold and count > threshold:
                generation = n
        if generation >= 0:
            gc.collect(generation)
            self.collections += 1


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
