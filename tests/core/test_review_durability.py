"""SIGKILL right after a grade loses nothing: each grade is committed before the next card."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from studyapp.review.deck import bundled_notes_path, open_deck
from studyapp.review.store import ReviewStore

CHILD = textwrap.dedent("""
    import sys, time
    from studyapp.review.deck import open_deck
    from studyapp.review.queue import ReviewSession
    from studyapp.review.store import ReviewStore

    store = ReviewStore.open_in(sys.argv[1])
    od = open_deck(store, sys.argv[2])
    session = ReviewSession(store, od.deck_id, od.parse.cards)
    for rating in (3, 1, 4):
        key = session.next_card()
        session.grade(rating, 1500)
        # The grade is committed: tell the parent, which kills us at once.
        print(key, rating, flush=True)
    time.sleep(120)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_right_after_grades_loses_nothing(tmp_path):
    notes = bundled_notes_path()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), str(notes)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    graded = []
    try:
        for _ in range(3):
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            key, rating = line.split()
            graded.append((key, int(rating)))
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    store = ReviewStore.open_in(tmp_path)
    od = open_deck(store, notes)
    log = store.review_log(od.deck_id)
    assert [(row[1], row[2]) for row in log] == graded
    assert all(row[7] == 1500 for row in log)
    states = store.states(od.deck_id)
    assert all(states[key].reps == 1 for key, _ in graded)
    store.close()


RELOAD_CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from studyapp.review.deck import open_deck
    from studyapp.review.queue import ReviewSession
    from studyapp.review.store import ReviewStore

    store = ReviewStore.open_in(sys.argv[1])
    notes = Path(sys.argv[2])
    od = open_deck(store, notes)
    session = ReviewSession(store, od.deck_id, od.parse.cards)
    key = session.next_card()
    question = session.cards[key].question
    session.grade(3, 1500)
    # The learner fixes a typo in the question just graded; the app reloads.
    text = notes.read_text(encoding="utf-8")
    notes.write_text(text.replace(question, question + " (fixed)", 1), encoding="utf-8")
    od = open_deck(store, notes)
    session.set_cards(od.parse.cards)
    print(key, od.sync.renamed, flush=True)
    nxt = session.next_card()
    session.grade(4, 1200)
    print(nxt, flush=True)
    time.sleep(120)
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_after_a_reload_with_a_renamed_card_keeps_its_history(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_bytes(bundled_notes_path().read_bytes())
    proc = subprocess.Popen([sys.executable, "-c", RELOAD_CHILD, str(tmp_path), str(notes)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first, proc.stderr.read()
        second = proc.stdout.readline()
        assert second, proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    old_key, renamed = first.split()
    assert renamed == "1"

    store = ReviewStore.open_in(tmp_path)
    od = open_deck(store, notes)
    assert not od.sync.changes.matches and not od.sync.added  # the reload was committed
    log = store.review_log(od.deck_id)
    renamed_card = next(c for c in od.parse.cards if c.question.endswith("(fixed)"))
    assert [(row[1], row[2]) for row in log] == [(renamed_card.key, 3), (second.strip(), 4)]
    assert old_key not in store.states(od.deck_id)
    (earlier,) = store.earlier_questions(od.deck_id, renamed_card.key)[renamed_card.key]
    assert earlier.old_key == old_key
    store.close()
