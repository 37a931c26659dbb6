"""Chapter 6's data: labelled texts read, balanced, split, tokenized and padded.

Sources (`load_labelled`):

- a CSV or TSV with a label column and a text column: the book's `SMSSpamCollection`
  (tab-separated ``ham<TAB>text``, no header) and its `train.csv` / `validation.csv` /
  `test.csv` (``Label,Text``); opening that `train.csv` with its two siblings beside it keeps
  the book's split as it is;
- two or more plain text files, one label each (the file's name), cut into sentences, or into
  lines for Markdown;
- "verdict-vs-notes", shipped and ready: sentences of The Verdict (fiction) against lines of
  the bundled chapter notes (notes).

Then the book's preparation (`prepare`): balance the classes by undersampling, shuffle and split
70/10/20 with a fixed seed, tokenize, and pad every text to the longest training text (or a
chosen maximum, counting the texts it truncates) with ``<|endoftext|>`` (50256). Bad input
raises `ClassifyDataError` (a ValueError) naming the file and the line.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

PAD_TOKEN_ID = 50256  # <|endoftext|>
DEFAULT_DATA = "verdict-vs-notes"
SPLIT_FRACTIONS = (0.7, 0.1)  # train, validation; the test set is the rest (20%)
LABEL_COLUMNS = ("label", "class", "category", "target")
TEXT_COLUMNS = ("text", "message", "sentence", "sms", "review")
MIN_WORDS = 3  # shorter sentences or lines ("Well!", headings) carry no style to learn


class ClassifyDataError(ValueError):
    """The data cannot be used as asked; the message names the file (and line) and says why."""


@dataclass(frozen=True)
class Example:
    text: str
    label: int
    source: str = ""  # the file's name
    line: int = 0  # 1-based line of the file where the text starts

    def where(self) -> str:
        return f"{self.source}, line {self.line}" if self.line else self.source


@dataclass
class LabelledData:
    """Texts with labels; `splits` holds (train, validation, test) when the files fix them."""

    examples: list[Example]
    labels: list[str]
    name: str
    splits: tuple[list[Example], list[Example], list[Example]] | None = None

    def class_counts(self, examples: Sequence[Example] | None = None) -> dict[str, int]:
        counts = Counter(e.label for e in (self.examples if examples is None else examples))
        return {name: counts.get(i, 0) for i, name in enumerate(self.labels)}


# -- reading ------------------------------------------------------------------------------------

def _read_text(path: Path) -> str:
    if not path.exists():
        raise ClassifyDataError(f"{path}: no such file")
    if not path.is_file():
        raise ClassifyDataError(f"{path}: not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ClassifyDataError(f"{path}: cannot be read ({exc.strerror})") from None
    if not data.strip():
        raise ClassifyDataError(f"{path.name}: the file is empty")
    if b"\x00" in data[:65536]:
        line = data[:data.index(b"\x00")].count(b"\n") + 1
        raise ClassifyDataError(f"{path.name}, line {line}: a binary file (NUL bytes), not "
                                "text; choose a CSV, TSV or plain-text file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ClassifyDataError(f"{path.name}, line {line}: not UTF-8 text (byte "
                                f"0x{data[exc.start]:02x}); save the file as UTF-8") from None


def _label_order(names: set[str]) -> list[str]:
    # 0/1 stay in numeric order; names sort alphabetically (ham before spam, as the book maps)
    if all(re.fullmatch(r"-?\d+", n) for n in names):
        return sorted(names, key=int)
    return sorted(names)


def _find_column(header: list[str], wanted: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in wanted:
        if name in lowered:
            return lowered.index(name)
    return None


def _table_rows(path: Path) -> list[tuple[int, str, str]]:
    """(line, label, text) rows of a CSV/TSV, header handled; errors name file and line."""
    text = _read_text(path)
    first = text.split("\n", 1)[0]
    delimiter = "\t" if path.suffix.lower() == ".tsv" or (
        path.suffix.lower() != ".csv" and "\t" in first) else ","
    if delimiter == ",":
        reader = csv.reader(io.StringIO(text, newline=""))
        rows = []
        for row in reader:
            rows.append((reader.line_num, row))
    else:  # the SMS data holds quotes that are not CSV quoting: split on the tab only
        rows = [(i, line.rstrip("\r").split("\t")) for i, line in
                enumerate(text.split("\n"), 1)]
    rows = [(n, r) for n, r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ClassifyDataError(f"{path.name}: the file is empty")
    head_line, header = rows[0]
    label_col, text_col = _find_column(header, LABEL_COLUMNS), _find_column(header, TEXT_COLUMNS)
    if label_col is not None or text_col is not None:
        body = rows[1:]
        if label_col is None or text_col is None:
            missing = "label" if label_col is None else "text"
            raise ClassifyDataError(
                f"{path.name}, line {head_line}: no {missing} column (the header has "
                f"{', '.join(repr(h) for h in header)}; name the columns Label and Text)")
    elif len(header) == 2 or (delimiter == "\t" and len(header) > 2):
        label_col, text_col, body = 0, 1, rows  # no header: label first, as SMSSpamCollection
    else:
        raise ClassifyDataError(
            f"{path.name}, line {head_line}: cannot tell the label and text columns apart "
            f"({len(header)} columns and no header); add a header with Label and Text")
    out = []
    for line, row in body:
        if delimiter == "\t" and label_col == 0 and text_col == 1 and len(row) > 2:
            row = [row[0], "\t".join(row[1:])]
        if len(row) <= max(label_col, text_col):
            raise ClassifyDataError(f"{path.name}, line {line}: {len(row)} column(s), expected "
                                    f"a label and a text")
        label, body_text = row[label_col].strip(), row[text_col].strip()
        if not label:
            raise ClassifyDataError(f"{path.name}, line {line}: the label is empty")
        if not body_text:
            raise ClassifyDataError(f"{path.name}, line {line}: the text is empty")
        out.append((line, label, body_text))
    if not out:
        raise ClassifyDataError(f"{path.name}: a header but no rows")
    return out


def read_table(path: str | Path) -> LabelledData:
    """A CSV/TSV of labelled texts (see the module docstring)."""
    path = Path(path)
    siblings = [path.with_name(n) for n in ("train.csv", "validation.csv", "test.csv")]
    if path.name == "train.csv" and all(p.is_file() for p in siblings):
        return _read_book_splits(siblings)
    rows = _table_rows(path)
    labels = _label_order({label for _, label, _ in rows})
    index = {name: i for i, name in enumerate(labels)}
    examples = [Example(text, index[label], path.name, line) for line, label, text in rows]
    data = LabelledData(examples, labels, path.name)
    _check_classes(data, path.name)
    return data


def _read_book_splits(paths: list[Path]) -> LabelledData:
    tables = [_table_rows(p) for p in paths]
    labels = _label_order({label for _, label, _ in tables[0]})
    index = {name: i for i, name in enumerate(labels)}
    splits = []
    for path, rows in zip(paths, tables):
        part = []
        for line, label, text in rows:
            if label not in index:
                raise ClassifyDataError(
                    f"{path.name}, line {line}: label {label!r} is not in train.csv (its "
                    f"labels: {', '.join(labels)})")
            part.append(Example(text, index[label], path.name, line))
        splits.append(part)
    data = LabelledData([e for part in splits for e in part], labels,
                        f"{paths[0].parent.name}/train+validation+test.csv", tuple(splits))
    _check_classes(data, "train.csv", splits[0])
    return data


def _clean_markdown(line: str) -> str:
    line = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", line)  # images
    line = re.sub(r"<[^>]+>", " ", line)  # HTML tags (<details>, <summary>)
    line = re.sub(r"^\s*(#+|[-*+>]|\d+[.)])\s+", "", line)  # heading and list markers
    return re.sub(r"\s+", " ", line).strip()


def split_sentences(text: str) -> list[tuple[int, str]]:
    """(line, sentence) pairs: a sentence ends at . ! or ? (and any closing quote)."""
    out = []
    for match in re.finditer(r"\S.*?(?:[.!?]+[\"')\]]*(?=\s|$)|\Z)", text, flags=re.S):
        sentence = re.sub(r"\s+", " ", match.group(0)).strip()
        if len(sentence.split()) >= MIN_WORDS:
            out.append((text.count("\n", 0, match.start()) + 1, sentence))
    return out


def split_lines(text: str) -> list[tuple[int, str]]:
    """(line, text) of each line with enough words, Markdown markup removed."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = _clean_markdown(raw)
        if len(line.split()) >= MIN_WORDS:
            out.append((n, line))
    return out


