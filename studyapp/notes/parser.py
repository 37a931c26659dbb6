"""Notes files become flashcards (no Qt).

The deck is the learner's own markdown notes on the book (see resources/notes and the notes
README): `#` headings (and a `⭐⭐⭐ GENERAL NOTES ⭐⭐⭐` line) start sections, and every `<details>`
block whose `<summary>` starts with `🎯Q.` is a card whose answer is the markdown up to
`</details>`. The files are hand-written, so the parser reads what it can, reports the rest as
warnings with line numbers and never raises on content; only something that is not a notes file
at all (unreadable, binary, empty, no question) raises `NotesError`.

A card's identity (`Card.key`) is a hash of its section key and its normalised question, so the
history of an unchanged question survives edits elsewhere in the file, added chapters, a
retitled chapter (`# Chapter 3: ...` keys on "chapter 3"), and cosmetic changes to the question
(case, spacing, trailing punctuation, markdown emphasis).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

#: The legend the app falls back to when a notes file has none (the bundled file's own legend).
DEFAULT_LEGEND: tuple[tuple[str, str], ...] = (
    ("⭐", "important point"),
    ("🔥", "super important"),
    ("💡", "key concept / tip"),
    ("⚠️", "warning / common mistake"),
    ("🎯", "exam target / question"),
    ("🚀", "advanced topic"),
    ("🚫", "cannot be used / concerning point"),
)

UNSECTIONED = "(no section)"
MAX_FILE_BYTES = 64 * 1024 * 1024

_VS16 = "\ufe0f"
_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_STARS_RE = re.compile(r"^\s*(?:⭐\ufe0f?){2,}\s*(.*?\S)\s*(?:⭐\ufe0f?){2,}\s*$")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_DETAILS_OPEN_RE = re.compile(r"<details(?:\s[^>]*)?>", re.IGNORECASE)
_DETAILS_CLOSE_RE = re.compile(r"</details\s*>", re.IGNORECASE)
_SUMMARY_OPEN_RE = re.compile(r"<summary(?:\s[^>]*)?>", re.IGNORECASE)
_SUMMARY_CLOSE_RE = re.compile(r"</summary\s*>", re.IGNORECASE)
# The canonical marker is "🎯Q."; hand-written variants ("🎯 Q:", "🎯Q", "🎯") are accepted.
_MARKER_RE = re.compile(r"^\s*🎯\ufe0f?\s*(?:Q\s*[.:)\-]?\s*)?", re.IGNORECASE)
_BARE_Q_RE = re.compile(r"^\s*Q\s*[.:]\s+", re.IGNORECASE)
_LEGEND_LINE_RE = re.compile(r"^\s*[-*]?\s*(\S{1,3})\s*[-–—:=]\s*(.+?)\s*$")
_CHAPTER_RE = re.compile(r"^chapter\s+(\d+)\b", re.IGNORECASE)
_TODO_RE = re.compile(r"^[\s\-*+>#.:()\[\]]*(?:todo|tbd)[\s\-*+.:!()\[\]]*$", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]*>")
_BR_ONLY_RE = re.compile(r"^\s*(?:<br\s*/?>\s*)+$", re.IGNORECASE)


class NotesError(Exception):
    """The input is not a notes file at all (unreadable, binary, empty, or without a question)."""


@dataclass(frozen=True)
class ParseWarning:
    line: int  # 1-based line in the file
    message: str

    def to_dict(self) -> dict:
        return {"line": self.line, "message": self.message}


@dataclass(frozen=True)
class Card:
    key: str  # stable identity: hash of section key + normalised question
    section: str  # display name of the section the card is in
    section_key: str
    question: str  # markdown, marker removed
    answer: str  # markdown between </summary> and </details>
    line: int  # line of the <details> that opens the card
    ord: int  # position in the file, 0-based
    open_question: bool = False  # answer is only "TODO" (or nothing): a question still open


@dataclass
class Section:
    name: str
    key: str
    line: int
    cards: int = 0


@dataclass
class ParseResult:
    cards: list[Card] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)  # every section, in file order
    warnings: list[ParseWarning] = field(default_factory=list)
    legend: tuple[tuple[str, str], ...] = DEFAULT_LEGEND
    legend_from_file: bool = False
    path: Path | None = None

    @property
    def card_sections(self) -> list[Section]:
        """The sections that hold at least one card, in file order."""
        return [s for s in self.sections if s.cards]

    @property
    def open_questions(self) -> int:
        return sum(1 for c in self.cards if c.open_question)

    def to_summary(self) -> dict:
        """The shape `studyapp notes FILE --json` prints."""
        return {
            "cards": len(self.cards),
            "sections": [{"name": s.name, "cards": s.cards} for s in self.card_sections],
            "open_questions": self.open_questions,
            "warnings": [w.to_dict() for w in self.warnings],
        }


# --- identity -------------------------------------------------------------------------------

_EMPHASIS = str.maketrans("", "", "*_`~")
_SPACE_PUNCT_RE = re.compile(r"\s+([?.!,:;])")


def normalise_text(text: str) -> str:
    """Case, spacing, markdown emphasis, tags and trailing punctuation do not change identity."""
    text = unicodedata.normalize("NFKC", text).replace(_VS16, "")
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    text = _SPACE_PUNCT_RE.sub(r"\1", text.translate(_EMPHASIS).casefold())
    return " ".join(text.split()).rstrip(" ?.!:;,").strip()


def section_key(name: str) -> str:
    norm = normalise_text(name)
    m = _CHAPTER_RE.match(norm)
    return f"chapter {int(m.group(1))}" if m else norm


def card_key(section_key_: str, question: str) -> str:
    digest = hashlib.sha1(f"{section_key_}\x1f{normalise_text(question)}".encode("utf-8"))
    return digest.hexdigest()[:20]


def is_open_answer(answer: str) -> bool:
    """An answer that is only "TODO"/"TBD" (or nothing, or only <br> runs): an open question."""
    if not answer.strip():
        return True
    low = answer.casefold()
    if len(answer) > 400 or ("todo" not in low and "tbd" not in low and "<br" not in low):
        return False  # the common case, decided without the line-by-line work
    body = "\n".join(ln for ln in answer.splitlines() if ln.strip() and not _BR_ONLY_RE.match(ln))
    return not body.strip() or bool(_TODO_RE.match(body.replace("\n", " ")))


# --- reading files --------------------------------------------------------------------------

def decode_notes(data: bytes, name: str = "file") -> tuple[str, list[ParseWarning]]:
    """Bytes to text: BOMs (UTF-8/16) and CRLF handled; invalid UTF-8 replaced with a warning.
    Raises NotesError for empty or binary input."""
    warnings: list[ParseWarning] = []
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise NotesError(f"{name}: not a notes file (broken UTF-16 text)") from exc
    else:
        if b"\x00" in data[:8192]:
            raise NotesError(f"{name}: not a notes file (it looks binary)")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("utf-8-sig", errors="replace")
            bad = [i + 1 for i, ln in enumerate(text.splitlines()) if "\ufffd" in ln]
            if len(bad) > max(20, len(text) // 200):
                raise NotesError(f"{name}: not a notes file (it is not UTF-8 text)")
            for ln in bad[:20]:
                warnings.append(ParseWarning(ln, "invalid UTF-8 bytes replaced with \ufffd"))
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise NotesError(f"{name}: the file is empty")
    control = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\t\r\n\f")
    if control > 32:
        raise NotesError(f"{name}: not a notes file (it looks binary)")
    return text, warnings


def read_notes_file(path: str | Path) -> bytes:
    """The bytes of a notes file. Only a regular file of at most MAX_FILE_BYTES is read: a
    pipe would block forever, a device such as /dev/zero never ends, a folder has no text.
    Anything else raises NotesError saying which it is."""
    path = Path(path)
    # Non-blocking, so that opening a FIFO returns at once instead of waiting for a writer.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except IsADirectoryError as exc:
        raise NotesError(f"{path}: is a folder, not a notes file") from exc
    except OSError as exc:
        if path.is_dir():
            raise NotesError(f"{path}: is a folder, not a notes file") from exc
        raise NotesError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    limit = f"notes files are read up to {MAX_FILE_BYTES // 2**20} MiB"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            if stat.S_ISDIR(info.st_mode):
                raise NotesError(f"{path}: is a folder, not a notes file")
            raise NotesError(f"{path}: not a regular file (a pipe, device or socket); notes "
                             "are read only from ordinary files")
        with os.fdopen(fd, "rb") as fh:
            if info.st_size > MAX_FILE_BYTES:
                raise NotesError(f"{path}: too large for a notes file "
                                 f"({info.st_size / 2**20:,.0f} MiB; {limit})")
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise NotesError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if len(data) > MAX_FILE_BYTES:  # it grew while being read
        raise NotesError(f"{path}: too large for a notes file ({limit})")
    return data


def parse_file(path: str | Path) -> ParseResult:
    """Read and parse a notes file. Raises NotesError when it is not a notes file at all."""
    path = Path(path)
    data = read_notes_file(path)
    text, warnings = decode_notes(data, str(path))
    result = parse_text(text)
    result.path = path
    result.warnings[:0] = warnings
    if not result.cards:
        raise NotesError(
            f"{path}: no question found. A card is a <details> block whose <summary> starts "
            "with 🎯Q. (see the bundled notes for an example).")
    return result


# --- parsing --------------------------------------------------------------------------------

def _heading(line: str) -> str | None:
    m = _HEADING_RE.match(line)
    if m and m.group(2).strip():
        return m.group(2).strip()
    m = _STARS_RE.match(line)
    if m:
        return m.group(1).strip()
    return None


def _strip_marker(summary: str) -> tuple[str, bool] | None:
    """(question, canonical_marker) if the summary is a question, else None."""
    s = unicodedata.normalize("NFC", summary).strip()
    if s.startswith("🎯"):
        q = _MARKER_RE.sub("", s, count=1).strip()
        canonical = bool(re.match(r"^🎯\ufe0f?Q\.", s))
        return q, canonical
    if _BARE_Q_RE.match(s):
        return _BARE_Q_RE.sub("", s, count=1).strip(), False
    return None


class _Parser:
    def __init__(self, text: str):
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.result = ParseResult()
        self.section: Section | None = None
        self.seen: dict[str, int] = {}

    def warn(self, line_index: int, message: str) -> None:
        self.result.warnings.append(ParseWarning(line_index + 1, message))

    def start_section(self, name: str, i: int) -> None:
        self.section = Section(name=name, key=section_key(name), line=i + 1)
        self.result.sections.append(self.section)

    def run(self) -> ParseResult:
        lines = self.lines
        i, n = 0, len(lines)
        fence: str | None = None
        while i < n:
            line = lines[i]
            if fence is None and "<" not in line and "#" not in line and "⭐" not in line \
                    and "`" not in line and "~" not in line:
                i += 1  # plain text between blocks: nothing to do
                continue
            fm = _FENCE_RE.match(line)
            if fence is not None:
                if fm and fm.group(1)[0] == fence[0] and len(fm.group(1)) >= len(fence):
                    fence = None
                i += 1
                continue
            if fm:
                fence = fm.group(1)
                i += 1
                continue
            dm = _DETAILS_OPEN_RE.search(line)
            if dm and not line[:dm.start()].strip():
                i = self.block(i, dm.end())
                continue
            name = _heading(line)
            if name is not None:
                self.start_section(name, i)
            elif _DETAILS_CLOSE_RE.search(line):
                self.warn(i, "stray </details> with no open <details> block: ignored")
            elif _SUMMARY_CLOSE_RE.search(line) or _SUMMARY_OPEN_RE.search(line):
                sm = _SUMMARY_OPEN_RE.search(line)
                if sm and _strip_marker(_SUMMARY_CLOSE_RE.split(line[sm.end():])[0]):
                    self.warn(i, "question <summary> outside a <details> block: not a card "
                                 "(wrap it in <details> ... </details>)")
                else:
                    self.warn(i, "stray <summary> tag outside a <details> block: ignored")
            i += 1
        return self.result

    # A <details> block starting at line `start`, column `col` (just after the tag).
    # Returns the index of the line to continue with.
    def block(self, start: int, col: int) -> int:
        lines = self.lines
        n = len(lines)
        # 1. Find <summary> ... </summary> (may span lines; blank lines before it are fine).
        j, rest = start, lines[start][col:]
        while not rest.strip() and j + 1 < n and not lines[j + 1].strip():
            j += 1
        if not rest.strip() and j + 1 < n:
            j += 1
            rest = lines[j]
        sm = _SUMMARY_OPEN_RE.match(rest.lstrip())
        summary_parts: list[str] = []
        body_start_line, body_start_col = j, 0
        if sm is None:
            self.warn(start, "<details> block without a <summary>: not a card")
            summary = None
            body_start_line, body_start_col = start, col
        else:
            rest = rest.lstrip()[sm.end():]
            k = j
            while True:
                cm = _SUMMARY_CLOSE_RE.search(rest)
                if cm:
                    summary_parts.append(rest[:cm.start()])
                    body_start_line = k
                    body_start_col = len(lines[k]) - len(rest) + cm.end()
                    break
                # A question's summary rarely spans lines; stop at structure, not at text.
                if (k + 1 >= n or k - j >= 5 or _DETAILS_CLOSE_RE.search(lines[k + 1])
                        or _DETAILS_OPEN_RE.search(lines[k + 1]) or not lines[k + 1].strip()):
                    self.warn(j, "<summary> is not closed with </summary>: "
                                 "its first line is taken as the question")
                    summary_parts = [rest]
                    body_start_line, body_start_col = j + 1, 0
                    break
                summary_parts.append(rest)
                k += 1
                rest = lines[k]
            summary = " ".join(p.strip() for p in summary_parts).strip()
        question = _strip_marker(summary) if summary is not None else None

        # 2. The body, up to the matching </details>.
        body: list[str] = []
        depth = 0
        fence: str | None = None
        k = body_start_line
        first = lines[k][body_start_col:] if k < n else ""
        end_line: int | None = None  # index of the closing </details> line
        resume: int | None = None
        terminated_by: int | None = None
        line_text = first
        while k < n:
            if k != body_start_line:
                line_text = lines[k]
            # Fast path: most answer lines hold no tag and no fence (10,000 cards in < 1 s).
            if "<" not in line_text and "`" not in line_text and "~" not in line_text:
                body.append(line_text)
                k += 1
                continue
            fm = _FENCE_RE.match(line_text)
            if fence is not None:
                if fm and fm.group(1)[0] == fence[0] and len(fm.group(1)) >= len(fence):
                    fence = None
                body.append(line_text)
                k += 1
                continue
            if fm:
                fence = fm.group(1)
                body.append(line_text)
                k += 1
                continue
            om = _DETAILS_OPEN_RE.search(line_text)
            if om and k != body_start_line:
                after = line_text[om.end():]
                peek = after if after.strip() else (lines[k + 1] if k + 1 < n else "")
                sm2 = _SUMMARY_OPEN_RE.search(peek)
                inner = _SUMMARY_CLOSE_RE.split(peek[sm2.end():])[0] if sm2 else ""
                if question is not None and sm2 and _strip_marker(inner) is not None:
                    terminated_by = k  # the next question starts: this block was never closed
                    break
                depth += 1
            cm = _DETAILS_CLOSE_RE.search(line_text)
            if cm:
                if depth > 0:
                    depth -= 1
                else:
                    body.append(line_text[:cm.start()])
                    end_line = k
                    break
            if _SUMMARY_CLOSE_RE.search(line_text) and depth == 0:
                self.warn(k, "stray </summary> inside a <details> block: ignored")
                line_text = _SUMMARY_CLOSE_RE.sub("", line_text)
            body.append(line_text)
            k += 1

        if end_line is None:
            # Unterminated: the answer ends at the first heading in it, else where the next
            # question (or the file) starts.
            stop = terminated_by if terminated_by is not None else n
            cut = None
            for idx in range(len(body)):
                if body_start_line + idx > body_start_line and _heading(body[idx]) is not None:
                    cut = idx
                    break
            if cut is not None:
                body = body[:cut]
                resume = body_start_line + cut
            else:
                resume = stop
            last = max(start, (resume or n) - 1)
            self.warn(start, f"<details> opened here is never closed with </details>; "
                             f"its answer is read up to line {last + 1}")
        else:
            resume = end_line + 1
            if question is not None:
                for idx, text in enumerate(body):
                    if not text.lstrip().startswith("#"):
                        continue
                    h = _heading(text)
                    if h and _CHAPTER_RE.match(normalise_text(h)):
                        self.warn(body_start_line + idx,
                                  f"heading '{h}' is inside an answer, so it does not start a "
                                  "section (close the <details> block above it if it should)")

        # 3. What the block is.
        if question is None:
            if summary is not None and self.legend_block(summary, body):
                pass
            elif summary is not None:
                self.warn(start, f"<details> block '{_short(summary)}' is not a question "
                                 "(its summary does not start with 🎯Q.): not a card")
            return resume
        q_text, canonical = question
        if not q_text:
            self.warn(start, "question marker 🎯Q. with no question text: not a card")
            return resume
        if not canonical:
            self.warn(start, f"question marker written as '{_short(summary, 8)}' "
                             "(expected '🎯Q.'): read as a question")
        self.add_card(q_text, body, start)
        return resume

    def legend_block(self, summary: str, body: list[str]) -> bool:
        entries = []
        for text in body:
            m = _LEGEND_LINE_RE.match(_TAG_RE.sub("", text))
            if m and any(unicodedata.category(ch) == "So" for ch in m.group(1)):
                entries.append((m.group(1), m.group(2)))
        if "emoji" in summary.casefold() or "legend" in summary.casefold() or (
                entries and len(entries) >= len([b for b in body if b.strip()]) // 2):
            if entries:
                self.result.legend = tuple(entries)
                self.result.legend_from_file = True
            return True
        return False

    def add_card(self, question: str, body: list[str], start: int) -> None:
        if self.section is None:
            self.start_section(UNSECTIONED, 0)
        sec = self.section
        assert sec is not None
        # Drop leading/trailing blank and <br>-only lines; keep inner layout for the renderer.
        while body and (not body[0].strip() or _BR_ONLY_RE.match(body[0])):
            body.pop(0)
        while body and (not body[-1].strip() or _BR_ONLY_RE.match(body[-1])):
            body.pop()
        answer = "\n".join(ln.rstrip() for ln in body)
        key = card_key(sec.key, question)
        if key in self.seen:
            first_line = self.seen[key]
            self.seen[key + "#"] = self.seen.get(key + "#", 1) + 1
            dup = self.seen[key + "#"]
            self.warn(start, f"the same question appears again in '{sec.name}' (first at line "
                             f"{first_line}); kept as a separate card")
            key = f"{key}-{dup}"
        self.seen[key] = start + 1
        open_q = is_open_answer(answer)
        if open_q and not answer.strip():
            self.warn(start, "question with an empty answer: kept as an open question")
        self.result.cards.append(Card(
            key=key, section=sec.name, section_key=sec.key, question=question, answer=answer,
            line=start + 1, ord=len(self.result.cards), open_question=open_q))
        sec.cards += 1


def _short(text: str, limit: int = 40) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_text(text: str) -> ParseResult:
    """Parse notes text (never raises on content; problems become warnings)."""
    return _Parser(text.lstrip("\ufeff")).run()
