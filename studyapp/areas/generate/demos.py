"""Chapter 5 in the Generate lab: the book's temperature and top-k demos, and the loss of a
continuation (cross-entropy and perplexity on the learner's own text).

The numbers come from `model.chapter5`, computed as the book computes them (its logits, its seed,
one `torch.multinomial` draw at a time). The temperature table is sampled on a `LatestJob` (the
learner's own temperature reruns it, and the latest value wins); the loss of a continuation is
one run of a JobThread per button press. Torch is imported inside methods that run when a tab is
first shown or a button is pressed.
"""

from __future__ import annotations

import html
import math

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QDoubleSpinBox, QGroupBox, QHeaderView, QLabel,
                               QLineEdit, QSpinBox, QTableWidget, QTableWidgetItem, QWidget)

import pyqtgraph as pg  # after PySide6, or pyqtgraph may bind to PyQt6

from studyapp.areas.generate.controls import JobPanel
from studyapp.areas.generate.core import token_name
from studyapp.tokens import OPEN_BOX, visible
from studyapp.widgets.bar_chart import BarChart
from studyapp.widgets.plot_style import follow_palette
from studyapp.shell import style
from studyapp.shell.jobs import JobThread, LatestJob
from studyapp.widgets.forms import STRETCH, column, push_button, row, splitter


def _table(rows: int, cols: int) -> QTableWidget:
    table = QTableWidget(rows, cols)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


def _item(text: str, bold: bool = False, background: QColor | None = None,
          align_right: bool = True) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if bold:
        font = QFont()
        font.setBold(True)
        item.setFont(font)
    if background is not None:
        item.setBackground(QBrush(background))
        item.setForeground(QBrush(QColor(style.colours().cell_text)))  # readable on the fill
    return item


def _demo_box(title: str, above: tuple, table: QWidget, chart: QWidget,
              sizes: tuple[int, int]) -> QGroupBox:
    """One of the book's demos: what explains and sets it, then its table beside its chart."""
    box = QGroupBox(title)
    column(*above, (splitter(Qt.Orientation.Horizontal, (table, chart), (), sizes,
                             collapsible=False), 1), parent=box)
    return box


def _fmt_p(p: float) -> str:
    return f"{p:.4f}" if p >= 1e-4 or p == 0 else f"{p:.1e}"


