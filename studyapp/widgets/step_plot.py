"""What the live plots of a training run (loss, accuracy) share: a pyqtgraph plot against steps
with what was seen (tokens, examples) on a top axis, the line that says what an empty chart is
waiting for, and the timer that redraws it."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer

import pyqtgraph as pg  # isort: skip  (after PySide6, so pyqtgraph binds to it)


def steps_plot(y_label: str, top_label: str) -> pg.PlotWidget:
    """A plot with `y_label` on the left, "step" at the bottom and `top_label` on top."""
    plot = pg.PlotWidget()
    item = plot.getPlotItem()
    item.showGrid(x=True, y=True, alpha=0.25)
    for axis in ("left", "bottom", "top"):
        # grid lines at major ticks only: pyqtgraph's minor-tick grid made each repaint
        # ~30 ms, long enough to make the window feel sticky while training
        item.getAxis(axis).setStyle(maxTickLevel=0)
    item.setLabel("left", y_label)
    item.setLabel("bottom", "step")
    item.showAxis("top")
    item.setLabel("top", top_label)
    item.getAxis("top").setGrid(False)  # one set of vertical lines (from the step axis)
    return plot


# pixels: the sentence wraps, so that a plot narrower than it (a lab's two plots side by side in
# a small window) does not cut it off at both ends
EMPTY_TEXT_WIDTH = 240


def empty_text(item: pg.PlotItem, text: str, x: float, y: float) -> pg.TextItem:
    """`text` centred at (`x`, `y`) of `item`, wrapped, outside the auto-range (TensorBoard
    likewise says "no scalar data" on an empty chart)."""
    label = pg.TextItem(text, anchor=(0.5, 0.5))
    label.setTextWidth(EMPTY_TEXT_WIDTH)
    document = label.textItem.document()
    option = document.defaultTextOption()
    option.setAlignment(Qt.AlignmentFlag.AlignHCenter)
    document.setDefaultTextOption(option)
    label.setPos(x, y)
    item.addItem(label, ignoreBounds=True)
    return label


def redraw_timer(owner: QObject, refresh_hz: float, refresh: Callable[[], None]) -> QTimer:
    """A running timer that calls `refresh` at most `refresh_hz` times a second: data arrive
    as list appends, and the curves are redrawn only this often."""
    timer = QTimer(owner)
    timer.setInterval(max(10, int(1000 / refresh_hz)))
    timer.timeout.connect(refresh)
    timer.start()
    return timer
