"""A page (a tab, a stack entry) whose content is built the first time it is needed.

The Flashcards area is on screen at start, before torch or pyqtgraph are imported; its
Statistics tab draws with pyqtgraph, whose import alone costs about half a second. A
`LazyPage` stands in for such a page: it builds its content from a factory on its first
show (or when code asks for `content()`), so the cost is paid by whoever opens the tab.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QVBoxLayout, QWidget


class LazyPage(QWidget):
    def __init__(self, factory: Callable[[], QWidget], parent=None):
        super().__init__(parent)
        self._factory = factory
        self._content: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> bool:
        return self._content is not None

    def content(self) -> QWidget:
        """The page's widget, built now if it was not yet."""
        if self._content is None:
            self._content = self._factory()
            self._layout.addWidget(self._content)
        return self._content

    def showEvent(self, event) -> None:
        self.content()
        super().showEvent(event)
