"""Text shown token by token: each token a clickable chip, prompt and generated ones told apart.

Used by the Generate lab for its output (tokens appear one by one as a worker produces them) and
its side-by-side view. Chips alternate shades so token boundaries show; whitespace inside a
token is kept; a click emits `token_clicked(index)`. Redraws are coalesced on a short timer, so
a fast stream of tokens does not rebuild the document for each one.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtWidgets import QTextBrowser

from studyapp.shell import style


class TokenStream(QTextBrowser):
    token_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.pieces: list[str] = []
        self.tooltips: list[str] = []
        self.n_prompt = 0
        self.selected: int | None = None
        self.placeholder = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(30)
        self._timer.timeout.connect(self.render_now)
        self._colours = style.colours()
        style.on_change(self, self._restyle)

    def _restyle(self, c: style.Colours) -> None:
        self._colours = c
        self.render_now()

    def set_tokens(self, pieces: list[str], n_prompt: int, tooltips: list[str] | None = None,
                   selected: int | None = None) -> None:
        self.pieces = list(pieces)
        self.tooltips = list(tooltips or [""] * len(pieces))
        self.n_prompt = n_prompt
        self.selected = selected
        self.render_now()

    def append(self, piece: str, tooltip: str = "") -> None:
        self.pieces.append(piece)
        self.tooltips.append(tooltip)
        if not self._timer.isActive():
            self._timer.start()

    def set_selected(self, index: int | None) -> None:
        self.selected = index
        self.render_now()

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.render_now()

    def render_now(self) -> None:
        self._timer.stop()
        c = self._colours
        if not self.pieces:
            self.setHtml(f"<p style='color:{c.muted}'>{html.escape(self.placeholder)}</p>")
            return
        parts = []
        for i, piece in enumerate(self.pieces):
            shades = c.prompt_shades if i < self.n_prompt else c.generated_shades
            colour = c.selected_token if i == self.selected else shades[i % 2]
            text = html.escape(piece).replace("\n", "\u21b5<br>") or "\u2205"
            title = html.escape(self.tooltips[i]) if i < len(self.tooltips) else ""
            weight = "font-weight:bold;" if i == self.selected else ""
            parts.append(f"<a href='tok:{i}' title='{title}' style='background-color:{colour};"
                         f"color:{c.stream_text}; text-decoration:none; {weight}'>{text}</a>")
        scroll = self.verticalScrollBar()
        at_end = scroll.value() >= scroll.maximum() - 4
        self.setHtml("<div style='white-space: pre-wrap; font-size: 15px; line-height: 150%'>"
                     + "".join(parts) + "</div>")
        if at_end:
            scroll.setValue(scroll.maximum())

    def _on_anchor(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith("tok:"):
            try:
                index = int(text[4:])
            except ValueError:
                return
            self.token_clicked.emit(index)
