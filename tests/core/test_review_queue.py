"""The review queue as Anki orders it, the daily new limit, 4 AM days, filter, cram, undo."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from studyapp.notes.parser import parse_text
from studyapp.review.queue import ReviewSession
from studyapp.review.scheduler import AGAIN, EASY, GOOD, LEARNING, NEW, REVIEW, Scheduler

TZ = timezone(timedelta(hours=2))


@pytest.fixture
def deck(store, make_notes):
    text = make_notes({"Chapter 1": [f"c1 q{i}" for i in range(4)],
                       "Chapter 2": [f"c2 q{i}" for i in range(3)]})
    cards = parse_text(text).cards
    deck_id, _ = store.deck_for_notes("/n.md", "n", [c.key for c in cards])
    store.sync_cards(deck_id, cards)
    return deck_id, cards


def session(store, deck, clock, **kw):
    deck_id, cards = deck
    kw.setdefault("scheduler", Scheduler(fuzz=False))
    return ReviewSession(store, deck_id, cards, clock=clock, tz=TZ, **kw)


def q(s, key):
    return s.cards[key].question


def test_new_cards_come_in_file_order_up_to_the_daily_limit(store, deck, clock):
    s = session(store, deck, clock, new_per_day=3)
    assert (s.counts().new, s.counts().learning, s.counts().review) == (3, 0, 0)
    seen = []
    for _ in range(3):
        seen.append(q(s, s.next_card()))
        s.grade(EASY, 1000)
    assert seen == ["c1 q0", "c1 q1", "c1 q2"]
    assert s.next_card() is None and s.counts().total == 0
    # The limit is per review day, also across sessions (it is counted from the log).
    assert session(store, deck, clock, new_per_day=3).counts().new == 0
    assert session(store, deck, clock, new_per_day=5).counts().new == 2


def test_learning_due_now_then_reviews_then_new(store, deck, clock):
    s = session(store, deck, clock, new_per_day=10)
    first = s.next_card()
    s.grade(EASY)  # -> review, due in days
    second = s.next_card()
    s.grade(AGAIN)  # -> learning, due in 1 minute
    assert s.counts().learning == 1
    # Nothing is due yet except new cards; the learning card waits its minute.
    assert q(s, s.next_card()) == "c1 q2"
    clock.advance(minutes=2)
    assert s.next_card() == second  # learning due now comes first
    s.grade(EASY)  # graduates to review too
    clock.advance(days=30)
    counts = s.counts()
    assert (counts.learning, counts.review) == (0, 2)
    shown = s.next_card()  # then due reviews, before any new card
    assert shown in (first, second) and s.states[shown].state == REVIEW


def test_learn_ahead_when_nothing_else_is_left(store, deck, clock):
    s = session(store, deck, clock, new_per_day=1)
    key = s.next_card()
    s.grade(GOOD)  # learning, due in 10 minutes
    assert s.counts().learning == 1
    assert s.next_card() == key  # nothing else left: shown up to 20 minutes early
    assert s.next_due_ms() == clock() + 600_000


def test_nothing_due_says_when_the_next_learning_card_comes(store, deck, clock):
    from datetime import timedelta as td

    sched = Scheduler(learning_steps=(td(minutes=30), td(hours=2)), fuzz=False)
    s = session(store, deck, clock, new_per_day=1, scheduler=sched)
    key = s.next_card()
    s.grade(AGAIN)  # due in 30 minutes: beyond the 20-minute learn-ahead
    assert s.next_card() is None and s.counts().learning == 1
    assert s.next_due_ms() == clock() + 30 * 60_000
    clock.advance(minutes=11)
    assert s.next_card() == key  # within 20 minutes now: shown early


def test_review_day_starts_at_4am(store, deck, clock, at):
    clock.t = at(2025, 3, 10, 23, 0)
    s = session(store, deck, clock, new_per_day=1)
    s.next_card()
    s.grade(EASY)
    assert s.counts().new == 0
    clock.t = at(2025, 3, 11, 3, 30)  # after midnight, before 4 AM: still the same day
    assert s.counts().new == 0
    clock.t = at(2025, 3, 11, 4, 0)  # a new day: one more new card
    assert s.counts().new == 1


def test_review_card_due_any_time_of_its_day(store, deck, clock, at):
    clock.t = at(2025, 3, 10, 22, 0)
    s = session(store, deck, clock, new_per_day=1)
    key = s.next_card()
    s.grade(EASY)
    due = s.states[key].due
    # Due at 22:00 some day: it is already due from 4 AM that day.
    from datetime import datetime
    d = datetime.fromtimestamp(due / 1000, TZ)
    clock.t = at(d.year, d.month, d.day, 4, 30)
    assert s.counts().review == 1 and s.next_card() == key


def test_section_filter(store, deck, clock):
    s = session(store, deck, clock, new_per_day=20)
    s.set_filter({"Chapter 2"})
    assert s.counts().new == 3
    assert q(s, s.next_card()) == "c2 q0"
    s.set_filter(None)
    assert s.counts().new == 7


def test_shuffle_is_reproducible_with_a_seed(store, deck, clock):
    s = session(store, deck, clock, new_per_day=20)
    s.set_shuffle(True, seed=7)
    order = []
    for _ in range(7):
        order.append(s.next_card())
        s.bury()
    s2 = session(store, deck, clock, new_per_day=20)
    s2.set_shuffle(True, seed=7)
    assert s2.counts().new == 0  # all buried now
    assert sorted(order) == sorted(c.key for c in deck[1])
    assert order != [c.key for c in deck[1]]


def test_cram_goes_through_everything_without_touching_the_schedule(store, deck, clock):
    deck_id, cards = deck
    s = session(store, deck, clock, new_per_day=0)
    assert s.counts().total == 0
    s.set_cram(True)
    assert s.counts().cram == 7
    first = s.next_card()
    s.grade(AGAIN)  # comes back a few cards later
    assert s.counts().cram == 7
    for _ in range(3):
        s.next_card()
        s.grade(GOOD)
    assert s.next_card() == first
    s.undo()
    assert s.counts().cram == 5
    assert store.review_log(deck_id) == []
    assert all(st.state == NEW for st in store.states(deck_id).values())
    s.set_cram(False)
    assert s.counts().total == 0


def test_bury_until_tomorrow_and_suspend(store, deck, clock):
    deck_id, cards = deck
    s = session(store, deck, clock, new_per_day=20)
    a = s.next_card()
    s.bury()
    b = s.next_card()
    s.suspend()
    assert s.counts().new == 5 and a != b
    assert store.states(deck_id)[a].buried_until > s.today()
    assert store.states(deck_id)[b].suspended
    clock.advance(days=1)
    assert s.counts().new == 6  # the buried card is back, the suspended one is not
    s.unsuspend(b)
    assert s.counts().new == 7


def test_undo_several_levels(store, deck, clock):
    deck_id, cards = deck
    s = session(store, deck, clock, new_per_day=20)
    keys = []
    for rating in (GOOD, EASY, AGAIN):
        keys.append(s.next_card())
        s.grade(rating, 800)
    s.next_card()
    s.bury()
    assert len(store.review_log(deck_id)) == 3
    assert s.undo_label() == "bury"
    s.undo()
    assert s.undo() == keys[2]
    assert s.next_card() == keys[2]  # the undone card is shown again at once
    assert s.undo() == keys[1]
    assert s.undo() == keys[0]
    assert s.undo() is None and not s.can_undo()
    assert store.review_log(deck_id) == []
    assert all(st.state == NEW and st.buried_until == 0
               for st in store.states(deck_id).values())
    assert s.counts().new == 7 and s.next_card() == keys[0]


def test_grades_survive_a_new_session(store, deck, clock):
    deck_id, cards = deck
    s = session(store, deck, clock, new_per_day=20)
    key = s.next_card()
    preview = s.preview()
    s.grade(GOOD)
    again = session(store, deck, clock, new_per_day=20)
    assert again.states[key] == preview[GOOD]
    assert again.states[key].state == LEARNING


def test_reload_with_changed_cards(store, deck, clock, make_notes):
    deck_id, cards = deck
    s = session(store, deck, clock, new_per_day=20)
    key = s.next_card()
    s.grade(EASY)
    newer = parse_text(make_notes({"Chapter 1": [f"c1 q{i}" for i in range(5)]})).cards
    store.sync_cards(deck_id, newer)
    s.set_cards(newer)
    assert s.states[key].state == REVIEW
    assert s.counts().new == 4
