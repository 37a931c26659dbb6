"""The Instruct lab's logic, without Qt (chapter 7).

The engine is `model.instruct` (entries, prompt, split, collation, fine-tuning on the shared
loop, responses, scores); this module turns the lab's choices into its inputs and its results
into what the views show: the data source, the recipe's fields as data, the loading job's
records, the entries of one batch, the responses table's rows beside the book's, the lines
that summarise a run against the book's figures, and where a run's files go.

Torch is imported only inside the functions that run on a worker, so the lab paints first.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from studyapp import recipes
from studyapp.models.loading import unique_name  # noqa: F401  (the lab names its results)
from studyapp.recipes import Field, switch

TRAINED_SOURCE = "fine-tuned in the Instruct lab"
BUNDLED_LABEL = "The book's instruction data (bundled)"
BUNDLED_DESCRIPTION = ("instruction-data.json from the book's chapter 7: 1,100 entries of "
                       "instruction, input and output (Apache-2.0), shipped with the app")
RESPONSES_FILE = "instruction-data-with-response.json"

# Section 7.6 and 7.8, GPT-2 medium (355M) fine-tuned for 2 epochs with the recipe below.
BOOK_START = {"train": 3.83, "val": 3.76}
BOOK_END = {"train": 0.30, "val": 0.66}
BOOK_MODEL = "GPT-2 medium (355M)"
SIZE_NOTE = (
    "The bundled model (a few million parameters, trained on some 9,000 tokens of a short "
    "story and the chapter notes) learns the prompt's format, where the response starts and "
    "when to stop, and little else; its answers stay nonsense. The book fine-tunes {book} and its loss goes from "
    "{s_train:.2f} (training) / {s_val:.2f} (validation) to {e_train:.2f} / {e_val:.2f} in 2 "
    "epochs, with answers a Llama 3 judge scores about 50 of 100. GPT-2 124M or 355M opened "
    "from file (File \u2192 Open model) does the same here, more slowly.").format(
    book=BOOK_MODEL, s_train=BOOK_START["train"], s_val=BOOK_START["val"],
    e_train=BOOK_END["train"], e_val=BOOK_END["val"])
JUDGE_NOTE = (
    "The book scores each response from 0 to 100 with Llama 3 8B served by Ollama on the same "
    "computer (section 7.8). The score here is ROUGE-L, which runs offline: the share of "
    "words the response has in common with the expected output, in order (0 to 1). It "
    "rewards wording, not correctness.")


@dataclass(frozen=True)
class DataChoice:
    """Where the entries come from: the bundled file or a JSON file the learner opened."""

    path: str = ""  # empty: the bundled instruction-data.json

    @property
    def is_default(self) -> bool:
        return not self.path

    def spec(self) -> str | None:
        """What `model.instruct.load_entries` takes."""
        return self.path or None

    def describe(self) -> str:
        return self.path if self.path else BUNDLED_LABEL

    def short_name(self) -> str:
        return Path(self.path).stem[:40] if self.path else "instruction-data"

    def to_state(self) -> str:
        return self.path

    @classmethod
    def from_state(cls, value: Any) -> "DataChoice | None":
        if isinstance(value, str):
            return cls(value)
        return None


# -- the recipe as data ------------------------------------------------------------------------

# The book's recipe (section 7.6): AdamW, lr 5e-5, weight decay 0.1, 2 epochs, batches of 8,
# an evaluation every 5 steps on 5 batches. A test checks these agree with BOOK_RECIPE.
RECIPE_FIELDS = (
    Field("lr", "Learning rate", float, 1e-7, 1.0, 5e-5,
          "AdamW learning rate; the book uses 5e-5 (section 7.6). The small bundled model "
          "moves faster at 5e-4", 1e-5, 6),
    Field("weight_decay", "Weight decay", float, 0.0, 10.0, 0.1,
          "AdamW weight decay; the book uses 0.1 (section 7.6)", 0.05, 3),
    Field("epochs", "Epochs", int, 1, 1000, 2,
          "Passes over the training part; the book trains 2 (section 7.6)"),
    Field("batch_size", "Batch size", int, 1, 256, 8,
          "Examples per step; the book uses 8 and drops the last incomplete batch "
          "(section 7.4)"),
    Field("eval_every", "Eval every", int, 1, 100000, 5,
          "Steps between evaluations of the training and validation loss, each over 5 batches "
          "(the book's eval_freq=5, eval_iter=5, section 7.6)"),
    recipes.STEP_LIMIT,
    Field("seed", "Seed", int, 0, 2**31 - 1, 123,
          "Seeds the batch order and LoRA's initial matrices (the book uses 123)"),
    Field("lora_rank", "LoRA rank", int, 0, 1024, 0,
          "0 trains every weight, as the book's chapter 7. Above 0: freeze them and learn a "
          "low-rank update of that rank beside each nn.Linear (exercise 7.4, appendix E)"),
    Field("lora_alpha", "LoRA alpha", float, 0.5, 4096, 16,
          "Scale of the LoRA update: alpha / rank (the book uses 16, appendix E.4)", 1, 1),
    Field("answer", "Test entries", int, 0, 100000, 110,
          "How many test entries get a response after fine-tuning (0: every one; the book "
          "answers all 110, section 7.7)"),
    switch("mask_prompt", "Mask the prompt", False,
           "The loss ignores the targets that belong to the prompt, so only the response is "
           "learned (exercise 7.2)"),
    switch("drop_too_long", "Leave out long entries", False,
           "Entries longer than the model's context are left out; off, they are cut to it "
           "(the book's allowed_max_length, section 7.3)"),
    switch("answer_before", "Answer before too", True,
           "Also answer the test entries with the model as it was before fine-tuning, to "
           "compare (section 7.5 shows one such answer)"),
)
FIELDS_BY_KEY = {f.key: f for f in RECIPE_FIELDS}


def default_values() -> dict[str, Any]:
    return {f.key: f.kind(f.default) for f in RECIPE_FIELDS}


def clean_values(values: Any) -> dict[str, Any]:
    """The recipe fields of `values` that are valid (right type, in range); others dropped."""
    return recipes.clean_values(values, FIELDS_BY_KEY)


def run_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """The lab's values as the engine's pieces (plain dicts; the worker builds the objects):
    `config` for `TrainConfig.replace`, `options` for `InstructOptions`, `answer` (how many
    test entries, None for all) and `answer_before`."""
    v = {**default_values(), **clean_values(dict(values))}
    config = {"lr": v["lr"], "weight_decay": v["weight_decay"], "epochs": v["epochs"],
              "batch_size": v["batch_size"], "eval_every": v["eval_every"],
              "max_steps": v["max_steps"] or None, "seed": v["seed"]}
    options = {"mask_prompt": v["mask_prompt"],
               "too_long": "drop" if v["drop_too_long"] else "truncate",
               "lora_rank": v["lora_rank"], "lora_alpha": v["lora_alpha"]}
    return {"config": config, "options": options, "answer": v["answer"] or None,
            "answer_before": v["answer_before"]}


def describe_recipe(values: Mapping[str, Any]) -> str:
    v = {**default_values(), **clean_values(dict(values))}
    what = (f"LoRA r={v['lora_rank']}, \u03b1={v['lora_alpha']:g}" if v["lora_rank"]
            else "all weights")
    return f"{what}, lr {v['lr']:g}"


# -- the data ------------------------------------------------------------------------------------

def book_response_key(entry: Mapping[str, Any]) -> tuple[str, str]:
    return (str(entry.get("instruction", "")).strip(), str(entry.get("input", "")).strip())


def load_records(choice: DataChoice, context_length: int, too_long: str = "truncate",
                 token=None) -> Iterator[dict]:
    """The loading job: read the entries, split them, count what the context cuts; one
    ``loaded`` record. Raises `InstructDataError` (a ValueError) naming the file."""
    from model.instruct.data import (bundled_responses_path, encode_entries, load_entries,
                                     split_entries)
    from model.tokenizer import get_tokenizer

    loaded = load_entries(choice.spec())
    split = split_entries(loaded.entries)
    if token is not None and token.stopped:
        return
    tokenizer = get_tokenizer()
    fitted = {part: encode_entries(getattr(split, part), tokenizer, context_length,
                                   too_long).summary() for part in ("train", "val")}
    book: dict[tuple[str, str], str] = {}
    try:
        for entry in load_entries(bundled_responses_path(),
                                  required=("instruction", "output", "model_response")).entries:
            book[book_response_key(entry)] = entry["model_response"]
    except ValueError:
        pass  # the comparison column stays empty; the lab works without it
    yield {"event": "loaded", "choice": choice, "entries": loaded.entries, "split": split,
           "warnings": list(loaded.warnings), "skipped": loaded.skipped,
           "source": loaded.source, "fitted": fitted, "context_length": context_length,
           "too_long": too_long, "book": book}


def split_line(sizes: Mapping[str, int]) -> str:
    total = sum(sizes.values())
    return (f"{total:,} entries \u2192 {sizes['train']:,} training (85%), {sizes['test']:,} "
            f"test (10%), {sizes['val']:,} validation (5%), in file order (section 7.2)")


def fit_line(fitted: Mapping[str, Mapping[str, Any]], too_long: str) -> str:
    """How the entries fit the model's context, with the counts of cut and left-out ones."""
    train, val = fitted["train"], fitted["val"]
    context = train.get("context_length")
    longest = max(train.get("longest", 0), val.get("longest", 0))
    cut = train["truncated"] + val["truncated"]
    out = train["left_out"] + val["left_out"]
    line = f"Longest example {longest:,} tokens; the model's context is {context:,}. "
    if not cut and not out:
        return line + "Every training and validation example fits."
    if too_long == "drop":
        return line + f"{out:,} example(s) longer than it are left out."
    return line + f"{cut:,} example(s) longer than it are cut to it."


