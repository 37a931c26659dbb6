"""Python's cycle collector, run on the GUI thread only.

CPython collects reference cycles in whichever thread happens to allocate when a threshold is
crossed. A training run allocates on its worker thread the whole time, so a cycle that holds a
Qt object (a closed plot, a replaced curve, a dialog's Python half) can be collected there: the
C++ object is then deleted off the GUI thread while the GUI thread uses Qt's bookkeeping of it,
and the app crashes later, far from the cause. So the automatic collector is switched off, and a
GUI-thread timer collects instead, generation by generation, with the thresholds the interpreter
would have used. (pyqtgraph's `util.GarbageCollector` does the same; it is not used because the
app imports pyqtgraph only after the first paint, and it cannot hand collection back.)
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500  # an idle app allocates little; a busy one is checked twice a second


class GuiThreadCollector(QObject):
    """Collects cycles from a timer on the thread that made it (the GUI thread)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS):
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start(interval_ms)
        gc.disable()

    def collect_due(self) -> None:
        """Collect the generations whose counts have passed their thresholds, youngest first,
        as the interpreter does on allocation."""
        counts = gc.get_count()
        generation = -1
        for g, (count, threshold) in enumerate(zip(counts, self._thresholds)):
            if count <= threshold:
                break
            generation = g
        if generation >= 0:
            gc.collect(generation)

    def stop(self) -> None:
        """Hand collection back to the interpreter; the collector goes."""
        self._timer.stop()
        gc.enable()
        self.deleteLater()


def collect_on_gui_thread(app: QObject) -> GuiThreadCollector:
    """Give cycle collection to a timer of `app`'s thread for as long as `app` lives."""
    return GuiThreadCollector(app)
