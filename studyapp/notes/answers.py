"""What an answer in the notes says about itself (no Qt): whether its question is still open
(no answer yet, or only "TODO"), where a TODO stands in a partly written answer, and which
images it shows.

These are read from the answer's own lines so a message can point at the right card and line:
an empty answer is "no answer yet", not "the notes say TODO".
"""

from __future__ import annotations

import re
from typing import Iterable

NO_ANSWER = "no answer yet"
ONLY_TODO = "the answer is only TODO"

_TODO_RE = re.compile(r"^[\s\-*+>#.:()\[\]]*(?:todo|tbd)[\s\-*+.:!()\[\]]*$", re.IGNORECASE)
# A TODO written inside a longer answer: "- TODO - do understand and go deep."
_TODO_WORD_RE = re.compile(r"^[\s\-*+>#]*(?:todo|tbd)\b", re.IGNORECASE)
BR_ONLY_RE = re.compile(r"^\s*(?:<br\s*/?>\s*)+$", re.IGNORECASE)
_WORD_RE = re.compile(r"\w")
_MD_IMAGE_RE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
_HTML_IMAGE_RE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))",
                            re.IGNORECASE)


def _content(lines: Iterable[str]) -> list[str]:
    return [ln for ln in lines if ln.strip() and not BR_ONLY_RE.match(ln)]


def open_reason(body: Iterable[tuple[int, str]]) -> tuple[str, int | None]:
    """(reason, todo_line) of an answer given as (0-based line, text) pairs.

    reason is NO_ANSWER (nothing written: no word, only empty bullets or <br> runs), ONLY_TODO
    (nothing but a TODO/TBD marker), or "" (answered). todo_line is the 1-based line of a TODO
    marker inside an answer that is otherwise written, else None.
    """
    lines = [(ln, t) for ln, t in body if t.strip() and not ("<" in t and BR_ONLY_RE.match(t))]
    low = " ".join(t for _, t in lines).casefold()
    if "todo" not in low and "tbd" not in low and _WORD_RE.search(low):
        return "", None  # the common case, decided without the line-by-line work
    if not any(_WORD_RE.search(t) for _, t in lines):
        return NO_ANSWER, None
    text = " ".join(t for _, t in lines)
    if len(text) <= 400 and _TODO_RE.match(text):
        return ONLY_TODO, lines[0][0] + 1
    for ln, t in lines:
        if ("todo" in t.casefold() or "tbd" in t.casefold()) and _TODO_WORD_RE.match(t):
            return "", ln + 1
    return "", None


def is_open_answer(answer: str) -> bool:
    """An answer that is only "TODO"/"TBD" (or nothing, or only <br> runs): an open question."""
    return bool(open_reason(enumerate(answer.splitlines()))[0])


def image_sources(text: str) -> list[str]:
    """The image sources a line of markdown or HTML shows, in order."""
    out = [m.group(1) for m in _MD_IMAGE_RE.finditer(text)] if "![" in text else []
    if "<" in text:
        out += [next(g for g in m.groups() if g is not None)
                for m in _HTML_IMAGE_RE.finditer(text)]
    return out
