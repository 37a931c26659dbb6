"""The book's chapter 4 demos, editable and recomputed as the learner types, with the book's
numbers on screen: LayerNorm before and after (section 4.2), GELU against ReLU and the
feed-forward network's shapes (section 4.3), gradients with and without shortcut connections
(section 4.4).

Each demo runs its computation in a `LatestJob` (tiny, but never on the GUI thread) and shows
a bad input as a message naming the field, keeping the last good result on screen.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QLabel, QLineEdit, QTableWidget, QTableWidgetItem, QTabWidget,
                               QWidget)

from studyapp.areas.architecture import core
from studyapp.areas.architecture.plots import LinePlot, LogBarPlot
from studyapp.shell import style
from studyapp.shell.jobs import LatestJob
from studyapp.widgets.forms import (add_tabs, button_row, column, form_rows, number_box,
                                    push_button, rich_label, row, scrolled, splitter)

DEMO_KEYS = ("layernorm", "gelu", "feedforward", "shortcut")
DEBOUNCE_MS = 150
CHECK = "\u2713"


def _row(values, fmt="{:.4f}") -> str:
    return "[" + ", ".join(fmt.format(v) for v in values) + "]"


class _Demo(QWidget):
    """Inputs on the left, the numbers and a plot on the right; recomputed through a job."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.job = LatestJob(self, delay_ms=DEBOUNCE_MS, name=type(self).__name__)
        self.job.result.connect(self._show)
        self.job.failed.connect(self._failed)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.result = rich_label()
        self.last = None
        style.on_change(self, self._restyle)

    def _restyle(self, _c) -> None:
        self.problem.setStyleSheet(style.css_color("error"))
        if self.last is not None:
            self._show(self.last)

    def schedule(self, *_args) -> None:
        try:
            fn = self.computation()
        except ValueError as exc:
            self.problem.setText(str(exc))
            return
        self.problem.setText("")
        self.job.request(lambda _token: iter([fn()]))

    def _failed(self, message: str) -> None:
        self.problem.setText(message)

    def is_busy(self) -> bool:
        return self.job.is_busy()

    def _controls_beside(self, plot: QWidget, *inputs, sizes=None) -> None:
        """The demo's inputs, its problem line and its numbers in a column that scrolls, left of
        `plot`."""
        controls = QWidget()
        column(*inputs, self.problem, (self.result, 1), parent=controls, margins=0)
        column(splitter(Qt.Orientation.Horizontal, (scrolled(controls), plot), (), sizes,
                        collapsible=False), parent=self, margins=0)

    def _show(self, result) -> None:
        self.last = result
        self.show_result(result)

    def computation(self):  # returns a no-argument function; raises ValueError for bad input
        raise NotImplementedError

    def show_result(self, result) -> None:
        raise NotImplementedError


