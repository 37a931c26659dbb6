"""The Classify lab's results: accuracy before and after beside the book's figures, the
confusion matrix of the test split, and the test texts the classifier gets wrong.

`AccuracyTable` sits with the training curves; `ResultsView` holds the confusion matrix and the
misclassified texts: clicking one shows it whole with its probabilities, and "Try it" sends it
to the Try it tab (`try_text`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QPlainTextEdit,
                               QTableWidget, QTableWidgetItem, QWidget)

from studyapp.areas.classify import core
from studyapp.shell import style
from studyapp.widgets.forms import STRETCH, column, push_button, row, splitter
from studyapp.widgets.heatmap import HeatmapWidget


def _table(columns) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.setWordWrap(False)
    return table


class AccuracyTable(QTableWidget):
    """Accuracy on each split before and after fine-tuning, the book's GPT-2 spam figures beside."""

    COLUMNS = ("Split", "Before", "After", "Book before", "Book after")

    def __init__(self, parent=None):
        super().__init__(3, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(self.COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.verticalHeader().setVisible(False)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        tips = ("", "Accuracy of the new, untrained head on the whole split (section 6.6: the "
                "book's 46.25 / 45.00 / 48.75% for GPT-2 on spam is chance)",
                "Accuracy on the whole split after fine-tuning (section 6.7)",
                "The book's GPT-2 small (124M) on the SMS spam data before fine-tuning",
                "The book's GPT-2 small after 5 epochs with the last block trained: 97.21 / "
                "97.32 / 95.67% (section 6.7; 5.65 minutes on an M3 laptop CPU)")
        for col, tip in enumerate(tips):
            self.horizontalHeaderItem(col).setToolTip(tip)
        self.setToolTip("Chance is 100% / number of classes. The book's figures are for its "
                        "spam data and GPT-2 small; the bundled model is far smaller")
        row_h = self.verticalHeader().defaultSectionSize()
        self.setMinimumHeight(row_h * 2 + self.horizontalHeader().sizeHint().height())
        self.setMaximumHeight(row_h * 3 + self.horizontalHeader().sizeHint().height() + 6)
        self.set_results(None, None)
        style.on_change(self, self._restyle)

    def set_results(self, before: dict | None, after: dict | None) -> None:
        self._before, self._after = before, after
        for r, row in enumerate(core.accuracy_rows(before, after)):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.setItem(r, c, item)
        self._restyle(style.colours())

    def cell_text(self, row: int, col: int) -> str:
        return self.item(row, col).text()

    def _restyle(self, c: style.Colours) -> None:
        for r in range(self.rowCount()):
            for col in (3, 4):  # the book's columns, for reference
                item = self.item(r, col)
                if item is not None:
                    item.setForeground(QBrush(QColor(c.muted)))


class ResultsView(QWidget):
    """Confusion matrix and misclassified test texts."""

    try_text = Signal(str)
    COLUMNS = ("Text", "True", "Predicted", "Confidence")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel("Fine-tune to see which test texts the classifier gets right.")
        self.summary.setWordWrap(True)
        self.confusion = HeatmapWidget(title="Confusion matrix (test split)",
                                       colormap=style.colours().heat_map, show_values=True,
                                       value_format="{:.0f}", row_axis_title="true class",
                                       col_axis_title="predicted class")
        self.confusion.setToolTip("Rows: the true class; columns: what the classifier said. "
                                  "The diagonal counts the texts it gets right")
        self.confusion.show_message("No test results yet.")
        self.table = _table(self.COLUMNS)
        self.table.setToolTip("The test texts the classifier gets wrong, most confident "
                              "mistakes first; click one to read it whole")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._show_selected)
        self.inspect = QPlainTextEdit()
        self.inspect.setReadOnly(True)
        self.inspect.setPlaceholderText("Click a misclassified text to read it here.")
        self.inspect.setMinimumHeight(50)
        self.try_button = push_button("Try it", "Open this text in Try it: its probability at "
                                      "every token, and what padding does", self._try_selected)
        self.try_button.setEnabled(False)
        self.wrong_title = QLabel("<b>Misclassified test texts</b>")
        self.wrong_title.setWordWrap(True)
        wrong = QWidget()
        column(self.wrong_title, (self.table, 2), (self.inspect, 1), row(STRETCH, self.try_button),
               parent=wrong, margins=0)
        column(self.summary, (splitter(Qt.Orientation.Horizontal, (self.confusion, wrong), (2, 3),
                                       collapsible=False), 1), parent=self, margins=4)
        self._items: list[dict] = []
        self._labels: list[str] = []

    def set_report(self, report: dict | None) -> None:
        self._items = []
        self.table.setRowCount(0)
        self.inspect.clear()
        self.try_button.setEnabled(False)
        if not report:
            self.confusion.show_message("No test results yet.")
            self.summary.setText("Fine-tune to see which test texts the classifier gets right.")
            return
        labels = self._labels = list(report["labels"])
        self.confusion.set_matrix(report["confusion"], labels, labels)
        self._items = list(report.get("misclassified", []))
        n = sum(sum(r) for r in report["confusion"])
        self.summary.setText(f"Test split: {n - len(self._items):,} of {n:,} texts right "
                             f"({core.percent(report.get('accuracy'))}); "
                             f"{len(self._items):,} wrong.")
        self.wrong_title.setText(f"<b>Misclassified test texts</b> ({len(self._items):,})")
        rows = core.misclassified_rows(self._items)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setToolTip(text)
                self.table.setItem(r, c, item)

    def select(self, row: int) -> None:
        self.table.selectRow(row)

    def _selected(self) -> dict | None:
        rows = self.table.selectionModel().selectedRows()
        return self._items[rows[0].row()] if rows and rows[0].row() < len(self._items) else None

    def _show_selected(self) -> None:
        item = self._selected()
        self.try_button.setEnabled(item is not None)
        if item is None:
            return
        probs = ", ".join(f"{name} {p * 100:.1f}%" for name, p in zip(self._labels,
                                                                        item["probs"]))
        self.inspect.setPlainText(f"{item['text']}\n\nTrue: {item['label']} \u00b7 predicted: "
                                  f"{item['predicted']} ({probs}) \u00b7 {item['source']}")

    def _try_selected(self) -> None:
        item = self._selected()
        if item is not None:
            self.try_text.emit(item["text"])
