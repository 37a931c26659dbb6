"""A pyqtgraph axis for counts: ticks only at whole numbers.

pyqtgraph picks tick spacings for real numbers, so an axis of cards or reviews whose maximum is 3
gets ticks at 0.5, 1.5, 2.5; nobody reviews half a card.
"""

from __future__ import annotations

import math

import pyqtgraph as pg  # the caller has imported PySide6, so pyqtgraph binds to it


class CountAxis(pg.AxisItem):
    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 - pyqtgraph's name
        levels = []
        for spacing, offset in super().tickSpacing(minVal, maxVal, size):
            whole = float(max(1, math.ceil(spacing)))
            if all(whole != existing for existing, _ in levels):
                levels.append((whole, 0.0))
        return levels or [(1.0, 0.0)]
