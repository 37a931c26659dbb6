"""Flashcards at scale: parse 10,000 cards, grade-and-show-next with 100,000 log rows, statistics.

Targets: parse < 1 s; grade + show next < 20 ms; statistics < 200 ms. Each figure is
printed next to a baseline measured in the same run on the same data, so the ratio says what our
code costs above the floor:

- parse: ours vs. the floor of reading the file and scanning its lines with one regex;
- grade + next: ours (FSRS, one durable SQLite transaction, queue update, preview intervals,
  rendering the next card to HTML) vs. the bare durable transaction (UPDATE + INSERT, same
  pragmas) it contains; with --qt, also the real Flashcards area (offscreen) doing the same;
- stats: compute_stats (forecast, 30 days of reviews, retention, sections) vs. one full scan of
  the log (SELECT COUNT(*), SUM(...)).

Run: .venv/bin/python benchmarks/bench_review.py [--qt] [--cards 10000] [--log 100000]
Prints one JSON object; times are medians in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import number_options  # noqa: E402
from studyapp.notes.parser import parse_file  # noqa: E402
from studyapp.notes.render import Renderer  # noqa: E402
from studyapp.review.deck import open_deck  # noqa: E402
from studyapp.review.queue import ReviewSession  # noqa: E402
from studyapp.review.scheduler import DAY_MS, REVIEW, Scheduler, now_ms  # noqa: E402
from studyapp.review.stats import compute_stats  # noqa: E402
from studyapp.review.store import ReviewStore  # noqa: E402

ANSWER = """- A **bold** point with `code` and *emphasis*.
- ⭐ An important line that should stand out.⭐
  - a nested point
  1. a numbered step
