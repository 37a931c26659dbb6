"""Token chips: a text drawn as a flow of coloured boxes, one per token (chapter 2).

A custom-painted scroll area rather than one QLabel per token: laying out and painting thousands
of chips stays within a few milliseconds, and only the visible rows are painted. Each chip shows
either the token's text or its ID; a chip whose bytes are only part of a character has a dashed
border, a special token is drawn in the contrasting fill. Fills and text come from the palette
(`studyapp.shell.style`): pastel chips with dark text in light mode, deep ones with light text
in dark mode. A newline token ends its row, so the text keeps its lines.

    view = TokenChipsView()
    view.set_chips([Chip("Hello", 15496), Chip("\u00b7world", 995), ...])
    view.set_show_ids(True)
    view.set_highlight(3)                     # outline one chip (e.g. the one hovered elsewhere)
    signals: hovered(int index) (-1 on leaving), clicked(int index)
"""

from __future__ import annotations

from bisect import bisect_right
from typing import NamedTuple

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QAbstractScrollArea, QToolTip

from studyapp.shell import style

NEWLINE_MARK = "\u21b5"


class Chip(NamedTuple):
    label: str  # visible text of the token (whitespace already made visible)
    id: int
    partial: bool = False  # only part of a character's bytes
    special: bool = False
    tooltip: str = ""


