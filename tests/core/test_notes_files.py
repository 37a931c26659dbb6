"""Opening notes: only regular files are read, with a size cap; pipes, devices and folders are
refused at once with a message saying what they are."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from studyapp.notes.parser import MAX_FILE_BYTES, NotesError, parse_file, read_notes_file

ROOT = Path(__file__).resolve().parents[2]
NOTES = "# S\n<details><summary>🎯Q. What is a token?</summary>\nA piece of text.\n</details>\n"
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def _studyapp(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "studyapp", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT,
                          env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))


@needs_fifo
@pytest.mark.timeout(60)
def test_notes_command_on_a_fifo_answers_instead_of_hanging(tmp_path):
    fifo = tmp_path / "fifo.md"
    os.mkfifo(fifo)
    result = _studyapp("notes", str(fifo))  # a hang here is a TimeoutExpired failure
    assert result.returncode == 2
    assert "not a regular file (a pipe, device or socket)" in result.stderr
    assert "Traceback" not in result.stderr
    result = _studyapp("--notes", str(fifo), "--data-dir", str(tmp_path), "stats")
    assert result.returncode == 2 and "is not a regular file" in result.stderr


@needs_fifo
@pytest.mark.timeout(30)
def test_a_fifo_is_refused_by_the_reader_the_app_uses(tmp_path):
    fifo = tmp_path / "fifo.md"
    os.mkfifo(fifo)
    with pytest.raises(NotesError, match="not a regular file"):
        parse_file(fifo)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
@pytest.mark.timeout(30)
def test_an_endless_device_is_refused():
    with pytest.raises(NotesError, match="not a regular file"):
        read_notes_file("/dev/zero")


def test_a_folder_and_a_missing_file_are_named(tmp_path):
    with pytest.raises(NotesError, match="is a folder, not a notes file"):
        read_notes_file(tmp_path)
    with pytest.raises(NotesError, match="cannot be read .No such file"):
        read_notes_file(tmp_path / "absent.md")


def test_a_file_over_the_cap_is_refused_and_the_message_gives_the_cap(tmp_path):
    big = tmp_path / "big.md"
    with big.open("wb") as fh:  # sparse: takes no disk space
        fh.truncate(MAX_FILE_BYTES + 2**20)
    with pytest.raises(NotesError, match=r"too large for a notes file \(65 MiB; notes files are "
                                         r"read up to 64 MiB\)"):
        read_notes_file(big)


def test_a_regular_notes_file_reads_as_before(tmp_path):
    path = tmp_path / "n.md"
    path.write_text(NOTES, encoding="utf-8")
    assert read_notes_file(path) == NOTES.encode("utf-8")
    assert [c.question for c in parse_file(path).cards] == ["What is a token?"]
