"""Flashcards: the bar above the tabs (Qt): the deck's name and counts, Open notes..., the
section filter, Study all, Shuffle and Options.... Hovering "N open" lists the open questions
with their lines; clicking it (a link, "open") is the area's to handle.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QSizePolicy,
                               QToolButton, QToolTip, QWidget)

from studyapp.notes.checks import open_questions_tooltip

KEYS_FILTER = "__keys__"  # the filter entry of a "review these cards" request from a lab


class DeckBar(QWidget):
    """What the learner studies: which notes, which section, in what order."""

    def __init__(self, shuffle: bool, parent=None):
        super().__init__(parent)
        self.deck_label = QLabel()
        self.deck_label.setTextFormat(Qt.TextFormat.RichText)
        # In a narrow window the label gives way (clipped; the tooltip has it all) instead of
        # widening the window or wrapping into a tall column.
        self.deck_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.deck_label.setMinimumWidth(60)
        self.open_tip = ""  # what hovering "N open" shows
        self.deck_label.linkHovered.connect(self._link_hovered)
        self.open_button = QToolButton()
        self.open_button.setText("Open notes...")
        self.open_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.open_button.setToolTip("Open notes: study another notes file written the same way; "
                                    "each question becomes a card (Ctrl+O)")
        self.filter_box = QComboBox()
        self.filter_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.filter_box.setMinimumContentsLength(10)
        self.filter_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.filter_box.setToolTip("Section filter: review only one section (chapter) of your "
                                   "notes; the Anki-style queue keeps its order within it")
        self.cram_check = QCheckBox("Study all")
        self.cram_check.setToolTip("Study all (cram): go through every card of the filter, due "
                                   "or not; grades here do not change the FSRS schedule")
        self.cram_check.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.shuffle_check = QCheckBox("Shuffle")
        self.shuffle_check.setToolTip("Shuffle: mix the order of due reviews and new cards "
                                      "(otherwise new cards come in file order)")
        self.shuffle_check.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.shuffle_check.setChecked(shuffle)
        self.options_button = QToolButton()
        self.options_button.setText("Options...")
        self.options_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.options_button.setToolTip("Review options: new cards per day and the FSRS desired "
                                       "retention")

        top = QHBoxLayout(self)
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.deck_label, 1)
        top.addWidget(self.open_button)
        top.addWidget(self.filter_box)
        top.addWidget(self.cram_check)
        top.addWidget(self.shuffle_check)
        top.addWidget(self.options_button)

    def show_deck(self, deck, legend: str) -> None:
        """The deck's name, cards, open questions and warnings (a link); its path and legend
        in the tooltip."""
        if deck is None:
            self.deck_label.setText("No notes loaded")
            return
        p = deck.parse
        warn = (f" · <a href='warnings'>{len(p.warnings)} warning"
                f"{'s' if len(p.warnings) != 1 else ''}</a>" if p.warnings else "")
        self.open_tip = open_questions_tooltip(p)
        open_q = (f" · <a href='open'>{p.open_questions} open</a>" if p.open_questions
                  else "")
        self.deck_label.setText(
            f"<b>{html.escape(deck.path.name)}</b> · {len(p.cards)} cards{open_q}{warn}")
        self.deck_label.setToolTip(f"{html.escape(str(deck.path))}<br><br><b>Legend</b>"
                                   f"<br>{legend}")

    def _link_hovered(self, link: str) -> None:
        if link == "open" and self.open_tip:
            QToolTip.showText(QCursor.pos(), self.open_tip, self.deck_label)
        elif not link:
            QToolTip.hideText()

    def fill_filter(self, deck, key_filter: tuple[str, set[str]] | None) -> bool:
        """Every section of the deck (and the lab's cards, if any) in the filter, the choice
        kept where it still exists. True when it no longer does (the filter changed)."""
        current = self.filter_box.currentData()
        self.filter_box.blockSignals(True)
        self.filter_box.clear()
        self.filter_box.addItem(f"All sections ({len(deck.parse.cards)})", None)
        if key_filter is not None:
            label, keys = key_filter
            self.filter_box.addItem(f"{label} ({len(keys)})", KEYS_FILTER)
        for s in deck.parse.card_sections:
            self.filter_box.addItem(f"{s.name} ({s.cards})", s.name)
        idx = self.filter_box.findData(current)
        self.filter_box.setCurrentIndex(max(0, idx))
        self.filter_box.blockSignals(False)
        return idx < 0 and current is not None
