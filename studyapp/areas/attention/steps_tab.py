"""The Attention lab's second tab: the book's chapter 3 example, step by step and editable.

The inputs table holds "Your journey starts with one step" (`model.chapter3_example`); the
settings each step uses (d_out, seeds, dropout rate, heads) are one table, `FIELDS`, that builds
their boxes and drives reset, save and restore. Edits are checked at once (a bad cell or field
is marked where it is) and computed after a short pause on a worker, the newest edit winning.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QHeaderView,
                               QLabel, QPushButton, QSplitter, QStyledItemDelegate,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from model import chapter3_example as book
from studyapp.shell import style
from studyapp.areas.attention import core
from studyapp.areas.attention.step_page import StepPage
from studyapp.areas.attention.tips import (ADD_COL_TIP, ADD_ROW_TIP, D_OUT_TIP, DROPOUT_TIP,
                                           EDITOR_TIP, HEADS_TIP, QUERY_TIP, REMOVE_COL_TIP,
                                           REMOVE_ROW_TIP, RESET_TIP, SEED_CAUSAL_TIP,
                                           SEED_DROPOUT_TIP, SEED_MULTIHEAD_TIP,
                                           SEED_TRAINABLE_TIP, STEP_TIPS, TABLE_TIP, cell_tip)
from studyapp.shell.jobs import LatestJob
from studyapp.widgets.forms import add_tabs, number_box

SEED_MAX = 2**31 - 1


@dataclass(frozen=True)
class Field:
    """One setting of the steps: a `core.StepParams` attribute, also its saved-state key."""

    key: str
    label: str
    page: int | None  # the step page (0-based) that shows it; None: the shared settings
    default: float
    low: float
    high: float
    tip: str
    decimals: int | None = None  # None: a whole number (QSpinBox)
    step: float = 1


FIELDS = (
    Field("d_out", "d_out", None, book.BOOK_D_OUT, 1, 16, D_OUT_TIP),
    Field("seed_trainable", "torch.manual_seed", 1, book.BOOK_SEED_TRAINABLE, 0, SEED_MAX,
          SEED_TRAINABLE_TIP),
    Field("seed_causal", "torch.manual_seed", 2, book.BOOK_SEED_CAUSAL, 0, SEED_MAX,
          SEED_CAUSAL_TIP),
    Field("dropout_rate", "dropout rate p", 3, book.BOOK_DROPOUT, 0.0, 0.95, DROPOUT_TIP,
          decimals=2, step=0.05),
    Field("seed_dropout", "torch.manual_seed", 3, book.BOOK_SEED_DROPOUT, 0, SEED_MAX,
          SEED_DROPOUT_TIP),
    Field("num_heads", "heads", 4, book.BOOK_NUM_HEADS, 1, 8, HEADS_TIP),
    Field("seed_multihead", "torch.manual_seed", 4, book.BOOK_SEED_MULTIHEAD, 0, SEED_MAX,
          SEED_MULTIHEAD_TIP),
)


def _set_quietly(widget, value) -> None:
    widget.blockSignals(True)
    if isinstance(widget, QComboBox):
        widget.setCurrentIndex(value)
    else:
        widget.setValue(value)
    widget.blockSignals(False)


def _cell_item(text: str, column: int) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setToolTip(cell_tip(column))
    return item


class _CellDelegate(QStyledItemDelegate):
    """The table's editor (a line edit Qt opens on a cell) explains itself too."""

    def createEditor(self, parent, option, index):  # noqa: N802
        editor = super().createEditor(parent, option, index)
        if editor is not None:
            editor.setToolTip(EDITOR_TIP)
        return editor


