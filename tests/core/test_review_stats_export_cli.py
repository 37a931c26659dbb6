"""Statistics, Anki export and the `notes` / `stats` subcommands."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from argparse import Namespace
from pathlib import Path
from datetime import timedelta, timezone

import pytest

from studyapp.notes.parser import parse_text
from studyapp.review.cli import run_notes, run_stats
from studyapp.review.export import export_apkg
from studyapp.review.queue import ReviewSession
from studyapp.review.scheduler import AGAIN, DAY_MS, EASY, GOOD, Scheduler
from studyapp.review.stats import compute_stats, deck_summary, stats_report
from studyapp.review.store import ReviewStore

TZ = timezone(timedelta(hours=2))


@pytest.fixture
def reviewed(store, make_notes, clock):
    """Two sections; three cards graded over two days (one lapse)."""
    cards = parse_text(make_notes({"Chapter 1": ["a", "b", "c"], "Chapter 2": ["d", "e"]})).cards
    deck_id, _ = store.deck_for_notes("/n.md", "n", [c.key for c in cards])
    store.sync_cards(deck_id, cards)
    s = ReviewSession(store, deck_id, cards, Scheduler(fuzz=False), new_per_day=3, clock=clock,
                      tz=TZ)
    for rating in (EASY, EASY, GOOD):
        s.next_card()
        s.grade(rating, 2000)
    a, b = cards[0].key, cards[1].key
    clock.t = max(s.states[a].due, s.states[b].due) + 60_000
    s.refresh()
    s.grade(GOOD, 3000, key=a)  # a review passed
    s.grade(AGAIN, 3000, key=b)  # a review lapsed
    return deck_id, cards, s


def test_stats_forecast_reviews_retention_sections(store, reviewed, clock):
    deck_id, cards, s = reviewed
    st = compute_stats(store, deck_id, now=clock(), tz=TZ)
    assert len(st.forecast) == 30 and len(st.reviews_per_day) == 30
    assert sum(st.reviews_per_day) == 5 and st.total_reviews == 5
    assert st.reviews_per_day[-1] == 2  # today: the two reviews
    assert st.retention["today"].passed == 1 and st.retention["today"].total == 2
    assert st.retention["all"].rate == pytest.approx(0.5)
    assert st.total_time_ms == 3 * 2000 + 2 * 3000
    # b relearning (due in 10 min) and c learning are due today.
    assert st.forecast[0] == 2
    a_days = (s.states[cards[0].key].due - clock()) / DAY_MS
    assert sum(st.forecast) == (3 if a_days < 29 else 2)
    assert [sp.name for sp in st.sections] == ["Chapter 1", "Chapter 2"]
    ch1 = st.sections[0]
    assert (ch1.new, ch1.learning, ch1.young + ch1.mature) == (0, 2, 1)
    assert st.sections[1].new == 2
    assert st.retention_per_day()[-1] == pytest.approx(0.5)


def test_deck_summary_counts(store, reviewed, clock):
    deck_id, cards, s = reviewed
    summary = deck_summary(store, deck_id, now=clock(), tz=TZ)
    assert summary["cards"] == 5
    assert summary["states"] == {"new": 2, "learning": 1, "review": 1, "relearning": 1}
    assert summary["due_today"] == 2 and summary["reviews"] == 5
    assert summary["reviews_today"] == 2
    s.bury(cards[2].key)
    assert deck_summary(store, deck_id, now=clock(), tz=TZ)["due_today"] == 1
    # Tomorrow the learning cards have come and gone; the review card is days away.
    later = deck_summary(store, deck_id, now=clock() + 40 * DAY_MS, tz=TZ)
    assert later["due_today"] == 3


def test_stats_report_lists_every_deck(store, reviewed, clock):
    report = stats_report(store, now=clock(), tz=TZ)
    assert [d["notes"] for d in report["decks"]] == ["/n.md"]
    assert set(report["decks"][0]) >= {"notes", "cards", "states", "due_today", "due_tomorrow",
                                       "reviews", "reviews_today"}


def test_stats_compute_with_100k_log_rows_fast_enough_to_be_correct(tmp_path):
    # Correctness on a big log (timing lives in benchmarks/bench_review.py).
    store = ReviewStore.open_in(tmp_path)
    cards = parse_text("# S\n<details><summary>🎯Q. q</summary>\n- a\n</details>\n").cards
    deck_id, _ = store.deck_for_notes("/n.md", "n", [])
    store.sync_cards(deck_id, cards)
    now = 1_741_600_000_000
    rows = [(deck_id, cards[0].key, now - (i % 60) * DAY_MS - 1000, 3 if i % 10 else 1, 2, 2,
             3.0, 5.0, 2000) for i in range(100_000)]
    with store.con:
        store.con.executemany(
            "INSERT INTO revlog (deck_id, card_key, ts, rating, state_before, state_after, "
            "interval_before, interval_after, duration_ms) VALUES (?,?,?,?,?,?,?,?,?)", rows)
    st = compute_stats(store, deck_id, now=now, tz=TZ)
    assert st.total_reviews == 100_000
    assert st.retention["all"].rate == pytest.approx(0.9)
    assert sum(st.reviews_per_day) == pytest.approx(50_000, rel=0.05)
    store.close()


def test_export_apkg(tmp_path, bundled_text):
    result = parse_text(bundled_text)
    out = tmp_path / "deck.apkg"
    info = export_apkg(result.cards, out, "LLM notes", base_dir=tmp_path)
    assert info == {"notes": 15, "decks": 6, "media": 0, "left_out": []}
    with zipfile.ZipFile(out) as z:
        (tmp_path / "col").write_bytes(z.read("collection.anki2"))
    con = sqlite3.connect(tmp_path / "col")
    guids = {g for (g,) in con.execute("SELECT guid FROM notes")}
    flds = [f for (f,) in con.execute("SELECT flds FROM notes")]
    decks = json.loads(con.execute("SELECT decks FROM col").fetchone()[0])
    con.close()
    assert len(guids) == 15
    assert {d["name"] for d in decks.values()} >= {
        "LLM notes::Chapter 1: understanding the large language models",
        "LLM notes::Questions which needs a deep dive"}
    assert any("<strong>" in f or "<code>" in f for f in flds)
    assert any("Open question" in f for f in flds)
    # Stable GUIDs: exporting again gives the same notes.
    export_apkg(result.cards, tmp_path / "again.apkg", "LLM notes")
    with zipfile.ZipFile(tmp_path / "again.apkg") as z:
        (tmp_path / "col2").write_bytes(z.read("collection.anki2"))
    con = sqlite3.connect(tmp_path / "col2")
    assert {g for (g,) in con.execute("SELECT guid FROM notes")} == guids
    con.close()


def test_export_carries_existing_images(tmp_path):
    (tmp_path / "fig.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    cards = parse_text("# S\n<details><summary>🎯Q. q</summary>\n![f](fig.png)\n"
                       "![m](missing.png)\n</details>\n").cards
    out = tmp_path / "x.apkg"
    assert export_apkg(cards, out, "d", base_dir=tmp_path)["media"] == 1
    with zipfile.ZipFile(out) as z:
        assert json.loads(z.read("media")) == {"0": "fig.png"}
        (tmp_path / "col").write_bytes(z.read("collection.anki2"))
    con = sqlite3.connect(tmp_path / "col")
    (flds,) = con.execute("SELECT flds FROM notes").fetchone()
    con.close()
    assert 'src="fig.png"' in flds and "image not found: missing.png" in flds


def test_notes_command_json(capsys, bundled_text, tmp_path):
    p = tmp_path / "n.md"
    p.write_text(bundled_text, encoding="utf-8")
    assert run_notes(Namespace(file=p, json=True, apkg=None)) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cards"] == 15 and out["open_questions"] == 1
    assert [s["cards"] for s in out["sections"]] == [6, 2, 3, 1, 1, 2]
    assert out["sections"][0]["name"].startswith("Chapter 1")
    assert [w["line"] for w in out["warnings"] if w["kind"] != "image"] == [208, 264]
    # A copy of the notes outside the install lists its missing figures, each with its line.
    images = [w for w in out["warnings"] if w["kind"] == "image"]
    assert images and all(w["question"] and "not found" in w["message"] for w in images)


def test_notes_command_can_export_to_anki(capsys, tmp_path):
    out = tmp_path / "deck.apkg"
    from studyapp.review.deck import bundled_notes_path

    assert run_notes(Namespace(file=bundled_notes_path(), json=True, apkg=out)) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["apkg"]["notes"] == 15 and zipfile.is_zipfile(out)


def test_notes_command_refuses_non_notes(capsys, tmp_path):
    p = tmp_path / "img.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + b"\x00" * 100)
    assert run_notes(Namespace(file=p, json=True, apkg=None)) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "not a notes file" in captured.err


def test_stats_command_json(capsys, tmp_path, store, reviewed):
    assert run_stats(Namespace(json=True, data_dir=str(store.path.parent))) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decks"][0]["cards"] == 5 and out["decks"][0]["reviews"] == 5
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_stats(Namespace(json=True, data_dir=str(empty))) == 0
    assert json.loads(capsys.readouterr().out) == {"decks": []}
    assert not list(empty.iterdir())  # stats never creates a database


def test_stats_command_on_a_corrupt_database(capsys, tmp_path):
    (tmp_path / "reviews.sqlite3").write_bytes(b"nonsense" * 100)
    assert run_stats(Namespace(json=True, data_dir=str(tmp_path))) == 1
    assert "cannot be read" in capsys.readouterr().err


def test_cli_end_to_end(tmp_path, bundled_text):
    p = tmp_path / "n.md"
    p.write_text(bundled_text, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "studyapp", "notes", str(p), "--json"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["cards"] == 15
    run = subprocess.run([sys.executable, "-m", "studyapp", "stats", "--json", "--data-dir",
                          str(tmp_path / "d")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"decks": []}
    empty = tmp_path / "empty.md"
    empty.write_text("")
    run = subprocess.run([sys.executable, "-m", "studyapp", "notes", str(empty), "--json"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "empty" in run.stderr and "Traceback" not in run.stderr


def _png(path: Path, marker: bytes) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16 + marker)


def test_export_packs_only_images_inside_the_notes_folder(tmp_path, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"TOP-SECRET-TEXT")
    _png(tmp_path / "outside.png", b"OUTSIDE-IMAGE")
    notes = tmp_path / "notes"
    (notes / "sub").mkdir(parents=True)
    _png(notes / "fig.png", b"FIG-INSIDE")
    _png(notes / "sub" / "deep.png", b"DEEP-INSIDE")
    (notes / "private.txt").write_bytes(b"PRIVATE-TEXT")
    links = hasattr(os, "symlink")
    if links:
        os.symlink(tmp_path / "outside.png", notes / "link_out.png")
        os.symlink(notes / "fig.png", notes / "link_in.png")
    sources = ["fig.png", "sub/deep.png", "sub/../fig.png", "../secret.txt", "../outside.png",
               str(tmp_path / "outside.png"), "private.txt"] + (["link_out.png", "link_in.png"] if links else [])
    body = "\n".join(f"![i{n}]({src})" for n, src in enumerate(sources))
    text = (f"# S\n<details><summary>🎯Q. q</summary>\n\n{body}\n\n"
            f'<img src="{secret.as_uri()}">\n</details>\n')
    md = notes / "n.md"
    md.write_text(text, encoding="utf-8")
    out = tmp_path / "x.apkg"
    info = export_apkg(parse_text(text).cards, out, "d", base_dir=notes)
    with zipfile.ZipFile(out) as z:
        packed = sorted(json.loads(z.read("media")).values())
        blobs = b"".join(z.read(n) for n in z.namelist())
        (tmp_path / "col").write_bytes(z.read("collection.anki2"))
    assert packed == ["deep.png", "fig.png"]
    for private in (b"TOP-SECRET-TEXT", b"OUTSIDE-IMAGE", b"PRIVATE-TEXT"):
        assert private not in blobs
    assert info["media"] == 2
    refused = {item["src"]: item["reason"] for item in info["left_out"]}
    outside = "outside the notes file's folder"
    expected = {"../secret.txt": outside, "../outside.png": outside,
                str(tmp_path / "outside.png"): outside, secret.as_uri(): outside, "private.txt": "not an image file"}
    if links:
        expected["link_out.png"] = outside
    assert refused == expected
    con = sqlite3.connect(tmp_path / "col")
    (flds,) = con.execute("SELECT flds FROM notes").fetchone()
    con.close()
    assert flds.count("image not exported") == len(expected) and "file://" not in flds
    # The command line names what it left out.
    assert run_notes(Namespace(file=md, json=False, apkg=tmp_path / "y.apkg")) == 0
    printed = capsys.readouterr().out
    assert "image left out: ../secret.txt (outside the notes file's folder)" in printed
