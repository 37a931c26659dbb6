"""The Embeddings lab's "book demo" controls (chapter 2, sections 2.7 and 2.8): the vocabulary
size, dimension and context length of the embedding layers the chapter builds, and the token
IDs they look up (the book's 2, 3, 5, 1, or the text's own GPT-2 IDs)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from studyapp.areas.embeddings import core
from studyapp.tokens import sanitize
from studyapp.widgets.forms import STRETCH, number_box, push_button, row, text_field


class DemoControls:
    """Part of `EmbeddingsLab`: the demo's inputs, in the row `demo_box` the lab shows in book
    demo mode (`core.demo_answer` reads them)."""

    def _build_demo_controls(self) -> None:
        self.demo_vocab = number_box(
            1, 50257, 6, tip="Vocabulary size: rows of torch.nn.Embedding(vocab_size, "
            "output_dim); the book's small example has 6 (chapter 2, section 2.7)")
        self.demo_dim = number_box(
            1, 1024, 3, tip="Embedding dimension (output_dim): numbers per vector; 3 in section "
            "2.7's example, 256 in section 2.8 (chapter 2)")
        self.demo_context = number_box(
            1, 1024, 4, tip="Context length: rows of the positional embedding layer, one vector "
            "per position (chapter 2, section 2.8)")
        self.demo_ids = text_field(
            QLineEdit(", ".join(str(i) for i in core.BOOK_IDS)), "token IDs, e.g. 2, 3, 5, 1",
            "Token IDs to look up, each picking a row of the weight matrix; section 2.7 uses "
            "2, 3, 5, 1 (chapter 2)", min_width=70, max_width=160)
        self.use_text_ids = push_button(
            "Text's IDs",
            "Use the GPT-2 token IDs of the text above (byte pair encoding, chapter 2, section "
            "2.5); sets the vocabulary to 50,257", self._use_text_ids)
        self.demo_box = QWidget()
        labelled = [(QLabel(label), widget) for label, widget in (
            ("vocab", self.demo_vocab), ("dimension", self.demo_dim),
            ("context", self.demo_context), ("IDs", self.demo_ids))]
        row(*(w for pair in labelled for w in pair), self.use_text_ids, STRETCH,
            parent=self.demo_box, margins=0)

    def _demo_sizes(self) -> dict:
        """The demo's layer sizes, by their names in a saved state."""
        return {"vocab_size": self.demo_vocab, "dim": self.demo_dim,
                "context": self.demo_context}

    def _use_text_ids(self) -> None:
        from model.tokenizer import get_tokenizer

        text, _ = sanitize(self.editor.toPlainText())
        ids = get_tokenizer().encode(text)
        self.demo_vocab.setValue(50257)
        self.demo_ids.setText(", ".join(str(i) for i in ids[:1024]))
