"""Which new card is which old card when a notes file changes (no Qt).

A card's identity is its section and normalised question (`studyapp.notes.parser.card_key`),
so an edit to either would start a new card and hide the old one's history. Before anything is
hidden, the cards of the new version are matched to those of the old one:

1. same section and same normalised question: **kept** (the same key);
2. the same question in another section, once in the new file and once among the old cards
   that are gone: **moved**;
3. a question that is gone and a new one whose question and answer are close (a typo fixed, a
   word added, the question reworded over the same answer): **renamed**;
4. anything else is not matched: a new card that could be either of two old ones, or an old
   card that could become either of two new ones, is left alone. Two cards are never merged.

The closeness test of step 3 rests on the answer: two questions about attention can differ by a
single word ("self" / "causal") and still be different cards, which their answers tell apart.
Scores are rapidfuzz's normalised Indel similarity (0..100). The thresholds come from the
fixtures in tests/core/test_review_matching.py, one for each kind of edit and for the near
misses that must not match.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Protocol, Sequence

from rapidfuzz import fuzz, process

from studyapp.notes.answers import is_open_answer
from studyapp.notes.parser import normalise_text

KEPT, MOVED, RENAMED = "kept", "moved", "renamed"

#: An answer with fewer word characters than this (once images are set aside) says too little
#: to tell two cards apart by wording; such answers must be equal instead.
SUBSTANTIAL_ANSWER = 40
#: Substantial answers: the question reworded, the answer the same apart from small edits.
SAME_ANSWER = 85
REWORDED_QUESTION = 40
#: Substantial answers: both question and answer edited a little.
CLOSE_ANSWER = 70
CLOSE_QUESTION = 75
#: Short (or image-only) answers, equal after normalisation: the question must be close.
SHORT_ANSWER_QUESTION = 85
#: Beyond this many (gone x new) pairs only exact answers are compared (a rewritten file).
MAX_FUZZY_PAIRS = 250_000

_IMAGE_RE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?[^)]*\)|<img\b[^>]*?\bsrc\s*=\s*[\"']?"
                       r"([^\"'\s>]+)[^>]*>", re.IGNORECASE)
_WORD_CHARS_RE = re.compile(r"\w")


class CardLike(Protocol):
    key: str
    section: str
    section_key: str
    question: str


@dataclass(frozen=True)
class Match:
    old_key: str
    new_key: str
    how: str  # MOVED or RENAMED
    old_question: str
    new_question: str
    old_section: str
    new_section: str
    question_score: float = 100.0
    answer_score: float = 100.0

    def to_dict(self) -> dict:
        return {"old": self.old_question, "new": self.new_question, "how": self.how}


@dataclass
class MatchResult:
    kept: list[str] = field(default_factory=list)  # keys present before and now
    matches: list[Match] = field(default_factory=list)  # moved and renamed, in new-file order
    added: list[str] = field(default_factory=list)  # new keys with no earlier card
    removed: list[str] = field(default_factory=list)  # old keys with no card now

    @property
    def moved(self) -> int:
        return sum(1 for m in self.matches if m.how == MOVED)

    @property
    def renamed(self) -> int:
        return sum(1 for m in self.matches if m.how == RENAMED)

    def new_keys(self) -> dict[str, str]:
        """old key -> new key of every matched card (for the review session to follow)."""
        return {m.old_key: m.new_key for m in self.matches}

    def to_dict(self) -> dict:
        """The "changes" object of `studyapp notes FILE --json --since OLD_FILE`."""
        return {"kept": len(self.kept), "moved": self.moved, "renamed": self.renamed,
                "added": len(self.added), "removed": len(self.removed),
                "matches": [m.to_dict() for m in self.matches]}

    def summary(self) -> str:
        """One line for the notice after a reload: "3 new cards, 1 renamed, 1 moved; history
        kept"."""
        return changes_summary(len(self.added), self.renamed, self.moved, len(self.removed))


def changes_summary(added: int, renamed: int, moved: int, removed: int,
                    returned: int = 0) -> str:
    """"3 new cards, 1 renamed, 1 moved; history kept" (what a reload did to the cards)."""
    counted = ((added, f"new card{'s' if added != 1 else ''}"), (renamed, "renamed"),
               (moved, "moved"), (returned, "back"), (removed, "no longer in the file"))
    parts = [f"{count} {what}" for count, what in counted if count]
    if not parts:
        return "No card changed"
    return ", ".join(parts) + ("; history kept" if renamed or moved or removed or returned else "")


def _answer_of(card) -> str | None:
    answer = getattr(card, "answer", None)
    return answer if isinstance(answer, str) else None


def _answer_parts(answer: str) -> tuple[str, tuple[str, ...], int]:
    """(normalised text with images as their file names, image sources, word characters);
    word characters is -1 for an open answer (nothing or only TODO), which tells nothing."""
    images = tuple(a or b for a, b in _IMAGE_RE.findall(answer))
    text = normalise_text(_IMAGE_RE.sub(lambda m: f" [{m.group(1) or m.group(2)}] ", answer))
    words = len(_WORD_CHARS_RE.findall(normalise_text(_IMAGE_RE.sub(" ", answer))))
    if not images and is_open_answer(answer):
        words = -1
    return text, images, words


