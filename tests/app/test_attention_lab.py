"""The Attention lab: the model's heads on the learner's text, and chapter 3 step by step."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from studyapp.areas.attention import core
from studyapp.areas.attention.area import LOADING, AttentionArea, create_area


def _wait_run(qtbot, tab, timeout=10000):
    """Wait until the tab's runs are done and it shows a result or a message."""
    qtbot.waitUntil(lambda: not tab.is_busy(), timeout=timeout)


@pytest.fixture
def area(make_widget, qtbot):
    widget = make_widget(create_area)
    widget.resize(1100, 760)
    widget.show()
    _wait_run(qtbot, widget.model_tab)
    return widget


def test_text_runs_through_the_model_and_the_heatmap_shows_one_head(area, ctx):
    tab = area.model_tab
    run = tab.run
    assert run is not None and tab.message == ""
    entry = ctx.models.current
    ids = ctx.models.tokenizer.encode(tab.text_edit.toPlainText())
    assert run.token_ids == ids
    assert run.weights.shape == (entry.config.n_layers, entry.config.n_heads, len(ids), len(ids))
    np.testing.assert_allclose(run.weights.sum(-1), 1.0, atol=1e-5)
    values = tab.heatmap.values
    assert values.shape == (len(ids), len(ids))
    assert np.isnan(values[0, 1]) and np.isnan(values[2, 5])  # the future is left empty
    np.testing.assert_allclose(values[3, :4], run.weights[0, 0, 3, :4], atol=1e-6)
    assert tab.heatmap.row_labels == run.labels == tab.heatmap.col_labels
    assert "cannot see" in tab.heatmap.describe_cell(0, 3)
    assert "0." in tab.heatmap.describe_cell(3, 1)
    assert "layer 0, head 0" in tab.heatmap.title
    assert "tokens through" in tab.info.text()


def test_layer_head_average_and_log_scale(area, qtbot):
    tab = area.model_tab
    run = tab.run
    tab.select(1, None)  # the average over heads
    assert tab.head is None
    np.testing.assert_allclose(np.nan_to_num(tab.heatmap.values),
                               run.weights[1].mean(0), atol=1e-6)
    assert "average over heads" in tab.heatmap.title
    tab.select(1, 1)
    np.testing.assert_allclose(np.nan_to_num(tab.heatmap.values), run.weights[1, 1], atol=1e-6)
    tab.log_check.setChecked(True)
    assert tab.heatmap._log and tab.grid._log


