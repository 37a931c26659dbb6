"""Training settings as data, without torch (the GUI shows and checks them before torch loads).

`TrainConfig` is the recipe of a run (the model's shape is a separate `GPTConfig`);
`problems()` lists in plain words what cannot run. `parameter_count` and
`estimate_training_memory` let the Training lab show a run's size before anything is built.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

from model.config import GPTConfig

SAMPLE_PROMPT = "Every effort moves you"


class TrainingError(ValueError):
    """The run cannot start (or go on) as asked; the message says why and what to change."""


@dataclass(frozen=True)
class TrainConfig:
    """How to train (the model's shape is a separate `GPTConfig`)."""

    lr: float = 5e-4  # peak learning rate
    weight_decay: float = 0.1
    batch_size: int = 2  # windows per step (per process under torchrun)
    epochs: int = 10
    max_steps: int | None = None  # stop after this many steps even if epochs remain
    eval_every: int = 5  # steps between evaluations; 0 = only at the end
    eval_max_windows: int | None = None  # None: the validation loss covers every window
    warmup_steps: int = 0  # linear warmup from lr/warmup to lr
    cosine: bool = False  # cosine decay from lr to lr*min_lr_ratio after warmup
    min_lr_ratio: float = 0.1
    grad_clip: float | None = None  # max gradient norm; None = no clipping (as chapter 5)
    seed: int = 123
    device: str = "auto"  # auto, cpu, cuda, cuda:N, mps
    target_val_loss: float | None = None  # stop at the first evaluation at or under it
    sample_prompt: str = SAMPLE_PROMPT
    sample_tokens: int = 25  # greedy tokens generated after each evaluation; 0 = none
    train_ratio: float = 0.90
    fused_loss: bool = True  # output head + cross-entropy without a full logits tensor
    loss_chunk_rows: int = 1024
    fused_adamw: bool = True  # one fused kernel for the AdamW update instead of a loop
    compile: bool = False  # torch.compile the model (opt-in: compiling takes a while)
    num_threads: int | None = None  # torch intra-op threads; None leaves torch's choice
    log_every: int = 1  # step records every N steps (fewer host syncs on a GPU)
    checkpoint_every: int = 0  # with `checkpoint_path`: save every N steps (0 = at the end)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainingError(f"unknown training settings: {', '.join(unknown)}")
        return cls(**dict(data))

    def replace(self, **changes: Any) -> "TrainConfig":
        return replace(self, **changes)

    def problems(self) -> list[str]:
        """Plain-language reasons this config cannot run (empty when it can)."""
        out = []

        def positive_int(name, value, allow_none=False):
            if value is None and allow_none:
                return
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                out.append(f"{name.replace('_', ' ')} must be a whole number above 0, got {value!r}")

        positive_int("batch_size", self.batch_size)
        positive_int("epochs", self.epochs)
        positive_int("max_steps", self.max_steps, allow_none=True)
        positive_int("log_every", self.log_every)
        positive_int("loss_chunk_rows", self.loss_chunk_rows)
        positive_int("eval_max_windows", self.eval_max_windows, allow_none=True)
        if not isinstance(self.eval_every, int) or self.eval_every < 0:
            out.append(f"eval every must be 0 (only at the end) or more, got {self.eval_every!r}")
        if not isinstance(self.warmup_steps, int) or self.warmup_steps < 0:
            out.append(f"warmup steps must be 0 or more, got {self.warmup_steps!r}")
        if not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr) or self.lr <= 0:
            out.append(f"learning rate must be above 0, got {self.lr!r} (the book uses 0.0004)")
        if not math.isfinite(self.weight_decay) or self.weight_decay < 0:
            out.append(f"weight decay must be 0 or more, got {self.weight_decay!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            out.append(f"gradient clipping must be above 0 (or off), got {self.grad_clip!r}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            out.append(f"min lr ratio must be between 0 and 1, got {self.min_lr_ratio!r}")
        if not 0.0 < self.train_ratio < 1.0:
            out.append(f"train ratio must be between 0 and 1, got {self.train_ratio!r}")
        if self.sample_tokens < 0:
            out.append(f"sample tokens must be 0 or more, got {self.sample_tokens!r}")
        if self.num_threads is not None and self.num_threads <= 0:
            out.append(f"threads must be above 0, got {self.num_threads!r}")
        return out


def parameter_count(cfg: GPTConfig) -> int:
    """GPTModel's parameter count, computed from the config (equals model.gpt.count_parameters)."""
    d, v, t, layers = cfg.emb_dim, cfg.vocab_size, cfg.context_length, cfg.n_layers
    attention = 3 * (d * d + (d if cfg.qkv_bias else 0)) + d * d + d
    feed_forward = d * 4 * d + 4 * d + 4 * d * d + d
    norms = 4 * d
    return v * d + t * d + layers * (attention + feed_forward + norms) + 2 * d + d * v


def estimate_training_memory(cfg: GPTConfig, train: TrainConfig) -> dict[str, int]:
    """Rough bytes a float32 training run needs: weights, gradients, AdamW state, activations.

    Activations per token and layer: about 16 x emb_dim floats kept for the backward pass, plus
    the attention matrices of the explicit path (heads x context); the output layer adds one
    chunk of logits (rows x vocabulary) with the fused loss, three full ones without it.
    """
    params = parameter_count(cfg)
    weights = 4 * params
    optimizer = 2 * weights  # AdamW keeps two moments per weight
    grads = weights
    tokens = train.batch_size * cfg.context_length
    per_layer = 16 * cfg.emb_dim + 2 * cfg.n_heads * cfg.context_length
    activations = 4 * tokens * cfg.n_layers * per_layer
    rows = min(tokens, train.loss_chunk_rows) if train.fused_loss else 3 * tokens
    logits = 4 * rows * cfg.vocab_size
    total = weights + grads + optimizer + activations + logits
    return {"parameters": params, "weights": weights, "optimizer": optimizer + grads,
            "activations": activations + logits, "total": int(total)}


def check_output_dir(path: str | os.PathLike) -> Path:
    """Make sure checkpoints can be written to the folder `path` (created if missing) before
    any time is spent training."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise TrainingError(f"checkpoints cannot be written to {path}: "
                            f"{exc.strerror or exc}") from None
    return path
