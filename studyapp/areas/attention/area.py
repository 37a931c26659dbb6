"""The Attention lab (chapter 3): the loaded model's heads on the learner's text, and the book's
worked example step by step.

Two tabs:

* "Your text": the text runs through the current model (`ctx.models.current`) on a worker
  thread with every layer's attention captured (`attention_core.run_attention`). Views: the
  chosen head's weights as a heatmap (queries as rows, keys as columns, the never-seen upper
  triangle left empty), every layer x head as thumbnails, a bertviz-style head view, and the
  chosen head's chapter 3 pipeline (Q, K, V, raw, scaled and masked scores, softmax weights).
* "Chapter 3 step by step": the book's six 3-d inputs, editable, through `compute_steps`; every
  step prints its numbers to 4 decimals and draws them, updating as the learner edits.

The area offers `apply_state(payload)` for cross-links ({"step": 3}, {"text": "..."},
{"layer": 1, "head": 0, "view": "grid"}) and `prepare_screenshot()`.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFrame, QGridLayout,
                               QHBoxLayout, QHeaderView, QLabel, QPlainTextEdit, QPushButton,
                               QScrollArea, QSizePolicy, QSpinBox, QSplitter,
                               QStyledItemDelegate, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from studyapp.areas.attention import core
from studyapp.widgets.attention_views import AttentionHeatmap, HeadGrid, HeadView
from studyapp.widgets.heatmap import HeatmapWidget
from studyapp.shell import style
from studyapp.shell.jobs import JobThread
from studyapp.shell.area import AreaWidget

# A passage of The Verdict: the bundled model has read it, so its heads have learned something.
DEFAULT_TEXT = ("I had always thought Jack Gisburn rather a cheap genius--though a good fellow "
                "enough--so it was no great surprise to me to hear that, in the height of his "
                "glory, he had dropped his painting.")
LOADING = "Loading the model\u2026"
VIEW_KEYS = ("heatmap", "grid", "head_view", "pipeline")

# Tooltips: each names its concept and where the book (Build a Large Language Model From
# Scratch) treats it; what the book does not cover says so.
AREA_TAB_TIPS = (
    "Your own text through the loaded GPT: every transformer block's multi-head attention "
    "(chapter 3, section 3.6.2), where it sits in the block and the model (chapter 4, "
    "sections 4.5 and 4.6)",
    "The book's worked example \"Your journey starts with one step\" through chapter 3, "
    "sections 3.3 to 3.6, printed to 4 decimals and editable",
)
VIEW_TIPS = (
    "One head's attention weights as a matrix: rows are queries, columns the keys they attend "
    "to, each row sums to 1 (chapter 3, section 3.3.2); the causal mask leaves the upper "
    "triangle empty (section 3.5.1)",
    "Every layer x head at once: the heads of multi-head attention (chapter 3, section 3.6) "
    "in each of the model's transformer blocks (chapter 4, sections 4.5 and 4.6). Click one "
    "to open it",
    "A head view after the bertviz tool: one query's weights drawn as lines to the earlier "
    "tokens. Not in the book; it shows the same weights as chapter 3, section 3.5.1",
    "The chosen head step by step on the real model: queries, keys and values, scores, "
    "scaling by \u221ad_k (chapter 3, section 3.4.1), the causal mask (section 3.5.1) and "
    "softmax into weights",
)
STEP_TIPS = (
    "Chapter 3, sections 3.3.1 and 3.3.2: self-attention without trainable weights; dot-product "
    "scores, softmax into weights, context vectors as weighted sums, for one query and for all",
    "Chapter 3, section 3.4: trainable W_query, W_key and W_value; queries, keys and values, "
    "scores scaled by \u221ad_k (3.4.1), the same result as the compact SelfAttention_v1 "
    "class (3.4.2)",
    "Chapter 3, section 3.5.1: the causal mask; zero the future and renormalise, or -inf "
    "before softmax",
    "Chapter 3, section 3.5.2: dropout on the attention weights; survivors scaled by 1/(1-p)",
    "Chapter 3, section 3.6: multi-head attention; the wrapper that stacks heads (3.6.1) and "
    "the single class with weight splits (3.6.2)",
)
TEXT_TIP = ("Any text: it is split into GPT-2 BPE tokens (chapter 2, section 2.5) and run "
            "through the loaded GPT (chapter 4, section 4.6), capturing every layer's attention "
            "weights (chapter 3, section 3.6.2). Updates after a short pause in typing")
LAYER_TIP = ("Which transformer block to look at: each block has its own multi-head attention "
             "(chapter 4, section 4.5; the GPT stacks n_layers of them, section 4.6)")
HEAD_TIP = ("Which head of the layer's multi-head attention: d_out is split into num_heads "
            "heads of head_dim each (chapter 3, section 3.6.2). \"average over heads\" is the "
            "mean of the heads' weights, a summary of this lab, not in the book")
LOG_TIP = ("Colour by log10(weight) instead of the weight. Not in the book: many heads of "
           "trained models pour most of their weight on the first token (an \"attention "
           "sink\", a later research finding) and swamp a linear scale; log10 shows the small "
           "weights too")
ALL_HEADS_TIP = ("Draw every head of the layer at once, one colour each (multi-head attention, "
                 "chapter 3, section 3.6). The head view itself is after the bertviz tool, not "
                 "in the book")
HEATMAP_SAVE_TIP = ("Save this attention-weight heatmap (chapter 3, sections 3.3.2 and 3.5.1) "
                    "as a PNG image")
TABLE_TIP = ("The inputs: one embedding vector per token (chapter 3, section 3.3: the book's "
             "six 3-dimensional vectors of \"Your journey starts with one step\"). "
             "Double-click a cell to edit a number or a word")
EDITOR_TIP = ("Type a number (a dimension of this token's input embedding, chapter 3, section "
              "3.3) or, in the token column, the word; Enter applies, Esc cancels")
ADD_ROW_TIP = ("Add a token: one more input vector, so one more query, key and row of weights "
               "(chapter 3, section 3.3.2)")
REMOVE_ROW_TIP = "Remove the last token's input vector (chapter 3, section 3.3.2)"
ADD_COL_TIP = ("Add an embedding dimension: d_in grows by one (the book uses d_in = 3, chapter "
               "3, section 3.4.1)")
REMOVE_COL_TIP = "Remove the last embedding dimension: d_in shrinks by one (chapter 3, 3.4.1)"
RESET_TIP = ("Back to the book's example: the six inputs of chapter 3, section 3.3, query x^2 "
             "\"journey\", d_out = 2, the book's seeds, dropout p = 0.5 and 2 heads")
QUERY_TIP = ("The query token of steps 1 and 2: the book follows x^2 \"journey\" (chapter 3, "
             "sections 3.3.1 and 3.4.1) before computing every token at once")
D_OUT_TIP = ("d_out: the size of each query, key and value vector (chapter 3, section 3.4.1; "
             "the book uses 2). Steps 2, 3 and 5 use it; in step 5 the heads split it "
             "(section 3.6.2)")
SEED_TRAINABLE_TIP = ("torch.manual_seed before W_query, W_key and W_value are drawn (chapter 3, "
                      "section 3.4.1; the book uses 123, and SelfAttention_v1 in 3.4.2 gives the "
                      "same numbers)")
SEED_CAUSAL_TIP = ("torch.manual_seed before SelfAttention_v2 is built for the causal mask "
                   "(chapter 3, sections 3.4.2 and 3.5.1; the book uses 789)")
DROPOUT_TIP = ("Dropout rate p: each attention weight is zeroed with probability p and the "
               "rest are scaled by 1/(1-p) (chapter 3, section 3.5.2; the book uses 0.5)")
SEED_DROPOUT_TIP = ("torch.manual_seed before dropout draws which weights to drop (chapter 3, "
                    "section 3.5.2; the book uses 123)")
HEADS_TIP = ("num_heads: the wrapper stacks this many causal heads (chapter 3, section 3.6.1); "
             "MultiHeadAttention splits d_out into this many heads, so it must divide d_out "
             "(section 3.6.2)")
SEED_MULTIHEAD_TIP = ("torch.manual_seed before the multi-head modules are built (chapter 3, "
                      "section 3.6; the book uses 123)")
STEP_SAVE_TIP = "Save this step's heatmap (chapter 3, sections 3.3 to 3.6) as a PNG image"


def _mono_font() -> QFont:
    # Built when a widget needs it: a QFont made at import time may precede the QApplication.
    font = QFont("DejaVu Sans Mono")
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSize(8)
    return font


def create_area(ctx) -> AreaWidget:
    return AttentionArea(ctx)


def _notice_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


# =================================================================================================
# The model's attention on the learner's text
# =================================================================================================
class ModelAttentionTab(QWidget):
    """Text box -> current model -> heatmap, all-heads grid, head view and pipeline."""

    updated = Signal()  # the views show a new run or a new message (tests wait on it)

    DEBOUNCE_MS = 250

    def __init__(self, models, parent=None):
        super().__init__(parent)
        self.models = models
        self.run: core.AttentionRun | None = None
        self.query_index = 0  # the query token the heatmap and head view point at
        self._wanted: tuple | None = None  # a layer/head chosen before the first run
        self.message = ""
        self._job: JobThread | None = None
        self._pending = False
        self._generation = 0
        self._dirty: set[str] = set(VIEW_KEYS)
        self._shape: tuple[int, int] | None = None

        self.text_edit = QPlainTextEdit(DEFAULT_TEXT)
        self.text_edit.setPlaceholderText("Type or paste any text; the model's attention "
                                          "follows as you type.")
        self.text_edit.setMaximumHeight(64)
        self.text_edit.setToolTip(TEXT_TIP)
        self.info = _notice_label()
        style.set_text_role(self.info, "muted")
        self.notice = _notice_label()
        style.set_text_role(self.notice, "warning")
        self.notice.hide()

        self.layer_combo = QComboBox()
        self.head_combo = QComboBox()
        self.log_check = QCheckBox("Log colour scale")
        self.layer_combo.setToolTip(LAYER_TIP)
        self.head_combo.setToolTip(HEAD_TIP)
        self.log_check.setToolTip(LOG_TIP)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Layer"))
        controls.addWidget(self.layer_combo)
        controls.addSpacing(10)
        controls.addWidget(QLabel("Head"))
        controls.addWidget(self.head_combo)
        controls.addSpacing(10)
        controls.addWidget(self.log_check)
        controls.addStretch(1)

        # Views
        self.heatmap = AttentionHeatmap(title="", colormap="sequential", max_label_chars=14)
        self.grid = HeadGrid()
        self.head_view = HeadView()
        self.heatmap.save_button.setToolTip(HEATMAP_SAVE_TIP)
        self.all_heads_check = QCheckBox("All heads of the layer, one colour each")
        self.all_heads_check.setToolTip(ALL_HEADS_TIP)
        self.head_caption = QLabel()
        self.head_caption.setWordWrap(True)
        style.on_change(self.head_caption,  # the heads' colour keys
                        lambda c: self.head_caption.setText(self.head_view.caption()), now=False)
        head_scroll = QScrollArea()
        head_scroll.setWidgetResizable(True)
        head_scroll.setWidget(self.head_view)
        self.head_scroll = head_scroll
        head_page = QWidget()
        head_layout = QVBoxLayout(head_page)
        head_layout.setContentsMargins(4, 4, 4, 4)
        head_layout.addWidget(self.all_heads_check)
        head_layout.addWidget(self.head_caption)
        head_layout.addWidget(head_scroll, 1)

        # The pipeline's seven heatmaps are built the first time that view is shown.
        self.pipeline_maps: dict[str, HeatmapWidget] = {}
        pipeline_page = QWidget()
        self._pipe = QGridLayout(pipeline_page)
        self._pipe.setContentsMargins(4, 4, 4, 4)
        self.pipeline_note = _notice_label()
        self._pipe.addWidget(self.pipeline_note, 0, 3)
        for c in range(4):
            self._pipe.setColumnStretch(c, 1)

        self.views = QTabWidget()
        self.views.setDocumentMode(True)
        self.views.addTab(self.heatmap, "Heatmap")
        self.views.addTab(self.grid, "All heads")
        self.views.addTab(head_page, "Head view")
        self.views.addTab(pipeline_page, "Q, K, V \u2192 weights")
        for index, tip in enumerate(VIEW_TIPS):
            self.views.setTabToolTip(index, tip)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.text_edit)
        layout.addWidget(self.notice)
        layout.addLayout(controls)
        layout.addWidget(self.info)
        layout.addWidget(self.views, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(self.DEBOUNCE_MS)
        self._debounce.timeout.connect(self.request_run)
        self.text_edit.textChanged.connect(self._debounce.start)
        self.layer_combo.currentIndexChanged.connect(self._selection_changed)
        self.head_combo.currentIndexChanged.connect(self._selection_changed)
        self.log_check.toggled.connect(self._log_changed)
        self.all_heads_check.toggled.connect(lambda _: self._mark_dirty({"head_view"}))
        self.views.currentChanged.connect(lambda _: self._render_visible())
        self.heatmap.clicked.connect(self._heatmap_clicked)
        self.grid.head_clicked.connect(self._grid_clicked)
        self.head_view.query_changed.connect(self._query_changed)
        self.head_view.query_pinned.connect(self.set_query)
        models.current_changed.connect(self._model_changed)

        if models.current is None:
            self._show_message(LOADING)
        else:
            self.request_run()

    # -- selection ------------------------------------------------------------------------------
    @property
    def layer(self) -> int:
        return max(0, self.layer_combo.currentIndex())

    @property
    def head(self) -> int | None:
        """The chosen head, or None for the average over heads."""
        index = self.head_combo.currentIndex()
        if self.run is None or index < 0:
            return 0
        return None if index >= self.run.n_heads else index

    def select(self, layer: int | None = None, head: int | None | str = "keep") -> None:
        """Choose a layer and head (head None = the average over heads).

        Before the first run there are no layers to choose from yet: the choice is kept and
        applied when the run arrives (restored settings, cross-links from cards).
        """
        if self.layer_combo.count() == 0:
            self._wanted = (layer, head)
            return
        if layer is not None and 0 <= layer < self.layer_combo.count():
            self.layer_combo.setCurrentIndex(layer)
        if head != "keep":
            count = self.head_combo.count()
            index = count - 1 if head is None else head
            if 0 <= index < count:
                self.head_combo.setCurrentIndex(index)

    def show_view(self, key: str) -> None:
        if key in VIEW_KEYS:
            self.views.setCurrentIndex(VIEW_KEYS.index(key))

    # -- running the model ----------------------------------------------------------------------
    def set_text(self, text: str, run_now: bool = True) -> None:
        self.text_edit.setPlainText(text)
        if run_now:
            self._debounce.stop()
            self.request_run()

    def _model_changed(self, _entry) -> None:
        self._debounce.stop()
        self.request_run()

    def request_run(self) -> None:
        """Run the current text through the current model (queued if a run is under way)."""
        entry = self.models.current
        if entry is None:
            self._show_message(LOADING)
            return
        if self._job is not None:
            self._pending = True
            self._generation += 1  # the run in flight is out of date: drop its result
            return
        prepared = core.prepare_text(self.text_edit.toPlainText(), self.models.tokenizer,
                                     entry.config.context_length)
        if not prepared.ok:
            self._set_notice([])
            self._show_message(prepared.problem)
            return
        self._generation += 1
        generation = self._generation
        model, name = entry.model, entry.name
        ids, labels, notices = prepared.ids, prepared.labels, prepared.notices

        def job(token):
            yield generation, core.run_attention(model, ids, labels, model_name=name,
                                                 notices=notices)

        self._job = JobThread(job, name="attention-capture", parent=self)
        self._job.record.connect(self._on_run)
        self._job.failed.connect(self._on_failed)
        self._job.finished.connect(self._on_finished)
        self.info.setText(f"Running {name} on {len(ids)} tokens\u2026")
        self._job.start()

    def is_busy(self) -> bool:
        return self._job is not None or self._pending or self._debounce.isActive()

    def _on_run(self, record) -> None:
        generation, run = record
        if generation != self._generation:
            return
        if self.run is None or run.token_ids != self.run.token_ids:
            self.query_index = run.num_tokens - 1  # the last token sees the whole text
        self.run = run
        self.message = ""
        self._set_notice(run.notices)
        shape = (run.n_layers, run.n_heads)
        if shape != self._shape:
            self._rebuild_combos(*shape)
        if self._wanted is not None:
            wanted, self._wanted = self._wanted, None
            self.select(*wanted)
        tokens = "1 token" if run.num_tokens == 1 else f"{run.num_tokens} tokens"
        self.info.setText(
            f"{tokens} through '{run.model_name}': {run.n_layers} layers x "
            f"{run.n_heads} heads, head_dim {run.head_dim}; every attention weight captured in "
            f"{run.elapsed_ms:.0f} ms. Rows are queries, columns the keys they attend to.")
        self._mark_dirty(set(VIEW_KEYS))

    def _on_failed(self, message: str) -> None:
        self._show_message(f"The model could not run on this text: {message}")

    def _on_finished(self, _reason: str) -> None:
        self._job = None
        if self._pending:
            self._pending = False
            self.request_run()

    def shutdown(self) -> None:
        self._debounce.stop()
        self._pending = False
        if self._job is not None:
            self._job.request_stop()
            self._job.wait(5000)
            QCoreApplication.sendPostedEvents()

    def _rebuild_combos(self, layers: int, heads: int) -> None:
        layer, head = self.layer_combo.currentIndex(), self.head_combo.currentIndex()
        for combo in (self.layer_combo, self.head_combo):
            combo.blockSignals(True)
            combo.clear()
        self.layer_combo.addItems([f"layer {i}" for i in range(layers)])
        self.head_combo.addItems([f"head {i}" for i in range(heads)] + ["average over heads"])
        self.layer_combo.setCurrentIndex(layer if 0 <= layer < layers else 0)
        self.head_combo.setCurrentIndex(head if 0 <= head <= heads else 0)
        for combo in (self.layer_combo, self.head_combo):
            combo.blockSignals(False)
        self._shape = (layers, heads)

    # -- drawing --------------------------------------------------------------------------------
    def _set_notice(self, notices) -> None:
        self.notice.setText("\n".join(notices))
        self.notice.setVisible(bool(notices))

    def _show_message(self, text: str) -> None:
        self.run = None
        self.message = text
        self.info.setText("")
        self.heatmap.show_message(text)
        self.grid.show_message(text)
        self.head_view.show_message(text)
        self.head_caption.setText("")
        for widget in self.pipeline_maps.values():
            widget.show_message(text)
        self.pipeline_note.setText("")
        self._dirty.clear()
        self.updated.emit()

    def _mark_dirty(self, keys: set[str]) -> None:
        self._dirty |= keys
        self._render_visible()

    def _selection_changed(self, _index=None) -> None:
        self._mark_dirty({"heatmap", "head_view", "pipeline"})
        self.grid.set_selected(self.layer, self.head)

    def _log_changed(self, on: bool) -> None:
        self._dirty.add("heatmap")
        self._render_visible()
        self.grid.set_log_scale(on)
        if self.pipeline_maps:
            self.pipeline_maps["weights"].set_log_scale(on)

    def _render_visible(self) -> None:
        if self.run is None:
            return
        key = VIEW_KEYS[max(0, self.views.currentIndex())]
        if key in self._dirty:
            self._dirty.discard(key)
            getattr(self, f"_render_{key}")()
        self.updated.emit()

    def render_all(self) -> None:
        """Draw every view now (screenshots, tests), not only the visible one."""
        if self.run is None:
            return
        for key in VIEW_KEYS:
            getattr(self, f"_render_{key}")()
        self._dirty.clear()
        self.updated.emit()

    def _head_title(self) -> str:
        head = self.head
        who = "average over heads" if head is None else f"head {head}"
        return f"Attention weights, layer {self.layer}, {who}"

    def _render_heatmap(self) -> None:
        run = self.run
        weights = core.masked_for_display(run.head_weights(self.layer, self.head))
        log = self.log_check.isChecked()
        # Weights live in [0, 1]: anchor the linear scale at 0 so that a lone 1.0 (one token)
        # is bright, not the bottom of a degenerate range. The log scale picks its own range.
        top = float(np.nanmax(weights)) if np.isfinite(weights).any() else 1.0
        self.heatmap.set_levels(*((None, None) if log else (0.0, max(top, 1e-6))))
        self.heatmap.set_log_scale(log)
        self.heatmap.set_matrix(weights, run.labels, run.labels, title=self._head_title())
        self.heatmap.set_highlight(row=self.query_index)

    def _render_grid(self) -> None:
        self.grid.set_weights(self.run.weights, self.run.labels, self.log_check.isChecked())
        self.grid.set_selected(self.layer, self.head)

    def _render_head_view(self) -> None:
        run = self.run
        if self.all_heads_check.isChecked():
            self.head_view.set_data(run.labels, run.weights[self.layer], None)
        elif self.head is None:
            mean = run.head_weights(self.layer, None)[None]
            self.head_view.set_data(run.labels, mean, 0, ["average over heads"])
        else:
            self.head_view.set_data(run.labels, run.weights[self.layer], self.head)
        self.head_view.set_query(self.query_index)
        self.head_caption.setText(self.head_view.caption())
        # After the scroll area has laid out the new height: bring the query into view.
        QTimer.singleShot(0, self.head_view, self._scroll_to_query)  # dropped if it is gone

    def _scroll_to_query(self) -> None:
        if self.head_view.isVisible():
            self.head_scroll.ensureVisible(0, int(self.head_view.row_y(self.head_view.query)),
                                           0, 60)

    def _build_pipeline_maps(self) -> None:
        specs = [("queries", 0, 0, "diverging", True), ("keys", 0, 1, "diverging", True),
                 ("values", 0, 2, "diverging", True), ("scores", 1, 0, "diverging", True),
                 ("scaled", 1, 1, "diverging", True), ("masked", 1, 2, "diverging", True),
                 ("weights", 1, 3, "sequential", False)]
        for key, r, c, cmap, symmetric in specs:
            widget = HeatmapWidget(colormap=cmap, symmetric=symmetric, max_label_chars=10)
            widget.save_button.setVisible(False)
            widget.save_button.setToolTip(HEATMAP_SAVE_TIP)
            self.pipeline_maps[key] = widget
            self._pipe.addWidget(widget, r, c)

    def _render_pipeline(self) -> None:
        if not self.pipeline_maps:
            self._build_pipeline_maps()
        run = self.run
        head = self.head
        if head is None:
            for widget in self.pipeline_maps.values():
                widget.show_message("Choose a single head to see its queries, keys and values.")
            self.pipeline_note.setText("")
            return
        for matrix in run.pipeline(self.layer, head):
            widget = self.pipeline_maps[matrix.key]
            widget.set_matrix(matrix.values, matrix.row_labels, matrix.col_labels,
                              title=matrix.title)
        self.pipeline_maps["weights"].set_log_scale(self.log_check.isChecked())
        self.pipeline_note.setText(
            f"Layer {self.layer}, head {head}: chapter 3's steps on the real model, from the same "
            f"run. Each token's query is compared with every key (Q K\u1d40), divided by "
            f"\u221ahead_dim = \u221a{run.head_dim}, the future is set to -inf (left empty), "
            "and softmax turns each row into weights that sum to 1. The context vector of a "
            "token is its row of weights times V.")

    # -- cross-view interaction -----------------------------------------------------------------
    def set_query(self, index: int) -> None:
        """Point the heatmap and the head view at one query token."""
        if self.run is None or not 0 <= index < self.run.num_tokens:
            return
        self.query_index = index
        self.heatmap.set_highlight(row=index)
        self.head_view.set_query(index)

    def _heatmap_clicked(self, row: int, _col: int) -> None:
        self.set_query(row)

    def _query_changed(self, query: int) -> None:
        # Hovering in the head view previews its row on the heatmap.
        self.head_caption.setText(self.head_view.caption())
        if self.run is not None and not self.heatmap.is_showing_message():
            self.heatmap.set_highlight(row=query)

    def _grid_clicked(self, layer: int, head: int) -> None:
        self.select(layer, head)
        self.show_view("heatmap")


# =================================================================================================
# Chapter 3 step by step
# =================================================================================================
class BlockWidget(QFrame):
    """One printed result: title, numbers as PyTorch prints them, and a heatmap below."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setWordWrap(True)
        self.note = QLabel()
        style.set_text_role(self.note, "muted")
        self.note.setWordWrap(True)
        self.numbers = QLabel()
        self.numbers.setFont(_mono_font())
        self.numbers.setTextFormat(Qt.TextFormat.PlainText)
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.heatmap: HeatmapWidget | None = None
        self._shown: tuple | None = None  # what the heatmap last drew (skip identical redraws)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._layout.addWidget(self.title)
        self._layout.addWidget(self.numbers)
        self._layout.addWidget(self.note)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    @property
    def has_heatmap(self) -> bool:
        return self.heatmap is not None and not self.heatmap.isHidden()

    def show_block(self, block: core.Block, highlight_row: int | None = None) -> None:
        # Editing one input or seed leaves many blocks as they were; redrawing a heatmap is the
        # costly part of a live update, so identical ones are left alone.
        key = (block.title, block.text, block.note, highlight_row,
               None if block.matrix is None else block.matrix.tobytes(),
               tuple(block.row_labels or ()), tuple(block.col_labels or ()))
        if key == self._shown:
            return
        self._shown = key
        self.title.setText(block.title)
        self.numbers.setText(block.text)
        self.note.setText(block.note)
        self.note.setVisible(bool(block.note))
        if block.matrix is None:
            if self.heatmap is not None:
                self.heatmap.hide()
            return
        if self.heatmap is None:
            self.heatmap = HeatmapWidget(colormap="sequential", max_label_chars=9)
            self.heatmap.save_button.setVisible(False)
            self.heatmap.save_button.setToolTip(STEP_SAVE_TIP)
            self._layout.addWidget(self.heatmap, 0, Qt.AlignmentFlag.AlignLeft)
        self.heatmap.show()
        rows, cols = block.matrix.shape
        finite = block.matrix[np.isfinite(block.matrix)]
        signed = bool(finite.size and finite.min() < 0)
        # Signed numbers get a diverging map centred on 0; weights and scores keep viridis.
        self.heatmap.set_symmetric(signed)
        self.heatmap.set_colormap("diverging" if signed else "sequential")
        self.heatmap.set_matrix(block.matrix, block.row_labels, block.col_labels)
        self.heatmap.set_highlight(row=highlight_row)
        self.heatmap.setFixedSize(min(460, 130 + 52 * cols), min(250, 96 + 26 * rows))


