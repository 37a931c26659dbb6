"""Chapter 7's instruction data: loading entries, the Alpaca-style prompt, the split, the lengths.

An entry is a dict with `instruction`, `input` (may be empty) and `output`, as in the book's
`instruction-data.json` (shipped in resources/data). `load_entries` reads the shipped file or
any JSON list of such entries: a malformed entry is skipped and named by its index in a
warning, a file that is not a JSON list is refused with an `InstructDataError` naming the file.
`format_input` writes the book's prompt (section 7.2), `split_entries` makes the book's 85/10/5
split in file order (section 7.2), and `encode_entries` / `fit_to_context` turn entries into
token IDs that fit a model's context (section 7.3).

No torch here: the lab can show prompts and splits before torch has loaded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

BUNDLED_DATA = "instruction-data.json"
BUNDLED_RESPONSES = "instruction-data-with-response.json"

PREAMBLE = ("Below is an instruction that describes a task. "
            "Write a response that appropriately completes the request.")
RESPONSE_HEADER = "### Response:"

# The book's split: the first 85% trains, the next 10% tests, the last 5% validates.
TRAIN_FRACTION = 0.85
TEST_FRACTION = 0.10


class InstructDataError(ValueError):
    """An instruction data file cannot be used; the message names the file and says why."""


@dataclass
class LoadedEntries:
    """What `load_entries` read: the usable entries, a warning per skipped one, the source."""

    entries: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    source: str = ""
    skipped: int = 0

    def __len__(self) -> int:
        return len(self.entries)


def bundled_data_path() -> Path:
    """The book's 1,100 instruction entries shipped with the app."""
    from model.resources import resource_path

    return resource_path("data", BUNDLED_DATA)


def bundled_responses_path() -> Path:
    """The book's 110 test entries with the responses of its fine-tuned GPT-2 medium."""
    from model.resources import resource_path

    return resource_path("data", BUNDLED_RESPONSES)


def _entry_problem(entry: Any, required: Sequence[str]) -> str | None:
    if not isinstance(entry, Mapping):
        return f"is a {type(entry).__name__}, not an object with instruction/input/output"
    for key in required:
        if key not in entry:
            return f"has no {key!r}"
    for key in ("instruction", "input", "output", "model_response"):
        if key in entry and not isinstance(entry[key], str):
            return f"has a {type(entry[key]).__name__} as {key!r}, not text"
    if not entry["instruction"].strip():
        return "has an empty 'instruction'"
    return None


def check_entries(raw: Iterable[Any], source: str = "the data",
                  required: Sequence[str] = ("instruction", "output")) -> LoadedEntries:
    """Keep the well-formed entries of `raw` (a list from JSON), with a warning per bad one.

    A missing `input` counts as empty. Other keys (such as `model_response`) are kept.
    Raises `InstructDataError` when no entry is usable.
    """
    entries, warnings = [], []
    skipped = 0
    for index, entry in enumerate(raw):
        problem = _entry_problem(entry, required)
        if problem is not None:
            skipped += 1
            warnings.append(f"{source}: entry {index} skipped: it {problem}")
            continue
        clean = dict(entry)
        clean.setdefault("input", "")
        entries.append(clean)
    if not entries:
        detail = f" ({skipped} malformed)" if skipped else ""
        raise InstructDataError(f"{source} has no usable instruction entries{detail}; each "
                                "needs 'instruction' and 'output' text ('input' may be empty)")
    return LoadedEntries(entries=entries, warnings=warnings, source=source, skipped=skipped)