def _unique_pairs(candidates: dict[int, set[int]]) -> list[tuple[int, int]]:
    """(old, new) pairs where the old card has one candidate and that new card has one too."""
    back: dict[int, set[int]] = defaultdict(set)
    for o, news in candidates.items():
        for n in news:
            back[n].add(o)
    return [(o, next(iter(news))) for o, news in candidates.items()
            if len(news) == 1 and len(back[next(iter(news))]) == 1]


def match_cards(old: Sequence[CardLike], new: Sequence[CardLike],
                taken: Iterable[str] = ()) -> MatchResult:
    """Match the cards of a notes file's new version to those of its old one.

    `old`: the cards of the previous version (parse cards or stored cards; an `answer`
    attribute of None means "not known", which rules out a rename). `new`: the new parse's
    cards. `taken`: keys that already have a history of their own (hidden cards that came
    back): such a new card is never the target of a match, so no two histories are merged.
    """
    result = MatchResult()
    old_keys = {c.key for c in old}
    taken = set(taken)
    new_keys = {n.key for n in new}
    gone = [c for c in old if c.key not in new_keys]
    fresh = [c for c in new if c.key not in old_keys and c.key not in taken]
    result.kept = [c.key for c in new if c.key in old_keys]
    by_new_key: dict[str, Match] = {}
    if not gone or not fresh:  # the common reload: nothing to match
        result.added = [c.key for c in new if c.key not in old_keys]
        result.removed = [c.key for c in gone]
        return result

    # 2. moved: the same question, unique in the new file and among the gone cards.
    new_counts = Counter(normalise_text(c.question) for c in new)
    gone_by_q: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(gone):
        gone_by_q[normalise_text(c.question)].append(i)
    used_old: set[int] = set()
    used_new: set[int] = set()
    for j, c in enumerate(fresh):
        q = normalise_text(c.question)
        olds = gone_by_q.get(q, [])
        if new_counts[q] == 1 and len(olds) == 1 and gone[olds[0]].section_key != c.section_key:
            o = gone[olds[0]]
            by_new_key[c.key] = Match(o.key, c.key, MOVED, o.question, c.question, o.section,
                                      c.section)
            used_old.add(olds[0])
            used_new.add(j)

    # 3. renamed: question and answer close, with exactly one candidate either way.
    olds = [(i, c) for i, c in enumerate(gone) if i not in used_old and _answer_of(c) is not None]
    news = [(j, c) for j, c in enumerate(fresh) if j not in used_new and _answer_of(c) is not None]
    if olds and news:
        for o, n, qs, ans in _renames(olds, news):
            oc, nc = gone[o], fresh[n]
            by_new_key[nc.key] = Match(oc.key, nc.key, RENAMED, oc.question, nc.question,
                                       oc.section, nc.section, qs, ans)

    result.matches = [by_new_key[c.key] for c in fresh if c.key in by_new_key]
    matched_old = {m.old_key for m in result.matches}
    result.added = [c.key for c in new if c.key not in old_keys and c.key not in by_new_key]
    result.removed = [c.key for c in gone if c.key not in matched_old]
    return result


def _renames(olds, news) -> list[tuple[int, int, float, float]]:
    """(old index, new index, question score, answer score) of the unambiguous renames."""
    o_parts = [_answer_parts(_answer_of(c)) for _, c in olds]
    n_parts = [_answer_parts(_answer_of(c)) for _, c in news]
    o_q = [normalise_text(c.question) for _, c in olds]
    n_q = [normalise_text(c.question) for _, c in news]
    scores: dict[tuple[int, int], tuple[float, float]] = {}
    if len(olds) * len(news) <= MAX_FUZZY_PAIRS:
        q_matrix = process.cdist(o_q, n_q, scorer=fuzz.ratio, dtype="float32")
        a_matrix = process.cdist([p[0] for p in o_parts], [p[0] for p in n_parts],
                                 scorer=fuzz.ratio, dtype="float32")
        pairs = ((a, b) for a in range(len(olds)) for b in range(len(news)))
    else:  # too many to compare: only equal answers can match
        by_text: dict[str, list[int]] = defaultdict(list)
        for b, p in enumerate(n_parts):
            by_text[p[0]].append(b)
        q_matrix = a_matrix = None
        pairs = ((a, b) for a, p in enumerate(o_parts) for b in by_text.get(p[0], ()))
    candidates: dict[int, set[int]] = defaultdict(set)
    for a, b in pairs:
        if q_matrix is not None:
            qs, ans = float(q_matrix[a, b]), float(a_matrix[a, b])
        else:
            qs, ans = fuzz.ratio(o_q[a], n_q[b]), 100.0
        if _close(qs, ans, o_parts[a], n_parts[b]):
            candidates[a].add(b)
            scores[a, b] = (qs, ans)
    out = []
    for a, b in _unique_pairs(candidates):
        out.append((olds[a][0], news[b][0], *scores[a, b]))
    return out


def _close(q_score: float, a_score: float, old_parts, new_parts) -> bool:
    o_text, o_images, o_words = old_parts
    n_text, n_images, n_words = new_parts
    if min(o_words, n_words) >= SUBSTANTIAL_ANSWER:
        return (a_score >= SAME_ANSWER and q_score >= REWORDED_QUESTION) or (
            a_score >= CLOSE_ANSWER and q_score >= CLOSE_QUESTION)
    # Short answers say little: they must be the same (same images too), and say something.
    if o_words < 0 or o_text != n_text or o_images != n_images:
        return False
    return q_score >= SHORT_ANSWER_QUESTION
