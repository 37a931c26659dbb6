"""The app's areas, in the order the sidebar shows them.

Each area lives in its own module exposing `create_area(ctx) -> QWidget`; the main window only
composes them. An area whose module is not built yet shows a plain notice saying so.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget


@dataclass(frozen=True)
class Area:
    key: str  # used by navigation, settings and screenshot file names
    title: str
    module: str | None  # "studyapp.labs.x" exposing create_area(ctx); None = not built yet
    chapter: str  # where in the book this area lives, for the sidebar tooltip


AREAS: tuple[Area, ...] = (
    Area("flashcards", "Flashcards", "studyapp.labs.flashcards",
         "Your chapter notes, reviewed with spaced repetition"),
    Area("tokenizer", "Tokenizer", "studyapp.labs.tokenizer", "Chapter 2: tokenizing text, BPE"),
    Area("embeddings", "Embeddings", "studyapp.labs.embeddings",
         "Chapter 2: token and positional embeddings"),
    Area("attention", "Attention", "studyapp.labs.attention", "Chapter 3: attention mechanisms"),
    Area("generate", "Generate", "studyapp.labs.generate", "Chapters 4 and 5: generating text"),
    Area("training", "Training", "studyapp.labs.training",
         "Chapter 5: pretraining on unlabeled data"),
)


def area_by_key(key: str) -> Area:
    for area in AREAS:
        if area.key == key:
            return area
    raise KeyError(key)


class NotBuiltArea(QWidget):
    """Says plainly that an area is not part of this build yet; nothing pretends to work."""

    def __init__(self, area: Area, parent=None):
        super().__init__(parent)
        label = QLabel(f"<h2>{area.title}</h2><p>{area.chapter}.</p>"
                       "<p>This area is not built yet.</p>")
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(label)


def create_area_widget(area: Area, ctx, before_create=None) -> QWidget:
    """Import the area's module, call `before_create()` (the modules it imported are now
    loaded), then build the area."""
    if area.module is None:
        return NotBuiltArea(area)
    module = importlib.import_module(area.module)
    if before_create is not None:
        before_create()
    return module.create_area(ctx)
