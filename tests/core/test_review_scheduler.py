"""FSRS scheduling, the 4 AM review day, button intervals."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from studyapp.review.scheduler import (
    AGAIN, DAY_MS, EASY, GOOD, HARD, LEARNING, NEW, RELEARNING, REVIEW, CardState, Scheduler,
    day_index, day_start_ms, format_interval)

TZ = timezone(timedelta(hours=2))


def test_day_starts_at_4am_local(at):
    assert day_index(at(2025, 3, 10, 3, 59), TZ) == day_index(at(2025, 3, 9, 12, 0), TZ)
    assert day_index(at(2025, 3, 10, 4, 0), TZ) == day_index(at(2025, 3, 9, 12, 0), TZ) + 1
    day = day_index(at(2025, 3, 10, 9, 0), TZ)
    assert day_start_ms(day, TZ) == at(2025, 3, 10, 4, 0)
    # The same instant is a different review day in another zone.
    assert day_index(at(2025, 3, 10, 5, 0), TZ) != day_index(at(2025, 3, 10, 5, 0), timezone.utc)


def test_new_card_learning_steps(at):
    s = Scheduler(fuzz=False)
    now = at(2025, 3, 10, 10)
    new = CardState()
    p = s.preview(new, now, "k")
    assert p[AGAIN].state == LEARNING and p[AGAIN].due - now == 60_000
    assert p[GOOD].state == LEARNING and p[GOOD].due - now == 600_000
    assert p[EASY].state == REVIEW and p[EASY].due - now >= DAY_MS
    assert all(c.reps == 1 and c.last_review == now for c in p.values())
    # Good twice graduates to review with a day-based interval.
    later = now + 600_000
    graduated = s.grade(p[GOOD], GOOD, later, "k")
    assert graduated.state == REVIEW and graduated.due - later >= DAY_MS
    assert graduated.interval_days >= 1


def test_lapse_goes_to_relearning_and_counts(at):
    s = Scheduler(fuzz=False)
    now = at(2025, 3, 10, 10)
    card = s.grade(CardState(), EASY, now, "k")
    lapsed = s.grade(card, AGAIN, card.due, "k")
    assert lapsed.state == RELEARNING and lapsed.lapses == 1 and lapsed.reps == 2
    assert lapsed.due - card.due == 10 * 60_000


def test_preview_equals_grade_even_with_fuzz(at):
    s = Scheduler(fuzz=True)
    now = at(2025, 3, 10, 10)
    card = CardState(state=REVIEW, stability=40.0, difficulty=5.0, due=now,
                     last_review=now - 30 * DAY_MS, reps=5)
    for _ in range(3):
        p = s.preview(card, now, "key-1")
        for rating in (HARD, GOOD, EASY):
            assert s.grade(card, rating, now, "key-1") == p[rating]
    intervals = {round((s.grade(card, GOOD, now, f"key-{i}").due - now) / DAY_MS)
                 for i in range(30)}
    assert len(intervals) > 1  # fuzz spreads cards that would all land on the same day


def test_intervals_grow_with_good_and_order_by_rating(at):
    s = Scheduler(fuzz=False)
    now = at(2025, 3, 10, 10)
    card = s.grade(s.grade(CardState(), GOOD, now, "k"), GOOD, now + 600_000, "k")
    p = s.preview(card, card.due, "k")
    assert p[HARD].due <= p[GOOD].due <= p[EASY].due
    assert p[GOOD].interval_days > card.interval_days


def test_desired_retention_changes_intervals(at):
    now = at(2025, 3, 10, 10)
    card = CardState(state=REVIEW, stability=20.0, difficulty=5.0, due=now,
                     last_review=now - 20 * DAY_MS, reps=4)
    lax = Scheduler(desired_retention=0.8, fuzz=False).grade(card, GOOD, now)
    strict = Scheduler(desired_retention=0.95, fuzz=False).grade(card, GOOD, now)
    assert lax.due > strict.due
    with pytest.raises(ValueError):
        Scheduler(desired_retention=1.5)


def test_retrievability(at):
    s = Scheduler()
    now = at(2025, 3, 10, 10)
    assert s.retrievability(CardState(), now) is None
    card = s.grade(CardState(), EASY, now, "k")
    r_now = s.retrievability(card, now + DAY_MS)
    r_later = s.retrievability(card, now + 30 * DAY_MS)
    assert 0 < r_later < r_now <= 1


def test_bad_rating_is_refused():
    with pytest.raises(ValueError):
        Scheduler().grade(CardState(), 5, 0)


@pytest.mark.parametrize("ms, text", [(10_000, "<1m"), (60_000, "1m"), (600_000, "10m"),
                                      (3 * 3_600_000, "3h"), (4 * DAY_MS, "4d"),
                                      (60 * DAY_MS, "2mo"), (400 * DAY_MS, "1.1y")])
def test_format_interval(ms, text):
    assert format_interval(ms) == text


def test_new_state_is_new():
    assert CardState().state == NEW and CardState().is_new and CardState().interval_days == 0
