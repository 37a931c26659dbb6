"""What the Tokenizer lab's tabs share in rich text (chapter 2): token chips in the colours of
the chip views, and a monospace font for lists of IDs."""

from __future__ import annotations

import html

from PySide6.QtGui import QFont

from studyapp.shell import style

MONO = QFont("monospace")
MONO.setStyleHint(QFont.StyleHint.Monospace)


def chip_html(label: str, index: int, extra: str = "") -> str:
    """A token chip in rich text: the chip views' fill and text colour of the current mode."""
    c = style.colours()
    return (f'<span style="background:{c.chip_fill(index)}; color:{c.chip_text}; '
            f'font-family:monospace; {extra}">&nbsp;{html.escape(label)}&nbsp;</span>')
