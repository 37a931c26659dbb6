"""How the labs show tokens and text, without Qt (chapter 2's GPT-2 BPE vocabulary).

One place for what several labs need: a token's visible label (`token_label`: whitespace and
control characters drawn, a newline as ↵, bytes that are only part of a character shown as hex),
a pasted list of IDs parsed with every bad entry named, a loaded file's bytes decoded with
invalid UTF-8 reported, and control characters removed from pasted text with a notice.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from model.tokenizer import ENDOFTEXT, ENDOFTEXT_ID, get_tokenizer

VOCAB_SIZE = ENDOFTEXT_ID + 1

# How whitespace is drawn. The middle dot keeps " the" readable as "·the"; the open box (␣)
# stands out more where a label is short (bars, axes).
MIDDLE_DOT, OPEN_BOX = "\u00b7", "\u2423"
WHITESPACE_MARKS = {" ": MIDDLE_DOT, "\t": "\u2192", "\n": "\u21b5", "\r": "\u27e8CR\u27e9"}
# Control characters by their ASCII names, e.g. ⟨BEL⟩ (the Unicode "control pictures" would be
# shorter, but common fonts lack them and they would show as empty boxes).
_CONTROL_NAMES = ("NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI DLE DC1 DC2 DC3 DC4 "
                  "NAK SYN ETB CAN EM SUB ESC FS GS RS US").split()

# -- making text visible --------------------------------------------------------------------------
def visible_char(ch: str, space: str = MIDDLE_DOT) -> str:
    if ch == " ":
        return space
    mark = WHITESPACE_MARKS.get(ch)
    if mark is not None:
        return mark
    code = ord(ch)
    if code < 0x20:
        return f"\u27e8{_CONTROL_NAMES[code]}\u27e9"  # \x07 -> ⟨BEL⟩
    if code == 0x7F:
        return "\u27e8DEL\u27e9"
    category = unicodedata.category(ch)
    if category in ("Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cn") or (0xD800 <= code <= 0xDFFF):
        return f"\u27e8U+{code:04X}\u27e9"  # zero-width and other invisible characters
    return ch


_NEEDS_MARK = re.compile(r"[\s\x00-\x1f\x7f\u0080-\u009f\u00ad\u200b-\u200f\u2028-\u202e"
                         r"\u2060-\u2064\ufeff\ud800-\udfff]")


def visible(text: str, space: str = MIDDLE_DOT) -> str:
    """Whitespace and control characters replaced by visible marks (· → ↵ ⟨BEL⟩ ⟨U+200B⟩)."""
    if not _NEEDS_MARK.search(text):
        return text
    return "".join(visible_char(ch, space) for ch in text)


def hex_bytes(data: bytes) -> str:
    return " ".join(f"{b:02X}" for b in data)


def bytes_label(data: bytes, space: str = MIDDLE_DOT) -> tuple[str, bool]:
    """A visible label for a token's bytes and whether some bytes are only part of a character.

    Complete characters are shown as text; bytes that do not form a whole character on their own
    (a token holding part of an emoji or an accented letter) are shown as ⟨F0 9F⟩.
    """
    out: list[str] = []
    partial = False
    i = 0
    while i < len(data):
        try:
            out.append(visible(data[i:].decode("utf-8"), space))
            break
        except UnicodeDecodeError as exc:
            if exc.start > 0:
                out.append(visible(data[i:i + exc.start].decode("utf-8"), space))
            bad = data[i + exc.start:i + exc.end]
            out.append(f"\u27e8{hex_bytes(bad)}\u27e9")
            partial = True
            i += exc.end
    return "".join(out), partial


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_characters(text: str) -> list[str]:
    """Control characters other than tab, newline and carriage return (unique, in order)."""
    return list(dict.fromkeys(_CONTROL.findall(text)))


def sanitize(text: str) -> tuple[str, str | None]:
    """Lone surrogates (which UTF-8 cannot hold) become U+FFFD, as tiktoken itself does."""
    try:
        text.encode("utf-8")
        return text, None
    except UnicodeEncodeError:
        fixed = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return fixed, ("The text held unpaired surrogate characters, which are not valid "
                       "Unicode; they were replaced by \ufffd.")


# -- tokenizing ------------------------------------------------------------------------------------
def token_info(token_id: int) -> tuple[bytes, str, bool]:
    """A token ID's bytes, visible label and whether the label shows partial bytes."""
    return (_token_bytes(token_id), *token_label(token_id))


@lru_cache(maxsize=None)
def _token_bytes(token_id: int) -> bytes:
    try:
        return get_tokenizer().decode_single_token_bytes(token_id)
    except KeyError:  # a model with a padded vocabulary (e.g. 50,304) may pick an unused ID
        return b""


@lru_cache(maxsize=None)
def token_label(token_id: int, space: str = MIDDLE_DOT,
                leading_space: bool = True) -> tuple[str, bool]:
    """Visible label of a token ID on its own, and whether it shows partial bytes.

    `space` marks a space (the middle dot, or `OPEN_BOX`); `leading_space=False` drops the space
    most GPT-2 words begin with, for axis labels, while a token of only whitespace keeps its
    marks. Cached: the vocabulary is fixed, and one lookup per token keeps retokenizing cheap.
    """
    if token_id == ENDOFTEXT_ID:
        return ENDOFTEXT, False
    data = _token_bytes(token_id)
    if not data:
        return f"<ID {token_id}: not in GPT-2's vocabulary>", False
    if not leading_space and data.startswith(b" ") and data.strip():
        data = data[1:]
    return bytes_label(data, space)


_ID_SEPARATORS = re.compile(r"[\s,;\[\]()]+")


def parse_ids(raw: str) -> tuple[list[int], list[str]]:
    """IDs from "[15496, 11]", "15496 11", "tensor([[15496, 11]])"...; problems name bad ones."""
    raw = raw.strip()
    if raw.startswith("tensor"):
        raw = raw[len("tensor"):]
    raw = re.sub(r"dtype\s*=\s*[\w.]+", " ", raw)
    ids: list[int] = []
    problems: list[str] = []
    for item in _ID_SEPARATORS.split(raw):
        if not item:
            continue
        try:
            value = int(item)
        except ValueError:
            problems.append(f"{item!r} is not an integer ID")
            continue
        if not 0 <= value < VOCAB_SIZE:
            problems.append(f"{value} is outside GPT-2's vocabulary (IDs 0 to {VOCAB_SIZE - 1})")
            continue
        ids.append(value)
    return ids, problems


# -- loading files ---------------------------------------------------------------------------------
MAX_FILE_BYTES = 20 * 1024 * 1024


def decode_file_bytes(data: bytes, name: str = "the file") -> tuple[str, list[str]]:
    """A file's bytes as text; invalid UTF-8 becomes U+FFFD and is reported with its position."""
    notices: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        bad = text.count("\ufffd") - data.count("\ufffd".encode("utf-8"))
        notices.append(f"{name} is not valid UTF-8: {bad:,} byte sequence(s) could not be "
                       f"decoded (the first at byte {exc.start:,}: "
                       f"{hex_bytes(data[exc.start:exc.end])}); "
                       "they are shown as \ufffd (U+FFFD) and tokenized as that character.")
    if "\x00" in text:
        notices.append(f"{name} contains NUL bytes; it may not be a text file.")
    return text, notices

