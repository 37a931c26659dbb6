"""The Flashcards area's logic without Qt: the Browse table's rows, the review options'
defaults, which notes to open at start, and what opening or reloading notes changed, in words.

The notes themselves are parsed by `studyapp.notes` and scheduled by `studyapp.review`; this
module only turns their results into what the area shows.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from pathlib import Path

from studyapp.review.deck import bundled_notes_path
from studyapp.review.scheduler import (DAY_MS, LEARNING, NEW, RELEARNING, STATE_NAMES,
                                       Scheduler, day_index, format_interval)

DEFAULT_NEW_PER_DAY = 20
DEFAULT_RETENTION = 0.9
ASYNC_PARSE_BYTES = 256 * 1024  # bigger notes files (~1,000+ cards) are parsed on a worker


@dataclass
class BrowseRow:
    key: str
    question: str
    section: str
    state: str  # new / learning / review / relearning
    due_text: str
    due_sort: float  # ms; new cards sort after everything by file order
    interval_text: str
    interval_days: float
    reps: int
    lapses: int
    suspended: bool
    buried: bool
    due_today: bool
    open_question: bool
    present: bool
    search_text: str  # lower-cased question + answer



def browse_rows(session, store, deck_id: int, now: int) -> list[BrowseRow]:
    """Every card of the deck, then those no longer in the notes (their history is kept)."""
    today = day_index(now)
    stored = {c.key: c for c in store.cards(deck_id, hidden_only=True)}
    rows = []
    for key in session.order:
        card = session.cards[key]
        rows.append(browse_row(key, card.question, card.section, card.answer,
                               card.open_question, True, session.states[key], now, today,
                               card.ord))
    for key, sc in stored.items():
        if key not in session.cards:
            rows.append(browse_row(key, sc.question, sc.section, "", sc.open_question,
                                   False, sc.state, now, today, sc.ord))
    return rows


def browse_row(key, question, section, answer, open_q, present, cs, now, today,
               ord_) -> BrowseRow:
    """One row of the Browse table: a card's state, when it is due and its history."""
    state = STATE_NAMES[cs.state]
    if cs.state == NEW:
        due_text, due_sort, due_today = f"new #{ord_ + 1}", 1e15 + ord_, False
    else:
        due = cs.due or now
        due_day = day_index(due)
        if cs.state in (LEARNING, RELEARNING):
            due_today = due_day <= today
            due_text = ("now" if due <= now else f"in {format_interval(due - now)}")
        else:
            due_today = due_day <= today
            delta = due_day - today
            due_text = ("today" if delta == 0 else "tomorrow" if delta == 1 else
                        f"{-delta} days overdue" if delta < 0 else f"in {delta} days")
        due_sort = float(due)
    interval = cs.interval_days
    return BrowseRow(
        key=key, question=question, section=section, state=state, due_text=due_text,
        due_sort=due_sort,
        interval_text="" if cs.state == NEW else format_interval(interval * DAY_MS),
        interval_days=interval, reps=cs.reps, lapses=cs.lapses, suspended=cs.suspended,
        buried=cs.buried_until > today, due_today=due_today and not cs.suspended,
        open_question=open_q, present=present,
        search_text=f"{question}\n{answer}".casefold())


def file_digest(path: Path) -> bytes:
    """What the file holds, to tell a real change from a touch (b"" when unreadable)."""
    try:
        return hashlib.sha1(path.read_bytes()).digest()
    except OSError:
        return b""


def reload_summary(opened, cards_before: int) -> str:
    """The banner after a reload: the card count, and what changed when something did."""
    s = opened.sync
    parts = [f"Notes reloaded: {len(opened.parse.cards)} cards"]
    if s.added:
        parts.append(f"{s.added} new")
    if s.hidden:
        parts.append(f"{s.hidden} no longer in the file (history kept)")
    if s.returned:
        parts.append(f"{s.returned} back with their history")
    if opened.parse.warnings:
        parts.append(f"<a href='warnings'>{len(opened.parse.warnings)} warnings</a>")
    changed = (len(opened.parse.cards) != cards_before or s.added or s.hidden
               or opened.parse.warnings)
    return ", ".join(parts) + "." if changed else parts[0] + "."


def is_bundled(path: Path) -> bool:
    """Whether `path` is the notes deck the app ships."""
    try:
        return Path(path).resolve() == bundled_notes_path().resolve()
    except OSError:
        return False


def initial_notes_path(notes_path, last_opened: str) -> Path:
    """The notes to open at start: the app's notes, unless they are the bundled deck and the
    learner opened notes of their own last time (and those are still there)."""
    path = Path(notes_path)
    if is_bundled(path) and last_opened and Path(last_opened).is_file():
        return Path(last_opened)
    return path


def opened_summary(opened) -> str:
    """The banner after a deck was opened: what carried over from earlier studies."""
    notes = []
    if opened.adopted:
        notes.append("These notes share their questions with a deck you studied before: "
                     "its history carries over.")
    if opened.sync.hidden:
        notes.append(f"{opened.sync.hidden} question(s) no longer in the file: their "
                     "history is kept, hidden, and comes back with them.")
    return " ".join(notes)


def make_scheduler(desired_retention) -> Scheduler:
    """FSRS at the learner's desired retention; a value it refuses falls back to the default."""
    try:
        return Scheduler(desired_retention=float(desired_retention))
    except ValueError:
        return Scheduler(desired_retention=DEFAULT_RETENTION)


def legend_html(legend) -> str:
    """The notes' emoji legend, one "mark meaning" per line (the deck label's tooltip)."""
    return "<br>".join(f"{html.escape(m)} {html.escape(t)}" for m, t in legend)
