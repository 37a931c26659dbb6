"""A card's earlier questions in the review database: matches applied and undone (no Qt).

When the matcher (`studyapp.review.matching`) finds that a new card is an old one moved or
renamed, the old card's row, its review log and its earlier questions pass to the new key, and
a `card_history` row remembers what the card was before: its key, question, section, answer and
schedule at that moment, and the last review that belonged to it. Undoing the match splits that
history back off: the old card returns (hidden, as a question no longer in the file) with its
schedule and reviews, and the new card starts fresh, keeping only the reviews made since.

Every function here runs inside the caller's transaction (`with store.con:`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from studyapp.review.scheduler import CardState
from studyapp.review.sqlite_file import narrowed

_STATE_COLS = ("state", "step", "stability", "difficulty", "due", "last_review", "reps",
               "lapses", "suspended", "buried_until")

HISTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS card_history (
    id INTEGER PRIMARY KEY,
    deck_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    old_key TEXT NOT NULL,
    how TEXT NOT NULL,
    ts INTEGER NOT NULL,
    revlog_upto INTEGER NOT NULL,
    old_question TEXT NOT NULL,
    old_section TEXT NOT NULL,
    old_section_key TEXT NOT NULL,
    old_answer TEXT,
    old_ord INTEGER NOT NULL,
    old_open_question INTEGER NOT NULL,
    old_added INTEGER NOT NULL,
    """ + ",\n    ".join(f"old_{c} {t}" for c, t in zip(_STATE_COLS, (
    "INTEGER NOT NULL", "INTEGER", "REAL", "REAL", "INTEGER", "INTEGER", "INTEGER NOT NULL",
    "INTEGER NOT NULL", "INTEGER NOT NULL", "INTEGER NOT NULL"))) + """,
    undone INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS card_history_key ON card_history (deck_id, key)
"""


class HistoryError(Exception):
    """A match cannot be undone (a later one must go first, or the old card exists again)."""


@dataclass(frozen=True)
class EarlierQuestion:
    id: int  # pass to ReviewStore.undo_match
    key: str  # the card it belongs to now
    old_key: str
    old_question: str
    old_section: str
    how: str  # "moved" or "renamed"
    ts: int  # when the match was made (epoch ms)
    undoable: bool  # the card's latest match (undo the later ones first)


def migrate(con) -> None:
    """Bring a schema-1 database up to this one: answers on cards, the history table."""
    columns = {row[1] for row in con.execute("PRAGMA table_info(cards)")}
    if "answer" not in columns:
        con.execute("ALTER TABLE cards ADD COLUMN answer TEXT")  # NULL: not known yet
    for statement in HISTORY_SCHEMA.split(";"):
        if statement.strip():
            con.execute(statement)


def apply_matches(con, deck_id: int, matches: Sequence, now: int) -> None:
    """Give each matched new key the old card's row, reviews and earlier questions."""
    if not matches:
        return
    upto = con.execute("SELECT COALESCE(MAX(id), 0) FROM revlog").fetchone()[0]
    cols = ", ".join(_STATE_COLS)
    for m in matches:
        row = con.execute(
            f"SELECT question, section, section_key, answer, ord, open_question, added, {cols} "
            "FROM cards WHERE deck_id=? AND key=?", (deck_id, m.old_key)).fetchone()
        if row is None:
            raise KeyError(m.old_key)
        con.execute("UPDATE card_history SET key=? WHERE deck_id=? AND key=? AND undone=0",
                    (m.new_key, deck_id, m.old_key))
        con.execute(
            "INSERT INTO card_history (deck_id, key, old_key, how, ts, revlog_upto, "
            "old_question, old_section, old_section_key, old_answer, old_ord, old_open_question, "
            f"old_added, {', '.join('old_' + c for c in _STATE_COLS)}) VALUES "
            f"({', '.join('?' * (13 + len(_STATE_COLS)))})",
            (deck_id, m.new_key, m.old_key, m.how, now, upto, *row))
        con.execute("UPDATE cards SET key=? WHERE deck_id=? AND key=?",
                    (m.new_key, deck_id, m.old_key))
        con.execute("UPDATE revlog SET card_key=? WHERE deck_id=? AND card_key=?",
                    (m.new_key, deck_id, m.old_key))


def earlier_questions(con, deck_id: int, key: str | None = None
                      ) -> Mapping[str, list[EarlierQuestion]]:
    """Each card's earlier questions, newest first (only `key`'s when given)."""
    if not con.execute("SELECT 1 FROM sqlite_master WHERE name='card_history'").fetchone():
        return {}  # a read-only database from before card history existed
    sql, args = narrowed("SELECT id, key, old_key, old_question, old_section, how, ts FROM "
                         "card_history WHERE deck_id=? AND undone=0", (deck_id,), "key", key)
    out: dict[str, list[EarlierQuestion]] = {}
    for row in con.execute(sql + " ORDER BY id DESC", args):
        entries = out.setdefault(row[1], [])
        entries.append(EarlierQuestion(*row, undoable=not entries))
    return out


def undo_match(con, deck_id: int, history_id: int, now: int) -> str:
    """Split a match back off; returns the old card's key (now a hidden card again)."""
    cols = ", ".join("old_" + c for c in _STATE_COLS)
    row = con.execute(
        "SELECT key, old_key, ts, revlog_upto, old_question, old_section, old_section_key, "
        f"old_answer, old_ord, old_open_question, old_added, {cols} FROM card_history "
        "WHERE id=? AND deck_id=? AND undone=0", (history_id, deck_id)).fetchone()
    if row is None:
        raise HistoryError("That match is not in the history (already undone?).")
    key, old_key, ts, upto = row[:4]
    latest = con.execute("SELECT MAX(id) FROM card_history WHERE deck_id=? AND key=? AND "
                         "undone=0", (deck_id, key)).fetchone()[0]
    if latest != history_id:
        raise HistoryError("This card changed again since; undo its latest change first.")
    if con.execute("SELECT 1 FROM cards WHERE deck_id=? AND key=?",
                   (deck_id, old_key)).fetchone():
        raise HistoryError("The earlier question is a card of its own again, so the two "
                           "histories cannot be split.")
    question, section, section_key, answer, ord_, open_q, added = row[4:11]
    con.execute(
        "INSERT INTO cards (deck_id, key, section, section_key, question, ord, present, "
        f"open_question, added, answer, {', '.join(_STATE_COLS)}) VALUES "
        f"({', '.join('?' * (10 + len(_STATE_COLS)))})",
        (deck_id, old_key, section, section_key, question, ord_, 0, open_q, added, answer,
         *row[11:]))
    con.execute("UPDATE revlog SET card_key=? WHERE deck_id=? AND card_key=? AND id<=? AND ts<=?",
                (old_key, deck_id, key, upto, ts))
    con.execute("UPDATE card_history SET key=? WHERE deck_id=? AND key=? AND undone=0 AND id<?",
                (old_key, deck_id, key, history_id))
    fresh = CardState()
    con.execute(
        "UPDATE cards SET " + ", ".join(f"{c}=?" for c in _STATE_COLS) + ", added=? "
        "WHERE deck_id=? AND key=?",
        (fresh.state, fresh.step, fresh.stability, fresh.difficulty, fresh.due,
         fresh.last_review, fresh.reps, fresh.lapses, int(fresh.suspended), fresh.buried_until,
         now, deck_id, key))
    con.execute("UPDATE card_history SET undone=1 WHERE id=?", (history_id,))
    return old_key