class TokenChipsView(QAbstractScrollArea):
    hovered = Signal(int)
    clicked = Signal(int)

    PAD_X, PAD_Y, GAP_X, GAP_Y, MARGIN = 4, 2, 3, 4, 6

    def __init__(self, parent=None):
        super().__init__(parent)
        self._chips: list[Chip] = []
        self._show_ids = False
        self._highlight = -1
        self._hover = -1
        self._empty_text = ""
        # Chip geometry as plain ints (x, y, width; all chips share one height): a layout of
        # thousands of chips stays a few milliseconds.
        self._xs: list[int] = []
        self._ys: list[int] = []
        self._ws: list[int] = []
        self._chip_h = 0
        self._row_tops: list[int] = []  # y of each row, for finding visible rows
        self._row_first: list[int] = []  # first chip index of each row
        self._content_height = 0
        self._layout_width = -1
        font = QFont(self.font())
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setFamily("monospace")
        self._font = font
        self._metrics = QFontMetrics(font)
        self._width_cache: dict[str, int] = {}
        self._tooltip_provider = None
        self.viewport().setMouseTracking(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.verticalScrollBar().setSingleStep(self._metrics.height() + self.GAP_Y)
        style.on_change(self, self._restyle)

    def _restyle(self, c: style.Colours) -> None:
        self._colours = c
        self.viewport().update()

    def chip_colours(self, index: int) -> tuple[str, str]:
        """(fill, text colour) of a chip as drawn now."""
        c = self._colours
        if self._chips[index].special:
            return c.special_chip_fill, c.special_chip_text
        return c.chip_fill(index), c.chip_text

    # -- data ----------------------------------------------------------------------------------
    def set_chips(self, chips) -> None:
        """Any sequence of records with `label`, `id`, `partial` and `special` (Chip, or the
        Tokenizer lab's TokenPiece as is); `tooltip` is optional. A chip whose label ends in
        the newline mark ends its row."""
        self._chips = chips if isinstance(chips, list) else list(chips)
        self._highlight = -1
        self._hover = -1
        self._layout_width = -1
        self._relayout()
        self.verticalScrollBar().setValue(0)
        self.viewport().update()

    def set_tooltip_provider(self, provider) -> None:
        """`provider(index) -> str`, asked only for the chip under the pointer."""
        self._tooltip_provider = provider

    def tooltip_for(self, index: int) -> str:
        if not 0 <= index < len(self._chips):
            return ""
        tip = getattr(self._chips[index], "tooltip", "")
        if tip:
            return tip
        return self._tooltip_provider(index) if self._tooltip_provider is not None else ""

    def chips(self) -> list[Chip]:
        return list(self._chips)

    def chip_count(self) -> int:
        return len(self._chips)

    def set_empty_text(self, text: str) -> None:
        """What to say when there are no chips (e.g. "Type some text above")."""
        self._empty_text = text
        self.viewport().update()

    def set_show_ids(self, show: bool) -> None:
        if show != self._show_ids:
            self._show_ids = show
            self._layout_width = -1
            self._relayout()
            self.viewport().update()

    def show_ids(self) -> bool:
        return self._show_ids

    def set_highlight(self, index: int) -> None:
        if index != self._highlight:
            self._highlight = index
            if 0 <= index < len(self._xs):
                self.ensure_visible(index)
            self.viewport().update()

    def highlight(self) -> int:
        return self._highlight

    def chip_rect(self, index: int) -> QRect:
        """A chip's rectangle in viewport coordinates (for tests and tooltips)."""
        rect = self._rect(index)
        rect.translate(0, -self.verticalScrollBar().value())
        return rect

    def _rect(self, index: int) -> QRect:
        return QRect(self._xs[index], self._ys[index], self._ws[index], self._chip_h)

    def ensure_visible(self, index: int) -> None:
        rect = self._rect(index)
        bar = self.verticalScrollBar()
        top, height = bar.value(), self.viewport().height()
        if rect.top() < top:
            bar.setValue(rect.top() - self.MARGIN)
        elif rect.bottom() > top + height:
            bar.setValue(rect.bottom() - height + self.MARGIN)

    def index_at(self, pos: QPoint) -> int:
        """The chip under a viewport position, or -1."""
        y = pos.y() + self.verticalScrollBar().value()
        row = bisect_right(self._row_tops, y) - 1
        if row < 0:
            return -1
        first = self._row_first[row]
        last = self._row_first[row + 1] if row + 1 < len(self._row_first) else len(self._xs)
        x = pos.x()
        if not self._ys or not 0 <= y - self._ys[first] < self._chip_h:
            return -1
        for i in range(first, last):
            if self._xs[i] <= x < self._xs[i] + self._ws[i]:
                return i
        return -1

    # -- layout --------------------------------------------------------------------------------
    def _text(self, chip: Chip) -> str:
        return str(chip.id) if self._show_ids else chip.label

    def _width(self, text: str) -> int:
        w = self._width_cache.get(text)
        if w is None:
            w = self._metrics.horizontalAdvance(text) + 2 * self.PAD_X
            if len(self._width_cache) < 200_000:
                self._width_cache[text] = w
        return w

    def _relayout(self) -> None:
        """Flow the chips into rows (numpy per row: thousands of chips in a few ms)."""
        width = max(60, self.viewport().width())
        if width == self._layout_width:
            return
        self._layout_width = width
        chip_h = self._metrics.height() + 2 * self.PAD_Y
        row_h = chip_h + self.GAP_Y
        margin, gap = self.MARGIN, self.GAP_X
        room = width - 2 * margin  # a row's usable width
        chips = self._chips
        n = len(chips)
        texts = [str(c.id) for c in chips] if self._show_ids else [c.label for c in chips]
        cache, measure = self._width_cache, self._width
        w = np.minimum(np.array([cache.get(t) or measure(t) for t in texts], dtype=np.int64),
                       room)
        adv = w + gap
        cum = np.cumsum(adv)  # cum[k]: advance through chip k inclusive
        # A newline chip ends its row: the text keeps its lines.
        hard = [i + 1 for i, c in enumerate(chips) if c.label.endswith(NEWLINE_MARK)]
        xs = np.zeros(n, dtype=np.int64)
        ys = np.zeros(n, dtype=np.int64)
        row_tops: list[int] = []
        row_first: list[int] = []
        y = margin
        seg_start = 0
        for seg_end in hard + [n]:
            seg_end = min(seg_end, n)
            i = seg_start
            while i < seg_end:
                before = cum[i - 1] if i else 0
                # chips i..j-1 fit when their advances, less the last gap, fit the room
                j = int(np.searchsorted(cum, before + room + gap, side="right"))
                j = min(max(j, i + 1), seg_end)
                xs[i:j] = margin + (cum[i:j] - adv[i:j] - before)
                ys[i:j] = y
                row_tops.append(y)
                row_first.append(i)
                y += row_h
                i = j
            seg_start = seg_end
        if not row_tops:
            row_tops, row_first = [margin], [0]
        self._xs, self._ys, self._ws = xs.tolist(), ys.tolist(), w.tolist()
        self._chip_h = chip_h
        self._row_tops = row_tops
        self._row_first = row_first
        self._content_height = (y + margin) if n else 0
        bar = self.verticalScrollBar()
        bar.setPageStep(self.viewport().height())
        bar.setRange(0, max(0, self._content_height - self.viewport().height()))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._relayout()
        self.verticalScrollBar().setPageStep(self.viewport().height())
        self.verticalScrollBar().setRange(
            0, max(0, self._content_height - self.viewport().height()))

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(400, 160)

    # -- painting ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self.viewport())
        c = self._colours
        painter.fillRect(self.viewport().rect(), QColor(c.panel))
        if not self._chips:
            if self._empty_text:
                painter.setPen(QColor(c.muted))
                painter.drawText(self.viewport().rect().adjusted(12, 12, -12, -12),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
                                 | Qt.TextFlag.TextWordWrap, self._empty_text)
            return
        if self._layout_width != max(60, self.viewport().width()):
            self._relayout()
        painter.setFont(self._font)
        offset = self.verticalScrollBar().value()
        top = offset + event.rect().top()
        bottom = offset + event.rect().bottom()
        first_row = max(0, bisect_right(self._row_tops, top) - 1)
        last_row = bisect_right(self._row_tops, bottom)
        first = self._row_first[first_row]
        last = self._row_first[last_row] if last_row < len(self._row_first) else len(self._xs)
        painter.translate(0, -offset)
        plain_pen = QPen(QColor(c.chip_border))
        dashed_pen = QPen(QColor(c.chip_partial_border))
        dashed_pen.setStyle(Qt.PenStyle.DashLine)
        highlight_pen = QPen(QColor(c.chip_highlight_border))
        highlight_pen.setWidth(2)
        hover_pen = QPen(QColor(c.chip_hover_border))
        hover_pen.setWidth(2)
        text_color = QColor(c.chip_text)
        special_text = QColor(c.special_chip_text)
        fills = [QBrush(QColor(fill)) for fill in c.chip_fills]
        special_fill = QBrush(QColor(c.special_chip_fill))
        align = Qt.AlignmentFlag.AlignCenter
        for i in range(first, last):
            chip = self._chips[i]
            rect = self._rect(i)
            painter.setBrush(special_fill if chip.special else fills[i % len(fills)])
            if i == self._highlight:
                painter.setPen(highlight_pen)
            elif i == self._hover:
                painter.setPen(hover_pen)
            else:
                painter.setPen(dashed_pen if chip.partial else plain_pen)
            painter.drawRoundedRect(rect.adjusted(0, 0, -1, -1), 3, 3)
            painter.setPen(special_text if chip.special else text_color)
            text = self._text(chip)
            if self._ws[i] < self._width_cache.get(text, 0):  # clipped to the row: elide
                text = self._metrics.elidedText(text, Qt.TextElideMode.ElideRight,
                                                rect.width() - 2 * self.PAD_X + 2)
            painter.drawText(rect, align, text)
        painter.end()

    def scrollContentsBy(self, dx, dy) -> None:  # noqa: N802
        self.viewport().update()

    # -- mouse ---------------------------------------------------------------------------------
    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        index = self.index_at(event.position().toPoint())
        if index != self._hover:
            self._hover = index
            self.viewport().update()
            self.hovered.emit(index)
            tip = self.tooltip_for(index)
            if tip:
                QToolTip.showText(event.globalPosition().toPoint(), tip, self.viewport())
            else:
                QToolTip.hideText()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802
        if self._hover != -1:
            self._hover = -1
            self.viewport().update()
            self.hovered.emit(-1)
        super().leaveEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            index = self.index_at(event.position().toPoint())
            if index >= 0:
                self.clicked.emit(index)
        super().mousePressEvent(event)
