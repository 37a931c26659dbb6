"""The Embeddings lab (chapter 2, sections 2.7 and 2.8): the vectors a GPT starts from.

For the learner's text: token embeddings, positional embeddings and their sum (the input
embeddings) as heatmaps with the tokens as row labels, from the loaded model; or, in "book demo"
mode, from embedding layers built as the chapter builds them (torch.manual_seed(123), a chosen
vocabulary size and dimension: 6 x 3 shows the book's table). Further tabs: the cosine similarity
between the text's tokens, the nearest neighbours of a token in the whole vocabulary, a PCA
projection of the token vectors (optionally with the most frequent tokens of The Verdict), and
the positional embeddings over the whole context as one heatmap and one projection.

The computing is in `core` (no Qt); torch is imported only inside functions. The embeddings of
the inputs are computed on a `LatestJob` (debounced while typing; newer inputs supersede a run
still going), which hands back plain arrays that the view then draws. The tabs are built and
drawn by `text_tabs` and `space_tabs`; the book demo's inputs are `demo_controls`. Each tab is
drawn when it is shown; every plot saves itself to PNG ("Save all PNGs" saves them all).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (QApplication, QFileDialog, QLabel, QRadioButton, QSizePolicy,
                               QTabWidget)

from studyapp.areas.embeddings import core
from studyapp.areas.embeddings.demo_controls import DemoControls
from studyapp.areas.embeddings.space_tabs import SpaceTabs
from studyapp.areas.embeddings.text_tabs import TextTabs
from studyapp.shell.jobs import LatestJobArea
from studyapp.widgets.text_box import FileDropTextEdit
from studyapp.shell.area import MAX_SAVED_CHARS, AreaWidget
from studyapp.widgets.forms import (column, input_values, notice_line, push_button, row,
                                    set_inputs, show_notices, text_field)

DEFAULT_TEXT = "Your journey starts with one step"
DEBOUNCE_MS = 200
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


class EmbeddingsLab(DemoControls, TextTabs, SpaceTabs, LatestJobArea):
    """The Embeddings area. `rendered` fires after the visible tab has been drawn."""

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, DEBOUNCE_MS, "embeddings", parent)
        self.embeddings: core.TextEmbeddings | None = None
        self.source: core.EmbeddingSource | None = None
        self._dirty_tabs: set[int] = set(range(len(TAB_KEYS)))
        self._norms_cache: tuple[int, object] | None = None
        self._positions_cache: dict = {}
        self._frequent: list[int] | None = None
        self._demo_cache: tuple | None = None
        self._built = False
        self._file_notices: list[str] = []
        self._pending_panels: dict = {}  # apply_state's PANEL_KEYS, set once the tabs exist
        self._pending_token: tuple[str, object] | None = None  # ("index"|"label", value)

        self._build()
        ctx.models.current_changed.connect(self._on_model_changed)
        self.editor.textChanged.connect(self.schedule)
        self.model_radio.toggled.connect(self._on_mode_changed)
        for spin in (self.demo_vocab, self.demo_dim, self.demo_context):
            spin.valueChanged.connect(self.schedule)
        self.demo_ids.textChanged.connect(self.schedule)
        self.tabs.currentChanged.connect(lambda _i: self._render_current_tab())
        self.demo_box.setVisible(False)

    # -- building ------------------------------------------------------------------------------
    def _build(self) -> None:
        self.editor = text_field(
            FileDropTextEdit(DEFAULT_TEXT), "Type a sentence (or drop a text file): its tokens' "
            "embedding vectors are shown below.", "Your text: each token picks its row of the "
            "token embedding matrix (chapter 2, section 2.7) and its position adds a positional "
            "embedding (section 2.8)", max_height=52)
        self.editor.file_dropped.connect(self.open_file)

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
        self._build_demo_controls()
        self.export_all_button = push_button(
            "Save all PNGs\u2026",
            "Save every plot and heatmap of this lab to a folder as PNG images (embeddings: "
            "chapter 2, sections 2.7 and 2.8)", lambda: self.export_all())
        source_row = row(QLabel("Vectors from:"), self.model_radio, self.demo_radio,
                         (self.model_name, 1), self.export_all_button)
        source_row.insertSpacing(3, 12)
        self.notice = notice_line()
        self.tabs = QTabWidget()  # pages are built on first show (_ensure_built)
        column(self.editor, source_row, self.demo_box, self.notice, (self.tabs, 1), parent=self,
               margins=8)

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
        self._build_text_tabs()
        self._build_space_tabs()
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
        set_inputs(payload, self._demo_sizes())
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
            **input_values(self._demo_sizes()),
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
                show_notices(self.notice, [f"{path.name} is too large to open here."])
                return False
            data = path.read_bytes()
        except OSError as exc:
            show_notices(self.notice, [f"Could not read {path}: {exc.strerror or exc}"])
            return False
        text, notices = decode_file_bytes(data, path.name)
        self._file_notices = notices
        self.editor.setPlainText(text)
        return True

    def prepare_screenshot(self, runs: bool = True) -> None:
        self.apply_state({"text": DEFAULT_TEXT, "book_demo": False, "view": "embeddings"})
        self.job.wait_idle()

    # -- state ---------------------------------------------------------------------------------
    def _on_mode_changed(self, *_args) -> None:
        demo = self.demo_radio.isChecked()
        self.demo_box.setVisible(demo)
        if not self._built:
            self.schedule()
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
        self.schedule()

    def _on_model_changed(self, _entry) -> None:
        self._norms_cache = None
        if self.model_radio.isChecked():
            self.schedule()

    def showEvent(self, event) -> None:  # noqa: N802
        self._ensure_built()
        super().showEvent(event)  # asks for the embeddings of inputs changed while hidden

    def _mark_dirty(self, tab: int) -> None:
        self._dirty_tabs.add(tab)
        if self.tabs.currentIndex() == tab:
            self._render_current_tab()

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

    # -- computing -----------------------------------------------------------------------------
    def refresh(self, force: bool = False, delay_ms: int | None = 0) -> None:
        """Ask the job for the embeddings of the inputs as they are now (after the typing pause
        if `delay_ms` is None); the visible tab is redrawn when they arrive."""
        if not self.isVisible() and not force:
            return  # stays dirty; showEvent schedules it
        self._ensure_built()
        self.ask(delay_ms)

    def answer_job(self):
        """The job for the current inputs, read here on the GUI thread; it yields (the demo's
        sizes or None, core.Answer)."""
        if self.model_radio.isChecked():
            entry = self.ctx.models.current
            if entry is None:
                self.model_name.setText("(loading\u2026)")
                return lambda _token: [(None, core.Answer(None, message=(
                    "Loading model\u2026 the embeddings appear as soon as it is ready.")))]
            self.model_name.setText(f"({entry.name}: vocabulary {entry.config.vocab_size:,}, "
                                    f"dimension {entry.config.emb_dim})")
            self.model_name.setToolTip(entry.describe())
            text = self.editor.toPlainText()
            return lambda _token: [(None, core.text_answer(entry.model, entry.name, text))]
        self.model_name.setText("")  # the demo does not use the loaded model
        sizes = (self.demo_vocab.value(), self.demo_dim.value(), self.demo_context.value())
        built = self._demo_cache[1] if self._demo_cache and self._demo_cache[0] == sizes else None
        raw_ids = self.demo_ids.text()
        return lambda _token: [(sizes, core.demo_answer(sizes, raw_ids, built))]

    def show_failure(self, message: str) -> None:
        self.show_answer((None, core.Answer(None, message=(
            f"The embeddings could not be computed: {message}"))))

    def show_answer(self, record) -> None:
        sizes, answer = record
        if sizes is not None and answer.source is not None:
            self._demo_cache = (sizes, answer.source)  # seeded layers are rebuilt only on change
        self.source, self.embeddings = answer.source, answer.embeddings
        self._dirty_tabs = set(range(len(TAB_KEYS)))
        if answer.embeddings is None:
            show_notices(self.notice, [])
            self._say(answer.message)
            self.rendered.emit()
            return
        file_notices, self._file_notices = self._file_notices, []
        show_notices(self.notice, file_notices + answer.notices)
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

    def _on_cosine_clicked(self, row: int, _col: int) -> None:
        if self.embeddings is not None and 0 <= row < len(self.embeddings.ids):
            self.nn_token.setCurrentIndex(row)
            self.tabs.setCurrentIndex(TAB_KEYS.index("neighbours"))

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