def read_text_classes(paths: Sequence[str | Path], unit: str = "auto",
                      labels: Sequence[str] | None = None) -> LabelledData:
    """One class per plain-text file: sentences, or lines ('auto': lines for Markdown)."""
    paths = [Path(p) for p in paths]
    if len(paths) < 2:
        raise ClassifyDataError("plain text needs two or more files, one per class (or a CSV "
                                "or TSV with a label column)")
    if unit not in ("auto", "sentences", "lines"):
        raise ClassifyDataError(f"unit must be auto, sentences or lines, got {unit!r}")
    names = list(labels) if labels else [p.stem for p in paths]
    if len(set(names)) != len(names):
        raise ClassifyDataError("two files give the same class name: "
                                + ", ".join(p.name for p in paths))
    examples = []
    for index, path in enumerate(paths):
        text = _read_text(path)
        lines = unit == "lines" or (unit == "auto" and path.suffix.lower() in (".md", ".markdown"))
        pieces = split_lines(text) if lines else split_sentences(text)
        if not pieces:
            raise ClassifyDataError(f"{path.name}: no {'line' if lines else 'sentence'} of "
                                    f"{MIN_WORDS} words or more")
        examples += [Example(t, index, path.name, line) for line, t in pieces]
    return LabelledData(examples, names, " vs ".join(p.name for p in paths))


