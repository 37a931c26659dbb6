"""`studyapp notes FILE --json --since OLD_FILE` reports what changed, by the app's matcher."""

from __future__ import annotations

import json
import subprocess
import sys

from studyapp.review.cli import run_notes

from .notes_fixtures import BASE, deck_text

CH1, CH2, CH3, MATHS = list(BASE)


def _versions(tmp_path):
    old = tmp_path / "old.md"
    old.write_text(deck_text(BASE), encoding="utf-8")
    deck = {name: list(cards) for name, cards in BASE.items()}
    deck[CH1][0] = ("Stages of building and using a model", deck[CH1][0][1])
    deck[MATHS].append(deck[CH2].pop(0))
    deck[CH3].pop(2)
    deck[MATHS] += [("new one", "- a"), ("new two", "- b")]
    new = tmp_path / "new.md"
    new.write_text(deck_text(deck), encoding="utf-8")
    return old, new


def test_since_reports_changes_with_each_match(tmp_path, capsys):
    old, new = _versions(tmp_path)
    from argparse import Namespace

    assert run_notes(Namespace(file=new, json=True, apkg=None, since=old)) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["changes"] == {
        "kept": 6, "moved": 1, "renamed": 1, "added": 2, "removed": 1,
        "matches": [
            {"old": "Stages of buiding and using a model",
             "new": "Stages of building and using a model", "how": "renamed"},
            {"old": "Why do we need a tokenizer", "new": "Why do we need a tokenizer",
             "how": "moved"},
        ]}


def test_since_end_to_end_and_a_bad_old_file(tmp_path):
    old, new = _versions(tmp_path)
    run = subprocess.run([sys.executable, "-m", "studyapp", "notes", str(new), "--since",
                          str(old)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "6 kept, 1 moved, 1 renamed, 2 added, 1 removed" in run.stdout
    assert "renamed: 'Stages of buiding and using a model' -> 'Stages of building" in run.stdout
    empty = tmp_path / "empty.md"
    empty.write_text("")
    run = subprocess.run([sys.executable, "-m", "studyapp", "notes", str(new), "--json",
                          "--since", str(empty)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "--since" in run.stderr and "empty" in run.stderr
    assert "Traceback" not in run.stderr


def test_without_since_there_is_no_changes_key(tmp_path, capsys):
    old, _ = _versions(tmp_path)
    from argparse import Namespace

    assert run_notes(Namespace(file=old, json=True, apkg=None)) == 0
    assert "changes" not in json.loads(capsys.readouterr().out)
