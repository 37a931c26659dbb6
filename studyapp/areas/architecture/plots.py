"""The Architecture lab's two kinds of plot: lines over x (GELU and ReLU, statistics per block,
LayerNorm before and after) and grouped bars on a log scale (section 4.4's gradients).

Both sit in a `PlotFrame` (message page, hover line, "Save PNG..."), take their colours from
`studyapp.shell.style` by meaning and restyle when the appearance changes. Curves, bars and
labels are created once and updated with `setData`/`setOpts`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QWidget

import pyqtgraph as pg  # after PySide6, so pyqtgraph binds to it
from studyapp.shell import style
from studyapp.widgets.plot_frame import PlotFrame

# Series colours by meaning, in order: the first series of a plot is the main one.
SERIES_ROLES = ("accent", "val_curve", "success", "warning", "muted")
DASHED = {2, 3}  # third and fourth series dashed, so four curves stay apart in print too


def _small_font() -> QFont:
    font = QFont()
    font.setPointSize(8)
    return font


class _StyledPlot(PlotFrame, QWidget):
    """A pyqtgraph plot with a title, axis labels, a legend and the theme's colours."""

    _kind = "plot"

    def __init__(self, title: str, x_label: str, y_label: str, tip: str = "", parent=None):
        super().__init__(parent)
        self._title = title
        self.view = pg.PlotWidget()
        self.view.setMinimumSize(150, 110)
        self.plot = self.view.getPlotItem()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(4, 4), labelTextSize="8pt")
        self._x_label, self._y_label = x_label, y_label
        if tip:
            self.view.setToolTip(tip)
        self._build_frame(self.view, f"Save \u201c{title}\u201d as a PNG image")
        self.view.scene().sigMouseMoved.connect(self._hover)
        style.on_change(self, self._restyle)

    def _restyle(self, c: style.Colours) -> None:
        self.view.setBackground(c.plot_background)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(c.plot_foreground)
            axis.setTextPen(c.plot_foreground)
            axis.setStyle(tickFont=_small_font())
            axis.enableAutoSIPrefix(False)  # a fraction of 0.8 must not read "800 (x0.001)"
        self.plot.setLabel("bottom", self._x_label, color=c.plot_foreground, size="8pt")
        self.plot.setLabel("left", self._y_label, color=c.plot_foreground, size="8pt")
        self.plot.setTitle(self._title, color=c.text, size="9pt")
        see_through = QColor(c.panel)
        see_through.setAlpha(170)  # the curves stay visible under the legend
        self.legend.setBrush(pg.mkBrush(see_through))
        self.legend.setPen(pg.mkPen(c.border))
        self.legend.setLabelTextColor(c.text)
        for _sample, label in self.legend.items:
            label.setText(label.text)  # re-render in the new colour
        self.hover_label.setStyleSheet(style.css_color("muted"))

    @staticmethod
    def role_colour(c: style.Colours, index: int) -> str:
        return getattr(c, SERIES_ROLES[index % len(SERIES_ROLES)])

    def _hover(self, scene_pos) -> None:  # overridden
        pass


class LinePlot(_StyledPlot):
    """Named series over a shared x, lines with dots (dots off for dense curves)."""

    def __init__(self, title: str, x_label: str, y_label: str, tip: str = "",
                 log_y: bool = False, integer_x: bool = False, parent=None):
        super().__init__(title, x_label, y_label, tip, parent)
        self._log_y = log_y
        self._integer_x = integer_x
        self.plot.setLogMode(x=False, y=log_y)
        self._curves: list[pg.PlotDataItem] = []
        self.x = np.zeros(0)
        self.series: list[tuple[str, np.ndarray]] = []
        self._zero = pg.InfiniteLine(pos=0, angle=0, movable=False)
        self._zero.setVisible(False)
        self.plot.addItem(self._zero, ignoreBounds=True)
        style.on_change(self, self._recolour)

    def set_series(self, x: Sequence[float], series: Sequence[tuple[str, Sequence[float]]],
                   zero_line: bool = False) -> None:
        self.x = np.asarray(x, dtype=float)
        self.series = [(name, np.asarray(ys, dtype=float)) for name, ys in series]
        dense = len(self.x) > 40
        while len(self._curves) < len(self.series):
            curve = self.plot.plot([], [])
            self._curves.append(curve)
        self.legend.clear()
        for i, curve in enumerate(self._curves):
            if i < len(self.series):
                name, ys = self.series[i]
                ys = np.where(ys > 0, ys, np.nan) if self._log_y else ys
                curve.setData(self.x, ys, symbol=None if dense else "o", symbolSize=5,
                              connect="finite")
                curve.setVisible(True)
                self.legend.addItem(curve, name)
            else:
                curve.setVisible(False)
        self._zero.setVisible(zero_line)
        if self._integer_x and len(self.x):
            self.plot.getAxis("bottom").setTicks([[(v, f"{v:g}") for v in self.x]])
        self._recolour(style.colours())
        self._restyle(style.colours())
        self.plot.enableAutoRange()
        self._stack.setCurrentIndex(0)
        self.save_button.setEnabled(True)

    def _recolour(self, c: style.Colours) -> None:
        for i, curve in enumerate(self._curves):
            colour = self.role_colour(c, i)
            dash = Qt.PenStyle.DashLine if i in DASHED else Qt.PenStyle.SolidLine
            curve.setPen(pg.mkPen(colour, width=2, style=dash))
            curve.setSymbolBrush(pg.mkBrush(colour))
            curve.setSymbolPen(pg.mkPen(colour))
        self._zero.setPen(pg.mkPen(c.muted, width=1, style=Qt.PenStyle.DotLine))

    def _hover(self, scene_pos) -> None:
        vb = self.plot.getViewBox()
        if not len(self.x) or not vb.sceneBoundingRect().contains(scene_pos):
            return
        x = vb.mapSceneToView(scene_pos).x()
        i = int(np.argmin(np.abs(self.x - x)))
        parts = [f"{name} {ys[i]:.4g}" for name, ys in self.series if i < len(ys)]
        self.hover_label.setText(f"x = {self.x[i]:g}: " + ", ".join(parts))


