"""Flashcards > File > Export deck to Anki... (Qt for the dialog): the deck as an .apkg, one
subdeck per section (`studyapp.review.export`).
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget


def choose_apkg_path(parent: QWidget, stem: str) -> str:
    """Ask where to write the package ("" when the learner cancels)."""
    path, _ = QFileDialog.getSaveFileName(parent, "Export to Anki",
                                          str(Path.home() / f"{stem}.apkg"),
                                          "Anki package (*.apkg)")
    return path


def export_deck(deck, path) -> tuple[bool, str]:
    """Write `deck` (an OpenedDeck) to `path`; whether it worked and what to tell (HTML)."""
    from studyapp.review.export import export_apkg

    try:
        info = export_apkg(deck.parse.cards, path, deck.path.stem,
                           base_dir=deck.path.resolve().parent)
    except OSError as exc:
        return False, f"Export failed: {html.escape(str(exc))}"
    return True, (f"Exported {info['notes']} cards in {info['decks']} subdecks to "
                  f"{html.escape(str(path))}.")
