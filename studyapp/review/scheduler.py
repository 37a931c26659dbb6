"""FSRS scheduling of one card, and the review day (no Qt).

Wraps the `fsrs` package (FSRS-6): a card's memory state (stability, difficulty), its learning
step and due time are computed by `fsrs.Scheduler`; this module adds what Anki adds around it:

- a "new" state (fsrs has none: a card is new until its first grade),
- review days that start at 4 AM local time (`day_index`), so a late-night session counts for
  the evening before, and a card due "in 1 day" is due the whole next day,
- interval fuzz that is deterministic per card and review, so the interval a button shows is
  exactly what grading gives (fsrs' own fuzz draws a fresh random number on every call),
- reps/lapses counters, bury and suspend flags.

Times are integer epoch milliseconds (UTC) throughout; `tz` (a tzinfo or None for the machine's
local zone) only matters when turning a time into a review day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone, tzinfo

import fsrs

NEW, LEARNING, REVIEW, RELEARNING = 0, 1, 2, 3
STATE_NAMES = {NEW: "new", LEARNING: "learning", REVIEW: "review", RELEARNING: "relearning"}
AGAIN, HARD, GOOD, EASY = 1, 2, 3, 4
RATING_NAMES = {AGAIN: "Again", HARD: "Hard", GOOD: "Good", EASY: "Easy"}
ROLLOVER_HOUR = 4
DAY_MS = 86_400_000
MATURE_DAYS = 21  # Anki's threshold between young and mature review cards


@dataclass(frozen=True)
class CardState:
    """The schedule of one card, as stored in the database."""

    state: int = NEW
    step: int | None = None
    stability: float | None = None
    difficulty: float | None = None
    due: int | None = None  # epoch ms; None while new
    last_review: int | None = None
    reps: int = 0
    lapses: int = 0
    suspended: bool = False
    buried_until: int = 0  # review day from which a buried card shows again (0 = not buried)

    @property
    def is_new(self) -> bool:
        return self.state == NEW

    @property
    def interval_days(self) -> float:
        """Scheduled interval (due - last review) in days; 0 for a new card."""
        if self.due is None or self.last_review is None:
            return 0.0
        return max(0.0, (self.due - self.last_review) / DAY_MS)


# --- review days ----------------------------------------------------------------------------

def now_ms() -> int:
    return int(datetime.now(timezone.utc).timestamp() * 1000)


def _local(ts_ms: int, tz: tzinfo | None) -> datetime:
    dt = datetime.fromtimestamp(ts_ms / 1000, timezone.utc)
    return dt.astimezone(tz) if tz is not None else dt.astimezone()


def day_index(ts_ms: int, tz: tzinfo | None = None, rollover: int = ROLLOVER_HOUR) -> int:
    """The review day a moment belongs to (a date ordinal; the day starts at `rollover` h)."""
    return (_local(ts_ms, tz) - timedelta(hours=rollover)).date().toordinal()


def day_start_ms(day: int, tz: tzinfo | None = None, rollover: int = ROLLOVER_HOUR) -> int:
    """Epoch ms at which review day `day` starts."""
    naive = datetime.combine(date.fromordinal(day), time(hour=rollover))
    aware = naive.replace(tzinfo=tz) if tz is not None else naive.astimezone()
    return int(aware.timestamp() * 1000)


# --- intervals --------------------------------------------------------------------------------

def format_interval(ms: float) -> str:
    """Short human interval as Anki shows it on the buttons: <1m, 10m, 3h, 4d, 2.5mo, 1.2y."""
    minutes = ms / 60_000
    if minutes < 1:
        return "<1m"
    if minutes < 60:
        return f"{round(minutes)}m"
    hours = minutes / 60
    if hours < 24:
        return f"{round(hours)}h"
    days = hours / 24
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        months = days / 30.4
        return f"{months:.1f}mo".replace(".0mo", "mo")
    years = days / 365
    return f"{years:.1f}y".replace(".0y", "y")


def _fuzz_range(days: float, maximum: int) -> tuple[int, int]:
    # Anki's fuzz: wider for longer intervals (5% .. 15% of the interval, at least a day).
    delta = 1.0
    for start, end, factor in ((2.5, 7.0, 0.15), (7.0, 20.0, 0.1), (20.0, float("inf"), 0.05)):
        delta += factor * max(min(days, end) - start, 0.0)
    lo = max(2, round(days - delta))
    hi = min(round(days + delta), maximum)
    return min(lo, hi), hi


# --- the scheduler ----------------------------------------------------------------------------

class Scheduler:
    """FSRS with a desired retention (default 0.9), Anki's learning steps and deterministic fuzz."""

    def __init__(self, desired_retention: float = 0.9,
                 learning_steps: tuple[timedelta, ...] = (timedelta(minutes=1),
                                                          timedelta(minutes=10)),
                 relearning_steps: tuple[timedelta, ...] = (timedelta(minutes=10),),
                 maximum_interval: int = 36500, fuzz: bool = True):
        if not 0.7 <= desired_retention <= 0.99:
            raise ValueError("desired retention must be between 0.70 and 0.99")
        self.desired_retention = desired_retention
        self.maximum_interval = maximum_interval
        self.fuzz = fuzz
        self._fsrs = fsrs.Scheduler(desired_retention=desired_retention,
                                    learning_steps=learning_steps,
                                    relearning_steps=relearning_steps,
                                    maximum_interval=maximum_interval, enable_fuzzing=False)

    def _to_fsrs(self, cs: CardState, now: int) -> fsrs.Card:
        if cs.state == NEW:
            return fsrs.Card(card_id=1, state=fsrs.State.Learning, step=0,
                             due=datetime.fromtimestamp(now / 1000, timezone.utc))
        return fsrs.Card(
            card_id=1, state=fsrs.State(cs.state), step=cs.step, stability=cs.stability,
            difficulty=cs.difficulty,
            due=datetime.fromtimestamp((cs.due if cs.due is not None else now) / 1000,
                                       timezone.utc),
            last_review=(datetime.fromtimestamp(cs.last_review / 1000, timezone.utc)
                         if cs.last_review is not None else None))

    def grade(self, cs: CardState, rating: int, now: int, key: str = "") -> CardState:
        """The card's state after being graded `rating` (1-4) at `now` (epoch ms)."""
        if rating not in RATING_NAMES:
            raise ValueError(f"rating must be 1..4, not {rating!r}")
        card, _log = self._fsrs.review_card(
            self._to_fsrs(cs, now), fsrs.Rating(rating),
            review_datetime=datetime.fromtimestamp(now / 1000, timezone.utc))
        due = int(card.due.timestamp() * 1000)
        state = int(card.state)
        if self.fuzz and state == REVIEW:
            days = (due - now) / DAY_MS
            if days >= 2.5:
                lo, hi = _fuzz_range(days, self.maximum_interval)
                # Seeded by card and review count: the preview and the grade agree.
                days_f = random.Random(f"{key}:{cs.reps}:{rating}").randint(lo, hi)
                due = now + days_f * DAY_MS
        return CardState(
            state=state, step=card.step, stability=card.stability, difficulty=card.difficulty,
            due=due, last_review=now, reps=cs.reps + 1,
            lapses=cs.lapses + (1 if cs.state == REVIEW and rating == AGAIN else 0),
            suspended=cs.suspended, buried_until=0)

    def preview(self, cs: CardState, now: int, key: str = "") -> dict[int, CardState]:
        """The state each of the four ratings would give (what the buttons show)."""
        return {r: self.grade(cs, r, now, key) for r in (AGAIN, HARD, GOOD, EASY)}

    def retrievability(self, cs: CardState, now: int) -> float | None:
        """Predicted probability of recall now (None for a new card)."""
        if cs.state == NEW or cs.stability is None or cs.last_review is None:
            return None
        return float(self._fsrs.get_card_retrievability(
            self._to_fsrs(cs, now), datetime.fromtimestamp(now / 1000, timezone.utc)))


def reset(cs: CardState) -> CardState:
    """Forget a card's schedule (back to new), keeping its flags."""
    return replace(CardState(), suspended=cs.suspended)