class StepPage(QScrollArea):
    """A step: its own settings, an explanation, what it demonstrates, and its blocks in two
    columns (a block without a heatmap spans both)."""

    def __init__(self, controls: list[tuple[str, QWidget]], parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        self.layout_ = QVBoxLayout(inner)
        self.controls_row = QHBoxLayout()
        for label, widget in controls:
            self.controls_row.addWidget(QLabel(label))
            self.controls_row.addWidget(widget)
            self.controls_row.addSpacing(12)
        self.field_problem = QLabel()
        style.set_text_role(self.field_problem, "error")
        self.field_problem.setWordWrap(True)
        self.controls_row.addWidget(self.field_problem, 1)
        self.explanation = QLabel("Loading PyTorch\u2026")
        self.explanation.setWordWrap(True)
        self.checks = QLabel()
        style.set_text_role(self.checks, "success")
        self.checks.setWordWrap(True)
        if controls:
            self.layout_.addLayout(self.controls_row)
        self.layout_.addWidget(self.explanation)
        self.layout_.addWidget(self.checks)
        self.blocks_layout = QGridLayout()
        self.blocks_layout.setColumnStretch(0, 1)
        self.blocks_layout.setColumnStretch(1, 1)
        self.layout_.addLayout(self.blocks_layout)
        self.layout_.addStretch(1)
        self.blocks: list[BlockWidget] = []
        self.setWidget(inner)

    def show_step(self, step: core.Step, query_index: int, num_tokens: int) -> None:
        self.explanation.setText(step.explanation)
        self.checks.setText("\n".join("\u2713 " + c for c in step.checks))
        self.checks.setVisible(bool(step.checks))
        while len(self.blocks) < len(step.blocks):
            self.blocks.append(BlockWidget(self.widget()))
        for widget in self.blocks:
            self.blocks_layout.removeWidget(widget)
        row = col = 0
        for widget, block in zip(self.blocks, step.blocks):
            # Steps 1 and 2 follow one query; outline its row in their full matrices.
            full = (step.number <= 2 and block.matrix is not None
                    and block.matrix.shape[0] == num_tokens > 1)
            widget.show_block(block, query_index if full else None)
            if block.matrix is None:
                if col:
                    row, col = row + 1, 0
                self.blocks_layout.addWidget(widget, row, 0, 1, 2)
                row += 1
            else:
                self.blocks_layout.addWidget(widget, row, col, Qt.AlignmentFlag.AlignTop)
                row, col = (row, 1) if col == 0 else (row + 1, 0)
            widget.show()  # after joining the layout: a parentless show() would open a window
        for widget in self.blocks[len(step.blocks):]:
            widget.hide()


def _cell_tip(column: int) -> str:
    if column == 0:
        return ("The token's word: only a label for the rows and columns (chapter 3, section "
                "3.3). Double-click to edit")
    return (f"Dimension d{column - 1} of this token's input embedding (chapter 3, section 3.3). "
            "Double-click to edit; every step updates")


class _CellDelegate(QStyledItemDelegate):
    """The table's editor (a line edit Qt opens on a cell) explains itself too."""

    def createEditor(self, parent, option, index):  # noqa: N802
        editor = super().createEditor(parent, option, index)
        if editor is not None:
            editor.setToolTip(EDITOR_TIP)
        return editor


class StepByStepTab(QWidget):
    """The book's example through chapter 3, editable, printed to 4 decimals."""

    computed = Signal()  # a valid set of inputs was computed and shown
    rejected = Signal(str)  # the inputs are invalid; the last valid result stays

    DEBOUNCE_MS = 120

    def __init__(self, models, parent=None):
        super().__init__(parent)
        self.models = models
        self.steps: list[core.Step] | None = None
        self.params: core.StepParams | None = None
        self.problems: list[str] = []
        self._dirty: set[int] = set()
        self._filling = False

        # Left: the inputs and the shared settings.
        self.table = QTableWidget(0, 0)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setFixedWidth(300)
        self.table.setMinimumHeight(120)
        self.table.setToolTip(TABLE_TIP)
        self.table.setItemDelegate(_CellDelegate(self.table))
        style.on_change(self.table, lambda c: self._mark_cells(  # rejected cells' fill
            core.parse_inputs(*self.cells())[1]), now=False)
        self.add_row = QPushButton("+ token")
        self.remove_row = QPushButton("\u2212 token")
        self.add_col = QPushButton("+ dim")
        self.remove_col = QPushButton("\u2212 dim")
        self.reset_button = QPushButton("The book's example")
        for button, tip in ((self.add_row, ADD_ROW_TIP), (self.remove_row, REMOVE_ROW_TIP),
                            (self.add_col, ADD_COL_TIP), (self.remove_col, REMOVE_COL_TIP),
                            (self.reset_button, RESET_TIP)):
            button.setToolTip(tip)
        buttons = QGridLayout()
        buttons.addWidget(self.add_row, 0, 0)
        buttons.addWidget(self.remove_row, 0, 1)
        buttons.addWidget(self.add_col, 1, 0)
        buttons.addWidget(self.remove_col, 1, 1)
        buttons.addWidget(self.reset_button, 2, 0, 1, 2)
        self.query_combo = QComboBox()
        self.d_out = QSpinBox()
        self.d_out.setRange(1, 16)
        self.d_out.setValue(2)
        self.table_problem = QLabel()
        style.set_text_role(self.table_problem, "error")
        self.table_problem.setWordWrap(True)
        self.table_problem.setTextFormat(Qt.TextFormat.PlainText)
        self.stale = QLabel()
        style.set_text_role(self.stale, "warning")
        self.stale.setWordWrap(True)
        form = QGridLayout()
        form.addWidget(QLabel("Query token"), 0, 0)
        form.addWidget(self.query_combo, 0, 1)
        form.addWidget(QLabel("d_out"), 1, 0)
        form.addWidget(self.d_out, 1, 1)
        # Top strip: the inputs and the shared settings, so the steps get the full width.
        top = QWidget()
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(4, 4, 4, 0)
        top_layout.addWidget(self.table)
        middle = QVBoxLayout()
        middle.addLayout(buttons)
        middle.addLayout(form)
        middle.addStretch(1)
        top_layout.addLayout(middle)
        right = QVBoxLayout()
        intro = QLabel("<b>Inputs</b>: one embedding vector per token, the book's \"Your "
                       "journey starts with one step\". Edit any number or word, add tokens or "
                       "dimensions; every step below updates as you type.")
        intro.setWordWrap(True)
        right.addWidget(intro)
        right.addWidget(self.table_problem)
        right.addWidget(self.stale)
        right.addStretch(1)
        top_layout.addLayout(right, 1)
        top.setMaximumHeight(190)

        # Right: one page per step, with the step's own settings.
        self.seed_trainable = self._seed_box(123)
        self.seed_causal = self._seed_box(789)
        self.dropout_rate = QDoubleSpinBox()
        self.dropout_rate.setRange(0.0, 0.95)
        self.dropout_rate.setSingleStep(0.05)
        self.dropout_rate.setDecimals(2)
        self.dropout_rate.setValue(0.5)
        self.seed_dropout = self._seed_box(123)
        self.num_heads = QSpinBox()
        self.num_heads.setRange(1, 8)
        self.num_heads.setValue(2)
        self.seed_multihead = self._seed_box(123)
        # The fields' own tooltips; a problem with a field is added to it, never replaces it.
        self._field_tips = {
            self.query_combo: QUERY_TIP, self.d_out: D_OUT_TIP,
            self.seed_trainable: SEED_TRAINABLE_TIP, self.seed_causal: SEED_CAUSAL_TIP,
            self.dropout_rate: DROPOUT_TIP, self.seed_dropout: SEED_DROPOUT_TIP,
            self.num_heads: HEADS_TIP, self.seed_multihead: SEED_MULTIHEAD_TIP}
        for box, tip in self._field_tips.items():
            box.setToolTip(tip)
        self.pages = [
            StepPage([]),
            StepPage([("torch.manual_seed", self.seed_trainable)]),
            StepPage([("torch.manual_seed", self.seed_causal)]),
            StepPage([("dropout rate p", self.dropout_rate),
                      ("torch.manual_seed", self.seed_dropout)]),
            StepPage([("heads", self.num_heads), ("torch.manual_seed", self.seed_multihead)]),
        ]
        self.step_tabs = QTabWidget()
        for (_, _, title), page in zip(core.STEP_TITLES, self.pages):
            self.step_tabs.addTab(page, title)
        for index, tip in enumerate(STEP_TIPS):
            self.step_tabs.setTabToolTip(index, tip)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.step_tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(self.DEBOUNCE_MS)
        self._debounce.timeout.connect(self.recompute)
        self.table.itemChanged.connect(self._table_edited)
        for box in (self.d_out, self.seed_trainable, self.seed_causal, self.seed_dropout,
                    self.num_heads, self.seed_multihead):
            box.valueChanged.connect(self.schedule)
        self.dropout_rate.valueChanged.connect(self.schedule)
        self.query_combo.currentIndexChanged.connect(self.schedule)
        self.add_row.clicked.connect(self._add_row)
        self.remove_row.clicked.connect(self._remove_row)
        self.add_col.clicked.connect(self._add_col)
        self.remove_col.clicked.connect(self._remove_col)
        self.reset_button.clicked.connect(self.reset_to_book)
        self.step_tabs.currentChanged.connect(lambda _: self._render_current())
        models.current_changed.connect(self._ready)

        self._fill_table([list(v) for v in _BOOK_INPUTS], list(_BOOK_WORDS))
        self.query_combo.setCurrentIndex(1)
        if models.current is not None:  # torch is loaded: compute now
            self.recompute()

    @staticmethod
    def _cell_item(text: str, column: int) -> QTableWidgetItem:
        item = QTableWidgetItem(text)
        item.setToolTip(_cell_tip(column))
        return item

    @staticmethod
    def _seed_box(value: int) -> QSpinBox:
        box = QSpinBox()
        box.setRange(0, 2**31 - 1)
        box.setValue(value)
        return box

    # -- the table ------------------------------------------------------------------------------
    def _fill_table(self, values: list[list], words: list[str]) -> None:
        self._filling = True
        d_in = max((len(v) for v in values), default=0)
        self.table.setRowCount(len(values))
        self.table.setColumnCount(d_in + 1)
        self.table.setHorizontalHeaderLabels(["token"] + [f"d{i}" for i in range(d_in)])
        for r, (word, row) in enumerate(zip(words, values)):
            self.table.setItem(r, 0, self._cell_item(word, 0))
            for c in range(d_in):
                text = f"{row[c]:g}" if c < len(row) and isinstance(row[c], float) else \
                    (str(row[c]) if c < len(row) else "")
                self.table.setItem(r, c + 1, self._cell_item(text, c + 1))
        self._filling = False
        self._refresh_query_combo()

    def cells(self) -> tuple[list[str], list[list[str]]]:
        words, cells = [], []
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            words.append(item.text().strip() if item and item.text().strip() else f"x{r + 1}")
            row = []
            for c in range(1, self.table.columnCount()):
                cell = self.table.item(r, c)
                row.append(cell.text() if cell is not None else "")
            cells.append(row)
        return words, cells

    def set_cell(self, row: int, col: int, text: str) -> None:
        """Edit a number (col counts dimensions from 0) as a learner would."""
        item = self.table.item(row, col + 1)
        if item is None:
            item = self._cell_item("", col + 1)
            self.table.setItem(row, col + 1, item)
        item.setText(text)

    def _refresh_query_combo(self) -> None:
        words, _ = self.cells()
        current = self.query_combo.currentIndex()
        self.query_combo.blockSignals(True)
        self.query_combo.clear()
        self.query_combo.addItems([f"x^{i + 1} {w}" for i, w in enumerate(words)])
        self.query_combo.setCurrentIndex(min(max(current, 0), len(words) - 1))
        self.query_combo.blockSignals(False)

    def _table_edited(self, item) -> None:
        if self._filling:
            return
        if item.column() == 0:
            self._refresh_query_combo()
        self.schedule()

    def _add_row(self) -> None:
        words, cells = self.cells()
        self._fill_table(cells + [["0.5"] * (self.table.columnCount() - 1)],
                         words + [f"x{len(words) + 1}"])
        self.schedule()

    def _remove_row(self) -> None:
        words, cells = self.cells()
        if len(cells) > 1:
            self._fill_table(cells[:-1], words[:-1])
            self.schedule()

    def _add_col(self) -> None:
        words, cells = self.cells()
        self._fill_table([row + ["0.5"] for row in cells], words)
        self.schedule()

    def _remove_col(self) -> None:
        words, cells = self.cells()
        if cells and len(cells[0]) > 1:
            self._fill_table([row[:-1] for row in cells], words)
            self.schedule()

    def reset_to_book(self) -> None:
        for box, value in ((self.d_out, 2), (self.seed_trainable, 123), (self.seed_causal, 789),
                           (self.seed_dropout, 123), (self.num_heads, 2),
                           (self.seed_multihead, 123)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.dropout_rate.blockSignals(True)
        self.dropout_rate.setValue(0.5)
        self.dropout_rate.blockSignals(False)
        self._fill_table([list(v) for v in _BOOK_INPUTS], list(_BOOK_WORDS))
        self.query_combo.setCurrentIndex(1)
        self.schedule()

    def save(self) -> dict:
        """Every field as plain data (the cells as typed, even if invalid)."""
        words, cells = self.cells()
        return {"words": words, "cells": cells, "query": self.query_combo.currentIndex(),
                "d_out": self.d_out.value(), "seed_trainable": self.seed_trainable.value(),
                "seed_causal": self.seed_causal.value(),
                "dropout_rate": self.dropout_rate.value(),
                "seed_dropout": self.seed_dropout.value(), "num_heads": self.num_heads.value(),
                "seed_multihead": self.seed_multihead.value(),
                "step": self.step_tabs.currentIndex() + 1}

    def restore(self, state: dict) -> None:
        """Put back what `save` returned; anything malformed is skipped, never fatal."""
        cells, words = state.get("cells"), state.get("words")
        if (isinstance(cells, list) and isinstance(words, list) and cells
                and len(cells) == len(words) and len(cells) <= 64
                and all(isinstance(row, list) and 0 < len(row) <= 64 for row in cells)):
            self._fill_table([[str(c) for c in row] for row in cells], [str(w) for w in words])
        boxes = {"d_out": self.d_out, "seed_trainable": self.seed_trainable,
                 "seed_causal": self.seed_causal, "seed_dropout": self.seed_dropout,
                 "num_heads": self.num_heads, "seed_multihead": self.seed_multihead}
        for name, box in boxes.items():
            value = state.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                box.blockSignals(True)
                box.setValue(value)
                box.blockSignals(False)
        rate = state.get("dropout_rate")
        if isinstance(rate, (int, float)) and not isinstance(rate, bool):
            self.dropout_rate.blockSignals(True)
            self.dropout_rate.setValue(float(rate))
            self.dropout_rate.blockSignals(False)
        query = state.get("query")
        if isinstance(query, int) and 0 <= query < self.query_combo.count():
            self.query_combo.blockSignals(True)
            self.query_combo.setCurrentIndex(query)
            self.query_combo.blockSignals(False)
        step = state.get("step")
        if isinstance(step, int):
            self.show_step(step)
        self.schedule()

    # -- computing ------------------------------------------------------------------------------
    def schedule(self, *_args) -> None:
        self._debounce.start()

    def _ready(self, _entry) -> None:
        if self.steps is None:
            self.recompute()

    def _mark_cells(self, problems) -> None:
        self._filling = True
        for r in range(self.table.rowCount()):
            for c in range(1, self.table.columnCount()):
                item = self.table.item(r, c)
                if item is not None:
                    item.setData(Qt.ItemDataRole.BackgroundRole, None)  # the palette's
                    item.setToolTip(_cell_tip(c))
        for p in problems:
            cols = range(1, self.table.columnCount()) if p.col < 0 else [p.col + 1]
            for c in cols:
                item = self.table.item(p.row, c) if p.row >= 0 else None
                if item is not None:
                    item.setBackground(QColor(style.colours().bad_cell))
                    item.setToolTip(f"{p.message}\n\n{_cell_tip(c)}")
        self._filling = False

    def _set_field_problems(self, problems: dict[str, str]) -> None:
        boxes = {"d_out": (self.d_out, None), "dropout_rate": (self.dropout_rate, 3),
                 "num_heads": (self.num_heads, 4), "query_index": (self.query_combo, None)}
        for page in self.pages:
            page.field_problem.setText("")
        for name, (box, page) in boxes.items():
            bad = name in problems
            box.setStyleSheet(f"border: 2px solid {style.colours().error};" if bad else "")
            tip = self._field_tips[box]
            box.setToolTip(f"{problems[name]}\n\n{tip}" if bad else tip)
            if bad and page is not None:
                self.pages[page].field_problem.setText(problems[name])

    def _reject(self, messages: list[str]) -> None:
        self.problems = messages
        self.table_problem.setText("\n".join(messages))
        if self.steps is not None:
            self.stale.setText("The steps still show the last valid inputs; fix the field marked "
                               "in red to update them.")
        self.rejected.emit("; ".join(messages))

    def recompute(self) -> None:
        """Read every field; show the new steps, or say what is wrong and keep the old ones."""
        self._debounce.stop()
        if self.models.current is None and self.steps is None:
            return  # torch is still loading; _ready computes as soon as it is there
        words, cells = self.cells()
        values, problems = core.parse_inputs(cells, words)
        self._mark_cells(problems)
        if problems:
            self._set_field_problems({})
            self._reject([p.message for p in problems])
            return
        params = core.StepParams(
            inputs=values, words=words, query_index=max(0, self.query_combo.currentIndex()),
            d_out=self.d_out.value(), seed_trainable=self.seed_trainable.value(),
            seed_causal=self.seed_causal.value(), dropout_rate=self.dropout_rate.value(),
            seed_dropout=self.seed_dropout.value(), num_heads=self.num_heads.value(),
            seed_multihead=self.seed_multihead.value())
        field_problems = core.check_params(params)
        self._set_field_problems(field_problems)
        # A head count that does not divide d_out only concerns step 5: the other steps still
        # follow the edit, and step 5 keeps its last valid result.
        heads_only = set(field_problems) == {"num_heads"} and self.steps is not None
        if field_problems and not heads_only:
            self._reject(list(field_problems.values()))
            return
        try:
            steps = core.compute_steps(params, multihead=not heads_only)
        except ValueError as exc:
            self._reject([str(exc)])
            return
        dirty = set(range(len(steps)))
        if heads_only:
            steps.append(self.steps[4])
        self.steps, self.params = steps, params
        self.table_problem.setText("")
        self.stale.setText("")
        self._dirty = dirty
        self._render_current()
        if heads_only:
            self._reject([field_problems["num_heads"]])
            self.stale.setText("Step 5 still shows the last valid heads and d_out; the other "
                               "steps follow your edit.")
            return
        self.problems = []
        self.computed.emit()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._render_current()

    def _render_current(self) -> None:
        # Drawing waits until the tab is on screen: the heatmaps are the costly part.
        index = self.step_tabs.currentIndex()
        if self.steps is None or index not in self._dirty or not self.isVisible():
            return
        self._dirty.discard(index)
        self.pages[index].show_step(self.steps[index], self.params.query_index,
                                    len(self.params.inputs))

    def render_all(self) -> None:
        for index in list(self._dirty):
            self._dirty.discard(index)
            self.pages[index].show_step(self.steps[index], self.params.query_index,
                                        len(self.params.inputs))

    def show_step(self, number: int) -> None:
        if 1 <= number <= len(self.pages):
            self.step_tabs.setCurrentIndex(number - 1)


# The book's example; duplicated from model.chapter3 so this module does not import torch.
_BOOK_WORDS = ("Your", "journey", "starts", "with", "one", "step")
_BOOK_INPUTS = ((0.43, 0.15, 0.89), (0.55, 0.87, 0.66), (0.57, 0.85, 0.64),
                (0.22, 0.58, 0.33), (0.77, 0.25, 0.10), (0.05, 0.80, 0.55))


# =================================================================================================
class AttentionArea(AreaWidget):
    """The Attention area: the two tabs, cross-link state and screenshot preparation."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.model_tab = ModelAttentionTab(ctx.models)
        self.steps_tab = StepByStepTab(ctx.models)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.model_tab, "Your text through the model")
        self.tabs.addTab(self.steps_tab, "Chapter 3 step by step")
        for index, tip in enumerate(AREA_TAB_TIPS):
            self.tabs.setTabToolTip(index, tip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    MODEL_KEYS = ("text", "layer", "head", "view", "log")

    def apply_state(self, payload: dict) -> None:
        """Open in a given state (a card's "Try it", or the inputs saved at the last exit).

        {"step": 1..5} opens the step-by-step at that step; {"text": ...}, {"layer": i,
        "head": j or None (the average)}, {"view": "heatmap" | "grid" | "head_view" |
        "pipeline"}, {"log": bool} open the model tab; {"steps": {...}} restores the
        step-by-step's inputs (from `save_state`); {"tab": "model" | "steps"} picks the tab.
        Unknown keys and values of the wrong type are ignored.
        """
        if not isinstance(payload, dict) or not payload:
            return
        if isinstance(payload.get("steps"), dict):
            self.steps_tab.restore(payload["steps"])
        tab = self.model_tab
        if isinstance(payload.get("text"), str):
            tab.set_text(payload["text"])
        if isinstance(payload.get("log"), bool):
            tab.log_check.setChecked(payload["log"])
        layer = payload.get("layer")
        head = payload.get("head", "keep")
        layer_ok = layer is None or isinstance(layer, int)
        head_ok = head is None or head == "keep" or isinstance(head, int)
        if ("layer" in payload or "head" in payload) and layer_ok and head_ok:
            tab.select(layer, head)
        if payload.get("view") in VIEW_KEYS:
            tab.show_view(payload["view"])
        if "step" in payload:
            self.tabs.setCurrentWidget(self.steps_tab)
            try:
                self.steps_tab.show_step(int(payload["step"]))
            except (TypeError, ValueError):
                pass
        elif payload.get("tab") == "steps":
            self.tabs.setCurrentWidget(self.steps_tab)
        elif payload.get("tab") == "model" or any(k in payload for k in self.MODEL_KEYS):
            self.tabs.setCurrentWidget(self.model_tab)

    def save_state(self) -> dict:
        """The learner's inputs, as a payload `apply_state` accepts (saved at exit)."""
        tab = self.model_tab
        return {
            "tab": "steps" if self.tabs.currentWidget() is self.steps_tab else "model",
            "text": tab.text_edit.toPlainText()[:20_000],
            "layer": tab.layer, "head": tab.head, "log": tab.log_check.isChecked(),
            "view": VIEW_KEYS[max(0, tab.views.currentIndex())],
            "steps": self.steps_tab.save(),
        }

    def prepare_screenshot(self, timeout_s: float = 10.0) -> None:
        """Show the default text's attention heatmap, drawn and ready."""
        self.tabs.setCurrentWidget(self.model_tab)
        self.model_tab.show_view("heatmap")
        if self.model_tab.text_edit.toPlainText().strip() == "":
            self.model_tab.set_text(DEFAULT_TEXT)
        deadline = time.monotonic() + timeout_s
        while self.model_tab.is_busy() and time.monotonic() < deadline:
            QCoreApplication.processEvents()
            time.sleep(0.01)
        if self.model_tab.run is not None:
            self.model_tab.select(*core.most_focused_head(self.model_tab.run))
        self.model_tab.render_all()

    def shutdown(self) -> None:
        self.model_tab.shutdown()
