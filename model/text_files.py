"""Reading a UTF-8 text file the learner chose (a training corpus in chapter 5, labelled data in
chapter 6), refusing what is not text with the reason, so each caller can say it in its words."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# NUL bytes this early mean a binary file; text editors never write them.
_SNIFF_BYTES = 65536


@dataclass
class TextFileProblem(Exception):
    """Why `path` is not readable text. `problem` is one of missing, not_file, unreadable, empty,
    binary, not_utf8; `line` (1-based), `position` and `byte` say where for binary and not_utf8,
    `reason` is the system's words for unreadable."""

    problem: str
    path: Path
    line: int = 0
    position: int = 0
    byte: int = 0
    reason: str = ""

    def describe(self, templates: dict[str, str]) -> str:
        """The message from the caller's template for this problem (str.format fields: path,
        name, line, position, byte, reason)."""
        return templates[self.problem].format(
            path=self.path, name=self.path.name, line=self.line, position=self.position,
            byte=self.byte, reason=self.reason)


def read_text_file(path: str | os.PathLike) -> str:
    """The text of a UTF-8 file (a leading BOM dropped); TextFileProblem when it is missing,
    unreadable, empty, binary or not UTF-8."""
    path = Path(path)
    if not path.exists():
        raise TextFileProblem("missing", path)
    if not path.is_file():
        raise TextFileProblem("not_file", path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TextFileProblem("unreadable", path, reason=str(exc.strerror)) from None
    if not data.strip():
        raise TextFileProblem("empty", path)
    if b"\x00" in data[:_SNIFF_BYTES]:
        nul = data.index(b"\x00")
        raise TextFileProblem("binary", path, line=data[:nul].count(b"\n") + 1, position=nul)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TextFileProblem("not_utf8", path, line=data[:exc.start].count(b"\n") + 1,
                              position=exc.start, byte=data[exc.start]) from None