def verdict_vs_notes() -> LabelledData:
    """The shipped default: sentences of The Verdict (fiction) vs lines of the notes (notes)."""
    from model.resources import NOTES_FILE, read_bundled_notes, read_the_verdict

    verdict = split_sentences(read_the_verdict())
    notes = split_lines(read_bundled_notes())
    examples = ([Example(t, 0, "the-verdict.txt", n) for n, t in verdict]
                + [Example(t, 1, NOTES_FILE, n) for n, t in notes])
    return LabelledData(examples, ["fiction", "notes"], "verdict-vs-notes")


def load_labelled(spec: str | Path | Sequence[str | Path], unit: str = "auto") -> LabelledData:
    """`verdict-vs-notes`, one CSV/TSV, or two or more plain-text files (one class each)."""
    specs = [spec] if isinstance(spec, (str, Path)) else list(spec)
    if not specs:
        raise ClassifyDataError("no data given")
    if len(specs) == 1 and str(specs[0]) == DEFAULT_DATA:
        return verdict_vs_notes()
    if len(specs) == 1:
        return read_table(specs[0])
    return read_text_classes(specs, unit)


def _check_classes(data: LabelledData, where: str, examples=None) -> None:
    present = [name for name, n in data.class_counts(examples).items() if n]
    if len(present) < 2:
        raise ClassifyDataError(
            f"{where}: only one class ({present[0] if present else 'none'}); a classifier "
            "needs texts of two classes or more")


# -- the book's preparation ---------------------------------------------------------------------

def balance(examples: Sequence[Example], seed: int = 123) -> list[Example]:
    """Undersample every class to the size of the smallest (section 6.2), in file order."""
    by_class: dict[int, list[int]] = {}
    for i, e in enumerate(examples):
        by_class.setdefault(e.label, []).append(i)
    smallest = min(len(v) for v in by_class.values())
    rng = random.Random(seed)
    keep = sorted(i for label in sorted(by_class) for i in rng.sample(by_class[label], smallest))
    return [examples[i] for i in keep]


def split(examples: Sequence[Example], seed: int = 123,
          fractions: tuple[float, float] = SPLIT_FRACTIONS
          ) -> tuple[list[Example], list[Example], list[Example]]:
    """Shuffle with `seed`, then 70% train, 10% validation, the rest test (section 6.2)."""
    order = list(examples)
    random.Random(seed).shuffle(order)
    train_end = int(len(order) * fractions[0])
    val_end = train_end + int(len(order) * fractions[1])
    return order[:train_end], order[train_end:val_end], order[val_end:]