class LogBarPlot(_StyledPlot):
    """Groups of bars (one group per x label, one bar per series) on a log10 y axis."""

    def __init__(self, title: str, x_label: str, y_label: str, tip: str = "", parent=None):
        super().__init__(title, x_label, y_label, tip, parent)
        self.plot.getAxis("left").setLogMode(False, True)  # ticks read 10^n
        self.plot.showGrid(x=False, y=True, alpha=0.2)
        self._bars: list[pg.BarGraphItem] = []
        self._texts: list[pg.TextItem] = []
        self.groups: list[str] = []
        self.series: list[tuple[str, list[float]]] = []
        self._floor = 0.0
        style.on_change(self, self._recolour)

    def set_bars(self, groups: Sequence[str], series: Sequence[tuple[str, Sequence[float]]]):
        self.groups = [str(g) for g in groups]
        self.series = [(name, [float(v) for v in values]) for name, values in series]
        positive = [v for _n, values in self.series for v in values if v > 0]
        if not positive:
            self.show_message("Every value is 0: nothing to draw on a log scale.")
            return
        lo, hi = math.log10(min(positive)), math.log10(max(positive))
        self._floor = math.floor(lo) - 0.3
        n_series = max(1, len(self.series))
        width = 0.8 / n_series
        while len(self._bars) < len(self.series):
            bar = pg.BarGraphItem(x=[0], height=[0], width=0.1, y0=0)
            self.plot.addItem(bar)
            self._bars.append(bar)
        self.legend.clear()
        texts_needed = sum(len(values) for _n, values in self.series)
        while len(self._texts) < texts_needed:
            text = pg.TextItem("", anchor=(0.5, 1.0))
            text.setFont(_small_font())
            self.plot.addItem(text)
            self._texts.append(text)
        k = 0
        for s, bar in enumerate(self._bars):
            if s >= len(self.series):
                bar.setVisible(False)
                continue
            name, values = self.series[s]
            xs = np.arange(len(values)) + (s - (n_series - 1) / 2) * width
            logs = np.array([math.log10(v) if v > 0 else self._floor for v in values])
            bar.setOpts(x=xs, height=logs - self._floor, y0=self._floor, width=width * 0.92)
            bar.setVisible(True)
            self.legend.addItem(bar, name)
            for x, v, lv in zip(xs, values, logs):
                self._texts[k].setText(f"{v:.1e}")
                self._texts[k].setPos(float(x), float(lv))
                self._texts[k].setVisible(True)
                k += 1
        for text in self._texts[k:]:
            text.setVisible(False)
        self.plot.getAxis("bottom").setTicks([[(i, g) for i, g in enumerate(self.groups)]])
        self.plot.setXRange(-0.6, len(self.groups) - 0.4, padding=0)
        self.plot.setYRange(self._floor, hi + 0.6, padding=0)
        self._recolour(style.colours())
        self._restyle(style.colours())
        self._stack.setCurrentIndex(0)
        self.save_button.setEnabled(True)

    def _recolour(self, c: style.Colours) -> None:
        for s, bar in enumerate(self._bars):
            colour = QColor(self.role_colour(c, s))
            bar.setOpts(brush=pg.mkBrush(colour), pen=pg.mkPen(colour.darker(130)))
        for text in self._texts:
            text.setColor(c.text)

    def _hover(self, scene_pos) -> None:
        vb = self.plot.getViewBox()
        if not self.groups or not vb.sceneBoundingRect().contains(scene_pos):
            return
        x = vb.mapSceneToView(scene_pos).x()
        group = int(round(x))
        if not 0 <= group < len(self.groups):
            return
        parts = [f"{name} {values[group]:.6g}" for name, values in self.series
                 if group < len(values)]
        self.hover_label.setText(f"{self.groups[group]}: " + ", ".join(parts))
