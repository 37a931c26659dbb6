"""The Flashcards area keeps up with notes as the learner edits them: a reload keeps the history
of cards fixed, moved and reworded and says so; Edit opens the card's line in the learner's
editor; Browse shows earlier questions and splits a wrong match back off; a full disk, a pipe in
the notes file's place and an export that leaves images out are each told, and nothing is lost.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "resources" / "notes" / "llm-from-scratch-notes.md"


def card(question: str, answer: str) -> str:
    return f"<details>\n<summary>🎯Q. {question}</summary>\n\n{answer}\n</details>\n"


TYPO = ("What is a large langauge model", "What is a large language model")
MOVED = "Why pretrain on raw text first"
REWORDED = ("What does the attention mechanism compute",
            "For each token, what does attention work out")
ANSWERS = {
    TYPO[0]: "- a deep neural network trained on huge amounts of text\n"
             "- it predicts the next token, one token at a time",
    MOVED: "- raw text needs no labels, so there is plenty of it\n"
           "- the model learns grammar and facts before any fine-tuning",
    REWORDED[0]: "- a weight for every other token in the context\n"
                 "- the weighted sum of their value vectors is the context vector",
}
FILLER = [("How many parameters has GPT-2 small", "- about 124 million parameters in all, "
                                                  "counting the tied output head"),
          ("What does dropout do during training", "- it zeroes random activations so the "
                                                   "network cannot rely on any single one")]


def notes_v1() -> str:
    return "\n".join([
        "# Chapter 1: understanding large language models\n",
        card(TYPO[0], ANSWERS[TYPO[0]]), card(MOVED, ANSWERS[MOVED]),
        card(REWORDED[0], ANSWERS[REWORDED[0]]),
        *(card(q, a) for q, a in FILLER),
        "# Chapter 2: working with text data\n",
        card("What is a token", "- a piece of text the model reads as one unit, a word or "
                                "part of one"),
    ])


def notes_v2() -> str:
    """The learner's next version: a typo fixed, a question moved, a question reworded."""
    return "\n".join([
        "# Chapter 1: understanding large language models\n",
        card(TYPO[1], ANSWERS[TYPO[0]]),
        card(REWORDED[1], ANSWERS[REWORDED[0]]),
        *(card(q, a) for q, a in FILLER),
        "# Chapter 2: working with text data\n",
        card("What is a token", "- a piece of text the model reads as one unit, a word or "
                                "part of one"),
        card(MOVED, ANSWERS[MOVED]),
    ])


@pytest.fixture
def make_area(make_area, make_ctx):
    """The shared make_area, given this file's notes and data paths rather than a context."""
    def make(notes: Path | None = None, data: Path | None = None):
        return make_area(make_ctx(notes, data))
    return make


@pytest.fixture
def notes(tmp_path):
    path = tmp_path / "notes" / "my-notes.md"
    path.parent.mkdir()
    path.write_text(notes_v1(), encoding="utf-8")
    return path


def key_of(area, question):
    return next(c.key for c in area.deck.parse.cards if c.question == question)


def review_good(qtbot, area, times=1):
    for _ in range(times):
        qtbot.keyClick(area.review.card, Qt.Key.Key_Space)
        qtbot.keyClick(area.review.card, Qt.Key.Key_3)


def test_reload_keeps_the_history_of_fixed_moved_and_reworded_cards(make_area, notes, qtbot):
    area = make_area(notes)
    old = [key_of(area, q) for q in (TYPO[0], MOVED, REWORDED[0])]
    review_good(qtbot, area, 3)  # the three cards, in file order
    shown = area.session.current
    assert shown == key_of(area, FILLER[0][0])

    notes.write_text(notes_v2(), encoding="utf-8")
    qtbot.waitUntil(lambda: area.deck.sync.renamed == 2, timeout=5000)

    assert (area.deck.sync.added, area.deck.sync.moved, area.deck.sync.hidden) == (0, 1, 0)
    new = [key_of(area, q) for q in (TYPO[1], MOVED, REWORDED[1])]
    assert new[1] != old[1]  # another section: another key, the same card
    for old_key, new_key in zip(old, new):
        assert area.store.states(area.deck.deck_id)[new_key].reps == 1
        assert len(area.store.review_log(area.deck.deck_id, new_key)) == 1
        assert area.store.review_log(area.deck.deck_id, old_key) == []
    assert "2 renamed, 1 moved; history kept" in area.banner.text()
    assert area.banner.isVisible()
    assert area.session.current == shown  # the card on screen stays
    # Undo still reaches the grade of a card that was renamed since.
    area.undo()
    assert area.session.current == new[2]
    assert area.session.states[new[2]].reps == 0


