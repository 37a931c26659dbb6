"""The bar above each lab: what the lab is, where it is in the book, and its related cards.

"Related cards" lists the flashcards whose link (resources/links.json) opens this lab; choosing
one shows it in Flashcards, "Review these" starts a review of just those cards.
"""

from __future__ import annotations

from PySide6.QtWidgets import (QHBoxLayout, QLabel, QMenu, QSizePolicy, QToolButton, QVBoxLayout,
                               QWidget)

from studyapp.shell import style


def related_cards(notes_path, area_key: str) -> list:
    """Cards of the notes file whose "Try it" opens `area_key` (parse failures: none)."""
    from studyapp.links import bundled_links
    from studyapp.notes.parser import NotesError, parse_file

    try:
        cards = parse_file(notes_path).cards
    except (NotesError, OSError):
        return []
    return bundled_links().cards_for_area(cards, area_key)


class AreaHeader(QWidget):
    def __init__(self, area, ctx, parent=None):
        super().__init__(parent)
        self._area = area
        self._ctx = ctx
        title = QLabel()
        style.on_change(title, lambda c: title.setText(
            f"<b style='font-size:13pt'>{area.title}</b>"
            f"&nbsp;&nbsp;<span style='color:{c.muted}'>{area.chapter}</span>"))
        # A long chapter line is cut at the window's edge rather than widen the smallest
        # window; the tooltip keeps it whole.
        title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        title.setToolTip(f"{area.title}: {area.chapter}")
        self.title = title
        self.related = QToolButton()
        self.related.setText("Related cards")
        self.related.setToolTip("Flashcards from your notes about this lab's topic; "
                                "review just those")
        self.related.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._menu = QMenu(self.related)
        self._menu.aboutToShow.connect(self._fill_menu)
        self.related.setMenu(self._menu)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 2)
        layout.addWidget(title, 1)
        layout.addWidget(self.related)

    def _fill_menu(self) -> None:
        self._menu.clear()
        cards = related_cards(self._ctx.notes_path, self._area.key)
        if not cards:
            self._menu.addAction("No card in your notes links to this lab").setEnabled(False)
            return
        review = self._menu.addAction(f"Review these {len(cards)} cards")
        keys = [card.key for card in cards]
        review.triggered.connect(lambda: self._ctx.navigator.open(
            "flashcards", {"review_keys": keys, "label": f"{self._area.title} cards"}))
        self._menu.addSeparator()
        for card in cards:
            action = self._menu.addAction(f"{card.section}: {card.question}"[:90])
            action.triggered.connect(lambda _=False, k=card.key: self._ctx.navigator.open(
                "flashcards", {"card_key": k}))


def with_header(area, ctx, body: QWidget) -> QWidget:
    """The lab `body` under its AreaHeader, in one widget the main window can stack."""
    container = QWidget()
    layout = QVBoxLayout(container)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    container.header = AreaHeader(area, ctx)
    layout.addWidget(container.header)
    layout.addWidget(body, 1)
    return container
