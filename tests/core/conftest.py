"""Fixtures for the Qt-free flashcard core: a fake clock, a fixed time zone, a store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

TZ = timezone(timedelta(hours=2))  # a fixed zone so the 4 AM day boundary is testable anywhere
ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "resources" / "notes" / "llm-from-scratch-notes.md"


def ms(year, month, day, hour=0, minute=0, tz=TZ) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=tz).timestamp() * 1000)


class Clock:
    def __init__(self, start: int):
        self.t = start

    def __call__(self) -> int:
        return self.t

    def advance(self, minutes: float = 0, days: float = 0) -> None:
        self.t += int(minutes * 60_000 + days * 86_400_000)


@pytest.fixture
def clock():
    return Clock(ms(2025, 3, 10, 10, 0))


@pytest.fixture
def store(tmp_path):
    from studyapp.review.store import ReviewStore

    s = ReviewStore.open_in(tmp_path)
    yield s
    s.close()


@pytest.fixture
def bundled_text() -> str:
    return BUNDLED.read_text(encoding="utf-8")


def make_notes(sections: dict[str, list[str]], answer: str = "- an answer") -> str:
    """A notes file with the given sections and questions."""
    out = []
    for name, questions in sections.items():
        out.append(f"# {name}\n")
        for q in questions:
            out.append(f"<details>\n<summary>🎯Q. {q}</summary>\n\n{answer}\n</details>\n")
    return "\n".join(out)


@pytest.fixture(name="make_notes")
def _make_notes_fixture():
    return make_notes


@pytest.fixture(name="at")
def _at_fixture():
    """at(2025, 3, 10, 9, 30) -> epoch ms in the test zone."""
    return ms
