"""A full disk and a read-only folder: the review database reports the real cause, is never
called damaged when it is intact, and its history can still be reviewed in a temporary copy."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

import studyapp.review.store as store_mod
from studyapp.review.deck import bundled_notes_path, open_deck
from studyapp.review.store import DB_NAME, ReviewStore, StoreError, is_disk_full

ROOT = Path(__file__).resolve().parents[2]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _big_notes(tmp_path: Path, n: int = 300) -> Path:
    notes = tmp_path / "big.md"
    notes.write_text("# S\n" + "".join(
        f"<details><summary>🎯Q. Question number {i} about attention?</summary>\nA.\n"
        "</details>\n" for i in range(n)), encoding="utf-8")
    return notes


def _small_notes(tmp_path: Path) -> Path:
    notes = tmp_path / "mine.md"
    notes.write_text("# S\n<details><summary>🎯Q. What is a token?</summary>\nA piece.\n"
                     "</details>\n", encoding="utf-8")
    return notes


@pytest.fixture
def full_disk(monkeypatch):
    """Every connection the store opens from now on is refused new pages, the way SQLite
    answers on a full disk: SQLITE_FULL, and the transaction rolled back by SQLite itself."""
    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        con = real_connect(*args, **kwargs)
        if args and args[0] != ":memory:" and "mode=ro" not in str(args[0]):
            pages = con.execute("PRAGMA page_count").fetchone()[0]
            con.execute(f"PRAGMA max_page_count={max(pages, 1)}")
        return con

    monkeypatch.setattr(store_mod.sqlite3, "connect", connect)


def test_a_full_disk_surfaces_the_real_error_not_a_failed_rollback(tmp_path, monkeypatch):
    db = tmp_path / DB_NAME
    store = ReviewStore.open(db)
    mine = open_deck(store, _small_notes(tmp_path))
    store.close()
    before = _sha(db)
    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        con = real_connect(*args, **kwargs)
        con.execute(f"PRAGMA max_page_count={con.execute('PRAGMA page_count').fetchone()[0]}")
        return con

    monkeypatch.setattr(store_mod.sqlite3, "connect", connect)
    store = ReviewStore.open(db)
    with pytest.raises(StoreError) as err:
        open_deck(store, _big_notes(tmp_path))  # 300 new cards need pages the disk lacks
    assert err.value.kind == "full" and err.value.history_readable
    message = str(err.value)
    assert "database or disk is full" in message and "is full, so grades cannot be saved" in message
    assert "rollback" not in message
    assert isinstance(err.value.__cause__, sqlite3.OperationalError)
    # Nothing half-written: SQLite's own rollback of the sync stands (the new deck's row, a
    # transaction of its own, is there, with no cards); the deck already there is untouched.
    decks = {d.name: d.id for d in store.decks()}
    assert store.cards(decks["big"]) == [] and len(store.cards(decks["mine"])) == 1
    store.close()
    monkeypatch.undo()
    before = _sha(db)
    # The GUI's fallback: the intact history, reviewed in a temporary database.
    temp = ReviewStore.temporary(copy_from=db)
    assert [c.key for c in temp.cards(mine.deck_id)] == [c.key for c in mine.parse.cards]
    assert open_deck(temp, _big_notes(tmp_path)).sync.added == 300
    temp.close()
    assert _sha(db) == before


def test_opening_on_a_full_disk_falls_back_to_a_temporary_store_that_says_why(tmp_path,
                                                                              full_disk):
    store = ReviewStore.open_or_temporary(tmp_path / DB_NAME)  # the schema cannot be written
    assert store.path is None and store.problem is not None
    assert store.problem.kind == "full" and "disk" in str(store.problem)
    opened = open_deck(store, _small_notes(tmp_path))  # reviewing goes on, in memory
    assert opened.sync.added == 1
    store.close()


def test_an_injected_no_space_error_is_reported_as_a_full_disk(tmp_path):
    store = ReviewStore.open(tmp_path / DB_NAME)
    deck = open_deck(store, _small_notes(tmp_path))
    with pytest.raises(StoreError) as err:
        with store.con:
            store.con.execute("UPDATE cards SET reps=99")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert err.value.kind == "full" and "No space left on device" in str(err.value)
    assert {c.state.reps for c in store.cards(deck.deck_id)} == {0}  # rolled back
    assert is_disk_full(sqlite3.OperationalError("database or disk is full"))
    assert not is_disk_full(sqlite3.OperationalError("database is locked"))
    store.close()


def test_other_errors_pass_through_unchanged(tmp_path):
    store = ReviewStore.open(tmp_path / DB_NAME)
    with pytest.raises(KeyError):
        with store.con:
            raise KeyError("x")
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        with store.con:
            store.con.execute("SELECT * FROM nothing_here")
    assert not store.con._con.in_transaction  # rolled back, usable again
    store.close()


# -- a read-only folder holding a database with a WAL but no -shm ------------------------------

_CHECK = """
    import json, os, sys
    import studyapp.review.deck  # everything imported before the privileges go
    from studyapp.review.stats import stats_report
    from studyapp.review.store import ReviewStore, StoreError
    if os.geteuid() == 0:  # root ignores permissions: look at the folder as nobody would
        os.setgid(65534)
        os.setuid(65534)
    db = sys.argv[1]
    out = {}
    try:
        ReviewStore.open(db)
    except StoreError as exc:
        out["kind"], out["message"] = exc.kind, str(exc)
    store = ReviewStore.open_or_temporary(db)
    out["temporary"] = store.path is None
    out["cards"] = sum(len(store.cards(d.id)) for d in store.decks())
    out["revlog"] = store.con.execute("SELECT COUNT(*) FROM revlog").fetchone()[0]
    ro = ReviewStore.open_readonly(db)
    out["stats_decks"] = len(stats_report(ro)["decks"])
    print(json.dumps(out))
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_read_only_database_with_a_wal_but_no_shm_is_not_called_damaged():
    folder = Path(tempfile.mkdtemp(prefix="studyapp-ro-"))
    try:
        os.chmod(folder, 0o755)  # reachable by the unprivileged checker
        work = folder / "work"
        work.mkdir()
        live = ReviewStore.open(work / DB_NAME)
        deck = open_deck(live, bundled_notes_path())
        card = deck.parse.cards[0]
        before = live.states(deck.deck_id)[card.key]
        live.record_grade(deck.deck_id, card.key, before, before, 3, 1, 1000)
        ro = folder / "ro"
        ro.mkdir()
        # What a crash leaves: the main file and its log, without the -shm index.
        shutil.copyfile(work / DB_NAME, ro / DB_NAME)
        shutil.copyfile(work / f"{DB_NAME}-wal", ro / f"{DB_NAME}-wal")
        live.close()
        for f in ro.iterdir():
            os.chmod(f, 0o444)
        os.chmod(ro, 0o555)
        before_sha = _sha(ro / DB_NAME)
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_CHECK), str(ro / DB_NAME)],
                              capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-2000:]
        out = json.loads(proc.stdout)
        assert out["kind"] == "readonly" and "is damaged" not in out["message"]
        assert "write-ahead log" in out["message"] and "-shm" in out["message"]
        assert out["temporary"] and out["cards"] == 15 and out["revlog"] == 1
        assert out["stats_decks"] == 1
        assert sorted(p.name for p in ro.iterdir()) == [DB_NAME, f"{DB_NAME}-wal"]
        assert _sha(ro / DB_NAME) == before_sha
    finally:
        for path in (folder / "ro", folder):
            if path.exists():
                os.chmod(path, stat.S_IRWXU)
        shutil.rmtree(folder, ignore_errors=True)
