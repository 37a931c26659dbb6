"""Flashcards > Review: the card view and its panel, and the area's small dialogs (Qt).

`CardView` keeps keyboard focus and turns keys into requests (reveal, grade, undo, bury,
suspend, edit); `ReviewPanel` lays out section, counts, card, legend, the "Try it" slot and the
buttons; the FlashcardsArea (studyapp.areas.flashcards.area) decides what they show.
"""

from __future__ import annotations


from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QFrame, QHBoxLayout,
                               QHeaderView, QLabel, QPushButton, QStackedWidget, QTableWidget,
                               QTableWidgetItem, QTextBrowser, QToolButton, QVBoxLayout, QWidget)

from studyapp.review.scheduler import AGAIN, EASY, GOOD, HARD
from studyapp.shell import style
from studyapp.widgets.forms import number_box


# What each grade tells the FSRS scheduler (the button shows the interval it gives).
GRADE_TIPS = {
    AGAIN: "Again (1): you forgot; the card comes back soon (a lapse, FSRS relearning)",
    HARD: "Hard (2): recalled with serious difficulty; a shorter FSRS interval than Good",
    GOOD: "Good (3, or Space): recalled after some thought; FSRS's regular next interval",
    EASY: "Easy (4): recalled at once; a longer FSRS interval",
}


class CardView(QTextBrowser):
    """The card itself. Keeps keyboard focus: Space/Enter reveal or grade Good, 1-4 grade."""

    reveal_requested = Signal()
    grade_requested = Signal(int)
    command_requested = Signal(str)  # "undo", "bury", "suspend", "edit"
    width_changed = Signal()  # the card's width settled after a resize (images follow it)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.answer_shown = False
        self.active = False  # a card is on screen
        self.setOpenLinks(False)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.anchorClicked.connect(self._open_link)
        self._resize_timer = QTimer(self)
        self._resize_timer.setSingleShot(True)
        self._resize_timer.setInterval(120)
        self._resize_timer.timeout.connect(self.width_changed)
        self._width = 0

    def image_width(self) -> int:
        """The widest an image in the card may be: the text area's width, less its margins."""
        return max(120, self.viewport().width() - 2 * int(self.document().documentMargin()) - 8)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if abs(self.viewport().width() - self._width) > 8:
            self._width = self.viewport().width()
            self._resize_timer.start()

    def keyPressEvent(self, event):
        # The area's shortcuts (Ctrl+Z, -, @) normally fire first; these cover the case where
        # the window is not active (shortcuts only fire in the active window).
        if event.matches(QKeySequence.StandardKey.Undo):
            self.command_requested.emit("undo")
            return
        if event.text() == "-" and self.active:
            self.command_requested.emit("bury")
            return
        if event.text() == "@" and self.active:
            self.command_requested.emit("suspend")
            return
        if event.text() in ("e", "E") and self.active \
                and not event.modifiers() & ~(Qt.KeyboardModifier.KeypadModifier
                                              | Qt.KeyboardModifier.ShiftModifier):
            self.command_requested.emit("edit")
            return
        key = event.key()
        if self.active and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            if key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if self.answer_shown:
                    self.grade_requested.emit(GOOD)
                else:
                    self.reveal_requested.emit()
                return
            if self.answer_shown and Qt.Key.Key_1 <= key <= Qt.Key.Key_4:
                self.grade_requested.emit(int(key) - int(Qt.Key.Key_1) + 1)
                return
        super().keyPressEvent(event)

    @staticmethod
    def _open_link(url: QUrl) -> None:
        # Only a link the learner clicks opens, in their browser; nothing is fetched here.
        if url.scheme() in ("http", "https", "mailto", "file"):
            QDesktopServices.openUrl(url)


