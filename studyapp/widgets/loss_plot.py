"""A live loss plot for training runs (chapter 5's figure of training and validation loss).

Train loss per step and validation loss per evaluation against steps, with tokens seen on the
top axis as in the book's figure (chapter 6 counts examples seen instead: `top_label`). The training loss is drawn twice: the raw per-batch values
faint, and an exponential moving average on top, with TensorBoard's smoothing slider (0 = raw,
0.99 = very smooth; the average is debiased so the curve starts at the first value). The
validation loss is already an average over every validation window and comes only every few
steps, so it is drawn as measured, with a dot per evaluation (smoothing a handful of points
would only make it lag). Log-y toggle.

Data arrive through `add_step`/`add_eval` (cheap: lists only); the curves are redrawn by a timer
at most `refresh_hz` times a second and only when something changed (create curves once,
then setData; peak downsampling and clip-to-view keep long curves fast).
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

import pyqtgraph as pg  # isort: skip  (after PySide6, so pyqtgraph binds to it)
from studyapp.shell import style
from studyapp.widgets.plot_style import follow_palette
from studyapp.widgets.step_plot import empty_text, redraw_timer, steps_plot


def ema(values: list[float], weight: float) -> list[float]:
    """TensorBoard's debiased exponential moving average; weight 0 returns the values."""
    if weight <= 0:
        return list(values)
    out, last, n = [], 0.0, 0
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        n += 1
        last = last * weight + (1.0 - weight) * v
        out.append(last / (1.0 - weight ** n))
    return out


class _Series:
    """One series: x, raw y, and its running smoothed y (kept incrementally)."""

    def __init__(self):
        self.x: list[float] = []
        self.y: list[float] = []
        self.smooth: list[float] = []
        self._last = 0.0
        self._n = 0

    def clear(self) -> None:
        self.__init__()

    def add(self, x: float, y: float, weight: float) -> None:
        self.x.append(x)
        self.y.append(y)
        if weight <= 0 or not math.isfinite(y):
            self.smooth.append(y)
            return
        self._n += 1
        self._last = self._last * weight + (1.0 - weight) * y
        self.smooth.append(self._last / (1.0 - weight ** self._n))

    def resmooth(self, weight: float) -> None:
        self.smooth = ema(self.y, weight)
        finite = [v for v in self.y if math.isfinite(v)]
        self._n = len(finite)
        self._last = 0.0
        for v in finite:
            self._last = self._last * weight + (1.0 - weight) * v


