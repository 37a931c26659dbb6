"""The Classify lab's logic, without Qt (chapter 6 and appendix E).

The engine is `model.classify` (data, classifier, fine-tuning on the shared loop, saving); this
module turns the lab's choices into its inputs and its results into what the views show: the
data source, the recipe's fields as data, the trainable-parameter count before anything is
built, the preparation's steps as records, batch-preview rows, accuracy rows beside the book's
figures, misclassified rows, the per-token curve of "Try it", and classifier files and entries.

Torch and the engine are imported inside the functions that run on a worker, so the lab paints
before torch loads.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from studyapp import recipes
from studyapp.models.loading import unique_name  # noqa: F401  (the lab names its results)
from studyapp.recipes import Field

DEFAULT_DATA = "verdict-vs-notes"  # model.classify.data.DEFAULT_DATA
PAD_TOKEN_ID = 50256  # <|endoftext|>, the book's padding token
TRAINED_SOURCE = "trained in the Classify lab"
SPLITS = (("train", "Training"), ("val", "Validation"), ("test", "Test"))

# The book's GPT-2 small (124M) on the SMS spam data, section 6.7 and 6.8, in percent.
BOOK_BEFORE = {"train": 46.25, "val": 45.00, "test": 48.75}
BOOK_AFTER = {"train": 97.21, "val": 97.32, "test": 95.67}
# Appendix E: GPT-2 small with qkv bias and a 2-class head, LoRA rank 16, alpha 16.
BOOK_LORA_TOTAL, BOOK_LORA_TRAINABLE = 124_441_346, 2_666_528

DEFAULT_LABEL = "Fiction or notes? (bundled)"
DEFAULT_DESCRIPTION = ("Sentences of The Verdict (Edith Wharton's story, labelled fiction) "
                       "against lines of the chapter notes (labelled notes), both shipped "
                       "with the app")
SMS_HELP = (
    "The book's SMS spam data is not shipped. Its chapter 6 code saves it as "
    "<code>sms_spam_collection/SMSSpamCollection.tsv</code> and, balanced and split, as "
    "<code>train.csv</code>, <code>validation.csv</code> and <code>test.csv</code> beside "
    "the notebook: open either.")
SMS_DETAILS = (
    "The book's chapter 6 code (ch06/01_main-chapter-code) downloads the SMS Spam Collection "
    "from the UCI repository into sms_spam_collection/SMSSpamCollection.tsv (tab-separated "
    "ham<TAB>text, no header) and writes its balanced 70/10/20 split as train.csv, "
    "validation.csv and test.csv (Label,Text; labels 0/1) next to the notebook. Opening "
    "train.csv with its two siblings beside it keeps the book's split as it is.")


@dataclass(frozen=True)
class DataChoice:
    """Where the labelled texts come from: the bundled pair, one CSV/TSV, or text files."""

    paths: tuple[str, ...] = ()  # empty: the bundled "fiction or notes?"

    @property
    def is_default(self) -> bool:
        return not self.paths

    def spec(self):
        """What `model.classify.load_labelled` takes."""
        if not self.paths:
            return DEFAULT_DATA
        return self.paths[0] if len(self.paths) == 1 else list(self.paths)

    def describe(self) -> str:
        if not self.paths:
            return DEFAULT_LABEL
        if len(self.paths) == 1:
            return self.paths[0]
        return " vs ".join(Path(p).name for p in self.paths) + " (one class per file)"

    def short_name(self) -> str:
        if not self.paths:
            return "fiction-or-notes"
        return "-vs-".join(Path(p).stem for p in self.paths)[:40]

    def to_state(self) -> list[str]:
        return list(self.paths)

    @classmethod
    def from_state(cls, value) -> "DataChoice | None":
        if isinstance(value, (list, tuple)) and all(isinstance(p, str) and p for p in value):
            return cls(tuple(value))
        return None


# -- the recipe as data ------------------------------------------------------------------------

TRAINABLE_CHOICES = (
    ("head", "Head only",
     "Train only the new output head, Linear(emb_dim, classes); every block stays frozen "
     "(section 6.5: the cheapest choice, and the weakest)"),
    ("last-block", "Last block (the book)",
     "The book's choice: the last transformer block, final_norm and the new head train, "
     "the rest is frozen (section 6.5)"),
    ("last-k", "Last k blocks",
     "The last k transformer blocks, final_norm and the head train (section 6.5 notes that "
     "training more layers can help)"),
    ("all", "All parameters",
     "Every weight of the model trains: the most costly choice (section 6.5)"),
    ("lora", "LoRA (appendix E)",
     "Freeze every weight and learn a low-rank update (alpha / rank) x A B beside each "
     "nn.Linear, the new head included (appendix E.3 to E.5)"),
)
TRAINABLE_KEYS = tuple(k for k, _, _ in TRAINABLE_CHOICES)

# Defaults are ClassifyRecipe's (a test checks they agree): the book's AdamW with weight decay
# 0.1, batch 8, 5 epochs, evaluation on 5 batches; for the small bundled model, every parameter
# trains at a higher rate (the last block alone reaches about 88% test accuracy, all of it 94%).
# Only k differs: 2, so that "last k blocks" is not the book's "last block" again.
RECIPE_FIELDS = (
    Field("last_k", "Blocks k", int, 1, 96, 2,
          "How many of the last transformer blocks train with \u201cLast k blocks\u201d"),
    Field("lora_rank", "LoRA rank", int, 1, 1024, 16,
          "Rank r of A (in_dim x r) and B (r x out_dim); the book uses 16 (appendix E.4)"),
    Field("lora_alpha", "LoRA alpha", float, 0.5, 4096, 16,
          "Scale of the update: alpha / rank; the book uses 16 (appendix E.4)", 1, 1),
    Field("lr", "Learning rate", float, 1e-6, 1.0, 5e-4,
          "AdamW learning rate; the book uses 5e-5 for GPT-2 small, the small bundled model "
          "learns faster at 5e-4 (section 6.7)", 1e-4, 6),
    Field("epochs", "Epochs", int, 1, 1000, 5,
          "Passes over the training split; the book trains 5 (section 6.7)"),
    Field("batch_size", "Batch size", int, 1, 512, 8,
          "Texts per step; the book uses 8 and drops the last incomplete batch (section 6.3)"),
    Field("eval_every", "Eval every", int, 1, 100000, 10,
          "Steps between evaluations of loss and accuracy on 5 batches of the training and "
          "validation splits (the book: 50 steps, section 6.7)"),
    recipes.STEP_LIMIT,
    Field("max_length", "Max length", int, 0, 100000, 0,
          "Pad (and cut) every text to this many tokens; 0 pads to the longest training text, "
          "as the book's SpamDataset does (section 6.3)"),
    Field("seed", "Seed", int, 0, 2**31 - 1, 123,
          "Seeds the balancing, the 70/10/20 split, the new head and the batch order (the book "
          "uses 123)"),
)
FIELDS_BY_KEY = {f.key: f for f in RECIPE_FIELDS}


def default_values() -> dict[str, Any]:
    values = {f.key: f.kind(f.default) for f in RECIPE_FIELDS}
    values["trainable"] = "all"
    return values


def clean_values(values: dict[str, Any]) -> dict[str, Any]:
    """The recipe fields of `values` that are valid (right type, in range); others dropped."""
    out = recipes.clean_values(values, FIELDS_BY_KEY)
    if values.get("trainable") in TRAINABLE_KEYS:
        out["trainable"] = values["trainable"]
    return out


def recipe_kwargs(values: dict[str, Any]) -> dict[str, Any]:
    """ClassifyRecipe keyword arguments from the lab's values (0 means "none" for two)."""
    kwargs = {**default_values(), **clean_values(values)}
    kwargs["max_steps"] = kwargs["max_steps"] or None
    kwargs["max_length"] = kwargs["max_length"] or None
    return kwargs


