"""Widgets for the Attention lab (chapter 3): attention heatmap, all-heads grid, head view.

* `AttentionHeatmap`: the shared `HeatmapWidget` with queries as rows and keys as columns; cells
  above the diagonal (a query never sees later tokens) are left empty and say so on hover.
* `HeadGrid`: every layer x head as a small thumbnail, painted from numpy through a colour
  lookup table into QImages (one pyqtgraph plot per head would be far slower); click one to
  open it.
* `HeadView`: after bertviz's head view: the tokens in two columns, queries on the left and keys
  on the right; hovering or clicking a query draws its attention over the earlier tokens as
  lines whose strength is the weight, for one head (with bars and numbers) or for all heads in
  their own colours.

Widgets receive plain numpy arrays; they never run the model.
"""

from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from studyapp.shell import style
from studyapp.widgets.heatmap import HeatmapWidget


def head_colour(head: int) -> QColor:
    """A head's colour in the current palette (colour-blind-friendly first eight)."""
    return QColor(style.colours().head_colour(head))


class AttentionHeatmap(HeatmapWidget):
    """A heatmap of attention weights whose hidden upper triangle is explained on hover."""

    def __init__(self, parent=None, **kwargs):
        kwargs.setdefault("row_axis_title", "query (attends from)")
        kwargs.setdefault("col_axis_title", "key (attends to)")
        super().__init__(parent, **kwargs)

    def describe_cell(self, row: int, col: int) -> str:
        rows, cols = self._values.shape
        if rows == cols and 0 <= row < col < cols:
            return (f"query {row} {self._row_labels[row]!r} cannot see key {col} "
                    f"{self._col_labels[col]!r}: it comes later (masked, weight 0)")
        return super().describe_cell(row, col)


def _lut(name: str) -> np.ndarray:
    import pyqtgraph as pg  # PySide6 is already imported above, so pyqtgraph binds to it

    return pg.colormap.get(name).getLookupTable(0.0, 1.0, 256, alpha=False)


def pool_square(matrix: np.ndarray, max_size: int) -> np.ndarray:
    """Mean-pool a (T, T) matrix down to at most max_size x max_size (NaN-aware)."""
    t = matrix.shape[0]
    if t <= max_size:
        return matrix
    block = math.ceil(t / max_size)
    padded_t = block * math.ceil(t / block)
    padded = np.full((padded_t, padded_t), np.nan, dtype=np.float32)
    padded[:t, :t] = matrix
    n = padded_t // block
    tiles = padded.reshape(n, block, n, block)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN tiles stay NaN (hidden)
        return np.nanmean(tiles, axis=(1, 3)).astype(np.float32)


def weights_to_image(weights: np.ndarray, lut: np.ndarray, log_scale: bool,
                     max_size: int = 96, log_floor: float = -3.0, *,
                     hidden_rgb: tuple[int, int, int]) -> QImage:
    """One head's (T, T) weights as an RGB QImage; the hidden upper triangle is `hidden_rgb`
    (the plot background).

    Linear scale: each head is scaled to its own largest weight so diffuse heads stay visible
    next to heads that pour everything on one token. Log scale: log10(weight) from
    `log_floor` to 0, the same for every head.
    """
    t = weights.shape[0]
    future = np.triu(np.ones((t, t), dtype=bool), k=1)
    shown = np.where(future, np.nan, weights).astype(np.float32)
    shown = pool_square(shown, max_size)
    hidden = ~np.isfinite(shown)
    if log_scale:
        with np.errstate(divide="ignore", invalid="ignore"):
            levels = (np.log10(np.maximum(shown, 10.0**log_floor)) - log_floor) / -log_floor
    else:
        top = np.nanmax(shown) if np.isfinite(shown).any() else 1.0
        levels = shown / (top if top > 0 else 1.0)
    index = np.clip(np.nan_to_num(levels, nan=0.0) * 255.0, 0, 255).astype(np.uint8)
    rgb = lut[index]
    rgb[hidden] = hidden_rgb
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: the numpy buffer goes away