class LayerNormDemo(_Demo):
    """Section 4.2: a Linear + ReLU layer's outputs, normalised row by row."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = QTableWidget(2, 5)
        self.table.setToolTip("batch_example: two inputs of five numbers each (section 4.2). "
                              "The book draws them with torch.randn(2, 5) after "
                              "torch.manual_seed(123); edit any number")
        self.table.setMaximumHeight(96)
        self.table.horizontalHeader().setDefaultSectionSize(62)
        self.seed = number_box(0, 2**31 - 1, core.BOOK_SEED,
                               tip="torch.manual_seed before the batch and the layer are drawn "
                                   "(the book: 123)")
        reset = push_button("The book's batch", "Put back torch.randn(2, 5) under seed 123, as "
                            "in section 4.2", self.reset_to_book)
        self.plot = LinePlot("Before and after normalisation", "output feature", "value",
                             tip="Each row's six Linear + ReLU outputs before normalising and "
                                 "after: (x - mean) / sqrt(var) (chapter 4, section 4.2)",
                             integer_x=True)
        self._controls_beside(self.plot, QLabel("<b>Input batch</b> (2 \u00d7 5) \u2192 "
                                                "nn.Linear(5, 6) \u2192 nn.ReLU()"),
                              self.table, button_row(QLabel("Seed"), self.seed, reset))
        self._filling = False
        self.reset_to_book(run=False)
        self.table.itemChanged.connect(self._edited)
        self.seed.valueChanged.connect(self.schedule)

    def reset_to_book(self, run: bool = True) -> None:
        self.set_batch(core.book_batch())
        self._book_cells = self.cells()
        self.seed.setValue(core.BOOK_SEED)
        if run:
            self.schedule()

    def set_batch(self, rows) -> None:
        self._filling = True
        self.table.setRowCount(len(rows))
        self.table.setColumnCount(len(rows[0]) if rows else 0)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(f"{float(value):.4f}"))
        self._filling = False

    def cells(self) -> list[list[str]]:
        return [[(self.table.item(r, c).text() if self.table.item(r, c) else "")
                 for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]

    def _edited(self, _item) -> None:
        if not self._filling:
            self.schedule()

    def computation(self):
        cells = self.cells()
        # The table shows 4 decimals; while it holds the book's batch unedited, the book's
        # exact torch.randn values are used, so the results are the book's to every digit.
        batch = None if cells == self._book_cells else core.parse_batch(cells)
        seed = self.seed.value()
        return lambda: core.layer_norm_view(batch, seed)

    def show_result(self, out: dict) -> None:
        c = style.colours()
        ok = f" <span style='color:{c.success}'>{CHECK} as the book</span>"
        book = ok if out["matches_book"] else (
            f" <span style='color:{c.muted}'>(the book's batch and seed give mean "
            f"{_row(core.BOOK_LN_MEAN)}, variance {_row(core.BOOK_LN_VAR)})</span>")
        rows = "".join(f"<tr><td>row {i + 1}</td><td>{_row(v)}</td></tr>"
                       for i, v in enumerate(out["relu_out"]))
        normed = "".join(f"<tr><td>row {i + 1}</td><td>{_row(v)}</td></tr>"
                         for i, v in enumerate(out["normed"]))
        self.result.setText(
            f"<b>Layer output</b> (ReLU keeps no negative value)<table>{rows}</table>"
            f"mean per row {_row(out['mean'])}<br>variance per row {_row(out['var'])}{book}"
            f"<br><br><b>Normalised</b>: (out \u2212 mean) / \u221avar<table>{normed}</table>"
            f"mean {_row(out['normed_mean'], '{:.1e}')} \u2248 0, variance "
            f"{_row(out['normed_var'])}<br><span style='color:{c.muted}'>The model's LayerNorm "
            f"divides by \u221a(biased variance + eps), eps = {out['eps']:g}, and adds its "
            f"learned scale and shift (1 and 0 at first): variance "
            f"{_row(out['layer_norm_var'])}.</span>")
        width = len(out["relu_out"][0])
        series = [(f"row {i + 1} before", v) for i, v in enumerate(out["relu_out"][:2])]
        series += [(f"row {i + 1} after", v) for i, v in enumerate(out["normed"][:2])]
        self.plot.set_series(list(range(1, width + 1)), series, zero_line=True)

    def save(self) -> dict:
        return {"batch": self.cells(), "seed": self.seed.value()}

    def restore(self, state: dict) -> None:
        rows = state.get("batch")
        if isinstance(rows, list) and rows and all(isinstance(r, list) and r for r in rows):
            self._filling = True
            self.table.setRowCount(len(rows))
            self.table.setColumnCount(max(len(r) for r in rows))
            for r, row in enumerate(rows):
                for col, value in enumerate(row):
                    self.table.setItem(r, col, QTableWidgetItem(str(value)))
            self._filling = False
        if isinstance(state.get("seed"), int):
            self.seed.setValue(state["seed"])
        self.schedule()


class GeluDemo(_Demo):
    """Section 4.3: GELU against ReLU, and their derivatives."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.x_min, self.x_max = (
            number_box(-20.0, 20.0, value, step=0.5, decimals=2,
                       tip="The range of x; the book plots x from -3 to 3 (figure 4.8)")
            for value in (-3.0, 3.0))
        for box in (self.x_min, self.x_max):
            box.valueChanged.connect(self.schedule)
        self.curves = LinePlot("GELU and ReLU", "x", "activation",
                               tip="GELU, as GPT-2 approximates it with tanh, against ReLU "
                                   "(chapter 4, section 4.3, figure 4.8)")
        self.slopes = LinePlot("Their derivatives", "x", "d activation / dx",
                               tip="The derivatives by autograd: ReLU's jumps from 0 to 1, "
                                   "GELU's is smooth and slightly negative below about -0.75, "
                                   "so a unit with a negative input still gets a gradient "
                                   "(chapter 4, section 4.3)")
        plots = splitter(Qt.Orientation.Horizontal, (self.curves, self.slopes), (),
                         collapsible=False)
        column(row(QLabel("x from"), self.x_min, QLabel("to"), self.x_max, (self.problem, 1)),
               (plots, 1), self.result, parent=self, margins=0)

    def computation(self):
        lo, hi = self.x_min.value(), self.x_max.value()
        if lo >= hi:
            raise ValueError(f"x from {lo:g} to {hi:g}: the start must be below the end")
        return lambda: core_gelu(lo, hi)

    def show_result(self, out: dict) -> None:
        self.curves.set_series(out["x"], [("GELU", out["gelu"]), ("ReLU", out["relu"])],
                               zero_line=True)
        self.slopes.set_series(out["x"], [("GELU'", out["gelu_grad"]),
                                          ("ReLU'", out["relu_grad"])], zero_line=True)
        lowest = min(range(len(out["x"])), key=lambda i: out["gelu"][i])
        self.result.setText(
            f"GELU(x) = 0.5 x (1 + tanh(\u221a(2/\u03c0) (x + 0.044715 x\u00b3))). Its lowest "
            f"value here: {out['gelu'][lowest]:.4f} at x = {out['x'][lowest]:.2f}; ReLU is "
            "0 for every negative x.")

    def save(self) -> dict:
        return {"x_min": self.x_min.value(), "x_max": self.x_max.value()}

    def restore(self, state: dict) -> None:
        for key, box in (("x_min", self.x_min), ("x_max", self.x_max)):
            if isinstance(state.get(key), (int, float)):
                box.setValue(float(state[key]))
        self.schedule()


