"""The SQLite store: sync with history kept, one transaction per grade, bad files untouched."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from studyapp.notes.parser import parse_text
from studyapp.review.deck import deck_path_key, open_deck
from studyapp.review.scheduler import GOOD, NEW, CardState, Scheduler
from studyapp.review.store import DB_NAME, ReviewStore, StoreError


def _deck(store, text, path="/notes/a.md"):
    cards = parse_text(text).cards
    deck_id, adopted = store.deck_for_notes(path, "a", [c.key for c in cards], now=1)
    return deck_id, cards, store.sync_cards(deck_id, cards, now=1)


def test_sync_adds_keeps_hides_and_brings_back(store, make_notes):
    v1 = make_notes({"Chapter 1": ["a", "b", "c"]})
    deck, cards, rep = _deck(store, v1)
    assert (rep.added, rep.kept, rep.hidden, rep.returned) == (3, 0, 0, 0)
    # Grade "b" so it has history.
    b = cards[1]
    after = Scheduler(fuzz=False).grade(CardState(), GOOD, 1000, b.key)
    store.record_grade(deck, b.key, CardState(), after, GOOD, 1000, 1500)

    v2 = make_notes({"Chapter 1": ["a", "c"], "Chapter 2": ["d"]})
    _, cards2, rep = _deck(store, v2)
    assert (rep.added, rep.kept, rep.hidden, rep.returned) == (1, 2, 1, 0)
    assert b.key not in {c.key for c in store.cards(deck)}
    hidden = {c.key: c for c in store.cards(deck, present_only=False)}[b.key]
    assert not hidden.present and hidden.state == after  # history kept while hidden

    v3 = make_notes({"Chapter 1": ["a", "B ?", "c"], "Chapter 2": ["d"]})  # "b" comes back
    _, _, rep = _deck(store, v3)
    assert rep.returned == 1 and rep.added == 0
    back = {c.key: c for c in store.cards(deck)}[b.key]
    assert back.present and back.state == after and back.question == "B ?"
    assert len(store.review_log(deck, b.key)) == 1


def test_grade_writes_card_and_full_log_row(store, make_notes):
    deck, cards, _ = _deck(store, make_notes({"S": ["q"]}))
    key = cards[0].key
    before = store.states(deck)[key]
    after = Scheduler(fuzz=False).grade(before, GOOD, 5_000, key)
    log_id = store.record_grade(deck, key, before, after, GOOD, 5_000, 2_345)
    row = store.con.execute("SELECT card_key, ts, rating, state_before, state_after, "
                            "interval_before, interval_after, duration_ms, stability_after "
                            "FROM revlog WHERE id=?", (log_id,)).fetchone()
    assert row[:6] == (key, 5_000, GOOD, NEW, after.state, 0.0)
    assert row[6] == pytest.approx(10 / 1440) and row[7] == 2_345 and row[8] == after.stability
    assert store.states(deck)[key] == after
    store.undo_grade(deck, key, before, log_id)
    assert store.states(deck)[key] == before
    assert store.review_log(deck) == []


def test_grade_is_one_transaction(store, make_notes):
    deck, cards, _ = _deck(store, make_notes({"S": ["q"]}))
    with pytest.raises(KeyError):  # unknown card: nothing at all is written
        store.record_grade(deck, "nope", CardState(), CardState(state=2), GOOD, 1, 1)
    assert store.review_log(deck) == []


def test_decks_are_per_notes_file_and_newer_copies_adopt(store, make_notes):
    a, _, _ = _deck(store, make_notes({"S": ["q1", "q2"]}), "/x/a.md")
    b, _, _ = _deck(store, make_notes({"T": ["other"]}), "/x/b.md")
    assert a != b
    # A newer copy of a.md saved elsewhere shares most questions: it adopts a's history.
    cards = parse_text(make_notes({"S": ["q1", "q2", "q3"]})).cards
    deck, adopted = store.deck_for_notes("/downloads/a-v2.md", "a-v2", [c.key for c in cards])
    assert deck == a and adopted
    deck2, adopted2 = store.deck_for_notes("/downloads/a-v2.md", "a-v2", [])
    assert deck2 == a and not adopted2
    assert [d.id for d in store.decks()] == [a, b]


def test_bundled_deck_has_a_location_free_key():
    from studyapp.review.deck import bundled_notes_path

    assert deck_path_key(bundled_notes_path()) == "bundled:llm-from-scratch-notes.md"


def test_open_deck_on_bundled_notes(tmp_path):
    from studyapp.review.deck import bundled_notes_path

    store = ReviewStore.open_in(tmp_path)
    od = open_deck(store, bundled_notes_path())
    assert len(od.parse.cards) == 15 and od.sync.added == 15
    assert open_deck(store, bundled_notes_path()).sync.added == 0
    store.close()


def _sha(path):
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_corrupt_database_is_refused_and_left_untouched(tmp_path):
    db = tmp_path / DB_NAME
    db.write_bytes(b"this is not a database, just text" * 100)
    before = _sha(db)
    with pytest.raises(StoreError) as err:
        ReviewStore.open(db)
    assert err.value.kind == "corrupt" and "damaged" in str(err.value)
    assert _sha(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [DB_NAME]


def test_damaged_sqlite_pages_are_refused_and_left_untouched(tmp_path):
    db = tmp_path / DB_NAME
    s = ReviewStore.open(db)
    s.sync_cards(s.deck_for_notes("/n.md", "n", [])[0],
                 parse_text("# S\n" + "<details><summary>🎯Q. q%d</summary>\n- %s\n</details>\n"
                            * 1 % (1, "x" * 50)).cards)
    s.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    for extra in ("-wal", "-shm"):
        (tmp_path / (DB_NAME + extra)).unlink(missing_ok=True)
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xde\xad\xbe\xef" * ((4096 - 100) // 4)  # wreck the schema page
    db.write_bytes(bytes(data))
    before = _sha(db)
    with pytest.raises(StoreError) as err:
        ReviewStore.open(db)
    assert err.value.kind == "corrupt"
    assert _sha(db) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_database_is_refused_and_a_temporary_copy_works(tmp_path):
    db = tmp_path / DB_NAME
    s = ReviewStore.open(db)
    deck, _ = s.deck_for_notes("/n.md", "n", [])
    s.sync_cards(deck, parse_text("# S\n<details><summary>🎯Q. q</summary>\n- a\n</details>\n")
                 .cards)
    s.con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    db.chmod(stat.S_IRUSR)
    before = _sha(db)
    try:
        with pytest.raises(StoreError) as err:
            ReviewStore.open(db)
        assert err.value.kind == "readonly" and "read-only" in str(err.value)
        tmp = ReviewStore.temporary(copy_from=db)
        assert len(tmp.cards(deck)) == 1 and tmp.path is None
        tmp.close()
        ro = ReviewStore.open_readonly(db)
        assert len(ro.cards(deck)) == 1
        ro.close()
        assert _sha(db) == before
    finally:
        db.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_newer_schema_is_refused(tmp_path):
    db = tmp_path / DB_NAME
    ReviewStore.open(db).close()
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value='99' WHERE key='schema'")
    con.commit()
    con.close()
    with pytest.raises(StoreError) as err:
        ReviewStore.open(db)
    assert err.value.kind == "newer"


def test_temporary_store_from_an_unreadable_file_is_empty(tmp_path):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"garbage" * 1000)
    tmp = ReviewStore.temporary(copy_from=bad)
    assert tmp.decks() == []
    tmp.close()


def test_read_only_detection_without_real_permissions(tmp_path, monkeypatch):
    # Root (CI containers) ignores chmod; simulate a read-only file where the OS would say so.
    db = tmp_path / DB_NAME
    ReviewStore.open(db).close()
    before = _sha(db)
    import studyapp.review.sqlite_file as store_mod

    real_access = os.access
    monkeypatch.setattr(store_mod.os, "access",
                        lambda p, mode: False if mode & os.W_OK else real_access(p, mode))
    with pytest.raises(StoreError) as err:
        ReviewStore.open(db)
    assert err.value.kind == "readonly"
    with pytest.raises(StoreError) as err:
        ReviewStore.open(tmp_path / "sub-never-made.sqlite3")
    assert err.value.kind == "readonly"
    assert _sha(db) == before
