"""New cards are matched to old ones when the notes change: kept, moved, renamed; near misses
and ambiguous cases are never matched, and no two cards are merged."""

from __future__ import annotations

import pytest

from studyapp.notes.parser import parse_text
from studyapp.review.matching import MOVED, RENAMED, match_cards

from .notes_fixtures import ATTENTION_A, ATTENTION_B, BASE, deck_text

CH1, CH2, CH3, MATHS = list(BASE)


def _change(mutate) -> tuple:
    new = {name: list(cards) for name, cards in BASE.items()}
    mutate(new)
    return parse_text(deck_text(BASE)).cards, parse_text(deck_text(new)).cards


def _replace(section, index, question=None, answer=None):
    def mutate(deck):
        q, a = deck[section][index]
        deck[section][index] = (question or q, answer or a)
    return mutate


def _pairs(result):
    return [(m.old_question, m.new_question, m.how) for m in result.matches]


def test_unchanged_notes_keep_every_card():
    old, new = _change(lambda deck: None)
    r = match_cards(old, new)
    assert len(r.kept) == len(old) and not r.matches and not r.added and not r.removed
    assert r.summary() == "No card changed"


@pytest.mark.parametrize("section, index, question, answer, kind", [
    (CH1, 0, "Stages of building and using a model", None, "typo fixed"),
    (CH1, 1, "What is an LLM exactly", None, "word added"),
    (CH1, 2, "How does backpropagation work, in plain words?",
     BASE[CH1][2][1] + "\n- repeated over many batches", "reworded, answer grown"),
    (CH2, 1, "What does one-hot encoding mean?",
     BASE[CH2][1][1].replace("the same as", "equivalent to"), "both edited a little"),
    (CH3, 1, "why is it called scaled dot-product attention", None, "image-only answer"),
])
def test_each_kind_of_edit_is_a_rename_with_history(section, index, question, answer, kind):
    old, new = _change(_replace(section, index, question, answer))
    r = match_cards(old, new)
    assert _pairs(r) == [(BASE[section][index][0], question, RENAMED)], kind
    assert not r.added and not r.removed
    assert r.summary() == "1 renamed; history kept"
    assert r.to_dict() == {"kept": len(old) - 1, "moved": 0, "renamed": 1, "added": 0,
                           "removed": 0, "matches": [{"old": BASE[section][index][0],
                                                      "new": question, "how": "renamed"}]}


def test_a_question_moved_to_another_section_keeps_its_history():
    def move(deck):
        deck[MATHS].append(deck[CH2].pop(0))
    old, new = _change(move)
    r = match_cards(old, new)
    assert _pairs(r) == [(BASE[CH2][0][0], BASE[CH2][0][0], MOVED)]
    assert r.matches[0].old_section == CH2 and r.matches[0].new_section == MATHS


def test_a_renamed_section_moves_all_its_cards():
    def rename(deck):
        deck["Maths for deep learning"] = deck.pop(MATHS)
    old, new = _change(rename)
    assert [m.how for m in match_cards(old, new).matches] == [MOVED]


@pytest.mark.parametrize("mutate, kind", [
    (_replace(CH3, 0, *ATTENTION_B), "two attention questions worded alike"),
    (_replace(CH3, 0, "What is self attention", ATTENTION_B[1]), "same question, new answer?"),
    (_replace(CH3, 1, "why query key and value", "- ![alt text](image-34.png)"),
     "image-only answers, other image"),
    (_replace(CH3, 2, "4 step process for self-attention ?", "TODO"), "open questions"),
    (_replace(MATHS, 0, "what is token", "- the unit a tokenizer splits text into"),
     "short questions one letter apart"),
])
def test_near_misses_are_not_matched(mutate, kind):
    old, new = _change(mutate)
    r = match_cards(old, new)
    if kind == "same question, new answer?":  # the key is the question: simply kept
        assert not r.matches and not r.added
        return
    assert not r.matches, kind
    assert len(r.added) == 1 and len(r.removed) == 1
    assert r.summary() == "1 new card, 1 no longer in the file; history kept"


def test_self_and_causal_attention_scores_are_what_the_thresholds_reject():
    old, new = _change(_replace(CH3, 0, *ATTENTION_B))
    from studyapp.review.matching import _answer_parts, _close
    from rapidfuzz import fuzz
    from studyapp.notes.parser import normalise_text
    q = fuzz.ratio(normalise_text(ATTENTION_A[0]), normalise_text(ATTENTION_B[0]))
    a = fuzz.ratio(_answer_parts(ATTENTION_A[1])[0], _answer_parts(ATTENTION_B[1])[0])
    assert q > 85  # the questions alone look like a typo fix...
    assert not _close(q, a, _answer_parts(ATTENTION_A[1]), _answer_parts(ATTENTION_B[1]))


def test_two_candidates_for_one_new_card_is_no_match():
    twin = ("Explain backprop simply", BASE[CH1][2][1])

    def mutate(deck):
        deck[CH1][2] = ("How does backpropagation work, in plain words?", BASE[CH1][2][1])
    base = {name: list(cards) for name, cards in BASE.items()}
    base[CH1].append(twin)
    new = {name: list(cards) for name, cards in base.items()}
    mutate(new)
    new[CH1].pop()  # both old cards are gone; one new card could be either
    r = match_cards(parse_text(deck_text(base)).cards, parse_text(deck_text(new)).cards)
    assert not r.matches and len(r.removed) == 2 and len(r.added) == 1


def test_one_old_card_with_two_close_new_ones_is_no_match():
    def mutate(deck):
        q, a = deck[CH1][1]
        deck[CH1][1] = ("What is an LLM exactly", a)
        deck[CH1].append(("What is an LLM, really", a))
    old, new = _change(mutate)
    r = match_cards(old, new)
    assert not r.matches and len(r.added) == 2 and len(r.removed) == 1


def test_a_moved_question_that_is_now_twice_in_the_file_is_no_match():
    def mutate(deck):
        card = deck[CH2].pop(0)
        deck[MATHS].append(card)
        deck[CH3].append(card)
    old, new = _change(mutate)
    assert not match_cards(old, new).matches


def test_a_card_with_its_own_history_is_never_a_target():
    old, new = _change(_replace(CH1, 0, "Stages of building and using a model"))
    target = next(c.key for c in new if c.question.startswith("Stages of building"))
    r = match_cards(old, new, taken={target})
    assert not r.matches and r.added == [target]


def test_unknown_old_answers_rule_out_a_rename_but_not_a_move():
    class Stored:
        def __init__(self, c):
            self.key, self.section, self.section_key, self.question = (
                c.key, c.section, c.section_key, c.question)
            self.answer = None

    def mutate(deck):
        deck[CH1][0] = ("Stages of building and using a model", deck[CH1][0][1])
        deck[MATHS].append(deck[CH2].pop(0))
    old, new = _change(mutate)
    r = match_cards([Stored(c) for c in old], new)
    assert [m.how for m in r.matches] == [MOVED]


def test_summary_of_a_mixed_reload():
    def mutate(deck):
        deck[CH1][0] = ("Stages of building and using a model", deck[CH1][0][1])
        deck[MATHS].append(deck[CH2].pop(0))
        deck[MATHS] += [("new one", "- a"), ("new two", "- b"), ("new three", "- c")]
    old, new = _change(mutate)
    r = match_cards(old, new)
    assert r.summary() == "3 new cards, 1 renamed, 1 moved; history kept"
    assert [m["how"] for m in r.to_dict()["matches"]] == ["renamed", "moved"]
