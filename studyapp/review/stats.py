"""Statistics of a deck from the store (no Qt): forecast, reviews per day, true retention,
progress per section, and the summary `studyapp stats --json` prints.

"True retention" is Anki's: of the reviews of cards in the review state (not learning steps),
the share not graded Again. Day boundaries are review days (4 AM local), computed exactly per
day, so daylight-saving changes do not shift a review into the wrong day.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import tzinfo

from studyapp.review.scheduler import (
    DAY_MS, LEARNING, MATURE_DAYS, NEW, RELEARNING, REVIEW, ROLLOVER_HOUR, STATE_NAMES, day_index,
    day_start_ms, now_ms)
from studyapp.review.store import ReviewStore


@dataclass
class SectionProgress:
    name: str
    new: int = 0
    learning: int = 0  # learning and relearning
    young: int = 0  # review cards with an interval under 21 days
    mature: int = 0
    suspended: int = 0

    @property
    def total(self) -> int:
        return self.new + self.learning + self.young + self.mature


@dataclass
class Retention:
    passed: int = 0
    total: int = 0

    @property
    def rate(self) -> float | None:
        return self.passed / self.total if self.total else None


@dataclass
class DeckStats:
    today: int  # review day index
    forecast: list[int]  # due cards per day, [0] = today (overdue included)
    reviews_per_day: list[int]  # oldest first, [-1] = today
    passed_per_day: list[int]  # review-state reviews not graded Again, per day
    review_state_per_day: list[int]  # review-state reviews, per day
    retention: dict[str, Retention] = field(default_factory=dict)  # today/week/month/all
    sections: list[SectionProgress] = field(default_factory=list)
    total_reviews: int = 0
    total_time_ms: int = 0

    def retention_per_day(self) -> list[float | None]:
        return [p / t if t else None
                for p, t in zip(self.passed_per_day, self.review_state_per_day)]


def _day_bounds(first: int, days: int, tz, rollover) -> list[int]:
    return [day_start_ms(first + i, tz, rollover) for i in range(days + 1)]


def compute_stats(store: ReviewStore, deck_id: int, now: int | None = None,
                  tz: tzinfo | None = None, rollover: int = ROLLOVER_HOUR,
                  days: int = 30) -> DeckStats:
    now = now_ms() if now is None else now
    today = day_index(now, tz, rollover)
    con = store.con

    # Forecast: cards due per day for the next `days` days; overdue counts for today.
    ahead = _day_bounds(today + 1, days - 1, tz, rollover)  # starts of tomorrow .. day `days`
    forecast = [0] * days
    for (due,) in con.execute(
            "SELECT due FROM cards WHERE deck_id=? AND present=1 AND suspended=0 AND state>0 "
            "AND due<?", (deck_id, ahead[-1])):
        forecast[bisect.bisect_right(ahead, due)] += 1

    # Reviews per day over the last `days` days (exact review-day boundaries).
    bounds = _day_bounds(today - days + 1, days, tz, rollover)
    reviews, passed, in_review = [0] * days, [0] * days, [0] * days
    for i in range(days):
        n, p, r = con.execute(
            "SELECT COUNT(*), COALESCE(SUM(state_before=? AND rating>1), 0), "
            "COALESCE(SUM(state_before=?), 0) FROM revlog WHERE deck_id=? AND ts>=? AND ts<?",
            (REVIEW, REVIEW, deck_id, bounds[i], bounds[i + 1])).fetchone()
        reviews[i], passed[i], in_review[i] = n, p, r

    retention = {
        "today": Retention(passed[-1], in_review[-1]),
        "week": Retention(sum(passed[-7:]), sum(in_review[-7:])),
        "month": Retention(sum(passed), sum(in_review)),
    }
    total, time_ms, p_all, r_all = con.execute(
        "SELECT COUNT(*), COALESCE(SUM(duration_ms), 0), "
        "COALESCE(SUM(state_before=? AND rating>1), 0), COALESCE(SUM(state_before=?), 0) "
        "FROM revlog WHERE deck_id=?", (REVIEW, REVIEW, deck_id)).fetchone()
    retention["all"] = Retention(p_all, r_all)

    # Progress per section, in file order.
    sections: dict[str, SectionProgress] = {}
    first_ord: dict[str, int] = {}
    for section, ord_, state, due, last_review, suspended in con.execute(
            "SELECT section, ord, state, due, last_review, suspended FROM cards "
            "WHERE deck_id=? AND present=1", (deck_id,)):
        sp = sections.setdefault(section, SectionProgress(section))
        first_ord[section] = min(first_ord.get(section, ord_), ord_)
        if suspended:
            sp.suspended += 1
        if state == NEW:
            sp.new += 1
        elif state in (LEARNING, RELEARNING):
            sp.learning += 1
        elif due is not None and last_review is not None and (
                due - last_review) >= MATURE_DAYS * DAY_MS:
            sp.mature += 1
        else:
            sp.young += 1
    ordered = sorted(sections.values(), key=lambda s: first_ord[s.name])
    return DeckStats(today=today, forecast=forecast, reviews_per_day=reviews,
                     passed_per_day=passed, review_state_per_day=in_review, retention=retention,
                     sections=ordered, total_reviews=total, total_time_ms=time_ms)


def deck_summary(store: ReviewStore, deck_id: int, now: int | None = None,
                 tz: tzinfo | None = None, rollover: int = ROLLOVER_HOUR) -> dict:
    """Counts for one deck, as `studyapp stats --json` prints them."""
    now = now_ms() if now is None else now
    today = day_index(now, tz, rollover)
    start, end, end2 = (day_start_ms(today + i, tz, rollover) for i in range(3))
    con = store.con
    states = {name: 0 for name in STATE_NAMES.values()}
    for state, n in con.execute("SELECT state, COUNT(*) FROM cards WHERE deck_id=? AND present=1 "
                                "GROUP BY state", (deck_id,)):
        states[STATE_NAMES.get(state, str(state))] = n
    cards = sum(states.values())
    suspended, buried, hidden = con.execute(
        "SELECT COALESCE(SUM(present=1 AND suspended=1), 0), "
        "COALESCE(SUM(present=1 AND suspended=0 AND buried_until>?), 0), "
        "COALESCE(SUM(present=0), 0) FROM cards WHERE deck_id=?", (today, deck_id)).fetchone()
    due_today = due_tomorrow = 0
    for state, due, buried_until in con.execute(
            "SELECT state, due, buried_until FROM cards WHERE deck_id=? AND present=1 "
            "AND suspended=0 AND state>0 AND due<?", (deck_id, end2)):
        if state == REVIEW:
            day = day_index(due, tz, rollover)
            if day <= today and buried_until <= today:
                due_today += 1
            elif day <= today + 1:
                due_tomorrow += 1
        elif due < end and buried_until <= today:
            due_today += 1
        else:
            due_tomorrow += 1
    reviews, reviews_today = con.execute(
        "SELECT COUNT(*), COALESCE(SUM(ts>=? AND ts<?), 0) FROM revlog WHERE deck_id=?",
        (start, end, deck_id)).fetchone()
    return {"cards": cards, "states": states, "suspended": suspended, "buried": buried,
            "hidden": hidden, "due_today": due_today, "due_tomorrow": due_tomorrow,
            "reviews": reviews, "reviews_today": reviews_today}


def stats_report(store: ReviewStore, now: int | None = None, tz: tzinfo | None = None) -> dict:
    """`{"decks": [...]}` for every deck in the store."""
    from studyapp.review.deck import bundled_notes_path

    decks = []
    for info in store.decks():
        path = info.paths[0] if info.paths else ""
        if path.startswith("bundled:"):
            try:
                path = str(bundled_notes_path().parent / path.split(":", 1)[1])
            except Exception:
                pass
        entry = {"notes": path, "name": info.name}
        entry.update(deck_summary(store, info.id, now, tz))
        decks.append(entry)
    return {"decks": decks}


def format_duration(ms: int) -> str:
    minutes = ms / 60_000
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"

