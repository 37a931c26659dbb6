"""Notes are read the way a browser shows them: every question a reader sees on GitHub is a
card, and each warning names the question and line it concerns and what was done."""

from __future__ import annotations

import pytest

from studyapp.notes.checks import open_note, open_questions_tooltip, warnings_intro
from studyapp.notes.parser import NO_ANSWER, ONLY_TODO, parse_file, parse_text
from studyapp.notes.render import Renderer

from .notes_fixtures import QUESTION_SUMMARY_RE, grown_notes


def test_every_question_of_the_bundled_deck_is_a_card(bundled_text):
    r = parse_text(bundled_text)
    assert len(r.cards) == len(QUESTION_SUMMARY_RE.findall(bundled_text)) == 15
    assert not r.lost


def test_every_question_of_a_grown_deck_is_a_card():
    text = grown_notes()
    r = parse_text(text)
    assert len(QUESTION_SUMMARY_RE.findall(text)) == 39
    assert len(r.cards) == 39
    assert not r.lost


def test_text_before_the_summary_starts_the_answer_and_is_warned_about():
    text = grown_notes()
    r = parse_text(text)
    card = next(c for c in r.cards if c.question == "Stages of building and using a model")
    # The answer keeps the file's order, as a browser shows an open block.
    assert card.answer.startswith("- ⭐Tailored models")
    assert card.answer.endswith("fine-tuning on labelled data")
    lines = text.split("\n")
    w = next(w for w in r.warnings if w.question == card.question)
    assert lines[w.line - 1].startswith("- ⭐Tailored")
    assert "is not the first line of its <details> block; the card is read anyway" in w.message
    assert f"(line {lines.index('<summary>🎯Q. Stages of building and using a model</summary>') + 1})" \
        in w.message


@pytest.mark.parametrize("block, question", [
    ("<DETAILS>\n<Summary>🎯Q. Upper case tags</SUMMARY>\n- a\n</Details>\n", "Upper case tags"),
    ("<details open>\n<summary class=\"q\">🎯Q. With attributes</summary>\n- a\n</details>\n",
     "With attributes"),
    ("<details>\n<summary>\n\n🎯Q. Text after a blank line\n</summary>\n- a\n</details>\n",
     "Text after a blank line"),
    ("<details><summary>🎯Q. Same line</summary>- a\n</details>\n", "Same line"),
])
def test_tags_in_any_case_with_attributes_and_spread_over_lines(block, question):
    r = parse_text("# S\n" + block)
    assert [c.question for c in r.cards] == [question]
    assert r.cards[0].answer == "- a"
    assert not r.warnings


def test_an_unclosed_summary_takes_its_first_line_and_says_so():
    r = parse_text("# S\n<details>\n<summary>🎯Q. Never closed\n- the answer\n- more\n"
                   "</details>\n")
    assert [c.question for c in r.cards] == ["Never closed"]
    assert r.cards[0].answer == "- the answer\n- more"
    (w,) = r.warnings
    assert w.line == 3 and w.question == "Never closed" and "not closed" in w.message


def test_unclosed_summary_on_the_line_after_its_tag():
    r = parse_text("# S\n<details>\n<summary>\n🎯Q. Question on its own line\n\n- answer\n"
                   "</details>\n")
    assert [c.question for c in r.cards] == ["Question on its own line"]
    assert r.cards[0].answer == "- answer"
    assert r.warnings[0].line == 4 and "not closed" in r.warnings[0].message


def test_a_question_nested_in_an_answer_is_a_card_and_stays_in_that_answer():
    text = ("# S\n<details>\n<summary>🎯Q. Outer</summary>\n- a\n<details>\n"
            "<summary>🎯Q. Inner</summary>\n- inner answer\n</details>\n- b\n</details>\n"
            "<details>\n<summary>🎯Q. Next</summary>\n- c\n</details>\n")
    r = parse_text(text)
    assert [c.question for c in r.cards] == ["Outer", "Inner", "Next"]
    outer, inner, _ = r.cards
    assert "inner answer" in outer.answer and outer.answer.endswith("- b")
    assert inner.answer == "- inner answer" and inner.line == 5
    (w,) = r.warnings
    assert w.line == 5 and "nested in the answer of 'Outer'" in w.message


