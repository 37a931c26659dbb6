"""A horizontal bar chart of labelled probabilities (pyqtgraph), for next-token distributions.

Used by the Generate lab (the top-k next tokens, chapter 5) and its chapter 5 demos. Bars are
created once and updated with `setOpts`; a value is printed at the end of each bar.

API:
    chart = BarChart(max_bars=25)
    chart.set_bars(labels, values, highlight=None, marks=None, title=None, x_max=None)
        highlight: index of a bar drawn in the accent colour (e.g. the argmax)
        marks: indices of bars drawn outlined (e.g. the token that actually came next)
        reference: (x, text) draws a labelled vertical line (e.g. the mean)
    chart.show_message("Loading model...")   # an empty state instead of the plot
    signal: updated()  emitted after each set_bars (benchmarks time slider -> redraw with it)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

import pyqtgraph as pg  # after PySide6, or pyqtgraph may bind to PyQt6
from studyapp.shell import style
from studyapp.widgets.forms import column
from studyapp.widgets.plot_style import follow_palette


class BarChart(QWidget):
    updated = Signal()
    resized = Signal()  # the owner may want to show fewer or more bars

    def __init__(self, max_bars: int = 25, parent=None):
        super().__init__(parent)
        self.max_bars = max_bars
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self._colours = style.colours()
        fg = self._colours.plot_foreground
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.showGrid(x=True, y=False, alpha=0.25)
        font = QFont()
        font.setPointSize(9)
        left = self.plot.getAxis("left")
        left.setStyle(tickFont=font, tickLength=0)
        bottom = self.plot.getAxis("bottom")
        bottom.setLabel("probability")
        bottom.enableAutoSIPrefix(False)
        self.bars = pg.BarGraphItem(x0=[0], y=[0], height=0.7, width=[0],
                                    brushes=[QColor(self._colours.bar)], pens=[pg.mkPen(None)])
        self.plot.addItem(self.bars)
        self.reference = pg.InfiniteLine(angle=90, movable=False)
        self.reference_text = pg.TextItem("", anchor=(0, 0.5))
        self.reference_text.setFont(font)
        for item in (self.reference, self.reference_text):
            item.setVisible(False)
            self.plot.addItem(item)
        self.values = []
        for _ in range(max_bars):
            text = pg.TextItem("", color=fg, anchor=(0, 0.5))
            text.setFont(font)
            self.plot.addItem(text)
            self.values.append(text)
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        style.set_text_role(self.message, "muted", "font-size: 13px;")
        page = QWidget()
        self._stack = QStackedLayout(page)
        self._stack.addWidget(self.plot)
        self._stack.addWidget(self.message)
        column(self.title, (page, 1), parent=self, margins=0)
        self.labels: list[str] = []
        self.data: list[float] = []
        self._bar_args: tuple | None = None
        follow_palette(self, self.plot, extra=self._restyle)
        self.show_message("Nothing to show yet.")

    def _restyle(self, c: style.Colours) -> None:
        self._colours = c
        self.reference.setPen(pg.mkPen(c.reference_line, width=2, style=Qt.PenStyle.DashLine))
        self.reference_text.setColor(c.reference_line)
        for text in self.values:
            text.setColor(c.plot_foreground)
        if self._bar_args is not None:  # bar fills and outlines come from the palette
            self._draw_bars(*self._bar_args)

    def fitting_bars(self, px_per_bar: int = 17) -> int:
        """How many bars the plot has room for at its current height (at least 5)."""
        return max(5, (self.plot.height() - 45) // px_per_bar)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if event.oldSize().height() != event.size().height():
            self.resized.emit()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self._stack.setCurrentWidget(self.message)

    def set_bars(self, labels: Sequence[str], values: Sequence[float],
                 highlight: int | None = None, marks: Sequence[int] = (), title: str | None = None,
                 x_max: float | None = None, value_format: str | None = None,
                 reference: tuple[float, str] | None = None) -> None:
        n = min(len(labels), len(values), self.max_bars)
        self.labels = [str(s) for s in labels[:n]]
        self.data = [float(v) for v in values[:n]]
        self._draw_bars(n, highlight, tuple(marks))
        self.plot.getAxis("left").setTicks([[(i, self.labels[i]) for i in range(n)]])
        top = x_max if x_max is not None else max(self.data, default=0.0)
        if value_format is None:  # small probabilities (an untrained model's) stay readable
            value_format = "{:.3f}" if top >= 0.01 else "{:.2e}"
        top = max(top, 1e-6) * 1.28  # room for the printed values
        for i, text in enumerate(self.values):
            if i < n:
                text.setText(value_format.format(self.data[i]))
                text.setPos(max(self.data[i], 0.0) + top * 0.01, i)
                text.setVisible(True)
            else:
                text.setVisible(False)
        self.plot.setXRange(0, top, padding=0)
        # Room above the first bar for the reference line's label.
        self.plot.setYRange(-1.0 if reference is not None else -0.6, max(n, 1) - 0.4,
                            padding=0)
        if reference is not None:  # e.g. the mean of the bars: the cross-entropy
            self.reference.setValue(reference[0])
            self.reference_text.setText(reference[1])
            self.reference_text.setPos(reference[0] + top * 0.005, -0.75)
        self.reference.setVisible(reference is not None)
        self.reference_text.setVisible(reference is not None)
        if title is not None:
            self.title.setText(title)
        self._stack.setCurrentWidget(self.plot)
        self.updated.emit()

    def _draw_bars(self, n: int, highlight: int | None, marks: tuple) -> None:
        self._bar_args = (n, highlight, marks)
        c = self._colours
        bar, accent, masked = QColor(c.bar), QColor(c.bar_accent), QColor(c.bar_masked)
        widths = np.asarray(self.data[:n], dtype=float)
        brushes = [accent if i == highlight else (bar if widths[i] > 0 else masked)
                   for i in range(n)]
        outline = pg.mkPen(c.plot_foreground, width=2)
        pens = [outline if i in marks else pg.mkPen(None) for i in range(n)]
        self.bars.setOpts(x0=np.zeros(n), y=np.arange(n, dtype=float), height=0.7,
                          width=widths, brushes=brushes, pens=pens)
