"""The token chips view: flow layout, newline rows, hit testing, hover/click, ID mode."""

from __future__ import annotations

import random

import pytest
from PySide6.QtCore import QPoint, Qt

from studyapp.widgets.token_chips import NEWLINE_MARK, Chip, TokenChipsView


@pytest.fixture
def view(qtbot):
    widget = TokenChipsView()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _reference_layout(widths, breaks_after, room, margin, gap, row_h):
    """The obvious one-chip-at-a-time flow, to check the vectorized one against."""
    x, y = margin, margin
    out = []
    for i, w in enumerate(widths):
        w = min(w, room)
        if x + w > margin + room and x > margin:
            x, y = margin, y + row_h
        out.append((x, y, w))
        x += w + gap
        if i in breaks_after and i + 1 < len(widths):
            x, y = margin, y + row_h
    return out


def test_layout_matches_the_simple_flow(view):
    rng = random.Random(4)
    words = ["a", "the", "\u00b7token", "\u00b7izer", "x" * 40, NEWLINE_MARK, "\u00b7BPE", "ok"]
    chips = [Chip(rng.choice(words), i) for i in range(500)]
    chips.append(Chip("y" * 400, 999))  # wider than a row: clipped to the row
    view.set_chips(chips)
    widths = [view._width(c.label) for c in chips]
    breaks = {i for i, c in enumerate(chips) if c.label.endswith(NEWLINE_MARK)}
    room = max(60, view.viewport().width()) - 2 * view.MARGIN
    expected = _reference_layout(widths, breaks, room, view.MARGIN, view.GAP_X,
                                 view._chip_h + view.GAP_Y)
    assert list(zip(view._xs, view._ys, view._ws)) == expected


def test_hit_testing_hover_and_click(view, qtbot):
    view.set_chips([Chip("Hello", 15496), Chip(",", 11), Chip("\u00b7world", 995)])
    rect = view.chip_rect(2)
    assert view.index_at(rect.center()) == 2
    assert view.index_at(QPoint(rect.right() + 2, rect.center().y())) == -1
    with qtbot.waitSignal(view.hovered, timeout=2000) as hovered:
        qtbot.mouseMove(view.viewport(), view.chip_rect(1).center())
    assert hovered.args == [1]
    with qtbot.waitSignal(view.clicked, timeout=2000) as clicked:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert clicked.args == [2]


def test_newline_chip_ends_its_row_and_ids_mode(view):
    view.set_chips([Chip("a", 64), Chip(NEWLINE_MARK, 198), Chip("b", 65)])
    assert view.chip_rect(2).top() > view.chip_rect(0).top()
    narrow = view.chip_rect(0).width()
    view.set_show_ids(True)
    assert view.show_ids() and view.chip_rect(0).width() > narrow  # "64" is wider than "a"


def test_empty_text_tooltips_and_highlight(view):
    view.set_empty_text("Type some text")
    view.set_chips([])
    assert view.chip_count() == 0 and view.index_at(QPoint(10, 10)) == -1
    view.set_chips([Chip("a", 64, tooltip="ID 64"), Chip("b", 65)])
    view.set_tooltip_provider(lambda i: f"token {i}")
    assert view.tooltip_for(0) == "ID 64" and view.tooltip_for(1) == "token 1"
    view.set_highlight(1)
    assert view.highlight() == 1


def test_many_chips_scroll(view):
    view.set_chips([Chip(f"\u00b7w{i}", i) for i in range(3000)])
    bar = view.verticalScrollBar()
    assert bar.maximum() > 0
    view.set_highlight(2999)  # scrolls the chip into view
    rect = view.chip_rect(2999)
    assert 0 <= rect.top() and rect.bottom() <= view.viewport().height()
