"""The review database: card schedules and the full review log, in SQLite (no Qt).

One file (`reviews.sqlite3` in the data dir) holds every deck; a deck is a notes file (kept by
path; a newer copy of the same notes opened from elsewhere adopts the deck whose questions it
shares, see `deck_for_notes`). The notes file itself is never written: the schedule lives here.

When a notes file changes, `sync_cards` first matches the new cards to the old ones (moved,
renamed: `studyapp.review.matching`) and hands each matched card its history, in the same
transaction as the rest of the sync; `studyapp.review.history` keeps each card's earlier
questions and splits a wrong match back off (`undo_match`).

Durability: WAL journal with synchronous=FULL, and each grade is one transaction (card row +
review-log row) committed before the caller shows the next card, so killing the process right
after a grade loses nothing.

Safety: `ReviewStore.open` refuses, with a clear `StoreError`, a file that is not a SQLite
database, is corrupt, is read-only, or was written by a newer schema; it never writes to such a
file. `ReviewStore.temporary()` gives an in-memory database (optionally a copy of a read-only
one) so the app can still run; `open_or_temporary` does both, as the app starts.

Full disks: SQLite rolls a transaction back by itself when the disk fills, so the store only
rolls back a transaction that is still open, and reports the disk-full error itself as a
`StoreError` of kind "full" (the file is intact: its history can be copied and reviewed in a
temporary database, like a read-only one).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from studyapp.review import history
from studyapp.review.history import EarlierQuestion, HistoryError  # noqa: F401
from studyapp.review.matching import MatchResult, changes_summary, match_cards
from studyapp.review.scheduler import NEW, CardState, now_ms
from studyapp.review.sqlite_file import (Autocommit, StoreError, copy_with_wal,
                                         wal_without_shm, check_database_file,
                                         disk_full_error, is_disk_full, narrowed)

# 2: cards remember their answer (to recognise a renamed question), card_history.
SCHEMA_VERSION = 2
DB_NAME = "reviews.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decks (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deck_paths (
    path TEXT PRIMARY KEY,
    deck_id INTEGER NOT NULL REFERENCES decks(id),
    last_opened INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cards (
    deck_id INTEGER NOT NULL REFERENCES decks(id),
    key TEXT NOT NULL,
    section TEXT NOT NULL,
    section_key TEXT NOT NULL,
    question TEXT NOT NULL,
    ord INTEGER NOT NULL,
    present INTEGER NOT NULL DEFAULT 1,
    open_question INTEGER NOT NULL DEFAULT 0,
    added INTEGER NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    step INTEGER,
    stability REAL,
    difficulty REAL,
    due INTEGER,
    last_review INTEGER,
    reps INTEGER NOT NULL DEFAULT 0,
    lapses INTEGER NOT NULL DEFAULT 0,
    suspended INTEGER NOT NULL DEFAULT 0,
    buried_until INTEGER NOT NULL DEFAULT 0,
    answer TEXT,
    PRIMARY KEY (deck_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS revlog (
    id INTEGER PRIMARY KEY,
    deck_id INTEGER NOT NULL,
    card_key TEXT NOT NULL,
    ts INTEGER NOT NULL,
    rating INTEGER NOT NULL,
    state_before INTEGER NOT NULL,
    state_after INTEGER NOT NULL,
    interval_before REAL NOT NULL,
    interval_after REAL NOT NULL,
    stability_before REAL,
    stability_after REAL,
    difficulty_before REAL,
    difficulty_after REAL,
    due_before INTEGER,
    due_after INTEGER,
    duration_ms INTEGER
);
DROP INDEX IF EXISTS revlog_deck_ts;
-- Covering index: statistics (per day, retention, time spent) read only the index, never the
-- table rows, whose order on disk is unrelated to time (10x faster on a 100,000-row log).
CREATE INDEX IF NOT EXISTS revlog_deck_stats
    ON revlog (deck_id, ts, state_before, rating, duration_ms);
CREATE INDEX IF NOT EXISTS revlog_card ON revlog (deck_id, card_key, ts);
"""

_STATE_COLS = ("state", "step", "stability", "difficulty", "due", "last_review", "reps",
               "lapses", "suspended", "buried_until")


@dataclass(frozen=True)
class StoredCard:
    key: str
    section: str
    section_key: str
    question: str
    ord: int
    present: bool
    open_question: bool
    added: int
    state: CardState


@dataclass(frozen=True)
class SyncReport:
    added: int  # questions seen for the first time
    kept: int  # questions already known (history kept)
    hidden: int  # questions no longer in the file (history kept, hidden)
    returned: int  # hidden questions that came back
    moved: int = 0  # questions found in another section (history kept)
    renamed: int = 0  # questions reworded (history kept)
    changes: MatchResult | None = None  # what the matcher found, pair by pair

    def summary(self) -> str:
        """The notice after a reload: "3 new cards, 1 renamed, 1 moved; history kept"."""
        return changes_summary(self.added, self.renamed, self.moved, self.hidden, self.returned)


