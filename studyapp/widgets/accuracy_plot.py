"""A live accuracy plot for fine-tuning runs (chapter 6's figure of training and validation
accuracy).

Training and validation accuracy, in percent, at each evaluation against steps (bottom axis),
with the examples seen on the top axis as in the book's figure 6.17, and optional labelled
horizontal reference lines (a chance level, a figure from the book). Data arrive through
`add_eval` (a list append); the curves are redrawn by a timer at most `refresh_hz` times a
second and only when something changed. Colours follow the palette (`studyapp.shell.style`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

import pyqtgraph as pg  # isort: skip  (after PySide6, so pyqtgraph binds to it)
from studyapp.shell import style
from studyapp.widgets.plot_style import follow_palette
from studyapp.widgets.step_plot import empty_text, redraw_timer, steps_plot


class AccuracyPlot(QWidget):
    """Train and validation accuracy (%) against steps, examples seen on top."""

    refreshed = Signal()

    def __init__(self, parent=None, refresh_hz: float = 10.0, top_label: str = "examples seen",
                 empty_message: str = "No accuracy measured yet: the curves are drawn here at "
                                      "every evaluation."):
        super().__init__(parent)
        self.steps: list[float] = []
        self.train: list[float] = []
        self.val: list[float] = []
        self._per_step = 0.0
        self._top_label = top_label
        self._dirty = False
        self._references: list[tuple[pg.InfiniteLine, str]] = []

        self.plot = steps_plot("accuracy (%)", top_label)
        self.plot.setMenuEnabled(False)
        item = self.plot.getPlotItem()
        item.setYRange(0, 100, padding=0.02)
        item.getViewBox().setLimits(yMin=-5, yMax=105)
        item.getViewBox().enableAutoRange(axis="y", enable=False)
        item.addLegend(offset=(-10, -10))
        self.train_curve = item.plot([], [], name="training accuracy", symbol="o", symbolSize=5)
        self.val_curve = item.plot([], [], name="validation accuracy", symbol="o", symbolSize=5)
        self.empty_text = empty_text(item, empty_message, 0.5, 50)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        follow_palette(self, self.plot, extra=self._restyle)
        self._timer = redraw_timer(self, refresh_hz, self.refresh)

    # -- data --

    def set_per_step(self, count: float) -> None:
        """Scale of the top axis: examples seen = step x examples per step."""
        self._per_step = float(count)
        top = self.plot.getPlotItem().getAxis("top")
        top.setScale(self._per_step or 1.0)

    def add_eval(self, step: int, train_acc: float | None, val_acc: float | None,
                 seen: int = 0) -> None:
        """One evaluation; accuracies as fractions (0..1), as the engine reports them."""
        if step > 0 and seen and not self._per_step:
            self.set_per_step(seen / step)
        self.steps.append(step)
        self.train.append(_percent(train_acc))
        self.val.append(_percent(val_acc))
        self._dirty = True

    def set_history(self, steps, train_acc, val_acc, per_step: float = 0.0) -> None:
        """Show a finished run at once."""
        self.steps, self.train, self.val = [], [], []
        if per_step:
            self.set_per_step(per_step)
        for s, t, v in zip(steps, train_acc, val_acc):
            self.add_eval(s, t, v)
        self._dirty = True
        self.refresh()

    def clear(self) -> None:
        self.steps, self.train, self.val = [], [], []
        self._per_step = 0.0
        self.plot.getPlotItem().getAxis("top").setScale(1.0)
        self._dirty = True
        self.refresh()

    def set_references(self, lines: list[tuple[float, str]]) -> None:
        """Labelled horizontal lines at these accuracies (%), e.g. [(50, "chance")]."""
        item = self.plot.getPlotItem()
        for line, _ in self._references:
            item.removeItem(line)
        self._references = []
        for value, label in lines:
            line = pg.InfiniteLine(pos=value, angle=0, movable=False,
                                   label=label, labelOpts={"position": 0.02, "anchors":
                                                           [(0, 1), (0, 1)]})
            item.addItem(line, ignoreBounds=True)
            self._references.append((line, label))
        self._restyle(style.colours())

    # -- drawing --

    def refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.train_curve.setData(self.steps, self.train, connect="finite")
        self.val_curve.setData(self.steps, self.val, connect="finite")
        self.empty_text.setVisible(not self.steps)
        if self.steps:
            self.plot.getPlotItem().setXRange(0, max(self.steps) or 1, padding=0.03)
        self.refreshed.emit()

    def _restyle(self, c: style.Colours) -> None:
        """The curves, the empty text and the reference lines (follow_palette does the axes)."""
        for curve, colour in ((self.train_curve, c.train_curve), (self.val_curve, c.val_curve)):
            curve.setPen(pg.mkPen(colour, width=2))
            curve.setSymbolBrush(pg.mkBrush(colour))
            curve.setSymbolPen(None)
        self.empty_text.setColor(c.muted)
        for line, _ in self._references:
            line.setPen(pg.mkPen(c.muted, width=1, style=Qt.PenStyle.DashLine))
            line.label.setColor(c.muted)

    def stop_timer(self) -> None:
        self._timer.stop()


def _percent(value: float | None) -> float:
    return float("nan") if value is None else 100.0 * float(value)
