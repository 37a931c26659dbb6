"""Chapter 5's data: reading a training text, the 90/10 split, and the token windows.

`read_corpus` refuses what is not UTF-8 text with a message saying why; `builtin_corpus` names
the two texts the app ships (The Verdict, and the bundled chapter notes, both read from
`studyapp.resources` through importlib.resources); `split_corpora` is the book's split by
characters; `windows` cuts token IDs into the `context_length + 1` windows that
`GPTDatasetV1` makes with a stride of `context_length`. `encode_corpus` tokenizes a long text
in pieces, checking a stop token between them, so a window closing during a 100 MB corpus
need not wait for the whole of it.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Sequence

import torch

from model.text_files import TextFileProblem, read_text_file
from model.train.config import TrainingError, TrainingStopped

# About a tenth of a second of tiktoken per piece: short enough that a stop is seen at once.
TOKENIZE_CHUNK_CHARS = 1 << 20


_TEXT_PROBLEMS = {
    "missing": "the corpus file {path} does not exist",
    "not_file": "the corpus {path} is not a file",
    "unreadable": "the corpus file {path} cannot be read: {reason}",
    "empty": "the corpus file {name} is empty; choose a file with text in it",
    "binary": "{name} looks like a binary file (it contains NUL bytes), not text; choose a "
              "plain-text file such as .txt or .md",
    "not_utf8": "{name} is not UTF-8 text (byte 0x{byte:02x} at position {position}); save it "
                "as UTF-8 and try again",
}


def read_corpus(path: str | os.PathLike) -> str:
    """Read a training text, refusing what is not UTF-8 text with a message saying why."""
    try:
        return read_text_file(path)
    except TextFileProblem as exc:
        raise TrainingError(exc.describe(_TEXT_PROBLEMS)) from None


def builtin_corpus(name: str) -> tuple[str, str] | None:
    """(label, text) of a corpus the app ships: 'the-verdict' or 'notes'; None otherwise."""
    from model.resources import read_bundled_notes, read_the_verdict

    key = name.strip().lower()
    if key in ("the-verdict", "verdict", "the_verdict"):
        return "The Verdict (Edith Wharton, 1908)", read_the_verdict()
    if key in ("notes", "the-notes"):
        return "the bundled chapter notes", read_bundled_notes()
    return None


def load_corpus(spec: str) -> tuple[str, str]:
    """(label, text) for a built-in name or a file path."""
    builtin = builtin_corpus(spec)
    if builtin is not None:
        return builtin
    return Path(spec).name, read_corpus(spec)


def split_corpora(texts: Sequence[str], train_ratio: float = 0.90) -> tuple[str, str]:
    """Split each text by characters (chapter 5) and join the parts with <|endoftext|>.

    With one text this is exactly the book's split; with several, each contributes to both
    the training and the validation part.
    """
    from model.data import train_val_split

    parts = [train_val_split(t, train_ratio) for t in texts]
    sep = " <|endoftext|> "
    return sep.join(p[0] for p in parts), sep.join(p[1] for p in parts)


# A space or newline right after a non-space character: GPT-2's pre-tokenizer never joins what
# is on either side of it (the whitespace run, and the word it may lead, start afresh there), so
# pieces cut there have the same tokens as the whole text.
_SAFE_CUT = re.compile(r"(?<=\S)[ \n]")


def _piece_end(text: str, start: int, size: int) -> int:
    """Where a piece of about `size` characters from `start` may end (see `_SAFE_CUT`)."""
    if start + size >= len(text):
        return len(text)
    found = _SAFE_CUT.search(text, start + size)
    return found.start() if found else len(text)


def encode_corpus(tokenizer, text: str, stop=None,
                  chunk_chars: int = TOKENIZE_CHUNK_CHARS) -> torch.Tensor:
    """Token IDs of `text` (1-D long tensor), equal to `tokenizer.encode(text)`.

    The text is encoded `chunk_chars` characters at a time; `stop` (a StopToken) is checked
    before each piece and raises `TrainingStopped` when set.
    """
    parts, start = [], 0
    while start < len(text):
        if stop is not None and stop.stopped:
            raise TrainingStopped("stopped while tokenizing the corpus")
        end = _piece_end(text, start, chunk_chars)
        parts.append(torch.tensor(tokenizer.encode(text[start:end]), dtype=torch.long))
        start = end
    if not parts:
        return torch.empty(0, dtype=torch.long)
    return parts[0] if len(parts) == 1 else torch.cat(parts)


def windows(ids: torch.Tensor, context_length: int) -> torch.Tensor:
    """(n, context_length + 1) windows every context_length tokens, as GPTDatasetV1 makes."""
    if ids.numel() <= context_length:
        return ids.new_empty((0, context_length + 1))
    return ids.unfold(0, context_length + 1, context_length)


def suggest_context(train_tokens: int, val_tokens: int, batch_size: int, world: int) -> int:
    """The longest power-of-two context that leaves one validation window and one batch."""
    for ctx in (1024, 512, 256, 128, 64, 32, 16, 8, 4):
        n_train = max(0, math.ceil((train_tokens - ctx) / ctx))
        if val_tokens > ctx and n_train >= batch_size * world:
            return ctx
    return 0