class LossPlot(QWidget):
    """Train loss (raw + smoothed) and val loss against steps (bottom) and tokens seen (top)."""

    refreshed = Signal()  # after each redraw (the GUI benchmark counts these)

    def __init__(self, parent=None, refresh_hz: float = 10.0, smoothing: float = 0.6,
                 top_label: str = "tokens seen",
                 empty_message: str = "No loss recorded yet: press Train, or load a "
                                      "checkpoint,\nand the curves are drawn here as it learns."):
        super().__init__(parent)
        self._smoothing = smoothing
        self._top_label = top_label
        self.train = _Series()
        self.val = _Series()
        self._tokens_per_step = 0.0
        self._dirty = False
        self.refresh_count = 0

        self.plot = steps_plot("loss (cross-entropy)", top_label)
        item = self.plot.getPlotItem()
        item.getAxis("top").enableAutoSIPrefix(True)
        item.setDownsampling(mode="peak")
        item.setClipToView(True)
        item.addLegend(offset=(-10, 10))
        item.getViewBox().sigXRangeChanged.connect(self._sync_top_axis)

        self.train_raw = item.plot([], [])
        self.train_smooth = item.plot([], [], name="training loss")
        self.val_curve = item.plot([], [], name="validation loss", symbol="o", symbolSize=6,
                                   symbolPen=None)

        self.empty_text = empty_text(item, empty_message, 0.5, 0.5)

        self.smooth_slider = QSlider(Qt.Orientation.Horizontal)
        self.smooth_slider.setRange(0, 99)
        self.smooth_slider.setValue(round(smoothing * 100))
        self.smooth_slider.setToolTip("Exponential moving average of the curves, as TensorBoard's"
                                      " smoothing (the faint lines are the raw values)")
        self.smooth_slider.valueChanged.connect(self._smoothing_changed)
        self.smooth_value = QLabel(f"{smoothing:.2f}")
        self.smooth_value.setMinimumWidth(32)
        self.log_y = QCheckBox("log y")
        self.log_y.setToolTip("Logarithmic loss axis")
        self.log_y.toggled.connect(self.set_log_y)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Smoothing"))
        controls.addWidget(self.smooth_slider, 1)
        controls.addWidget(self.smooth_value)
        controls.addSpacing(12)
        controls.addWidget(self.log_y)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.plot, 1)

        follow_palette(self, self.plot, extra=self._restyle)
        self._timer = redraw_timer(self, refresh_hz, self.refresh)

    def _restyle(self, c: style.Colours) -> None:
        faint = QColor(c.train_curve)
        faint.setAlpha(110)  # the raw values under their moving average
        self.train_raw.setPen(pg.mkPen(faint, width=1))
        self.train_smooth.setPen(pg.mkPen(c.train_curve, width=2))
        self.val_curve.setPen(pg.mkPen(c.val_curve, width=2))
        self.val_curve.setSymbolBrush(pg.mkBrush(c.val_curve))
        self.empty_text.setColor(c.muted)

    # -- data --

    @property
    def smoothing(self) -> float:
        return self._smoothing

    def set_smoothing(self, weight: float) -> None:
        self.smooth_slider.setValue(round(max(0.0, min(0.99, weight)) * 100))

    def _smoothing_changed(self, value: int) -> None:
        self._smoothing = value / 100.0
        self.smooth_value.setText(f"{self._smoothing:.2f}")
        self.train.resmooth(self._smoothing)
        self._dirty = True
        self.refresh()

    def set_tokens_per_step(self, tokens: float) -> None:
        """Scale of the top axis: tokens (or examples) seen = step x that many per step."""
        self._tokens_per_step = float(tokens)
        self._sync_top_axis()

    def add_step(self, step: int, tokens_seen: int, loss: float) -> None:
        if step > 0 and tokens_seen and not self._tokens_per_step:
            self.set_tokens_per_step(tokens_seen / step)
        self.train.add(step, loss, self._smoothing)
        self._dirty = True

    def add_eval(self, step: int, tokens_seen: int, val_loss: float) -> None:
        self.val.add(step, val_loss, 0.0)
        self._dirty = True

    def clear(self) -> None:
        self.train.clear()
        self.val.clear()
        self._tokens_per_step = 0.0
        self._dirty = True
        self.refresh()
        view = self.plot.getPlotItem().getViewBox()
        view.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)  # where the empty text sits
        view.enableAutoRange()

    def set_history(self, steps, train_losses, val_steps, val_losses, tokens_per_step=0.0) -> None:
        """Show a finished run (e.g. a checkpoint's curve) at once."""
        self.train.clear()
        self.val.clear()
        self._tokens_per_step = 0.0
        if tokens_per_step:
            self.set_tokens_per_step(tokens_per_step)
        for s, v in zip(steps, train_losses):
            self.train.add(s, v, self._smoothing)
        for s, v in zip(val_steps, val_losses):
            self.val.add(s, v, 0.0)
        self._dirty = True
        self.refresh()

    # -- drawing --

    def set_log_y(self, on: bool) -> None:
        if self.log_y.isChecked() != on:
            self.log_y.setChecked(on)
            return
        self.plot.getPlotItem().setLogMode(x=False, y=on)
        self._dirty = True
        self.refresh()

    def _positive(self, ys):
        # log-y cannot show values <= 0 or NaN; keep them out of the curve there
        return [y if (math.isfinite(y) and y > 0) else math.nan for y in ys]

    def refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        raw_y, smooth_y, val_y = self.train.y, self.train.smooth, self.val.y
        if self.log_y.isChecked():
            raw_y, smooth_y = self._positive(raw_y), self._positive(smooth_y)
            val_y = self._positive(val_y)
        self.train_raw.setData(self.train.x, raw_y, connect="finite")
        self.train_smooth.setData(self.train.x, smooth_y, connect="finite")
        self.val_curve.setData(self.val.x, val_y, connect="finite")
        self.empty_text.setVisible(not (self.train.x or self.val.x))
        self.refresh_count += 1
        self.refreshed.emit()

    def _sync_top_axis(self, *_args) -> None:
        item = self.plot.getPlotItem()
        top = item.getAxis("top")
        if self._tokens_per_step:
            top.setScale(self._tokens_per_step)
            top.setLabel(self._top_label)
        else:
            top.setScale(1.0)

    def stop_timer(self) -> None:
        self._timer.stop()
