"""The Flashcards area's logic without Qt: the Browse table's rows, the review options'
defaults, which notes to open at start (and where the Open dialog starts), what opening or
reloading notes changed, why the review database is not the real file, in words, and the
command that opens a card in the learner's editor.

The notes themselves are parsed by `studyapp.notes` and scheduled by `studyapp.review`; this
module only turns their results into what the area shows.
"""

from __future__ import annotations

import hashlib
import html
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from studyapp.notes.parser import NotesError, read_notes_file
from studyapp.review.deck import bundled_notes_path
from studyapp.review.history import EarlierQuestion
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
    search_text: str  # lower-cased question + answer (+ earlier questions)
    earlier: tuple[EarlierQuestion, ...] = field(default=())  # newest first



def browse_rows(session, store, deck_id: int, now: int) -> list[BrowseRow]:
    """Every card of the deck, then those no longer in the notes (their history is kept)."""
    today = day_index(now)
    stored = {c.key: c for c in store.cards(deck_id, hidden_only=True)}
    earlier: Mapping[str, list[EarlierQuestion]] = store.earlier_questions(deck_id)
    rows = []
    for key in session.order:
        card = session.cards[key]
        rows.append(browse_row(key, card.question, card.section, card.answer,
                               card.open_question, True, session.states[key], now, today,
                               card.ord, earlier.get(key, ())))
    for key, sc in stored.items():
        if key not in session.cards:
            rows.append(browse_row(key, sc.question, sc.section, "", sc.open_question,
                                   False, sc.state, now, today, sc.ord, earlier.get(key, ())))
    return rows


def browse_row(key, question, section, answer, open_q, present, cs, now, today,
               ord_, earlier=()) -> BrowseRow:
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
        search_text="\n".join([question, answer, *(e.old_question for e in earlier)]).casefold(),
        earlier=tuple(earlier))


def file_digest(path: Path) -> bytes:
    """What the file holds, to tell a real change from a touch (b"" when unreadable)."""
    # Read as the parser reads it: a pipe or device put in the file's place must not block.
    try:
        return hashlib.sha1(read_notes_file(path)).digest()
    except NotesError:
        return b""


def reload_summary(opened) -> str:
    """The notice after a reload: the card count and what the matcher did with the cards
    ("3 new cards, 1 renamed, 1 moved; history kept"), with a link to the warnings."""
    n = len(opened.parse.cards)
    text = f"Notes reloaded: {n} card{'s' if n != 1 else ''}. {opened.sync.summary()}."
    warnings = len(opened.parse.warnings)
    if warnings:
        text += (f" <a href='warnings'>{warnings} warning{'s' if warnings != 1 else ''}"
                 "</a>")
    return text


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


def open_dialog_folder(deck_path: Path | None, last_opened: str) -> Path:
    """Where File > Open notes... starts: the open deck's folder when it is the learner's own
    file, else the folder of the notes opened last, else the home folder (never inside the
    app's installed resources)."""
    if deck_path is not None and not is_bundled(deck_path):
        return Path(deck_path).resolve().parent
    if last_opened and Path(last_opened).parent.is_dir() and not is_bundled(Path(last_opened)):
        return Path(last_opened).parent
    return Path.home()


def store_problem_text(exc) -> str:
    """The banner for a review database that could not be used (a StoreError): the real
    error, and where grades go now."""
    if exc.kind == "full":
        return (f"The disk is full: {exc}\nYour history is shown from a temporary copy; grades "
                "made now are kept there and are lost when you quit. Free some space and "
                "restart the app to save them again.")
    what = "Your history is shown, but grades" if exc.history_readable else "Grades"
    return (f"Review history unavailable: {exc}\n{what} made now are kept in a temporary "
            "database and are lost when you quit. The file itself was not changed.")


def editor_command(path: Path, line: int, environ: Mapping[str, str]) -> list[str] | None:
    """The learner's editor ($VISUAL, else $EDITOR) opening `path` at `line` (`+LINE`, which
    vi, Emacs, nano, gedit and Kate understand); None when neither is set."""
    for name in ("VISUAL", "EDITOR"):
        value = (environ.get(name) or "").strip()
        if value:
            try:
                words = shlex.split(value)
            except ValueError:
                words = value.split()
            if words:
                return [*words, f"+{max(1, int(line))}", str(path)]
    return None


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
