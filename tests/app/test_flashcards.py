"""The Flashcards area: keyboard review, persistence across restarts, browse, stats, notes files,
bad databases, the Try-it slot and navigation payloads."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "resources" / "notes" / "llm-from-scratch-notes.md"


def press(qtbot, area, key, text=""):
    qtbot.keyClick(area.review.card, key)


def log_rows(area):
    return area.store.review_log(area.deck.deck_id)


def test_opens_on_the_review_with_focus_on_the_card(make_area, qtbot):
    area = make_area()
    qtbot.waitUntil(lambda: area.review.card.hasFocus(), timeout=3000)
    assert area.tabs.currentWidget() is area.review
    assert area.session.current == area.deck.parse.cards[0].key
    assert "Chapter 1" in area.review.section_label.text()
    assert "New <b>15</b>" in area.review.counts_label.text()
    assert area.review.try_box.isVisible()


def test_main_window_opens_with_keyboard_focus_on_the_card(make_ctx, qtbot):
    from studyapp.shell.app import build_window

    ctx = make_ctx()
    window = build_window(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    area = window.areas["flashcards"]
    qtbot.waitUntil(lambda: area.review.card.hasFocus(), timeout=3000)
    names = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert "Open notes..." in names and "Export deck to Anki..." in names
    area.shutdown()


def test_review_with_keyboard_quit_and_reopen_the_app(make_ctx, qtbot):
    """The issue's "done": review with the keyboard alone, quit, reopen, every grade kept."""
    from PySide6.QtWidgets import QApplication

    from studyapp.shell.app import build_window

    def open_window():
        window = build_window(make_ctx())
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        area = window.areas["flashcards"]
        qtbot.waitUntil(lambda: QApplication.focusWidget() is area.review.card, timeout=3000)
        return window, area

    window, area = open_window()
    graded = []
    for grade in (Qt.Key.Key_3, Qt.Key.Key_1, Qt.Key.Key_4, Qt.Key.Key_Space):
        graded.append(area.session.current)
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
        qtbot.keyClick(QApplication.focusWidget(), grade)
    window.close()  # saves settings and shuts the area down
    window, area = open_window()
    log = area.store.review_log(area.deck.deck_id)
    assert [row[1] for row in log] == graded
    assert [row[2] for row in log] == [3, 1, 4, 3]
    window.close()


