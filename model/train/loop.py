"""The training loop every chapter shares: pretraining (chapter 5) and fine-tuning (6 and 7).

At its heart `TrainingLoop.run` is the book's `train_model_simple`: for each epoch, for each
batch, zero the gradients, compute the loss, backpropagate, step the optimizer, count what was
seen, and every `eval_every` steps evaluate. What differs between chapters is the *task*: the
batches, the loss on one batch and the evaluation. A task is any object with

- ``steps_per_epoch: int`` -- optimizer steps in one pass over the training data;
- ``counters: tuple[str, ...]`` -- what the run counts, e.g. ``("tokens_seen",)`` or
  ``("examples_seen", "tokens_seen")``; every record carries these totals;
- ``batches(epoch, generator)`` -- an iterable of this process's batches for `epoch` (1-based),
  shuffled with `generator` (seeded with `TrainConfig.seed` when the run starts);
- ``loss(batch) -> Tensor`` -- the scalar loss, with gradients, in train mode;
- ``counts(batch) -> dict[str, int]`` -- what one step saw (all processes together), keyed
  by the `counters`, e.g. ``{"tokens_seen": 256}``;
- ``evaluate(stop) -> dict[str, float] | None`` -- metrics with at least ``train_loss`` and
  ``val_loss`` (a classifier adds ``train_acc``, ``val_acc``); None when `stop` was set while
  it ran. The loop puts the model in eval mode (and autograd off) around it;
- optionally ``sample(stop) -> dict | None`` -- ``{"prompt": ..., "text": ...}`` shown after
  each evaluation (chapter 5's `generate_and_print_sample`);
- optionally ``finish(stop) -> dict`` -- fields added to the done record of a run that ended by
  itself (not when the consumer stopped pulling), e.g. a classifier's accuracies after training.

The loop yields plain records (dicts), the same for every task:

- ``{"event": "step", step, epoch, total_steps, <counts>, train_loss, lr, <rates>, elapsed_s,
  eta_s}`` after every `log_every`-th optimizer step; `<rates>` is one ``X_per_s`` per
  ``X_seen`` count (``tokens_per_s``, ``examples_per_s``) for that step;
- ``{"event": "eval", step, epoch, <counts>, <metrics>, elapsed_s}`` every `eval_every` steps
  and once at the end;
- ``{"event": "sample", step, epoch, <counts>, prompt, text}`` after each evaluation when the
  task samples;
- ``{"event": "done", reason, message, step, total_steps, <counts>, elapsed_s, train_loss,
  val_loss, best_val_loss}`` once, last; `reason` is one of `DONE_REASONS`.

On top of the book: AdamW with optional linear warmup and cosine decay (appendix D), gradient
clipping, a stop when the loss turns NaN/inf (the weights of the last good step are kept), a
cooperative stop/pause token (`model.stopping.StopToken`) checked before every step and
during evaluation, a stop at a target validation loss, periodic checkpoints, and
DistributedDataParallel under torchrun (see `model.train.distributed`). The loop knows nothing
of Qt: a GUI worker pulls `run()` on its thread; a CLI prints each record as a JSON line.

Usage by a fine-tuning task::

    loop = TrainingLoop(model, MyTask(...), TrainConfig(lr=5e-5, epochs=5, eval_every=50),
                        device=torch.device("cpu"))
    for record in loop.run(stop_token):
        ...
    loop.history      # every evaluation's metrics, by key, with step, counts and elapsed_s
    loop.last_done    # the done record, also after the consumer stopped pulling
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol

import torch
import torch.nn as nn

from model.train.config import TrainConfig
from model.train.distributed import Dist, any_rank, mean_over_ranks

DONE_REASONS = ("completed", "max_steps", "target_val_loss", "stopped", "nan")


class Task(Protocol):
    """What a run trains on (see the module docstring); `sample` is optional."""

    steps_per_epoch: int
    counters: tuple[str, ...]

    def batches(self, epoch: int, generator: torch.Generator) -> Iterable[Any]: ...

    def loss(self, batch: Any) -> torch.Tensor: ...

    def counts(self, batch: Any) -> dict[str, int]: ...

    def evaluate(self, stop) -> dict[str, float] | None: ...


def make_optimizer(model: nn.Module, config: TrainConfig, device: torch.device
                   ) -> torch.optim.Optimizer:
    """AdamW over the parameters that train (frozen ones stay out of the optimizer state)."""
    params = [p for p in model.parameters() if p.requires_grad]
    kwargs: dict[str, Any] = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.fused_adamw and device.type in ("cpu", "cuda", "mps"):
        kwargs["fused"] = True
    try:
        return torch.optim.AdamW(params, **kwargs)
    except (RuntimeError, TypeError):  # an older torch without the fused kernel here
        kwargs.pop("fused", None)
        return torch.optim.AdamW(params, **kwargs)


def rate_key(count_key: str) -> str:
    """'tokens_seen' -> 'tokens_per_s'."""
    return count_key.removesuffix("_seen") + "_per_s"


class TrainingLoop:
    """One run of `task` on `model` with the recipe `config`; `run()` is the loop."""

    def __init__(self, model: nn.Module, task: Task, config: TrainConfig, *,
                 device: torch.device | None = None, dist: Dist | None = None):
        self.model = model
        self.task = task
        self.config = config
        self.dist = dist if dist is not None else Dist()
        self.device = device if device is not None else torch.device("cpu")
        self.steps_per_epoch = task.steps_per_epoch
        total = self.steps_per_epoch * config.epochs
        if config.max_steps:
            total = min(total, config.max_steps)
        self.total_steps = total
        self.optimizer = make_optimizer(model, config, self.device)
        self.step = 0
        self.epoch = 0
        self.seen = {key: 0 for key in task.counters}  # e.g. tokens_seen, over the whole run
        self.history: dict[str, list] = {"step": [], **{key: [] for key in self.seen},
                                         "train_loss": [], "val_loss": [], "elapsed_s": []}
        self.step_losses: list[tuple[int, float]] = []
        self.samples: list[dict] = []
        self.last_train_loss: float | None = None
        self.last_eval: dict[str, float] | None = None
        self.last_done: dict | None = None
        self.end: tuple[str, str] | None = None  # (reason, message) once the run has to end
        self.elapsed_s = 0.0
        self._evaluated_at = -1
        self._last_counts: dict[str, int] = {}
        self._t_start = time.perf_counter()
        self._paused_s = 0.0
        self.checkpoint_path: Path | None = None  # where checkpoint_every saves
        self.extra_meta: dict[str, Any] = {}  # merged into every checkpoint's metadata

    @property
    def tokens_seen(self) -> int:
        return self.seen.get("tokens_seen", 0)

    @property
    def examples_seen(self) -> int:
        return self.seen.get("examples_seen", 0)

    def lr_at(self, step: int) -> float:
        """Learning rate for 0-based optimizer step `step`."""
        cfg = self.config
        if cfg.warmup_steps and step < cfg.warmup_steps:
            return cfg.lr * (step + 1) / cfg.warmup_steps
        if not cfg.cosine:
            return cfg.lr
        span = max(1, self.total_steps - cfg.warmup_steps)
        progress = min(1.0, (step - cfg.warmup_steps) / span)
        low = cfg.lr * cfg.min_lr_ratio
        return low + (cfg.lr - low) * 0.5 * (1.0 + math.cos(math.pi * progress))

    # -- the loop --

    def run(self, stop=None) -> Iterator[dict]:
        """Train, yielding records (see the module docstring). Ends with one 'done' record.

        A consumer may also stop pulling (a GUI worker told to stop breaks out of its loop):
        closing the generator leaves the model as of the last finished step, and `last_done`
        then says "stopped", so the run can still be saved with its curve.
        """
        self.last_done = None
        try:
            yield from self._train(stop)
        finally:
            if self.last_done is None:
                self.elapsed_s = self._elapsed()
                self.model.eval()
                self.last_done = self._done_record("stopped", self._stopped_message())

    def _train(self, stop) -> Iterator[dict]:
        cfg = self.config
        generator = torch.Generator().manual_seed(cfg.seed)
        self._t_start = time.perf_counter()
        self._paused_s = 0.0
        self.end = None
        self.model.train()
        for epoch in range(1, cfg.epochs + 1):
            self.epoch = epoch
            for batch in self.task.batches(epoch, generator):
                if self.step >= self.total_steps or self._stop_requested(stop):
                    break
                t_step = time.perf_counter()
                lr = self._set_lr()
                self.optimizer.zero_grad(set_to_none=True)
                loss = self.task.loss(batch)
                loss.backward()
                if not self._loss_is_finite(loss, lr):
                    break
                if cfg.grad_clip:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                self.optimizer.step()
                self.step += 1
                self._count(batch)
                if self._logs_step(self.step):
                    yield self._step_record(lr, time.perf_counter() - t_step)
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    self._periodic_save()
                if cfg.eval_every and self.step % cfg.eval_every == 0:
                    yield from self._evaluate(stop)
                if self.end is not None:
                    break
            if self.end is not None or self.step >= self.total_steps:
                break
        yield from self._finish(stop)

    # -- the steps of the loop --

    def _stop_requested(self, stop) -> bool:
        stopped = False
        if stop is not None:
            t_pause = time.perf_counter()
            stop.check_pause()
            self._paused_s += time.perf_counter() - t_pause
            stopped = bool(stop.stopped)
        if self.dist.active:
            stopped = any_rank(stopped, self.dist, self.device)
        if stopped:
            self.end = ("stopped", self._stopped_message())
        return stopped

    def _set_lr(self) -> float:
        lr = self.lr_at(self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def _logs_step(self, step: int) -> bool:
        """Whether 1-based step `step` gets a step record."""
        return step % self.config.log_every == 0 or step == self.total_steps

    def _loss_is_finite(self, loss: torch.Tensor, lr: float) -> bool:
        # The loss is read back (a host sync) only on steps that are logged, and on every step
        # under DDP, where all processes must agree on stopping.
        if not (self._logs_step(self.step + 1) or self.dist.active):
            return True
        value = mean_over_ranks(loss.detach(), self.dist)
        if math.isfinite(value):
            self.last_train_loss = value
            return True
        # the weights are still those before this step: keep them
        self.end = ("nan", f"the loss became {value} at step {self.step + 1} (epoch "
                           f"{self.epoch}); training stopped. The learning rate ({lr:g}) is "
                           "probably too high: try it 10x lower, or turn on gradient clipping "
                           "and warmup")
        return False

    def _count(self, batch) -> None:
        self._last_counts = self.task.counts(batch)
        for key, n in self._last_counts.items():
            self.seen[key] += n

    def _step_record(self, lr: float, step_time: float) -> dict:
        self.step_losses.append((self.step, self.last_train_loss))
        spent = self._elapsed()
        rates = {rate_key(k): n / max(step_time, 1e-9) for k, n in self._last_counts.items()}
        return {"event": "step", "step": self.step, "epoch": self.epoch,
                "total_steps": self.total_steps, **self.seen,
                "train_loss": self.last_train_loss, "lr": lr, **rates, "elapsed_s": spent,
                "eta_s": spent / self.step * (self.total_steps - self.step)}

    def _evaluate(self, stop) -> Iterator[dict]:
        """Evaluate, record, sample; then end the run if the target loss is reached.

        A stop during the evaluation ends the run as stopped, unless its end is already known
        (the evaluation after the last step of a completed run).
        """
        self.model.eval()
        try:
            with torch.no_grad():
                metrics = self.task.evaluate(stop)
        finally:
            self.model.train()
        if metrics is None:
            if self.end is None:
                self.end = ("stopped", self._stopped_message())
            return
        self.last_eval, self._evaluated_at = metrics, self.step
        self.history["step"].append(self.step)
        for key, value in self.seen.items():
            self.history[key].append(value)
        for key, value in metrics.items():
            self.history.setdefault(key, []).append(value)
        self.history["elapsed_s"].append(round(self._elapsed(), 3))
        yield {"event": "eval", "step": self.step, "epoch": self.epoch, **self.seen, **metrics,
               "elapsed_s": self._elapsed()}
        sample = self._sample(stop)
        if sample is not None:
            yield sample
        target = self.config.target_val_loss
        if target is not None and metrics["val_loss"] <= target:
            self.end = ("target_val_loss", f"validation loss {metrics['val_loss']:.3f} reached "
                                           f"the target {target:g} at step {self.step}")

    def _sample(self, stop) -> dict | None:
        sample_fn = getattr(self.task, "sample", None)
        if sample_fn is None or self.dist.rank != 0:
            return None
        sample = sample_fn(stop)
        if sample is None:
            return None
        record = {"event": "sample", "step": self.step, "epoch": self.epoch, **self.seen,
                  "prompt": sample.get("prompt", ""), "text": sample["text"]}
        self.samples.append({"step": self.step, **self.seen, "text": sample["text"]})
        return record

    def _finish(self, stop) -> Iterator[dict]:
        if self.end is None:
            self.end = self._completed()
            if self._evaluated_at != self.step and self.step > 0:
                yield from self._evaluate(stop)
        self.model.eval()
        self.elapsed_s = self._elapsed()
        done = self._done_record(*self.end)
        finish = getattr(self.task, "finish", None)
        if finish is not None:
            with torch.no_grad():
                done.update(finish(stop))
        self.last_done = done
        yield done

    def _completed(self) -> tuple[str, str]:
        cfg = self.config
        if cfg.max_steps and self.step >= cfg.max_steps and self.step < (
                self.steps_per_epoch * cfg.epochs):
            return "max_steps", f"reached the step limit ({cfg.max_steps})"
        return "completed", f"finished {cfg.epochs} epoch(s), {self.step} steps"

    def _stopped_message(self) -> str:
        return f"stopped at step {self.step} of {self.total_steps}"

    def _done_record(self, reason: str, message: str) -> dict:
        return {"event": "done", "reason": reason, "message": message, "step": self.step,
                "total_steps": self.total_steps, **self.seen, "elapsed_s": self.elapsed_s,
                "train_loss": self.last_train_loss,
                "val_loss": self.last_eval["val_loss"] if self.last_eval else None,
                "best_val_loss": min(self.history["val_loss"], default=None)}

    def _elapsed(self) -> float:
        return time.perf_counter() - self._t_start - self._paused_s

    # -- checkpoints --

    def checkpoint_meta(self, **extra: Any) -> dict[str, Any]:
        """What a checkpoint says about how it was made, including the training curve."""
        curve_steps = self.step_losses
        if len(curve_steps) > 2000:  # keep the metadata small on long runs
            stride = math.ceil(len(curve_steps) / 2000)
            curve_steps = curve_steps[::stride]
        meta = {
            "train_config": self.config.to_dict(),
            "steps": self.step, **self.seen,
            "elapsed_s": round(self.elapsed_s, 2),
            "curve": {k: list(v) for k, v in self.history.items()},
            "step_curve": {"step": [s for s, _ in curve_steps],
                           "train_loss": [round(v, 4) for _, v in curve_steps]},
            "samples": self.samples[-10:],
            "done": self.last_done,
            "torch": torch.__version__,
        }
        meta.update(self.extra_meta)
        meta.update(extra)
        return meta

    def save(self, path: str | os.PathLike, **extra: Any) -> Path | None:
        """Save the model atomically (only the first process under torchrun)."""
        if self.dist.rank != 0:
            return None
        from model.checkpoint import save_checkpoint

        return save_checkpoint(self.model, path, self.checkpoint_meta(**extra))

    def _periodic_save(self) -> None:
        if self.checkpoint_path is not None:
            self.save(self.checkpoint_path)
