"""The Attention lab's printed results (chapter 3 step by step): a step's page and its blocks,
each block the numbers as PyTorch prints them with a heatmap below.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QFrame, QGridLayout, QHBoxLayout, QLabel, QScrollArea,
                               QSizePolicy, QVBoxLayout, QWidget)

from studyapp.shell import style
from studyapp.areas.attention import core
from studyapp.areas.attention.tips import STEP_SAVE_TIP
from studyapp.widgets.heatmap import HeatmapWidget


def _mono_font() -> QFont:
    # Built when a widget needs it: a QFont made at import time may precede the QApplication.
    font = QFont("DejaVu Sans Mono")
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSize(8)
    return font


class BlockWidget(QFrame):
    """One printed result: title, numbers as PyTorch prints them, and a heatmap below."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        self.title.setWordWrap(True)
        self.note = QLabel()
        style.set_text_role(self.note, "muted")
        self.note.setWordWrap(True)
        self.numbers = QLabel()
        self.numbers.setFont(_mono_font())
        self.numbers.setTextFormat(Qt.TextFormat.PlainText)
        self.numbers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.heatmap: HeatmapWidget | None = None
        self._shown: tuple | None = None  # what the heatmap last drew (skip identical redraws)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._layout.addWidget(self.title)
        self._layout.addWidget(self.numbers)
        self._layout.addWidget(self.note)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

    @property
    def has_heatmap(self) -> bool:
        return self.heatmap is not None and not self.heatmap.isHidden()

    def show_block(self, block: core.Block, highlight_row: int | None = None) -> None:
        # Editing one input or seed leaves many blocks as they were; redrawing a heatmap is the
        # costly part of a live update, so identical ones are left alone.
        key = (block.title, block.text, block.note, highlight_row,
               None if block.matrix is None else block.matrix.tobytes(),
               tuple(block.row_labels or ()), tuple(block.col_labels or ()))
        if key == self._shown:
            return
        self._shown = key
        self.title.setText(block.title)
        self.numbers.setText(block.text)
        self.note.setText(block.note)
        self.note.setVisible(bool(block.note))
        if block.matrix is None:
            if self.heatmap is not None:
                self.heatmap.hide()
            return
        if self.heatmap is None:
            self.heatmap = HeatmapWidget(colormap="viridis", max_label_chars=9)
            self.heatmap.save_button.setVisible(False)
            self.heatmap.save_button.setToolTip(STEP_SAVE_TIP)
            self._layout.addWidget(self.heatmap, 0, Qt.AlignmentFlag.AlignLeft)
        self.heatmap.show()
        rows, cols = block.matrix.shape
        finite = block.matrix[np.isfinite(block.matrix)]
        signed = bool(finite.size and finite.min() < 0)
        # Signed numbers get a diverging map centred on 0; weights and scores keep viridis.
        self.heatmap.set_symmetric(signed)
        self.heatmap.set_colormap("CET-D1A" if signed else "viridis")
        self.heatmap.set_matrix(block.matrix, block.row_labels, block.col_labels)
        self.heatmap.set_highlight(row=highlight_row)
        self.heatmap.setFixedSize(min(460, 130 + 52 * cols), min(250, 96 + 26 * rows))


class StepPage(QScrollArea):
    """A step: its own settings, an explanation, what it demonstrates, and its blocks in two
    columns (a block without a heatmap spans both)."""

    def __init__(self, controls: list[tuple[str, QWidget]], parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        self.layout_ = QVBoxLayout(inner)
        self.controls_row = QHBoxLayout()
        for label, widget in controls:
            self.controls_row.addWidget(QLabel(label))
            self.controls_row.addWidget(widget)
            self.controls_row.addSpacing(12)
        self.field_problem = QLabel()
        style.set_text_role(self.field_problem, "error")
        self.field_problem.setWordWrap(True)
        self.controls_row.addWidget(self.field_problem, 1)
        self.explanation = QLabel("Loading PyTorch\u2026")
        self.explanation.setWordWrap(True)
        self.checks = QLabel()
        style.set_text_role(self.checks, "success")
        self.checks.setWordWrap(True)
        if controls:
            self.layout_.addLayout(self.controls_row)
        self.layout_.addWidget(self.explanation)
        self.layout_.addWidget(self.checks)
        self.blocks_layout = QGridLayout()
        self.blocks_layout.setColumnStretch(0, 1)
        self.blocks_layout.setColumnStretch(1, 1)
        self.layout_.addLayout(self.blocks_layout)
        self.layout_.addStretch(1)
        self.blocks: list[BlockWidget] = []
        self.setWidget(inner)

    def show_step(self, step: core.Step, query_index: int, num_tokens: int) -> None:
        self.explanation.setText(step.explanation)
        self.checks.setText("\n".join("\u2713 " + c for c in step.checks))
        self.checks.setVisible(bool(step.checks))
        while len(self.blocks) < len(step.blocks):
            self.blocks.append(BlockWidget(self.widget()))
        for widget in self.blocks:
            self.blocks_layout.removeWidget(widget)
        row = col = 0
        for widget, block in zip(self.blocks, step.blocks):
            # Steps 1 and 2 follow one query; outline its row in their full matrices.
            full = (step.number <= 2 and block.matrix is not None
                    and block.matrix.shape[0] == num_tokens > 1)
            widget.show_block(block, query_index if full else None)
            if block.matrix is None:
                if col:
                    row, col = row + 1, 0
                self.blocks_layout.addWidget(widget, row, 0, 1, 2)
                row += 1
            else:
                self.blocks_layout.addWidget(widget, row, col, Qt.AlignmentFlag.AlignTop)
                row, col = (row, 1) if col == 0 else (row + 1, 0)
            widget.show()  # after joining the layout: a parentless show() would open a window
        for widget in self.blocks[len(step.blocks):]:
            widget.hide()