class DemosPanel(QWidget):
    """Section 5.3: temperature scaling and top-k sampling on the book's 9-word vocabulary."""

    computed = Signal()  # the temperature table is filled in

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self._computed = False
        self.temperature_job = LatestJob(self, delay_ms=150, name="chapter5-temperatures")
        self.temperature_job.result.connect(self._on_temperatures)
        self.temperature_job.failed.connect(lambda msg: self.custom_t.setToolTip(
            f"Failed: {msg}"))
        self.rows = []
        intro = QLabel(
            "The book's example (section 5.3): after <i>\u201cevery effort moves you\u201d</i> a "
            "model gives these logits over a 9-word vocabulary. Softmax of logits \u00f7 T, then "
            "1,000 draws with <code>torch.manual_seed(123)</code>, one "
            "<code>torch.multinomial(probas, num_samples=1)</code> at a time, as the book "
            "does. T = 1 gives forward 582, toward 343, closer 73, inches 2.")
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)

        self.custom_t = QDoubleSpinBox()
        self.custom_t.setRange(0.05, 20.0)
        self.custom_t.setSingleStep(0.1)
        self.custom_t.setValue(2.0)
        self.custom_t.setToolTip("Temperature scaling (chapter 5, section 5.3.1): a fourth "
                                 "temperature of your own, next to the book's 1, 0.1 and 5")
        # Before the tab is first shown nothing is computed (a restore at start sets these).
        self.custom_t.valueChanged.connect(self._custom_changed)
        custom_row = row(QLabel("Your temperature:"), self.custom_t, STRETCH)

        self.temperature_table = _table(9, 9)
        self.temperature_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.temperature_plot = pg.PlotWidget()  # the theme's background (pyqtgraph config)
        self.temperature_plot.setMenuEnabled(False)
        self.temperature_plot.setMouseEnabled(x=False, y=False)
        self.temperature_plot.hideButtons()
        self.temperature_plot.setLabel("left", "probability")
        small = QFont()
        small.setPointSize(8)
        self.temperature_plot.getAxis("bottom").setStyle(tickFont=small)
        self.temperature_plot.addLegend(offset=(-10, 10))
        self.temperature_plot.setYRange(0, 1.02, padding=0)
        self._series = []
        for i in range(len(style.colours().series)):
            bars = pg.BarGraphItem(x=np.arange(9) + (i - 1.5) * 0.2, height=np.zeros(9),
                                   width=0.2, pen=pg.mkPen(None), name=f"series {i}")
            self.temperature_plot.addItem(bars)
            self._series.append(bars)
        temp_box = _demo_box("Temperature scaling (section 5.3.1)", (intro, custom_row),
                             self.temperature_table, self.temperature_plot, (560, 480))

        self.k = QSpinBox()
        self.k.setRange(1, 9)
        self.k.setValue(3)
        self.k.setToolTip("Top-k sampling (chapter 5, section 5.3.2): how many of the 9 logits "
                          "keep their value, the rest become -inf; the book uses k = 3")
        self.k.valueChanged.connect(self._k_changed)
        self.top_k_text = QLabel()
        self.top_k_text.setWordWrap(True)
        self.top_k_text.setTextFormat(Qt.TextFormat.RichText)
        k_row = row(QLabel("k ="), self.k, (self.top_k_text, 1))
        self.top_k_table = _table(9, 3)
        self.top_k_table.setHorizontalHeaderLabels(["logit", "masked logit", "softmax"])
        self.top_k_chart = BarChart(max_bars=9)
        top_box = _demo_box("Top-k sampling (section 5.3.2)", (k_row,), self.top_k_table,
                            self.top_k_chart, (360, 680))
        column((temp_box, 1), (top_box, 1), parent=self)
        follow_palette(self.temperature_plot, self.temperature_plot)
        style.on_change(self, self._restyle)

    def _restyle(self, c: style.Colours) -> None:
        for bars, colour in zip(self._series, c.series):
            bars.setOpts(brush=QColor(colour))
        if self.rows:  # the tables' cells are tinted in the palette's colours
            self._show_temperature(self.rows)
        if self._computed:
            self.refresh_top_k()

    def showEvent(self, event) -> None:  # noqa: N802
        # Computed when first shown: the numbers need torch, which loads after the window.
        super().showEvent(event)
        if not self._computed:
            self.refresh()

    def _custom_changed(self, _t: float) -> None:
        if self._computed:  # before the tab is first shown (a restore at start): nothing to do
            self.refresh_temperature(delay_ms=None)  # after the spin box has settled

    def _k_changed(self, _k: int) -> None:
        if self._computed:
            self.refresh_top_k()

    def refresh(self) -> None:
        self._computed = True
        self.refresh_temperature()
        self.refresh_top_k()

    def refresh_temperature(self, delay_ms: int | None = 0) -> None:
        """Sample the four temperatures on the job (4,000 draws one at a time)."""
        temperatures = (1.0, 0.1, 5.0, float(self.custom_t.value()))

        def job(token):
            from model.chapter5 import temperature_table

            yield temperature_table(temperatures)

        self.temperature_job.request(job, delay_ms)

    def _on_temperatures(self, rows) -> None:
        self._show_temperature(rows)
        self.computed.emit()

    def _show_temperature(self, rows) -> None:
        from model.chapter5 import NEXT_TOKEN_LOGITS, WORDS

        self.rows = rows
        table = self.temperature_table
        # One row per word (the book's printout), a probability and a count per temperature.
        table.setRowCount(len(WORDS))
        table.setColumnCount(1 + 2 * len(rows))
        headers = ["logit"]
        for r, row in enumerate(rows):
            own = "\n(yours)" if r == 3 else ""
            headers += [f"p\nT = {row.temperature:g}{own}", f"count\nT = {row.temperature:g}{own}"]
        table.setHorizontalHeaderLabels(headers)
        table.setVerticalHeaderLabels([f"{i} {w}" for i, w in enumerate(WORDS)])
        for i, logit in enumerate(NEXT_TOKEN_LOGITS):
            table.setItem(i, 0, _item(f"{logit:.2f}"))
        for r, row in enumerate(rows):
            best = int(np.argmax(row.counts))
            shade = QColor(style.colours().series_cells[r])
            for i in range(len(WORDS)):
                table.setItem(i, 1 + 2 * r, _item(_fmt_p(row.probas[i]), background=shade))
                table.setItem(i, 2 + 2 * r, _item(f"{row.counts[i]}", bold=i == best,
                                                  background=shade))
        legend = self.temperature_plot.plotItem.legend
        legend.clear()
        for bars, row in zip(self._series, rows):
            bars.setOpts(height=np.asarray(row.probas))
            legend.addItem(bars, f"T = {row.temperature:g}")
        axis = self.temperature_plot.getAxis("bottom")
        axis.setTicks([[(i, w) for i, w in enumerate(WORDS)]])

    def shutdown(self) -> None:
        self.temperature_job.shutdown()

    def refresh_top_k(self) -> None:
        from model.chapter5 import NEXT_TOKEN_LOGITS, WORDS, top_k_demo

        demo = top_k_demo(int(self.k.value()))
        self.top_k = demo
        table = self.top_k_table
        table.setVerticalHeaderLabels([f"{i} {w}" for i, w in enumerate(WORDS)])
        for i in range(len(WORDS)):
            kept = i in demo.top_positions
            colour = QColor(style.colours().kept_cell if kept else style.colours().dropped_cell)
            masked = demo.masked_logits[i]
            table.setItem(i, 0, _item(f"{NEXT_TOKEN_LOGITS[i]:.2f}"))
            table.setItem(i, 1, _item("-inf" if math.isinf(masked) else f"{masked:.2f}",
                                      background=colour))
            table.setItem(i, 2, _item(f"{demo.probas[i]:.4f}", background=colour, bold=kept))
        logits = ", ".join(f"{v:.2f}" for v in demo.top_logits)
        self.top_k_text.setText(
            f"<code>torch.topk(logits, {demo.k})</code> \u2192 top logits [{logits}] at "
            f"positions {demo.top_positions}; every other logit becomes -inf, so softmax gives "
            "it probability 0.")
        order = sorted(range(9), key=lambda i: -demo.probas[i])
        self.top_k_chart.set_bars([WORDS[i] for i in order], [demo.probas[i] for i in order],
                                  highlight=0, title=f"softmax after top-{demo.k} masking")