def describe_trainable(values: dict[str, Any]) -> str:
    t = values.get("trainable", "last-block")
    if t == "last-k":
        return f"last {values.get('last_k', 1)} blocks"
    if t == "lora":
        return f"LoRA r={values.get('lora_rank')}, \u03b1={values.get('lora_alpha'):g}"
    return dict((k, label) for k, label, _ in TRAINABLE_CHOICES)[t].lower()


# -- parameter counts --------------------------------------------------------------------------

def _numel(params) -> int:
    seen, total = set(), 0
    for p in params:
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def parameter_counts(model, trainable: str, num_classes: int, last_k: int = 1,
                     lora_rank: int = 16, lora_alpha: float = 16) -> dict[str, int]:
    """What `model.classify.build_classifier` would leave, counted without building it:
    ``total_params`` and ``trainable_params`` (the engine's keys)."""
    import torch.nn as nn

    emb = model.cfg.emb_dim
    head = emb * num_classes + num_classes  # the new head keeps its bias, as nn.Linear's default
    base = _numel(p for name, p in model.named_parameters() if not name.startswith("out_head."))
    total = base + head
    blocks = list(model.trf_blocks)
    if trainable == "head":
        train = head
    elif trainable in ("last-block", "last-k"):
        k = 1 if trainable == "last-block" else max(1, min(int(last_k), len(blocks)))
        train = (head + _numel(p for b in blocks[len(blocks) - k:] for p in b.parameters())
                 + _numel(model.final_norm.parameters()))
    elif trainable == "all":
        train = total
    elif trainable == "lora":
        lora = lora_rank * (emb + num_classes)  # the new head is wrapped too
        for name, module in model.named_modules():
            if isinstance(module, nn.Linear) and not name.startswith("out_head"):
                lora += lora_rank * (module.in_features + module.out_features)
        total += lora
        train = lora
    else:
        raise ValueError(f"unknown choice of trained parts: {trainable!r}")
    return {"total_params": total, "trainable_params": train}