class StepByStepTab(QWidget):
    """The book's example through chapter 3, editable, printed to 4 decimals."""

    computed = Signal()  # a valid set of inputs was computed and shown
    rejected = Signal(str)  # the inputs are invalid; the last valid result stays

    DEBOUNCE_MS = 120

    def __init__(self, models, parent=None):
        super().__init__(parent)
        self.models = models
        self.steps: list[core.Step] | None = None
        self.params: core.StepParams | None = None
        self.problems: list[str] = []
        self._dirty: set[int] = set()
        self._filling = False
        self._job = LatestJob(self, delay_ms=self.DEBOUNCE_MS, name="attention-steps")
        self._job.result.connect(lambda answer: self._show_steps(*answer))
        self._job.failed.connect(lambda message: self._reject([message]))
        self.boxes = {f.key: number_box(f.low, f.high, f.default, step=f.step,
                                        decimals=f.decimals, tip=f.tip) for f in FIELDS}
        for key, box in self.boxes.items():
            setattr(self, key, box)  # self.d_out, self.seed_causal, ...: what tests and links use

        # Left: the inputs and the shared settings.
        self.table = QTableWidget(0, 0)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setFixedWidth(300)
        self.table.setMinimumHeight(120)
        self.table.setToolTip(TABLE_TIP)
        self.table.setItemDelegate(_CellDelegate(self.table))
        style.on_change(self.table, lambda c: self._mark_cells(  # rejected cells' fill
            core.parse_inputs(*self.cells())[1]), now=False)
        self.add_row = QPushButton("+ token")
        self.remove_row = QPushButton("\u2212 token")
        self.add_col = QPushButton("+ dim")
        self.remove_col = QPushButton("\u2212 dim")
        self.reset_button = QPushButton("The book's example")
        for button, tip in ((self.add_row, ADD_ROW_TIP), (self.remove_row, REMOVE_ROW_TIP),
                            (self.add_col, ADD_COL_TIP), (self.remove_col, REMOVE_COL_TIP),
                            (self.reset_button, RESET_TIP)):
            button.setToolTip(tip)
        buttons = QGridLayout()
        buttons.addWidget(self.add_row, 0, 0)
        buttons.addWidget(self.remove_row, 0, 1)
        buttons.addWidget(self.add_col, 1, 0)
        buttons.addWidget(self.remove_col, 1, 1)
        buttons.addWidget(self.reset_button, 2, 0, 1, 2)
        self.query_combo = QComboBox()
        self.query_combo.setToolTip(QUERY_TIP)
        self.table_problem = QLabel()
        style.set_text_role(self.table_problem, "error")
        self.table_problem.setWordWrap(True)
        self.table_problem.setTextFormat(Qt.TextFormat.PlainText)
        self.stale = QLabel()
        style.set_text_role(self.stale, "warning")
        self.stale.setWordWrap(True)
        form = QGridLayout()
        form.addWidget(QLabel("Query token"), 0, 0)
        form.addWidget(self.query_combo, 0, 1)
        form.addWidget(QLabel("d_out"), 1, 0)
        form.addWidget(self.d_out, 1, 1)
        # Top strip: the inputs and the shared settings, so the steps get the full width.
        top = QWidget()
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(4, 4, 4, 0)
        top_layout.addWidget(self.table)
        middle = QVBoxLayout()
        middle.addLayout(buttons)
        middle.addLayout(form)
        middle.addStretch(1)
        top_layout.addLayout(middle)
        right = QVBoxLayout()
        intro = QLabel("<b>Inputs</b>: one embedding vector per token, the book's \"Your "
                       "journey starts with one step\". Edit any number or word, add tokens or "
                       "dimensions; every step below updates as you type.")
        intro.setWordWrap(True)
        right.addWidget(intro)
        right.addWidget(self.table_problem)
        right.addWidget(self.stale)
        right.addStretch(1)
        top_layout.addLayout(right, 1)
        top.setMaximumHeight(190)

        # Below: one page per step, with the step's own settings.
        self.pages = [StepPage([(f.label, self.boxes[f.key]) for f in FIELDS if f.page == index])
                      for index in range(len(core.STEP_TITLES))]
        self.step_tabs = add_tabs(QTabWidget(), zip(
            self.pages, (title for _, _, title in core.STEP_TITLES), STEP_TIPS))

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.step_tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self.table.itemChanged.connect(self._table_edited)
        for box in self.boxes.values():
            box.valueChanged.connect(self.schedule)
        self.query_combo.currentIndexChanged.connect(self.schedule)
        self.add_row.clicked.connect(self._add_row)
        self.remove_row.clicked.connect(self._remove_row)
        self.add_col.clicked.connect(self._add_col)
        self.remove_col.clicked.connect(self._remove_col)
        self.reset_button.clicked.connect(self.reset_to_book)
        self.step_tabs.currentChanged.connect(lambda _: self._render_current())
        models.current_changed.connect(self._ready)

        self._fill_table([list(v) for v in book.BOOK_INPUTS], list(book.BOOK_WORDS))
        self.query_combo.setCurrentIndex(book.BOOK_QUERY_INDEX)
        if models.current is not None:  # torch is loaded: compute now
            self.recompute()

    # -- the table ------------------------------------------------------------------------------
    def _fill_table(self, values: list[list], words: list[str]) -> None:
        self._filling = True
        d_in = max((len(v) for v in values), default=0)
        self.table.setRowCount(len(values))
        self.table.setColumnCount(d_in + 1)
        self.table.setHorizontalHeaderLabels(["token"] + [f"d{i}" for i in range(d_in)])
        for r, (word, row) in enumerate(zip(words, values)):
            self.table.setItem(r, 0, _cell_item(word, 0))
            for c in range(d_in):
                text = f"{row[c]:g}" if c < len(row) and isinstance(row[c], float) else \
                    (str(row[c]) if c < len(row) else "")
                self.table.setItem(r, c + 1, _cell_item(text, c + 1))
        self._filling = False
        self._refresh_query_combo()

    def cells(self) -> tuple[list[str], list[list[str]]]:
        words, cells = [], []
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            words.append(item.text().strip() if item and item.text().strip() else f"x{r + 1}")
            row = []
            for c in range(1, self.table.columnCount()):
                cell = self.table.item(r, c)
                row.append(cell.text() if cell is not None else "")
            cells.append(row)
        return words, cells

    def set_cell(self, row: int, col: int, text: str) -> None:
        """Edit a number (col counts dimensions from 0) as a learner would."""
        item = self.table.item(row, col + 1)
        if item is None:
            item = _cell_item("", col + 1)
            self.table.setItem(row, col + 1, item)
        item.setText(text)

    def _refresh_query_combo(self) -> None:
        words, _ = self.cells()
        current = self.query_combo.currentIndex()
        self.query_combo.blockSignals(True)
        self.query_combo.clear()
        self.query_combo.addItems([f"x^{i + 1} {w}" for i, w in enumerate(words)])
        self.query_combo.setCurrentIndex(min(max(current, 0), len(words) - 1))
        self.query_combo.blockSignals(False)

    def _table_edited(self, item) -> None:
        if self._filling:
            return
        if item.column() == 0:
            self._refresh_query_combo()
        self.schedule()

    def _add_row(self) -> None:
        words, cells = self.cells()
        self._fill_table(cells + [["0.5"] * (self.table.columnCount() - 1)],
                         words + [f"x{len(words) + 1}"])
        self.schedule()

    def _remove_row(self) -> None:
        words, cells = self.cells()
        if len(cells) > 1:
            self._fill_table(cells[:-1], words[:-1])
            self.schedule()

    def _add_col(self) -> None:
        words, cells = self.cells()
        self._fill_table([row + ["0.5"] for row in cells], words)
        self.schedule()

    def _remove_col(self) -> None:
        words, cells = self.cells()
        if cells and len(cells[0]) > 1:
            self._fill_table([row[:-1] for row in cells], words)
            self.schedule()

    def reset_to_book(self) -> None:
        for field in FIELDS:
            _set_quietly(self.boxes[field.key], field.default)
        self._fill_table([list(v) for v in book.BOOK_INPUTS], list(book.BOOK_WORDS))
        self.query_combo.setCurrentIndex(book.BOOK_QUERY_INDEX)
        self.schedule()

    def save(self) -> dict:
        """Every field as plain data (the cells as typed, even if invalid)."""
        words, cells = self.cells()
        return {"words": words, "cells": cells, "query": self.query_combo.currentIndex(),
                **{key: box.value() for key, box in self.boxes.items()},
                "step": self.step_tabs.currentIndex() + 1}

    def restore(self, state: dict) -> None:
        """Put back what `save` returned; anything malformed is skipped, never fatal."""
        cells, words = state.get("cells"), state.get("words")
        if (isinstance(cells, list) and isinstance(words, list) and cells
                and len(cells) == len(words) and len(cells) <= 64
                and all(isinstance(row, list) and 0 < len(row) <= 64 for row in cells)):
            self._fill_table([[str(c) for c in row] for row in cells], [str(w) for w in words])
        for field in FIELDS:
            value = state.get(field.key)
            kinds = int if field.decimals is None else (int, float)
            if isinstance(value, kinds) and not isinstance(value, bool):
                _set_quietly(self.boxes[field.key], value)
        query = state.get("query")
        if isinstance(query, int) and 0 <= query < self.query_combo.count():
            _set_quietly(self.query_combo, query)
        step = state.get("step")
        if isinstance(step, int):
            self.show_step(step)
        self.schedule()

    # -- computing ------------------------------------------------------------------------------
    def schedule(self, *_args) -> None:
        """Check the fields now; compute after the typing pause, on a worker."""
        request = self._read_fields()
        if request is None:
            self._job.cancel()  # an older, valid edit must not overwrite what is marked wrong
            return
        params, heads_problem = request

        def job(token):
            yield params, heads_problem, core.compute_steps(params,
                                                            multihead=heads_problem is None)

        self._job.request(job)

    def _ready(self, _entry) -> None:
        if self.steps is None:
            self.recompute()

    def _mark_cells(self, problems) -> None:
        self._filling = True
        for r in range(self.table.rowCount()):
            for c in range(1, self.table.columnCount()):
                item = self.table.item(r, c)
                if item is not None:
                    item.setData(Qt.ItemDataRole.BackgroundRole, None)  # the palette's
                    item.setToolTip(cell_tip(c))
        for p in problems:
            cols = range(1, self.table.columnCount()) if p.col < 0 else [p.col + 1]
            for c in cols:
                item = self.table.item(p.row, c) if p.row >= 0 else None
                if item is not None:
                    item.setBackground(QColor(style.colours().bad_cell))
                    item.setToolTip(f"{p.message}\n\n{cell_tip(c)}")
        self._filling = False

    def _set_field_problems(self, problems: dict[str, str]) -> None:
        boxes = {f.key: (self.boxes[f.key], f.page, f.tip) for f in FIELDS}
        boxes["query_index"] = (self.query_combo, None, QUERY_TIP)
        for page in self.pages:
            page.field_problem.setText("")
        for name, (box, page, tip) in boxes.items():
            bad = name in problems
            box.setStyleSheet(f"border: 2px solid {style.colours().error};" if bad else "")
            box.setToolTip(f"{problems[name]}\n\n{tip}" if bad else tip)
            if bad and page is not None:
                self.pages[page].field_problem.setText(problems[name])

    def _reject(self, messages: list[str]) -> None:
        self.problems = messages
        self.table_problem.setText("\n".join(messages))
        if self.steps is not None:
            self.stale.setText("The steps still show the last valid inputs; fix the field marked "
                               "in red to update them.")
        self.rejected.emit("; ".join(messages))

    def recompute(self) -> None:
        """Read every field now; show the new steps, or say what is wrong and keep the old
        ones."""
        self._job.cancel()
        request = self._read_fields()
        if request is None:
            return
        params, heads_problem = request
        try:
            steps = core.compute_steps(params, multihead=heads_problem is None)
        except ValueError as exc:
            self._reject([str(exc)])
            return
        self._show_steps(params, heads_problem, steps)

    def _read_fields(self) -> tuple[core.StepParams, str | None] | None:
        """The parameters to compute and the problem with the head count when only step 5
        must wait; None when nothing can be computed (what is wrong is marked and said)."""
        if self.models.current is None and self.steps is None:
            return None  # torch is still loading; _ready computes as soon as it is there
        words, cells = self.cells()
        values, problems = core.parse_inputs(cells, words)
        self._mark_cells(problems)
        if problems:
            self._set_field_problems({})
            self._reject([p.message for p in problems])
            return None
        params = core.StepParams(
            inputs=values, words=words, query_index=max(0, self.query_combo.currentIndex()),
            **{key: box.value() for key, box in self.boxes.items()})
        field_problems = core.check_params(params)
        self._set_field_problems(field_problems)
        # A head count that does not divide d_out only concerns step 5: the other steps still
        # follow the edit, and step 5 keeps its last valid result.
        heads_only = set(field_problems) == {"num_heads"} and self.steps is not None
        if field_problems and not heads_only:
            self._reject(list(field_problems.values()))
            return None
        return params, field_problems["num_heads"] if heads_only else None

    def _show_steps(self, params: core.StepParams, heads_problem: str | None,
                    steps: list[core.Step]) -> None:
        dirty = set(range(len(steps)))
        if heads_problem is not None:
            steps.append(self.steps[4])
        self.steps, self.params = steps, params
        self.table_problem.setText("")
        self.stale.setText("")
        self._dirty = dirty
        self._render_current()
        if heads_problem is not None:
            self._reject([heads_problem])
            self.stale.setText("Step 5 still shows the last valid heads and d_out; the other "
                               "steps follow your edit.")
            return
        self.problems = []
        self.computed.emit()

    def shutdown(self) -> None:
        self._job.shutdown()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._render_current()

    def _render_current(self) -> None:
        # Drawing waits until the tab is on screen: the heatmaps are the costly part.
        index = self.step_tabs.currentIndex()
        if self.steps is None or index not in self._dirty or not self.isVisible():
            return
        self._dirty.discard(index)
        self.pages[index].show_step(self.steps[index], self.params.query_index,
                                    len(self.params.inputs))

    def render_all(self) -> None:
        for index in list(self._dirty):
            self._dirty.discard(index)
            self.pages[index].show_step(self.steps[index], self.params.query_index,
                                        len(self.params.inputs))

    def show_step(self, number: int) -> None:
        if 1 <= number <= len(self.pages):
            self.step_tabs.setCurrentIndex(number - 1)