class _PaintedView(QWidget):
    """What the two painted views share: the palette's colours, kept current, and a message
    painted in place of the weights until there are some."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._weights: np.ndarray | None = None
        self._labels: list[str] = []
        self._message = "Nothing to show yet."
        self._colours = style.colours()
        self.setMouseTracking(True)
        style.on_change(self, self._restyle, now=False)

    def _restyle(self, c: style.Colours) -> None:
        self._colours = c
        self.update()

    def show_message(self, text: str) -> None:
        self._message = text
        self._weights = None
        self._forget()
        self.update()

    def _forget(self) -> None:
        """Drop what was drawn from the weights (they are gone)."""

    def _painter(self, has_data: bool, font: QFont | None = None) -> QPainter | None:
        """A painter on the plot background, in `font`; None when there is nothing to draw
        and the message has been painted instead."""
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(self._colours.plot_background))
        if font is not None:
            p.setFont(font)
        if has_data:
            return p
        p.setPen(QColor(self._colours.muted))
        p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                   self._message)
        return None


class HeadGrid(_PaintedView):
    """Layers as rows, heads as columns, one thumbnail each; click one to open it."""

    head_clicked = Signal(int, int)  # layer, head

    LABEL_W = 58
    LABEL_H = 20
    GAP = 6

    def __init__(self, parent=None):
        super().__init__(parent)
        self._images: list[list[QImage]] = []
        self._log = False
        self._selected: tuple[int, int] | None = None
        self._lut = _lut(self._colours.heat_map)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 160)

    def _restyle(self, c: style.Colours) -> None:
        self._colours = c
        self._lut = _lut(c.heat_map)
        if self._weights is not None:
            self._render_images()  # the thumbnails are pixels in the old map's colours
        self.update()

    # -- data -----------------------------------------------------------------------------------
    def set_weights(self, weights: np.ndarray, labels: Sequence[str] = (),
                    log_scale: bool | None = None) -> None:
        """weights: (n_layers, n_heads, T, T)."""
        if weights.ndim != 4:
            raise ValueError(f"expected (layers, heads, T, T), got shape {weights.shape}")
        self._weights = weights
        self._labels = list(labels)
        if log_scale is not None:
            self._log = bool(log_scale)
        self._message = ""
        self._render_images()

    def set_log_scale(self, on: bool) -> None:
        if self._log != bool(on):
            self._log = bool(on)
            if self._weights is not None:
                self._render_images()

    def set_selected(self, layer: int | None, head: int | None) -> None:
        self._selected = None if layer is None or head is None else (layer, head)
        self.update()

    def _forget(self) -> None:
        self._images = []

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self._images), len(self._images[0]) if self._images else 0)

    def _render_images(self) -> None:
        w = self._weights
        hidden = QColor(self._colours.plot_background)
        hidden_rgb = (hidden.red(), hidden.green(), hidden.blue())
        self._images = [[weights_to_image(w[layer, head], self._lut, self._log,
                                          hidden_rgb=hidden_rgb)
                         for head in range(w.shape[1])] for layer in range(w.shape[0])]
        self.update()

    # -- geometry -------------------------------------------------------------------------------
    def _cell(self) -> float:
        layers, heads = self.shape
        if not layers:
            return 0.0
        avail_w = self.width() - self.LABEL_W - self.GAP * heads
        avail_h = self.height() - self.LABEL_H - self.GAP * layers - 22
        return max(24.0, min(avail_w / heads, avail_h / layers, 220.0))

    def _rect(self, layer: int, head: int) -> QRectF:
        c = self._cell()
        return QRectF(self.LABEL_W + head * (c + self.GAP), self.LABEL_H + layer * (c + self.GAP),
                      c, c)

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        layers, heads = self.shape
        for layer in range(layers):
            for head in range(heads):
                if self._rect(layer, head).contains(pos):
                    return layer, head
        return None

    def sizeHint(self) -> QSize:  # noqa: N802
        layers, heads = self.shape
        c = 96
        return QSize(self.LABEL_W + heads * (c + self.GAP) + 8,
                     self.LABEL_H + layers * (c + self.GAP) + 30)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        layers, heads = self.shape
        return QSize(self.LABEL_W + max(heads, 1) * (24 + self.GAP),
                     self.LABEL_H + max(layers, 1) * (24 + self.GAP) + 22)

    # -- painting -------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        c = self._colours
        p = self._painter(bool(self._images))
        if p is None:
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        font = QFont(self.font())
        font.setPointSize(8)
        p.setFont(font)
        layers, heads = self.shape
        cell = self._cell()
        p.setPen(QColor(c.plot_foreground))
        for head in range(heads):
            r = self._rect(0, head)
            p.drawText(QRectF(r.left(), 0, cell, self.LABEL_H), Qt.AlignmentFlag.AlignCenter,
                       f"head {head}")
        for layer in range(layers):
            r = self._rect(layer, 0)
            p.setPen(QColor(c.plot_foreground))
            p.drawText(QRectF(0, r.top(), self.LABEL_W - 6, cell),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       f"layer {layer}")
            for head in range(heads):
                rect = self._rect(layer, head)
                p.drawImage(rect, self._images[layer][head])
                p.setPen(QPen(QColor(c.border), 1))
                p.drawRect(rect)
        if self._selected is not None:
            layer, head = self._selected
            if layer < layers and head < heads:
                p.setPen(QPen(QColor(c.marker), 3))
                p.drawRect(self._rect(layer, head).adjusted(-2, -2, 2, 2))
        p.setPen(QColor(c.muted))
        bottom = self._rect(layers - 1, 0).bottom() + 4
        scale = ("log10(weight) from -3 to 0" if self._log
                 else "each thumbnail scaled to its own largest weight")
        p.drawText(QRectF(self.LABEL_W, bottom, self.width() - self.LABEL_W, 18),
                   Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   f"Rows: queries, columns: keys (upper triangle hidden); colour: {scale}. "
                   "Click a head to open it.")

    # -- mouse ----------------------------------------------------------------------------------
    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        cell = self.cell_at(event.position())
        if cell is None or self._weights is None:
            QToolTip.hideText()
            return
        layer, head = cell
        w = self._weights[layer, head]
        t = w.shape[0]
        # What the head does on average: the key each query attends to most.
        top = np.argmax(w, axis=1)
        back = float(np.mean(np.arange(t) - top))
        first = float(np.mean(w[:, 0]))
        text = (f"layer {layer}, head {head}\nmean weight on the first token: {first:.3f}\n"
                f"queries look back {back:.1f} tokens on average to their strongest key")
        QToolTip.showText(event.globalPosition().toPoint(), text, self)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(event.position())
        if cell is not None:
            self.set_selected(*cell)
            self.head_clicked.emit(*cell)


class HeadView(_PaintedView):
    """bertviz-style head view: a query's attention over earlier tokens as weighted lines."""

    query_changed = Signal(int)  # the query shown (hovered, else pinned)
    query_pinned = Signal(int)  # a query was clicked (pinned)

    ROW_H = 19
    TOP = 6
    GAP = 190  # room for the lines between the two columns

    def __init__(self, parent=None):
        super().__init__(parent)  # its _weights: (heads, T, T)
        self._head: int | None = 0  # None: all heads in colours
        self._head_names: list[str] = []
        self._pinned = 0
        self._hover: int | None = None
        font = QFont(self.font())
        font.setPointSize(9)
        self._font = font
        self._metrics = QFontMetrics(font)
        self._col_w = 80
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)

    # -- data -----------------------------------------------------------------------------------
    def set_data(self, labels: Sequence[str], weights: np.ndarray, head: int | None,
                 head_names: Sequence[str] | None = None) -> None:
        """weights (heads, T, T) of one layer; head None = draw every head in its colour."""
        if weights.ndim != 3 or weights.shape[1] != len(labels):
            raise ValueError("weights must be (heads, T, T) with one label per token")
        self._labels = [str(s) for s in labels]
        self._weights = weights
        self._head = head
        self._head_names = list(head_names or [f"head {h}" for h in range(weights.shape[0])])
        self._message = ""
        widest = max((self._metrics.horizontalAdvance(s) for s in self._labels[:2000]),
                     default=40)
        self._col_w = min(max(widest + 14, 60), 170)
        if self._pinned >= len(labels):
            self._pinned = len(labels) - 1
        self._hover = None
        self.updateGeometry()
        self.adjustSize()
        self.update()

    def _forget(self) -> None:
        self._labels = []
        self.updateGeometry()

    @property
    def query(self) -> int:
        return self._hover if self._hover is not None else self._pinned

    def set_query(self, index: int) -> None:
        """Pin a query token (clicking does the same)."""
        if 0 <= index < len(self._labels):
            self._pinned = index
            self.update()
            self.query_changed.emit(self.query)

    def row_y(self, index: int) -> float:
        return self.TOP + index * self.ROW_H + self.ROW_H / 2

    def sizeHint(self) -> QSize:  # noqa: N802
        rows = max(len(self._labels), 3)
        return QSize(2 * self._col_w + self.GAP + 140, self.TOP + rows * self.ROW_H + 12)

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(2 * self._col_w + self.GAP + 60, self.sizeHint().height())

    # -- painting -------------------------------------------------------------------------------
    def _columns(self) -> tuple[float, float]:
        total = 2 * self._col_w + self.GAP + 90
        left = max(8.0, (self.width() - total) / 2)
        return left, left + self._col_w + self.GAP  # left column's x, right column's x

    def paintEvent(self, event) -> None:  # noqa: N802
        c = self._colours
        p = self._painter(self._weights is not None, self._font)
        if p is None:
            return
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        left_x, right_x = self._columns()
        q = self.query
        heads = self._shown_heads()
        visible = event.rect()
        first = max(0, int((visible.top() - self.TOP) // self.ROW_H) - 1)
        last = min(len(self._labels), int((visible.bottom() - self.TOP) // self.ROW_H) + 2)

        # The query's row and its keys: highlight, bars (one head) and lines.
        qy = self.row_y(q)
        p.fillRect(QRectF(left_x, qy - self.ROW_H / 2, self._col_w, self.ROW_H),
                   QColor(c.current_row))
        line_x0 = left_x + self._col_w + 4
        line_x1 = right_x - 4
        if len(heads) == 1:
            # Bars scaled to the row's largest weight; the numbers beside them are absolute.
            row = self._weights[heads[0], q, : q + 1]
            top = float(row.max()) if row.size and row.max() > 0 else 1.0
            bar = QColor(head_colour(heads[0]))
            bar.setAlphaF(0.28)
            for j, w in enumerate(row):
                y = self.row_y(j)
                p.fillRect(QRectF(right_x, y - self.ROW_H / 2 + 2,
                                  max(1.0, float(w) / top * self._col_w), self.ROW_H - 4), bar)
        for h in heads:
            row = self._weights[h, q, : q + 1]
            top = float(row.max()) if row.size else 1.0
            colour = head_colour(h)
            for j, w in enumerate(row):
                strength = float(w) / top if top > 0 else 0.0
                if strength < 0.02:
                    continue
                line = QColor(colour)
                line.setAlphaF(min(1.0, 0.12 + 0.88 * strength))
                p.setPen(QPen(line, 0.6 + 4.0 * float(w) ** 0.5))
                p.drawLine(QPointF(line_x0, qy), QPointF(line_x1, self.row_y(j)))

        # Token labels on both sides; keys after the query are greyed (they cannot be seen).
        for i in range(first, last):
            y = self.row_y(i)
            rect_l = QRectF(left_x, y - self.ROW_H / 2, self._col_w - 6, self.ROW_H)
            rect_r = QRectF(right_x + 4, y - self.ROW_H / 2, self._col_w, self.ROW_H)
            p.setPen(QColor(c.text))
            p.drawText(rect_l, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       self._metrics.elidedText(self._labels[i], Qt.TextElideMode.ElideRight,
                                                int(self._col_w - 8)))
            p.setPen(QColor(c.text if i <= q else c.point_muted))
            p.drawText(rect_r, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                       self._metrics.elidedText(self._labels[i], Qt.TextElideMode.ElideRight,
                                                int(self._col_w - 8)))
            if len(heads) == 1 and i <= q:
                w = float(self._weights[heads[0], q, i])
                if w >= 0.005:
                    p.setPen(QColor(c.muted))
                    p.drawText(QRectF(right_x + self._col_w + 6, y - self.ROW_H / 2, 80,
                                      self.ROW_H),
                               Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                               f"{w:.3f}")

    def _shown_heads(self) -> list[int]:
        if self._weights is None:
            return []
        return [self._head] if self._head is not None else list(range(self._weights.shape[0]))

    def caption(self) -> str:
        """Rich text naming the query and the colour of each head drawn (shown above the view,
        so it stays visible while the token columns scroll)."""
        if self._weights is None or not self._labels:
            return ""
        q = self.query
        keys = [f"<span style='color:{head_colour(h).name()}'>&#9632;</span> "
                f"{self._head_names[h] if h < len(self._head_names) else f'head {h}'}"
                for h in self._shown_heads()]
        label = self._labels[q].replace("&", "&amp;").replace("<", "&lt;")
        return (f"Query {q} <b>'{label}'</b> attends to itself and the tokens before it. "
                "Hover a token on the left to preview, click to pin. &nbsp; "
                + " &nbsp; ".join(keys))

    # -- mouse ----------------------------------------------------------------------------------
    def _index_at(self, pos: QPointF) -> int | None:
        left_x, _ = self._columns()
        if not (left_x <= pos.x() <= left_x + self._col_w):
            return None
        i = int((pos.y() - self.TOP) // self.ROW_H)
        return i if 0 <= i < len(self._labels) else None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        i = self._index_at(event.position())
        if i != self._hover:
            self._hover = i
            self.update()
            self.query_changed.emit(self.query)

    def leaveEvent(self, event) -> None:  # noqa: N802
        if self._hover is not None:
            self._hover = None
            self.update()
            self.query_changed.emit(self.query)
        super().leaveEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        i = self._index_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and i is not None:
            self._pinned = i
            self.update()
            self.query_pinned.emit(i)
            self.query_changed.emit(self.query)
