"""The Embeddings lab (chapter 2, sections 2.7 and 2.8): the vectors a GPT starts from.

For the learner's text: token embeddings, positional embeddings and their sum (the input
embeddings) as heatmaps with the tokens as row labels, from the loaded model; or, in "book demo"
mode, from embedding layers built as the chapter builds them (torch.manual_seed(123), a chosen
vocabulary size and dimension: 6 x 3 shows the book's table). Further tabs: the cosine similarity
between the text's tokens, the nearest neighbours of a token in the whole vocabulary, a PCA
projection of the token vectors (optionally with the most frequent tokens of The Verdict), and
the positional embeddings over the whole context as one heatmap and one projection.

The computing is in `embeddings_core` (no Qt); torch is imported only inside functions. Each tab
is computed when it is shown; every plot saves itself to PNG ("Save all PNGs" saves them all).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Qt, Signal
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QFileDialog, QGridLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QRadioButton,
                               QSizePolicy, QSpinBox, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from studyapp.areas.embeddings import core
from studyapp.tokens import sanitize
from studyapp.widgets.heatmap import HeatmapWidget
from studyapp.widgets.text_box import FileDropTextEdit
from studyapp.widgets.projection_plot import PointGroup, ProjectionPlot
from studyapp.shell import style
from studyapp.shell.area import MAX_SAVED_CHARS, AreaWidget
from studyapp.widgets.forms import push_button

DEFAULT_TEXT = "Your journey starts with one step"
DEBOUNCE_MS = 200
FREQUENT_N = 100
TAB_KEYS = ("embeddings", "cosine", "neighbours", "projection", "positional")
TAB_TIPS = (
    "Token, positional and input embeddings of your text (chapter 2, sections 2.7 and 2.8)",
    "How alike the text's token vectors are, by cosine similarity; similar words get nearby "
    "vectors (chapter 2, section 2.1)",
    "The vocabulary's tokens whose embedding vectors point most nearly the same way as one of "
    "yours (embedding space: chapter 2, section 2.1)",
    "Token embeddings projected to two dimensions with PCA, like the book's picture of an "
    "embedding space (chapter 2, section 2.1)",
    "The positional embedding of every position in the context (chapter 2, section 2.8)",
)
PANEL_KEYS = ("view", "cosine_of", "frequent")  # inputs that live on the lazily built tabs
FREQUENT_TIP = (f"Add the {FREQUENT_N} most frequent tokens of The Verdict, the story chapter 2 "
                "tokenizes (section 2.2), to the projection of token embeddings (section 2.7)")
_DIVERGING = "diverging"  # the palette's map for signed values, centred on zero


class EmbeddingsLab(AreaWidget):
    """The Embeddings area. `rendered` fires after the visible tab has been drawn."""

    rendered = Signal()

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.embeddings: core.TextEmbeddings | None = None
        self.source: core.EmbeddingSource | None = None
        self._dirty_tabs: set[int] = set(range(len(TAB_KEYS)))
        self._pending = True
        self._norms_cache: tuple[int, object] | None = None
        self._positions_cache: dict = {}
        self._frequent: list[int] | None = None
        self._demo_cache: tuple | None = None
        self._built = False
        self._file_notices: list[str] = []
        self._pending_panels: dict = {}  # apply_state's PANEL_KEYS, set once the tabs exist
        self._pending_token: tuple[str, object] | None = None  # ("index"|"label", value)

        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh)

        self._build()
        ctx.models.current_changed.connect(self._on_model_changed)
        self.editor.textChanged.connect(self._schedule)
        self.model_radio.toggled.connect(self._on_mode_changed)
        for spin in (self.demo_vocab, self.demo_dim, self.demo_context):
            spin.valueChanged.connect(self._schedule)
        self.demo_ids.textChanged.connect(self._schedule)
        self.tabs.currentChanged.connect(lambda _i: self._render_current_tab())
        self.demo_box.setVisible(False)

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.editor = FileDropTextEdit(DEFAULT_TEXT)
        self.editor.setPlaceholderText("Type a sentence (or drop a text file): its tokens' "
                                       "embedding vectors are shown below.")
        self.editor.file_dropped.connect(self.open_file)
        self.editor.setMaximumHeight(52)
        self.editor.setToolTip("Your text: each token picks its row of the token embedding "
                               "matrix (chapter 2, section 2.7) and its position adds a "
                               "positional embedding (section 2.8)")

        self.model_radio = QRadioButton("Loaded model")
        self.model_radio.setChecked(True)
        self.model_radio.setToolTip("The loaded model's tok_emb and pos_emb layers (the GPT "
                                    "model: chapter 4, section 4.6), learnt in training")
        self.demo_radio = QRadioButton("Book demo")
        self.demo_radio.setToolTip("torch.manual_seed(123), then torch.nn.Embedding(vocabulary, "
                                   "dimension) and the positional torch.nn.Embedding(context, "
                                   "dimension), as chapter 2 builds them (sections 2.7 and "
                                   "2.8)")
        self.model_name = QLabel()
        # a long model name gives way rather than widening the window (full text on hover)
        self.model_name.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.demo_vocab = QSpinBox(minimum=1, maximum=50257, value=6)
        self.demo_dim = QSpinBox(minimum=1, maximum=1024, value=3)
        self.demo_context = QSpinBox(minimum=1, maximum=1024, value=4)
        self.demo_ids = QLineEdit(", ".join(str(i) for i in core.BOOK_IDS))
        self.demo_ids.setPlaceholderText("token IDs, e.g. 2, 3, 5, 1")
        self.demo_ids.setMinimumWidth(70)
        self.demo_ids.setMaximumWidth(160)
        self.demo_vocab.setToolTip("Vocabulary size: rows of torch.nn.Embedding(vocab_size, "
                                   "output_dim); the book's small example has 6 (chapter 2, "
                                   "section 2.7)")
        self.demo_dim.setToolTip("Embedding dimension (output_dim): numbers per vector; 3 in "
                                 "section 2.7's example, 256 in section 2.8 (chapter 2)")
        self.demo_context.setToolTip("Context length: rows of the positional embedding layer, "
                                     "one vector per position (chapter 2, section 2.8)")
        self.demo_ids.setToolTip("Token IDs to look up, each picking a row of the weight "
                                 "matrix; section 2.7 uses 2, 3, 5, 1 (chapter 2)")
        self.use_text_ids = push_button(
            "Text's IDs",
            "Use the GPT-2 token IDs of the text above (byte pair encoding, chapter 2, section "
            "2.5); sets the vocabulary to 50,257", self._use_text_ids)
        self.export_all_button = push_button(
            "Save all PNGs\u2026",
            "Save every plot and heatmap of this lab to a folder as PNG images (embeddings: "
            "chapter 2, sections 2.7 and 2.8)", lambda: self.export_all())
        row = QHBoxLayout()
        row.addWidget(QLabel("Vectors from:"))
        row.addWidget(self.model_radio)
        row.addWidget(self.demo_radio)
        row.addSpacing(12)
        row.addWidget(self.model_name, 1)
        self.demo_box = QWidget()
        demo_row = QHBoxLayout(self.demo_box)
        demo_row.setContentsMargins(0, 0, 0, 0)
        for label, widget in (("vocab", self.demo_vocab), ("dimension", self.demo_dim),
                              ("context", self.demo_context), ("IDs", self.demo_ids)):
            demo_row.addWidget(QLabel(label))
            demo_row.addWidget(widget)
        demo_row.addWidget(self.use_text_ids)
        demo_row.addStretch(1)
        row.addWidget(self.export_all_button)

        self.notice = QLabel()
        self.notice.setWordWrap(True)
        style.on_change(self.notice, lambda c: self.notice.setStyleSheet(style.notice_css(c)))
        self.notice.hide()

        self.tabs = QTabWidget()  # pages are built on first show (_ensure_built)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.editor)
        layout.addLayout(row)
        layout.addWidget(self.demo_box)
        layout.addWidget(self.notice)
        layout.addWidget(self.tabs, 1)

    def _ensure_built(self) -> None:
        """Build the tabs' plots the first time they are needed.

        Eight pyqtgraph views take the better part of a second to make; building them when the
        area is first shown keeps that off the app's start-up.
        """
        if self._built:
            return
        self._built = True
        self._build_panels()
        for index, tip in enumerate(TAB_TIPS):
            self.tabs.setTabToolTip(index, tip)
        self._on_mode_changed()
        self._apply_panel_state()

    def _build_panels(self) -> None:
        # Embeddings: weights (demo only), token, positional, input
        self.weights_map = HeatmapWidget(title="Embedding weight matrix", colormap=_DIVERGING,
                                         symmetric=True, row_axis_title="token ID",
                                         col_axis_title="dimension")
        self.token_map = HeatmapWidget(title="Token embeddings", colormap=_DIVERGING,
                                       symmetric=True, col_axis_title="dimension")
        self.pos_map = HeatmapWidget(title="Positional embeddings", colormap=_DIVERGING,
                                     symmetric=True, col_axis_title="dimension")
        self.input_map = HeatmapWidget(title="Input embeddings",
                                       colormap=_DIVERGING, symmetric=True,
                                       col_axis_title="dimension")
        emb_tab = QWidget()
        emb_layout = QVBoxLayout(emb_tab)
        emb_layout.setContentsMargins(4, 4, 4, 4)
        grid = QGridLayout()
        self._emb_grid = grid
        self._emb_caption = QLabel()
        self._emb_caption.setWordWrap(True)
        emb_layout.addWidget(self._emb_caption)
        emb_layout.addLayout(grid, 1)
        self.tabs.addTab(emb_tab, "Embeddings")

        # Cosine similarity
        cos_tab = QWidget()
        self.cosine_of = QComboBox()
        self.cosine_of.addItems(["token embeddings", "input embeddings"])
        self.cosine_of.setToolTip("Compare the token embeddings (chapter 2, section 2.7) or "
                                  "the input embeddings, token + position (section 2.8)")
        self.cosine_of.currentIndexChanged.connect(lambda _i: self._mark_dirty(1))
        self.cosine_map = HeatmapWidget(title="Cosine similarity", colormap=_DIVERGING,
                                        symmetric=True, value_format="{:.3f}")
        self.cosine_map.set_levels(-1.0, 1.0)
        self.cosine_map.clicked.connect(self._on_cosine_clicked)
        cos_help = QLabel("of the text's tokens (1: same direction, 0: unrelated, "
                          "-1: opposite). Click a cell to see its row token's neighbours.")
        cos_help.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(QLabel("Cosine similarity between the"))
        top.addWidget(self.cosine_of)
        top.addWidget(cos_help, 1)
        cos_layout = QVBoxLayout(cos_tab)
        cos_layout.addLayout(top)
        cos_layout.addWidget(self.cosine_map, 1)
        self.tabs.addTab(cos_tab, "Cosine similarity")

        # Nearest neighbours
        nn_tab = QWidget()
        self.nn_token = QComboBox()
        self.nn_token.setMinimumWidth(180)
        self.nn_token.setToolTip("A token of your text: its nearest neighbours by cosine "
                                 "similarity among all rows of the token embedding matrix "
                                 "(chapter 2, section 2.7)")
        self.nn_token.currentIndexChanged.connect(lambda _i: self._render_neighbours())
        self.nn_table = QTableWidget(0, 4)
        self.nn_table.setHorizontalHeaderLabels(["rank", "token", "ID", "cosine"])
        self.nn_table.verticalHeader().setVisible(False)
        self.nn_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.nn_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.nn_note = QLabel()
        self.nn_note.setWordWrap(True)
        nn_top = QHBoxLayout()
        nn_top.addWidget(QLabel("Token:"))
        nn_top.addWidget(self.nn_token)
        nn_top.addWidget(self.nn_note, 1)
        nn_layout = QVBoxLayout(nn_tab)
        nn_layout.addLayout(nn_top)
        nn_layout.addWidget(self.nn_table, 1)
        self.tabs.addTab(nn_tab, "Nearest neighbours")

        # Projection
        proj_tab = QWidget()
        self.add_frequent = QCheckBox(f"Add the {FREQUENT_N} most frequent tokens of The "
                                      "Verdict")
        self.add_frequent.setToolTip(FREQUENT_TIP)
        self.add_frequent.toggled.connect(lambda _c: self._mark_dirty(3))
        self.projection = ProjectionPlot(title="Token embeddings projected to 2-D (PCA)")
        proj_layout = QVBoxLayout(proj_tab)
        proj_layout.addWidget(self.add_frequent)
        proj_layout.addWidget(self.projection, 1)
        self.tabs.addTab(proj_tab, "Projection")

        # Positions
        pos_tab = QWidget()
        self.positions_map = HeatmapWidget(title="Positional embeddings, every position",
                                           colormap=_DIVERGING, symmetric=True,
                                           row_axis_title="position",
                                           col_axis_title="dimension")
        self.positions_plot = ProjectionPlot(title="Positional embeddings projected to 2-D")
        self.positions_caption = QLabel()
        self.positions_caption.setWordWrap(True)
        pos_row = QHBoxLayout()
        pos_row.addWidget(self.positions_map, 3)
        pos_row.addWidget(self.positions_plot, 2)
        pos_layout = QVBoxLayout(pos_tab)
        pos_layout.addWidget(self.positions_caption)
        pos_layout.addLayout(pos_row, 1)
        self.tabs.addTab(pos_tab, "Positions")

        for panel, what in (
                (self.weights_map, "the embedding weight matrix (chapter 2, section 2.7)"),
                (self.token_map, "the token embeddings (chapter 2, section 2.7)"),
                (self.pos_map, "the positional embeddings (chapter 2, section 2.8)"),
                (self.input_map, "the input embeddings, token + positional (chapter 2, "
                                 "section 2.8)"),
                (self.cosine_map, "the cosine similarities (chapter 2, section 2.1)"),
                (self.projection, "the projection of the token embeddings (chapter 2, "
                                  "section 2.1)"),
                (self.positions_map, "every positional embedding (chapter 2, section 2.8)"),
                (self.positions_plot, "the projection of the positional embeddings (chapter 2, "
                                      "section 2.8)")):
            panel.save_button.setToolTip(f"Save {what} as a PNG image")

    # -- public --------------------------------------------------------------------------------
    def apply_state(self, payload: dict) -> None:
        """{"text", "book_demo", "vocab_size", "dim", "context", "ids", "view", "token" (a
        token's text) or "token_index", "cosine_of": "token"|"input", "frequent": bool}. While
        the lab is hidden (a restore at start) only the inputs are set: the tabs are built and
        computed when it is first shown."""
        if not isinstance(payload, dict):
            return
        if "text" in payload:
            self.editor.setPlainText(str(payload["text"]))
        if "book_demo" in payload:
            (self.demo_radio if payload["book_demo"] else self.model_radio).setChecked(True)
        for key, spin in (("vocab_size", self.demo_vocab), ("dim", self.demo_dim),
                          ("context", self.demo_context)):
            if key in payload:
                spin.setValue(int(payload[key]))
        if "ids" in payload:
            ids = payload["ids"]
            self.demo_ids.setText(ids if isinstance(ids, str) else ", ".join(map(str, ids)))
        self._pending_panels.update({k: payload[k] for k in PANEL_KEYS if k in payload})
        if isinstance(payload.get("token_index"), int):
            self._pending_token = ("index", payload["token_index"])
        elif payload.get("token") is not None:
            self._pending_token = ("label", str(payload["token"]))
        if self._built:
            self._apply_panel_state()
        if self.isVisible():
            self._ensure_built()
            self.refresh(force=True)

    def save_state(self) -> dict:
        """The learner's inputs, as a payload `apply_state` accepts (saved at exit; long
        texts are cut to MAX_SAVED_CHARS characters)."""
        state = {
            "text": self.editor.toPlainText()[:MAX_SAVED_CHARS],
            "book_demo": self.demo_radio.isChecked(),
            "vocab_size": self.demo_vocab.value(),
            "dim": self.demo_dim.value(),
            "context": self.demo_context.value(),
            "ids": self.demo_ids.text()[:MAX_SAVED_CHARS],
        }
        if self._built:
            state.update(view=TAB_KEYS[max(0, self.tabs.currentIndex())],
                         cosine_of="input" if self.cosine_of.currentIndex() == 1 else "token",
                         frequent=self.add_frequent.isChecked(),
                         token_index=max(0, self.nn_token.currentIndex()))
        else:  # never shown this session: what was restored is kept as it came
            state.update(self._pending_panels)
            if self._pending_token is not None and self._pending_token[0] == "index":
                state["token_index"] = self._pending_token[1]
        return state

    def _apply_panel_state(self) -> None:
        pending, self._pending_panels = self._pending_panels, {}
        if pending.get("view") in TAB_KEYS:
            self.tabs.setCurrentIndex(TAB_KEYS.index(pending["view"]))
        if pending.get("cosine_of") in ("token", "input"):
            self.cosine_of.setCurrentIndex(1 if pending["cosine_of"] == "input" else 0)
        if isinstance(pending.get("frequent"), bool):
            self.add_frequent.setChecked(pending["frequent"])

    def _apply_pending_token(self) -> None:
        """Choose the neighbours' token asked for by apply_state, once the text is embedded."""
        if self._pending_token is None or self.embeddings is None:
            return
        kind, value = self._pending_token
        self._pending_token = None
        if kind == "index":
            if 0 <= value < self.nn_token.count():
                self.nn_token.setCurrentIndex(value)
            return
        labels = [label.split(": ", 1)[1] for label in self.embeddings.labels]
        for i, label in enumerate(labels):
            if label.replace("\u00b7", " ").strip() == value.strip():
                self.nn_token.setCurrentIndex(i)
                break

    def open_file(self, path: str | Path) -> bool:
        """Use a text file's contents as the text (invalid UTF-8 is reported, not hidden)."""
        from studyapp.tokens import MAX_FILE_BYTES, decode_file_bytes

        path = Path(path)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                self._set_notices([f"{path.name} is too large to open here."])
                return False
            data = path.read_bytes()
        except OSError as exc:
            self._set_notices([f"Could not read {path}: {exc.strerror or exc}"])
            return False
        text, notices = decode_file_bytes(data, path.name)
        self._file_notices = notices
        self.editor.setPlainText(text)
        return True

    def prepare_screenshot(self) -> None:
        self.apply_state({"text": DEFAULT_TEXT, "book_demo": False, "view": "embeddings"})

    def shutdown(self) -> None:
        self._timer.stop()

    # -- state ---------------------------------------------------------------------------------
    def _on_mode_changed(self, *_args) -> None:
        demo = self.demo_radio.isChecked()
        self.demo_box.setVisible(demo)
        if not self._built:
            self._schedule()
            return
        # Model: three heatmaps side by side. Demo: the weight matrix too, in a 2 x 2 grid.
        for panel in (self.weights_map, self.token_map, self.pos_map, self.input_map):
            self._emb_grid.removeWidget(panel)
        if demo:
            places = [(self.weights_map, 0, 0), (self.token_map, 0, 1), (self.pos_map, 1, 0),
                      (self.input_map, 1, 1)]
        else:
            places = [(self.token_map, 0, 0), (self.pos_map, 0, 1), (self.input_map, 0, 2)]
        for panel, r, c in places:
            self._emb_grid.addWidget(panel, r, c)
        self.weights_map.setVisible(demo)
        self._schedule()

    def _on_model_changed(self, _entry) -> None:
        self._norms_cache = None
        if self.model_radio.isChecked():
            self._schedule()

    def _schedule(self) -> None:
        self._pending = True
        self._timer.start()

    def showEvent(self, event) -> None:  # noqa: N802
        self._ensure_built()
        super().showEvent(event)
        if self._pending:
            self._timer.start()

    def _mark_dirty(self, tab: int) -> None:
        self._dirty_tabs.add(tab)
        if self.tabs.currentIndex() == tab:
            self._render_current_tab()

    def _use_text_ids(self) -> None:
        from model.tokenizer import get_tokenizer

        text, _ = sanitize(self.editor.toPlainText())
        ids = get_tokenizer().encode(text)
        self.demo_vocab.setValue(50257)
        self.demo_ids.setText(", ".join(str(i) for i in ids[:1024]))

    def _all_panels(self):
        return [self.weights_map, self.token_map, self.pos_map, self.input_map, self.cosine_map,
                self.projection, self.positions_map, self.positions_plot]

    def _say(self, text: str) -> None:
        """Put the same message on every panel (loading, empty input, an error)."""
        for panel in self._all_panels():
            panel.show_message(text)
        self._emb_caption.setText("")
        self.nn_table.setRowCount(0)
        self.nn_token.blockSignals(True)
        self.nn_token.clear()
        self.nn_token.blockSignals(False)
        self.nn_note.setText(text)

    def _set_notices(self, notices: list[str]) -> None:
        notices = [n for n in notices if n]
        self.notice.setText("\n".join(notices))
        self.notice.setVisible(bool(notices))

    # -- computing -----------------------------------------------------------------------------
    def _make_source(self) -> core.EmbeddingSource | None:
        if self.model_radio.isChecked():
            entry = self.ctx.models.current
            if entry is None:
                self.model_name.setText("(loading\u2026)")
                return None
            self.model_name.setText(f"({entry.name}: vocabulary {entry.config.vocab_size:,}, "
                                    f"dimension {entry.config.emb_dim})")
            self.model_name.setToolTip(entry.describe())
            return core.model_source(entry.model, entry.name)
        self.model_name.setText("")  # the demo does not use the loaded model
        key = (self.demo_vocab.value(), self.demo_dim.value(), self.demo_context.value())
        if self._demo_cache is None or self._demo_cache[0] != key:
            self._demo_cache = (key, core.book_demo_source(*key))
        return self._demo_cache[1]

    def _text_ids(self) -> tuple[list[int], list[str]]:
        from model.tokenizer import get_tokenizer

        text, problem = sanitize(self.editor.toPlainText())
        return get_tokenizer().encode(text), [problem] if problem else []

    def _demo_id_list(self) -> tuple[list[int] | None, str | None]:
        from studyapp.tokens import parse_ids

        raw = self.demo_ids.text()
        if not raw.strip():
            return None, "Type token IDs for the book demo (e.g. 2, 3, 5, 1)."
        ids, problems = parse_ids(raw)
        if problems:
            return None, "; ".join(problems)
        return ids, None

    def refresh(self, force: bool = False) -> None:
        """Recompute the embeddings of the text and redraw the visible tab."""
        if not self.isVisible() and not force:
            return  # stays pending; showEvent restarts the timer
        self._ensure_built()
        self._timer.stop()
        self._pending = False
        self._dirty_tabs = set(range(len(TAB_KEYS)))
        self.embeddings = None
        try:
            source = self._make_source()
        except ValueError as exc:
            self.source = None
            self._set_notices([])
            self._say(f"The book demo cannot be built: {exc}.")
            self.rendered.emit()
            return
        self.source = source
        if source is None:
            self._set_notices([])
            self._say("Loading model\u2026 the embeddings appear as soon as it is ready.")
            self.rendered.emit()
            return
        notices: list[str] = []
        if self.model_radio.isChecked():
            ids, notices = self._text_ids()
            if not ids:
                self._set_notices([])
                self._say("Type some text above (a sentence is enough): each of its tokens "
                          "becomes a row of numbers here.")
                self.rendered.emit()
                return
        else:
            ids, problem = self._demo_id_list()
            if ids is None:
                self._set_notices([])
                self._say(problem)
                self.rendered.emit()
                return
        try:
            self.embeddings = core.embed(source, ids)
        except ValueError as exc:
            self._set_notices([])
            self._say(f"{exc}. Raise the vocabulary size or use smaller IDs.")
            self.rendered.emit()
            return
        file_notices, self._file_notices = self._file_notices, []
        self._set_notices(file_notices + notices + self.embeddings.notices)
        self._fill_token_choice()
        self._apply_pending_token()
        self._render_current_tab()

    def _fill_token_choice(self) -> None:
        previous = self.nn_token.currentIndex()
        self.nn_token.blockSignals(True)
        self.nn_token.clear()
        self.nn_token.addItems(self.embeddings.labels)
        if 0 <= previous < self.nn_token.count():
            self.nn_token.setCurrentIndex(previous)
        self.nn_token.blockSignals(False)

    def _render_current_tab(self) -> None:
        index = self.tabs.currentIndex()
        if self.embeddings is None or index not in self._dirty_tabs:
            return
        self._dirty_tabs.discard(index)
        [self._render_embeddings, self._render_cosine, self._render_neighbours,
         self._render_projection, self._render_positions][index]()
        self.rendered.emit()

    # -- tabs ----------------------------------------------------------------------------------
    def _render_embeddings(self) -> None:
        e, s = self.embeddings, self.source
        t, d = e.token.shape
        if self.demo_radio.isChecked():
            weights = s.tok_weight.numpy()
            if weights.shape[0] <= 2048:
                self.weights_map.set_matrix(
                    weights, [str(i) for i in range(weights.shape[0])], None,
                    title=f"Embedding weight matrix ({weights.shape[0]} x {d})")
            else:
                self.weights_map.show_message(
                    f"The weight matrix has {weights.shape[0]:,} rows, too many to draw; the "
                    "token embeddings are its rows for the IDs.")
        self.token_map.set_matrix(e.token, e.labels, None,
                                  title=f"Token embeddings ({t} x {d})")
        self.pos_map.set_matrix(e.positional, [str(i) for i in range(t)], None,
                                title=f"Positional embeddings ({t} x {d})")
        self.input_map.set_matrix(e.input, e.labels, None,
                                  title=f"Input embeddings ({t} x {d})")
        if self.demo_radio.isChecked():
            caption = (f"Book demo: torch.manual_seed(123), then torch.nn.Embedding"
                       f"({s.vocab_size}, {d}) for tokens and torch.nn.Embedding"
                       f"({s.context_length}, {d}) for positions. Row i of the weight matrix "
                       "is the vector of token ID i; the token embeddings are the rows the IDs "
                       "pick; input = token + positional.")
        else:
            caption = (f"Each of the {t} token(s) is a row of {d} numbers looked up in "
                       f"{s.name}'s tok_emb; pos_emb adds one vector per position; their sum "
                       "is what the first transformer block receives. Hover for values.")
        self._emb_caption.setText(caption)

    def _render_cosine(self) -> None:
        e = self.embeddings
        use_input = self.cosine_of.currentIndex() == 1
        matrix = core.cosine_matrix(e.input if use_input else e.token)
        kind = "input" if use_input else "token"
        self.cosine_map.set_matrix(matrix, e.labels, e.labels,
                                   title=f"Cosine similarity of the {kind} embeddings "
                                         f"({len(e.ids)} x {len(e.ids)})")

    def _on_cosine_clicked(self, row: int, _col: int) -> None:
        if self.embeddings is not None and 0 <= row < len(self.embeddings.ids):
            self.nn_token.setCurrentIndex(row)
            self.tabs.setCurrentIndex(TAB_KEYS.index("neighbours"))

    def _render_neighbours(self) -> None:
        e, s = self.embeddings, self.source
        if e is None or s is None:
            return
        row = max(0, self.nn_token.currentIndex())
        if row >= len(e.ids):
            return
        token_id = e.ids[row]
        key = id(s.tok_weight)
        if self._norms_cache is None or self._norms_cache[0] != key:
            self._norms_cache = (key, core.row_norms(s))
        neighbours = core.nearest_neighbours(s, token_id, k=10, norms=self._norms_cache[1])
        self.nn_table.setRowCount(len(neighbours))
        for r, n in enumerate(neighbours):
            for c, value in enumerate((str(r + 1), n.label, str(n.id), f"{n.cosine:.4f}")):
                item = QTableWidgetItem(value)
                if c != 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.nn_table.setItem(r, c, item)
        trained = "" if self.model_radio.isChecked() and \
            (self.ctx.models.current and self.ctx.models.current.source != "untrained") else \
            " These vectors are random (untrained), so the neighbours are arbitrary; a trained " \
            "model puts related tokens close together."
        self.nn_note.setText(
            f"The {len(neighbours)} tokens of the whole vocabulary ({s.vocab_size:,}) whose "
            f"vectors point most nearly the same way as {s.label(token_id)!r} "
            f"(ID {token_id}).{trained}")

    def _frequent_ids(self) -> list[int]:
        if self._frequent is None:
            from model.resources import read_the_verdict

            self._frequent = core.frequent_tokens(read_the_verdict(), FREQUENT_N)
        return self._frequent

    def _render_projection(self) -> None:
        e, s = self.embeddings, self.source
        text_ids = core.unique_in_order(e.ids)
        extra: list[int] = []
        if self.add_frequent.isChecked():
            if s.gpt2_vocab:
                seen = set(text_ids)
                extra = [t for t in self._frequent_ids() if t not in seen and t < s.vocab_size]
                self.add_frequent.setToolTip(FREQUENT_TIP)
            else:
                self.add_frequent.setToolTip(FREQUENT_TIP + ". Needs GPT-2's vocabulary "
                                             "(50,257 tokens)")
        all_ids = text_ids + extra
        vectors = s.tok_weight[all_ids].float().numpy()
        proj = core.pca_2d(vectors)
        pts = proj.points
        groups = []
        if extra:
            groups.append(PointGroup("The Verdict", pts[len(text_ids):],
                                     [s.label(t) for t in extra], "point_muted", size=6,
                                     label_color="point_label_muted"))
        groups.append(PointGroup("text", pts[:len(text_ids)], [s.label(t) for t in text_ids],
                                 "point", size=10))
        ex1, ex2 = proj.explained
        self.projection.set_groups(
            groups, title=f"Token embeddings of {len(text_ids)} distinct token(s)"
                          + (f" and {len(extra)} frequent tokens" if extra else "")
                          + " projected to 2-D (PCA)",
            x_label=f"PC 1 ({ex1:.0%} of the variance)",
            y_label=f"PC 2 ({ex2:.0%})")
        if len(all_ids) < 3:
            self.projection.hover_label.setText("With fewer than 3 tokens the projection is a "
                                                "line or a point.")

    def _render_positions(self) -> None:
        s = self.source
        key = id(s.pos_weight)
        cached = self._positions_cache.get("key")
        if cached != key:
            pos = s.pos_weight.float().numpy()
            self._positions_cache = {"key": key, "matrix": pos, "pca": core.pca_2d(pos)}
        pos = self._positions_cache["matrix"]
        proj = self._positions_cache["pca"]
        n, d = pos.shape
        self.positions_map.set_matrix(pos, [str(i) for i in range(n)], None,
                                      title=f"Positional embeddings of all {n:,} positions "
                                            f"({n:,} x {d})")
        untrained = self.model_radio.isChecked() and self.ctx.models.current is not None \
            and self.ctx.models.current.source == "untrained"
        self.positions_caption.setText(
            "Row p is the vector added to whatever token sits at position p. "
            + ("These are random (untrained); after training, neighbouring positions get "
               "similar vectors and the projection traces a smooth path."
               if untrained or self.demo_radio.isChecked() else
               "Trained positions vary smoothly: neighbouring positions have similar vectors, "
               "so the projection traces a path in order."))
        import pyqtgraph as pg

        cmap = pg.colormap.get(style.colours().heat_map)
        colors = [c.name() for c in cmap.getLookupTable(nPts=max(n, 2), mode="qcolor")[:n]]
        every = max(1, n // 16)
        ex1, ex2 = proj.explained
        self.positions_plot.set_groups(
            [PointGroup("position", proj.points, [str(i) for i in range(n)], colors, size=6,
                        label_every=every, connect=True)],
            title=f"Positions 0 to {n - 1} projected to 2-D (PCA), in order",
            x_label=f"PC 1 ({ex1:.0%})", y_label=f"PC 2 ({ex2:.0%})")

    # -- export --------------------------------------------------------------------------------
    def export_all(self, folder: str | Path | None = None) -> list[Path]:
        """Draw every tab and save each plot and heatmap as PNG in `folder`."""
        self._ensure_built()
        if folder is None:
            chosen = QFileDialog.getExistingDirectory(self, "Save all plots to a folder")
            if not chosen:
                return []
            folder = chosen
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        current = self.tabs.currentIndex()
        names = {
            0: [("token-embeddings", self.token_map), ("positional-embeddings", self.pos_map),
                ("input-embeddings", self.input_map)]
            + ([("embedding-weights", self.weights_map)] if self.demo_radio.isChecked() else []),
            1: [("cosine-similarity", self.cosine_map)],
            3: [("projection", self.projection)],
            4: [("positions-heatmap", self.positions_map),
                ("positions-projection", self.positions_plot)],
        }
        written = []
        for tab, panels in names.items():
            self.tabs.setCurrentIndex(tab)
            self._render_current_tab()
            QApplication.processEvents()
            for name, panel in panels:
                path = folder / f"{name}.png"
                if panel.export_png(path):
                    written.append(path)
        self.tabs.setCurrentIndex(current)
        self.notice.setText(f"Saved {len(written)} PNG file(s) to {folder}.")
        self.notice.setVisible(True)
        return written


def create_area(ctx) -> AreaWidget:
    return EmbeddingsLab(ctx)
