"""Notes become cards: the bundled deck, messy hand-written input, identity across edits."""

from __future__ import annotations

import pytest

from studyapp.notes.parser import (
    NotesError, card_key, decode_notes, normalise_text, parse_file, parse_text, section_key)

BUNDLED_SECTIONS = [
    ("Chapter 1: understanding the large language models", 6),
    ("Chapter 2: working with text data", 2),
    ("Chapter 3: coding attention mechanisms.", 3),
    ("GENERAL NOTES", 1),
    ("Maths concepts for AI,ML and DL", 1),
    ("Questions which needs a deep dive", 2),
]


def test_bundled_deck_gives_15_cards_in_six_sections(bundled_text):
    r = parse_text(bundled_text)
    assert len(r.cards) == 15
    assert [(s.name, s.cards) for s in r.card_sections] == BUNDLED_SECTIONS
    assert r.open_questions == 1
    open_q = [c for c in r.cards if c.open_question]
    assert open_q[0].question.startswith("Why positional encoding is needed")
    first = r.cards[0]
    assert first.question == "LLMs vs earlier NLP"
    assert first.answer.startswith("- An LLM is a specific type of model")
    assert first.answer.rstrip().endswith("field.⭐")
    assert "</details>" not in "".join(c.answer for c in r.cards)


def test_bundled_deck_warnings_have_line_numbers(bundled_text):
    r = parse_text(bundled_text)
    lines = bundled_text.split("\n")
    assert [w.line for w in r.warnings] == [208, 264]
    assert lines[208 - 1].strip() == "</details>"  # the stray one under "# Maths concepts"
    assert lines[264 - 1].strip() == "</summary>"  # the legend block's odd closing tag
    assert "stray" in r.warnings[0].message


def test_legend_block_is_not_a_card_but_is_read(bundled_text):
    r = parse_text(bundled_text)
    assert r.legend_from_file
    markers = dict(r.legend)
    assert markers["🔥"] == "super important"
    assert set(markers) >= {"⭐", "🔥", "💡", "⚠️", "🎯", "🚀", "🚫"}
    assert not any("Emojis" in c.question for c in r.cards)


def test_summary_json_shape(bundled_text):
    s = parse_text(bundled_text).to_summary()
    assert s["cards"] == 15 and s["open_questions"] == 1
    assert [d["cards"] for d in s["sections"]] == [6, 2, 3, 1, 1, 2]
    assert s["warnings"][0] == {"line": 208, "message": s["warnings"][0]["message"],
                                "kind": "ignored"}
    assert s["lost_questions"] == 0


def test_crlf_and_bom_parse_the_same(bundled_text, tmp_path):
    plain = parse_text(bundled_text)
    p = tmp_path / "crlf.md"
    p.write_bytes(b"\xef\xbb\xbf" + bundled_text.replace("\n", "\r\n").encode("utf-8"))
    crlf = parse_file(p)
    assert [c.key for c in crlf.cards] == [c.key for c in plain.cards]
    assert [c.answer for c in crlf.cards] == [c.answer for c in plain.cards]
    # A copy outside the install is the learner's own: its missing figures are listed too.
    assert [w.line for w in crlf.warnings if w.kind != "image"] == [208, 264]


def test_utf16_file_is_read(bundled_text, tmp_path):
    p = tmp_path / "u16.md"
    p.write_bytes(bundled_text.encode("utf-16"))
    assert len(parse_file(p).cards) == 15


@pytest.mark.parametrize("content, fragment", [
    (b"", "empty"),
    (b"   \n\n  ", "empty"),
    (b"\x00\x01\x02binary\x00" * 100, "binary"),
    (b"# Just a heading\n\nSome text, no questions.\n", "no question"),
])
def test_not_a_notes_file_raises_a_clear_error(tmp_path, content, fragment):
    p = tmp_path / "x.md"
    p.write_bytes(content)
    with pytest.raises(NotesError, match=fragment):
        parse_file(p)


def test_missing_file_and_folder_raise_notes_error(tmp_path):
    with pytest.raises(NotesError, match="cannot be read"):
        parse_file(tmp_path / "nope.md")
    with pytest.raises(NotesError, match="folder"):
        parse_file(tmp_path)


def test_invalid_utf8_is_replaced_with_a_warning(tmp_path):
    p = tmp_path / "bad.md"
    p.write_bytes(b"# S\n<details>\n<summary>\xf0\x9f\x8e\xafQ. caf\xe9?</summary>\n- a\n</details>\n")
    r = parse_file(p)
    assert len(r.cards) == 1
    assert r.warnings[0].line == 3 and "UTF-8" in r.warnings[0].message


MESSY = """\
# Chapter 4: messy
<details>
<summary>🎯Q. Unterminated question</summary>

- answer line
# Chapter 5: after the unclosed block
<details><summary>🎯Q. Same-line summary</summary>
- one <br> two
<br>
<br>
- three
</details>
</details>
<details>
<summary>
🎯Q. Multi-line
summary
</summary>
TODO
</details>
<details>
<summary>🎯 Q: typo marker</summary>
- x
</details>
<details>
- no summary here
</details>
<details>
<summary>🎯Q. With a heading inside</summary>

# Chapter 9 looks like a section
- but the block is closed below
</details>
<details>
<summary>🎯Q. Unclosed at the end</summary>
- last words
"""


