"""The Embeddings lab on screen (offscreen): heatmaps from the model, book demo, tabs, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from studyapp.areas.embeddings.area import TAB_KEYS, EmbeddingsLab


@pytest.fixture
def lab(make_shown_lab):
    return make_shown_lab(EmbeddingsLab, 1100, 740)


def _settled(qtbot, lab):
    """Wait for the lab's job: the embeddings are computed off the GUI thread."""
    qtbot.waitUntil(lambda: not lab.is_busy(), timeout=5000)


def _apply(qtbot, lab, state):
    lab.apply_state(state)
    _settled(qtbot, lab)


def test_heatmaps_from_the_loaded_model(lab, ctx):
    model = ctx.models.current.model
    e = lab.embeddings
    assert e.labels[0] == "0: Your" and len(e.ids) == 6
    assert lab.token_map.values.shape == (6, ctx.models.current.config.emb_dim)
    expected = model.tok_emb.weight[e.ids].detach().numpy()
    assert np.allclose(lab.token_map.values, expected)
    assert np.allclose(lab.input_map.values, lab.token_map.values + lab.pos_map.values,
                       atol=1e-6)
    assert lab.token_map.row_labels[1] == "1: \u00b7journey"
    assert not lab.weights_map.isVisible()  # the weight matrix is a book-demo panel
    assert "row 0 '0: Your'" in lab.token_map.describe_cell(0, 0)


def test_typing_rerenders(lab, qtbot):
    with qtbot.waitSignal(lab.rendered, timeout=3000):
        lab.editor.setPlainText("Every effort moves you")
    assert [label.split(": ")[1] for label in lab.embeddings.labels] == [
        "Every", "\u00b7effort", "\u00b7moves", "\u00b7you"]


def test_book_demo_shows_the_books_table(lab, qtbot):
    _apply(qtbot, lab, {"book_demo": True, "view": "embeddings"})
    assert lab.weights_map.isVisible()
    assert lab.weights_map.values.shape == (6, 3)
    assert np.allclose(lab.weights_map.values[0], [0.3374, -0.1778, -0.1690], atol=1e-4)
    assert np.allclose(lab.token_map.values[0], [1.2753, -0.2010, -0.1606], atol=1e-4)
    assert len(lab.weights_map._cell_texts) == 18  # the values are printed in the cells
    lab.demo_ids.setText("2, 9")
    lab.refresh(force=True)
    _settled(qtbot, lab)
    assert lab.token_map.is_showing_message()
    assert "9" in lab.token_map.message.text() and "vocabulary of 6" in lab.token_map.message.text()


def test_cosine_neighbours_projection_and_positions(lab, ctx, qtbot):
    _apply(qtbot, lab, {"view": "cosine"})
    cos = lab.cosine_map.values
    assert cos.shape == (6, 6) and np.allclose(np.diag(cos), 1.0, atol=1e-5)
    lab._on_cosine_clicked(1, 3)
    assert lab.tabs.currentIndex() == TAB_KEYS.index("neighbours")
    assert lab.nn_token.currentIndex() == 1
    assert lab.nn_table.rowCount() == 10
    assert "random (untrained)" in lab.nn_note.text()
    _apply(qtbot, lab, {"view": "projection"})
    assert not lab.projection.is_showing_message()
    assert len(lab.projection.groups()[0].labels) == 6
    lab.add_frequent.setChecked(True)
    names = [g.name for g in lab.projection.groups()]
    assert names == ["The Verdict", "text"] and len(lab.projection.groups()[0].labels) > 80
    _apply(qtbot, lab, {"view": "positional"})
    context = ctx.models.current.config.context_length
    assert lab.positions_map.values.shape == (context, ctx.models.current.config.emb_dim)
    assert lab.positions_plot.groups()[0].points.shape == (context, 2)


def test_empty_text_and_too_long_text(lab, ctx, qtbot):
    _apply(qtbot, lab, {"text": ""})
    assert lab.token_map.is_showing_message()
    assert "Type some text" in lab.token_map.message.text()
    context = ctx.models.current.config.context_length
    _apply(qtbot, lab, {"text": "word " * (context + 20)})
    assert lab.embeddings.token.shape[0] == context
    assert lab.notice.isVisible() and f"showing the first {context}" in lab.notice.text()
    _apply(qtbot, lab, {"text": "bell\x07 and\ttab"})  # control characters are ordinary tokens
    assert lab.embeddings is not None and not lab.token_map.is_showing_message()


def test_loading_state_and_model_change(qtbot, tmp_path, qapp, tiny_entry):
    from studyapp.shell.app import build_context

    data = tmp_path / "d"
    data.mkdir()
    ctx = build_context(data)  # no model yet: the session is "loading"
    widget = EmbeddingsLab(ctx)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.rendered, timeout=3000):
        widget.show()
    assert widget.token_map.is_showing_message()
    assert "Loading model" in widget.token_map.message.text()
    with qtbot.waitSignal(widget.rendered, timeout=3000):
        ctx.models.add(tiny_entry, make_current=True)
    assert not widget.token_map.is_showing_message()
    assert widget.token_map.values.shape[1] == tiny_entry.config.emb_dim


def test_export_every_plot_to_png(lab, tmp_path):
    written = lab.export_all(tmp_path / "pngs")
    names = sorted(p.name for p in written)
    assert names == sorted(["token-embeddings.png", "positional-embeddings.png",
                            "input-embeddings.png", "cosine-similarity.png", "projection.png",
                            "positions-heatmap.png", "positions-projection.png"])
    assert all(p.stat().st_size > 2000 for p in written)
    assert lab.tabs.currentIndex() == 0


def test_a_dropped_file_with_invalid_utf8_is_reported(lab, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl

    path = tmp_path / "notes.txt"
    path.write_bytes(b"Caf\xe9 au lait")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    with qtbot.waitSignal(lab.rendered, timeout=3000):
        lab.editor.insertFromMimeData(mime)
    assert "notes.txt is not valid UTF-8" in lab.notice.text()
    assert lab.embeddings is not None and "\ufffd" in lab.editor.toPlainText()


def test_prepare_screenshot_waits_for_the_embeddings(lab):
    lab.apply_state({"text": "Every effort moves you"})
    lab.prepare_screenshot()  # returns once the job's answer has been drawn
    assert not lab.is_busy() and len(lab.embeddings.ids) == 6
    assert lab.token_map.values.shape[0] == 6 and lab.tabs.currentIndex() == 0
