"""The Attention lab's first tab (chapter 3 on the loaded model): the learner's text runs
through the current GPT on a worker with every layer's attention captured, and four views show
it: the chosen head's weights as a heatmap, every layer x head as thumbnails, a bertviz-style
head view, and the chosen head's chapter 3 pipeline (Q, K, V, scores, softmax weights).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel,
                               QPlainTextEdit, QScrollArea, QTabWidget, QVBoxLayout, QWidget)

from studyapp.shell import style
from studyapp.areas.attention import core
from studyapp.areas.attention.tips import (ALL_HEADS_TIP, HEAD_TIP, HEATMAP_SAVE_TIP, LAYER_TIP,
                                           LOG_TIP, TEXT_TIP, VIEW_TIPS)
from studyapp.shell.jobs import LatestJob
from studyapp.widgets.attention_views import AttentionHeatmap, HeadGrid, HeadView
from studyapp.widgets.forms import add_tabs
from studyapp.widgets.heatmap import HeatmapWidget

# A passage of The Verdict: the bundled model has read it, so its heads have learned something.
DEFAULT_TEXT = ("I had always thought Jack Gisburn rather a cheap genius--though a good fellow "
                "enough--so it was no great surprise to me to hear that, in the height of his "
                "glory, he had dropped his painting.")
LOADING = "Loading the model\u2026"
VIEW_KEYS = ("heatmap", "grid", "head_view", "pipeline")


def _notice_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label



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
        # Typing restarts the wait; a run made out of date by an edit is dropped.
        self._job = LatestJob(self, delay_ms=self.DEBOUNCE_MS, name="attention-capture")
        self._job.result.connect(self._on_run)
        self._job.failed.connect(self._on_failed)
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
        self.heatmap = AttentionHeatmap(title="", colormap="viridis", max_label_chars=14)
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
        add_tabs(self.views, zip((self.heatmap, self.grid, head_page, pipeline_page),
                                 ("Heatmap", "All heads", "Head view", "Q, K, V \u2192 weights"),
                                 VIEW_TIPS))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.text_edit)
        layout.addWidget(self.notice)
        layout.addLayout(controls)
        layout.addWidget(self.info)
        layout.addWidget(self.views, 1)

        self.text_edit.textChanged.connect(lambda: self.request_run(self.DEBOUNCE_MS))
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
        self.text_edit.setPlainText(text)  # asks for a run after the typing pause
        if run_now:
            self.request_run()

    def _model_changed(self, _entry) -> None:
        self.request_run()

    def request_run(self, delay_ms: int = 0) -> None:
        """Run the current text through the current model after `delay_ms` (the typing
        pause); the newest request wins over a run under way."""
        entry = self.models.current
        if entry is None:
            self._job.cancel()
            self._show_message(LOADING)
            return
        prepared = core.prepare_text(self.text_edit.toPlainText(), self.models.tokenizer,
                                     entry.config.context_length)
        if not prepared.ok:
            self._job.cancel()
            self._set_notice([])
            self._show_message(prepared.problem)
            return
        model, name = entry.model, entry.name
        ids, labels, notices = prepared.ids, prepared.labels, prepared.notices

        def job(token):
            yield core.run_attention(model, ids, labels, model_name=name, notices=notices)

        self._job.request(job, delay_ms)
        self.info.setText(f"Running {name} on {len(ids)} tokens\u2026")

    def is_busy(self) -> bool:
        return self._job.is_busy()

    def _on_run(self, run) -> None:
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

    def shutdown(self) -> None:
        self._job.shutdown()

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
        specs = [("queries", 0, 0, "CET-D1A", True), ("keys", 0, 1, "CET-D1A", True),
                 ("values", 0, 2, "CET-D1A", True), ("scores", 1, 0, "CET-D1A", True),
                 ("scaled", 1, 1, "CET-D1A", True), ("masked", 1, 2, "CET-D1A", True),
                 ("weights", 1, 3, "viridis", False)]
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