def test_the_card_on_screen_follows_its_own_rename(make_area, notes, qtbot):
    area = make_area(notes)
    qtbot.keyClick(area.review.card, Qt.Key.Key_Space)  # the answer is showing
    assert area.session.current == key_of(area, TYPO[0])
    notes.write_text(notes_v1().replace(TYPO[0], TYPO[1]), encoding="utf-8")
    qtbot.waitUntil(lambda: area.deck.sync.renamed == 1, timeout=5000)
    assert area.session.current == key_of(area, TYPO[1])
    assert area.review.card.answer_shown
    assert TYPO[1] in area.review.card.toPlainText()


def test_browse_shows_earlier_questions_and_splits_a_wrong_match(make_area, notes, qtbot):
    area = make_area(notes)
    review_good(qtbot, area, 3)
    notes.write_text(notes_v2(), encoding="utf-8")
    qtbot.waitUntil(lambda: area.deck.sync.renamed == 2, timeout=5000)
    new_key = key_of(area, REWORDED[1])
    area.tabs.setCurrentWidget(area.browse)
    assert area.browse.select(new_key)
    assert f"{REWORDED[0]}" in area.browse.preview.toPlainText()
    assert "Earlier questions" in area.browse.preview.toPlainText()
    assert not area.browse.split_button.isHidden()
    # Searching the old wording finds the card.
    area.browse.search.setText("attention mechanism compute")
    assert [r.key for r in area.browse.model.rows
            if area.browse.proxy.filterAcceptsRow(area.browse.model.rows.index(r), None)
            ] == [new_key]
    area.browse.search.setText("")
    assert area.browse.select(new_key)

    qtbot.mouseClick(area.browse.split_button, Qt.MouseButton.LeftButton)
    deck = area.deck.deck_id
    assert area.store.earlier_questions(deck).get(new_key) is None
    assert area.session.states[new_key].reps == 0  # the card in the file starts anew
    hidden = {c.question: c for c in area.store.cards(deck, hidden_only=True)}
    assert hidden[REWORDED[0]].state.reps == 1  # the earlier card has its review back
    assert len(area.store.review_log(deck, hidden[REWORDED[0]].key)) == 1
    assert "History split" in area.banner.text()
    # A match that is not there (already split) is refused with the store's reason.
    area.split_history(new_key, 999_999)
    assert "The history was not split: That match is not in the history" in area.banner.text()


