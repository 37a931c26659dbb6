"""Chapter 5's data: reading a training text, the 90/10 split, and the token windows.

`read_corpus` refuses what is not UTF-8 text with a message saying why; `builtin_corpus` names
the two texts the app ships (The Verdict, and the bundled chapter notes, both read from
`studyapp.resources` through importlib.resources); `split_corpora` is the book's split by
characters; `windows` cuts token IDs into the `context_length + 1` windows that
`GPTDatasetV1` makes with a stride of `context_length`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import torch

from model.train.config import TrainingError


def read_corpus(path: str | os.PathLike) -> str:
    """Read a training text, refusing what is not UTF-8 text with a message saying why."""
    path = Path(path)
    if not path.exists():
        raise TrainingError(f"the corpus file {path} does not exist")
    if not path.is_file():
        raise TrainingError(f"the corpus {path} is not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TrainingError(f"the corpus file {path} cannot be read: {exc.strerror}") from None
    if not data.strip():
        raise TrainingError(f"the corpus file {path.name} is empty; choose a file with text in it")
    if b"\x00" in data[:65536]:
        raise TrainingError(
            f"{path.name} looks like a binary file (it contains NUL bytes), not text; choose a "
            "plain-text file such as .txt or .md"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 1].hex()
        raise TrainingError(
            f"{path.name} is not UTF-8 text (byte 0x{bad} at position {exc.start}); save it as "
            "UTF-8 and try again"
        ) from None


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
