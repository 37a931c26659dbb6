"""Cross-area navigation: a card's "Try it" opens a lab in a given state, without the areas
knowing each other or the main window."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class Navigator(QObject):
    # area key ("flashcards", "tokenizer", ...), payload dict the target area understands
    open_requested = Signal(str, dict)

    def open(self, area: str, payload: dict | None = None) -> None:
        self.open_requested.emit(area, dict(payload or {}))