def test_messy_input_parses_what_it_can_and_warns_with_lines():
    r = parse_text(MESSY)
    qs = [(c.section, c.question) for c in r.cards]
    assert qs == [
        ("Chapter 4: messy", "Unterminated question"),
        ("Chapter 5: after the unclosed block", "Same-line summary"),
        ("Chapter 5: after the unclosed block", "Multi-line summary"),
        ("Chapter 5: after the unclosed block", "typo marker"),
        ("Chapter 5: after the unclosed block", "With a heading inside"),
        ("Chapter 5: after the unclosed block", "Unclosed at the end"),
    ]
    assert r.cards[0].answer == "- answer line"  # cut at the heading, which starts a section
    assert "# Chapter 9" in r.cards[4].answer
    assert r.cards[2].open_question
    by_line = {w.line: w.message for w in r.warnings}
    assert "never closed" in by_line[2]
    assert "stray </details>" in by_line[13]
    assert "expected '🎯Q.'" in by_line[21]
    assert "without a <summary>" in by_line[25]
    assert "inside the answer of 'With a heading inside'" in by_line[31]
    assert "never closed" in by_line[34]
    assert r.cards[-1].answer == "- last words"


def test_br_runs_are_trimmed_and_answers_keep_inner_layout():
    r = parse_text(MESSY)
    assert r.cards[1].answer.startswith("- one <br> two")
    assert r.cards[1].answer.endswith("- three")


def test_code_fences_hide_tags_and_headings():
    text = "# S\n```\n<details>\n# not a heading\n```\n<details>\n<summary>🎯Q. q</summary>\n" \
           "```html\n</details>\n```\n</details>\n"
    r = parse_text(text)
    assert [s.name for s in r.sections] == ["S"]
    assert len(r.cards) == 1 and "</details>" in r.cards[0].answer
    assert not r.warnings


def test_nested_non_question_details_stays_in_the_answer():
    text = ("# S\n<details>\n<summary>🎯Q. outer</summary>\n- a\n<details>\n<summary>more"
            "</summary>\ninner\n</details>\n- b\n</details>\n")
    r = parse_text(text)
    assert len(r.cards) == 1
    assert "inner" in r.cards[0].answer and r.cards[0].answer.endswith("- b")
    assert not r.warnings


def test_duplicate_question_is_kept_with_a_distinct_key_and_a_warning():
    text = "# S\n" + "<details>\n<summary>🎯Q. same</summary>\n- a\n</details>\n" * 2
    r = parse_text(text)
    assert len({c.key for c in r.cards}) == 2
    assert "again" in r.warnings[0].message and r.warnings[0].line == 6


def test_cards_before_any_heading_and_empty_answers():
    r = parse_text("<details>\n<summary>🎯Q. lonely</summary>\n</details>\n")
    assert r.cards[0].section == "(no section)"
    assert r.cards[0].open_question
    assert "empty answer" in r.warnings[0].message


def test_question_summary_outside_details_is_reported():
    r = parse_text("# S\n<summary>🎯Q. forgot details</summary>\n- a\n")
    assert not r.cards
    assert r.warnings[0].line == 2 and "outside a <details>" in r.warnings[0].message


def test_todo_variants_are_open_questions():
    for answer, is_open in [("- TODO", True), ("TODO", True), ("todo.", True), ("* TBD", True),
                            ("- TODO - do understand and go deep.\n- more", False),
                            ("- real answer", False)]:
        text = f"# S\n<details>\n<summary>🎯Q. q</summary>\n{answer}\n</details>\n"
        assert parse_text(text).cards[0].open_question is is_open, answer


# --- identity ---------------------------------------------------------------------------------

def test_identity_ignores_case_spacing_emphasis_and_trailing_punctuation():
    assert normalise_text("What is  **self attention** mechanism actually ?") == \
        normalise_text("what is self attention mechanism actually")
    k = card_key("chapter 3", "What is self attention mechanism actually ?")
    assert k == card_key("chapter 3", "what is self attention mechanism actually?")
    assert k != card_key("chapter 2", "What is self attention mechanism actually ?")


def test_chapter_sections_key_on_their_number():
    assert section_key("Chapter 3: coding attention mechanisms.") == "chapter 3"
    assert section_key("Chapter 03 - Attention") == "chapter 3"
    assert section_key("⭐ GENERAL NOTES") == normalise_text("⭐ general notes")


def test_identity_survives_a_newer_longer_version(bundled_text):
    old = parse_text(bundled_text)
    newer = bundled_text.replace("# Chapter 3: coding attention mechanisms.",
                                 "# Chapter 3: Coding Attention Mechanisms") \
        .replace("🎯Q. what is tensor?", "🎯Q. What is tensor ?") \
        .replace("# Maths concepts", "# Chapter 4: pretraining\n<details>\n<summary>🎯Q. What is "
                                     "pretraining?</summary>\n- predicting next tokens\n"
                                     "</details>\n\n# Maths concepts")
    new = parse_text(newer)
    assert len(new.cards) == 16
    assert {c.key for c in old.cards} <= {c.key for c in new.cards}


def test_rewording_a_question_makes_a_new_card(bundled_text):
    old = parse_text(bundled_text)
    new = parse_text(bundled_text.replace("🎯Q. What is an LLM", "🎯Q. What exactly is an LLM"))
    assert len({c.key for c in old.cards} - {c.key for c in new.cards}) == 1


def test_decode_rejects_mostly_binary():
    with pytest.raises(NotesError):
        decode_notes(bytes(range(1, 32)) * 400)


def test_ten_thousand_cards_parse(make_notes):
    text = make_notes({f"Chapter {i}": [f"question {i}.{j}" for j in range(100)]
                       for i in range(100)})
    r = parse_text(text)
    assert len(r.cards) == 10_000 and len({c.key for c in r.cards}) == 10_000


def test_card_identity_is_pinned():
    # Review history is keyed on this: a change here would orphan every learner's history.
    assert card_key("chapter 1", "LLMs vs earlier NLP") == "47edf3a2ea46e1ec3fc8"
    assert card_key(section_key("Chapter 3: coding attention mechanisms."),
                    "What is self attention mechanism actually ?") == "707a39f777714434a7f4"