def core_gelu(lo: float, hi: float) -> dict:
    from model.chapter4 import gelu_vs_relu

    return gelu_vs_relu(lo, hi)


class FeedForwardDemo(_Demo):
    """Section 4.3: the shapes through FeedForward, 768 -> 3,072 -> 768 for GPT-2 small."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.emb_dim = number_box(1, core.MAX_FF_EMB, core.BOOK_FF_INPUT[2],
                                  tip="emb_dim: the width of each token's vector (GPT-2 small: "
                                      "768)")
        self.batch = number_box(1, 64, core.BOOK_FF_INPUT[0], tip="batch size (the book: 2)")
        self.tokens = number_box(1, 4096, core.BOOK_FF_INPUT[1],
                                 tip="tokens per input (the book: 3)")
        form = form_rows(("emb_dim", self.emb_dim), ("batch", self.batch),
                         ("tokens", self.tokens))
        for box in (self.emb_dim, self.batch, self.tokens):
            box.valueChanged.connect(self.schedule)
        self.setToolTip("x = torch.rand(2, 3, 768) through FeedForward (chapter 4, section "
                        "4.3, figure 4.10): expand to 4 x emb_dim, GELU, project back")
        body = QWidget()
        column(form, self.problem, (self.result, 1), parent=body)
        column(scrolled(body), parent=self, margins=0)

    def computation(self):
        emb, b, t = self.emb_dim.value(), self.batch.value(), self.tokens.value()
        return lambda: core.feed_forward_steps(emb, b, t)

    def show_result(self, steps: list) -> None:
        c = style.colours()
        rows = []
        for step in steps:
            module = step["module"] or "x"
            if module == "Linear":
                d_in = steps[steps.index(step) - 1]["shape"][-1]
                module = f"nn.Linear({d_in:,}, {step['shape'][-1]:,})"
            params = f"{step['params']:,} parameters" if step["params"] else ""
            rows.append(f"<tr><td>{html.escape(step['name'])}</td><td>{module}</td>"
                        f"<td><b>{core.format_shape(step['shape'])}</b></td><td>{params}</td></tr>")
        total = sum(s["params"] for s in steps)
        book = tuple(steps[0]["shape"]) == core.BOOK_FF_INPUT
        note = (f"<span style='color:{c.success}'>{CHECK} as the book: torch.Size([2, 3, 768]) "
                f"in and out, 3,072 inside</span>" if book else
                f"<span style='color:{c.muted}'>The book's input: (2, 3, 768).</span>")
        self.result.setText(
            f"<table cellpadding=3><tr style='color:{c.muted}'><td>step</td><td>module</td>"
            f"<td>shape</td><td></td></tr>{''.join(rows)}</table>{total:,} parameters in all "
            f"(GPT-2 small: 4,722,432 per block). The output has the input's shape, so blocks "
            f"can be stacked.<br>{note}")

    def save(self) -> dict:
        return {"emb_dim": self.emb_dim.value(), "batch": self.batch.value(),
                "tokens": self.tokens.value()}

    def restore(self, state: dict) -> None:
        for key, box in (("emb_dim", self.emb_dim), ("batch", self.batch),
                         ("tokens", self.tokens)):
            if isinstance(state.get(key), int):
                box.setValue(state[key])
        self.schedule()


class ShortcutDemo(_Demo):
    """Section 4.4: mean |gradient| per layer of a deep network, with and without shortcuts."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sizes = QLineEdit(", ".join(str(s) for s in core.BOOK_LAYER_SIZES))
        self.sizes.setToolTip("layer_sizes: one Linear + GELU layer between each pair (the "
                              "book: 3, 3, 3, 3, 3, 1, section 4.4)")
        self.inputs = QLineEdit(", ".join(f"{v:g}" for v in core.BOOK_SAMPLE_INPUT))
        self.inputs.setToolTip("sample_input: as many numbers as the first size (the book: "
                               "1, 0, -1)")
        self.target = number_box(-100.0, 100.0, 0.0, decimals=2,
                                 tip="The MSE loss's target (the book: 0)")
        self.seed = number_box(0, 2**31 - 1, core.BOOK_SEED,
                               tip="torch.manual_seed before the network is built (the book: "
                                   "123)")
        reset = push_button("The book's setup", "Put back the book's layer sizes, input, target "
                            "and seed (section 4.4)", self.reset_to_book)
        for signal in (self.sizes.textChanged, self.inputs.textChanged,
                       self.target.valueChanged, self.seed.valueChanged):
            signal.connect(self.schedule)
        self.plot = LogBarPlot("Mean |gradient| per layer (log scale)", "layer",
                               "mean |weight gradient|",
                               tip="Without shortcuts the gradient shrinks towards the first "
                                   "layer (it vanishes); with them it stays large (chapter 4, "
                                   "section 4.4, figure 4.12)")
        form = form_rows(("Layer sizes", self.sizes), ("Input", self.inputs),
                         ("Target", self.target), ("Seed", self.seed))
        self._controls_beside(self.plot, form, reset, sizes=(330, 470))

    def reset_to_book(self) -> None:
        self.sizes.setText(", ".join(str(s) for s in core.BOOK_LAYER_SIZES))
        self.inputs.setText(", ".join(f"{v:g}" for v in core.BOOK_SAMPLE_INPUT))
        self.target.setValue(0.0)
        self.seed.setValue(core.BOOK_SEED)

    def computation(self):
        sizes = core.parse_sizes(self.sizes.text())
        inputs = core.parse_numbers(self.inputs.text(), "input")
        if len(inputs) != sizes[0]:
            raise ValueError(f"input: {len(inputs)} numbers, but the first layer takes "
                             f"{sizes[0]}")
        target, seed = self.target.value(), self.seed.value()
        return lambda: core.shortcut_view(sizes, inputs, target, seed)

    def show_result(self, out: dict) -> None:
        c = style.colours()
        n = len(out["without"])
        self.plot.set_bars([f"layer {i + 1}" for i in range(n)],
                           [("without shortcuts", out["without"]),
                            ("with shortcuts", out["with"])])
        rows = "".join(f"<tr><td>layers.{i}.0.weight</td><td align=right>{a:.10f}</td>"
                       f"<td align=right>{b:.10f}</td></tr>"
                       for i, (a, b) in enumerate(zip(out["without"], out["with"])))
        if out["matches_book"]:
            note = f"<span style='color:{c.success}'>{CHECK} the book's numbers</span>"
        else:
            note = (f"<span style='color:{c.muted}'>The book's setup gives "
                    f"{core.BOOK_GRADS_WITHOUT[0]:.8f} \u2026 {core.BOOK_GRADS_WITHOUT[-1]:.8f} "
                    f"without and {core.BOOK_GRADS_WITH[0]:.4f} \u2026 "
                    f"{core.BOOK_GRADS_WITH[-1]:.4f} with shortcuts.</span>")
        self.result.setText(
            f"<table cellpadding=2><tr style='color:{c.muted}'><td>weight</td><td>without</td>"
            f"<td>with shortcuts</td></tr>{rows}</table>{note}")

    def save(self) -> dict:
        return {"sizes": self.sizes.text(), "input": self.inputs.text(),
                "target": self.target.value(), "seed": self.seed.value()}

    def restore(self, state: dict) -> None:
        if isinstance(state.get("sizes"), str):
            self.sizes.setText(state["sizes"])
        if isinstance(state.get("input"), str):
            self.inputs.setText(state["input"])
        if isinstance(state.get("target"), (int, float)):
            self.target.setValue(float(state["target"]))
        if isinstance(state.get("seed"), int):
            self.seed.setValue(state["seed"])
        self.schedule()


