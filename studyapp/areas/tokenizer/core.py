"""What the Tokenizer lab shows, computed without Qt (chapter 2, sections 2.2 to 2.6).

- `tokenize(text)`: GPT-2 BPE token IDs plus, for the first `limit` tokens, a `TokenPiece` each:
  its bytes, a visible label (whitespace and control characters drawn, bytes that are only part
  of a character shown as hex rather than replacement marks) and where it sits in the text.
- `visible(text)`: whitespace and control characters made visible.
- `chapter2(text, corpus)`: the book's simple tokenizers V1 and V2 next to BPE on the same text.
- `sliding_windows(ids, ...)`: the input/target windows and first batch the chapter 2 dataloader
  makes (the same arithmetic as `model.data.GPTDatasetV1`, without torch; tests compare the two).
- `parse_ids` / `decode_ids`: a pasted list of IDs back to text, every invalid entry named.
- `decode_file_bytes`: a loaded file's bytes to text, invalid UTF-8 reported, not hidden.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from model.tokenizer import (ENDOFTEXT, ENDOFTEXT_ID, UNK, SimpleTokenizerV1, SimpleTokenizerV2,
                             UnknownTokenError, build_vocab, get_tokenizer, simple_split)
from studyapp.tokens import (control_characters, hex_bytes, parse_ids,
                             sanitize, token_info, token_label, visible_char)

EXAMPLE_TEXT = ("Hello, do you like tea? <|endoftext|> In the sunlit terraces of "
                "someunknownPlace.")


class TokenPiece(NamedTuple):
    """One GPT-2 token of the text, as the lab shows it (a tuple: thousands are made per
    keystroke, and tuples are the cheapest records Python builds)."""

    index: int  # position in the token list
    id: int
    data: bytes  # the token's bytes
    label: str  # visible text (see bytes_label)
    start: int  # characters of the text this token covers (whole characters)
    end: int
    partial: bool = False  # holds only part of a character's bytes
    special: bool = False  # <|endoftext|>

    def describe(self, text: str) -> str:
        """ID, bytes and text, for the hover read-out."""
        lines = [f"Token #{self.index}: ID {self.id}",
                 f"Bytes ({len(self.data)}): {hex_bytes(self.data)}",
                 f"Text: {self.label!r}"]
        if self.special:
            lines.append("The special token <|endoftext|> (ID 50256): the text typed it, so it "
                         "is one token, not split into pieces.")
        if self.partial:
            chars = text[self.start:self.end]
            names = ", ".join(f"{c!r} U+{ord(c):04X} {unicodedata.name(c, '')}".strip()
                              for c in chars[:3])
            lines.append(f"Only part of the UTF-8 bytes of {names}: that character is split "
                         "across several tokens.")
        return "\n".join(lines)


@dataclass
class Tokenization:
    text: str
    ids: list[int]
    pieces: list[TokenPiece]  # the first `limit` tokens only
    notices: list[str] = field(default_factory=list)

    @property
    def n_chars(self) -> int:
        return len(self.text)

    @property
    def n_tokens(self) -> int:
        return len(self.ids)

    @property
    def n_bytes(self) -> int:
        return len(self.text.encode("utf-8"))

    @property
    def chars_per_token(self) -> float:
        return self.n_chars / self.n_tokens if self.ids else 0.0

    @property
    def truncated(self) -> bool:
        return len(self.pieces) < len(self.ids)

    def counts_text(self) -> str:
        if not self.ids:
            return "0 characters, 0 tokens"
        return (f"{self.n_chars:,} characters, {self.n_tokens:,} tokens, "
                f"{self.chars_per_token:.2f} characters per token")

    def shown_text(self) -> str:
        if not self.truncated:
            return ""
        return (f"Showing the first {len(self.pieces):,} of {self.n_tokens:,} tokens "
                f"(all {self.n_tokens:,} are counted).")

    def piece_at_char(self, char_index: int) -> TokenPiece | None:
        """The token covering a character (the first such when a character spans several)."""
        lo, hi = 0, len(self.pieces)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.pieces[mid].end <= char_index:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(self.pieces) and self.pieces[lo].start <= char_index < self.pieces[lo].end:
            return self.pieces[lo]
        return None


def tokenize(text: str, limit: int | None = 2000) -> Tokenization:
    """Encode `text` with GPT-2 BPE; describe the first `limit` tokens (all when None).

    Counting needs only the IDs, which tiktoken computes fast even for megabytes; the per-token
    descriptions are built for the tokens that will be drawn.
    """
    text, notice = sanitize(text)
    tokenizer = get_tokenizer()
    ids = tokenizer.encode(text)
    notices = [notice] if notice else []
    shown = ids if limit is None else ids[:limit]
    pieces: list[TokenPiece] = []
    if shown:
        infos = [token_info(t) for t in shown]
        lengths = np.fromiter((len(info[0]) for info in infos), dtype=np.int64,
                              count=len(infos))
        ends = np.cumsum(lengths)
        starts = ends - lengths
        total = int(ends[-1])
        # Map byte offsets to character offsets: a byte starts a character unless it is a
        # UTF-8 continuation byte (10xxxxxx).
        # (total + 1 characters always hold at least total + 1 bytes when the text is longer.)
        raw = np.frombuffer(text[:total + 1].encode("utf-8")[:total + 1], dtype=np.uint8)
        is_start = np.append((raw & 0xC0) != 0x80, True)  # past the end counts as a boundary
        char_at = np.cumsum(is_start) - 1
        starts_c = char_at[starts].tolist()
        ends_c = (char_at[ends - 1] + 1).tolist()
        partial = (~is_start[starts] | ~is_start[ends]).tolist()
        pieces = [TokenPiece(i, t, info[0], info[1], a, b, p or info[2], t == ENDOFTEXT_ID)
                  for i, (t, info, a, b, p)
                  in enumerate(zip(shown, infos, starts_c, ends_c, partial))]
    controls = control_characters(text)
    if controls:
        shown_controls = " ".join(f"{visible_char(c)} (U+{ord(c):04X})" for c in controls[:6])
        notices.append(f"The text contains control characters, drawn as {shown_controls}; "
                       "BPE encodes them as bytes like any other character.")
    return Tokenization(text, ids, pieces, notices)


def id_list_text(pieces: list[TokenPiece], total: int,
                 per_line: int = 5) -> tuple[str, list[tuple[int, int]]]:
    """"[15496, 11, ...]" and each ID's character span in it (to highlight the hovered one).

    A line break every `per_line` IDs keeps the text editor fast: it lays out line by line,
    and one line of thousands of IDs would be laid out whole on every change.
    """
    strs = [str(piece.id) for piece in pieces]
    lengths = np.fromiter(map(len, strs), dtype=np.int64, count=len(strs))
    starts = 1 + np.concatenate(([0], np.cumsum(lengths + 2)[:-1])) if strs else lengths
    spans = list(zip(starts.tolist(), (starts + lengths).tolist()))
    body = ",\n".join(", ".join(strs[i:i + per_line]) for i in range(0, len(strs), per_line))
    more = f", \u2026 {total - len(pieces):,} more" if total > len(pieces) else ""
    return "[" + body + more + "]", spans


# -- chapter 2: the simple tokenizers next to BPE -------------------------------------------------
@dataclass
class Chapter2Result:
    corpus_name: str
    vocab_size: int  # words only (The Verdict: 1,130)
    vocab_size_specials: int  # with <|endoftext|> and <|unk|> (1,132)
    tokens: list[str]  # the simple split of the text
    v1_ids: list[int] | None
    v1_error: str | None
    unknown: list[str]  # unknown words, in order of first appearance
    v2_ids: list[int]
    v2_decoded: str
    bpe_ids: list[int]
    bpe_unknown_split: dict[str, list[str]]  # unknown word -> BPE pieces it becomes
    endoftext_id: int | None
    unk_id: int | None
    notice: str | None = None


@lru_cache(maxsize=4)
def _vocabs(corpus: str) -> tuple[dict[str, int], dict[str, int]]:
    return build_vocab(corpus), build_vocab(corpus, specials=True)


def chapter2(text: str, corpus: str, corpus_name: str = "The Verdict",
             max_chars: int = 20000) -> Chapter2Result:
    """The book's V1 and V2 tokenizers built on `corpus`, applied to `text`, beside BPE."""
    notice = None
    if len(text) > max_chars:
        notice = (f"The simple tokenizers run on the first {max_chars:,} of "
                  f"{len(text):,} characters.")
        text = text[:max_chars]
    vocab, vocab_sp = _vocabs(corpus)
    tokens = simple_split(text)
    # Unknown to V2's vocabulary (which has the specials): these become <|unk|>.
    unknown = list(dict.fromkeys(t for t in tokens if t not in vocab_sp))
    v1_ids, v1_error = None, None
    try:
        v1_ids = SimpleTokenizerV1(vocab).encode(text)
    except UnknownTokenError as exc:
        v1_error = str(exc)
    v2 = SimpleTokenizerV2(vocab_sp)
    v2_ids = v2.encode(text)
    bpe = get_tokenizer()
    splits = {}
    for word in unknown[:20]:
        splits[word] = [token_label(i)[0] for i in bpe.encode(word)]
    return Chapter2Result(
        corpus_name=corpus_name, vocab_size=len(vocab), vocab_size_specials=len(vocab_sp),
        tokens=tokens, v1_ids=v1_ids, v1_error=v1_error, unknown=unknown, v2_ids=v2_ids,
        v2_decoded=v2.decode(v2_ids), bpe_ids=bpe.encode(text), bpe_unknown_split=splits,
        endoftext_id=vocab_sp.get(ENDOFTEXT), unk_id=vocab_sp.get(UNK), notice=notice)


