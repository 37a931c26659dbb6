"""Flashcards > File > Export deck to Anki... (Qt for the dialog): the deck as an .apkg, one
subdeck per section (`studyapp.review.export`); the notice names the images left out of the
package (only images in the notes file's own folder travel) and why.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

MAX_LISTED = 10  # images left out named in the notice; the rest are counted


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
    message = (f"Exported {info['notes']} cards in {info['decks']} subdecks to "
               f"{html.escape(str(path))}.")
    left_out = info.get("left_out") or []
    if left_out:
        n = len(left_out)
        items = "".join(f"<li>{html.escape(item['src'])}: {html.escape(item['reason'])} "
                        f"(question '{html.escape(_short(item['card']))}')</li>"
                        for item in left_out[:MAX_LISTED])
        more = f"<li>and {n - MAX_LISTED} more</li>" if n > MAX_LISTED else ""
        message += (f" {n} image{'s were' if n != 1 else ' was'} left out of the package, so "
                    f"no file from elsewhere on this computer travels with it:<ul>{items}{more}"
                    "</ul>")
    return True, message


def _short(text: str, limit: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
