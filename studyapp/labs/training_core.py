"""The Training lab's logic, without Qt: corpus choice, settings, sizes, checkpoints, entries.

The loop itself is `model.train.Trainer`; this module turns the lab's choices into its inputs
and its results into files and `ModelEntry`s. Torch is only imported inside the functions that
run on the worker (the window paints before torch loads).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.config import GPTConfig
from model.train.config import (TrainConfig, TrainingError, estimate_training_memory,
                                parameter_count)
from studyapp.labs.models_core import human_bytes

VERDICT, NOTES, FILE = "the-verdict", "notes", "file"
CORPUS_LABELS = {VERDICT: "The Verdict (bundled)", NOTES: "My notes file", FILE: "A text file"}
TRAINED_SOURCE = "trained in the Training lab"


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
    from studyapp.model_registry import ModelEntry

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