# -- chapter 2: sliding windows --------------------------------------------------------------------
@dataclass
class Windows:
    max_length: int
    stride: int
    batch_size: int
    n_tokens: int
    count: int  # windows the dataset holds
    starts: list[int]  # start offsets of the windows listed (at most `max_listed`)
    inputs: list[list[int]]
    targets: list[list[int]]
    problem: str | None = None

    @property
    def n_batches(self) -> int:
        """Batches per epoch with drop_last=True, as create_dataloader_v1 does by default."""
        return self.count // self.batch_size

    def batch(self, k: int = 0) -> tuple[list[list[int]], list[list[int]]]:
        lo = k * self.batch_size
        return self.inputs[lo:lo + self.batch_size], self.targets[lo:lo + self.batch_size]


def sliding_windows(ids: list[int], max_length: int, stride: int, batch_size: int,
                    max_listed: int = 64) -> Windows:
    """Windows of `max_length` IDs every `stride` tokens, targets shifted by one.

    Same loop as GPTDatasetV1: starts are range(0, len(ids) - max_length, stride).
    """
    problem = None
    for name, value in (("max_length", max_length), ("stride", stride),
                        ("batch size", batch_size)):
        if value < 1:
            problem = f"{name} must be at least 1."
    if problem:
        return Windows(max_length, stride, batch_size, len(ids), 0, [], [], [], problem)
    n = len(ids)
    starts_all = range(0, n - max_length, stride)
    count = len(starts_all)
    listed = list(starts_all[:max(max_listed, batch_size)])
    inputs = [ids[i:i + max_length] for i in listed]
    targets = [ids[i + 1:i + max_length + 1] for i in listed]
    if count == 0:
        problem = (f"The text has {n:,} tokens; a window of max_length {max_length} needs at "
                   f"least {max_length + 1} (the target is shifted by one). Type more text or "
                   "lower max_length.")
    elif count < batch_size:
        problem = (f"Only {count} window(s) fit, fewer than the batch size {batch_size}: with "
                   "drop_last=True the dataloader would yield no batch. The windows are shown "
                   "anyway.")
    return Windows(max_length, stride, batch_size, n, count, listed, inputs, targets, problem)


# -- decoding --------------------------------------------------------------------------------------
@dataclass
class Decoded:
    ids: list[int]
    text: str
    problems: list[str]
    incomplete: bool = False  # the bytes did not form whole characters everywhere


def decode_ids(raw: str) -> Decoded:
    """Decode the valid IDs of a pasted list; invalid ones are named and skipped."""
    ids, problems = parse_ids(raw)
    if not ids:
        return Decoded([], "", problems)
    data = b"".join(get_tokenizer().decode_single_token_bytes(i) for i in ids)
    try:
        return Decoded(ids, data.decode("utf-8"), problems)
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        problems.append("Some bytes do not form whole UTF-8 characters (a character's bytes "
                        "are split and only part of them is in the list); they are shown as "
                        "\ufffd.")
        return Decoded(ids, text, problems, incomplete=True)
