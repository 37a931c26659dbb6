"""The Tokenizer lab on screen (offscreen): chips, counts, hover, BPE trace, tabs, bad input."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from studyapp.areas.tokenizer.area import CHIP_LIMIT, TokenizerLab
from studyapp.areas.tokenizer.core import EXAMPLE_TEXT


@pytest.fixture
def lab(make_shown_lab):
    return make_shown_lab(TokenizerLab, 1100, 760)


def _set_text(qtbot, lab, text, timeout=5000):
    with qtbot.waitSignal(lab.rendered, timeout=timeout):
        lab.editor.setPlainText(text)


def _apply_text(qtbot, lab, state, timeout=5000):
    """apply_state with a text: the lab draws once its job has tokenized it."""
    with qtbot.waitSignal(lab.rendered, timeout=timeout):
        lab.apply_state(state)


def test_book_sentence_is_drawn_as_chips_with_counts(lab):
    assert lab.editor.toPlainText() == EXAMPLE_TEXT
    assert lab.chips.chip_count() == 20
    assert lab.result.ids[8] == 50256  # <|endoftext|> typed in the text is the special token
    assert lab.chips.chips()[8].special
    assert "20 tokens" in lab.counts.text() and "characters per token" in lab.counts.text()
    assert lab.id_list.toPlainText().startswith("[15496, 11, 466")


def test_typing_retokenizes_after_a_pause(lab, qtbot):
    from PySide6.QtGui import QTextCursor

    lab.editor.moveCursor(QTextCursor.MoveOperation.End)
    renders = []
    lab.rendered.connect(lambda: renders.append(1))
    with qtbot.waitSignal(lab.rendered, timeout=3000):
        qtbot.keyClicks(lab.editor, " Akwirw")
    assert lab.result.text.endswith("Akwirw")
    assert len(renders) == 1  # debounced: one retokenization for seven keystrokes
    assert lab.chips.chip_count() > 20


def test_toggle_between_text_and_ids(lab):
    lab.show_ids_button.click()
    assert lab.chips.show_ids()
    lab.show_text_button.click()
    assert not lab.chips.show_ids()


def test_hover_shows_id_bytes_text_and_highlights_id_list(lab, qtbot):
    rect = lab.chips.chip_rect(0)
    with qtbot.waitSignal(lab.chips.hovered, timeout=2000) as blocker:
        qtbot.mouseMove(lab.chips.viewport(), rect.center())
    assert blocker.args == [0]
    info = lab.hover_info.text()
    assert "ID 15496" in info and "48 65 6C 6C 6F" in info and "Hello" in info
    selections = lab.id_list.extraSelections()
    assert len(selections) == 1 and selections[0].cursor.selectedText() == "15496"
    assert lab.editor.extraSelections()[0].cursor.selectedText() == "Hello"


def test_click_a_word_shows_its_merges(lab, qtbot):
    _set_text(qtbot, lab, "Akwirw ier")
    with qtbot.waitSignal(lab.chips.clicked, timeout=2000):
        qtbot.mouseClick(lab.chips.viewport(), Qt.MouseButton.LeftButton,
                         pos=lab.chips.chip_rect(1).center())
    assert lab.bpe_word.text() == "Akwirw"
    page = lab.bpe_view.toPlainText()
    assert "merge i + r" in page and "[33901, 86, 343, 86]" in page


def test_apply_state_traces_akwirw_ier(lab, qtbot):
    _apply_text(qtbot, lab, {"text": "Akwirw ier", "select_word": "Akwirw ier"})
    assert lab.result.ids == [33901, 86, 343, 86, 220, 959]
    assert lab.tabs.currentIndex() == 0
    assert "Result: [33901, 86, 343, 86, 220, 959]" in lab.bpe_view.toPlainText()
    assert lab.chips.highlight() == 0
    _apply_text(qtbot, lab, {"text": "Akwirw ier", "select_word": "Akwirw"})  # links.json's
    assert "[33901, 86, 343, 86, 220, 959]" in lab.bpe_view.toPlainText()  # whole text below


def test_chapter2_side_by_side(lab):
    lab.apply_state({"tab": "chapter2"})
    simple = lab.simple_view.toPlainText()
    assert "1,130 words" in simple and "1,132 with" in simple
    assert "'Hello' is not in the vocabulary" in simple
    assert "1131" in simple
    assert "20 tokens" in lab.bpe_side_view.toPlainText()


def test_sliding_window_controls(lab):
    lab.window_source.setCurrentIndex(1)  # The Verdict
    lab.apply_state({"tab": "window", "max_length": 4, "stride": 1, "batch_size": 1})
    batch = lab.batch_view.toPlainText()
    assert "tensor([[  40,  367, 2885, 1464]])" in batch
    assert "tensor([[ 367, 2885, 1464, 1807]])" in batch
    lab.window_source.setCurrentIndex(0)
    lab.max_length.setValue(64)
    assert "needs at least 65" in lab.window_view.toPlainText()


def test_decode_names_invalid_ids(lab):
    lab.apply_state({"tab": "decode", "decode": "15496, 11, 99999, xyz"})
    assert lab.decode_output.toPlainText() == "Hello,"
    problems = lab.decode_problems.text()
    assert "99999" in problems and "'xyz'" in problems


def test_empty_text_says_what_to_type(lab, qtbot):
    _set_text(qtbot, lab, "")
    assert lab.chips.chip_count() == 0
    assert "Type some text" in lab.chips._empty_text
    assert lab.counts.text().startswith("0 characters")


def test_control_characters_and_emoji(lab, qtbot):
    _set_text(qtbot, lab, "bell\x07 \U0001F600")
    assert lab.notice.isVisible() and "control characters" in lab.notice.text()
    assert any(chip.partial for chip in lab.chips.chips())


def test_invalid_utf8_file_is_reported(lab, qtbot, tmp_path):
    path = tmp_path / "broken.txt"
    path.write_bytes(b"Hello \xff\xfe world")
    with qtbot.waitSignal(lab.rendered, timeout=3000):
        assert lab.open_file(path)
    assert "broken.txt is not valid UTF-8" in lab.notice.text()
    assert "\ufffd" in lab.result.text
    assert not lab.open_file(tmp_path / "missing.txt")
    assert "Could not read" in lab.notice.text()


def test_one_megabyte_paste_is_tokenized_off_the_gui_thread(lab, qtbot):
    from model.resources import read_the_verdict

    big = (read_the_verdict() * 60)[:1_000_000]
    with qtbot.waitSignal(lab.rendered, timeout=20000):
        lab.editor.setPlainText(big)
        qtbot.waitUntil(lambda: lab.is_busy() or lab.result.text == big, timeout=5000)
    qtbot.waitUntil(lambda: not lab.is_busy(), timeout=10000)
    assert lab.result.n_tokens > 200_000
    assert lab.chips.chip_count() == CHIP_LIMIT
    assert f"Showing the first {CHIP_LIMIT:,} of" in lab.counts.text()


def test_a_dropped_or_pasted_file_is_opened_not_its_path(lab, qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl

    path = tmp_path / "page.txt"
    path.write_text("Dropped text", encoding="utf-8")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    assert lab.editor.canInsertFromMimeData(mime)
    with qtbot.waitSignal(lab.rendered, timeout=3000):
        lab.editor.insertFromMimeData(mime)
    assert lab.editor.toPlainText() == "Dropped text"


def test_bpe_panel_follows_the_text(lab, qtbot):
    _apply_text(qtbot, lab, {"text": "Akwirw ier", "select_word": "Akwirw"})
    _set_text(qtbot, lab, "Hello")
    assert "The whole text \u201cHello\u201d is [15496]" in lab.bpe_view.toPlainText()


def test_prepare_screenshot_waits_for_the_tokens(lab):
    lab.prepare_screenshot()  # returns once the job's answer has been drawn
    assert not lab.is_busy() and lab.result.text.startswith("Akwirw ier:")
    assert lab.bpe_word.text() == "Akwirw ier" and lab.chips.highlight() == 0