def test_a_forgotten_close_is_not_mistaken_for_nesting():
    text = ("# S\n<details>\n<summary>🎯Q. Forgot to close</summary>\n- a\n\n<details>\n"
            "<summary>🎯Q. Next</summary>\n- b\n</details>\n")
    r = parse_text(text)
    assert [(c.question, c.answer) for c in r.cards] == [("Forgot to close", "- a"),
                                                          ("Next", "- b")]
    assert "never closed" in r.warnings[0].message and r.warnings[0].question == "Forgot to close"


def test_a_summary_written_as_inline_code_is_not_a_tag():
    r = parse_text("# S\n<details>\n<summary>🎯Q. About HTML</summary>\n- write `<summary>` and "
                   "`</details>` tags\n</details>\n")
    assert len(r.cards) == 1 and "`</details>`" in r.cards[0].answer
    assert not r.warnings


def test_a_second_question_summary_in_one_block_is_reported_as_lost():
    r = parse_text("# S\n<details>\n<summary>🎯Q. First</summary>\n- a\n"
                   "<summary>🎯Q. Second</summary>\n- b\n</details>\n")
    assert [c.question for c in r.cards] == ["First"]
    (w,) = r.lost
    assert w.line == 5 and w.question == "Second" and "not a card" in w.message
    assert "1 question is not a card (line 5)" in warnings_intro(r)


def test_nothing_was_lost_only_when_nothing_was(bundled_text):
    r = parse_text(bundled_text)
    assert "Every question in the file is a card" in warnings_intro(r)
    lost = parse_text(bundled_text + "\n<summary>🎯Q. outside any block</summary>\n")
    assert lost.lost and "not a card" in warnings_intro(lost)
    assert "Every question" not in warnings_intro(lost)


def test_open_reasons_name_the_right_card():
    r = parse_text(grown_notes())
    by_q = {c.question: c for c in r.cards}
    empty = by_q["Why is positional information needed after token ids?"]
    partly = by_q["Can we see which parameter stores which fact?"]
    todo = by_q["last one"]
    assert empty.open_reason == NO_ANSWER and "no answer yet" in open_note(empty)
    assert "TODO" not in open_note(empty)
    assert not partly.open_question and partly.todo_line is not None
    assert grown_notes().split("\n")[partly.todo_line - 1].startswith("- TODO")
    assert f"TODO (line {partly.todo_line})" in open_note(partly)
    assert todo.open_reason == ONLY_TODO and "the notes say TODO" in open_note(todo)
    # An answer of only an empty bullet is no answer.
    assert by_q["placeholder question ?"].open_reason == NO_ANSWER
    tip = open_questions_tooltip(r)
    assert f"line {empty.line}: Why is positional" in tip and "(no answer yet)" in tip
    assert f"line {partly.todo_line}: Can we see" in tip


def test_bundled_open_question_is_the_todo_card(bundled_text):
    r = parse_text(bundled_text)
    (card,) = r.open_cards
    assert card.question.startswith("Why positional encoding")
    assert card.open_reason == ONLY_TODO
    assert bundled_text.split("\n")[card.todo_line - 1].strip() == "- TODO"


def test_missing_images_of_a_learners_file_are_warnings_with_lines(tmp_path):
    text = grown_notes()
    p = tmp_path / "mine.md"
    p.write_text(text, encoding="utf-8")
    (tmp_path / "fig-1-1.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    r = parse_file(p)
    images = [w for w in r.warnings if w.kind == "image"]
    lines = text.split("\n")
    assert {w.line for w in images} == {i + 1 for i, ln in enumerate(lines)
                                        if "](fig-" in ln and "fig-1-1" not in ln}
    assert all("not found" in w.message and w.question for w in images)
    assert "cover.png" not in " ".join(w.message for w in images)  # not in any card
    assert "images are missing" in warnings_intro(r)


def test_the_bundled_deck_reports_no_missing_figures_and_shows_a_quiet_placeholder():
    from studyapp.review.deck import bundled_notes_path

    r = parse_file(bundled_notes_path())
    assert r.bundled
    assert not [w for w in r.warnings if w.kind == "image"]
    card = next(c for c in r.cards if c.images)
    html = Renderer(bundled_notes_path().parent, bundled=r.bundled).render(card.answer)
    assert "figure from the book, not included" in html and "not found" not in html