- ![alt text](image-{n}.png)
<br>
"""


def make_notes(path: Path, cards: int, per_section: int = 100) -> None:
    out = []
    for i in range(cards):
        if i % per_section == 0:
            out.append(f"\n# Chapter {i // per_section + 1}: generated section\n")
        out.append(f"<details>\n<summary>🎯Q. Generated question number {i} about "
                   f"attention?</summary>\n\n{ANSWER.format(n=i)}</details>\n")
    path.write_text("\n".join(out), encoding="utf-8")


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def bench_parse(path: Path, repeats: int) -> dict:
    ours, floor = [], []
    pattern = re.compile(r"<summary>|</details>|^#", re.M)
    for _ in range(repeats):
        t = time.perf_counter()
        result = parse_file(path)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        text = path.read_text(encoding="utf-8")
        sum(1 for _ in pattern.finditer(text))
        floor.append(time.perf_counter() - t)
    return {"cards": len(result.cards), "parse_ms": median_ms(ours),
            "baseline_read_and_regex_scan_ms": median_ms(floor),
            "ratio": round(statistics.median(ours) / statistics.median(floor), 1),
            "target_ms": 1000, "ok": statistics.median(ours) < 1.0}


def fill_log(store: ReviewStore, deck_id: int, keys: list[str], rows: int, now: int) -> None:
    """`rows` review-log rows over the last year, and half the cards in review state."""
    rng = random.Random(123)
    data = []
    for i in range(rows):
        key = keys[i % len(keys)]
        data.append((deck_id, key, now - rng.randrange(365) * DAY_MS - rng.randrange(DAY_MS),
                     rng.choice((1, 3, 3, 3, 4)), REVIEW, REVIEW, 10.0, 20.0, 8000))
    with store.con:
        store.con.executemany(
            "INSERT INTO revlog (deck_id, card_key, ts, rating, state_before, state_after, "
            "interval_before, interval_after, duration_ms) VALUES (?,?,?,?,?,?,?,?,?)", data)
        store.con.executemany(
            "UPDATE cards SET state=2, stability=20, difficulty=5, due=?, last_review=?, reps=3 "
            "WHERE deck_id=? AND key=?",
            [(now - rng.randrange(3) * DAY_MS, now - 20 * DAY_MS, deck_id, k)
             for k in keys[: len(keys) // 2]])


def bench_grade(store: ReviewStore, opened, grades: int) -> dict:
    renderer = Renderer(opened.path.parent)
    session = ReviewSession(store, opened.deck_id, opened.parse.cards, Scheduler(),
                            new_per_day=grades * 2)
    ours = []
    key = session.next_card()
    for i in range(grades):
        t = time.perf_counter()
        session.grade(3 if i % 5 else 1, 5000)
        key = session.next_card()
        card = session.cards[key]
        session.preview(key)  # the four button intervals
        renderer.render_inline(card.question)
        renderer.render(card.answer)
        session.counts()
        ours.append(time.perf_counter() - t)

    # Floor: the same durable transaction, without any of our logic.
    con = store.con
    floor = []
    keys = [c.key for c in opened.parse.cards]
    for i in range(grades):
        t = time.perf_counter()
        with con:
            con.execute("UPDATE cards SET reps=reps+1, due=? WHERE deck_id=? AND key=?",
                        (now_ms(), opened.deck_id, keys[i]))
            con.execute("INSERT INTO revlog (deck_id, card_key, ts, rating, state_before, "
                        "state_after, interval_before, interval_after, duration_ms) "
                        "VALUES (?,?,?,?,?,?,?,?,?)",
                        (opened.deck_id, keys[i], now_ms(), 3, 2, 2, 1.0, 2.0, 100))
        floor.append(time.perf_counter() - t)
    return {"grades": grades, "grade_and_next_ms": median_ms(ours),
            "p95_ms": round(sorted(ours)[int(len(ours) * 0.95)] * 1000, 3),
            "baseline_bare_transaction_ms": median_ms(floor),
            "ratio": round(statistics.median(ours) / statistics.median(floor), 2),
            "target_ms": 20, "ok": statistics.median(ours) < 0.020}


def bench_stats(store: ReviewStore, deck_id: int, repeats: int) -> dict:
    ours, floor = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        st = compute_stats(store, deck_id)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.con.execute("SELECT COUNT(*), SUM(rating>1), SUM(duration_ms) FROM revlog "
                          "WHERE deck_id=?", (deck_id,)).fetchone()
        floor.append(time.perf_counter() - t)
    return {"log_rows": st.total_reviews, "stats_ms": median_ms(ours),
            "baseline_one_log_scan_ms": median_ms(floor),
            "ratio": round(statistics.median(ours) / statistics.median(floor), 1),
            "target_ms": 200, "ok": statistics.median(ours) < 0.200}


def bench_qt(data_dir: Path, notes: Path, grades: int) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from studyapp.shell.app import build_context
    from studyapp.areas.flashcards.area import FlashcardsArea

    t = time.perf_counter()
    area = FlashcardsArea(build_context(data_dir, notes))
    area.resize(1100, 760)
    area.show()
    # A notes file this big is parsed on a worker: wait until the deck is in and shown.
    while area.deck is None or len(area.deck.parse.cards) < 1000:
        app.processEvents()
        time.sleep(0.005)
    app.processEvents()
    open_s = time.perf_counter() - t
    samples = []
    for i in range(grades):
        area.reveal()
        app.processEvents()
        t = time.perf_counter()
        area.grade(3 if i % 5 else 1)
        app.processEvents()  # the next card painted
        samples.append(time.perf_counter() - t)
    area.shutdown()
    area.deleteLater()
    app.processEvents()
    return {"area_open_until_first_card_ms": round(open_s * 1000, 1), "area_grade_and_show_ms": median_ms(samples),
            "p95_ms": round(sorted(samples)[int(len(samples) * 0.95)] * 1000, 3),
            "target_ms": 20, "ok": statistics.median(samples) < 0.020}


def main() -> None:
    ap = number_options(argparse.ArgumentParser(description=__doc__.splitlines()[0]),
                        cards=10_000, log=100_000, grades=200, repeats=5)
    ap.add_argument("--qt", action="store_true", help="also time the Qt area (offscreen)")
    args = ap.parse_args()
    report: dict = {"python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        notes = tmp / "generated-notes.md"
        make_notes(notes, args.cards)
        report["notes_bytes"] = notes.stat().st_size
        report["parse"] = bench_parse(notes, args.repeats)

        data = tmp / "data"
        data.mkdir()
        store = ReviewStore.open_in(data)
        opened = open_deck(store, notes)
        fill_log(store, opened.deck_id, [c.key for c in opened.parse.cards], args.log, now_ms())
        report["grade"] = bench_grade(store, opened, args.grades)
        report["stats"] = bench_stats(store, opened.deck_id, args.repeats)
        store.close()
        if args.qt:
            report["qt"] = bench_qt(data, notes, min(args.grades, 100))
    print(json.dumps(report, indent=2))
    if args.qt:
        sys.stdout.flush()
        os._exit(0)  # skip Qt teardown at interpreter exit (see studyapp.__main__)


if __name__ == "__main__":
    main()