@dataclass
class EncodedSplit:
    """One split as tensors: every text padded (or cut) to the same length."""

    examples: list[Example]
    input_ids: torch.Tensor  # (n, max_length)
    labels: torch.Tensor  # (n,)
    lengths: torch.Tensor  # (n,) tokens before padding (after truncation)

    def __len__(self) -> int:
        return len(self.examples)


@dataclass
class PreparedData:
    labels: list[str]
    name: str
    train: EncodedSplit
    val: EncodedSplit
    test: EncodedSplit
    max_length: int
    truncated: int  # texts cut to max_length
    counts: dict = field(default_factory=dict)  # what each step of the preparation left

    def splits(self) -> dict[str, EncodedSplit]:
        return {"train": self.train, "val": self.val, "test": self.test}


def _encode(examples: list[Example], token_lists: list[list[int]], max_length: int
            ) -> EncodedSplit:
    ids = torch.full((len(examples), max_length), PAD_TOKEN_ID, dtype=torch.long)
    lengths = torch.zeros(len(examples), dtype=torch.long)
    for row, tokens in enumerate(token_lists):
        tokens = tokens[:max_length]
        ids[row, :len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        lengths[row] = len(tokens)
    labels = torch.tensor([e.label for e in examples], dtype=torch.long)
    return EncodedSplit(examples, ids, labels, lengths)


def prepare(data: LabelledData, context_length: int, max_length: int | None = None,
            seed: int = 123, tokenizer=None, do_balance: bool = True) -> PreparedData:
    """Balance, split, tokenize and pad as chapter 6 does (see the module docstring).

    `max_length` None pads to the longest training text; a text longer than the model's
    context is then refused, naming where it is. Validation and test texts longer than the
    padding length are cut to it, as the book's `SpamDataset` does, and counted.
    """
    if tokenizer is None:
        from model.tokenizer import get_tokenizer

        tokenizer = get_tokenizer()
    loaded = data.class_counts()
    if data.splits is not None:
        train, val, test = (list(s) for s in data.splits)
        balanced = loaded
    else:
        kept = balance(data.examples, seed) if do_balance else list(data.examples)
        balanced = data.class_counts(kept)
        train, val, test = split(kept, seed)
    for name, part in (("training", train), ("validation", val), ("test", test)):
        if not part:
            raise ClassifyDataError(
                f"{data.name}: the {name} split is empty ({sum(balanced.values())} texts after "
                "balancing); use more data")
    tokens = {k: [tokenizer.encode(e.text) for e in part]
              for k, part in (("train", train), ("val", val), ("test", test))}
    if max_length is None:
        longest = max(range(len(train)), key=lambda i: len(tokens["train"][i]))
        max_length = len(tokens["train"][longest])
        if max_length > context_length:
            raise ClassifyDataError(
                f"{train[longest].where()}: this text has {max_length} tokens, more than the "
                f"model's context of {context_length}; choose a maximum length (at most "
                f"{context_length}) to truncate longer texts")
    elif not 0 < max_length <= context_length:
        raise ClassifyDataError(f"the maximum length must be between 1 and the model's context "
                                f"({context_length}), got {max_length}")
    truncated = sum(len(t) > max_length for part in tokens.values() for t in part)
    prepared = PreparedData(
        labels=list(data.labels), name=data.name,
        train=_encode(train, tokens["train"], max_length),
        val=_encode(val, tokens["val"], max_length),
        test=_encode(test, tokens["test"], max_length),
        max_length=max_length, truncated=truncated)
    prepared.counts = {"labels": list(data.labels), "loaded": loaded, "balanced": balanced,
                       "train": len(train), "val": len(val), "test": len(test),
                       "max_length": max_length, "truncated": truncated}
    return prepared


def batch_preview(part: EncodedSplit, labels: Sequence[str], start: int = 0, size: int = 8
                  ) -> list[dict]:
    """The rows of one batch as plain data: text, token IDs, padding, label."""
    rows = []
    for i in range(start, min(start + size, len(part))):
        n = int(part.lengths[i])
        ids = part.input_ids[i].tolist()
        e = part.examples[i]
        rows.append({"text": e.text, "token_ids": ids, "tokens": n,
                     "padding": len(ids) - n, "label": e.label, "label_name": labels[e.label],
                     "source": e.where()})
    return rows
