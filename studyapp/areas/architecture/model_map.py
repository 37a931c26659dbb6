"""The model map: the loaded GPT drawn as the book's figure 4.15, and the GPT-2 sizes table.

The figure is painted from the model's config, input at the bottom as in the book: token and
positional embeddings, dropout, one transformer block standing for all n_layers (LayerNorm 1,
masked multi-head attention, dropout, shortcut, LayerNorm 2, feed forward with GELU, dropout,
shortcut), the final LayerNorm and the linear output layer. Clicking a component shows its
parameters, memory, the shapes it takes and gives for the current text, and the book's section.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QLabel, QSizePolicy, QTableWidget,
                               QTableWidgetItem, QToolTip, QWidget)

from studyapp.areas.architecture import core
from studyapp.shell import style
from studyapp.widgets.forms import column, rich_label, row, scrolled, splitter
from studyapp.widgets.plot_frame import ask_png_path, save_png_button

ROW_H, GAP, ADD_D = 22, 8, 16  # box height, gap between rows, diameter of a shortcut's "+"
BLOCK_PAD = 26  # room above and below the transformer block's frame (its title sits on top)
# Which chip colour each kind of component is filled with (the book colours them by kind too).
FILL_INDEX = {"tok_emb": 0, "pos_emb": 0, "drop_emb": 5, "drop_shortcut": 5, "norm1": 2,
              "norm2": 2, "final_norm": 2, "att": 3, "ff": 1, "out_head": 6}


class ModelMapCanvas(QWidget):
    """Figure 4.15, painted; `component_clicked(index)` into `components`."""

    component_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.components: list[core.MapComponent] = []
        self.n_layers = 0
        self.selected: int | None = None
        self._rects: list[QRectF] = []
        self._hover: int | None = None
        self.setMouseTracking(True)
        self.setMinimumWidth(220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("Figure 4.15 of the book (section 4.6), drawn from the loaded model's "
                        "config. Click a component for its parameters, memory and shapes")
        style.on_change(self, lambda _c: self.update())

    def set_components(self, components: list[core.MapComponent], n_layers: int) -> None:
        self.components = components
        self.n_layers = n_layers
        rows = len(components) + 2  # the tokenized text below, the logits above
        self.setFixedHeight(rows * (ROW_H + GAP) + 2 * BLOCK_PAD + 16)
        self.update()

    def select(self, index: int | None) -> None:
        self.selected = index
        self.update()

    # -- geometry ---------------------------------------------------------------------------------
    def _layout(self) -> tuple[list[QRectF], QRectF | None]:
        """Boxes of every component, bottom to top, and the transformer block's frame."""
        width = min(self.width() - 70, 300)
        left = 16.0
        y = self.height() - 10 - ROW_H - (ROW_H + GAP)  # leave the bottom row for the input
        rects, block = [], None
        previous_in_block = False
        for comp in self.components:
            if comp.in_block != previous_in_block:
                y -= BLOCK_PAD
                previous_in_block = comp.in_block
            if comp.key == "shortcut":
                r = QRectF(left + width / 2 - ADD_D / 2, y + (ROW_H - ADD_D) / 2, ADD_D, ADD_D)
            else:
                r = QRectF(left, y, width, ROW_H)
            rects.append(r)
            y -= ROW_H + GAP
        inside = [r for r, c in zip(rects, self.components) if c.in_block]
        if inside:
            top = min(r.top() for r in inside) - BLOCK_PAD + 4
            bottom = max(r.bottom() for r in inside) + 6
            block = QRectF(left - 8, top, width + 50, bottom - top)
        return rects, block

    # -- painting ---------------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:  # noqa: N802
        if not self.components:
            return
        c = style.colours()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPointSizeF(max(7.5, font.pointSizeF() - 1))
        painter.setFont(font)
        rects, block = self._layout()
        self._rects = rects
        text_pen, line_pen = QPen(QColor(c.text)), QPen(QColor(c.muted), 1.4)
        if block is not None:
            painter.setPen(QPen(QColor(c.border), 1.2, Qt.PenStyle.DashLine))
            painter.setBrush(QColor(c.panel))
            painter.drawRoundedRect(block, 8, 8)
            painter.setPen(text_pen)
            bold = QFont(font)
            bold.setBold(True)
            painter.setFont(bold)
            painter.drawText(block.adjusted(8, 2, -4, 0), Qt.AlignmentFlag.AlignLeft
                             | Qt.AlignmentFlag.AlignTop,
                             f"Transformer block \u00d7 {self.n_layers}")
            painter.setFont(font)
        # The data's path: a line up the middle, from the tokenized text to the logits.
        centre = rects[0].center().x()
        bottom_label = QRectF(rects[0].left(), rects[0].bottom() + GAP, rects[0].width(), ROW_H)
        top_label = QRectF(rects[-1].left(), rects[-1].top() - GAP - ROW_H, rects[-1].width(),
                           ROW_H)
        painter.setPen(line_pen)
        painter.drawLine(int(centre), int(top_label.bottom()), int(centre),
                         int(bottom_label.top()))
        # Each shortcut: from where its sub-layer's input branches off, round the right side.
        start = None
        for i, comp in enumerate(self.components):
            if comp.key in ("norm1", "norm2"):
                start = rects[i].bottom() + GAP / 2
            elif comp.key == "shortcut" and start is not None:
                side = rects[i - 1].right() + 22
                end = rects[i].center().y()
                path = QPainterPath()
                path.moveTo(centre, start)
                path.lineTo(side, start)
                path.lineTo(side, end)
                path.lineTo(rects[i].right(), end)
                painter.setPen(QPen(QColor(c.accent), 1.4))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawPath(path)
                start = None
        for i, (comp, r) in enumerate(zip(self.components, rects)):
            selected, hovered = i == self.selected, i == self._hover
            border = QColor(c.accent if selected or hovered else c.border)
            painter.setPen(QPen(border, 2.4 if selected else 1.2))
            if comp.key == "shortcut":
                painter.setBrush(QColor(c.panel))
                painter.drawEllipse(r)
                painter.setPen(QPen(QColor(c.accent), 1.6))
                painter.drawText(r, Qt.AlignmentFlag.AlignCenter, "+")
                continue
            painter.setBrush(QColor(c.chip_fills[FILL_INDEX[comp.key] % len(c.chip_fills)]))
            painter.drawRoundedRect(r, 5, 5)
            painter.setPen(QPen(QColor(c.chip_text)))
            painter.drawText(r.adjusted(6, 0, -6, 0), Qt.AlignmentFlag.AlignCenter, comp.label)
        painter.setPen(text_pen)
        for r, text in ((bottom_label, "Tokenized text (token IDs)"),
                        (top_label, "Logits: one score per vocabulary entry")):
            painter.fillRect(r.adjusted(30, 3, -30, -3), QColor(c.plot_background))
            painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        painter.end()

    # -- mouse ------------------------------------------------------------------------------------
    def index_at(self, pos) -> int | None:
        for i, r in enumerate(self._rects):
            if r.adjusted(-3, -3, 3, 3).contains(pos):
                return i
        return None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        index = self.index_at(event.position())
        if index != self._hover:
            self._hover = index
            self.update()
        if index is not None:
            comp = self.components[index]
            QToolTip.showText(event.globalPosition().toPoint(),
                              f"{comp.label}: {core.format_count(comp.info['params'])} "
                              f"parameters{' per block' if comp.in_block else ''}; section "
                              f"{comp.info['section']}. Click for details", self)

    def leaveEvent(self, _event) -> None:  # noqa: N802
        self._hover = None
        self.update()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        index = self.index_at(event.position())
        if index is not None and event.button() == Qt.MouseButton.LeftButton:
            self.select(index)
            self.component_clicked.emit(index)