def count_line(counts: dict[str, int]) -> str:
    total, train = counts["total_params"], counts["trainable_params"]
    share = 100.0 * train / total if total else 0.0
    return f"{train:,} of {total:,} parameters train ({share:.2f}%)"


# -- the data, prepared ------------------------------------------------------------------------

def prepare_records(choice: DataChoice, context_length: int, max_length: int | None = None,
                    seed: int = 123, stop=None) -> Iterator[dict]:
    """Load, then prepare the data as chapter 6 does, one record per step (on a worker):
    ``loaded`` (texts per class), then ``prepared`` with what balancing, the split and the
    padding left and the prepared data itself. ClassifyDataError says what is wrong.

    With no maximum length, texts are padded to the longest training text; when that is longer
    than the model's context, they are padded and cut to the context instead, and the
    ``prepared`` record's ``notice`` says so."""
    from model.classify import ClassifyDataError, load_labelled, prepare

    data = load_labelled(choice.spec())
    counts = data.class_counts()
    yield {"event": "loaded", "name": data.name, "labels": list(data.labels), "loaded": counts,
           "presplit": data.splits is not None}
    if stop is not None and stop.stopped:
        return
    notice = ""
    try:
        prepared = prepare(data, context_length, max_length, seed)
    except ClassifyDataError as exc:
        if max_length is not None or "more than the model's context" not in str(exc):
            raise
        prepared = prepare(data, context_length, context_length, seed)
        where = str(exc).split(":")[0]
        notice = (f"The longest training text ({where}) is longer than the model's context, "
                  f"so every text is padded and cut to {context_length} tokens "
                  f"({prepared.truncated:,} cut).")
    yield {"event": "prepared", "data": prepared, "notice": notice, **prepared.counts}


def preparation_lines(counts: dict[str, Any]) -> list[str]:
    """The preparation's steps in words, from `prepared.counts` (what each step left)."""
    labels = counts["labels"]
    loaded, balanced = counts["loaded"], counts["balanced"]

    def per_class(c):
        return ", ".join(f"{c.get(name, 0):,} {name}" for name in labels)

    n_train, n_val, n_test = counts["train"], counts["val"], counts["test"]
    n = n_train + n_val + n_test
    lines = [f"<b>1. Read</b> {sum(loaded.values()):,} texts: {per_class(loaded)}."]
    if counts.get("presplit"):
        lines.append("<b>2. Balance</b>: kept as the files give it (the book's train.csv, "
                     "validation.csv and test.csv are already balanced).")
        lines.append(f"<b>3. Split</b> as the files give it: {n_train:,} / {n_val:,} / "
                     f"{n_test:,} (train / validation / test).")
    else:
        lines.append(f"<b>2. Balance</b> by undersampling to the smallest class: "
                     f"{per_class(balanced)} (section 6.2).")
        lines.append(f"<b>3. Shuffle and split</b> 70/10/20: {n_train:,} / {n_val:,} / "
                     f"{n_test:,} texts (train / validation / test, of {n:,}).")
    cut = counts.get("truncated", 0)
    cut_note = (f"; <b>{cut:,}</b> longer text{'s' if cut != 1 else ''} cut to it"
                if cut else "; none had to be cut")
    lines.append(f"<b>4. Tokenize and pad</b> every text to {counts['max_length']:,} tokens "
                 f"with &lt;|endoftext|&gt; ({PAD_TOKEN_ID}){cut_note} (section 6.3).")
    return lines


def format_ids(ids: Sequence[int], n_tokens: int, shown: int = 6) -> str:
    """'40, 1816, ... (+12) | 50256 x 30': the text's IDs, then its padding, compactly."""
    real = list(ids[:n_tokens])
    text = ", ".join(str(i) for i in real[:shown])
    if len(real) > shown:
        text += f", \u2026 (+{len(real) - shown})"
    padding = len(ids) - n_tokens
    if padding:
        text += f"  | {PAD_TOKEN_ID} \u00d7 {padding}"
    return text