class DemosTab(QTabWidget):
    """The four demos as tabs, keyed by `DEMO_KEYS`."""

    TITLES = ("LayerNorm (4.2)", "GELU vs ReLU (4.3)", "Feed forward (4.3)", "Shortcuts (4.4)")
    TIPS = ("Layer normalisation on the book's example batch (chapter 4, section 4.2)",
            "The GELU activation against ReLU, and their derivatives (chapter 4, section 4.3)",
            "The feed-forward network's shapes, 768 \u2192 3,072 \u2192 768 (chapter 4, "
            "section 4.3)",
            "Shortcut connections and vanishing gradients (chapter 4, section 4.4)")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.demos = {"layernorm": LayerNormDemo(), "gelu": GeluDemo(),
                      "feedforward": FeedForwardDemo(), "shortcut": ShortcutDemo()}
        add_tabs(self, zip((self.demos[key] for key in DEMO_KEYS), self.TITLES, self.TIPS))

    def start(self) -> None:
        for demo in self.demos.values():
            demo.schedule()

    def show_demo(self, key: str) -> None:
        if key in self.demos:
            self.setCurrentWidget(self.demos[key])

    def current_key(self) -> str:
        return DEMO_KEYS[max(0, self.currentIndex())]

    def is_busy(self) -> bool:
        return any(demo.is_busy() for demo in self.demos.values())

    def save(self) -> dict:
        return {key: demo.save() for key, demo in self.demos.items()}

    def restore(self, state: dict) -> None:
        for key, demo in self.demos.items():
            if isinstance(state.get(key), dict):
                demo.restore(state[key])

    def shutdown(self) -> None:
        for demo in self.demos.values():
            demo.job.shutdown()
