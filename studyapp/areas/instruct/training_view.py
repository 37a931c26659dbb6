"""The Fine-tuning tab: the live loss curves, this run's losses beside the book's, and what the
model's size allows (sections 7.5 and 7.6).

The plot is the shared `studyapp.widgets.loss_plot.LossPlot` (the Training and Classify labs
draw theirs with it); the book's figures are GPT-2 medium's after 2 epochs.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from studyapp.areas.instruct import core
from studyapp.shell import style
from studyapp.widgets.loss_plot import LossPlot


class TrainingView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.loss_plot = LossPlot(empty_message="No loss yet: press Fine-tune, and the loss on "
                                                "the training batches\nand the validation "
                                                "loss are drawn here.")
        self.loss_plot.setToolTip("Cross-entropy over the targets that are not -100 (section "
                                  "7.6, figure 7.17)")
        self.loss_plot.setMinimumSize(160, 120)
        self.losses = QLabel()
        self.losses.setWordWrap(True)
        self.losses.setToolTip("The book's figures: section 7.6, GPT-2 medium, 2 epochs")
        self.show_losses(None, None)
        self.size_note = QLabel(core.SIZE_NOTE)
        self.size_note.setWordWrap(True)
        style.on_change(self.size_note,
                        lambda c: self.size_note.setStyleSheet(f"color: {c.muted};"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.losses)
        layout.addWidget(self.loss_plot, 1)
        layout.addWidget(self.size_note)

    def show_losses(self, first: dict | None, last: dict | None) -> None:
        self.losses.setText(core.losses_line(first, last))