def preview_rows(rows: list[dict]) -> list[tuple[str, str, str, str]]:
    """(text, token IDs, padding, label) cells for `model.classify.batch_preview` rows."""
    out = []
    for r in rows:
        out.append((r["text"], format_ids(r["token_ids"], r["tokens"]),
                    f"{r['tokens']} + {r['padding']}", r["label_name"]))
    return out


# -- results -----------------------------------------------------------------------------------

def percent(value: float | None) -> str:
    if value is None or value != value:
        return "\u2013"
    return f"{100.0 * value:.2f}%"


def accuracy_rows(before: dict | None, after: dict | None
                  ) -> list[tuple[str, str, str, str, str]]:
    """(split, before, after, book before, book after) for the three splits."""
    rows = []
    for key, name in SPLITS:
        b = (before or {}).get(f"{key}_acc")
        a = (after or {}).get(f"{key}_acc")
        rows.append((name, percent(b), percent(a), f"{BOOK_BEFORE[key]:.2f}%",
                     f"{BOOK_AFTER[key]:.2f}%"))
    return rows


def misclassified_rows(items: list[dict]) -> list[tuple[str, str, str, str]]:
    """(text, true label, predicted, confidence) for the engine's misclassified texts."""
    return [(m["text"], m["label"], m["predicted"], f"{100 * max(m['probs']):.1f}%")
            for m in items]


def done_summary(done: dict) -> str:
    text = recipes.run_line(done, human_duration)
    after = done.get("after")
    if after:
        text += f"; test accuracy {percent(after.get('test_acc'))}"
    return text + "."


def human_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "--"
    if seconds < 10:
        return f"{seconds:.1f}s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m {seconds:02d}s"


def curves_from_meta(meta: dict) -> dict[str, list]:
    """The evaluation curve a saved classifier carries (step, losses, accuracies, examples)."""
    curve = meta.get("curve") or {}
    keys = ("step", "examples_seen", "train_loss", "val_loss", "train_acc", "val_acc")
    out = {k: list(curve.get(k, [])) for k in keys}
    n = len(out["step"])
    return {k: (v if len(v) == n else [float("nan")] * n) for k, v in out.items()}


# -- Try it -------------------------------------------------------------------------------------

def per_token_series(result: dict, class_index: int) -> tuple[list[int], list[float], int]:
    """(positions, P(class) in %, index of the text's last token) from
    `model.classify.per_token_probabilities`."""
    rows = result["tokens"]
    xs = [r["position"] for r in rows]
    ys = [100.0 * r["probs"][class_index] for r in rows]
    return xs, ys, min(result["text_tokens"], len(rows)) - 1


def padding_effect(padded: dict, labels: Sequence[str], max_length: int | None) -> dict:
    """What padding does to one text's prediction, in words.

    `padded` is `per_token_probabilities` with the training's padding length: its
    ``at_text_end`` is the answer for the text as typed, ``prediction`` the answer after the
    padding, the last position, which is what a padded batch classifies."""
    end, last = padded["at_text_end"], padded["prediction"]
    best_end = max(range(len(end)), key=end.__getitem__)
    best_last = max(range(len(last)), key=last.__getitem__)
    n_pad = padded["padding"]
    if not max_length or not n_pad:
        why = ("The text is as long as the padding length: nothing is padded." if max_length
               else "This classifier reads texts as they are, unpadded.")
        return {"changed": False, "line": why}
    changed = best_end != best_last
    line = (f"At the text's last token: {labels[best_end]} {100 * end[best_end]:.1f}%. After "
            f"{n_pad} padding token{'s' if n_pad != 1 else ''} (to {max_length}, as in "
            f"training): {labels[best_last]} {100 * last[best_last]:.1f}%.")
    if changed:
        line += (" Padding changes the answer: a classifier that reads the last position sees "
                 "a <|endoftext|> token there, not the text. Train and predict with the same "
                 "padding, or the model may answer one class for everything (section 6.3).")
    return {"changed": changed, "line": line}


# -- files and entries -------------------------------------------------------------------------

def classifier_path(data_dir: Path, choice: DataChoice, when: float | None = None) -> Path:
    """data_dir/classifiers/<date-time>-<data>.safetensors"""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", choice.short_name()).strip("-") or "data"
    return Path(data_dir) / "classifiers" / f"{stamp}-{name}.safetensors"


def classifier_entry(model, labels: Sequence[str], max_length: int | None, name: str,
                     source: str = TRAINED_SOURCE, meta: dict | None = None):
    from studyapp.models.entry import ClassifierEntry

    return ClassifierEntry(name=name, source=source, model=model, labels=list(labels),
                           max_length=max_length, meta=dict(meta or {}))
