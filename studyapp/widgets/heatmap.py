"""A reusable heatmap: a matrix as a pyqtgraph ImageItem with a colour bar and labelled axes.

Used by the Embeddings lab (token, positional and input embeddings, cosine similarity) and the
Attention lab (scores and weights). Rows run top to bottom, columns left to right, both labelled
(token text usually); the labels thin themselves out so they never overlap. Hovering a cell shows
its row, column and value; clicking emits `clicked(row, col)`. Small matrices print their values
in the cells (the book's 6 x 3 and 6 x 6 tables). Every heatmap saves itself to PNG.

API (kept stable for the other labs):
    hm = HeatmapWidget(title="...", colormap="sequential", log_scale=False, symmetric=False)
        colormap: "sequential" or "diverging" (the palette's maps for each mode, see
        studyapp.shell.style), or any pyqtgraph colour map name
    hm.set_matrix(values, row_labels=None, col_labels=None, title=None)
    hm.show_message("Loading model...")        # an empty state instead of the plot
    hm.set_colormap(name); hm.set_log_scale(on); hm.set_symmetric(on); hm.set_levels(lo, hi)
    hm.set_highlight(row=None, col=None)      # outline a row, a column or a cell
    hm.export_png(path) -> bool               # or the "Save PNG..." button
    signals: clicked(int row, int col), hovered(int row, int col) (-1, -1 when leaving)

Non-finite values (the Attention lab's -inf masked scores) are drawn transparent and reported as
such on hover; on a log scale, values <= 0 are too.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QWidget

import pyqtgraph as pg  # after PySide6, or pyqtgraph may bind to PyQt6
from studyapp.shell import style
from studyapp.widgets.plot_frame import PlotFrame
from studyapp.widgets.plot_style import follow_palette

_AXIS_FONT_PT = 8
#: colour map roles: the palette picks the map of the current mode
MAP_ROLES = {"sequential": "heat_map", "diverging": "diverging_map"}


def shorten(label: str, max_chars: int) -> str:
    return label if len(label) <= max_chars else label[: max_chars - 1] + "\u2026"


class LabelAxis(pg.AxisItem):
    """An axis that shows one text label per matrix cell, thinned so labels never collide.

    Cell i spans [i, i + 1] in view coordinates, so its label sits at i + 0.5. The step between
    shown labels is chosen from the current zoom: zooming in reveals every label.
    """

    def __init__(self, orientation: str, max_chars: int = 14, **kwargs):
        super().__init__(orientation, **kwargs)
        self._labels: list[str] = []
        self._max_chars = max_chars
        font = QFont()
        font.setPointSize(_AXIS_FONT_PT)
        self.setStyle(tickFont=font, tickTextOffset=3, autoExpandTextSpace=True)
        self._metrics = QFontMetrics(font)
        self._label_px = 10
        self._widest = 10

    def set_labels(self, labels: Sequence[str]) -> None:
        self._labels = [shorten(str(label), self._max_chars) for label in labels]
        self._widest = max((self._metrics.horizontalAdvance(s) for s in self._labels),
                           default=10)
        if self.orientation in ("top", "bottom"):
            self._label_px = self._widest + 8
        else:
            self._label_px = self._metrics.height() + 2
            # Size the axis for its labels now: pyqtgraph would only widen it after a first
            # paint, and it drops every label that does not fit.
            titled = bool(getattr(self, "labelText", "")) and self.label.isVisible()
            self.setWidth(self._widest + 14 + (self._metrics.height() + 8 if titled else 0))
        self.picture = None
        self.update()

    def boundingRect(self):  # noqa: N802
        # pyqtgraph drops a label that sticks out of the axis' rect; the first and last column
        # labels are centred on their cells and may be wider than them, so allow room sideways.
        rect = super().boundingRect()
        if self.orientation in ("top", "bottom"):
            slack = self._widest / 2 + 4
            return rect.adjusted(-slack, 0, slack, 0)
        return rect

    def tickValues(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        n = len(self._labels)
        minVal, maxVal = min(minVal, maxVal), max(minVal, maxVal)  # inverted axes swap them
        if n == 0 or maxVal <= minVal or size <= 0:
            return []
        px_per_cell = size / (maxVal - minVal)
        step = max(1, math.ceil(self._label_px / max(px_per_cell, 1e-9)))
        if step > 1:  # round steps to 1, 2, 5 x 10^k so the shown labels look regular
            for nice in (2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
                if nice >= step:
                    step = nice
                    break
        first = max(0, int(math.floor(minVal)))
        first = first + (-first % step)
        last = min(n - 1, int(math.ceil(maxVal)))
        return [(float(step), [i + 0.5 for i in range(first, last + 1, step)])]

    def tickStrings(self, values, scale, spacing):  # noqa: N802
        out = []
        for v in values:
            i = int(math.floor(v))
            out.append(self._labels[i] if 0 <= i < len(self._labels) else "")
        return out


class HeatmapWidget(PlotFrame, QWidget):
    """A labelled heatmap with a colour bar, hover read-out, click signal and PNG export."""

    _kind = "heatmap"

    clicked = Signal(int, int)
    hovered = Signal(int, int)

    #: matrices this small print their values in the cells (when the cells are big enough)
    VALUES_IN_CELLS_MAX = 256
    VALUES_MAX_COLS = 16
    VALUES_MAX_ROWS = 32

    def __init__(self, parent=None, *, title: str = "", colormap: str = "sequential",
                 log_scale: bool = False, symmetric: bool = False,
                 value_format: str = "{:.4f}", show_values: bool | None = None,
                 max_label_chars: int = 14, row_axis_title: str = "",
                 col_axis_title: str = ""):
        super().__init__(parent)
        self._title = title
        self._colormap_name = colormap
        self._log = log_scale
        self._symmetric = symmetric
        self._value_format = value_format
        self._show_values = show_values  # None = automatic (small matrices only)
        self._fixed_levels: tuple[float, float] | None = None
        self._values = np.zeros((0, 0), dtype=np.float32)
        self._row_labels: list[str] = []
        self._col_labels: list[str] = []
        self._cell_texts: list[pg.TextItem] = []  # the pool's items in use
        self._text_pool: list[pg.TextItem] = []
        self._hover_cell = (-1, -1)

        self._colours = style.colours()
        fg = self._colours.plot_foreground
        self.view = pg.GraphicsLayoutWidget()
        self.view.setMinimumSize(140, 90)
        self._left = LabelAxis("left", max_chars=max_label_chars, pen=fg, textPen=fg)
        self._bottom = LabelAxis("bottom", max_chars=max_label_chars, pen=fg, textPen=fg)
        self.plot = self.view.addPlot(axisItems={"left": self._left, "bottom": self._bottom})
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.invertY(True)  # row 0 at the top, as a printed matrix
        self.plot.setDefaultPadding(0.0)
        if row_axis_title:
            self._left.setLabel(row_axis_title, color=fg)
        if col_axis_title:
            self._bottom.setLabel(col_axis_title, color=fg)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self._highlight = pg.QtWidgets.QGraphicsRectItem()
        self._highlight.setPen(pg.mkPen(self._colours.marker, width=2, cosmetic=True))
        self._highlight.setZValue(20)
        self._highlight.setVisible(False)
        self.plot.addItem(self._highlight, ignoreBounds=True)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=self._cmap(),
                                        interactive=False, width=14, pen=fg,
                                        colorMapMenu=False)
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self._set_title(title)

        self.plot.getViewBox().sigResized.connect(self._update_cell_text_visibility)
        self.plot.getViewBox().sigRangeChanged.connect(self._update_cell_text_visibility)
        self.view.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.view.scene().sigMouseClicked.connect(self._on_mouse_clicked)

        self._build_frame(self.view, "Save this heatmap as a PNG image")
        self.hover_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        follow_palette(self, self.view, [self.plot], self._restyle)

    def _restyle(self, c: style.Colours) -> None:
        self._colours = c
        self.colorbar.axis.setPen(c.plot_foreground)
        self.colorbar.axis.setTextPen(c.plot_foreground)
        self._highlight.setPen(pg.mkPen(c.marker, width=2, cosmetic=True))
        if self._colormap_name in MAP_ROLES:
            self.colorbar.setColorMap(self._cmap())
        self._redraw()  # cell values pick their colour from the map

    # -- public API ----------------------------------------------------------------------------
    @property
    def values(self) -> np.ndarray:
        return self._values

    @property
    def row_labels(self) -> list[str]:
        return list(self._row_labels)

    @property
    def col_labels(self) -> list[str]:
        return list(self._col_labels)

    def set_matrix(self, values, row_labels: Sequence[str] | None = None,
                   col_labels: Sequence[str] | None = None, title: str | None = None) -> None:
        """Show a 2-D array (anything numpy accepts: lists, arrays, CPU tensors)."""
        if hasattr(values, "detach"):
            values = values.detach().cpu().numpy()
        arr = np.asarray(values, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[None, :]
        if arr.ndim != 2:
            raise ValueError(f"a heatmap needs a 2-D matrix, got shape {arr.shape}")
        rows, cols = arr.shape
        row_labels = [str(i) for i in range(rows)] if row_labels is None else list(row_labels)
        col_labels = [str(j) for j in range(cols)] if col_labels is None else list(col_labels)
        if len(row_labels) != rows or len(col_labels) != cols:
            raise ValueError(f"labels ({len(row_labels)} rows, {len(col_labels)} columns) do not "
                             f"match the matrix shape {arr.shape}")
        self._values = arr
        self._row_labels = [str(s) for s in row_labels]
        self._col_labels = [str(s) for s in col_labels]
        if title is not None:
            self._set_title(title)
        self._left.set_labels(self._row_labels)
        self._bottom.set_labels(self._col_labels)
        if rows == 0 or cols == 0:
            self.show_message("The matrix is empty.")
            return
        self._stack.setCurrentIndex(0)
        self.save_button.setEnabled(True)
        self._redraw()
        self.plot.setLimits(xMin=0, xMax=cols, yMin=0, yMax=rows)
        self.plot.setRange(xRange=(0, cols), yRange=(0, rows), padding=0)
        self._update_cell_text_visibility()  # the range may not have "changed" to pyqtgraph

    def set_colormap(self, name: str) -> None:
        self._colormap_name = name
        self.colorbar.setColorMap(self._cmap())
        self._redraw()

    def set_log_scale(self, on: bool) -> None:
        self._log = bool(on)
        self._redraw()

    def set_symmetric(self, on: bool) -> None:
        self._symmetric = bool(on)
        self._redraw()

    def set_levels(self, low: float | None = None, high: float | None = None) -> None:
        """Fix the colour range (None, None = automatic from the data)."""
        self._fixed_levels = None if low is None or high is None else (float(low), float(high))
        self._redraw()

    def set_show_values(self, show: bool | None) -> None:
        self._show_values = show
        self._redraw()

    def levels(self) -> tuple[float, float]:
        return tuple(self.colorbar.levels())

    def set_highlight(self, row: int | None = None, col: int | None = None) -> None:
        """Outline a cell (row and col), a whole row (col None) or a whole column (row None)."""
        rows, cols = self._values.shape
        if (row is None and col is None) or rows == 0:
            self._highlight.setVisible(False)
            return
        x0, w = (0, cols) if col is None else (col, 1)
        y0, h = (0, rows) if row is None else (row, 1)
        self._highlight.setRect(QRectF(x0, y0, w, h))
        self._highlight.setVisible(True)

    def describe_cell(self, row: int, col: int) -> str:
        rows, cols = self._values.shape
        if not (0 <= row < rows and 0 <= col < cols):
            return ""
        value = float(self._values[row, col])
        if math.isnan(value):
            shown = "not a number"
        elif math.isinf(value):
            shown = "-inf (masked)" if value < 0 else "+inf"
        else:
            shown = self._value_format.format(value)
            if self._log and value <= 0:
                shown += " (not drawn on a log scale)"
        return (f"row {row} {self._row_labels[row]!r}, column {col} "
                f"{self._col_labels[col]!r}: {shown}")

    # -- drawing --------------------------------------------------------------------------------
    def colormap_name(self) -> str:
        """The pyqtgraph colour map drawn now (a role resolves to the current mode's)."""
        role = MAP_ROLES.get(self._colormap_name)
        return getattr(self._colours, role) if role else self._colormap_name

    def _cmap(self):
        try:
            return pg.colormap.get(self.colormap_name())
        except Exception:  # unknown name: fall back rather than fail a lab
            return pg.colormap.get(self._colours.heat_map)

    def _display_array(self) -> np.ndarray:
        arr = self._values
        shown = np.where(np.isfinite(arr), arr, np.nan).astype(np.float32)
        if self._log:
            with np.errstate(divide="ignore", invalid="ignore"):
                shown = np.where(shown > 0, np.log10(shown), np.nan).astype(np.float32)
        return shown

    def _auto_levels(self, shown: np.ndarray) -> tuple[float, float]:
        finite = shown[np.isfinite(shown)]
        if finite.size == 0:
            return 0.0, 1.0
        lo, hi = float(finite.min()), float(finite.max())
        if self._symmetric and not self._log:
            bound = max(abs(lo), abs(hi)) or 1.0
            return -bound, bound
        if hi - lo < 1e-12:
            hi = lo + 1e-6 if lo == 0 else lo + abs(lo) * 1e-6
        return lo, hi

    def _redraw(self) -> None:
        if self._values.size == 0:
            return
        shown = self._display_array()
        if self._fixed_levels is not None:
            lo, hi = self._fixed_levels
            if self._log:
                lo, hi = (math.log10(v) if v > 0 else -12.0 for v in (lo, hi))
        else:
            lo, hi = self._auto_levels(shown)
        rows, cols = shown.shape
        self.image.setImage(shown, autoLevels=False, levels=(lo, hi))
        self.image.setRect(QRectF(0, 0, cols, rows))
        self.colorbar.setLevels((lo, hi))
        self.colorbar.axis.setLabel("log10(value)" if self._log else "",
                                    color=self._colours.plot_foreground)
        self._draw_cell_values(shown, lo, hi)

    def _draw_cell_values(self, shown: np.ndarray, lo: float, hi: float) -> None:
        rows, cols = self._values.shape
        if self._show_values is None:  # automatic: tables the size of the book's
            wanted = (rows * cols <= self.VALUES_IN_CELLS_MAX and cols <= self.VALUES_MAX_COLS
                      and rows <= self.VALUES_MAX_ROWS)
        else:
            wanted = self._show_values
        count = rows * cols if wanted else 0
        # Text items are reused, never re-created: making hundreds of them costs a second.
        font = None
        while len(self._text_pool) < count:
            if font is None:
                font = QFont()
                font.setPointSize(8)
            item = pg.TextItem("", anchor=(0.5, 0.5))
            item.setFont(font)
            self.plot.addItem(item, ignoreBounds=True)
            self._text_pool.append(item)
        for item in self._text_pool[count:]:
            item.setVisible(False)
        self._cell_texts = self._text_pool[:count]
        if not count:
            return
        cmap = self._cmap()
        span = (hi - lo) or 1.0
        dark, light_text = QColor(self._colours.on_light_cell), QColor(self._colours.on_dark_cell)
        for k, item in enumerate(self._cell_texts):
            r, c = divmod(k, cols)
            value = float(self._values[r, c])
            if math.isfinite(value):
                text = self._value_format.format(value)
            else:
                text = "-inf" if value < 0 else ("inf" if value > 0 else "nan")
            d = shown[r, c]
            if math.isfinite(d):
                rgb = cmap.map(np.array([min(max((d - lo) / span, 0.0), 1.0)]),
                               mode="float")[0]
                light = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 0.55
            else:
                light = True
            item.setText(text)
            item.setColor(dark if light else light_text)
            item.setPos(c + 0.5, r + 0.5)
        self._update_cell_text_visibility()

    def _update_cell_text_visibility(self, *_args) -> None:
        """Print values only while the cells are big enough to hold them (zoom in to see)."""
        if not self._cell_texts:
            return
        px = self.plot.getViewBox().viewPixelSize()  # view units per pixel (x, y)
        cell_w = 1.0 / px[0] if px[0] > 0 else 0.0
        cell_h = 1.0 / px[1] if px[1] > 0 else 0.0
        text_w = max(item.textItem.boundingRect().width() for item in self._cell_texts)
        fits = cell_w >= text_w + 2 and cell_h >= 13
        for item in self._cell_texts:
            item.setVisible(fits)

    # -- mouse ----------------------------------------------------------------------------------
    def cell_at_scene_pos(self, scene_pos) -> tuple[int, int]:
        """(row, col) under a scene position, or (-1, -1) outside the matrix."""
        if self._values.size == 0 or self._stack.currentIndex() != 0:
            return -1, -1
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return -1, -1
        point = vb.mapSceneToView(scene_pos)
        col, row = int(math.floor(point.x())), int(math.floor(point.y()))
        rows, cols = self._values.shape
        if 0 <= row < rows and 0 <= col < cols:
            return row, col
        return -1, -1

    def _on_mouse_moved(self, scene_pos) -> None:
        cell = self.cell_at_scene_pos(scene_pos)
        if cell == self._hover_cell:
            return
        self._hover_cell = cell
        self.hover_label.setText(self.describe_cell(*cell) or " ")
        self.hovered.emit(*cell)

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        row, col = self.cell_at_scene_pos(event.scenePos())
        if row >= 0:
            self.clicked.emit(row, col)