class WarningsDialog(QDialog):
    """Parse warnings with their line numbers (non-modal; stays open while you fix the file)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Notes: parse warnings")
        self.resize(720, 360)
        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Line", "Warning"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip(
            "Close this list; the notes reload by themselves when you fix the file")
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)

    def set_warnings(self, intro: str, warnings) -> None:
        """`intro`: the sentence above the list (`studyapp.notes.checks.warnings_intro`)."""
        self.intro.setText(intro)
        self.table.setRowCount(len(warnings))
        for i, w in enumerate(warnings):
            line = QTableWidgetItem(str(w.line))
            line.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(i, 0, line)
            self.table.setItem(i, 1, QTableWidgetItem(w.message))
        self.table.resizeRowsToContents()


class OptionsDialog(QDialog):
    def __init__(self, new_per_day: int, retention: float, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Review options")
        self.new_per_day = number_box(
            0, 9999, new_per_day, tip="New cards per day: how many unseen cards the Anki-style "
            "queue brings in each review day (after learning cards and due reviews)")
        self.retention = number_box(
            0.70, 0.99, retention, step=0.01, decimals=2,
            tip="Desired retention (FSRS): the chance of still recalling a card when it comes "
            "due; higher means shorter intervals and more reviews")
        form = QFormLayout(self)
        form.addRow("New cards per day", self.new_per_day)
        form.addRow("Desired retention", self.retention)
        note = QLabel("Higher retention means more reviews. A review day starts at 4 AM.")
        note.setWordWrap(True)
        form.addRow(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setToolTip(
            "Use these options: the FSRS scheduler and today's queue are updated")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setToolTip(
            "Keep the current options")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class ReviewPanel(QWidget):
    """What the Review tab shows: section, counts, the card, the buttons, the Try-it slot."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.section_label = QLabel()
        self.section_label.setTextFormat(Qt.TextFormat.RichText)
        self.section_label.setWordWrap(True)  # a long section name must not widen the window
        self.counts_label = QLabel()
        self.counts_label.setTextFormat(Qt.TextFormat.RichText)
        self.counts_label.setToolTip("Left today: new / learning / to review")
        self.undo_button = QToolButton()
        self.undo_button.setText("Undo")
        self.bury_button = QToolButton()
        self.bury_button.setText("Bury")
        self.bury_button.setToolTip("Bury: hide this card until the next review day, which "
                                    "starts at 4 AM (-)")
        self.suspend_button = QToolButton()
        self.suspend_button.setText("Suspend")
        self.suspend_button.setToolTip("Suspend: take this card out of the review queue until "
                                       "you unsuspend it in Browse (@)")
        self.edit_button = QToolButton()
        self.edit_button.setText("Edit")
        self.edit_button.setToolTip("Edit: open your notes file at this card's line in your "
                                    "editor ($VISUAL or $EDITOR); the card reloads when you "
                                    "save (E)")
        header = QHBoxLayout()
        header.addWidget(self.section_label, 1)
        header.addWidget(self.counts_label)
        header.addSpacing(12)
        for b in (self.undo_button, self.bury_button, self.suspend_button, self.edit_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            header.addWidget(b)

        self.card = CardView()
        self.card.setMinimumHeight(120)

        self.try_label = QLabel("Try it")
        self.try_label.setStyleSheet("font-weight: bold;")
        self.try_button = QPushButton()
        self.try_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.try_button.setToolTip("Try it: open the lab linked to this card (resources/"
                                   "links.json) with the card's example")
        self.try_hint = QLabel()
        style.set_text_role(self.try_hint, "muted")
        try_box = QFrame()
        try_box.setObjectName("tryIt")
        try_box.setFrameShape(QFrame.Shape.StyledPanel)
        try_layout = QHBoxLayout(try_box)
        try_layout.setContentsMargins(8, 4, 8, 4)
        try_layout.addWidget(self.try_label)
        try_layout.addWidget(self.try_button)
        try_layout.addWidget(self.try_hint, 1)
        self.try_box = try_box

        self.buttons = QStackedWidget()
        show_page = QWidget()
        sp = QHBoxLayout(show_page)
        sp.setContentsMargins(0, 0, 0, 0)
        self.show_button = QPushButton("Show answer   (Space)")
        self.show_button.setMinimumHeight(40)
        self.show_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.show_button.setToolTip("Show the answer (Space or Enter), then grade how well you "
                                    "recalled it")
        sp.addStretch(1)
        sp.addWidget(self.show_button, 2)
        sp.addStretch(1)
        grade_page = QWidget()
        gp = QHBoxLayout(grade_page)
        gp.setContentsMargins(0, 0, 0, 0)
        self.grade_buttons: dict[int, QPushButton] = {}
        for rating in (AGAIN, HARD, GOOD, EASY):
            b = QPushButton()
            b.setToolTip(GRADE_TIPS[rating])
            b.setMinimumHeight(46)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.grade_buttons[rating] = b
            gp.addWidget(b)
        done_page = QWidget()
        dp = QHBoxLayout(done_page)
        dp.setContentsMargins(0, 0, 0, 0)
        self.cram_button = QPushButton("Study all cards (no schedule change)")
        self.cram_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.cram_button.setToolTip("Study all (cram): go through every card of the filter now; "
                                    "grades here do not change the FSRS schedule")
        dp.addStretch(1)
        dp.addWidget(self.cram_button)
        dp.addStretch(1)
        self.buttons.addWidget(show_page)
        self.buttons.addWidget(grade_page)
        self.buttons.addWidget(done_page)

        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)  # never force the window wider
        self.legend.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.legend.setToolTip("What the highlighted lines in the answers mean "
                               "(the notes' own emoji legend)")

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.card, 1)
        layout.addWidget(self.legend)
        layout.addWidget(try_box)
        layout.addWidget(self.buttons)
        self.setFocusProxy(self.card)
