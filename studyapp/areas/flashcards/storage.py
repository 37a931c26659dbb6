"""Flashcards: the review database the area writes to (no Qt).

`Storage` opens the database in the data folder, or, when it cannot be used (damaged,
read-only, newer, on a full disk), a temporary in-memory one, a copy of its history where the
file is intact; `problem` then says why. A disk that fills up later, under a grade or while a
deck is attached, moves the review to a temporary copy the same way (the file keeps every grade
made before). It also undoes a wrong match of the notes reload (a card's earlier question split
back off).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from studyapp.review.deck import OpenedDeck, attach_deck
from studyapp.review.history import HistoryError
from studyapp.review.store import ReviewStore, StoreError


class Storage:
    """The area's `ReviewStore`, replaced by a temporary copy when the disk is full."""

    def __init__(self, path: Path):
        self.store = ReviewStore.open_or_temporary(path)

    @property
    def problem(self) -> StoreError | None:
        """Why the store is a temporary one (None: it is the file)."""
        return self.store.problem

    def switch_on_full(self, exc: StoreError, session=None) -> bool:
        """After a write failed on a full disk: go on in a temporary copy of the database, and
        the review `session` with it. False when there is nothing to switch to (not a full
        disk, or the store is temporary already)."""
        path = self.store.path
        if path is None or exc.kind != "full":
            return False
        old, self.store = self.store, ReviewStore.temporary(copy_from=path)
        self.store.problem = exc
        if session is not None:
            session.store = self.store
        try:
            old.close()
        except sqlite3.Error:
            pass
        return True

    def attach(self, path: Path, parse, now: int, on_full=None) -> OpenedDeck:
        """`attach_deck` on the current store; on a full disk, `on_full(exc)` (which switches,
        True) and once more on the temporary copy."""
        try:
            return attach_deck(self.store, path, parse, now)
        except StoreError as exc:
            if on_full is None or not on_full(exc):
                raise
        return attach_deck(self.store, path, parse, now)

    def split_match(self, deck_id: int, history_id: int, now: int) -> str | None:
        """Undo the match `history_id`; None when done, else why not (plain text)."""
        try:
            self.store.undo_match(deck_id, history_id, now)
        except (HistoryError, StoreError, sqlite3.Error) as exc:
            return str(exc)
        return None

    def close(self) -> None:
        try:
            self.store.close()
        except sqlite3.Error:
            pass