def load_entries(path: str | os.PathLike | None = None,
                 required: Sequence[str] = ("instruction", "output")) -> LoadedEntries:
    """Read instruction entries from a JSON file (the shipped `instruction-data.json` if None).

    Raises `InstructDataError` naming the file when it is missing, not UTF-8, not JSON (with
    line and column), not a list, or holds no usable entry.
    """
    path = bundled_data_path() if path is None else Path(path)
    name = path.name
    if not path.is_file():
        raise InstructDataError(f"the instruction data file {path} does not exist"
                                if not path.exists() else f"{path} is not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InstructDataError(f"{path} cannot be read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InstructDataError(f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
                                f"position {exc.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstructDataError(f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, "
                                f"column {exc.colno}") from None
    if not isinstance(raw, list):
        raise InstructDataError(f"{name} holds a JSON {type(raw).__name__}, not a list of "
                                "entries with 'instruction', 'input' and 'output'")
    return check_entries(raw, name, required)


def format_input(entry: Mapping[str, Any]) -> str:
    """The book's Alpaca-style prompt (section 7.2): preamble, instruction, input if any.

    The `### Response:` header is not part of it, as in the book: training text adds it with
    the output (`format_response`), and generation lets the model write it.
    """
    text = f"{PREAMBLE}\n\n### Instruction:\n{entry['instruction']}"
    if entry.get("input"):
        text += f"\n\n### Input:\n{entry['input']}"
    return text


def format_response(entry: Mapping[str, Any]) -> str:
    """The part after the prompt in a training example: the header and the expected output."""
    return f"\n\n{RESPONSE_HEADER}\n{entry['output']}"


def format_example(entry: Mapping[str, Any]) -> str:
    """The whole training text of an entry: prompt, `### Response:` header, output."""
    return format_input(entry) + format_response(entry)


def split_sizes(n: int) -> tuple[int, int, int]:
    """(train, test, validation) sizes of the book's split: int(0.85 n), int(0.10 n), rest."""
    train = int(n * TRAIN_FRACTION)
    test = int(n * TEST_FRACTION)
    return train, test, n - train - test


@dataclass
class Split:
    """The book's three parts, in file order."""

    train: list[dict[str, Any]]
    test: list[dict[str, Any]]
    val: list[dict[str, Any]]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "test": len(self.test), "val": len(self.val)}


def split_entries(entries: Sequence[Mapping[str, Any]]) -> Split:
    """Section 7.2's split: first 85% train, next 10% test, last 5% validation (no shuffle).

    The shipped 1,100 entries give 935 / 110 / 55.
    """
    n_train, n_test, _ = split_sizes(len(entries))
    entries = [dict(e) for e in entries]
    return Split(train=entries[:n_train], test=entries[n_train:n_train + n_test],
                 val=entries[n_train + n_test:])


@dataclass
class EncodedEntries:
    """Token IDs of training examples, with what fitting them to a context did.

    `token_ids[i]` is the whole example `format_example(entries[i])`; `prompt_lengths[i]` the
    number of its tokens that belong to `format_input` (for masking the prompt in the loss).
    `kept` indexes the entries used (into the list given); `truncated` counts examples cut to
    the context, `left_out` those dropped because they did not fit.
    """

    token_ids: list[list[int]]
    prompt_lengths: list[int]
    kept: list[int]
    context_length: int | None
    truncated: int = 0
    left_out: int = 0
    longest: int = 0  # tokens of the longest example before fitting

    def summary(self) -> dict[str, int | None]:
        return {"examples": len(self.token_ids), "truncated": self.truncated,
                "left_out": self.left_out, "longest": self.longest,
                "context_length": self.context_length}


def encode_entries(entries: Sequence[Mapping[str, Any]], tokenizer=None,
                   context_length: int | None = None, too_long: str = "truncate"
                   ) -> EncodedEntries:
    """Tokenize each entry's training text (the book's InstructionDataset, section 7.3).

    An example fits when it has at most `context_length` tokens (the collate function's end
    token only ever lands in the targets, shifted by one). Longer examples are
    cut to the context (`too_long="truncate"`, as the book's `allowed_max_length` does) or left
    out (`"drop"`). No context means no limit.
    """
    if too_long not in ("truncate", "drop"):
        raise ValueError(f"too_long must be 'truncate' or 'drop', got {too_long!r}")
    if tokenizer is None:
        from model.tokenizer import get_tokenizer

        tokenizer = get_tokenizer()
    out = EncodedEntries(token_ids=[], prompt_lengths=[], kept=[], context_length=context_length)
    for index, entry in enumerate(entries):
        prompt = tokenizer.encode(format_input(entry))
        ids = prompt + tokenizer.encode(format_response(entry))
        out.longest = max(out.longest, len(ids))
        if context_length is not None and len(ids) > context_length:
            if too_long == "drop":
                out.left_out += 1
                continue
            ids = ids[:context_length]
            out.truncated += 1
        out.token_ids.append(ids)
        out.prompt_lengths.append(min(len(prompt), len(ids)))
        out.kept.append(index)
    return out


def fit_prompt(prompt_ids: list[int], context_length: int, room: int) -> tuple[list[int], bool]:
    """A prompt that leaves `room` tokens for the response: its last tokens when too long.

    Returns (ids, truncated). The front goes because the end holds the instruction's input.
    """
    limit = max(1, context_length - max(0, room))
    if len(prompt_ids) <= limit:
        return list(prompt_ids), False
    return list(prompt_ids[-limit:]), True