class ModelMapTab(QWidget):
    """The map (left), the clicked component's details and the GPT-2 sizes table (right)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.cfg = None
        self.model_name = ""
        self.num_tokens = 1
        self.canvas = ModelMapCanvas()
        self.canvas.component_clicked.connect(self._show_details)
        canvas_scroll = scrolled(self.canvas)
        canvas_scroll.setMinimumWidth(240)
        self.save_button = save_png_button("Save the model map as a PNG image", self.export_png)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        left = QWidget()
        column((canvas_scroll, 1), row((self.caption, 1), self.save_button), parent=left,
               margins=0)
        self.details = rich_label()

        self.sizes = QTableWidget(0, len(core.SIZE_COLUMNS))
        self.sizes.setHorizontalHeaderLabels(list(core.SIZE_COLUMNS))
        self.sizes.verticalHeader().setVisible(False)
        self.sizes.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sizes.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.sizes.setMinimumHeight(90)
        self.sizes.setToolTip("GPT-2's four sizes (chapter 4, section 4.6 and its exercise), "
                              "counted from their configs; float32 size is parameters x 4 "
                              "bytes / 1024\u00b2, as the book computes it")
        self.tying = QLabel(core.weight_tying_text())
        self.tying.setWordWrap(True)
        self.tying.setToolTip("Chapter 4, section 4.6: weight tying")
        sizes_box = QWidget()
        column(QLabel("<b>GPT-2 sizes</b> (section 4.6)"), (self.sizes, 1), self.tying,
               parent=sizes_box, margins=0)
        right = splitter(Qt.Orientation.Vertical, (scrolled(self.details), sizes_box), (),
                         (260, 300), collapsible=False)
        column(splitter(Qt.Orientation.Horizontal, (left, right), (), (380, 620),
                        collapsible=False), parent=self, margins=4)
        style.on_change(self, self._restyle)

    def _restyle(self, _c) -> None:
        self.caption.setStyleSheet(style.css_color("muted"))
        self.tying.setStyleSheet(style.css_color("muted"))
        if self.canvas.selected is not None:
            self._show_details(self.canvas.selected)

    def set_model(self, cfg, name: str, num_tokens: int) -> None:
        """Draw `cfg`'s map with shapes for `num_tokens` tokens; keeps the selection."""
        self.cfg, self.model_name, self.num_tokens = cfg, name, max(1, int(num_tokens))
        self.canvas.set_components(core.map_components(cfg, self.num_tokens), cfg.n_layers)
        self.caption.setText(f"{html.escape(name)}: {cfg.n_layers} blocks, emb_dim "
                             f"{cfg.emb_dim}, {cfg.n_heads} heads, vocabulary "
                             f"{cfg.vocab_size:,}; shapes for your text's {self.num_tokens} "
                             "tokens (batch of 1).")
        rows = core.sizes_rows(cfg, name)
        self.sizes.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for col, text in enumerate(row):
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.sizes.setItem(r, col, item)
        selected = self.canvas.selected
        self._show_details(selected if selected is not None else self.index_of("att"))

    def index_of(self, key: str) -> int:
        for i, comp in enumerate(self.canvas.components):
            if comp.key == key:
                return i
        return 0

    def select_key(self, key: str) -> bool:
        keys = [comp.key for comp in self.canvas.components]
        if key not in keys:
            return False
        self._show_details(keys.index(key))
        return True

    def selected_key(self) -> str | None:
        index = self.canvas.selected
        return None if index is None else self.canvas.components[index].key

    def _show_details(self, index: int) -> None:
        if not 0 <= index < len(self.canvas.components):
            return
        self.canvas.select(index)
        comp = self.canvas.components[index]
        muted = style.colours().muted
        rows = "".join(f"<tr><td style='color:{muted}'>{html.escape(k)}&nbsp;&nbsp;</td>"
                       f"<td>{html.escape(v)}</td></tr>" for k, v in core.component_rows(comp))
        self.details.setText(f"<b>{html.escape(comp.label)}</b><table cellspacing=0 "
                             f"cellpadding=2>{rows}</table>")

    def details_text(self) -> str:
        return self.details.text()

    def export_png(self, path=None) -> bool:
        if path is None:
            path = ask_png_path(self, "Save the model map as PNG", "model-map.png")
        return path is not None and self.canvas.grab().save(str(path), "PNG")