def test_all_heads_grid_click_opens_the_head(area, qtbot):
    tab = area.model_tab
    tab.show_view("grid")
    run = tab.run
    assert tab.grid.shape == (run.n_layers, run.n_heads)
    rect = tab.grid._rect(1, 1)
    with qtbot.waitSignal(tab.grid.head_clicked, timeout=2000) as blocker:
        qtbot.mouseClick(tab.grid, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    assert blocker.args == [1, 1]
    assert (tab.layer, tab.head) == (1, 1)
    assert tab.views.currentWidget() is tab.heatmap
    assert "layer 1, head 1" in tab.heatmap.title


def test_head_view_follows_the_query_token(area, qtbot):
    tab = area.model_tab
    tab.show_view("head_view")
    run = tab.run
    assert tab.head_view.query == run.num_tokens - 1  # starts at the last token
    tab.set_query(3)
    assert tab.head_view.query == 3
    assert "Query 3" in tab.head_caption.text()
    y = tab.head_view.row_y(5)
    x = tab.head_view._columns()[0] + 5
    with qtbot.waitSignal(tab.head_view.query_pinned, timeout=2000):
        qtbot.mouseClick(tab.head_view, Qt.MouseButton.LeftButton, pos=QPointF(x, y).toPoint())
    assert tab.query_index == 5
    tab.all_heads_check.setChecked(True)
    assert tab.head_view._head is None
    assert f"head {run.n_heads - 1}" in tab.head_caption.text()
    top = run.top_attended(0, None, 5, k=2)
    assert len(top) == 2 and top[0][2] >= top[1][2]


def test_pipeline_shows_chapter_3_on_the_chosen_head(area):
    tab = area.model_tab
    tab.select(1, 0)
    tab.show_view("pipeline")
    run = tab.run
    maps = tab.pipeline_maps
    t, hd = run.num_tokens, run.head_dim
    assert maps["queries"].values.shape == (t, hd)
    raw = maps["scores"].values
    np.testing.assert_allclose(maps["scaled"].values, raw / math.sqrt(hd), rtol=1e-5, atol=1e-6)
    masked = maps["masked"].values
    assert np.isneginf(masked[0, 1]) and np.isfinite(masked[1, 0])
    weights = maps["weights"].values
    np.testing.assert_allclose(np.nan_to_num(weights), run.weights[1, 0], atol=1e-6)
    # softmax of the masked, scaled scores gives the weights the model used
    row = masked[4, :5]
    soft = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
    np.testing.assert_allclose(soft, weights[4, :5], atol=1e-5)
    tab.select(None, None)
    assert maps["weights"].is_showing_message()


@pytest.mark.parametrize("text, expect", [
    ("", "Type some text"),
    ("   \n ", "Type some text"),
])
def test_empty_text_says_so(area, qtbot, text, expect):
    tab = area.model_tab
    tab.set_text(text)
    _wait_run(qtbot, tab)
    assert tab.run is None and expect in tab.message
    assert tab.heatmap.is_showing_message() and expect in tab.heatmap.message.text()


def test_text_longer_than_the_context_is_cut_with_a_notice(area, qtbot, ctx):
    tab = area.model_tab
    context = ctx.models.current.config.context_length
    tab.set_text("one two three " * 40)
    _wait_run(qtbot, tab)
    assert tab.run.num_tokens == context
    assert f"first {context}" in tab.notice.text() and tab.notice.isVisibleTo(tab)


def test_one_token_and_only_special_tokens(area, qtbot):
    tab = area.model_tab
    tab.set_text("Hello")
    _wait_run(qtbot, tab)
    assert tab.run.num_tokens == 1 and "Only one token" in tab.notice.text()
    assert tab.heatmap.values.shape == (1, 1) and tab.heatmap.values[0, 0] == pytest.approx(1.0)
    tab.set_text("<|endoftext|><|endoftext|>")
    _wait_run(qtbot, tab)
    assert tab.run.token_ids == [50256, 50256]
    assert "only the special token" in tab.notice.text()
    tab.set_text("Back to words")
    _wait_run(qtbot, tab)
    assert not tab.notice.isVisibleTo(tab)


def test_typing_reruns_after_a_pause(area, qtbot):
    tab = area.model_tab
    first = tab.run
    tab.text_edit.setPlainText("Every effort moves you")
    assert tab.is_busy()
    _wait_run(qtbot, tab)
    assert tab.run is not first and tab.run.labels == ["Every", "effort", "moves", "you"]


def test_loading_state_then_renders_when_the_model_arrives(qtbot, tmp_path, qapp, tiny_entry):
    from studyapp.shell.app import build_context

    ctx = build_context(tmp_path)
    widget = AttentionArea(ctx)
    qtbot.addWidget(widget)
    tab = widget.model_tab
    assert tab.run is None and tab.message == LOADING
    assert tab.heatmap.is_showing_message()
    assert widget.steps_tab.steps is None  # torch waits for the model session
    ctx.models.add(tiny_entry, make_current=True)
    _wait_run(qtbot, tab)
    assert tab.run is not None and tab.run.model_name == tiny_entry.name
    assert widget.steps_tab.steps is not None
    widget.shutdown()


def test_switching_model_reruns(area, qtbot, ctx):
    from studyapp.models.entry import untrained_entry

    other = untrained_entry("tiny", seed=7)
    ctx.models.add(other, make_current=True)
    _wait_run(qtbot, area.model_tab)
    assert area.model_tab.run.model_name == other.name


# -- chapter 3 step by step -------------------------------------------------------------------
def _page_text(page) -> str:
    return "\n".join(b.numbers.text() for b in page.blocks if b.isVisibleTo(page))


def test_step_by_step_shows_the_books_numbers(area):
    steps = area.steps_tab
    area.apply_state({"step": 1})
    text = _page_text(steps.pages[0])
    assert "tensor([0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865])" in text
    assert "tensor([0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581])" in text
    assert "tensor([0.4419, 0.6515, 0.5683])" in text
    steps.show_step(2)
    text = _page_text(steps.pages[1])
    assert "tensor([0.4306, 1.4551])" in text and "tensor([0.3061, 0.8210])" in text
    assert steps.pages[1].checks.text().startswith("\u2713 SelfAttention_v1")


def test_apply_state_step_3_opens_causal_masking(area):
    area.apply_state({"step": 3})
    assert area.tabs.currentWidget() is area.steps_tab
    assert area.steps_tab.step_tabs.currentIndex() == 2
    page = area.steps_tab.pages[2]
    assert "-inf" in _page_text(page)
    assert "agree" in page.checks.text()


def test_apply_state_text_layer_and_view(area, qtbot):
    area.apply_state({"step": 4})
    area.apply_state({"text": "Every effort moves you forward", "layer": 1, "head": 1,
                      "view": "grid"})
    assert area.tabs.currentWidget() is area.model_tab
    _wait_run(qtbot, area.model_tab)
    tab = area.model_tab
    assert tab.run.labels[:2] == ["Every", "effort"]
    assert (tab.layer, tab.head) == (1, 1)
    assert tab.views.currentWidget() is tab.grid


def test_editing_inputs_updates_the_steps(area, qtbot):
    steps = area.steps_tab
    before = steps.steps
    with qtbot.waitSignal(steps.computed, timeout=3000):
        steps.set_cell(1, 0, "1.0")
    assert steps.steps is not before
    assert steps.params.inputs[1][0] == 1.0
    assert "0.9544" not in steps.steps[0].blocks[0].text
    with qtbot.waitSignal(steps.computed, timeout=3000):
        steps.seed_trainable.setValue(1)
    assert steps.params.seed_trainable == 1
    assert steps.steps[1].blocks[0].text != before[1].blocks[0].text  # W_query redrawn


def test_invalid_input_says_what_is_wrong_and_keeps_the_last_result(area, qtbot):
    steps = area.steps_tab
    before = steps.steps
    with qtbot.waitSignal(steps.rejected, timeout=3000) as blocker:
        steps.set_cell(1, 0, "abc")
    assert "'journey', column 1: 'abc' is not a number" in blocker.args[0]
    assert steps.steps is before  # the last valid result stays
    assert "'abc' is not a number" in steps.table_problem.text()
    assert "last valid" in steps.stale.text()
    item = steps.table.item(1, 1)
    assert item.background().color().name() == "#ffd6d6" and "abc" in item.toolTip()
    with qtbot.waitSignal(steps.rejected, timeout=3000) as blocker:
        steps.set_cell(1, 0, "")
    assert "empty" in blocker.args[0]
    with qtbot.waitSignal(steps.computed, timeout=3000):
        steps.set_cell(1, 0, "0.55")
    assert steps.table_problem.text() == "" and steps.stale.text() == ""
    assert "tensor([0.9544, 1.4950" in steps.steps[0].blocks[0].text


def test_heads_that_do_not_divide_d_out_are_refused_in_their_field(area, qtbot):
    steps = area.steps_tab
    before = steps.steps
    with qtbot.waitSignal(steps.rejected, timeout=3000) as blocker:
        steps.d_out.setValue(3)
    assert "do not divide" in blocker.args[0]
    assert steps.steps[4] is before[4]  # step 5 keeps its last valid result...
    assert steps.steps[1].blocks[0].matrix.shape == (3, 3)  # W_query is now 3 x 3
    assert "Step 5 still shows" in steps.stale.text()  # ...the others follow the edit
    assert "do not divide" in steps.pages[4].field_problem.text()
    from studyapp.shell.style import colours

    assert colours().error in steps.num_heads.styleSheet()  # outlined in the error colour
    with qtbot.waitSignal(steps.computed, timeout=3000):
        steps.num_heads.setValue(3)
    assert steps.num_heads.styleSheet() == ""
    assert steps.steps[4].blocks[-1].text.count("(2, 3, 6, 1)") >= 1


def test_rows_columns_words_and_reset(area, qtbot):
    steps = area.steps_tab
    with qtbot.waitSignal(steps.computed, timeout=3000):
        steps.add_row.click()
    assert len(steps.params.inputs) == 7 and steps.query_combo.count() == 7
    with qtbot.waitSignal(steps.computed, timeout=3000):
        steps.add_col.click()
    assert len(steps.params.inputs[0]) == 4
    with qtbot.waitSignal(steps.computed, timeout=3000):
        steps.table.item(0, 0).setText("My")
    assert steps.params.words[0] == "My" and steps.query_combo.itemText(0).endswith("My")
    with qtbot.waitSignal(steps.computed, timeout=3000):
        steps.dropout_rate.setValue(0.2)
    assert "1/(1-p) = 1.2500" in steps.steps[3].explanation
    with qtbot.waitSignal(steps.computed, timeout=3000):
        steps.reset_button.click()
    assert steps.params == core.book_params()


def test_dropout_and_multi_head_pages_render_their_heatmaps(area):
    steps = area.steps_tab
    steps._dirty -= {0, 1, 2}  # steps 1 to 3 are drawn by the tests above; keep this one quick
    steps.render_all()
    for page, step in list(zip(steps.pages, steps.steps))[3:]:
        shown = [b for b in page.blocks[: len(step.blocks)]]
        assert len(shown) == len(step.blocks)
        for widget, block in zip(shown, step.blocks):
            if block.matrix is not None:
                assert widget.has_heatmap
                assert widget.heatmap.values.shape == block.matrix.shape


def test_prepare_screenshot_leaves_a_drawn_heatmap(area, tmp_path):
    area.apply_state({"step": 4})
    area.model_tab.text_edit.setPlainText("")
    area.prepare_screenshot()
    assert area.tabs.currentWidget() is area.model_tab
    assert area.model_tab.run is not None
    assert not area.model_tab.heatmap.is_showing_message()
    path = tmp_path / "attention.png"
    assert area.grab().save(str(path)) and path.stat().st_size > 10_000


def test_save_state_round_trips_through_a_new_area(area, qtbot, ctx):
    area.model_tab.set_text("Every effort moves you forward")
    _wait_run(qtbot, area.model_tab)
    area.model_tab.select(1, None)
    area.model_tab.show_view("head_view")
    area.model_tab.log_check.setChecked(True)
    with qtbot.waitSignal(area.steps_tab.computed, timeout=3000):
        area.steps_tab.seed_causal.setValue(5)
    area.steps_tab.set_cell(0, 2, "oops")  # saved as typed, even when invalid
    area.apply_state({"step": 4})
    saved = area.save_state()
    import json

    saved = json.loads(json.dumps(saved))  # what the settings file keeps
    other = AttentionArea(ctx)
    qtbot.addWidget(other)
    other.apply_state(saved)
    _wait_run(qtbot, other.model_tab)
    tab = other.model_tab
    assert tab.text_edit.toPlainText() == "Every effort moves you forward"
    assert (tab.layer, tab.head) == (1, None) and tab.log_check.isChecked()
    assert tab.views.currentWidget() is not tab.heatmap
    steps = other.steps_tab
    assert other.tabs.currentWidget() is steps and steps.step_tabs.currentIndex() == 3
    assert steps.seed_causal.value() == 5 and steps.table.item(0, 3).text() == "oops"
    other.apply_state({"layer": "x", "head": [1], "steps": {"cells": 3}, "view": 7})  # ignored
    other.shutdown()
