"""Count axes (cards due, reviews) tick at whole numbers, however small the counts."""

import pyqtgraph as pg

from studyapp.widgets.count_axis import CountAxis


def test_a_count_axis_never_ticks_at_half_a_card(qtbot):
    plain, counts = pg.AxisItem("left"), CountAxis("left")
    plain_ticks = [v for _s, values in plain.tickValues(0, 3.3, 200) for v in values]
    assert any(v != int(v) for v in plain_ticks)  # what pyqtgraph does on its own
    for low, high, size in ((0, 3.3, 200), (0, 1.1, 130), (0, 250, 400), (-29.7, 0.7, 500)):
        ticks = [v for _s, values in counts.tickValues(low, high, size) for v in values]
        assert ticks and all(v == int(v) for v in ticks), (low, high, ticks)


def test_the_statistics_tab_uses_count_axes_for_counts():
    import studyapp.areas.flashcards.stats as stats

    widget = stats._plot("Due in the next 30 days")
    assert isinstance(widget.getAxis("left"), CountAxis)
    widget.deleteLater()
