"""The Tokenizer lab's "BPE merges" tab (chapter 2, section 2.5): a word traced from single
bytes through GPT-2's merges, step by step. The tracing itself is `model.bpe` (no Qt)."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QTextBrowser, QVBoxLayout, QWidget

from studyapp import tokens
from studyapp.areas.tokenizer.rich_text import chip_html as _chip_html
from studyapp.shell import style


class BpeTab:
    """Part of `TokenizerLab`: builds the tab on the lab's `tabs` and draws the trace of the
    word in `bpe_word` (reads the lab's `result` for the whole text's IDs)."""

    def _build_bpe_tab(self) -> None:
        # BPE merges
        bpe = QWidget()
        self.bpe_word = QLineEdit()
        self.bpe_word.setPlaceholderText("A word to trace (or click a token above)")
        self.bpe_word.setToolTip("Byte pair encoding (chapter 2, section 2.5): a word to trace "
                                 "from single bytes through GPT-2's merges, e.g. Akwirw ier")
        self.bpe_word.textChanged.connect(self._trace_word)
        self.bpe_view = QTextBrowser()
        form = QHBoxLayout()
        form.addWidget(QLabel("Word:"))
        form.addWidget(self.bpe_word, 1)
        bpe_layout = QVBoxLayout(bpe)
        bpe_layout.addLayout(form)
        bpe_layout.addWidget(self.bpe_view, 1)
        self.tabs.addTab(bpe, "BPE merges")
        self.tabs.setTabToolTip(0, "How byte pair encoding builds a word from single bytes "
                                   "(chapter 2, section 2.5)")

    def _show_trace_for(self, word: str) -> None:
        if self.bpe_word.text() != word:
            self.bpe_word.setText(word)  # -> _trace_word
        else:
            self._trace_word(word)

    def _trace_word(self, word: str) -> None:
        from model.bpe import trace_text

        self._bpe_dirty = False
        if not word:
            self.bpe_view.setHtml("<p>Type a word above, or click a token in the text, to see "
                                  "how byte-pair encoding builds it from single bytes.</p>")
            return
        if len(word) > 400:
            word = word[:400]
        traces = trace_text(word)
        muted = style.colours().muted
        parts = [f"<p>Byte-pair encoding of <b>{html.escape(tokens.visible(word))}</b>: the text "
                 "is first cut into pieces (a word with its leading space, a number, a run of "
                 "punctuation or whitespace); each piece starts as single bytes, then the pair "
                 "with the lowest rank in GPT-2's merge list is joined, again and again. "
                 "A part's rank is its token ID.</p>"]
        all_ids: list[int] = []
        for trace in traces:
            all_ids += trace.ids
            title = html.escape(tokens.visible(trace.text))
            if trace.special:
                parts.append(f"<p><b>{title}</b>: a special token, kept whole: ID 50256.</p>")
                continue
            rows = []
            for k, step in enumerate(trace.steps):
                chips = " ".join(
                    _chip_html(tokens.bytes_label(part)[0], j,
                               "font-weight:bold;" if step.pair and j == step.position else "")
                    for j, part in enumerate(step.parts))
                if step.pair is None:
                    what = f"start: {len(step.parts)} byte(s)"
                else:
                    a, b = (tokens.bytes_label(p)[0] for p in step.pair)
                    what = (f"merge {html.escape(a)} + {html.escape(b)} \u2192 "
                            f"{html.escape(a + b)} (rank {step.rank})")
                rows.append(f"<tr><td style='color:{muted}'>{k}</td><td>{what}</td>"
                            f"<td>{chips}</td></tr>")
            ids = ", ".join(str(i) for i in trace.ids)
            parts.append(f"<p><b>Piece \u201c{title}\u201d</b> \u2192 "
                         f"{len(trace.tokens)} token(s) [{ids}]</p>"
                         "<table cellspacing=4>" + "".join(rows) + "</table>")
        parts.append(f"<p><b>Result:</b> [{', '.join(str(i) for i in all_ids)}]</p>")
        if self.result is not None and 0 < len(self.result.text) <= 200 \
                and self.result.text != word:
            parts.append(f"<p style='color:{muted}'>The whole text "
                         f"\u201c{html.escape(tokens.visible(self.result.text))}\u201d is "
                         f"[{', '.join(str(i) for i in self.result.ids)}].</p>")
        self.bpe_view.setHtml("".join(parts))