def fake_editor(tmp_path) -> tuple[Path, Path]:
    record = tmp_path / "editor-argv.txt"
    script = tmp_path / "fake-editor"
    script.write_text(f"#!{sys.executable}\nimport sys\n"
                      f"open({str(record)!r}, 'w').write('\\n'.join(sys.argv[1:]))\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, record


@pytest.mark.skipif(sys.platform == "win32", reason="a shebang script as the editor")
def test_edit_opens_the_cards_line_in_the_learners_editor(make_area, notes, qtbot, tmp_path,
                                                          monkeypatch):
    script, record = fake_editor(tmp_path)
    monkeypatch.setenv("VISUAL", f"{script} --wait")
    area = make_area(notes)
    card = area.session.cards[area.session.current]
    qtbot.keyClick(area.review.card, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: record.exists() and bool(record.read_text()), timeout=5000)
    assert record.read_text().split("\n") == ["--wait", f"+{card.line}", str(notes)]
    assert f"at line {card.line}" in area.banner.text()

    # In Browse, for another card, with $EDITOR alone.
    record.unlink()
    monkeypatch.delenv("VISUAL")
    monkeypatch.setenv("EDITOR", str(script))
    other = area.deck.parse.cards[-1]
    area.tabs.setCurrentWidget(area.browse)
    assert area.browse.select(other.key)
    assert area.browse.edit_button.isEnabled()
    qtbot.mouseClick(area.browse.edit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: record.exists() and bool(record.read_text()), timeout=5000)
    assert record.read_text().split("\n") == [f"+{other.line}", str(notes)]


def test_the_bundled_deck_is_not_offered_for_editing(make_area, qtbot, monkeypatch, tmp_path):
    script, record = fake_editor(tmp_path)
    monkeypatch.setenv("VISUAL", str(script))
    area = make_area()
    assert area.deck.parse.bundled
    assert not area.review.edit_button.isEnabled()
    qtbot.keyClick(area.review.card, Qt.Key.Key_E)
    qtbot.wait(300)
    assert not record.exists()


def test_the_first_open_dialog_starts_outside_the_install(make_area, qtbot, monkeypatch,
                                                          notes):
    from PySide6.QtWidgets import QFileDialog

    starts = []

    def dialog(_parent, _title, start, _filters):
        starts.append(start)
        return "", ""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(dialog))
    area = make_area()
    area.choose_notes()
    assert Path(starts[-1]) == Path.home()
    area.open_notes(notes)
    area.choose_notes()
    assert Path(starts[-1]) == notes.parent


def test_warnings_open_questions_and_wide_images(make_area, qtbot, tmp_path):
    from PySide6.QtGui import QImage

    from studyapp.notes.checks import open_questions_tooltip, warnings_intro

    folder = tmp_path / "wide"
    folder.mkdir()
    image = QImage(2400, 200, QImage.Format.Format_RGB32)
    image.fill(0x3366AA)
    assert image.save(str(folder / "wide.png"))
    path = folder / "notes.md"
    path.write_text("# Chapter 1\n\n" + card("A wide figure", "- ![plot](wide.png)\n- see it")
                    + "\n" + card("Still open", "TODO") + "\n"
                    + card("A missing figure", "- ![gone](gone.png)"), encoding="utf-8")
    area = make_area(path)
    parse = area.deck.parse
    # The warnings name what was read; the intro is the checks' own sentence.
    area.show_warnings()
    assert area.warnings_dialog.intro.text() == warnings_intro(parse)
    assert "Nothing was lost" not in area.warnings_dialog.intro.text()
    area.warnings_dialog.close()
    assert area.bar.open_tip == open_questions_tooltip(parse)
    assert "Still open" in area.bar.open_tip and "1 open</a>" in area.bar.deck_label.text()
    # The open card says which line leaves it open.
    todo = next(c for c in parse.cards if c.question == "Still open")
    assert f"the notes say TODO (line {todo.todo_line or todo.line})" in area.flow.card_html(
        todo, False)
    # A figure wider than the card is drawn at the card's width, and follows a resize.
    qtbot.keyClick(area.review.card, Qt.Key.Key_Space)
    width = area.review.card.image_width()
    assert width < 2400
    assert f'width="{width}"' in area.flow.card_html(parse.cards[0], True)
    area.resize(700, 600)
    qtbot.waitUntil(lambda: area.review.card.image_width() < width, timeout=3000)
    narrower = area.review.card.image_width()
    qtbot.waitUntil(lambda: f'width="{narrower}"' in area.review.card.toHtml(), timeout=3000)


def _store_error_full():
    from studyapp.review.store import StoreError

    return StoreError("The disk holding the review database is full (database or disk is "
                      "full).", "full")


