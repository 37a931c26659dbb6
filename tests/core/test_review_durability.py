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


def _kill_after_lines(child: str, tmp_path, notes, n: int) -> list[str]:
    """Run `child` with the data folder and notes file, read `n` lines (each says a write was
    committed), then SIGKILL it: the lines it printed."""
    proc = subprocess.Popen([sys.executable, "-c", child, str(tmp_path), str(notes)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    try:
        for _ in range(n):
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            lines.append(line)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return lines


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_right_after_grades_loses_nothing(tmp_path):
    notes = bundled_notes_path()
    graded = [(key, int(rating)) for key, rating in
              (line.split() for line in _kill_after_lines(CHILD, tmp_path, notes, 3))]

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
    first, second = _kill_after_lines(RELOAD_CHILD, tmp_path, notes, 2)
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
