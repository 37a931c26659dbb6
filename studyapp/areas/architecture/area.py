"""The Architecture lab (chapter 4, implementing a GPT model): the loaded model block by block.

Tabs:
- Model map: the model drawn as figure 4.15 from its config; click a component for its
  parameters, memory, shapes for your text and the book's section; the GPT-2 sizes table with
  weight tying (`model_map`).
- Book demos: LayerNorm, GELU vs ReLU, the feed-forward shapes and shortcut gradients, editable,
  with the book's numbers (`demos`).
- Your text through the blocks: per-block statistics as small plots (`blocks`).
- What each layer predicts: the logit lens grid, not in the book (`lens_grid`).

The text runs through `ctx.models.current` (whichever model is loaded, and again when it
changes) in a `LatestJob`, debounced while typing. `apply_state` understands {"view": ...}
(one of `VIEWS`), {"text": ...}, {"component": "att"} and {"demos": {...}} from `save_state`.
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QSizePolicy, QTabWidget

from studyapp.areas.architecture import core
from studyapp.areas.architecture.blocks import BlocksTab
from studyapp.areas.architecture.demos import DEMO_KEYS, DemosTab
from studyapp.areas.architecture.lens_grid import LENS_TIP, LensTab
from studyapp.areas.architecture.model_map import ModelMapTab
from studyapp.shell import style
from studyapp.shell.area import AreaWidget
from studyapp.shell.jobs import LatestJob
from studyapp.shell.waiting import wait_until
from studyapp.widgets.forms import add_tabs, column

# A line of The Verdict: the bundled model has read it, so its later blocks know what comes next.
DEFAULT_TEXT = ("I HAD always thought Jack Gisburn rather a cheap genius--though a good fellow "
                "enough--so it was no great surprise to me")
TEXT_DEBOUNCE_MS = 350
MAX_SAVED_CHARS = 20_000
LOADING = "Loading the model\u2026"
TABS = ("map", "demos", "blocks", "lens")
VIEWS = ("map", "sizes") + DEMO_KEYS + ("blocks", "lens")
TAB_TITLES = ("Model map", "Book demos", "Your text through the blocks",
              "What each layer predicts")
TAB_TIPS = (
    "The loaded model drawn as the book's figure 4.15 (chapter 4, section 4.6), with GPT-2's "
    "sizes and weight tying",
    "The book's chapter 4 examples, editable: LayerNorm (4.2), GELU and the feed-forward "
    "network (4.3), shortcut connections (4.4)",
    "What every transformer block does to your text: statistics per block (chapter 4, "
    "sections 4.2 to 4.5)",
    LENS_TIP,
)


def create_area(ctx) -> AreaWidget:
    return ArchitectureArea(ctx)


class ArchitectureArea(AreaWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.session = ctx.models
        self.run: core.BlocksRun | None = None
        self.message = ""
        self.model_line = QLabel()
        self.model_line.setWordWrap(True)
        self.text_edit = QPlainTextEdit(DEFAULT_TEXT)
        self.text_edit.setMinimumHeight(32)
        self.text_edit.setMaximumHeight(52)
        self.text_edit.setToolTip("Your text: it is tokenized (chapter 2) and runs through the "
                                  "loaded model's blocks (chapter 4, section 4.6); the map's "
                                  "shapes, the statistics and the lens follow it")
        self.status = QLabel(" ")
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.map_tab = ModelMapTab()
        self.demos_tab = DemosTab()
        self.blocks_tab = BlocksTab()
        self.lens_tab = LensTab()
        self.tabs = add_tabs(QTabWidget(), zip((self.map_tab, self.demos_tab, self.blocks_tab,
                                                self.lens_tab), TAB_TITLES, TAB_TIPS))
        column(self.model_line, self.text_edit, self.status, (self.tabs, 1), parent=self,
               margins=(4, 2, 4, 2), spacing=3)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.job = LatestJob(self, delay_ms=TEXT_DEBOUNCE_MS, name="architecture")
        self.job.result.connect(self._on_run)
        self.job.failed.connect(self._on_failed)
        self.job.busy_changed.connect(self._busy_changed)
        self.text_edit.textChanged.connect(lambda: self.request_run())
        self.session.current_changed.connect(self._model_changed)
        style.on_change(self, self._restyle)
        self.demos_tab.start()
        self._model_changed(self.session.current)

    def _restyle(self, _c) -> None:
        self.model_line.setStyleSheet(style.css_color("muted"))
        self.status.setStyleSheet(style.css_color("error" if self.message else "muted"))

    # -- the model and the text -------------------------------------------------------------------
    def _model_changed(self, entry) -> None:
        if entry is None:
            self.model_line.setText(LOADING)
            self._show_message(LOADING)
            return
        c = entry.config
        self.model_line.setText(f"Model: {entry.name} ({entry.num_parameters / 1e6:.2f}M "
                                f"parameters, {c.n_layers} blocks, emb_dim {c.emb_dim}, "
                                f"{c.n_heads} heads, context {c.context_length:,})")
        self._draw_map(entry)
        self.request_run(delay_ms=0)

    def _draw_map(self, entry, num_tokens: int | None = None) -> None:
        if num_tokens is None:
            ids, _cut = core.encode_for(entry.config, self.session.tokenizer,
                                        self.text_edit.toPlainText())
            num_tokens = len(ids)
        self.map_tab.set_model(entry.config, entry.name, num_tokens)

    def text(self) -> str:
        return self.text_edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.text_edit.setPlainText(text)
        self.request_run(delay_ms=0)

    def request_run(self, delay_ms: int | None = None) -> None:
        entry = self.session.current
        if entry is None:
            return
        text = self.text()
        tokenizer = self.session.tokenizer

        def job(_token):
            yield entry, core.run_blocks(entry.model, tokenizer, text, entry.name)

        self.job.request(job, delay_ms)

    def is_busy(self) -> bool:
        return self.job.is_busy() or self.demos_tab.is_busy()

    def _busy_changed(self, busy: bool) -> None:
        if busy and not self.message:
            self.status.setText("Running your text through the blocks\u2026")

    def _on_run(self, record) -> None:
        entry, run = record
        if entry is not self.session.current:
            return  # the model changed meanwhile; its own run follows
        self.run = run
        self.message = ""
        self._restyle(None)
        self.status.setText(core.run_summary(run) + ".")
        self._draw_map(entry, run.num_tokens)
        self.blocks_tab.set_run(run)
        self.lens_tab.set_run(run)

    def _on_failed(self, message: str) -> None:
        self._show_message(f"Could not run the text through the model: {message}")

    def _show_message(self, text: str) -> None:
        self.message = "" if text == LOADING else text
        self._restyle(None)
        self.status.setText(html.escape(text))
        self.blocks_tab.show_message(text)

    # -- views and state --------------------------------------------------------------------------
    def show_view(self, view: str) -> None:
        if view in ("map", "sizes"):
            self.tabs.setCurrentWidget(self.map_tab)
        elif view in DEMO_KEYS or view == "demos":
            self.tabs.setCurrentWidget(self.demos_tab)
            self.demos_tab.show_demo(view)
        elif view == "blocks":
            self.tabs.setCurrentWidget(self.blocks_tab)
        elif view == "lens":
            self.tabs.setCurrentWidget(self.lens_tab)

    def current_view(self) -> str:
        tab = TABS[max(0, self.tabs.currentIndex())]
        return self.demos_tab.current_key() if tab == "demos" else tab

    def apply_state(self, state: dict) -> None:
        """A saved state or a card's payload: {"view": one of VIEWS}, {"text": str},
        {"component": "att"} (select it on the map), {"demos": {...}} (the demos' inputs).
        Unknown keys and values of the wrong type are ignored."""
        if not isinstance(state, dict) or not state:
            return
        if isinstance(state.get("demos"), dict):
            self.demos_tab.restore(state["demos"])
        if isinstance(state.get("text"), str) and state["text"] != self.text():
            self.set_text(state["text"][:MAX_SAVED_CHARS])
        if isinstance(state.get("component"), str):
            self.map_tab.select_key(state["component"])
        if state.get("view") in VIEWS:
            self.show_view(state["view"])

    def save_state(self) -> dict:
        state = {"view": self.current_view(), "text": self.text()[:MAX_SAVED_CHARS],
                 "demos": self.demos_tab.save()}
        component = self.map_tab.selected_key()
        if component:
            state["component"] = component
        return state

    def prepare_screenshot(self, runs: bool = True) -> None:
        """The model map with attention selected, and every view computed, on the default text."""
        if not self.text().strip():
            self.set_text(DEFAULT_TEXT)
        self.show_view("map")
        self.map_tab.select_key("att")
        wait_until(lambda: not self.is_busy() and self.run is not None, 30_000)

    def shutdown(self) -> None:
        self.job.shutdown()
        self.demos_tab.shutdown()

