"""The types a parsed notes file is made of (no Qt): cards, sections, warnings, the result.

`studyapp.notes.parser` reads a notes file into these; see its docstring for the format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

#: The legend the app falls back to when a notes file has none (the bundled file's own legend).
DEFAULT_LEGEND: tuple[tuple[str, str], ...] = (
    ("⭐", "important point"),
    ("🔥", "super important"),
    ("💡", "key concept / tip"),
    ("⚠️", "warning / common mistake"),
    ("🎯", "exam target / question"),
    ("🚀", "advanced topic"),
    ("🚫", "cannot be used / concerning point"),
)

class NotesError(Exception):
    """The input is not a notes file at all (unreadable, binary, empty, or without a question)."""


#: What a warning is about: "lost" a question that is not a card; "read" a card read in a
#: particular way; "open" a card with no answer yet; "image" an image a card cannot show;
#: "ignored" a stray tag or a block that is not a question (no card concerned).
WARNING_KINDS = ("lost", "read", "open", "image", "ignored")


@dataclass(frozen=True)
class ParseWarning:
    line: int  # 1-based line in the file
    message: str  # names the question it affects, if any, and what was done
    kind: str = "read"
    question: str | None = None  # the question concerned

    def to_dict(self) -> dict:
        out = {"line": self.line, "message": self.message, "kind": self.kind}
        if self.question is not None:
            out["question"] = self.question
        return out


@dataclass(frozen=True)
class Card:
    key: str  # stable identity: hash of section key + normalised question
    section: str  # display name of the section the card is in
    section_key: str
    question: str  # markdown, marker removed
    answer: str  # markdown between </summary> and </details>
    line: int  # line of the <details> that opens the card
    ord: int  # position in the file, 0-based
    open_question: bool = False  # answer is only "TODO" (or nothing): a question still open
    open_reason: str = ""  # why it is open: NO_ANSWER or ONLY_TODO; "" when answered
    todo_line: int | None = None  # line of a TODO marker in (or as) the answer
    images: tuple[tuple[int, str], ...] = ()  # (line, source) of each image the answer shows


@dataclass
class Section:
    name: str
    key: str
    line: int
    cards: int = 0


@dataclass
class ParseResult:
    cards: list[Card] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)  # every section, in file order
    warnings: list[ParseWarning] = field(default_factory=list)
    legend: tuple[tuple[str, str], ...] = DEFAULT_LEGEND
    legend_from_file: bool = False
    path: Path | None = None
    bundled: bool = False  # the deck shipped with the app (its book figures are not included)

    @property
    def card_sections(self) -> list[Section]:
        """The sections that hold at least one card, in file order."""
        return [s for s in self.sections if s.cards]

    @property
    def open_questions(self) -> int:
        return sum(1 for c in self.cards if c.open_question)

    @property
    def open_cards(self) -> list[Card]:
        return [c for c in self.cards if c.open_question]

    @property
    def lost(self) -> list[ParseWarning]:
        """Warnings about questions in the file that did not become cards."""
        return [w for w in self.warnings if w.kind == "lost"]

    def to_summary(self) -> dict:
        """The shape `studyapp notes FILE --json` prints."""
        return {
            "cards": len(self.cards),
            "sections": [{"name": s.name, "cards": s.cards} for s in self.card_sections],
            "open_questions": self.open_questions,
            "lost_questions": len(self.lost),
            "warnings": [w.to_dict() for w in self.warnings],
        }
