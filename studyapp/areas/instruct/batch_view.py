"""The batch view: a real training batch cell by cell, as the loss sees it (section 7.3).

Each example takes two rows of the grid: its input tokens and its target tokens (the inputs
shifted by one). Padding inputs (50256) are drawn dark; targets the loss ignores (-100) are
drawn faint with "-100", those ignored because they belong to the prompt (exercise 7.2's
masking) in the warning colour; the one end token each example keeps as a target is outlined
in bold. The batch is collated by `model.instruct.view_entries`, exactly as fine-tuning does,
on a `LatestJob` (it needs torch).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel,
                               QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout)

from studyapp.areas.instruct import core
from studyapp.shell import style
from studyapp.shell.finetune_lab import TokenizerJobView


def cell_label(text: str) -> str:
    """A token as a grid cell shows it: spaces as dots, newlines as arrows."""
    return text.replace(" ", "\u00b7").replace("\n", "\u21b5").replace("\t", "\u2192") or "\u2205"


class BatchGrid(TokenizerJobView):
    shown = Signal(object)  # the BatchView drawn (tests wait on it)
    failed = Signal(str)

    def __init__(self, tokenizer_source, parent=None):
        super().__init__(tokenizer_source, "instruct-batch", 150, parent)
        self._split = None
        self._context: int | None = None
        self._too_long = "truncate"
        self._batch_size = 8
        self.view = None  # the BatchView shown
        self.batch = QSpinBox()
        self.batch.setRange(0, 0)
        self.batch.setToolTip("Which batch of the training part, in file order (fine-tuning "
                              "shuffles the order every epoch)")
        self.batch.valueChanged.connect(lambda _v: self.request())
        self.mask_prompt = QCheckBox("Mask the prompt")
        self.mask_prompt.setToolTip("Replace the targets of the prompt's tokens by -100 too, so "
                                    "the loss counts the response only (exercise 7.2)")
        self.mask_prompt.toggled.connect(lambda _on: self.request())
        self.show_ids = QCheckBox("Token IDs")
        self.show_ids.setToolTip("Show token IDs instead of the tokens' text")
        self.show_ids.toggled.connect(lambda _on: self._draw())
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Batch"))
        controls.addWidget(self.batch)
        controls.addWidget(self.mask_prompt)
        controls.addWidget(self.show_ids)
        controls.addStretch(1)
        self.summary = QLabel("The batch appears once the data is read.")
        self.summary.setWordWrap(True)
        self.summary.setToolTip("custom_collate_fn (section 7.3): pad each batch to its longest "
                                "example plus one end token, shift the targets by one, and "
                                "replace every padding target after the first by -100")
        self.legend = QLabel()
        self.legend.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setMinimumHeight(80)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(controls)
        layout.addWidget(self.summary)
        layout.addWidget(self.legend)
        layout.addWidget(self.table, 1)
        self.job.result.connect(self._on_view)
        self.job.failed.connect(self._on_failed)
        style.on_change(self, lambda c: self._draw())

    def set_data(self, split, context_length: int, too_long: str, batch_size: int) -> None:
        self._split, self._context, self._too_long = split, context_length, too_long
        self._batch_size = max(1, batch_size)
        self.batch.blockSignals(True)
        self.batch.setRange(0, core.batch_count(split, self._batch_size) - 1)
        self.batch.blockSignals(False)
        self.request()

    def set_batch_size(self, batch_size: int) -> None:
        if self._split is not None and batch_size != self._batch_size:
            self.set_data(self._split, self._context, self._too_long, batch_size)

    def request(self) -> None:
        if self._split is None:
            return
        entries = core.batch_entries(self._split, self.batch.value(), self._batch_size)
        if not entries:
            return
        context, too_long, mask = self._context, self._too_long, self.mask_prompt.isChecked()
        tokenizer_source = self._tokenizer_source

        def job(token):
            from model.instruct.batches import view_entries

            yield view_entries(entries, tokenizer_source(), context, mask, too_long)

        self.job.request(job)

    def _on_view(self, view) -> None:
        self.view = view
        self.summary.setText(core.batch_line(view) + "".join(f" {n[0].upper()}{n[1:]}."
                                                             for n in view.notes))
        self._draw()
        self.shown.emit(view)

    def _on_failed(self, message: str) -> None:
        self.summary.setText(f"This batch cannot be shown: {message}.")
        self.failed.emit(message)

    def _draw(self) -> None:
        c = style.colours()
        self.legend.setText(
            f"<span style='background:{c.special_chip_fill}; color:{c.special_chip_text}'>"
            f"&nbsp;padding input&nbsp;</span> &nbsp;"
            f"<span style='background:{c.chip_fills[1]}; color:{c.chip_text}'>&nbsp;counted "
            f"target&nbsp;</span> &nbsp;<b>bold</b>: the end token the model learns to write "
            f"&nbsp;<span style='color:{c.muted}'>-100: ignored padding</span> &nbsp;"
            f"<span style='color:{c.warning}'>-100: ignored prompt</span>")
        view = self.view
        if view is None:
            return
        ids = self.show_ids.isChecked()
        rows, width = view.shape
        self.table.setUpdatesEnabled(False)
        self.table.clear()
        self.table.setRowCount(2 * rows)
        self.table.setColumnCount(width)
        self.table.setHorizontalHeaderLabels([str(j) for j in range(width)])
        labels = []
        bold = QFont(self.table.font())
        bold.setBold(True)
        for i, cells in enumerate(view.rows):
            labels += [f"{i} input", f"{i} target"]
            for cell in cells:
                inp = QTableWidgetItem(str(cell.input_id) if ids else cell_label(cell.input_text))
                inp.setToolTip(f"example {i}, position {cell.position}: input "
                               f"{cell.input_text!r} = {cell.input_id}"
                               + (" (padding)" if cell.padding else ""))
                if cell.padding:
                    inp.setBackground(QBrush(QColor(c.special_chip_fill)))
                    inp.setForeground(QBrush(QColor(c.special_chip_text)))
                self.table.setItem(2 * i, cell.position, inp)
                if cell.ignored:
                    tgt = QTableWidgetItem(str(view.ignore_index))
                    why = ("it predicts a prompt token (masked)" if cell.prompt_masked
                           else "padding after the end token")
                    tgt.setToolTip(f"example {i}, position {cell.position}: target -100, the "
                                   f"loss ignores it: {why}")
                    tgt.setForeground(QBrush(QColor(c.warning if cell.prompt_masked
                                                    else c.muted)))
                else:
                    tgt = QTableWidgetItem(str(cell.target_id) if ids
                                           else cell_label(cell.target_text))
                    tgt.setToolTip(f"example {i}, position {cell.position}: target "
                                   f"{cell.target_text!r} = {cell.target_id}, counted by the loss"
                                   + (" (the end token: the model learns to stop)"
                                      if cell.end_target else ""))
                    tgt.setBackground(QBrush(QColor(c.chip_fills[1])))
                    tgt.setForeground(QBrush(QColor(c.chip_text)))
                    if cell.end_target:
                        tgt.setFont(bold)
                self.table.setItem(2 * i + 1, cell.position, tgt)
        self.table.setVerticalHeaderLabels(labels)
        self.table.setUpdatesEnabled(True)