def test_review_with_the_keyboard_alone_and_undo(make_area, qtbot):
    area = make_area()
    card = area.review.card
    first = area.session.current
    press(qtbot, area, Qt.Key.Key_3)  # digits do nothing on the question side
    assert log_rows(area) == []
    press(qtbot, area, Qt.Key.Key_Space)
    assert card.answer_shown and area.review.buttons.currentIndex() == 1
    assert "Good\n10m" in area.review.grade_buttons[3].text()
    press(qtbot, area, Qt.Key.Key_4)  # Easy
    assert [r[1:3] for r in log_rows(area)] == [(first, 4)]
    second = area.session.current
    assert second != first and not card.answer_shown
    press(qtbot, area, Qt.Key.Key_Return)  # Enter reveals too
    press(qtbot, area, Qt.Key.Key_Space)  # Space on the answer = Good
    assert [r[2] for r in log_rows(area)] == [4, 3]
    assert "New <b>13</b>" in area.review.counts_label.text()
    assert "Learning <b>1</b>" in area.review.counts_label.text()
    qtbot.keyClick(card, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert [r[2] for r in log_rows(area)] == [4]
    assert area.session.current == second and not card.answer_shown
    qtbot.keyClick(card, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert log_rows(area) == [] and area.session.current == first


def test_every_grade_is_kept_after_quitting(make_ctx, make_area, qtbot):
    ctx = make_ctx()
    area = make_area(ctx)
    graded = []
    for rating in (Qt.Key.Key_1, Qt.Key.Key_3, Qt.Key.Key_4):
        graded.append(area.session.current)
        press(qtbot, area, Qt.Key.Key_Space)
        press(qtbot, area, rating)
    states = dict(area.session.states)
    area.close()
    area.shutdown()
    again = make_area(make_ctx())  # same data dir: a fresh start of the app
    assert [r[1] for r in log_rows(again)] == graded
    assert {k: again.session.states[k] for k in graded} == {k: states[k] for k in graded}
    assert "New <b>12</b>" in again.review.counts_label.text()


def test_bury_and_suspend_keys(make_area, qtbot):
    area = make_area()
    first = area.session.current
    qtbot.keyClick(area.review.card, Qt.Key.Key_Minus)
    assert area.session.states[first].buried_until > 0
    second = area.session.current
    qtbot.keyClick(area.review.card, Qt.Key.Key_At)
    assert area.session.states[second].suspended
    assert "New <b>13</b>" in area.review.counts_label.text()
    area.undo()
    assert area.session.current == second and not area.session.states[second].suspended


def test_section_filter_cram_and_shuffle(make_area, qtbot):
    area = make_area()
    idx = next(i for i in range(area.filter_box.count())
               if str(area.filter_box.itemData(i)).startswith("Chapter 3"))
    area.filter_box.setCurrentIndex(idx)
    assert area.session.cards[area.session.current].section.startswith("Chapter 3")
    assert "New <b>3</b>" in area.review.counts_label.text()
    area.cram_check.setChecked(True)
    assert "3 left" in area.review.counts_label.text()
    for _ in range(3):
        press(qtbot, area, Qt.Key.Key_Space)
        press(qtbot, area, Qt.Key.Key_Space)
    assert log_rows(area) == []  # cram leaves the schedule and the log alone
    assert area.review.buttons.currentIndex() == 2
    area.cram_check.setChecked(False)
    area.filter_box.setCurrentIndex(0)
    area.shuffle_check.setChecked(True)
    assert area.settings.get("flashcards/shuffle", False) is True
    assert area.session.current is not None


def test_browse_search_and_open_a_card(make_area, qtbot):
    area = make_area()
    area.tabs.setCurrentWidget(area.browse)
    b = area.browse
    assert b.proxy.rowCount() == 15
    qtbot.keyClicks(b.search, "ATTENTION")  # questions and answers, any case
    expected = sum(1 for c in area.deck.parse.cards
                   if "attention" in (c.question + c.answer).lower())
    assert 3 < b.proxy.rowCount() == expected < 15
    b.search.clear()
    qtbot.keyClicks(b.search, "tensor pytorch")  # all words must match
    assert b.proxy.rowCount() == 1
    b.search.clear()
    b.state_box.setCurrentText("Open questions")
    assert b.proxy.rowCount() == 1
    b.state_box.setCurrentText("All states")
    key = next(c.key for c in area.deck.parse.cards if c.question == "what is tensor?")
    assert b.select(key)
    assert "Tensors represent" in b.preview.toPlainText()
    b.review_button.click()
    assert area.tabs.currentWidget() is area.review
    assert area.session.current == key
    press(qtbot, area, Qt.Key.Key_Space)
    press(qtbot, area, Qt.Key.Key_3)
    assert log_rows(area)[-1][1] == key
    # Sorting by due puts the graded (learning) card before the new ones.
    area.tabs.setCurrentWidget(b)
    b.table.sortByColumn(3, Qt.SortOrder.AscendingOrder)
    top = b.proxy.index(0, 0).data()
    assert top == "what is tensor?"
    b.suspend_button.click()
    assert area.session.states[key].suspended


def test_statistics_tab(make_area, qtbot):
    area = make_area()
    for _ in range(3):
        press(qtbot, area, Qt.Key.Key_Space)
        press(qtbot, area, Qt.Key.Key_3)
    area.tabs.setCurrentWidget(area.stats_page)
    st = area.stats.stats
    assert st is not None and st.reviews_per_day[-1] == 3
    assert [s.name for s in st.sections][0].startswith("Chapter 1")
    assert "3</b> reviews in all" in area.stats.summary.text()
    assert len(area.stats.progress_bars[0].opts["y"]) == 6


def test_open_a_newer_longer_version_keeps_history(make_area, qtbot, tmp_path):
    area = make_area()
    graded = area.session.current
    press(qtbot, area, Qt.Key.Key_Space)
    press(qtbot, area, Qt.Key.Key_4)
    text = BUNDLED.read_text(encoding="utf-8")
    newer = tmp_path / "my-notes-v2.md"
    newer.write_text(text.replace("# Maths concepts", "# Chapter 4: implementing GPT\n"
                                  "<details>\n<summary>🎯Q. What does LayerNorm do?</summary>\n"
                                  "- normalises activations\n</details>\n\n# Maths concepts"),
                     encoding="utf-8")
    assert area.open_notes(newer)
    assert len(area.deck.parse.cards) == 16 and area.deck.adopted
    assert area.session.states[graded].reps == 1  # the history came along
    assert "history carries over" in area.banner.text()
    assert area.warnings_dialog is not None and area.warnings_dialog.isVisible()
    table = area.warnings_dialog.table
    rows = [(table.item(i, 0).text(), table.item(i, 1).text()) for i in range(table.rowCount())]
    assert "214" in [line for line, _ in rows]  # the stray </details>, moved down by 6 lines
    # A copy outside the install is the learner's own file: its missing figures are listed.
    assert any("question 'what is tensor?': image 'image-4.png' is not found" in message
               for _, message in rows)
    area.warnings_dialog.close()
    assert area.settings.get("flashcards/notes_path", "") == str(newer.resolve())


def test_reloads_when_the_file_changes_on_disk(make_ctx, make_area, qtbot, tmp_path):
    notes = tmp_path / "notes.md"
    shutil.copy(BUNDLED, notes)
    area = make_area(make_ctx(notes))
    key = area.session.current
    press(qtbot, area, Qt.Key.Key_Space)
    press(qtbot, area, Qt.Key.Key_3)
    text = notes.read_text(encoding="utf-8")
    notes.write_text(text.replace("🎯Q. What is an LLM", "🎯Q. What is an LLM, really")
                     + "\n# Chapter 9\n<details>\n<summary>🎯Q. new one</summary>\n- a\n"
                     "</details>\n", encoding="utf-8")
    qtbot.waitUntil(lambda: len(area.deck.parse.cards) == 16, timeout=5000)
    # The reworded question is the same card, renamed: its history follows it.
    assert (area.deck.sync.added, area.deck.sync.renamed, area.deck.sync.hidden) == (1, 1, 0)
    assert area.session.states[key].reps == 1
    assert "Notes reloaded" in area.banner.text()
    # A broken save keeps the last good version.
    notes.write_bytes(b"")
    qtbot.waitUntil(lambda: "Could not reload" in area.banner.text(), timeout=5000)
    assert len(area.deck.parse.cards) == 16


def test_not_a_notes_file_keeps_the_current_deck(make_area, tmp_path):
    area = make_area()
    junk = tmp_path / "junk.md"
    junk.write_bytes(b"\x00\x01" * 500)
    assert not area.open_notes(junk)
    assert "not a notes file" in area.banner.text()
    assert len(area.deck.parse.cards) == 15


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corrupt_database_app_still_opens_and_file_untouched(make_ctx, make_area, qtbot,
                                                            tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db = data / "reviews.sqlite3"
    db.write_bytes(b"definitely not sqlite " * 200)
    before = _sha(db)
    area = make_area(make_ctx(data=data))
    assert area.problem.isVisible() and "damaged" in area.problem.text()
    assert "temporary database" in area.problem.text()
    press(qtbot, area, Qt.Key.Key_Space)
    press(qtbot, area, Qt.Key.Key_3)  # review still works, in memory
    assert len(log_rows(area)) == 1
    assert _sha(db) == before
    assert sorted(p.name for p in data.iterdir() if p.name.startswith("reviews")) == [
        "reviews.sqlite3"]


def test_try_it_slot(make_area, qtbot):
    area = make_area()
    calls = []
    area.set_try_it(lambda card: (f"Try {card.section[:9]}", lambda: calls.append(card.key)))
    assert area.review.try_button.isVisible()
    assert area.review.try_button.text() == "Try Chapter 1"
    area.review.try_button.click()
    assert calls == [area.session.current]
    area.set_try_it(lambda card: None)
    assert not area.review.try_button.isVisible()
    assert "No lab is linked" in area.review.try_hint.text()
    area.set_try_it(None)
    assert "Labs linked to cards will appear here" in area.review.try_hint.text()
    assert area.review.card.hasFocus() or not area.isActiveWindow()


def test_default_try_it_opens_the_linked_lab(make_area, qtbot):
    area = make_area()
    key = next(c.key for c in area.deck.parse.cards if c.question == "understanding embeddings")
    area.show_card(key)
    assert area.review.try_button.isVisible()
    with qtbot.waitSignal(area.ctx.navigator.open_requested) as blocker:
        area.review.try_button.click()
    assert blocker.args[0] == "embeddings"


def test_navigation_payloads(make_area, qtbot):
    area = make_area()
    cards = area.deck.parse.cards
    area.apply_state({"card_key": cards[5].key})
    assert area.session.current == cards[5].key
    keys = [cards[9].key, cards[10].key]
    area.apply_state({"review_keys": keys, "label": "Attention cards"})
    assert area.filter_box.currentText() == "Attention cards (2)"
    assert area.session.current in keys
    assert "New <b>2</b>" in area.review.counts_label.text()
    for _ in range(2):
        press(qtbot, area, Qt.Key.Key_Space)
        press(qtbot, area, Qt.Key.Key_4)
    # Nothing of these is due any more: asking again studies them without the schedule.
    area.apply_state({"review_keys": keys, "label": "Attention cards"})
    assert area.cram_check.isChecked() and area.session.current in keys
    area.apply_state({"tab": "stats"})
    assert area.tabs.currentWidget() is area.stats_page


def test_options_change_the_daily_new_limit(make_area):
    area = make_area()
    area.apply_options(5, 0.85)
    assert "New <b>5</b>" in area.review.counts_label.text()
    assert area.session.scheduler.desired_retention == 0.85
    assert area.settings.get("flashcards/new_per_day", 0) == 5


def test_export_to_anki(make_area, tmp_path):
    area = make_area()
    out = tmp_path / "deck.apkg"
    assert area.export_to(out)
    assert zipfile.is_zipfile(out)
    assert "Exported 15 cards in 6 subdecks" in area.banner.text()


def test_remembers_the_notes_file_opened_last(make_ctx, make_area, tmp_path):
    notes = tmp_path / "mine.md"
    shutil.copy(BUNDLED, notes)
    ctx = make_ctx()
    area = make_area(ctx)
    assert area.open_notes(notes)
    area.warnings_dialog.close()
    area.shutdown()
    again = make_area(make_ctx())  # started without --notes: the learner's file again
    assert again.deck.path == notes.resolve()


def test_a_big_notes_file_is_read_on_a_worker(make_area, qtbot, tmp_path):
    from studyapp.areas.flashcards.area import ASYNC_PARSE_BYTES

    big = tmp_path / "big.md"
    parts = []
    for i in range(1500):
        if i % 100 == 0:
            parts.append(f"# Chapter {i // 100 + 1}\n")
        parts.append(f"<details>\n<summary>🎯Q. question {i}</summary>\n\n- answer {i} "
                     + "padding " * 20 + "\n</details>\n")
    big.write_text("\n".join(parts), encoding="utf-8")
    assert big.stat().st_size > ASYNC_PARSE_BYTES
    area = make_area()
    with qtbot.waitSignal(area.deck_loaded, timeout=20_000):
        assert area.open_notes(big, user=False) is None  # reading in the background
        assert "Reading big.md" in area.banner.text()
        assert len(area.deck.parse.cards) == 15  # the old deck stays usable meanwhile
    assert len(area.deck.parse.cards) == 1500
    assert area.session.current == area.deck.parse.cards[0].key
    qtbot.waitUntil(lambda: not area.notes.is_busy(), timeout=5000)


def test_a_bad_notes_file_at_start_falls_back_to_the_bundled_deck(make_ctx, make_area,
                                                                 tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("just prose, no questions\n", encoding="utf-8")
    area = make_area(make_ctx(bad))
    assert len(area.deck.parse.cards) == 15
    assert "no question found" in area.banner.text()
    assert "bundled notes instead" in area.banner.text()
