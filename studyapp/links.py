"""Which lab a flashcard opens (no Qt): the card-to-lab map in resources/links.json.

A card is matched by its question first (normalised: case, spacing and punctuation ignored), then
by the first keyword rule whose words all occur in its question, then in its answer. New cards are
linked by editing the data file, not the code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable


@dataclass(frozen=True)
class Link:
    area: str  # an area key, see studyapp.areas
    state: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    label: str = ""


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[\W_]+", " ", text.lower()).split())


class LinkMap:
    def __init__(self, data: dict[str, Any]):
        self._by_question = {normalise(q): self._link(v) for q, v in data.get("questions", {}).items()}
        self._keywords = [([w.lower() for w in rule["words"]], self._link(rule))
                          for rule in data.get("keywords", [])]

    @staticmethod
    def _link(entry: dict[str, Any]) -> Link:
        return Link(area=entry["area"], state=dict(entry.get("state", {})),
                    label=entry.get("label", ""))

    @classmethod
    def from_file(cls, path: Path) -> "LinkMap":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    def link_for(self, question: str, answer: str = "") -> Link | None:
        exact = self._by_question.get(normalise(question))
        if exact is not None:
            return exact
        for text in (question.lower(), answer.lower()):
            for words, link in self._keywords:
                if all(word in text for word in words):
                    return link
        return None

    def cards_for_area(self, cards: Iterable[Any], area: str) -> list[Any]:
        """Cards (anything with .question and .answer) whose link opens `area`."""
        related = []
        for card in cards:
            link = self.link_for(card.question, getattr(card, "answer", ""))
            if link is not None and link.area == area:
                related.append(card)
        return related


@lru_cache(maxsize=1)
def bundled_links() -> LinkMap:
    from model.resources import resource_path

    return LinkMap.from_file(resource_path("links.json"))
