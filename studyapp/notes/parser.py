"""Notes files become flashcards (no Qt).

The deck is the learner's own markdown notes on the book (see resources/notes and the notes
README): `#` headings (and a `⭐⭐⭐ GENERAL NOTES ⭐⭐⭐` line) start sections, and every `<details>`
block whose `<summary>` starts with `🎯Q.` is a card whose answer is the markdown up to
`</details>`. The files are hand-written, so the parser reads what it can, reports the rest as
warnings with line numbers and never raises on content; only something that is not a notes file
at all (unreadable, binary, empty, no question) raises `NotesError`.

Blocks are read as a browser shows them (GitHub renders these files): the summary is the first
`<summary>` child of a `<details>` wherever it stands (text before it opens the answer), tags in
any case and with attributes, a summary spread over lines, a `<details>` nested in an answer
(kept in that answer; a nested question is also a card of its own). A forgotten `</details>` is
told from nesting by whether the block closes before the next section. Every warning names the
question it concerns and what was done, and its `kind` says whether a question was lost.

A card's identity (`Card.key`) is a hash of its section key and its normalised question, so the
history of an unchanged question survives edits elsewhere in the file, added chapters, a
retitled chapter (`# Chapter 3: ...` keys on "chapter 3"), and cosmetic changes to the question
(case, spacing, trailing punctuation, markdown emphasis). Moves and rewordings change the key;
`studyapp.review.matching` finds those cards again when the file is reloaded.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from pathlib import Path

# The cards' types and the answer helpers are part of this module's API.
from studyapp.notes.answers import (  # noqa: F401
    BR_ONLY_RE, NO_ANSWER, ONLY_TODO, image_sources, is_open_answer, open_reason)
from studyapp.notes.checks import check_on_disk
from studyapp.notes.cards import (  # noqa: F401
    DEFAULT_LEGEND, WARNING_KINDS, Card, NotesError, ParseResult, ParseWarning, Section)

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
_TAG_RE = re.compile(r"<[^>]*>")


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
    check_on_disk(result, path)
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


_TAG_OF_INTEREST_RE = re.compile(r"<(/?)(details|summary)\b[^>]*>", re.IGNORECASE)
_DETAILS_ANY_RE = re.compile(r"</?details\b[^>]*>", re.IGNORECASE)
_CODE_SPAN_RE = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)")
#: How far to look for the end of an answer that holds a nested question before deciding
#: that the answer was never closed (a forgotten </details>).
_NEST_LOOKAHEAD_LINES = 2000


def _mask_code(text: str) -> str:
    """Inline code spans blanked out (same length), so a `<details>` written as code is no tag."""
    if "`" not in text:
        return text
    return _CODE_SPAN_RE.sub(lambda m: " " * len(m.group(0)), text)


def _is_section_break(line: str) -> bool:
    """A heading that ends an unclosed answer: a level-1 heading, a chapter, a ⭐⭐⭐ line."""
    m = _HEADING_RE.match(line)
    if m and m.group(2).strip():
        return len(m.group(1)) == 1 or bool(_CHAPTER_RE.match(normalise_text(m.group(2))))
    return bool(_STARS_RE.match(line))


Lines = list[tuple[int, str]]  # (0-based line index in the file, text)


class _Parser:
    def __init__(self, text: str):
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.result = ParseResult()
        self.section: Section | None = None
        self.seen: dict[str, int] = {}

    def warn(self, line_index: int, message: str, kind: str = "read",
             question: str | None = None) -> None:
        self.result.warnings.append(ParseWarning(line_index + 1, message, kind, question))

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
                self.warn(i, "stray </details> with no open <details> block: ignored", "ignored")
            elif _SUMMARY_CLOSE_RE.search(line) or _SUMMARY_OPEN_RE.search(line):
                sm = _SUMMARY_OPEN_RE.search(line)
                inner = _strip_marker(_SUMMARY_CLOSE_RE.split(line[sm.end():])[0]) if sm else None
                if inner:
                    self.warn(i, f"question '{_short(inner[0])}' has its <summary> outside a "
                                 "<details> block, so it is not a card (wrap it in <details> "
                                 "... </details>)", "lost", inner[0])
                else:
                    self.warn(i, "stray <summary> tag outside a <details> block: ignored",
                              "ignored")
            i += 1
        return self.result

    # -- a <details> block ------------------------------------------------------------------

    def read_summary(self, k: int, col: int) -> tuple[str, int, int, bool, int]:
        """The summary whose <summary> tag ends at line k, column col.
        Returns (text, resume line, resume column, closed, line of its text)."""
        lines, n = self.lines, len(self.lines)
        parts: list[str] = []
        j, c = k, col
        text_line = None
        while j < n and j - k <= 4:
            seg = lines[j][c:]
            cm = _SUMMARY_CLOSE_RE.search(seg)
            om = _DETAILS_ANY_RE.search(seg)
            if cm and (om is None or cm.start() < om.start()):
                parts.append(seg[:cm.start()])
                if text_line is None and seg[:cm.start()].strip():
                    text_line = j
                return (" ".join(p.strip() for p in parts if p.strip()), j, c + cm.end(), True,
                        k if text_line is None else text_line)
            piece = seg[:om.start()] if om else seg
            if not piece.strip() and text_line is not None:
                break  # a blank line after the question and no </summary>: the answer begins
            if piece.strip() and text_line is None:
                text_line = j
            parts.append(piece)
            if om:
                break
            j, c = j + 1, 0
        # Not closed: the first line of text is the question, the answer starts after it.
        if text_line is None:
            return "", k + 1, 0, False, k
        first = lines[text_line][col if text_line == k else 0:]
        om = _DETAILS_ANY_RE.search(first)
        if om:
            offset = col if text_line == k else 0
            return first[:om.start()].strip(), text_line, offset + om.start(), False, text_line
        return first.strip(), text_line + 1, 0, False, text_line

    def peek_question(self, k: int, col: int) -> bool:
        """Whether the <details> whose tag ends at (k, col) is a question block."""
        lines, n = self.lines, len(self.lines)
        for j in range(k, min(n, k + 20)):
            seg = _mask_code(lines[j][col if j == k else 0:])
            m = _TAG_OF_INTEREST_RE.search(seg)
            if m is None:
                continue
            if m.group(2).lower() != "summary" or m.group(1):
                return False
            inner = _SUMMARY_CLOSE_RE.split(seg[m.end():])[0]
            if not inner.strip() and j + 1 < n:
                inner = lines[j + 1]
            return _strip_marker(_TAG_RE.sub("", inner)) is not None
        return False

    def closes_later(self, k: int, col: int) -> bool:
        """Whether the enclosing block gets its </details> after a nested block opened at (k, col),
        before the file ends or a new section starts: if not, it was never closed."""
        lines, n = self.lines, len(self.lines)
        depth, fence = 2, None
        for j in range(k, min(n, k + _NEST_LOOKAHEAD_LINES)):
            line = lines[j][col if j == k else 0:]
            fm = _FENCE_RE.match(line) if j != k else None
            if fence is not None:
                if fm and fm.group(1)[0] == fence[0] and len(fm.group(1)) >= len(fence):
                    fence = None
                continue
            if fm:
                fence = fm.group(1)
                continue
            if j != k and _is_section_break(line):
                return False
            for m in _DETAILS_ANY_RE.finditer(_mask_code(line)):
                depth += -1 if m.group(0)[1] == "/" else 1
                if depth == 0:
                    return True
        return False

    def block(self, start: int, col: int) -> int:
        """A <details> block whose tag ends at line `start`, column `col`. Returns the index of
        the line to continue with. As in HTML, its summary is its first <summary> child,
        wherever it stands; text before it goes to the start of the answer."""
        lines, n = self.lines, len(self.lines)
        pre: Lines = []
        body: Lines = []
        bucket = pre
        summary: str | None = None
        summary_line = start
        summary_closed = True
        nested: list[tuple[int, int]] = []
        depth = 0
        broken = False  # a section heading stood in this block: it was never closed
        fence: str | None = None
        end_line: int | None = None
        terminated_by: int | None = None
        k, pos = start, col
        while k < n:
            text = lines[k][pos:]
            if fence is not None or (pos == 0 and _FENCE_RE.match(text)):
                fm = _FENCE_RE.match(text)
                if fence is None:
                    fence = fm.group(1)
                elif fm and fm.group(1)[0] == fence[0] and len(fm.group(1)) >= len(fence):
                    fence = None
                bucket.append((k, text))
                k, pos = k + 1, 0
                continue
            if depth == 0 and not broken and ("#" in text or "⭐" in text):
                broken = _is_section_break(text)
            if "<" not in text:  # most answer lines: 10,000 cards in well under a second
                bucket.append((k, text))
                k, pos = k + 1, 0
                continue
            masked = _mask_code(text)
            buf: list[str] = []
            last = 0
            jumped = False
            for m in _TAG_OF_INTEREST_RE.finditer(masked):
                buf.append(text[last:m.start()])
                last = m.end()
                closing, tag = bool(m.group(1)), m.group(2).lower()
                if tag == "details" and not closing:
                    if depth == 0 and self.peek_question(k, pos + m.end()):
                        if broken or not self.closes_later(k, pos + m.end()):
                            terminated_by = k  # the next question starts: this one never closed
                            break
                        nested.append((k, pos + m.end()))
                    depth += 1
                    buf.append(m.group(0))
                elif tag == "details":
                    if depth:
                        depth -= 1
                        buf.append(m.group(0))
                    else:
                        end_line = k
                        break
                elif not closing and depth == 0 and summary is None:
                    if "".join(buf).strip():
                        bucket.append((k, "".join(buf)))
                    summary, k2, c2, summary_closed, summary_line = self.read_summary(
                        k, pos + m.end())
                    bucket = body
                    if k2 < n and lines[k2][c2:].strip() == "":
                        k2, c2 = k2 + 1, 0  # nothing after </summary> on its line
                    k, pos, jumped = k2, c2, True
                    break
                elif not closing and depth == 0:
                    again = _strip_marker(_TAG_RE.sub("", _SUMMARY_CLOSE_RE.split(
                        text[m.end():])[0]))
                    if again and again[0]:
                        self.warn(k, f"question '{_short(again[0])}' is a second <summary> "
                                     f"inside the block opened at line {start + 1}: browsers "
                                     "show it as part of that answer, so it is not a card "
                                     "(start it with its own <details>)", "lost", again[0])
                    buf.append(m.group(0))
                elif closing and depth == 0:
                    self.warn(k, f"stray </summary> in {_block_name(summary)}: ignored",
                              "ignored", _question_of(summary))
                else:
                    buf.append(m.group(0))
            if jumped:
                continue
            if terminated_by is not None:
                if "".join(buf).strip():
                    bucket.append((k, "".join(buf)))
                break
            if end_line is not None:
                bucket.append((k, "".join(buf)))
                break
            buf.append(text[last:])
            bucket.append((k, "".join(buf)))
            k, pos = k + 1, 0

        question = _strip_marker(summary) if summary is not None else None
        answer_lines = pre + body
        if end_line is None:
            # Unclosed: the answer ends at the first section heading in it, else where the
            # next question (or the file) starts.
            stop = terminated_by if terminated_by is not None else n
            cut = next((idx for idx, (ln, t) in enumerate(answer_lines)
                        if ln > start and _heading(t) is not None), None)
            if cut is not None:
                resume = answer_lines[cut][0]
                answer_lines = answer_lines[:cut]
                nested = [(ln, c) for ln, c in nested if ln < resume]
            else:
                resume = stop
            last_line = max(start, resume - 1)
            self.warn(start, f"{_block_name(summary).capitalize()} opened here is never closed "
                             f"with </details>; its answer is read up to line {last_line + 1}",
                      "read", _question_of(summary))
        else:
            resume = end_line + 1
            if question is not None:
                for ln, text in answer_lines:
                    if not text.lstrip().startswith("#"):
                        continue
                    h = _heading(text)
                    if h and _CHAPTER_RE.match(normalise_text(h)):
                        self.warn(ln, f"heading '{h}' is inside the answer of "
                                      f"'{_short(question[0])}', so it does not start a section "
                                      "(close the <details> block above it if it should)",
                                  "read", question[0])

        # What the block is.
        if summary is None:
            self.warn(start, "<details> block without a <summary>: not a question, so not a card",
                      "ignored")
        elif question is None:
            if not self.legend_block(summary, [t for _, t in answer_lines]):
                self.warn(start, f"<details> block '{_short(summary)}' is not a question "
                                 "(its summary does not start with 🎯Q.): not a card", "ignored")
        elif not question[0]:
            self.warn(summary_line, "question marker 🎯Q. with no question text: not a card",
                      "lost")
        else:
            q_text, canonical = question
            if not canonical:
                self.warn(start, f"question '{_short(q_text)}': marker written as "
                                 f"'{_short(summary, 8)}' (expected '🎯Q.'); read as a question",
                          "read", q_text)
            if not summary_closed:
                self.warn(summary_line, f"question '{_short(q_text)}': <summary> is not closed "
                                        "with </summary>; its first line is taken as the "
                                        "question and the lines after it as the answer",
                          "read", q_text)
            if any(t.strip() for _, t in pre):
                first_pre = next(ln for ln, t in pre if t.strip())
                self.warn(first_pre, f"question '{_short(q_text)}': its <summary> (line "
                                     f"{summary_line + 1}) is not the first line of its "
                                     "<details> block; the card is read anyway, with the text "
                                     "before the summary at the start of the answer",
                          "read", q_text)
            self.add_card(q_text, answer_lines, start)
        for ln, c in nested:
            if question is not None and question[0]:
                self.warn(ln, f"question nested in the answer of '{_short(question[0])}': "
                              "it is a card of its own and also stays in that answer", "read")
            self.block(ln, c)
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

    def add_card(self, question: str, body: Lines, start: int) -> None:
        if self.section is None:
            self.start_section(UNSECTIONED, 0)
        sec = self.section
        assert sec is not None
        # Drop leading/trailing blank and <br>-only lines; keep inner layout for the renderer.
        body = list(body)
        while body and (not body[0][1].strip() or BR_ONLY_RE.match(body[0][1])):
            body.pop(0)
        while body and (not body[-1][1].strip() or BR_ONLY_RE.match(body[-1][1])):
            body.pop()
        answer = "\n".join(t.rstrip() for _, t in body)
        key = card_key(sec.key, question)
        if key in self.seen:
            first_line = self.seen[key]
            self.seen[key + "#"] = self.seen.get(key + "#", 1) + 1
            dup = self.seen[key + "#"]
            self.warn(start, f"question '{_short(question)}' appears again in '{sec.name}' "
                             f"(first at line {first_line}); kept as a separate card",
                      "read", question)
            key = f"{key}-{dup}"
        self.seen[key] = start + 1
        reason, todo_line = open_reason(body)
        if reason == NO_ANSWER:
            self.warn(start, f"question '{_short(question)}' has an empty answer: "
                             "kept as an open question (no answer yet)", "open", question)
        images = tuple((ln + 1, src) for ln, t in body if "!" in t or "<" in t
                       for src in image_sources(t))
        self.result.cards.append(Card(
            key=key, section=sec.name, section_key=sec.key, question=question, answer=answer,
            line=start + 1, ord=len(self.result.cards), open_question=bool(reason),
            open_reason=reason, todo_line=todo_line, images=images))
        sec.cards += 1


def _question_of(summary: str | None) -> str | None:
    q = _strip_marker(summary) if summary is not None else None
    return q[0] if q and q[0] else None


def _block_name(summary: str | None) -> str:
    q = _question_of(summary)
    if q:
        return f"the block of question '{_short(q)}'"
    if summary:
        return f"the <details> block '{_short(summary)}'"
    return "the <details> block"


def _short(text: str, limit: int = 40) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_text(text: str) -> ParseResult:
    """Parse notes text (never raises on content; problems become warnings)."""
    return _Parser(text.lstrip("\ufeff")).run()
