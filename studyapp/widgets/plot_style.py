"""pyqtgraph plots in the palette's colours, restyled live when the appearance changes.

pyqtgraph takes its background and foreground from global options when an item is created;
items that exist keep theirs. `follow_palette` gives a plot the current mode's colours
(background, axes and their labels, title, legend) and gives them again after every switch.
"""

from __future__ import annotations

from typing import Callable, Iterable

import pyqtgraph as pg  # isort: skip  (the caller imported PySide6 first)
from studyapp.shell import style

_AXES = ("left", "bottom", "top", "right")


def restyle_plot_item(item: pg.PlotItem, c: style.Colours) -> None:
    """Axes (ticks, tick labels, axis labels, the grid drawn from them), title and legend."""
    for name in _AXES:
        axis = item.axes.get(name, {}).get("item")
        if axis is None:
            continue
        axis.setPen(c.plot_foreground)
        axis.setTextPen(c.plot_foreground)  # also recolours the axis label
    title = item.titleLabel
    if title.text:
        title.setText(title.text, color=c.plot_foreground)
    if item.legend is not None:
        item.legend.setLabelTextColor(c.plot_foreground)


def follow_palette(owner, view, items: Iterable[pg.PlotItem] | None = None,
                   extra: Callable[[style.Colours], None] | None = None) -> None:
    """Keep `view` (a PlotWidget or GraphicsLayoutWidget) and its plot items in the palette's
    colours for as long as `owner` lives; `extra(colours)` restyles the owner's own items
    (curves, bars, texts). Without `items`, a PlotWidget's own PlotItem is used."""
    if items is None:
        items = [view.getPlotItem()] if hasattr(view, "getPlotItem") else []
    items = list(items)

    def restyle(c: style.Colours) -> None:
        view.setBackground(c.plot_background)
        for item in items:
            restyle_plot_item(item, c)
        if extra is not None:
            extra(c)

    style.on_change(owner, restyle)
