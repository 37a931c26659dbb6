"""The Tokenizer lab (chapter 2): the learner's own text through GPT-2's byte-pair encoding.

Top: the text, retokenized as the learner types (debounced), drawn as coloured token chips with
a text/ID toggle, the counts, and the ID list; hovering a chip shows its ID, bytes and text and
highlights it in the ID list and in the text. Below, four tabs: the BPE merges that built the
clicked word, the chapter's simple tokenizers V1/V2 next to BPE, the sliding-window dataloader,
and decoding a list of IDs (`bpe_tab`, `chapter2_tab`, `windows_tab`). The computing lives in
`core` and `model.bpe` (no Qt).

The text is tokenized on a `LatestJob` (debounced while typing; a newer text supersedes a run
still going, so a large paste never blocks the window) and only the first CHIP_LIMIT chips are
drawn; the counts always cover the whole text.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (QButtonGroup, QFileDialog, QHBoxLayout, QLabel, QPlainTextEdit,
                               QPushButton, QSplitter, QTabWidget, QTextEdit, QVBoxLayout,
                               QWidget)

from studyapp import tokens
from studyapp.areas.tokenizer import core
from studyapp.areas.tokenizer.bpe_tab import BpeTab
from studyapp.areas.tokenizer.chapter2_tab import CORPUS_TEXT, Chapter2Tab
from studyapp.areas.tokenizer.rich_text import MONO as _MONO
from studyapp.areas.tokenizer.windows_tab import WindowTabs
from studyapp.widgets.text_box import FileDropTextEdit
from studyapp.shell import style
from studyapp.shell.area import MAX_SAVED_CHARS, AreaWidget
from studyapp.shell.jobs import LatestJobArea
from studyapp.widgets.forms import (input_values, notice_line, set_inputs, show_notices,
                                   text_field)
from studyapp.widgets.token_chips import TokenChipsView

CHIP_LIMIT = 5000  # chips drawn at most; the counts always cover the whole text
LONG_TEXT = 100_000  # characters; a text this long says it is being tokenized
DEBOUNCE_MS = 150
TAB_NAMES = ("bpe", "chapter2", "window", "decode")


class TokenizerLab(BpeTab, Chapter2Tab, WindowTabs, LatestJobArea):
    """The Tokenizer area. `rendered` fires after each retokenization is drawn."""

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, DEBOUNCE_MS, "tokenize", parent)
        self.result: core.Tokenization | None = None
        self._id_spans: list[tuple[int, int]] = []
        self._hover = -1
        self._verdict: str | None = None
        self._chapter2_dirty = True
        self._windows_dirty = True
        self._file_notices: list[str] = []
        self._bpe_dirty = True
        self._decode_dirty = True
        self._pending_word: str | None = None  # apply_state's word, traced once tokenized

        self._build_top()
        self._build_tabs()
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self._middle)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([260, 420])
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.editor)
        layout.addLayout(self._controls)
        layout.addWidget(self.notice)
        layout.addWidget(splitter, 1)

        self.editor.setPlainText(core.EXAMPLE_TEXT)
        self.editor.textChanged.connect(self.schedule)
        self.show_ids_button.toggled.connect(self._toggle_ids)
        self.chips.hovered.connect(self._on_hover)
        self.chips.clicked.connect(self._on_chip_clicked)
        self.chips.set_tooltip_provider(self._tooltip)
        self.id_list.cursorPositionChanged.connect(self._on_id_cursor)
        style.on_change(self, self._restyle, now=False)

    def _restyle(self, _colours) -> None:
        # The tabs' rich text carries chip and message colours: draw them again.
        self._bpe_dirty = self._chapter2_dirty = self._windows_dirty = True
        self._decode_dirty = True
        self._refresh_visible_tab()

    # -- building ------------------------------------------------------------------------------
    def _build_top(self) -> None:
        # The least height: the lab must fit the shell's smallest window.
        self.editor = text_field(
            FileDropTextEdit(), "Type or paste any text (or drop a text file here): it is "
            "tokenized as you type.", "Your text, split into GPT-2 tokens by byte pair encoding "
            "as you type (chapter 2, section 2.5); drop or paste a text file to open it",
            min_height=40, max_height=72)
        self.editor.file_dropped.connect(self.open_file)
        self.editor.setTabChangesFocus(False)

        self.show_text_button = QPushButton("Text", checkable=True, checked=True)
        self.show_ids_button = QPushButton("IDs", checkable=True)
        group = QButtonGroup(self)
        group.setExclusive(True)
        group.addButton(self.show_text_button)
        group.addButton(self.show_ids_button)
        self.show_text_button.setToolTip("Show each token as the piece of text it stands for "
                                         "(tokenizing text: chapter 2, section 2.2)")
        self.show_ids_button.setToolTip("Show each token's ID in GPT-2's vocabulary of 50,257 "
                                        "(token IDs: chapter 2, sections 2.3 and 2.5)")
        self.open_button = QPushButton("Open file\u2026")
        self.open_button.setToolTip("Tokenize a text file of your own, as chapter 2 tokenizes "
                                    "The Verdict (section 2.2); UTF-8, invalid bytes are "
                                    "reported")
        self.open_button.clicked.connect(lambda: self.open_file())
        self.example_button = QPushButton("Book example")
        self.example_button.setToolTip("Put back the book's byte pair encoding example, with "
                                       "<|endoftext|> and an unknown word (chapter 2, sections "
                                       "2.4 and 2.5)")
        self.example_button.clicked.connect(lambda: self.editor.setPlainText(core.EXAMPLE_TEXT))
        self.counts = QLabel()
        self.counts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counts.setWordWrap(True)  # long counts must not widen the window
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Show:"))
        controls.addWidget(self.show_text_button)
        controls.addWidget(self.show_ids_button)
        controls.addSpacing(12)
        controls.addWidget(self.open_button)
        controls.addWidget(self.example_button)
        controls.addSpacing(12)
        controls.addWidget(self.counts, 1)
        self._controls = controls

        self.notice = notice_line()

        self.chips = TokenChipsView()
        self.chips.setMinimumHeight(60)
        self.hover_info = QLabel("Point at a token to see its ID, bytes and text; click a word "
                                 "to see the merges that built it.")
        self.hover_info.setWordWrap(True)
        self.hover_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hover_info.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.id_list = QPlainTextEdit()
        self.id_list.setReadOnly(True)
        self.id_list.setFont(_MONO)
        self.id_list.setToolTip("The token IDs (chapter 2, section 2.3); click one to find its "
                                "chip")
        self.id_list.setMinimumHeight(40)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.hover_info)
        side_layout.addWidget(QLabel("Token IDs:"))
        side_layout.addWidget(self.id_list, 1)
        middle = QSplitter(Qt.Orientation.Horizontal)
        middle.addWidget(self.chips)
        middle.addWidget(side)
        middle.setStretchFactor(0, 3)
        middle.setStretchFactor(1, 1)
        middle.setSizes([700, 280])
        middle.setChildrenCollapsible(False)
        self._middle = middle

    def _build_tabs(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.currentChanged.connect(lambda _i: self._refresh_visible_tab())
        self._build_bpe_tab()
        self._build_chapter2_tab()
        self._build_window_tab()
        self._build_decode_tab()

    # -- public --------------------------------------------------------------------------------
    def apply_state(self, payload: dict) -> None:
        """Open in a given state: {"text", "select_word", "show_ids", "tab", "max_length",
        "stride", "batch_size", "decode", "corpus": "verdict"|"text", "window_text":
        "text"|"verdict"} (all optional). Used by flashcards' "Try it", and at start with what
        `save_state` saved. While the lab is hidden only the inputs are set: the work is done
        when it is shown (a restore at start must not load the tokenizer before the window
        paints)."""
        if "corpus" in payload:
            self.corpus_box.setCurrentIndex(1 if payload["corpus"] == "text" else 0)
        if "window_text" in payload:
            self.window_source.setCurrentIndex(1 if payload["window_text"] == "verdict" else 0)
        set_inputs(payload, self._window_inputs())
        if "show_ids" in payload:
            (self.show_ids_button if payload["show_ids"] else self.show_text_button).setChecked(
                True)
        if "text" in payload:
            self.editor.setPlainText(str(payload["text"]))  # -> schedule
            if self.isVisible():
                self.ask(delay_ms=0)  # asked for: no typing pause to wait for
        word = payload.get("select_word")
        if word:
            self.tabs.setCurrentIndex(0)
            if self.isVisible() and not self._dirty and not self.job.is_busy():
                self.select_word(str(word))
            else:
                self._pending_word = str(word)  # traced when the text is tokenized (show_answer)
        tab = payload.get("tab")
        if tab in TAB_NAMES:
            self.tabs.setCurrentIndex(TAB_NAMES.index(tab))
        elif isinstance(tab, int) and 0 <= tab < self.tabs.count():
            self.tabs.setCurrentIndex(tab)

    def save_state(self) -> dict:
        """The learner's inputs, as a payload `apply_state` accepts (saved at exit; long
        texts are cut to MAX_SAVED_CHARS characters)."""
        return {
            "text": self.editor.toPlainText()[:MAX_SAVED_CHARS],
            "show_ids": self.show_ids_button.isChecked(),
            "tab": TAB_NAMES[max(0, self.tabs.currentIndex())],
            "select_word": self.bpe_word.text()[:400],
            "corpus": "text" if self.corpus_box.currentText() == CORPUS_TEXT else "verdict",
            "window_text": "verdict" if self.window_source.currentIndex() == 1 else "text",
            **input_values(self._window_inputs()),
            "decode": self.decode_input.text()[:MAX_SAVED_CHARS],  # cut, as the text is
        }

    def _window_inputs(self) -> dict:
        """The dataloader's and the decode tab's inputs, by their names in a saved state."""
        return {"max_length": self.max_length, "stride": self.stride,
                "batch_size": self.batch_size, "decode": self.decode_input}

    def prepare_screenshot(self, runs: bool = True) -> None:
        self.apply_state({"text": "Akwirw ier: Hello, do you like tea? <|endoftext|> In the "
                                  "sunlit terraces of someunknownPlace. Caf\u00e9 \U0001F600\n",
                          "select_word": "Akwirw ier"})
        self.job.wait_idle()

    def select_word(self, word: str) -> None:
        """Trace `word` (one word or several) and outline its first token in the text."""
        self._show_trace_for(word)
        text = self.editor.toPlainText()
        index = text.find(word)
        if index >= 0 and self.result is not None and self.result.text == text:
            hit = self.result.piece_at_char(index)
            if hit is not None:
                self.chips.set_highlight(hit.index)

    def open_file(self, path: str | Path | None = None) -> bool:
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self, "Open a text file", "",
                                                    "Text files (*.txt *.md);;All files (*)")
            if not chosen:
                return False
            path = chosen
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > tokens.MAX_FILE_BYTES:
                show_notices(self.notice, [
                    f"{path.name} is {size / 1e6:.1f} MB; the lab opens files up to "
                    f"{tokens.MAX_FILE_BYTES // (1024 * 1024)} MB."])
                return False
            data = path.read_bytes()
        except OSError as exc:
            show_notices(self.notice, [f"Could not read {path}: {exc.strerror or exc}"])
            return False
        text, notices = tokens.decode_file_bytes(data, path.name)
        self._file_notices = notices
        self.editor.setPlainText(text)
        return True

    # -- retokenizing --------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802
        text_changed = self._dirty
        super().showEvent(event)  # asks for the tokens of a text changed while hidden
        if not text_changed:
            self._refresh_visible_tab()  # its inputs may have changed while hidden

    def answer_job(self):
        """Tokenize the text as it is now."""
        text = self.editor.toPlainText()
        if len(text) >= LONG_TEXT:
            self.counts.setText(f"Tokenizing {len(text):,} characters\u2026")
        return lambda _token: [core.tokenize(text, CHIP_LIMIT)]

    def show_failure(self, message: str) -> None:
        show_notices(self.notice, [f"Tokenizing failed: {message}"])

    def show_answer(self, result: core.Tokenization) -> None:
        self.result = result
        self._hover = -1
        self.chips.set_empty_text("Type some text in the box above (or paste a page, or open a "
                                  "file): its tokens appear here." if not result.text else "")
        self.chips.set_chips(result.pieces)  # TokenPiece has what a chip needs
        counts = result.counts_text()
        if result.truncated:
            counts += f" \u2014 {result.shown_text()}"
        self.counts.setText(counts)
        ids_text, self._id_spans = core.id_list_text(result.pieces, result.n_tokens)
        self.id_list.blockSignals(True)
        self.id_list.setPlainText(ids_text)
        self.id_list.blockSignals(False)
        file_notices, self._file_notices = self._file_notices, []
        show_notices(self.notice, file_notices + result.notices)
        if not self.bpe_word.text() and result.text and self._pending_word is None:
            first_word = next((p for p in result.pieces if p.label.strip("\u00b7")), None)
            if first_word is not None:
                self._trace_at_char(first_word.start)
        self._bpe_dirty = True  # its "whole text" line follows the text
        self._chapter2_dirty = True
        self._windows_dirty = True
        self._refresh_visible_tab()
        if self._pending_word is not None:
            word, self._pending_word = self._pending_word, None
            self.select_word(word)
        self.rendered.emit()

    # -- hover and click -----------------------------------------------------------------------
    def _tooltip(self, index: int) -> str:
        if self.result is None or not 0 <= index < len(self.result.pieces):
            return ""
        return self.result.pieces[index].describe(self.result.text)

    def _on_hover(self, index: int) -> None:
        self._hover = index
        if self.result is None or index < 0 or index >= len(self.result.pieces):
            self.id_list.setExtraSelections([])
            self.editor.setExtraSelections([])
            return
        piece = self.result.pieces[index]
        self.hover_info.setText(html.escape(piece.describe(self.result.text)).replace("\n",
                                                                                      "<br>"))
        self._highlight_span(self.id_list, *self._id_spans[index])
        self._highlight_span(self.editor, piece.start, piece.end)

    @staticmethod
    def _highlight_span(edit: QPlainTextEdit, start: int, end: int) -> None:
        selection = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setBackground(QColor(style.colours().find_highlight))
        selection.format = fmt
        cursor = QTextCursor(edit.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        selection.cursor = cursor
        edit.setExtraSelections([selection])
        probe = QTextCursor(edit.document())
        probe.setPosition(start)
        if edit is not None and not edit.hasFocus():
            rect = edit.cursorRect(probe)
            if not edit.viewport().rect().contains(rect.center()):
                edit.setTextCursor(probe)
                edit.ensureCursorVisible()

    def _on_id_cursor(self) -> None:
        pos = self.id_list.textCursor().position()
        for index, (start, end) in enumerate(self._id_spans):
            if start <= pos <= end:
                self.chips.set_highlight(index)
                self._on_hover(index)
                return

    def _on_chip_clicked(self, index: int) -> None:
        if self.result is None or not 0 <= index < len(self.result.pieces):
            return
        self.chips.set_highlight(index)
        self.tabs.setCurrentIndex(0)
        self._trace_at_char(self.result.pieces[index].start)

    def _trace_at_char(self, char_index: int) -> None:
        from model.bpe import piece_near

        piece = piece_near(self.result.text, char_index) if self.result else None
        if piece is not None:
            self._show_trace_for(piece.text)

    # -- tabs (built and drawn by the tab modules) ----------------------------------------------
    def _refresh_visible_tab(self) -> None:
        if not self.isVisible():
            return  # showEvent refreshes it (nothing is computed for a hidden lab)
        index = self.tabs.currentIndex()
        if index == 0 and self._bpe_dirty:
            self._trace_word(self.bpe_word.text())
        elif index == 1 and self._chapter2_dirty:
            self._render_chapter2()
        elif index == 2 and self._windows_dirty:
            self._render_windows()
        elif index == 3 and (self._decode_dirty or not self.decode_output.toPlainText()):
            self._decode(self.decode_input.text())

    # -- view toggle ---------------------------------------------------------------------------
    def _toggle_ids(self, show: bool) -> None:
        self.chips.set_show_ids(show)


def create_area(ctx) -> AreaWidget:
    return TokenizerLab(ctx)
