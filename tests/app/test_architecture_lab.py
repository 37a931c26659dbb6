"""The Architecture lab (chapter 4): model map, book demos, blocks statistics, logit lens."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from studyapp.areas.architecture import core
from studyapp.areas.architecture.area import DEFAULT_TEXT, create_area


@pytest.fixture(scope="module")
def bundled_entry():
    from studyapp.models.loading import bundled

    return bundled()


@pytest.fixture
def bctx(make_context, bundled_entry):
    """An AppContext whose model session holds the bundled model."""
    return make_context(bundled_entry)


def _settle(qtbot, area, timeout=30000):
    qtbot.waitUntil(lambda: not area.is_busy() and area.run is not None, timeout=timeout)


@pytest.fixture
def area(bctx, make_widget, qtbot):
    widget = make_widget(create_area, bctx)
    widget.resize(1150, 760)
    widget.show()
    _settle(qtbot, widget)
    return widget


def test_book_numbers_are_on_screen(area):
    demos = area.demos_tab.demos
    ln = demos["layernorm"].result.text()
    assert "[0.1324, 0.2170]" in ln and "[0.0231, 0.0398]" in ln and "as the book" in ln
    assert "variance [1.0000, 1.0000]" in ln
    sc = demos["shortcut"]
    assert "0.00020173" in sc.result.text() and "1.32585" in sc.result.text()
    assert "the book's numbers" in sc.result.text()
    plot = sc.plot
    assert plot.groups == [f"layer {i}" for i in range(1, 6)]
    assert plot.series[0][1] == pytest.approx(core.BOOK_GRADS_WITHOUT, rel=1e-5)
    assert plot.series[1][1] == pytest.approx(core.BOOK_GRADS_WITH, rel=1e-5)
    ff = demos["feedforward"].result.text()
    assert "(2, 3, 3072)" in ff and "(2, 3, 768)" in ff and "as the book" in ff
    gelu = demos["gelu"]
    assert gelu.curves.x[0] == pytest.approx(-3.0) and gelu.curves.x[-1] == pytest.approx(3.0)
    names = [name for name, _ys in gelu.slopes.series]
    assert names == ["GELU'", "ReLU'"]
    cells = [area.map_tab.sizes.item(0, c).text() for c in range(area.map_tab.sizes.columnCount())]
    assert "163,009,536" in cells and "124,412,160" in cells and "621.83 MB" in cells
    assert "weight tying" in area.map_tab.tying.text().lower()


def test_editing_a_demo_recomputes_and_a_bad_entry_is_named(area, qtbot):
    sc = area.demos_tab.demos["shortcut"]
    sc.sizes.setText("3, 3, 1")
    qtbot.waitUntil(lambda: len(sc.plot.groups) == 2 and not sc.is_busy(), timeout=5000)
    assert "the book's numbers" not in sc.result.text()
    sc.sizes.setText("3, x, 1")
    assert "entry 2, 'x', is not a number" in sc.problem.text()
    assert len(sc.plot.groups) == 2  # the last good result stays
    sc.reset_to_book()
    qtbot.waitUntil(lambda: len(sc.plot.groups) == 5 and not sc.is_busy(), timeout=5000)
    assert sc.problem.text() == ""

    ln = area.demos_tab.demos["layernorm"]
    ln.table.item(0, 0).setText("2.5")
    qtbot.waitUntil(lambda: "as the book" not in ln.result.text() and not ln.is_busy(),
                    timeout=5000)
    ln.table.item(1, 2).setText("abc")
    assert "row 2, column 3" in ln.problem.text()
    ln.reset_to_book()
    qtbot.waitUntil(lambda: "as the book" in ln.result.text() and not ln.is_busy(),
                    timeout=5000)


def test_the_lens_grid_last_row_is_the_models_prediction(area, bctx):
    run = area.lens_tab.grid.run
    ids = bctx.models.tokenizer.encode(DEFAULT_TEXT)
    assert run is area.run and run.token_ids == ids
    with torch.no_grad():
        logits = bctx.models.current.model(torch.tensor([ids]))[0]  # (num_tokens, vocab)
    argmax = logits.argmax(-1).tolist()
    last = run.n_layers - 1
    assert run.prediction == argmax
    labels = [core.lens_cell(run, last, t)[0] for t in range(run.num_tokens)]
    from studyapp.tokens import token_label

    assert labels == [token_label(i)[0] for i in argmax]
    probs = torch.softmax(logits, -1).max(-1).values.numpy()
    np.testing.assert_allclose(run.top_probs[last, :, 0], probs, rtol=1e-4)
    tip = area.lens_tab.grid.tooltip_html(0, 3)
    assert tip.count("<tr>") == 5 and "after block 1" in tip
    assert "not in the book" in area.lens_tab.scroll.toolTip()
    assert "not in the book" in area.tabs.tabToolTip(3)


def test_hovering_a_lens_cell_shows_its_top_5(area, qtbot):
    area.show_view("lens")
    grid = area.lens_tab.grid
    centre = grid.cell_rect(1, 2).center().toPoint()
    qtbot.mouseMove(grid, centre)
    qtbot.waitUntil(lambda: "after block 2" in area.lens_tab.hover_line.text(), timeout=3000)
    assert area.lens_tab.hover_line.text().count(",") >= 4


def test_clicking_a_component_shows_its_parameters_and_shapes(area, bctx, qtbot):
    from model.chapter4 import parameter_split

    area.show_view("map")
    canvas = area.map_tab.canvas
    qtbot.waitUntil(lambda: bool(canvas._rects), timeout=3000)
    index = [c.key for c in canvas.components].index("ff")
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton,
                     pos=canvas._rects[index].center().toPoint())
    cfg = bctx.models.current.config
    text = area.map_tab.details_text()
    n = area.run.num_tokens
    per_block = parameter_split(cfg)["per_block"]["ff"]
    assert f"{per_block:,} per block" in text
    assert f"(1, {n}, {cfg.emb_dim})" in text and f"(1, {n}, {4 * cfg.emb_dim})" in text
    assert "section 4.3" in text
    area.set_text("Every effort moves you")
    _settle(qtbot, area)
    assert area.run.num_tokens == 4
    assert f"(1, 4, {cfg.emb_dim})" in area.map_tab.details_text()  # the selection stays
    assert area.map_tab.selected_key() == "ff"


def test_blocks_plots_show_the_runs_statistics(area):
    run = area.run
    plots = area.blocks_tab.plots
    resid = plots["resid"]
    assert list(resid.x) == list(range(run.n_layers + 1))
    np.testing.assert_allclose(resid.series[0][1][1:], run.stats["resid_norm"])
    gelu = plots["gelu"]
    assert list(gelu.x) == list(range(1, run.n_layers + 1))
    values = gelu.series[0][1]
    assert np.all((values > 0) & (values < 1))
    assert {name for name, _ys in plots["ratio"].series} == {"attention", "feed forward"}
    assert "section 4.2" in plots["ln_var"].toolTip()


def test_the_lab_follows_the_model_in_use(area, bctx, qtbot, tiny_entry):
    bctx.models.add(tiny_entry, make_current=True)
    qtbot.waitUntil(lambda: area.run is not None and area.run.n_layers == 2
                    and not area.is_busy(), timeout=30000)
    assert "2 blocks" in area.map_tab.caption.text()
    assert area.lens_tab.grid.run.n_layers == 2
    assert "untrained tiny" in area.model_line.text()


def test_state_round_trips(area, bctx, qtbot):
    area.show_view("gelu")
    area.demos_tab.demos["gelu"].x_min.setValue(-5.0)
    area.demos_tab.demos["shortcut"].sizes.setText("3, 3, 3, 1")
    area.set_text("Every effort moves you")
    area.map_tab.select_key("norm2")
    state = area.save_state()
    assert state["view"] == "gelu" and state["component"] == "norm2"
    other = create_area(bctx)
    qtbot.addWidget(other)
    other.apply_state(state)
    _settle(qtbot, other)
    assert other.current_view() == "gelu"
    assert other.text() == "Every effort moves you"
    assert other.demos_tab.demos["gelu"].x_min.value() == -5.0
    assert other.demos_tab.demos["shortcut"].sizes.text() == "3, 3, 3, 1"
    assert other.map_tab.selected_key() == "norm2"
    assert other.save_state() == state
    other.apply_state({"view": 3, "text": None, "demos": "bad"})  # wrong types are ignored
    assert other.current_view() == "gelu"
    other.shutdown()


def test_a_card_opens_its_view_and_is_listed_in_related_cards(bctx, qtbot, tmp_path):
    from studyapp.links import bundled_links
    from studyapp.shell.area_header import related_cards
    from studyapp.shell.main_window import MainWindow

    links = bundled_links()
    expected = {"What is GELU?": "gelu", "What are shortcut connections?": "shortcut",
                "Why do we need layer normalization?": "layernorm",
                "What is the transformer block?": "map",
                "What is the meaning of 'parameter' in a GPT-like LLM?": "map"}
    for question, view in expected.items():
        link = links.link_for(question)
        assert link is not None and link.area == "architecture", question
    window = MainWindow(bctx)
    qtbot.addWidget(window)
    link = links.link_for("What are shortcut connections?")
    bctx.navigator.open(link.area, link.state)
    assert window.current_area_key() == "architecture"
    lab = window.areas["architecture"]
    assert lab.current_view() == "shortcut"
    link = links.link_for("What is the transformer block?")
    bctx.navigator.open(link.area, link.state)
    assert lab.current_view() == "map" and lab.map_tab.selected_key() == "att"

    notes = tmp_path / "notes.md"
    notes.write_text("# Chapter 4: implementing a GPT model\n\n"
                     "<details><summary>\U0001F3AFQ. What is the transformer block?</summary>\n\n"
                     "LayerNorm, attention, feed forward, shortcuts.\n</details>\n\n"
                     "<details><summary>\U0001F3AFQ. What is GELU?</summary>\n\n"
                     "A smooth activation.\n</details>\n", encoding="utf-8")
    related = related_cards(notes, "architecture")
    assert [card.question for card in related] == ["What is the transformer block?",
                                                   "What is GELU?"]
    qtbot.waitUntil(lambda: not lab.is_busy(), timeout=30000)
    lab.shutdown()


def test_every_plot_saves_a_png(area, tmp_path):
    plots = [area.demos_tab.demos["layernorm"].plot, area.demos_tab.demos["gelu"].curves,
             area.demos_tab.demos["gelu"].slopes, area.demos_tab.demos["shortcut"].plot,
             *area.blocks_tab.plots.values()]
    for i, plot in enumerate(plots):
        assert plot.save_button.isEnabled()
        assert plot.export_png(tmp_path / f"plot{i}.png")
    assert area.map_tab.export_png(tmp_path / "map.png")
    assert area.lens_tab.export_png(tmp_path / "lens.png")
    assert all((tmp_path / f"plot{i}.png").stat().st_size > 1000 for i in range(len(plots)))


def test_dark_mode_restyles_the_live_plots(area, qapp):
    from PySide6.QtGui import QColor

    from studyapp.shell import style
    from studyapp.shell.theme import apply_theme

    plot = area.blocks_tab.plots["resid"]
    try:
        apply_theme(qapp, "dark")
        assert plot.view.backgroundBrush().color() == QColor(style.DARK.plot_background)
        curve_pen = plot._curves[0].opts["pen"]
        assert curve_pen.color() == QColor(style.DARK.accent)
    finally:
        apply_theme(qapp, "light")
    assert plot.view.backgroundBrush().color() == QColor(style.LIGHT.plot_background)


def test_the_area_fits_a_small_window(area):
    hint = area.minimumSizeHint()
    assert hint.width() <= 600 and hint.height() <= 470, hint


def test_a_model_still_loading_is_said(qtbot, tmp_path, qapp):
    from studyapp.shell.app import build_context

    ctx = build_context(tmp_path)
    lab = create_area(ctx)
    qtbot.addWidget(lab)
    assert "Loading" in lab.model_line.text()
    assert lab.blocks_tab.plots["resid"].is_showing_message()
    qtbot.waitUntil(lambda: not lab.demos_tab.is_busy(), timeout=10000)
    lab.shutdown()