def batch_entries(split, batch: int, batch_size: int) -> list[dict]:
    """Training entries of batch `batch` in file order (training shuffles them each epoch)."""
    start = batch * batch_size
    return list(split.train[start:start + batch_size])


def batch_count(split, batch_size: int) -> int:
    return max(1, len(split.train) // max(1, batch_size))


def batch_line(view) -> str:
    rows, width = view.shape
    return (f"{rows} examples \u00d7 {width} positions: the loss counts {view.counted:,} "
            f"targets and ignores {view.ignored:,} (-100): padding after the first end token"
            + (f" and {view.prompt_masked:,} prompt targets" if view.prompt_masked else "")
            + f"; {view.padding:,} input positions are padding (50256).")


# -- responses and scores ----------------------------------------------------------------------

def response_rows(test: Sequence[Mapping[str, Any]], book: Mapping[tuple[str, str], str]
                  ) -> list[dict[str, Any]]:
    """One row per test entry: its texts, the book's model's response and its ROUGE-L."""
    rows = []
    for index, entry in enumerate(test):
        rows.append({"index": index, "instruction": entry["instruction"],
                     "input": entry.get("input", ""), "expected": entry["output"],
                     "book": book.get(book_response_key(entry)), "before": None,
                     "after": None, "rouge_before": None, "rouge_after": None,
                     "rouge_book": None, "judge": None})
    return rows


def score_book(rows: list[dict[str, Any]]) -> None:
    """ROUGE-L of the book's responses against the expected outputs (a reference)."""
    from model.instruct.score import rouge_l

    for row in rows:
        if row["book"] is not None:
            row["rouge_book"] = rouge_l(row["book"], row["expected"])


def average(rows: Sequence[Mapping[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return sum(values) / len(values) if values else None


def score_text(value: float | None) -> str:
    return "\u2014" if value is None else f"{value:.2f}"


def averages_line(rows: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for key, label in (("rouge_before", "before"), ("rouge_after", "after"),
                       ("rouge_book", f"the book's {BOOK_MODEL}")):
        value = average(rows, key)
        n = sum(r.get(key) is not None for r in rows)
        if value is not None:
            parts.append(f"{label} {value:.3f} ({n})")
    judge = average(rows, "judge")
    if judge is not None:
        parts.append(f"Ollama judge {judge:.1f} / 100")
    return ("Average ROUGE-L: " + ", ".join(parts)) if parts else "No responses yet."


def answered_entries(test: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]
                     ) -> list[dict[str, Any]]:
    """The test entries answered after fine-tuning, each with its `model_response` (the
    book's file layout), in entry order."""
    out = []
    for entry, row in zip(test, rows):
        if row.get("after") is not None:
            item = dict(entry)
            item["model_response"] = row["after"]
            out.append(item)
    return out


# -- the run -------------------------------------------------------------------------------------

def run_records(base, split, test: Sequence[Mapping[str, Any]], tokenizer,
                settings: Mapping[str, Any], stop, answer_stop) -> Iterator[dict]:
    """The lab's run, on the worker: fine-tune a copy of `base` on `split` and answer `test`.

    Records: ``ready`` (carrying the `InstructFineTune` as ``run``), ``answering`` and one
    ``response`` per entry before fine-tuning (when `settings["answer_before"]`), the loop's
    ``eval``/``step``/``done``, then, when a step was made, ``finetuned`` (the plain model) and
    the answers after. `stop` ends the training (and the answers before it); the answers after
    it listen to `answer_stop`, so a stopped run is still answered.
    """
    import copy

    from model.instruct.finetune import BOOK_RECIPE, InstructFineTune, InstructOptions

    finetune = InstructFineTune(copy.deepcopy(base), split,
                                BOOK_RECIPE.replace(**settings["config"]),
                                InstructOptions(**settings["options"]), tokenizer)
    yield {"event": "ready", "run": finetune, "total_steps": finetune.loop.total_steps,
           "data": finetune.data, "trainable": finetune.trainable_parameters()}
    if settings["answer_before"]:
        yield from answer_records(finetune.model, test, tokenizer, stop, "before")
    yield from finetune.run(stop)
    done = finetune.loop.last_done or {}
    if done.get("step", 0) > 0:
        model = finetune.plain_model()
        yield {"event": "finetuned", "model": model}
        yield from answer_records(model, test, tokenizer, answer_stop, "after")


def answer_records(model, test: Sequence[Mapping[str, Any]], tokenizer, stop, phase: str
                   ) -> Iterator[dict]:
    """An ``answering`` record, then a ``response`` per test entry with its ROUGE-L."""
    import torch

    from model.instruct.respond import iter_responses
    from model.instruct.score import rouge_l

    yield {"event": "answering", "phase": phase, "n": len(test)}
    responses = iter_responses(model, test, tokenizer, stop=stop)
    while True:
        with torch.no_grad():  # not around the yield: the training after it needs gradients
            response = next(responses, None)
        if response is None:
            return
        yield {"event": "response", "phase": phase, "index": response.index,
               "text": response.text,
               "rouge_l": rouge_l(response.text, test[response.index]["output"])}


# -- summaries -------------------------------------------------------------------------------------

def human_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "--"
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{round(seconds)}s"
    minutes, seconds = divmod(int(round(seconds)), 60)
    return f"{minutes}m {seconds:02d}s"


def losses_line(first: Mapping[str, Any] | None, last: Mapping[str, Any] | None) -> str:
    """This run's losses beside the book's, start and end."""
    book = (f"The book ({BOOK_MODEL}): {BOOK_START['train']:.2f} / {BOOK_START['val']:.2f} "
            f"\u2192 {BOOK_END['train']:.2f} / {BOOK_END['val']:.2f} after 2 epochs.")
    if not first:
        return "Loss (training / validation): no run yet. " + book
    text = f"This run: {first['train_loss']:.2f} / {first['val_loss']:.2f}"
    if last and last is not first:
        text += f" \u2192 {last['train_loss']:.2f} / {last['val_loss']:.2f}"
    return f"Loss (training / validation). {text}. {book}"


def done_summary(done: Mapping[str, Any]) -> str:
    text = recipes.run_line(done, human_duration)
    if done.get("val_loss") is not None:
        text += f"; validation loss {done['val_loss']:.3f}"
    return text + "."


def run_dir(data_dir: Path, choice: DataChoice, when: float | None = None) -> Path:
    """data_dir/instruct/<date-time>-<data>/: the run's responses file and model."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", choice.short_name()).strip("-") or "data"
    return Path(data_dir) / "instruct" / f"{stamp}-{name}"


def model_entry(model, name: str, meta: Mapping[str, Any] | None = None):
    """A ModelEntry every lab can use: the fine-tuned model is a language model."""
    from studyapp.models.entry import ModelEntry

    model.eval()
    return ModelEntry(name=name, source=TRAINED_SOURCE, model=model, config=model.cfg,
                      meta=dict(meta or {}))