@dataclass(frozen=True)
class DeckInfo:
    id: int
    name: str
    paths: tuple[str, ...]  # most recently opened first


def _state_from_row(row: Sequence) -> CardState:
    (state, step, stability, difficulty, due, last_review, reps, lapses, suspended,
     buried_until) = row
    return CardState(state=state, step=step, stability=stability, difficulty=difficulty, due=due,
                     last_review=last_review, reps=reps, lapses=lapses,
                     suspended=bool(suspended), buried_until=buried_until)


def _state_values(cs: CardState) -> tuple:
    return (cs.state, cs.step, cs.stability, cs.difficulty, cs.due, cs.last_review, cs.reps,
            cs.lapses, int(cs.suspended), cs.buried_until)


class ReviewStore:
    """Card schedules and the review log of every deck."""

    def __init__(self, con, path: Path | None, create: bool = True):
        self.con = con
        self.path = path  # None for a temporary (in-memory) database
        self.read_only = not create
        # For a temporary store standing in for the real file: why (set by open_or_temporary).
        self.problem: StoreError | None = None
        if not create:
            return
        con.execute("PRAGMA foreign_keys=ON")
        with self.con:
            self.con.executescript(_SCHEMA)
            self.con.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)",
                             (str(SCHEMA_VERSION),))
            history.migrate(self.con)
            self.con.execute("UPDATE meta SET value=? WHERE key='schema'", (str(SCHEMA_VERSION),))

    # -- opening ------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path) -> "ReviewStore":
        path = Path(path)
        check_database_file(path, SCHEMA_VERSION)
        con = None
        try:
            con = sqlite3.connect(str(path), timeout=5.0, isolation_level=None)
            con.execute("PRAGMA busy_timeout=5000")
            mode = con.execute("PRAGMA journal_mode=WAL").fetchone()
            if mode and str(mode[0]).lower() != "wal":
                con.execute("PRAGMA journal_mode=DELETE")
            con.execute("PRAGMA synchronous=FULL")
            return cls(Autocommit(con, path), path)
        except (sqlite3.DatabaseError, OSError, StoreError) as exc:
            if con is not None:
                con.close()
            if isinstance(exc, StoreError):
                raise
            if is_disk_full(exc):
                raise disk_full_error(path, exc) from exc
            if isinstance(exc, OSError):
                raise StoreError(f"The review database {path} cannot be opened "
                                 f"({exc.strerror or exc}).", "io") from exc
            raise StoreError(f"The review database {path} cannot be opened ({exc}).",
                             "corrupt" if "malformed" in str(exc) or "not a database" in str(exc)
                             else "io") from exc

    @classmethod
    def open_or_temporary(cls, path: str | Path) -> "ReviewStore":
        """The database at `path`, or, when it cannot be used, a temporary one: a copy of its
        history when the file is intact (read-only, newer, on a full disk), else empty. The
        temporary store's `problem` says why; it is None for the real file."""
        path = Path(path)
        try:
            return cls.open(path)
        except StoreError as exc:
            store = cls.temporary(copy_from=path if exc.history_readable else None)
            store.problem = exc
            return store

    @classmethod
    def open_readonly(cls, path: str | Path) -> "ReviewStore":
        """Open for reading only (statistics); never writes, never creates the file."""
        path = Path(path)
        try:
            try:
                con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                      isolation_level=None)
                con.execute("SELECT COUNT(*) FROM cards").fetchone()
            except sqlite3.OperationalError:
                if not wal_without_shm(path):
                    raise
                con = copy_with_wal(path)  # readable, though SQLite cannot open it in place
            con.execute("SELECT COUNT(*) FROM cards").fetchone()
            con.execute("SELECT COUNT(*) FROM revlog").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"The review database {path} cannot be read ({exc}).",
                             "corrupt") from exc
        return cls(Autocommit(con, path), path, create=False)

    @classmethod
    def open_in(cls, data_dir: str | Path) -> "ReviewStore":
        return cls.open(Path(data_dir) / DB_NAME)

    @classmethod
    def temporary(cls, copy_from: str | Path | None = None) -> "ReviewStore":
        """An in-memory database; with `copy_from`, a copy of that (readable) database."""
        con = sqlite3.connect(":memory:", isolation_level=None)
        if copy_from is not None:
            copy_from = Path(copy_from)
            try:
                try:
                    src = sqlite3.connect(f"{copy_from.resolve().as_uri()}?mode=ro", uri=True)
                    src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                except sqlite3.OperationalError:
                    if not wal_without_shm(copy_from):
                        raise
                    src = copy_with_wal(copy_from)
                try:
                    src.backup(con)
                finally:
                    src.close()
            except (sqlite3.DatabaseError, OSError):
                con.close()
                con = sqlite3.connect(":memory:", isolation_level=None)
        return cls(Autocommit(con), None)

    def close(self) -> None:
        self.con.close()

    # -- decks --------------------------------------------------------------------------------
    def decks(self) -> list[DeckInfo]:
        out = []
        for deck_id, name in self.con.execute("SELECT id, name FROM decks ORDER BY id"):
            paths = tuple(p for (p,) in self.con.execute(
                "SELECT path FROM deck_paths WHERE deck_id=? ORDER BY last_opened DESC",
                (deck_id,)))
            out.append(DeckInfo(deck_id, name, paths))
        return out

    def deck_for_notes(self, path_key: str, name: str, card_keys: Iterable[str],
                       now: int | None = None) -> tuple[int, bool]:
        """The deck of a notes file: (deck_id, adopted).

        A path seen before keeps its deck. A new path adopts an existing deck whose questions
        it mostly shares (the same notes, newer, saved elsewhere); `adopted` says so. Otherwise
        a new deck is made.
        """
        now = now_ms() if now is None else now
        row = self.con.execute("SELECT deck_id FROM deck_paths WHERE path=?",
                               (path_key,)).fetchone()
        adopted = False
        with self.con:
            if row:
                deck_id = row[0]
            else:
                keys = set(card_keys)
                best, best_overlap = None, 0
                for (deck_id_, ) in self.con.execute("SELECT id FROM decks"):
                    known = {k for (k,) in self.con.execute(
                        "SELECT key FROM cards WHERE deck_id=?", (deck_id_,))}
                    overlap = len(keys & known)
                    if overlap > best_overlap:
                        best, best_overlap = deck_id_, overlap
                if best is not None and keys and best_overlap >= max(1, len(keys) // 2):
                    deck_id, adopted = best, True
                else:
                    deck_id = self.con.execute("INSERT INTO decks (name, created) VALUES (?, ?)",
                                               (name, now)).lastrowid
            self.con.execute("INSERT OR REPLACE INTO deck_paths VALUES (?, ?, ?)",
                             (path_key, deck_id, now))
        return deck_id, adopted

    # -- cards --------------------------------------------------------------------------------
    def sync_cards(self, deck_id: int, cards: Sequence, now: int | None = None,
                   match: bool = True) -> SyncReport:
        """Make the deck's cards match a parse: known questions updated (section, wording,
        answer, order); questions moved or reworded matched to their old card, whose history
        they take (`match`); new questions added as new cards; missing ones hidden with their
        history kept. One transaction."""
        now = now_ms() if now is None else now
        with self.con:
            rows = list(self.con.execute(
                "SELECT key, present, section, section_key, question, answer FROM cards "
                "WHERE deck_id=?", (deck_id,)))
            existing = {r[0]: bool(r[1]) for r in rows}
            changes = None
            if match:
                old = [_OldCard(*r[:1], *r[2:]) for r in rows if r[1]]
                changes = match_cards(old, cards, taken=[r[0] for r in rows if not r[1]])
                history.apply_matches(self.con, deck_id, changes.matches, now)
                for m in changes.matches:
                    del existing[m.old_key]
                    existing[m.new_key] = True
            seen = set()
            added = kept = returned = 0
            for c in cards:
                seen.add(c.key)
                answer = getattr(c, "answer", None)
                if c.key in existing:
                    kept += 1
                    if not existing[c.key]:
                        returned += 1
                    self.con.execute(
                        "UPDATE cards SET section=?, section_key=?, question=?, ord=?, present=1, "
                        "open_question=?, answer=? WHERE deck_id=? AND key=?",
                        (c.section, c.section_key, c.question, c.ord, int(c.open_question),
                         answer, deck_id, c.key))
                else:
                    added += 1
                    self.con.execute(
                        "INSERT INTO cards (deck_id, key, section, section_key, question, ord, "
                        "present, open_question, added, answer) VALUES (?, ?, ?, ?, ?, ?, 1, ?, "
                        "?, ?)", (deck_id, c.key, c.section, c.section_key, c.question, c.ord,
                                  int(c.open_question), now, answer))
            gone = [k for k, present in existing.items() if present and k not in seen]
            self.con.executemany("UPDATE cards SET present=0 WHERE deck_id=? AND key=?",
                                 [(deck_id, k) for k in gone])
        n_matched = len(changes.matches) if changes else 0
        return SyncReport(added=added, kept=kept - returned - n_matched, hidden=len(gone),
                          returned=returned, moved=changes.moved if changes else 0,
                          renamed=changes.renamed if changes else 0, changes=changes)

    # -- earlier questions ----------------------------------------------------------------
    def earlier_questions(self, deck_id: int, key: str | None = None
                          ) -> dict[str, list[EarlierQuestion]]:
        """Each card's earlier questions (moves and renames), newest first; only `key`'s when
        given. Browse shows them; the first of a card's list is the one `undo_match` takes."""
        return dict(history.earlier_questions(self.con, deck_id, key))

    def undo_match(self, deck_id: int, history_id: int, now: int | None = None) -> str:
        """Split a wrong match back off: the earlier card returns, hidden, with its schedule
        and its reviews up to the match; the card in the file starts again as new. Returns
        the earlier card's key. Raises HistoryError when it cannot be split (a later match of
        the same card must be undone first, or the earlier question is a card again)."""
        now = now_ms() if now is None else now
        with self.con:
            return history.undo_match(self.con, deck_id, history_id, now)

    def cards(self, deck_id: int, present_only: bool = True,
              hidden_only: bool = False) -> list[StoredCard]:
        """The deck's cards in file order: those in the notes file (default), all, or only the
        hidden ones (questions no longer in the file)."""
        where = " AND present=0" if hidden_only else " AND present=1" if present_only else ""
        sql = ("SELECT key, section, section_key, question, ord, present, open_question, added, "
               + ", ".join(_STATE_COLS) + " FROM cards WHERE deck_id=?" + where + " ORDER BY ord")
        return [StoredCard(r[0], r[1], r[2], r[3], r[4], bool(r[5]), bool(r[6]), r[7],
                           _state_from_row(r[8:])) for r in self.con.execute(sql, (deck_id,))]

    def states(self, deck_id: int) -> dict[str, CardState]:
        sql = "SELECT key, " + ", ".join(_STATE_COLS) + " FROM cards WHERE deck_id=?"
        return {r[0]: _state_from_row(r[1:]) for r in self.con.execute(sql, (deck_id,))}

    def set_state(self, deck_id: int, key: str, cs: CardState) -> None:
        """Store a state change that is not a grade (bury, suspend, forget), in one transaction."""
        with self.con:
            self._write_state(deck_id, key, cs)

    def _write_state(self, deck_id: int, key: str, cs: CardState) -> None:
        cur = self.con.execute(
            "UPDATE cards SET " + ", ".join(f"{c}=?" for c in _STATE_COLS)
            + " WHERE deck_id=? AND key=?", (*_state_values(cs), deck_id, key))
        if cur.rowcount != 1:
            raise KeyError(key)

    # -- grades -------------------------------------------------------------------------------
    def record_grade(self, deck_id: int, key: str, before: CardState, after: CardState,
                     rating: int, ts: int, duration_ms: int | None) -> int:
        """One grade as one transaction: the card's new state and its review-log row.
        Returns the log row id (for undo). Committed (durable) when this returns."""
        with self.con:
            self._write_state(deck_id, key, after)
            cur = self.con.execute(
                "INSERT INTO revlog (deck_id, card_key, ts, rating, state_before, state_after, "
                "interval_before, interval_after, stability_before, stability_after, "
                "difficulty_before, difficulty_after, due_before, due_after, duration_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (deck_id, key, ts, rating, before.state, after.state, before.interval_days,
                 after.interval_days, before.stability, after.stability, before.difficulty,
                 after.difficulty, before.due, after.due, duration_ms))
            return int(cur.lastrowid)

    def undo_grade(self, deck_id: int, key: str, before: CardState, log_id: int) -> None:
        """Undo a grade: restore the card's previous state and drop its log row, atomically."""
        with self.con:
            self._write_state(deck_id, key, before)
            self.con.execute("DELETE FROM revlog WHERE id=? AND deck_id=?", (log_id, deck_id))

    def new_cards_introduced(self, deck_id: int, since_ms: int) -> int:
        return self.con.execute(
            "SELECT COUNT(*) FROM revlog WHERE deck_id=? AND ts>=? AND state_before=?",
            (deck_id, since_ms, NEW)).fetchone()[0]

    def review_log(self, deck_id: int, key: str | None = None) -> list[tuple]:
        """(ts, card_key, rating, state_before, state_after, interval_before, interval_after,
        duration_ms) rows, oldest first."""
        sql, args = narrowed("SELECT ts, card_key, rating, state_before, state_after, "
                             "interval_before, interval_after, duration_ms FROM revlog "
                             "WHERE deck_id=?", (deck_id,), "card_key", key)
        return list(self.con.execute(sql + " ORDER BY ts, id", args))


@dataclass(frozen=True)
class _OldCard:
    key: str
    section: str
    section_key: str
    question: str
    answer: str | None  # None: stored before answers were kept