def test_a_full_disk_at_start_shows_the_history_in_a_temporary_copy(make_area, notes, qtbot,
                                                                   tmp_path, monkeypatch):
    from studyapp.review.store import ReviewStore

    area = make_area(notes)
    review_good(qtbot, area)
    graded = key_of(area, TYPO[0])
    area.shutdown()
    area.close()
    real_open = ReviewStore.open

    def full(cls, path):
        raise _store_error_full()
    monkeypatch.setattr(ReviewStore, "open", classmethod(full))
    again = make_area(notes)
    assert again.store.path is None  # the temporary copy
    assert again.problem.isVisible() and "The disk is full" in again.problem.text()
    assert "database or disk is full" in again.problem.text()  # the real error, not masked
    assert again.store.states(again.deck.deck_id)[graded].reps == 1  # history shown
    review_good(qtbot, again)
    monkeypatch.setattr(ReviewStore, "open", real_open)
    file_store = ReviewStore.open(tmp_path / "data" / "reviews.sqlite3")
    try:
        assert len(file_store.review_log(again.deck.deck_id)) == 1  # the file is untouched
    finally:
        file_store.close()


def test_a_full_disk_mid_session_keeps_the_grade(make_area, notes, qtbot, tmp_path):
    area = make_area(notes)
    review_good(qtbot, area)
    db = tmp_path / "data" / "reviews.sqlite3"
    key = area.session.current

    def full(*_args, **_kwargs):
        raise _store_error_full()
    area.store.record_grade = full
    review_good(qtbot, area)
    assert area.store.path is None and area.session.store is area.store
    assert area.session.states[key].reps == 1  # the grade was kept ...
    assert len(area.store.review_log(area.deck.deck_id)) == 2  # ... with the earlier one
    assert area.problem.isVisible() and "The disk is full" in area.problem.text()
    assert "Nothing was changed" not in area.banner.text()
    con = sqlite3.connect(db)
    try:
        assert con.execute("SELECT COUNT(*) FROM revlog").fetchone()[0] == 1
    finally:
        con.close()
    review_good(qtbot, area)  # later grades go to the copy
    assert len(area.store.review_log(area.deck.deck_id)) == 3


def test_a_full_disk_during_a_reload_still_reloads(make_area, notes, qtbot):
    area = make_area(notes)
    review_good(qtbot, area)

    def full(*_args, **_kwargs):
        raise _store_error_full()
    area.store.sync_cards = full
    notes.write_text(notes_v2(), encoding="utf-8")
    qtbot.waitUntil(lambda: area.deck.sync.renamed == 2, timeout=5000)
    assert area.store.path is None and "The disk is full" in area.problem.text()
    assert area.store.states(area.deck.deck_id)[key_of(area, TYPO[1])].reps == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
@pytest.mark.timeout(60)
def test_a_fifo_in_place_of_the_notes_file_never_hangs_the_window(make_area, notes, qtbot):
    area = make_area(notes)
    notes.unlink()
    os.mkfifo(notes)
    try:
        qtbot.waitUntil(lambda: "not a regular file" in area.banner.text(), timeout=10_000)
        assert len(area.deck.parse.cards) == 6  # the last good version stays
        qtbot.keyClick(area.review.card, Qt.Key.Key_Space)  # the window still answers
        assert area.review.card.answer_shown
    finally:
        notes.unlink()


def test_the_notes_error_goes_when_the_file_is_back(make_area, notes, qtbot):
    area = make_area(notes)
    good = notes.read_bytes()
    notes.write_bytes(b"")
    qtbot.waitUntil(lambda: "Could not reload" in area.banner.text(), timeout=5000)
    assert area.banner.isVisible()
    notes.write_bytes(good)
    qtbot.waitUntil(lambda: not area.banner.isVisible(), timeout=5000)
    assert len(area.deck.parse.cards) == 6


def test_export_names_the_images_left_out(make_area, qtbot, tmp_path):
    folder = tmp_path / "shared-notes"
    folder.mkdir()
    secret = tmp_path / "secret.png"
    shutil.copy(BUNDLED, secret)  # any file outside the notes' folder
    path = folder / "notes.md"
    path.write_text("# Chapter 1\n\n" + card("Leaky", "- ![d](../secret.png)\n- text"),
                    encoding="utf-8")
    area = make_area(path)
    assert area.export_to(tmp_path / "out.apkg")
    text = area.banner.text()
    assert "1 image was left out" in text and "../secret.png" in text
    assert "outside the notes file&#x27;s folder" in text or "outside the notes file's" in text