class LossPanel(JobPanel):
    """Section 5.1.2: how probable the model finds a continuation, as cross-entropy and perplexity.
    """

    SHUTDOWN_WAIT_MS = 30_000  # the book's numbers build a 163M-parameter model

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.result = None
        self.book_batch = (float("nan"), float("nan"))  # (loss, perplexity) of the book's batch
        intro = QLabel(
            "Type a prompt and the continuation the model should predict. Each target token's "
            "probability comes from softmax of the logits at the position before it; the "
            "cross-entropy is the mean of \u2212log p over the targets, and the perplexity "
            "exp(cross-entropy) is the number of equally likely tokens the model is as unsure "
            "as (section 5.1.2). Mind the leading space: \u201c effort\u201d is one token.")
        intro.setWordWrap(True)
        self.prompt = QLineEdit("every")
        self.prompt.setPlaceholderText("prompt (empty: start from <|endoftext|>)")
        self.prompt.setToolTip("Prompt: the context the model reads before the continuation "
                               "(text generation loss: chapter 5, section 5.1.2)")
        self.target = QLineEdit(" effort moves you")
        self.target.setPlaceholderText("target continuation, e.g. ' effort moves you'")
        self.target.setToolTip("Continuation: the target tokens; the probabilities the model "
                               "gives them make the cross-entropy loss and the perplexity "
                               "(chapter 5, section 5.1.2)")
        self.compute_button = push_button(
            "Compute loss",
            "Compute the text generation loss: cross-entropy and perplexity of the continuation "
            "(chapter 5, section 5.1.2); Enter does the same", self.compute)
        self.prompt.returnPressed.connect(self.compute)
        self.target.returnPressed.connect(self.compute)
        self.book_button = push_button(
            "The book's numbers",
            "Untrained GPT-2 124M (context 256, torch.manual_seed(123)) on the book's two "
            "examples: cross-entropy 10.7940, perplexity 48,725.8 (chapter 5, section 5.1.2). "
            "Builds a 163M-parameter model.", self.compute_book)
        inputs = row(QLabel("Prompt"), (self.prompt, 1), QLabel("Continuation"), (self.target, 2),
                     self.compute_button, self.book_button)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.table = _table(0, 6)
        self.table.setHorizontalHeaderLabels(
            ["context ends with", "target token", "p(target)", "\u2212log p",
             "model's top choice", "top choice = target?"])
        self.chart = BarChart(max_bars=25)
        self.chart.plot.getAxis("bottom").setLabel("\u2212log p (the loss is their mean)")
        self.chart.show_message("Each target token's \u2212log p appears here.")
        split = splitter(Qt.Orientation.Vertical, (self.table, self.chart), (), (300, 300),
                         collapsible=False)
        column(intro, inputs, self.summary, (split, 1), parent=self)
        self.session.current_changed.connect(lambda _e: self._clear())
        self._clear()

    def _clear(self) -> None:
        self.result = None
        self.table.setRowCount(0)
        entry = self.session.current
        self.summary.setText("<i>Loading model...</i>" if entry is None else
                             f"Model: <b>{html.escape(entry.name)}</b>. Press <i>Compute "
                             "loss</i>.")
        self.compute_button.setEnabled(entry is not None and self._job is None)

    def compute(self) -> bool:
        entry = self.session.current
        if entry is None or self._job is not None:
            return False
        tok = self.session.tokenizer
        prompt_ids = tok.encode(self.prompt.text())
        target_ids = tok.encode(self.target.text())
        if not target_ids:
            self._say_error("The continuation is empty: type the text the model should predict "
                            "after the prompt.")
            return False

        def job(token):
            from model.chapter5 import continuation_loss

            yield {"results": [(entry.name,
                                continuation_loss(entry.model, prompt_ids, target_ids))]}

        return self._start(job)

    def compute_book(self) -> bool:
        if self._job is not None:
            return False

        def job(token):
            import torch

            from model import GPTModel
            from model.chapter5 import continuation_loss
            from model.config import GPTConfig

            torch.manual_seed(123)
            model = GPTModel(GPTConfig(context_length=256, drop_rate=0.1)).eval()
            name = "untrained GPT-2 124M (seed 123, context 256)"
            # The book's batch: "every effort moves" / "I really like", targets shifted by one.
            inputs = torch.tensor([[16833, 3626, 6100], [40, 1107, 588]])
            targets = torch.tensor([[3626, 6100, 345], [1107, 588, 11311]])
            with torch.no_grad():
                loss = torch.nn.functional.cross_entropy(model(inputs).flatten(0, 1),
                                                         targets.flatten())
            yield {"results": [(name, continuation_loss(model, [16833], [3626, 6100, 345])),
                               (name, continuation_loss(model, [40], [1107, 588, 11311]))],
                   "batch": (float(loss), float(torch.exp(loss)))}

        self.summary.setText("Building the untrained GPT-2 124M model (163M parameters)...")
        return self._start(job)

    def _start(self, fn) -> bool:
        self._job = JobThread(fn, name="continuation-loss", parent=self)
        self._job.record.connect(self._show)
        self._job.failed.connect(self._say_error)
        self._job.finished.connect(self._finished)
        self.compute_button.setEnabled(False)
        self.book_button.setEnabled(False)
        self._job.start()
        return True

    def _finished(self, reason: str) -> None:
        self._job = None
        self.compute_button.setEnabled(self.session.current is not None)
        self.book_button.setEnabled(True)
        self.done.emit(reason)

    def _say_error(self, message: str) -> None:
        message = html.escape(message)
        style.set_rich_text(self.summary,
                            lambda c: f"<span style='color:{c.error}'><b>{message}</b></span>")

    def _show(self, record) -> None:
        tok = self.session.tokenizer
        results = record["results"]
        self.result = results
        if "batch" in record:
            self.book_batch = record["batch"]
        rows = [(name, r, i) for name, r in results for i in range(len(r.target_ids))]
        self.table.setRowCount(len(rows))
        for row, (_name, r, i) in enumerate(rows):
            context = r.context_ids + r.target_ids[:i]
            tail = tok.decode(context[-6:])
            pick = r.argmax_ids[i]
            cells = [("\u2026" if len(context) > 6 else "") + visible(tail, OPEN_BOX),
                     token_name(r.target_ids[i]), f"{r.probas[i]:.4e}",
                     f"{-r.log_probas[i]:.4f}", token_name(pick),
                     "yes" if pick == r.target_ids[i] else "no"]
            for col, text in enumerate(cells):
                self.table.setItem(row, col, _item(text, align_right=col in (2, 3),
                                                   bold=col == 1))
        log_probas = [lp for _n, r in results for lp in r.log_probas]
        if len(results) == 1:  # exactly what model.chapter5 computed (torch's cross_entropy)
            ce, perplexity = results[0][1].cross_entropy, results[0][1].perplexity
        else:  # the book's batch of two, as the book computed it (see compute_book)
            ce, perplexity = self.book_batch
        labels = [f"{i + 1}. " + token_name(r.target_ids[i])
                  for _n, r, i in rows]
        losses = [-r.log_probas[i] for _n, r, i in rows]
        self.chart.set_bars(labels, losses, value_format="{:.3f}",
                            title="\u2212log p of each target token"
                                  + (" (first 25)" if len(rows) > 25 else ""),
                            reference=(ce, f"cross-entropy {ce:.4f}"))
        name = results[0][0]
        notices = " ".join(n for _n, r in results for n in r.notices)
        formula = (f"mean of \u2212log p over {len(log_probas)} target tokens")
        extra = ""
        if len(results) > 1:
            extra = (" (both of the book's examples together, as its batch of two: the book "
                     "prints 10.7940 and 48725.8203)")
        summary = (f"Model: <b>{html.escape(name)}</b>. Cross-entropy = {formula} = "
                   f"<b>{ce:.4f}</b>; perplexity = exp({ce:.4f}) = <b>{perplexity:,.4f}</b>"
                   f"{extra}. ")
        style.set_rich_text(self.summary, lambda c: summary + (
            f"<br><span style='color:{c.warning}'>{html.escape(notices)}</span>"
            if notices else ""))
