"""The Training lab's logic, without Qt: corpus choice, settings, sizes, checkpoints, entries.

`FIELDS` is the one table of the lab's hyperparameters (label, config key, range, step,
decimals, tooltip): it builds the form, reads it into a `GPTConfig` and a `TrainConfig`, and
checks saved values. The loop itself is `model.train.Trainer`; this module turns the lab's
choices into its inputs and its results into files and `ModelEntry`s. Torch is only imported
inside the functions that run on the worker (the window paints before torch loads).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from model.config import GPTConfig
from model.train.config import TrainConfig, TrainingError, estimate_training_memory
from studyapp.models.loading import human_bytes

VERDICT, NOTES, FILE = "the-verdict", "notes", "file"
CORPUS_LABELS = {VERDICT: "The Verdict (bundled)", NOTES: "My notes file", FILE: "A text file"}
TRAINED_SOURCE = "trained in the Training lab"


@dataclass(frozen=True)
class Field:
    """One hyperparameter of the form."""

    name: str  # the form's widget and the saved-state key
    label: str
    config: str  # "model" (a GPTConfig key) or "train" (a TrainConfig key)
    key: str
    low: float
    high: float
    step: float
    tip: str
    decimals: int | None = None  # None: a whole number

    def accepts(self, value: Any) -> bool:
        """Whether a saved value can go back into this field as it is."""
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        if self.decimals is None and value != int(value):
            return False
        return self.low <= value <= self.high


FIELDS: tuple[Field, ...] = (
    Field("emb_dim", "Embedding size", "model", "emb_dim", 2, 2048, 8,
          "Embedding size (emb_dim)"),
    Field("n_layers", "Layers", "model", "n_layers", 1, 48, 1, "Transformer blocks (n_layers)"),
    Field("n_heads", "Heads", "model", "n_heads", 1, 32, 1,
          "Attention heads (n_heads); must divide emb_dim"),
    Field("context", "Context length", "model", "context_length", 4, 1024, 16,
          "Context length: tokens per window"),
    Field("dropout", "Dropout", "model", "drop_rate", 0.0, 0.9, 0.05, "Dropout rate (drop_rate)",
          decimals=2),
    Field("batch", "Batch size", "train", "batch_size", 0, 1024, 1, "Windows per step"),
    Field("lr", "Learning rate", "train", "lr", 0.0, 1.0, 1e-4,
          "Peak learning rate (the book: 0.0004)", decimals=5),
    Field("epochs", "Epochs", "train", "epochs", 1, 10000, 1, "Passes over the training text"),
    Field("eval_every", "Eval every", "train", "eval_every", 0, 100000, 1,
          "Steps between evaluations (0: only at the end)"),
    Field("eval_windows", "Eval windows", "train", "eval_max_windows", 0, 10_000_000, 64,
          "Validation windows per evaluation, evenly spread over the validation text (0: every "
          "window, which takes long on a large corpus)"),
    Field("seed", "Seed", "train", "seed", 0, 2**31 - 1, 1, "Random seed (the book uses 123)"),
    Field("warmup", "Warmup steps", "train", "warmup_steps", 0, 100000, 1,
          "Linear warmup steps (appendix D)"),
    Field("clip", "Grad clip", "train", "grad_clip", 0.0, 100.0, 0.1,
          "Gradient clipping max norm (0: off)", decimals=2),
)


def preset_values(model_cfg: GPTConfig, train_cfg: TrainConfig) -> dict[str, float]:
    """The form's values for a preset (no gradient clipping shows as 0)."""
    configs = {"model": model_cfg, "train": train_cfg}
    values = {f.name: getattr(configs[f.config], f.key) for f in FIELDS}
    values["clip"] = values["clip"] or 0.0
    values["eval_windows"] = values["eval_windows"] or 0
    return values


def model_values(base: GPTConfig, values: Mapping[str, float]) -> dict[str, Any]:
    """The preset's GPTConfig keys with the form's model fields put in."""
    out = base.to_dict()
    for f in FIELDS:
        if f.config == "model":
            out[f.key] = values[f.name] if f.decimals is None else round(values[f.name], 4)
    return out


def train_config(base: TrainConfig, values: Mapping[str, float], cosine: bool,
                 num_threads: int | None = None) -> TrainConfig:
    """The preset's TrainConfig with the form's training fields put in (clip 0: none)."""
    changes = {f.key: values[f.name] for f in FIELDS if f.config == "train"}
    changes["grad_clip"] = changes["grad_clip"] if changes["grad_clip"] > 0 else None
    return base.replace(num_threads=num_threads, cosine=cosine, **changes)


