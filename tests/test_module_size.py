"""No module of the app or the model is longer than 600 lines, unless its docstring says why.

A long module mixes jobs; one that must be long says so in its docstring with the words
"longer than 600 lines because", so the reason is read where the length is met.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 600
REASON = "longer than 600 lines because"


def _too_long() -> list[str]:
    found = []
    for package in ("studyapp", "model"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            lines = text.count("\n") + (not text.endswith("\n"))
            if lines <= LIMIT:
                continue
            docstring = ast.get_docstring(ast.parse(text)) or ""
            if REASON not in " ".join(docstring.split()):
                found.append(f"{path.relative_to(ROOT)} ({lines} lines)")
    return found


def test_no_module_is_longer_than_600_lines_without_saying_why():
    too_long = _too_long()
    assert not too_long, ("split these modules, or say in the docstring why one is "
                          f"\"{REASON} ...\": " + ", ".join(too_long))
