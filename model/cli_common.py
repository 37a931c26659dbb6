"""What the training command lines share (`python -m model.train` for chapter 5's pretraining,
`python -m model.classify` for chapter 6's fine-tuning): the record options, JSON lines on
stdout and in a file, and errors told in one line with the exit status they call for."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable, Sequence

from model.train.config import TrainingError


def add_record_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--jsonl", help="also write the records to this file")
    p.add_argument("--quiet", action="store_true", help="no records on stdout")


def command_line(prog: str, argv: Sequence[str] | None) -> str:
    """The command as typed, for the checkpoint's metadata."""
    return prog + " " + " ".join(sys.argv[1:] if argv is None else list(argv))


class RecordWriter:
    """Prints each record as one JSON line (unless quiet) and copies it to the --jsonl file."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.file = None

    def open(self, path: str) -> None:
        try:
            self.file = open(path, "w", encoding="utf-8")
        except OSError as exc:
            raise TrainingError(f"the records cannot be written to {path}: "
                                f"{exc.strerror or exc}") from None

    def emit(self, record: dict) -> None:
        line = json.dumps(record)
        if not self.quiet:
            print(line, flush=True)
        if self.file is not None:
            self.file.write(line + "\n")
            self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def finished_status(last_done: dict | None) -> int:
    """0 for a run that ended, 3 when it stopped on a NaN loss (or never ended)."""
    return 0 if last_done and last_done["reason"] != "nan" else 3


def run_reporting_errors(run: Callable[[], int],
                         errors: tuple[type[BaseException], ...] = (TrainingError,)) -> int:
    """run()'s status; one ``error: ...`` line and status 2 for the given errors, 130 on Ctrl-C,
    never a traceback."""
    try:
        return run()
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