@dataclass(frozen=True)
class CorpusChoice:
    kind: str  # VERDICT, NOTES or FILE
    path: Path | None = None  # the notes file or the chosen text file

    def describe(self) -> str:
        if self.kind == VERDICT:
            return "The Verdict (Edith Wharton, 1908; 20,479 characters)"
        if self.path is None:
            return "no file chosen"
        return str(self.path)

    def short_name(self) -> str:
        if self.kind == VERDICT:
            return "the-verdict"
        return self.path.stem if self.path else "corpus"


def load_corpus_text(choice: CorpusChoice) -> tuple[str, str]:
    """(label, text) for the lab's corpus choice; TrainingError says what is wrong."""
    from model.train.corpus import builtin_corpus, read_corpus

    if choice.kind == VERDICT:
        return builtin_corpus("the-verdict")
    if choice.path is None:
        raise TrainingError("no text file chosen: choose one, or train on The Verdict")
    return choice.path.name, read_corpus(choice.path)


def human_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "--"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def size_summary(model_cfg: GPTConfig, train_cfg: TrainConfig) -> str:
    """One line: parameter count, weight memory, estimated training memory."""
    mem = estimate_training_memory(model_cfg, train_cfg)
    params = mem["parameters"]
    head = model_cfg.emb_dim * model_cfg.vocab_size
    return (f"{params / 1e6:.2f}M parameters ({(params - head) / 1e6:.2f}M with the output head "
            f"tied, as GPT-2 counts) \u00b7 weights {human_bytes(mem['weights'])} \u00b7 "
            f"about {human_bytes(mem['total'])} while training")


def settings_problems(model_values: dict[str, Any], train_cfg: TrainConfig) -> list[str]:
    """What is wrong with the lab's fields, in words (empty when it can start)."""
    problems = []
    try:
        GPTConfig(**model_values)
    except (TypeError, ValueError) as exc:
        problems.append(str(exc).replace("invalid GPT config: ", ""))
    problems += train_cfg.problems()
    return problems


def eval_progress_text(record: Mapping[str, Any]) -> str:
    """The status line during a long evaluation."""
    done, total = record["done"], max(1, record["total"])
    return (f"Evaluating at step {record['step']:,}: {done:,} / {total:,} windows "
            f"({100 * done // total}%)\u2026")


def sample_preview(text: str, max_lines: int = 4, max_chars: int = 400) -> str:
    """A sample cut to fit the lab's "Latest sample" line: blank-line runs (an early model
    loves newlines) become one blank line, and the whole is at most `max_lines` lines and
    `max_chars` characters, with an ellipsis where it was cut. The full text stays in the
    samples box."""
    lines, blank = [], False
    for line in text.strip().splitlines():
        line = line.rstrip()
        if not line:
            if blank:
                continue
            blank = True
        else:
            blank = False
        lines.append(line)
    preview = "\n".join(lines[:max_lines])
    cut = len(lines) > max_lines or len(preview) > max_chars
    return preview[:max_chars].rstrip() + ("\u2026" if cut else "")


def checkpoint_path(data_dir: Path, corpus: CorpusChoice, when: float | None = None) -> Path:
    """data_dir/checkpoints/<date-time>-<corpus>.safetensors"""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", corpus.short_name()).strip("-")[:40] or "corpus"
    return Path(data_dir) / "checkpoints" / f"{stamp}-{name}.safetensors"


def entry_from_model(model, name: str, meta: dict[str, Any] | None = None, source: str = ""):
    """A ModelEntry the labs can use for a model trained (or loaded) here."""
    from studyapp.models.entry import ModelEntry

    model.eval()
    return ModelEntry(name=name, source=source or TRAINED_SOURCE, model=model, config=model.cfg,
                      meta=dict(meta or {}))


def curve_from_meta(meta: dict[str, Any]):
    """(steps, train losses, eval steps, val losses, tokens per step) from checkpoint metadata."""
    step_curve = meta.get("step_curve") or {}
    curve = meta.get("curve") or {}
    steps = list(step_curve.get("step", []))
    losses = list(step_curve.get("train_loss", []))
    val_steps = list(curve.get("step", []))
    val_losses = list(curve.get("val_loss", []))
    if not steps and val_steps:  # only evaluations recorded: show their training loss
        steps, losses = val_steps, list(curve.get("train_loss", []))
    tokens = list(curve.get("tokens_seen", []))
    per_step = tokens[-1] / val_steps[-1] if tokens and val_steps and val_steps[-1] else 0.0
    return steps, losses, val_steps, val_losses, per_step
