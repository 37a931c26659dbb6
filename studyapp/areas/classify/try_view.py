"""Try it: type a text, see what the classifier answers, token by token, padding included.

The class probabilities are those of the last position, as the book's `classify_review`
computes them: the text padded with <|endoftext|> to the length used in training. The plot shows
the probability of each class "if the text ended here" at every token (causal attention makes
position i see only tokens 0..i), then on through the padding: where the curves move after the
text ends, padding changes the answer, which is how a classifier ends up "always predicting
spam" when it is trained and asked with different padding (section 6.3 and 6.6).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QPlainTextEdit, QProgressBar, QWidget

import pyqtgraph as pg  # isort: skip  (after PySide6, so pyqtgraph binds to it)
from studyapp.areas.classify import core
from studyapp.shell import style
from studyapp.shell.finetune_lab import TokenizerJobView
from studyapp.widgets.forms import column, row

EXAMPLE = "The transformer attends to every earlier token."


def class_colours(c: style.Colours) -> tuple[str, ...]:
    return (c.train_curve, c.val_curve, c.accent, c.success, c.warning, c.error)


class TryItView(TokenizerJobView):
    answered = Signal(object)  # the per-token result shown (tests wait on it)

    def __init__(self, tokenizer_source, parent=None):
        super().__init__(tokenizer_source, "classify-try", 250, parent)
        self._entry = None
        self._result: dict | None = None
        self._effect_role = "text"
        self.text = QPlainTextEdit(EXAMPLE)
        self.text.setToolTip("Any text: the classifier answers as you type")
        self.text.setMaximumHeight(70)
        self.text.setMinimumHeight(40)
        self.text.textChanged.connect(self.request)
        self.padded = QCheckBox("Pad as in training")
        self.padded.setChecked(True)
        self.padded.setToolTip("On: the probabilities after padding the text to the training "
                               "length, as the book's classify_review does. Off: at the text's "
                               "own last token")
        self.padded.toggled.connect(lambda _on: self._show_bars())
        self.which = QLabel("No classifier yet: fine-tune one, or open a saved classifier.")
        self.which.setWordWrap(True)
        self.bars_box = QWidget()
        self.bars = QGridLayout(self.bars_box)
        self.bars.setContentsMargins(0, 0, 0, 0)
        self._bar_widgets: list[tuple[QLabel, QProgressBar]] = []
        self.effect = QLabel()
        self.effect.setWordWrap(True)
        self.effect.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setMinimumHeight(110)
        item = self.plot.getPlotItem()
        item.setLabel("left", "P(class) %")
        item.setLabel("bottom", "token position (padding shaded)")
        item.showGrid(x=True, y=True, alpha=0.2)
        item.setYRange(0, 100, padding=0.02)
        item.getViewBox().setMouseEnabled(x=True, y=False)
        self.legend = item.addLegend(offset=(-10, 10))
        self.padding_region = pg.LinearRegionItem(movable=False)
        self.padding_region.setZValue(-10)
        item.addItem(self.padding_region, ignoreBounds=True)
        self.text_end = pg.InfiniteLine(angle=90, movable=False, label="text ends",
                                        labelOpts={"position": 0.08})
        item.addItem(self.text_end, ignoreBounds=True)
        self.curves: list = []
        self.hover = QLabel(" ")
        self.hover.setToolTip("The token under the mouse and the classifier's answer if the "
                              "text ended there")
        self.plot.scene().sigMouseMoved.connect(self._on_mouse)

        column(self.text, row((self.which, 1), self.padded), self.bars_box, self.effect,
               (self.plot, 1), self.hover, parent=self, margins=4)

        self.job.result.connect(self._on_result)
        self.job.failed.connect(self._on_failed)
        style.on_change(self, self._restyle)

    # -- inputs --

    def set_classifier(self, entry) -> None:
        """The ClassifierEntry to ask (None: none yet)."""
        self._entry = entry
        if entry is None:
            self.which.setText("No classifier yet: fine-tune one, or open a saved classifier.")
            return
        pad = (f"pads to {entry.max_length} tokens" if entry.max_length
               else "reads texts unpadded")
        self.which.setText(f"<b>{entry.name}</b>: {', '.join(entry.labels)}; {pad}")
        self._build_bars(entry.labels)
        self.request(delay_ms=0)

    def set_text(self, text: str) -> None:
        self.text.setPlainText(text)

    def request(self, delay_ms: int | None = None) -> None:
        entry = self._entry
        if entry is None:
            return
        text = self.text.toPlainText()
        tokenizer_source = self._tokenizer_source

        def job(token):
            from model.classify import per_token_probabilities

            yield per_token_probabilities(entry.model, tokenizer_source(), text,
                                          entry.max_length)

        self.job.request(job, delay_ms)

    # -- results --

    def probabilities(self) -> list[float]:
        """The class probabilities the bars show."""
        if self._result is None:
            return []
        key = "prediction" if self.padded.isChecked() else "at_text_end"
        return list(self._result[key])

    def _on_result(self, result: dict) -> None:
        self._result = result
        entry = self._entry
        self._show_bars()
        effect = core.padding_effect(result, entry.labels, entry.max_length)
        self._effect_role = "warning" if effect["changed"] else "text"
        self.effect.setText(effect["line"])
        self.effect.setStyleSheet(style.css_color(self._effect_role))
        self._draw(result)
        self.answered.emit(result)

    def _on_failed(self, message: str) -> None:
        self._result = None
        self._effect_role = "error"
        self.effect.setText(message[0].upper() + message[1:] + ".")
        self.effect.setStyleSheet(style.css_color("error"))
        for _, bar in self._bar_widgets:
            bar.setValue(0)

    def _build_bars(self, labels) -> None:
        for label, bar in self._bar_widgets:
            label.deleteLater()
            bar.deleteLater()
        self._bar_widgets = []
        for i, name in enumerate(labels):
            label = QLabel(name)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setTextVisible(True)
            bar.setFormat("")
            self.bars.addWidget(label, i, 0)
            self.bars.addWidget(bar, i, 1)
            self._bar_widgets.append((label, bar))
        for curve in self.curves:
            self.plot.getPlotItem().removeItem(curve)
        self.legend.clear()
        self.curves = [self.plot.getPlotItem().plot([], [], name=name) for name in labels]
        self._restyle(style.colours())

    def _show_bars(self) -> None:
        probs = self.probabilities()
        for (label, bar), p in zip(self._bar_widgets, probs):
            bar.setValue(round(1000 * p))
            bar.setFormat(f"{100 * p:.1f}%")
        if probs:
            best = max(range(len(probs)), key=probs.__getitem__)
            for i, (label, _bar) in enumerate(self._bar_widgets):
                label.setText(f"<b>{self._entry.labels[i]}</b>" if i == best
                              else self._entry.labels[i])

    def _draw(self, result: dict) -> None:
        n = len(result["tokens"])
        for index, curve in enumerate(self.curves):
            xs, ys, end = core.per_token_series(result, index)
            curve.setData(xs, ys)
        end = min(result["text_tokens"], n) - 1
        self.text_end.setPos(end)
        self.padding_region.setRegion((end + 0.5, n - 0.5))
        self.padding_region.setVisible(result["padding"] > 0)
        self.plot.getPlotItem().setXRange(-0.5, max(n - 0.5, 1), padding=0.01)

    def _on_mouse(self, pos) -> None:
        if self._result is None:
            return
        view = self.plot.getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(pos):
            return
        i = round(view.mapSceneToView(pos).x())
        rows = self._result["tokens"]
        if 0 <= i < len(rows):
            row = rows[i]
            where = "padding" if row["padding"] else "text"
            probs = ", ".join(f"{name} {100 * p:.1f}%"
                              for name, p in zip(self._entry.labels, row["probs"]))
            self.hover.setText(f"position {i} ({where}): {row['token']!r} = {row['token_id']}"
                               f" \u2192 {probs}")

    def _restyle(self, c: style.Colours) -> None:
        self.effect.setStyleSheet(f"color: {getattr(c, self._effect_role)};")
        self.plot.setBackground(c.plot_background)
        item = self.plot.getPlotItem()
        for axis in ("left", "bottom"):
            item.getAxis(axis).setPen(c.plot_foreground)
            item.getAxis(axis).setTextPen(c.plot_foreground)
        self.legend.setLabelTextColor(c.plot_foreground)
        for curve, colour in zip(self.curves, class_colours(c) * 8):
            curve.setPen(pg.mkPen(colour, width=2))
        shade = pg.mkColor(c.border)
        shade.setAlpha(90)
        self.padding_region.setBrush(pg.mkBrush(shade))
        for line in self.padding_region.lines:
            line.setPen(pg.mkPen(None))
        self.text_end.setPen(pg.mkPen(c.muted, width=1, style=Qt.PenStyle.DashLine))
        self.text_end.label.setColor(c.muted)
