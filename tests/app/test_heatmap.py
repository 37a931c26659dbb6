"""The reusable heatmap widget: matrix, labels, hover text, clicks, scales, PNG export."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from studyapp.widgets.heatmap import HeatmapWidget

BOOK_6x3 = [[0.3374, -0.1778, -0.1690], [0.9178, 1.5810, 1.3010], [1.2753, -0.2010, -0.1606],
            [-0.4015, 0.9666, -1.1481], [-1.1589, 0.3255, -0.6315], [-2.8400, -0.7849, -1.4096]]


@pytest.fixture
def heatmap(qtbot):
    widget = HeatmapWidget(title="Book table", symmetric=True, colormap="CET-D1A")
    qtbot.addWidget(widget)
    widget.resize(500, 360)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _viewport_pos(widget: HeatmapWidget, row: int, col: int):
    scene = widget.plot.getViewBox().mapViewToScene(QPointF(col + 0.5, row + 0.5))
    return widget.view.mapFromScene(scene)


def test_set_matrix_labels_and_hover_text(heatmap):
    heatmap.set_matrix(BOOK_6x3, [f"ID {i}" for i in range(6)], ["d0", "d1", "d2"])
    assert heatmap.values.shape == (6, 3)
    assert not heatmap.is_showing_message()
    assert heatmap.describe_cell(0, 0) == "row 0 'ID 0', column 0 'd0': 0.3374"
    lo, hi = heatmap.levels()
    assert lo == pytest.approx(-2.84, abs=1e-4) and hi == pytest.approx(2.84, abs=1e-4)
    # small matrices print their values in the cells
    assert len(heatmap._cell_texts) == 18
    assert heatmap.describe_cell(9, 9) == ""


def test_click_emits_row_and_col(heatmap, qtbot):
    heatmap.set_matrix(BOOK_6x3)
    qtbot.wait(10)
    with qtbot.waitSignal(heatmap.clicked, timeout=2000) as blocker:
        qtbot.mouseClick(heatmap.view.viewport(), Qt.MouseButton.LeftButton,
                         pos=_viewport_pos(heatmap, 4, 2))
    assert blocker.args == [4, 2]


def test_hover_reports_value(heatmap, qtbot):
    heatmap.set_matrix(BOOK_6x3)
    scene_pos = heatmap.plot.getViewBox().mapViewToScene(QPointF(1.5, 1.5))
    with qtbot.waitSignal(heatmap.hovered, timeout=2000) as blocker:
        heatmap._on_mouse_moved(scene_pos)
    assert blocker.args == [1, 1]
    assert "1.5810" in heatmap.hover_label.text()


def test_masked_values_and_log_scale(heatmap):
    weights = np.tril(np.full((4, 4), 0.25))
    scores = np.where(weights > 0, weights, -np.inf)
    heatmap.set_log_scale(True)
    heatmap.set_matrix(scores, list("abcd"), list("abcd"), title="masked")
    assert "-inf (masked)" in heatmap.describe_cell(0, 3)
    lo, hi = heatmap.levels()
    assert math.isfinite(lo) and math.isfinite(hi)
    assert heatmap.title == "masked"


def test_bad_shapes_are_refused(heatmap):
    with pytest.raises(ValueError, match="2-D"):
        heatmap.set_matrix(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="labels"):
        heatmap.set_matrix(np.zeros((2, 3)), ["a"], None)


def test_message_state_and_export(heatmap, tmp_path):
    heatmap.show_message("Loading model...")
    assert heatmap.is_showing_message()
    heatmap.set_matrix(np.arange(12).reshape(3, 4), None, None)
    heatmap.set_highlight(row=1)
    path = tmp_path / "hm.png"
    assert heatmap.export_png(path)
    assert path.stat().st_size > 1000
    assert heatmap.default_file_name() == "book-table.png"


def test_large_matrix_skips_cell_texts(heatmap):
    heatmap.set_matrix(np.random.default_rng(0).standard_normal((128, 64)))
    assert heatmap._cell_texts == []
