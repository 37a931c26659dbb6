"""What each layer predicts: the logit lens as a grid of blocks x tokens (not in the book).

Row i is the residual stream after block i + 1 read out through `final_norm` and `out_head`; each
cell shows the most probable next token there, filled by its probability on the theme's
sequential colour map. The last row is the model's own output. Hovering a cell shows its top 5;
a cell outlined in the accent colour predicted the token that really came next in the text.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QSizePolicy, QToolTip, QWidget

import pyqtgraph as pg  # after PySide6; only for the theme's colour map
from studyapp.areas.architecture import core
from studyapp.shell import style
from studyapp.widgets.forms import column, row
from studyapp.widgets.plot_frame import ask_png_path, save_png_button

CELL_W, CELL_H, HEAD_H, LEGEND_H = 78, 22, 24, 34
LENS_TIP = ("What each layer predicts (the \u201clogit lens\u201d; not in the book): after every "
            "transformer block, the residual stream is passed through the final LayerNorm and "
            "the output layer (chapter 4, section 4.6) as if the remaining blocks were not "
            "there. It answers the notes' question of where a model keeps what it knows: "
            "watch at which block the final prediction appears. The last row is the model's "
            "own prediction")


def _cell_fill(cmap, p: float) -> QColor:
    return cmap.map(np.array([min(max(p, 0.0), 1.0)]), mode="qcolor")[0]


class LensGrid(QWidget):
    """The painted grid; `hovered(layer, position)` (-1, -1 when leaving)."""

    hovered = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.run: core.BlocksRun | None = None
        self._label_w = 150
        self._hover = (-1, -1)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        style.on_change(self, lambda _c: self.update())

    def set_run(self, run: core.BlocksRun | None) -> None:
        self.run = run
        if run is None:
            self.setFixedSize(10, 10)
        else:
            metrics = QFontMetrics(self.font())
            self._label_w = max(metrics.horizontalAdvance(core.layer_name(run, i))
                                for i in range(run.n_layers)) + 16
            self.setFixedSize(self._label_w + run.num_tokens * CELL_W + 8,
                              HEAD_H + run.n_layers * CELL_H + LEGEND_H + 6)
        self.update()

    def cell_rect(self, layer: int, position: int) -> QRectF:
        return QRectF(self._label_w + position * CELL_W, HEAD_H + layer * CELL_H, CELL_W, CELL_H)

    def cell_at(self, pos) -> tuple[int, int]:
        if self.run is None:
            return -1, -1
        col = int((pos.x() - self._label_w) // CELL_W)
        row = int((pos.y() - HEAD_H) // CELL_H)
        if pos.x() >= self._label_w and pos.y() >= HEAD_H and 0 <= row < self.run.n_layers \
                and 0 <= col < self.run.num_tokens:
            return row, col
        return -1, -1

    def paintEvent(self, event) -> None:  # noqa: N802
        run = self.run
        if run is None:
            return
        c = style.colours()
        cmap = pg.colormap.get(c.heat_map)
        painter = QPainter(self)
        font = QFont(self.font())
        font.setPointSizeF(max(7.5, font.pointSizeF() - 1))
        painter.setFont(font)
        metrics = QFontMetrics(font)
        exposed = event.rect()
        first = max(0, int((exposed.left() - self._label_w) // CELL_W))
        last = min(run.num_tokens, int((exposed.right() - self._label_w) // CELL_W) + 1)
        text, muted = QColor(c.text), QColor(c.muted)
        for position in range(first, last):  # the input tokens across the top
            r = QRectF(self._label_w + position * CELL_W, 0, CELL_W, HEAD_H)
            painter.setPen(text)
            painter.drawText(r.adjusted(2, 0, -2, 0), Qt.AlignmentFlag.AlignCenter,
                             metrics.elidedText(run.labels[position], Qt.TextElideMode.ElideRight,
                                                CELL_W - 4))
        for layer in range(run.n_layers):
            r = QRectF(4, HEAD_H + layer * CELL_H, self._label_w - 8, CELL_H)
            painter.setPen(text if layer == run.n_layers - 1 else muted)
            painter.drawText(r, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                             core.layer_name(run, layer))
            for position in range(first, last):
                label, p = core.lens_cell(run, layer, position)
                cell = self.cell_rect(layer, position).adjusted(1, 1, -1, -1)
                fill = _cell_fill(cmap, p)
                painter.fillRect(cell, fill)
                fg = max((c.text, c.plot_background),
                         key=lambda f: style.contrast_ratio(f, fill.name()))
                painter.setPen(QColor(fg))
                painter.drawText(cell.adjusted(3, 0, -3, 0), Qt.AlignmentFlag.AlignCenter,
                                 metrics.elidedText(label, Qt.TextElideMode.ElideRight,
                                                    CELL_W - 8))
                nxt = position + 1
                if nxt < run.num_tokens and int(run.top_ids[layer, position, 0]) == \
                        run.token_ids[nxt]:
                    painter.setPen(QPen(QColor(c.accent), 2))
                    painter.drawRect(cell.adjusted(1, 1, -1, -1))
        if self._hover[0] >= 0:
            painter.setPen(QPen(QColor(c.text), 2))
            painter.drawRect(self.cell_rect(*self._hover).adjusted(1, 1, -1, -1))
        # The separation before the model's own row, and the colour legend.
        y = HEAD_H + (run.n_layers - 1) * CELL_H
        painter.setPen(QPen(QColor(c.text), 1.5))
        painter.drawLine(int(self._label_w), int(y), int(self.width() - 8), int(y))
        legend = QRectF(self._label_w, HEAD_H + run.n_layers * CELL_H + 10,
                        min(220, self.width() - self._label_w - 10), 10)
        gradient = QLinearGradient(legend.topLeft(), legend.topRight())
        for stop in np.linspace(0, 1, 6):
            gradient.setColorAt(float(stop), _cell_fill(cmap, float(stop)))
        painter.fillRect(legend, gradient)
        painter.setPen(muted)
        painter.drawText(QRectF(4, legend.top() - 4, self._label_w - 8, 18),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         "probability 0")
        painter.drawText(QRectF(legend.right() + 4, legend.top() - 4, 40, 18),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "1")
        painter.end()

    def tooltip_html(self, layer: int, position: int) -> str:
        run = self.run
        rows = "".join(f"<tr><td>{html.escape(label)}</td><td align=right>"
                       f"{core.describe(p)}</td></tr>"
                       for label, p in core.lens_tooltip(run, layer, position))
        return (f"<b>{html.escape(core.layer_name(run, layer))}</b>, after "
                f"\u201c{html.escape(run.labels[position])}\u201d (token {position + 1}): "
                f"top {run.top_ids.shape[-1]}<table>{rows}</table>")

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        cell = self.cell_at(event.position())
        if cell != self._hover:
            self._hover = cell
            self.update()
            self.hovered.emit(*cell)
        if cell[0] >= 0:
            QToolTip.showText(event.globalPosition().toPoint(), self.tooltip_html(*cell), self)
        else:
            QToolTip.hideText()

    def leaveEvent(self, _event) -> None:  # noqa: N802
        self._hover = (-1, -1)
        self.hovered.emit(-1, -1)
        self.update()


class LensTab(QWidget):
    """The grid in a scroll area, a summary line, a hover line and "Save PNG..."."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.grid = LensGrid()
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.grid)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setMinimumHeight(120)
        self.scroll.setToolTip(LENS_TIP)
        self.info = QLabel("Not in the book: what each block's output would predict if it were "
                           "the last block. Hover a cell for its top 5.")
        self.info.setWordWrap(True)
        self.info.setToolTip(LENS_TIP)
        self.hover_line = QLabel(" ")
        self.hover_line.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        style.set_text_role(self.hover_line, "muted")
        self.save_button = save_png_button("Save the whole grid as a PNG image", self.export_png)
        self.grid.hovered.connect(self._hovered)
        column(self.info, (self.scroll, 1), row((self.hover_line, 1), self.save_button),
               parent=self, margins=4)

    def set_run(self, run: core.BlocksRun | None) -> None:
        self.grid.set_run(run)
        self.save_button.setEnabled(run is not None)
        if run is not None:
            hits = sum(int(run.prediction[t] == run.token_ids[t + 1])
                       for t in range(run.num_tokens - 1))
            self.info.setText(
                f"Not in the book: what each block's output would predict if it were the last "
                f"block, for {core.run_summary(run)}. The last row is the model's prediction; "
                f"it guesses {hits} of the {run.num_tokens - 1} next tokens of your text "
                "(outlined). Hover a cell for its top 5.")

    def _hovered(self, layer: int, position: int) -> None:
        run = self.grid.run
        if layer < 0 or run is None:
            self.hover_line.setText(" ")
            return
        top = ", ".join(f"{label} {core.describe(p)}"
                        for label, p in core.lens_tooltip(run, layer, position))
        self.hover_line.setText(f"{core.layer_name(run, layer)}, after "
                                f"\u201c{run.labels[position]}\u201d: {top}")

    def export_png(self, path=None) -> bool:
        if path is None:
            path = ask_png_path(self, "Save the logit lens grid as PNG", "logit-lens.png")
        return path is not None and self.grid.grab().save(str(path), "PNG")
