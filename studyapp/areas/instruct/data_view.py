"""The Instruct lab's data: where the entries come from, the book's split, one entry's prompt.

`DataBox` (the lab's left side) offers the bundled `instruction-data.json` or any JSON list of
{instruction, input, output} entries. `DataView` (the Data tab) shows the split sizes, how the
entries fit the model's context, the warnings of skipped entries, and any entry as
`format_input` writes it (section 7.2) beside its expected response.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QSpinBox,
                               QVBoxLayout, QWidget)

from studyapp.areas.instruct import core
from studyapp.shell import style
from studyapp.shell.finetune_lab import DataSourceBox
from studyapp.widgets.forms import push_button, wrapped_label

JSON_FILTER = "Instruction data (*.json);;All files (*)"
PARTS = (("train", "Training"), ("test", "Test"), ("val", "Validation"))


class DataBox(DataSourceBox):
    """The entries: the book's bundled file or a JSON file of the learner's."""

    def __init__(self, parent=None):
        super().__init__("Instruction entries to fine-tune on (section 7.2)", core.BUNDLED_LABEL,
                         core.BUNDLED_DESCRIPTION, parent)
        self.default_button = push_button("Book's data", core.BUNDLED_DESCRIPTION,
                                          lambda: self.chosen.emit(core.DataChoice()))
        self.file_button = push_button(
            "Open JSON\u2026", "Any JSON list of entries with 'instruction', 'input' (may be "
            "empty) and 'output' text; a malformed entry is skipped and named",
            self.open_dialog)
        self.lay_out((self.default_button, self.file_button))

    def show_choice(self, choice: core.DataChoice, pending: bool = False) -> None:
        text = choice.describe() if choice.is_default else Path(choice.path).name
        self.show_source(text, core.BUNDLED_DESCRIPTION if choice.is_default else choice.path,
                         "Reading" if pending else "")

    def open_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Open instruction data", str(Path.home()),
                                              JSON_FILTER)
        if path:
            self.chosen.emit(core.DataChoice(path))


class DataView(QWidget):
    """Split sizes, context fit, warnings, and one entry's prompt and response."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._split = None
        self.sizes = wrapped_label("Reading the instruction data\u2026",
                                   "The book's split: the first 85% train, the next 10% test, "
                                   "the last 5% validate, without shuffling (section 7.2)")
        self.fit = wrapped_label(tip="Entries longer than the model's context are cut to it or "
                                     "left out (the book's allowed_max_length, section 7.3)")
        self.warnings = wrapped_label(selectable=True)
        self.warnings.setVisible(False)
        style.on_change(self.warnings,
                        lambda c: self.warnings.setStyleSheet(f"color: {c.warning};"))

        self.part = QComboBox()
        for key, label in PARTS:
            self.part.addItem(label, key)
        self.part.setToolTip("Which part of the split to read an entry from")
        self.index = QSpinBox()
        self.index.setRange(0, 0)
        self.index.setToolTip("Entry number within that part")
        self.part.currentIndexChanged.connect(self._part_changed)
        self.index.valueChanged.connect(lambda _v: self._show_entry())
        picker = QHBoxLayout()
        picker.addWidget(QLabel("Entry"))
        picker.addWidget(self.part)
        picker.addWidget(self.index)
        picker.addStretch(1)

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.prompt = QPlainTextEdit()
        self.prompt.setReadOnly(True)
        self.prompt.setFont(mono)
        self.prompt.setToolTip("format_input(entry): the Alpaca-style prompt the model is given "
                               "(section 7.2)")
        self.response = QPlainTextEdit()
        self.response.setReadOnly(True)
        self.response.setFont(mono)
        self.response.setMaximumHeight(90)
        self.response.setToolTip("What training appends to the prompt: the response header "
                                 "and the expected output (section 7.2)")
        for box in (self.prompt, self.response):
            box.setMinimumHeight(40)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.sizes)
        layout.addWidget(self.fit)
        layout.addWidget(self.warnings)
        layout.addLayout(picker)
        layout.addWidget(self.prompt, 1)
        layout.addWidget(self.response)

    def show_loading(self, choice: core.DataChoice) -> None:
        self.sizes.setText(f"Reading {choice.describe()}\u2026")

    def show_loaded(self, record: dict) -> None:
        self._split = record["split"]
        self.sizes.setText(core.split_line(self._split.sizes()))
        self.fit.setText(core.fit_line(record["fitted"], record["too_long"]))
        warnings = record.get("warnings") or []
        shown = warnings[:8]
        more = len(warnings) - len(shown)
        text = "\n".join(shown) + (f"\n\u2026 and {more} more" if more > 0 else "")
        self.warnings.setText(text)
        self.warnings.setVisible(bool(warnings))
        self._part_changed()

    def select(self, part: str, index: int) -> None:
        i = self.part.findData(part)
        if i >= 0:
            self.part.setCurrentIndex(i)
        self.index.setValue(index)

    def selection(self) -> tuple[str, int]:
        return self.part.currentData(), self.index.value()

    def _part_changed(self, *_args) -> None:
        if self._split is None:
            return
        n = len(getattr(self._split, self.part.currentData()))
        self.index.setRange(0, max(0, n - 1))
        self._show_entry()

    def _show_entry(self) -> None:
        from model.instruct.data import format_input, format_response

        if self._split is None:
            return
        entries = getattr(self._split, self.part.currentData())
        if not entries:
            self.prompt.setPlainText("This part of the split is empty.")
            self.response.clear()
            return
        entry = entries[min(self.index.value(), len(entries) - 1)]
        self.prompt.setPlainText(format_input(entry))
        self.response.setPlainText(format_response(entry).lstrip("\n"))
