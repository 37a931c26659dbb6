"""The Tokenizer lab's "Chapter 2 tokenizers" tab (chapter 2, sections 2.2 to 2.5): the
chapter's SimpleTokenizerV1 and V2, built on The Verdict or on the text, next to GPT-2's BPE.
The comparison is computed by `core.chapter2` (no Qt)."""

from __future__ import annotations

import html

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QTextBrowser, QVBoxLayout, QWidget

from studyapp.areas.tokenizer import core
from studyapp.areas.tokenizer.rich_text import chip_html as _chip_html
from studyapp.shell import style

CORPUS_VERDICT, CORPUS_TEXT = "The Verdict (the book's corpus)", "This text"


class Chapter2Tab:
    """Part of `TokenizerLab`: builds the tab on the lab's `tabs` and draws the comparison for
    the lab's text; also reads The Verdict once for the lab's tabs (`_verdict_text`)."""

    def _build_chapter2_tab(self) -> None:
        # Chapter 2's simple tokenizers beside BPE
        ch2 = QWidget()
        self.corpus_box = QComboBox()
        self.corpus_box.addItems([CORPUS_VERDICT, CORPUS_TEXT])
        self.corpus_box.setToolTip("The text the simple tokenizer's vocabulary is built from: "
                                   "The Verdict as in chapter 2, section 2.3, or this text; "
                                   "other words fail in V1 and become <|unk|> in V2 "
                                   "(section 2.4)")
        self.corpus_box.currentIndexChanged.connect(self._chapter2_changed)
        self.simple_view = QTextBrowser()
        self.bpe_side_view = QTextBrowser()
        row = QHBoxLayout()
        row.addWidget(QLabel("Vocabulary built from:"))
        row.addWidget(self.corpus_box)
        row.addStretch(1)
        sides = QHBoxLayout()
        sides.addWidget(self.simple_view, 3)
        sides.addWidget(self.bpe_side_view, 2)
        ch2_layout = QVBoxLayout(ch2)
        ch2_layout.addLayout(row)
        ch2_layout.addLayout(sides, 1)
        self.tabs.addTab(ch2, "Chapter 2 tokenizers")
        self.tabs.setTabToolTip(1, "The chapter's SimpleTokenizerV1 and V2, with <|unk|> and "
                                   "<|endoftext|>, next to BPE (chapter 2, sections 2.2 to 2.5)")

    def _chapter2_changed(self) -> None:
        self._chapter2_dirty = True
        self._refresh_visible_tab()

    def _verdict_text(self) -> str:
        if self._verdict is None:
            from model.resources import read_the_verdict

            self._verdict = read_the_verdict()
        return self._verdict

    def _render_chapter2(self) -> None:
        self._chapter2_dirty = False
        text = self.result.text if self.result else self.editor.toPlainText()
        if not text.strip():
            self.simple_view.setHtml("<p>Type some text above to compare the chapter's simple "
                                     "tokenizer with BPE.</p>")
            self.bpe_side_view.setHtml("")
            return
        use_text = self.corpus_box.currentText() == CORPUS_TEXT
        corpus = text if use_text else self._verdict_text()
        name = "this text" if use_text else "The Verdict"
        r = core.chapter2(text, corpus, name)
        unk = set(r.unknown)
        c = style.colours()
        tokens = " ".join(_chip_html(t, i, f"text-decoration:underline; color:{c.chip_error_text};"
                                     if t in unk else "")
                          for i, t in enumerate(r.tokens[:400]))
        more = f" \u2026 ({len(r.tokens) - 400:,} more)" if len(r.tokens) > 400 else ""
        if r.v1_error:
            v1 = f"<span style='color:{c.error}'><b>fails:</b> {html.escape(r.v1_error)}</span>"
        else:
            v1 = f"<b>ok</b>, every word is known: {self._ids(r.v1_ids)}"
        v2_ids = self._ids(r.v2_ids, highlight={r.unk_id: c.error, r.endoftext_id: c.accent})
        unknown = (", ".join(html.escape(w) for w in r.unknown[:12]) or "none")
        note = f"<p><i>{html.escape(r.notice)}</i></p>" if r.notice else ""
        self.simple_view.setHtml(
            f"<h4>The chapter's simple tokenizer (sections 2.2\u20132.4)</h4>{note}"
            f"<p>Vocabulary from {html.escape(r.corpus_name)}: <b>{r.vocab_size:,}</b> words; "
            f"<b>{r.vocab_size_specials:,}</b> with &lt;|endoftext|&gt; ({r.endoftext_id}) and "
            f"&lt;|unk|&gt; ({r.unk_id}).</p>"
            f"<p>Split on whitespace and punctuation: {len(r.tokens):,} tokens<br>{tokens}{more}"
            f"</p><p><b>SimpleTokenizerV1:</b> {v1}</p>"
            f"<p><b>SimpleTokenizerV2:</b> unknown words become &lt;|unk|&gt; "
            f"({r.unk_id}): {v2_ids}</p>"
            f"<p>Unknown words: {unknown}</p>"
            f"<p>V2 decodes back to: <i>{html.escape(r.v2_decoded[:1500])}</i></p>")
        splits = "".join(
            f"<li>{html.escape(w)} \u2192 "
            + " ".join(_chip_html(p, i) for i, p in enumerate(pieces)) + "</li>"
            for w, pieces in r.bpe_unknown_split.items())
        self.bpe_side_view.setHtml(
            "<h4>GPT-2 BPE on the same text</h4>"
            f"<p>{len(r.bpe_ids):,} tokens from a vocabulary of 50,257. It never fails: a word "
            "it does not know is split into smaller pieces it knows, down to single bytes if "
            "need be.</p>"
            f"<p>{self._ids(r.bpe_ids)}</p>"
            + (f"<p>The simple tokenizer's unknown words, in BPE:</p><ul>{splits}</ul>"
               if splits else ""))

    @staticmethod
    def _ids(ids: list[int] | None, highlight: dict | None = None, limit: int = 300) -> str:
        if not ids:
            return "[]"
        highlight = highlight or {}
        shown = []
        for i in ids[:limit]:
            colour = highlight.get(i)
            shown.append(f"<b style='color:{colour}'>{i}</b>" if colour else str(i))
        more = f", \u2026 {len(ids) - limit:,} more" if len(ids) > limit else ""
        return "[" + ", ".join(shown) + more + "]"
