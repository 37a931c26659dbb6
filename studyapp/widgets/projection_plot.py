"""A labelled 2-D scatter plot (a PCA projection of vectors), with hover and PNG export.

Used by the Embeddings lab for token embeddings and positional embeddings projected to 2-D.
Points come in groups (each with its own colour and label policy); an optional line joins the
points of a group in order (positions 0, 1, 2, ... trace a path).

    plot = ProjectionPlot(title="Token embeddings, PCA")
    plot.set_groups([PointGroup("text", points, labels, "point"), ...],
                    x_label="PC 1 (12% of variance)", y_label="PC 2 (8%)")
    plot.show_message("Loading model...")
    plot.export_png(path)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QWidget

import pyqtgraph as pg  # after PySide6, or pyqtgraph may bind to PyQt6
from studyapp.shell import style
from studyapp.widgets.plot_frame import PlotFrame
from studyapp.widgets.plot_style import follow_palette


@dataclass
class PointGroup:
    name: str
    points: np.ndarray  # (n, 2)
    labels: Sequence[str]
    # one colour or one per point: a role of studyapp.shell.style (follows the mode) or a
    # colour computed by the caller (e.g. from a colour map)
    color: str | Sequence[str] = "point"
    size: float = 8.0
    label_every: int = 1  # label every k-th point (0: none)
    connect: bool = False  # draw a line through the points in order
    label_color: str = "point_label"


class ProjectionPlot(PlotFrame, QWidget):
    MAX_LABELS = 400  # text items are costly; beyond this only the hover read-out names points

    def __init__(self, parent=None, *, title: str = ""):
        super().__init__(parent)
        self._title = title
        self._groups: list[PointGroup] = []
        self._all_points = np.zeros((0, 2))
        self._all_names: list[str] = []
        self._axis_labels = ("", "")
        self._colours = style.colours()
        self.view = pg.GraphicsLayoutWidget()
        self.plot = self.view.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self._items: list = []
        self._set_title(title)
        self.view.scene().sigMouseMoved.connect(self._on_mouse_moved)

        self._build_frame(self.view, "Save this plot as a PNG image")
        follow_palette(self, self.view, [self.plot], self._restyle)

    def _restyle(self, c: style.Colours) -> None:
        self._colours = c
        if self._groups:  # points, labels and lines are drawn in the palette's colours
            self.set_groups(self._groups, None, *self._axis_labels)

    def _colour(self, name: str) -> QColor:
        return QColor(getattr(self._colours, name, name))

    def groups(self) -> list[PointGroup]:
        return list(self._groups)

    def set_groups(self, groups: Sequence[PointGroup], title: str | None = None,
                   x_label: str = "", y_label: str = "") -> None:
        for item in self._items:
            self.plot.removeItem(item)
        self._items = []
        self._groups = list(groups)
        if title is not None:
            self._set_title(title)
        self._axis_labels = (x_label, y_label)
        fg = self._colours.plot_foreground
        self.plot.setLabel("bottom", x_label, color=fg)
        self.plot.setLabel("left", y_label, color=fg)
        font = QFont()
        font.setPointSize(8)
        labels_left = self.MAX_LABELS
        names, coords = [], []
        for group in self._groups:
            pts = np.asarray(group.points, dtype=float).reshape(-1, 2)
            if pts.shape[0] == 0:
                continue
            coords.append(pts)
            names += [f"{group.name}: {label}" for label in group.labels]
            if group.connect and pts.shape[0] > 1:
                pen = pg.mkPen(self._colours.path_line, width=1)
                line = pg.PlotDataItem(pts[:, 0], pts[:, 1], pen=pen)
                self.plot.addItem(line)
                self._items.append(line)
            colors = ([group.color] * len(pts) if isinstance(group.color, str)
                      else list(group.color))
            brushes = [pg.mkBrush(self._colour(c)) for c in colors]
            scatter = pg.ScatterPlotItem(pts[:, 0], pts[:, 1], size=group.size, brush=brushes,
                                         pen=pg.mkPen(self._colours.point_outline, width=0.5))
            self.plot.addItem(scatter)
            self._items.append(scatter)
            if group.label_every > 0:
                for i in range(0, len(pts), group.label_every):
                    if labels_left <= 0:
                        break
                    text = pg.TextItem(str(group.labels[i]), color=self._colour(group.label_color),
                                       anchor=(0, 1))
                    text.setFont(font)
                    text.setPos(pts[i, 0], pts[i, 1])
                    self.plot.addItem(text)
                    self._items.append(text)
                    labels_left -= 1
        self._all_points = np.vstack(coords) if coords else np.zeros((0, 2))
        self._all_names = names
        if not coords:
            self.show_message("No points to show.")
            return
        self._stack.setCurrentIndex(0)
        self.save_button.setEnabled(True)
        self.plot.autoRange(padding=0.08)

    def nearest(self, x: float, y: float) -> int:
        if self._all_points.shape[0] == 0:
            return -1
        vb = self.plot.getViewBox()
        sx, sy = vb.viewPixelSize()  # scale so the distance is in pixels
        d = ((self._all_points[:, 0] - x) / (sx or 1)) ** 2 + \
            ((self._all_points[:, 1] - y) / (sy or 1)) ** 2
        i = int(np.argmin(d))
        return i if d[i] <= 12 ** 2 else -1

    def _on_mouse_moved(self, scene_pos) -> None:
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return
        p = vb.mapSceneToView(scene_pos)
        i = self.nearest(p.x(), p.y())
        self.hover_label.setText(self._all_names[i] if i >= 0 else " ")
