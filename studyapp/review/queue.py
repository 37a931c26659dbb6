"""The review session: which card comes next, grading, undo, bury, suspend, cram (no Qt).

The order is Anki's: learning cards that are due now, then the reviews due today, then new cards
in file order up to the daily new-card limit. When nothing else is left, learning cards due within
the next 20 minutes are shown early (Anki's "learn ahead" limit). A review day starts at 4 AM
local time. A section filter restricts all of this to some sections; shuffle mixes reviews and
new cards; cram mode ("study all") goes through every card of the filter without touching the
schedule or the log.

Each grade is written to the store (one transaction) before `grade()` returns, so the next card
is only shown once the previous grade is durable. Undo restores the previous state and removes
the log row, several levels deep (bury and suspend are undoable too).

The session keeps the deck's states in memory and updates its queues incrementally, so grading
and picking the next card costs the same on a 10,000-card deck as on a small one.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, replace
from datetime import tzinfo
from typing import Callable, Sequence

from studyapp.notes.parser import Card
from studyapp.review.scheduler import (
    AGAIN, LEARNING, NEW, RELEARNING, REVIEW, ROLLOVER_HOUR, CardState, Scheduler, day_index,
    day_start_ms, now_ms)
from studyapp.review.store import ReviewStore

LEARN_AHEAD_MS = 20 * 60_000
MAX_ANSWER_MS = 60 * 60_000  # a card left open over lunch does not count as an hour of study


@dataclass(frozen=True)
class Counts:
    new: int
    learning: int
    review: int
    cram: int = 0  # cards left in a cram session

    @property
    def total(self) -> int:
        return self.new + self.learning + self.review + self.cram


@dataclass(frozen=True)
class _Undo:
    kind: str  # "grade", "bury", "suspend", "cram"
    key: str
    before: CardState
    log_id: int | None = None
    cram_index: int | None = None


class ReviewSession:
    """Queue and grading for one deck. `clock` returns epoch ms (injectable for tests)."""

    def __init__(self, store: ReviewStore, deck_id: int, cards: Sequence[Card],
                 scheduler: Scheduler | None = None, new_per_day: int = 20,
                 clock: Callable[[], int] = now_ms, tz: tzinfo | None = None,
                 rollover: int = ROLLOVER_HOUR, read_only: bool = False):
        self.store = store
        self.deck_id = deck_id
        self.scheduler = scheduler or Scheduler()
        self.new_per_day = max(0, int(new_per_day))
        self.clock = clock
        self.tz = tz
        self.rollover = rollover
        self.read_only = read_only  # cram-like: nothing written (used when no store is usable)
        self.cards: dict[str, Card] = {}
        self.order: list[str] = []
        self.states: dict[str, CardState] = {}
        self.sections: set[str] | None = None  # filter by section name; None = all
        self.keys: set[str] | None = None  # filter by card (e.g. a lab's related cards)
        self.cram = False
        self.shuffle = False
        self._seed = 0
        self._undo: list[_Undo] = []
        self._day = -1
        self._learning: list[tuple[int, int, str]] = []  # (due, ord, key), sorted
        self._reviews: list[str] = []
        self._new: list[str] = []
        self._new_done_today = 0
        self._cram_queue: list[str] = []
        self.current: str | None = None
        self._front: str | None = None  # a card brought back by undo: shown next
        self.set_cards(cards)

    # -- setup --------------------------------------------------------------------------------
    def set_cards(self, cards: Sequence[Card], renamed: dict[str, str] | None = None) -> None:
        """(Re)load the deck's cards (after a notes reload) and their stored states.
        `renamed`: old key -> new key of the cards the reload matched (moved or reworded): the
        current card, the one undo brings back and the undo list follow them."""
        if renamed:
            self._undo = [replace(u, key=renamed.get(u.key, u.key)) for u in self._undo]
            self.current = renamed.get(self.current, self.current)
            self._front = renamed.get(self._front, self._front)
            self._cram_queue = [renamed.get(k, k) for k in self._cram_queue]
        self.cards = {c.key: c for c in cards}
        self.order = [c.key for c in cards]
        self.states = self.store.states(self.deck_id)
        for key in self.order:
            self.states.setdefault(key, CardState())
        self._undo = [u for u in self._undo if u.key in self.cards]
        if self.current not in self.cards:
            self.current = None
        self.refresh()

    def set_filter(self, sections: set[str] | None = None, keys: set[str] | None = None) -> None:
        """Only these sections and/or these cards (None: no restriction)."""
        self.sections = set(sections) if sections else None
        self.keys = set(keys) if keys is not None else None
        self.current = None
        self.refresh()

    def _in_filter(self, key: str) -> bool:
        return ((self.sections is None or self.cards[key].section in self.sections)
                and (self.keys is None or key in self.keys))

    def set_cram(self, on: bool) -> None:
        self.cram = bool(on)
        self.current = None
        self._undo = [u for u in self._undo if u.kind != "cram"]
        self.refresh()

    def set_shuffle(self, on: bool, seed: int | None = None) -> None:
        self.shuffle = bool(on)
        self._seed = random.randrange(1 << 30) if seed is None else seed
        self.current = None
        self.refresh()

    def set_new_per_day(self, limit: int) -> None:
        self.new_per_day = max(0, int(limit))

    # -- queues -------------------------------------------------------------------------------
    def today(self) -> int:
        return day_index(self.clock(), self.tz, self.rollover)

    def _eligible(self, key: str, today: int) -> bool:
        cs = self.states[key]
        if cs.suspended or cs.buried_until > today:
            return False
        return self._in_filter(key)

    def refresh(self) -> None:
        """Rebuild the queues from the states (new day, filter, reload, undo)."""
        self._front = None
        now = self.clock()
        today = day_index(now, self.tz, self.rollover)
        self._day = today
        self._day_end = day_start_ms(today + 1, self.tz, self.rollover)
        self._learning, self._reviews, self._new = [], [], []
        rng = random.Random(self._seed)
        if self.cram:
            keys = [k for k in self.order
                    if not self.states[k].suspended and self._in_filter(k)]
            if self.shuffle:
                rng.shuffle(keys)
            self._cram_queue = keys
            return
        reviews = []
        for key in self.order:
            if not self._eligible(key, today):
                continue
            cs = self.states[key]
            if cs.state == NEW:
                self._new.append(key)
            elif cs.state in (LEARNING, RELEARNING):
                if cs.due is not None and cs.due < self._day_end:
                    self._learning.append((cs.due, self.cards[key].ord, key))
            elif cs.state == REVIEW and cs.due is not None and day_index(
                    cs.due, self.tz, self.rollover) <= today:
                reviews.append((cs.due, self.cards[key].ord, key))
        self._learning.sort()
        reviews.sort()
        self._reviews = [k for _, _, k in reviews]
        if self.shuffle:
            rng.shuffle(self._reviews)
            rng.shuffle(self._new)
        self._new_done_today = (self.store.new_cards_introduced(
            self.deck_id, day_start_ms(today, self.tz, self.rollover))
            if not self.read_only else 0)

    def _check_day(self) -> None:
        if self.today() != self._day:
            self.refresh()

    def _new_limit(self) -> int:
        return max(0, self.new_per_day - self._new_done_today)

    def counts(self) -> Counts:
        self._check_day()
        if self.cram:
            return Counts(0, 0, 0, cram=len(self._cram_queue))
        return Counts(new=min(len(self._new), self._new_limit()), learning=len(self._learning),
                      review=len(self._reviews))

    def next_card(self) -> str | None:
        """The card to show now (also `current`), or None when nothing is due now."""
        self._check_day()
        now = self.clock()
        key: str | None = None
        if self._front is not None and self._front in self.cards:
            key = self._front
        elif self.cram:
            key = self._cram_queue[0] if self._cram_queue else None
        elif self._learning and self._learning[0][0] <= now:
            key = self._learning[0][2]
        elif self._reviews:
            key = self._reviews[0]
        elif self._new and self._new_limit() > 0:
            key = self._new[0]
        elif self._learning and self._learning[0][0] <= now + LEARN_AHEAD_MS:
            key = self._learning[0][2]
        self.current = key
        return key

    def bring_to_front(self, key: str) -> None:
        """Show this card next (opened from the browser, or a lab's related card)."""
        if key not in self.cards:
            raise KeyError(key)
        if self.cram and key not in self._cram_queue:
            self._cram_queue.insert(0, key)
        self._front = key
        self.current = key

    def next_due_ms(self) -> int | None:
        """When the next learning card becomes due today (for "come back in 5 minutes")."""
        if self.cram or not self._learning:
            return None
        return self._learning[0][0]

    def _remove(self, key: str) -> None:
        if self._front == key:
            self._front = None
        for i, item in enumerate(self._learning):
            if item[2] == key:
                del self._learning[i]
                break
        if key in self._reviews:
            self._reviews.remove(key)
        if key in self._new:
            self._new.remove(key)

    def _place(self, key: str) -> None:
        """Put a card whose state changed back in the queue it now belongs to (if any today)."""
        cs = self.states[key]
        if not self._eligible(key, self._day):
            return
        if cs.state in (LEARNING, RELEARNING) and cs.due is not None and cs.due < self._day_end:
            bisect.insort(self._learning, (cs.due, self.cards[key].ord, key))
        elif cs.state == REVIEW and cs.due is not None and day_index(
                cs.due, self.tz, self.rollover) <= self._day:
            self._reviews.append(key)

    # -- actions ------------------------------------------------------------------------------
    def preview(self, key: str | None = None) -> dict[int, CardState]:
        key = key or self.current
        if key is None:
            return {}
        return self.scheduler.preview(self.states[key], self.clock(), key)

    def grade(self, rating: int, duration_ms: int | None = None, key: str | None = None) -> None:
        """Grade the current card (1 Again .. 4 Easy). Durable when this returns."""
        key = key or self.current
        if key is None:
            raise RuntimeError("no card to grade")
        if duration_ms is not None:
            duration_ms = max(0, min(int(duration_ms), MAX_ANSWER_MS))
        if self.cram:
            if self._front == key:
                self._front = None
            idx = self._cram_queue.index(key)
            self._cram_queue.pop(idx)
            if rating == AGAIN:  # see it again a few cards later, as in a learning step
                self._cram_queue.insert(min(3, len(self._cram_queue)), key)
            self._undo.append(_Undo("cram", key, self.states[key], cram_index=idx))
            self.current = None
            return
        now = self.clock()
        before = self.states[key]
        after = self.scheduler.grade(before, rating, now, key)
        log_id = None
        if not self.read_only:
            log_id = self.store.record_grade(self.deck_id, key, before, after, rating, now,
                                             duration_ms)
        self.states[key] = after
        self._remove(key)
        if before.state == NEW:
            self._new_done_today += 1
        self._place(key)
        self._undo.append(_Undo("grade", key, before, log_id))
        self.current = None

    def _set(self, key: str, cs: CardState, kind: str) -> None:
        before = self.states[key]
        if not self.read_only:
            self.store.set_state(self.deck_id, key, cs)
        self.states[key] = cs
        self._remove(key)
        if key in self._cram_queue:
            self._cram_queue.remove(key)
        self._undo.append(_Undo(kind, key, before))
        if self.current == key:
            self.current = None

    def bury(self, key: str | None = None) -> None:
        """Hide a card until tomorrow (the next 4 AM)."""
        key = key or self.current
        if key is not None:
            self._set(key, replace(self.states[key], buried_until=self.today() + 1), "bury")

    def suspend(self, key: str | None = None) -> None:
        key = key or self.current
        if key is not None:
            self._set(key, replace(self.states[key], suspended=True), "suspend")

    def unsuspend(self, key: str) -> None:
        if not self.read_only:
            self.store.set_state(self.deck_id, key, replace(self.states[key], suspended=False))
        self.states[key] = replace(self.states[key], suspended=False)
        self.refresh()

    def unbury(self, key: str) -> None:
        if not self.read_only:
            self.store.set_state(self.deck_id, key, replace(self.states[key], buried_until=0))
        self.states[key] = replace(self.states[key], buried_until=0)
        self.refresh()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def undo(self) -> str | None:
        """Undo the last grade/bury/suspend; returns the card, which becomes current again."""
        if not self._undo:
            return None
        entry = self._undo.pop()
        if entry.kind == "cram":
            if entry.key in self._cram_queue:
                self._cram_queue.remove(entry.key)
            self._cram_queue.insert(0, entry.key)
            self._front = entry.key
            self.current = entry.key
            return entry.key
        if not self.read_only:
            if entry.kind == "grade" and entry.log_id is not None:
                self.store.undo_grade(self.deck_id, entry.key, entry.before, entry.log_id)
            else:
                self.store.set_state(self.deck_id, entry.key, entry.before)
        self.states[entry.key] = entry.before
        self.refresh()
        self._front = entry.key  # shown next, wherever it would otherwise queue
        self.current = entry.key
        return entry.key

    def undo_label(self) -> str:
        if not self._undo:
            return ""
        return {"grade": "grade", "cram": "grade", "bury": "bury",
                "suspend": "suspend"}[self._undo[-1].kind]
