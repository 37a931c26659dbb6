"""The Classify lab's data: where the labelled texts come from, and how the book prepares them.

`DataBox` (the lab's left side) offers the bundled "fiction or notes?" pair, one CSV/TSV (the
book's SMSSpamCollection.tsv or train.csv) or two or more plain-text files, one class each, and
says where the book's chapter 6 code leaves the spam data. `PreparationView` shows the steps
of section 6.2 and 6.3 as they happen (read, balance, split, pad) and a preview of one batch:
text, token IDs, padding, label.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel,
                               QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from studyapp.areas.classify import core
from studyapp.shell import style
from studyapp.shell.finetune_lab import DataSourceBox
from studyapp.widgets.forms import push_button

DATA_FILTER = ("Labelled texts (*.csv *.tsv SMSSpamCollection *.txt *.md);;CSV or TSV "
               "(*.csv *.tsv);;All files (*)")


class DataBox(DataSourceBox):
    """The labelled texts: the bundled pair, a table, or one text file per class."""

    def __init__(self, parent=None):
        super().__init__("Labelled texts to classify (section 6.2)", core.DEFAULT_LABEL,
                         core.DEFAULT_DESCRIPTION, parent)
        self.default_button = push_button("Fiction or notes?",
                                          core.DEFAULT_DESCRIPTION + ": ready at once",
                                          lambda: self.chosen.emit(core.DataChoice()))
        self.file_button = push_button(
            "CSV/TSV\u2026", "A table with a label column and a text column: the book's "
            "SMSSpamCollection.tsv (ham<TAB>text), its train.csv (Label,Text; validation.csv "
            "and test.csv beside it keep the book's split) or your own (section 6.2)",
            self.open_table_dialog)
        self.texts_button = push_button(
            "Text files\u2026", "Two or more plain-text files, one class each (named after the "
            "file), cut into sentences (Markdown: into lines)", self.open_texts_dialog)
        self.help = QLabel(core.SMS_HELP)
        self.help.setWordWrap(True)
        self.help.setTextFormat(Qt.TextFormat.RichText)
        self.help.setToolTip(core.SMS_DETAILS)
        style.on_change(self.help, lambda c: self.help.setStyleSheet(f"color: {c.muted};"))
        self.lay_out((self.default_button, self.file_button), self.texts_button, self.help)

    def show_choice(self, choice: core.DataChoice, pending: bool = False) -> None:
        text = choice.describe()
        self.show_source(text, core.DEFAULT_DESCRIPTION if choice.is_default else text,
                         "Preparing" if pending else "")

    def open_table_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open labelled texts", str(Path.home()),
                                              DATA_FILTER)
        if path:
            self.chosen.emit(core.DataChoice((path,)))

    def open_texts_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open one text file per class",
                                                str(Path.home()),
                                                "Text (*.txt *.md);;All files (*)")
        if paths:
            self.chosen.emit(core.DataChoice(tuple(paths)))


class PreparationView(QWidget):
    """The preparation's steps and a batch preview table."""

    COLUMNS = ("Text", "Token IDs", "Tokens + padding", "Label")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.steps = QLabel("The data is prepared when the lab opens.")
        self.steps.setWordWrap(True)
        self.steps.setTextFormat(Qt.TextFormat.RichText)
        self.steps.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.steps.setToolTip("Section 6.2: balance by undersampling, split 70/10/20 with a "
                              "fixed seed; section 6.3: pad to the longest text with "
                              "<|endoftext|>")
        self.batch = QSpinBox()
        self.batch.setRange(1, 1)
        self.batch.setPrefix("batch ")
        self.batch.setToolTip("Which batch of the training split to preview (8 texts each, in "
                              "the split's order)")
        self.batch.valueChanged.connect(lambda _v: self._show_batch())
        title = QLabel("<b>A training batch as the model sees it</b>")
        title.setWordWrap(True)
        title.setToolTip("Every text of a batch has the same length: its token IDs, then the "
                         "padding token 50256 up to the longest training text (section 6.3)")
        row = QHBoxLayout()
        row.addWidget(title, 1)
        row.addWidget(self.batch)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.table.setMinimumHeight(90)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(0, 220)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.steps)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        self._data = None
        self._batch_size = 8

    def show_loading(self, choice: core.DataChoice) -> None:
        self.steps.setText(f"Reading {choice.describe()}\u2026")

    def show_loaded(self, record: dict) -> None:
        counts = ", ".join(f"{n:,} {name}" for name, n in record["loaded"].items())
        self.steps.setText(f"<b>1. Read</b> {sum(record['loaded'].values()):,} texts: "
                           f"{counts}.<br>Balancing, splitting, tokenizing\u2026")

    def show_prepared(self, record: dict, batch_size: int = 8) -> None:
        self.steps.setText("<br>".join(core.preparation_lines(record)))
        self._data = record["data"]
        self._batch_size = max(1, batch_size)
        batches = max(1, -(-len(self._data.train) // self._batch_size))
        self.batch.blockSignals(True)
        self.batch.setRange(1, batches)
        self.batch.setSuffix(f" of {batches}")
        self.batch.blockSignals(False)
        self._show_batch()

    def set_batch_size(self, size: int) -> None:
        if self._data is not None and size != self._batch_size:
            self._batch_size = max(1, size)
            batches = max(1, -(-len(self._data.train) // self._batch_size))
            self.batch.setRange(1, batches)
            self.batch.setSuffix(f" of {batches}")
            self._show_batch()

    def _show_batch(self) -> None:
        if self._data is None:
            return
        from model.classify import batch_preview

        start = (self.batch.value() - 1) * self._batch_size
        rows = batch_preview(self._data.train, self._data.labels, start, self._batch_size)
        cells = core.preview_rows(rows)
        self.table.setRowCount(len(cells))
        for r, (row, raw) in enumerate(zip(cells, rows)):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setToolTip(f"{raw['text']}\n\n({raw['source']})")
                elif c == 1:
                    item.setToolTip(", ".join(str(i) for i in raw["token_ids"]))
                self.table.setItem(r, c, item)
