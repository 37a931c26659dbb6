"""Flashcards > Browse: every card in a sortable table with full-text search (Qt).

Search matches all the words typed, in the question or the answer, ignoring case; the section
and state boxes narrow further. Sorting by "Due" puts overdue cards first and new cards last.
Double-click (or Enter, or "Review this card") opens the card in the review; the preview on the
right shows it rendered, with its earlier questions (the card was moved or reworded in the
notes and kept its history), suspend/unsuspend, Edit (E: the notes file at the card's line) and
"Split history" (a wrong match undone) at hand.
"""

from __future__ import annotations

import html
from datetime import datetime

from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt,
                            Signal)
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QTableView, QTextBrowser, QVBoxLayout,
                               QWidget)

from studyapp.areas.flashcards.core import BrowseRow
from studyapp.widgets.forms import splitter

from studyapp.shell.style import colours, on_change

STATE_FILTERS = ("All states", "New", "Learning", "Review", "Due today", "Suspended", "Buried",
                 "Open questions", "Removed from notes")
COLUMNS = ("Question", "Section", "State", "Due", "Interval", "Reviews", "Lapses")


class CardTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[BrowseRow] = []

    def set_rows(self, rows: list[BrowseRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            state = row.state
            if row.suspended:
                state += " (suspended)"
            elif row.buried:
                state += " (buried)"
            if not row.present:
                state += " (removed)"
            return (row.question, row.section, state, row.due_text, row.interval_text,
                    str(row.reps), str(row.lapses))[col]
        if role == Qt.ItemDataRole.UserRole:  # sort key
            return (row.question.casefold(), row.section, row.state, row.due_sort,
                    row.interval_days, row.reps, row.lapses)[col]
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return row.question + ("\n(open question: answer is TODO)" if row.open_question
                                   else "") + "".join(f"\nearlier ({e.how}): {e.old_question}"
                                                      for e in row.earlier)
        if role == Qt.ItemDataRole.ForegroundRole and (row.suspended or not row.present):
            from PySide6.QtGui import QColor
            return QColor(colours().muted)
        return None


class CardFilter(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.words: list[str] = []
        self.section: str | None = None
        self.state = STATE_FILTERS[0]
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def set_filter(self, text: str, section: str | None, state: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10 (invalidateFilter is deprecated)
            self.beginFilterChange()
        self.words = text.casefold().split()
        self.section = section
        self.state = state
        if hasattr(self, "endFilterChange"):
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row, source_parent):
        row: BrowseRow = self.sourceModel().rows[source_row]
        if self.state == "Removed from notes":
            if row.present:
                return False
        elif not row.present:
            return False
        if self.section is not None and row.section != self.section:
            return False
        state = self.state
        if state == "New" and row.state != "new":
            return False
        if state == "Learning" and row.state not in ("learning", "relearning"):
            return False
        if state == "Review" and row.state != "review":
            return False
        if state == "Due today" and not row.due_today:
            return False
        if state == "Suspended" and not row.suspended:
            return False
        if state == "Buried" and not row.buried:
            return False
        if state == "Open questions" and not row.open_question:
            return False
        return all(word in row.search_text for word in self.words)


class BrowsePanel(QWidget):
    """Table + search + preview. The area feeds it rows and a renderer for the preview."""

    open_card = Signal(str)
    toggle_suspend = Signal(str)
    edit_card = Signal(str)  # key: open the notes file at the card's line
    split_history = Signal(str, int)  # key, earlier-question id: undo that match

    def __init__(self, parent=None):
        super().__init__(parent)
        self.render_card = None  # callable(key, width) -> html, set by the area
        self.can_edit = False  # the deck is the learner's own notes file
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search questions and answers (all words must match)")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Search: cards whose question or answer contains every word "
                               "typed (any case)")
        self.section_box = QComboBox()
        self.section_box.setToolTip("Show only the cards of one section (chapter) of your "
                                    "notes")
        self.section_box.setMinimumContentsLength(10)
        self.section_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.state_box = QComboBox()
        self.state_box.addItems(STATE_FILTERS)
        self.state_box.setToolTip("Show only cards in one review state: new, learning, review "
                                  "(FSRS), due today, suspended, buried, open questions, or "
                                  "removed from the notes")
        self.state_box.setMinimumContentsLength(9)
        self.state_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.search.setMinimumWidth(200)
        self.count_label = QLabel()

        self.model = CardTableModel(self)
        self.proxy = CardFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        # Fixed starting widths, not ResizeToContents: measuring 10,000 rows on every update
        # took seconds.
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in enumerate((0, 150, 80, 96, 64, 62, 56)):
            if col:
                header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
                header.resizeSection(col, width)
        self.table.verticalHeader().setDefaultSectionSize(24)

        self.preview = QTextBrowser()
        self.preview.setOpenLinks(False)
        self.preview.setPlaceholderText("Select a card to see it here.")
        on_change(self.preview, lambda c: self._show_selected(), now=False)  # the card's colours
        self.review_button = QPushButton("Review this card")
        self.suspend_button = QPushButton("Suspend")
        self.review_button.setToolTip("Review this card now: it goes to the front of the queue "
                                      "(Enter or double-click does the same)")
        self.suspend_button.setToolTip("Suspend takes the card out of the review queue; "
                                       "Unsuspend puts it back with its FSRS history")
        self.edit_button = QPushButton("Edit")
        self.edit_button.setToolTip("Edit: open your notes file at this card's line in your "
                                    "editor; the card reloads when you save (E)")
        self.split_button = QPushButton("Split history")
        self.split_button.setToolTip(
            "Split history: this card was matched to an earlier question (moved or reworded); "
            "if that was wrong, the earlier card gets its reviews back and this one starts anew")
        self.split_button.setVisible(False)
        for b in (self.review_button, self.suspend_button, self.edit_button):
            b.setEnabled(False)

        filters = QHBoxLayout()  # on their own row, so the panel fits a narrow window
        filters.addWidget(self.section_box)
        filters.addWidget(self.state_box)
        filters.addStretch(1)
        filters.addWidget(self.count_label)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.search)
        left_layout.addLayout(filters)
        left_layout.addWidget(self.table, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.preview, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.review_button)
        buttons.addWidget(self.suspend_button)
        buttons.addStretch(1)
        right_layout.addLayout(buttons)
        notes_buttons = QHBoxLayout()  # a row of their own: the pane fits a narrow window
        notes_buttons.addWidget(self.edit_button)
        notes_buttons.addStretch(1)
        notes_buttons.addWidget(self.split_button)
        right_layout.addLayout(notes_buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter(Qt.Orientation.Horizontal, (left, right), (3, 2),
                                  collapsible=False))

        self.search.textChanged.connect(self._apply_filter)
        self.section_box.currentIndexChanged.connect(self._apply_filter)
        self.state_box.currentIndexChanged.connect(self._apply_filter)
        self.table.selectionModel().currentRowChanged.connect(self._show_selected)
        self.table.doubleClicked.connect(lambda _i: self._open_selected())
        self.table.activated.connect(lambda _i: self._open_selected())
        self.review_button.clicked.connect(self._open_selected)
        self.suspend_button.clicked.connect(self._toggle_selected)
        self.edit_button.clicked.connect(self._edit_selected)
        self.split_button.clicked.connect(self._split_selected)
        edit_key = QShortcut(QKeySequence("E"), self.table)
        edit_key.setContext(Qt.ShortcutContext.WidgetShortcut)  # not while typing a search
        edit_key.activated.connect(self._edit_selected)

    def set_sections(self, sections: list[str]) -> None:
        current = self.section_box.currentData()
        self.section_box.blockSignals(True)
        self.section_box.clear()
        self.section_box.addItem("All sections", None)
        for name in sections:
            self.section_box.addItem(name, name)
        idx = self.section_box.findData(current)
        self.section_box.setCurrentIndex(max(0, idx))
        self.section_box.blockSignals(False)

    def set_rows(self, rows: list[BrowseRow]) -> None:
        selected = self.selected_key()
        self.model.set_rows(rows)
        self._apply_filter()
        if selected is not None:
            self.select(selected)

    def _apply_filter(self) -> None:
        self.proxy.set_filter(self.search.text(), self.section_box.currentData(),
                              self.state_box.currentText())
        shown = self.proxy.rowCount()
        total = sum(1 for r in self.model.rows if r.present)
        self.count_label.setText(f"{shown} of {total} cards shown")

    def selected_key(self) -> str | None:
        index = self.table.selectionModel().currentIndex()
        if not index.isValid():
            return None
        return self.model.rows[self.proxy.mapToSource(index).row()].key

    def select(self, key: str) -> bool:
        for i, row in enumerate(self.model.rows):
            if row.key == key:
                index = self.proxy.mapFromSource(self.model.index(i, 0))
                if index.isValid():
                    self.table.selectionModel().setCurrentIndex(
                        index, self.table.selectionModel().SelectionFlag.ClearAndSelect
                        | self.table.selectionModel().SelectionFlag.Rows)
                    self.table.scrollTo(index)
                    return True
        return False

    def selected_row(self) -> BrowseRow | None:
        key = self.selected_key()
        return None if key is None else next(r for r in self.model.rows if r.key == key)

    def _show_selected(self, *_args) -> None:
        row = self.selected_row()
        self.review_button.setEnabled(row is not None)
        self.suspend_button.setEnabled(row is not None)
        self.edit_button.setEnabled(row is not None and row.present and self.can_edit)
        self.split_button.setVisible(bool(row and row.earlier and row.earlier[0].undoable))
        if row is None:
            self.preview.clear()
            return
        self.suspend_button.setText("Unsuspend" if row.suspended else "Suspend")
        self.review_button.setEnabled(row.present)
        if row.earlier:
            latest = row.earlier[0]
            self.split_button.setToolTip(
                f"Split history: give '{latest.old_question}' its reviews back (it was "
                f"{latest.how} into this card); this card starts anew")
        if self.render_card is not None:
            width = max(120, self.preview.viewport().width() - 24)
            text, extra = self.render_card(row.key, width), earlier_html(row)
            end = text.rfind("</body>")
            self.preview.setHtml(text[:end] + extra + text[end:] if end >= 0 else text + extra)

    def _open_selected(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.open_card.emit(key)

    def _edit_selected(self) -> None:
        row = self.selected_row()
        if row is not None and row.present and self.can_edit:
            self.edit_card.emit(row.key)

    def _split_selected(self) -> None:
        row = self.selected_row()
        if row is not None and row.earlier:
            self.split_history.emit(row.key, row.earlier[0].id)

    def _toggle_selected(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.toggle_suspend.emit(key)


def earlier_html(row: BrowseRow) -> str:
    """The card's earlier questions under its preview, newest first."""
    if not row.earlier:
        return ""
    items = "".join(
        f"<li>{html.escape(e.old_question)} <i>({e.how}"
        f"{'' if e.old_section == row.section else ' from ' + html.escape(e.old_section)}, "
        f"{datetime.fromtimestamp(e.ts / 1000).strftime('%Y-%m-%d')})</i></li>"
        for e in row.earlier)
    return ("<p><b>Earlier questions</b> (this card kept their history):</p>"
            f"<ul>{items}</ul>")
