"""Byte-pair encoding, traced step by step (chapter 2, section 2.5: how BPE handles unknown words).

tiktoken does the real encoding in Rust and keeps its intermediate steps to itself. This module
redoes the same procedure in plain Python over the vocabulary's ranks so a learner can watch it:

1. the text is cut into pieces by GPT-2's pre-tokenizer pattern (words with their leading space,
   numbers, punctuation runs, whitespace); `<|endoftext|>` is cut out first as a special token;
2. each piece starts as its UTF-8 bytes, one part per byte;
3. repeatedly, of all neighbouring pairs whose concatenation is in the vocabulary, the one with the
   lowest rank (the earliest merge learned) is merged, leftmost first on ties;
4. when no pair can merge, the parts are the tokens, and each part's rank is its token ID.

"Akwirw ier" -> pieces "Akwirw", " ier" -> Ak|w|ir|w and " "|ier = [33901, 86, 343, 86, 220, 959].
Tests check the trace against tiktoken on a whole book.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

import regex

from model.tokenizer import ENDOFTEXT, ENDOFTEXT_ID, get_tokenizer


@dataclass(frozen=True)
class MergeStep:
    """The parts of a piece after one merge (or the starting bytes, when `pair` is None)."""

    parts: tuple[bytes, ...]
    pair: tuple[bytes, bytes] | None = None  # the two parts that were joined
    rank: int | None = None  # the joined part's rank, which is its token ID
    position: int = -1  # where the joined part sits in `parts`


@dataclass
class PieceTrace:
    """One pre-tokenized piece of the text and the merges that turned it into tokens."""

    text: str
    start: int  # character offsets of the piece in the traced text
    end: int
    steps: list[MergeStep] = field(default_factory=list)
    special: bool = False

    @property
    def tokens(self) -> tuple[bytes, ...]:
        return self.steps[-1].parts if self.steps else ()

    @property
    def ids(self) -> list[int]:
        if self.special:
            return [ENDOFTEXT_ID]
        ranks = _ranks()
        return [ranks[part] for part in self.tokens]

    @property
    def merges(self) -> list[MergeStep]:
        return [step for step in self.steps if step.pair is not None]


@lru_cache(maxsize=1)
def _ranks() -> Mapping[bytes, int]:
    return get_tokenizer()._mergeable_ranks


@lru_cache(maxsize=1)
def _pattern():
    return regex.compile(get_tokenizer()._pat_str)


_SPECIAL = regex.compile(regex.escape(ENDOFTEXT))


def merge_steps(piece: bytes, ranks: Mapping[bytes, int] | None = None) -> list[MergeStep]:
    """BPE on one piece's bytes, keeping every intermediate state.

    The first step holds the single bytes; each later step records the pair joined. Every single
    byte is in GPT-2's vocabulary, so the result always consists of known tokens.
    """
    ranks = _ranks() if ranks is None else ranks
    parts = [bytes([b]) for b in piece]
    steps = [MergeStep(tuple(parts))]
    while len(parts) > 1:
        best_rank, best_i = None, -1
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and (best_rank is None or rank < best_rank):
                best_rank, best_i = rank, i
        if best_rank is None:
            break
        pair = (parts[best_i], parts[best_i + 1])
        parts[best_i:best_i + 2] = [pair[0] + pair[1]]
        steps.append(MergeStep(tuple(parts), pair, best_rank, best_i))
    return steps


def split_pieces(text: str) -> list[tuple[int, int, str, bool]]:
    """GPT-2's pre-tokenization: (start, end, piece, is_special) in character offsets."""
    pieces: list[tuple[int, int, str, bool]] = []
    pattern = _pattern()
    cursor = 0
    for special in list(_SPECIAL.finditer(text)) + [None]:
        stop = special.start() if special is not None else len(text)
        for match in pattern.finditer(text, cursor, stop):
            pieces.append((match.start(), match.end(), match.group(), False))
        if special is not None:
            pieces.append((special.start(), special.end(), special.group(), True))
            cursor = special.end()
    return pieces


def trace_piece(start: int, end: int, piece: str, special: bool = False) -> PieceTrace:
    if special:
        return PieceTrace(piece, start, end, [MergeStep((piece.encode("utf-8"),))], True)
    return PieceTrace(piece, start, end, merge_steps(piece.encode("utf-8")))


def trace_text(text: str) -> list[PieceTrace]:
    """Every piece of `text` with its merge steps; the pieces' ids concatenated equal encode()."""
    return [trace_piece(*piece) for piece in split_pieces(text)]


def trace_ids(traces: list[PieceTrace]) -> list[int]:
    return [token_id for trace in traces for token_id in trace.ids]


def piece_at(text: str, char_index: int) -> PieceTrace | None:
    """The traced piece covering a character of `text` (for "click a word, see its merges")."""
    for start, end, piece, special in split_pieces(text):
        if start <= char_index < end:
            return trace_piece(start, end, piece, special)
    return None


_LETTER_END = regex.compile(r"(?<=\p{L})(?=\P{L})")


def piece_near(text: str, char_index: int, window: int = 2000) -> PieceTrace | None:
    """Like `piece_at`, but splits only a stretch of text around the character (for megabytes).

    The stretch starts and ends where a run of letters ends: a GPT-2 piece always ends there
    (letter runs match possessively), so the pieces inside the stretch are the text's own.
    """
    if len(text) <= 2 * window:
        return piece_at(text, char_index)
    lo = max(0, char_index - window)
    if lo > 0:
        m = _LETTER_END.search(text, lo, char_index + 1)
        lo = m.end() if m else lo
    hi = min(len(text), char_index + window)
    if hi < len(text):
        m = _LETTER_END.search(text, char_index + 1, hi)
        hi = m.end() if m else hi
    found = piece_at(text[lo:hi], char_index - lo)
    if found is None:
        return None
    return PieceTrace(found.text, found.start + lo, found.end + lo, found.steps, found.special)
