"""Flashcards > Statistics: forecast, reviews per day, true retention, progress per section (Qt).

Four pyqtgraph plots over a `DeckStats` (computed by studyapp.review.stats). Every bar item is
created once and updated with setOpts.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

import pyqtgraph as pg  # after PySide6, or pyqtgraph may bind to PyQt6

from studyapp.review.stats import DeckStats, format_duration
from studyapp.shell import style
from studyapp.widgets.count_axis import CountAxis
from studyapp.widgets.plot_style import follow_palette

#: colour role and name of each part of a section's bar, in drawing order
AGES = (("age_mature", "mature"), ("age_young", "young"), ("age_learning", "learning"),
        ("age_new", "new"))
MAX_SECTION_LABEL = 30


def _plot(title: str, counts_on: str | None = "left") -> pg.PlotWidget:
    """A small fixed plot; the `counts_on` axis shows whole numbers only."""
    axes = {counts_on: CountAxis(counts_on)} if counts_on else {}
    w = pg.PlotWidget(axisItems=axes)
    w.setMenuEnabled(False)
    w.setMouseEnabled(x=False, y=False)
    w.hideButtons()
    w.setTitle(title, size="10pt")
    w.showGrid(x=False, y=True, alpha=0.25)
    w.setMinimumHeight(130)
    font = QFont()
    font.setPointSize(8)
    for axis in ("left", "bottom"):
        w.getAxis(axis).setStyle(tickFont=font)
    return w


class StatsPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)

        self.forecast = _plot("Due in the next 30 days")
        self.forecast_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.forecast.addItem(self.forecast_bars)
        self.forecast.setLabel("bottom", "days from today")

        self.reviews = _plot("Reviews per day (last 30 days)")
        self.review_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.reviews.addItem(self.review_bars)
        self.reviews.setLabel("bottom", "days ago")

        self.retention = _plot("True retention per day (reviews of review cards)", counts_on=None)
        self.retention_curve = self.retention.plot([], [], symbol="o", symbolSize=6,
                                                   connect="finite")
        self.retention_target = pg.InfiniteLine(angle=0, pos=90)
        self.retention.addItem(self.retention_target)
        self.retention.setYRange(0, 100, padding=0.05)
        self.retention.setLabel("left", "%")
        self.retention.setLabel("bottom", "days ago")
        self.retention_empty = pg.TextItem("No reviews of review-state cards yet",
                                           anchor=(0.5, 0.5))
        self.retention.addItem(self.retention_empty)
        self.retention_empty.setPos(-14.5, 50)

        self.progress = _plot("Progress per section", counts_on="bottom")
        self.progress_bars = [pg.BarGraphItem(x0=[], y=[], width=[], height=0.6, name=n)
                              for _, n in AGES]
        for item in self.progress_bars:
            self.progress.addItem(item)
        self.progress.invertY(True)
        self.progress.showGrid(x=True, y=False, alpha=0.25)
        self.progress.setLabel("bottom", "cards")
        self._tick_font = QFont()
        self._tick_font.setPointSize(8)
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        for plot in (self.forecast, self.reviews, self.retention, self.progress):
            follow_palette(plot, plot)
        style.on_change(self, self._restyle)

        grid = QGridLayout()
        grid.addWidget(self.forecast, 0, 0)
        grid.addWidget(self.reviews, 0, 1)
        grid.addWidget(self.retention, 1, 0)
        progress_box = QWidget()
        pl = QVBoxLayout(progress_box)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.addWidget(self.progress, 1)
        pl.addWidget(self.legend)
        grid.addWidget(progress_box, 1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(grid, 1)
        self.stats: DeckStats | None = None

    def _restyle(self, c: style.Colours) -> None:
        self.forecast_bars.setOpts(brush=QColor(c.bar))
        self.review_bars.setOpts(brush=QColor(c.age_young))
        self.retention_curve.setPen(pg.mkPen(c.retention, width=2))
        self.retention_curve.setSymbolBrush(c.retention)
        self.retention_target.setPen(pg.mkPen(c.muted, style=Qt.PenStyle.DashLine))
        self.retention_empty.setColor(c.muted)
        for item, (role, _) in zip(self.progress_bars, AGES):
            item.setOpts(brush=QColor(getattr(c, role)))
        words = {"mature": "mature (21+ days)"}
        self.legend.setText(" &nbsp; ".join(
            f"<span style='color:{getattr(c, role)}'>■</span> {words.get(name, name)}"
            for role, name in AGES))

    def set_stats(self, st: DeckStats, desired_retention: float = 0.9) -> None:
        self.stats = st
        days = len(st.forecast)
        self.forecast_bars.setOpts(x=np.arange(days), height=np.array(st.forecast, float))
        self.forecast.setXRange(-0.7, days - 0.3, padding=0)
        self.forecast.setYRange(0, max(1, max(st.forecast)) * 1.1, padding=0)

        n = len(st.reviews_per_day)
        ago = -np.arange(n - 1, -1, -1, dtype=float)  # -29 .. 0
        self.review_bars.setOpts(x=ago, height=np.array(st.reviews_per_day, float))
        self.reviews.setXRange(ago[0] - 0.7, 0.7, padding=0)
        self.reviews.setYRange(0, max(1, max(st.reviews_per_day)) * 1.1, padding=0)

        per_day = st.retention_per_day()
        y = np.array([np.nan if r is None else 100 * r for r in per_day], float)
        has = ~np.isnan(y)
        # Only the days with reviews: an all-NaN curve makes pyqtgraph warn.
        self.retention_curve.setData(ago[has], y[has])
        self.retention_empty.setVisible(not has.any())
        self.retention_target.setPos(100 * desired_retention)
        self.retention.setXRange(ago[0] - 0.7, 0.7, padding=0)

        sections = st.sections
        ys = np.arange(len(sections), dtype=float)
        parts = [np.array([getattr(s, f) for s in sections], float)
                 for f in ("mature", "young", "learning", "new")]
        x0 = np.zeros(len(sections))
        for item, width in zip(self.progress_bars, parts):
            item.setOpts(x0=x0.copy(), y=ys, width=width, height=0.6)
            x0 = x0 + width
        labels = []
        for i, s in enumerate(sections):
            name = s.name if len(s.name) <= MAX_SECTION_LABEL else s.name[:MAX_SECTION_LABEL - 1] + "…"
            labels.append((float(i), name))
        left = self.progress.getAxis("left")
        left.setTicks([labels])
        # Size the axis for the longest name now: auto-expansion would only apply on a later
        # paint, and a first paint (or a screenshot) would show bars without names.
        metrics = QFontMetrics(self._tick_font)
        left.setWidth(max([metrics.horizontalAdvance(t) for _, t in labels] + [20]) + 14)
        self.progress.setYRange(-0.6, max(0.6, len(sections) - 0.4), padding=0)
        self.progress.setXRange(0, max(1.0, float(x0.max()) if len(x0) else 1.0) * 1.05,
                                padding=0)

        def pct(r):
            return "n/a" if r.rate is None else f"{100 * r.rate:.0f}% ({r.passed}/{r.total})"
        total_cards = sum(s.total for s in sections)
        self.summary.setText(
            f"<b>{total_cards}</b> cards · <b>{st.total_reviews}</b> reviews in all · "
            f"time spent {format_duration(st.total_time_ms)} · reviews today "
            f"<b>{st.reviews_per_day[-1] if st.reviews_per_day else 0}</b><br>"
            f"True retention: today {pct(st.retention['today'])}, last 7 days "
            f"{pct(st.retention['week'])}, last 30 days {pct(st.retention['month'])}, "
            f"all time {pct(st.retention['all'])} · target {100 * desired_retention:.0f}%")
