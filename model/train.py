"""Chapter 5: pretraining a GPT on unlabeled text, as a generator of plain records.

`Trainer(model_config, train_config, text).run(stop)` yields one dict per event:

- ``{"event": "step", step, epoch, total_steps, tokens_seen, train_loss, lr, tokens_per_s,
  elapsed_s, eta_s}`` after every optimizer step (every `log_every` steps);
- ``{"event": "eval", step, epoch, tokens_seen, train_loss, val_loss, elapsed_s}`` every
  `eval_every` steps and at the end;
- ``{"event": "sample", step, epoch, tokens_seen, prompt, text}`` after each evaluation;
- ``{"event": "done", reason, message, step, tokens_seen, elapsed_s, ...}`` once, last.

The loss is the book's (mean cross-entropy over the whole 50,257-token vocabulary) and the data
is prepared as the book does: the text split 90/10 by characters, windows of `context_length`
tokens with stride `context_length`, training windows shuffled each epoch (incomplete last batch
dropped), the validation loss averaged over every validation window. On top of the book's
`train_model_simple`: AdamW with optional linear warmup and cosine decay (appendix D), gradient
clipping, a stop when the loss turns NaN/inf, a cooperative stop/pause token checked every step,
device choice, DistributedDataParallel when started by `torchrun`, and atomic checkpoints.

The loop knows nothing about Qt: the GUI drives `run()` from a worker thread, and
`python -m model.train` drives it from the command line (see `main`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from model.stopping import StopToken
from model.config import GPTConfig
from model.gpt import GPTModel
from model.loss import linear_cross_entropy
from model.train_config import SAMPLE_PROMPT, TrainConfig, TrainingError, check_output_dir

DONE_REASONS = ("completed", "max_steps", "target_val_loss", "stopped", "nan")


# -- corpus -----------------------------------------------------------------------------------

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
    from model.resources import read_the_verdict, resource_path

    key = name.strip().lower()
    if key in ("the-verdict", "verdict", "the_verdict"):
        return "The Verdict (Edith Wharton, 1908)", read_the_verdict()
    if key in ("notes", "the-notes"):
        path = resource_path("notes", "llm-from-scratch-notes.md")
        return "the bundled chapter notes", path.read_text(encoding="utf-8")
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


def _windows(ids: torch.Tensor, context_length: int) -> torch.Tensor:
    """(n, context_length + 1) windows every context_length tokens, as GPTDatasetV1 makes."""
    if ids.numel() <= context_length:
        return ids.new_empty((0, context_length + 1))
    return ids.unfold(0, context_length + 1, context_length)


def _suggest_context(train_tokens: int, val_tokens: int, batch_size: int, world: int) -> int:
    for ctx in (1024, 512, 256, 128, 64, 32, 16, 8, 4):
        n_train = max(0, math.ceil((train_tokens - ctx) / ctx))
        if val_tokens > ctx and n_train >= batch_size * world:
            return ctx
    return 0


# -- distributed --------------------------------------------------------------------------------

@dataclass
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    active: bool = False


def _init_distributed(device_pref: str) -> _Dist:
    """Join the process group when started by torchrun (WORLD_SIZE > 1 in the environment)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device_pref in ("auto",) or device_pref.startswith("cuda")
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return _Dist(rank=dist.get_rank(), world=dist.get_world_size(), local_rank=local_rank,
                 active=True)


def pick_device(pref: str = "auto", local_rank: int = 0) -> torch.device:
    """'auto' takes CUDA, then Apple's MPS, then the CPU."""
    pref = (pref or "auto").strip().lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(pref)
    except RuntimeError:
        raise TrainingError(f"unknown device {pref!r}; use auto, cpu, cuda or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError("device 'cuda' was asked for but no CUDA GPU is available; use auto")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None)
                                      and torch.backends.mps.is_available()):
        raise TrainingError("device 'mps' was asked for but is not available here; use auto")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
    return device


class _GPTWithLoss(nn.Module):
    """The model plus its loss in one forward, so DistributedDataParallel sees one module."""

    def __init__(self, gpt: GPTModel, fused: bool, chunk_rows: int):
        super().__init__()
        self.gpt = gpt
        self.fused = fused
        self.chunk_rows = chunk_rows
        self._logits = None  # scratch for one chunk of logits, kept between steps

    def _buffer(self, rows: int, like: torch.Tensor) -> torch.Tensor:
        rows = min(rows, self.chunk_rows)
        vocab = self.gpt.out_head.weight.shape[0]
        buf = self._logits
        if buf is None or buf.shape[0] < rows or buf.dtype != like.dtype or buf.device != like.device:
            buf = self._logits = torch.empty(rows, vocab, dtype=like.dtype, device=like.device)
        return buf

    def forward(self, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        gpt = self.gpt
        if not self.fused:
            return F.cross_entropy(gpt(inputs).flatten(0, 1), targets.flatten())
        x = gpt.drop_emb(gpt.embed(inputs))  # (b, T, emb_dim)
        x = gpt.final_norm(gpt.trf_blocks(x))
        weight = gpt.out_head.weight
        return linear_cross_entropy(x, weight, targets, self.chunk_rows,
                                    self._buffer(targets.numel(), weight))


# Scripts and tests say StopFlag; the GUI's job threads pass the same kind of token.
StopFlag = StopToken


# -- the trainer --------------------------------------------------------------------------------

class Trainer:
    """Holds the model, data and optimizer of one run; `run()` is the loop.

    Bad settings or a corpus too short for them raise `TrainingError` here, before anything
    heavy happens. `model` (a GPTModel) may be passed to continue training it.
    """

    def __init__(self, model_config: GPTConfig | Mapping[str, Any], train_config: TrainConfig,
                 text: str | Sequence[str] | None = None, *, train_text: str | None = None,
                 val_text: str | None = None, model: GPTModel | None = None,
                 corpus_name: str = "", tokenizer=None):
        try:
            self.model_config = GPTConfig.coerce(model_config)
        except (TypeError, ValueError) as exc:
            raise TrainingError(str(exc)) from None
        self.config = train_config
        problems = train_config.problems()
        if problems:
            raise TrainingError("; ".join(problems))
        self.corpus_name = corpus_name
        self.dist = _init_distributed(train_config.device)
        self.device = pick_device(train_config.device, self.dist.local_rank)
        if train_config.num_threads:
            torch.set_num_threads(train_config.num_threads)
        elif self.dist.active and self.device.type == "cpu":
            # processes on one machine would otherwise each take every core
            torch.set_num_threads(max(1, (os.cpu_count() or 1) // self.dist.world))

        if train_text is None or val_text is None:
            if text is None:
                raise TrainingError("no training text given")
            texts = [text] if isinstance(text, str) else list(text)
            if not any(t.strip() for t in texts):
                raise TrainingError("the training text is empty")
            train_text, val_text = split_corpora(texts, train_config.train_ratio)
        if tokenizer is None:
            from model.tokenizer import get_tokenizer

            tokenizer = get_tokenizer()
        self.tokenizer = tokenizer
        train_ids = torch.tensor(tokenizer.encode(train_text), dtype=torch.long)
        val_ids = torch.tensor(tokenizer.encode(val_text), dtype=torch.long)
        self.corpus_tokens = int(train_ids.numel() + val_ids.numel())
        self.corpus_chars = len(train_text) + len(val_text)
        ctx = self.model_config.context_length
        self.train_windows = _windows(train_ids, ctx)
        self.val_windows = _windows(val_ids, ctx)
        self._check_data_fits(int(train_ids.numel()), int(val_ids.numel()))

        world = self.dist.world
        self.steps_per_epoch = len(self.train_windows) // (train_config.batch_size * world)
        total = self.steps_per_epoch * train_config.epochs
        if train_config.max_steps:
            total = min(total, train_config.max_steps)
        self.total_steps = total
        self.tokens_per_step = train_config.batch_size * ctx * world

        torch.manual_seed(train_config.seed)  # the book seeds right before building the model
        self.model = model if model is not None else GPTModel(self.model_config)
        self.model.to(self.device)
        self._loss_module = _GPTWithLoss(self.model, train_config.fused_loss,
                                         train_config.loss_chunk_rows)
        self._train_module: nn.Module = self._loss_module
        if self.dist.active:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self._train_module = DDP(self._loss_module, device_ids=ids)
        if train_config.compile:
            self._train_module = torch.compile(self._train_module)
        self.optimizer = self._make_optimizer()
        self.step = 0
        self.tokens_seen = 0
        self.history: dict[str, list] = {"step": [], "tokens_seen": [], "train_loss": [],
                                         "val_loss": [], "elapsed_s": []}
        self.step_losses: list[tuple[int, float]] = []
        self.samples: list[dict] = []
        self.last_done: dict | None = None
        self.elapsed_s = 0.0
        self._t_start = time.perf_counter()
        self._paused_s = 0.0
        self.checkpoint_path: Path | None = None  # where checkpoint_every saves
        self.extra_meta: dict[str, Any] = {}  # merged into every checkpoint's metadata

    # -- setup helpers --

    def _check_data_fits(self, train_tokens: int, val_tokens: int) -> None:
        cfg, ctx, world = self.config, self.model_config.context_length, self.dist.world
        need = cfg.batch_size * world
        if len(self.val_windows) >= 1 and len(self.train_windows) >= need:
            return
        total = train_tokens + val_tokens
        suggestion = _suggest_context(train_tokens, val_tokens, cfg.batch_size, world)
        hint = (f"try a context length of {suggestion} or less" if suggestion
                else "use a longer text (a few thousand words at least)")
        if len(self.val_windows) < 1:
            raise TrainingError(
                f"the corpus is too short for a context of {ctx} tokens: it has {total:,} "
                f"tokens, and its validation part (the last "
                f"{100 - round(cfg.train_ratio * 100)}%) has {val_tokens:,}, fewer than one "
                f"window of {ctx + 1}; {hint}"
            )
        raise TrainingError(
            f"the corpus is too short for batches of {need} windows of {ctx} tokens: its "
            f"training part has {train_tokens:,} tokens, only {len(self.train_windows)} "
            f"window(s); lower the batch size, or {hint}"
        )

    def _make_optimizer(self) -> torch.optim.Optimizer:
        cfg = self.config
        params = [p for p in self.model.parameters() if p.requires_grad]
        kwargs: dict[str, Any] = {"lr": cfg.lr, "weight_decay": cfg.weight_decay}
        if cfg.fused_adamw and self.device.type in ("cpu", "cuda", "mps"):
            kwargs["fused"] = True
        try:
            return torch.optim.AdamW(params, **kwargs)
        except (RuntimeError, TypeError):  # an older torch without the fused kernel here
            kwargs.pop("fused", None)
            return torch.optim.AdamW(params, **kwargs)

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

    # -- evaluation and samples --

    def _mean_window_loss(self, windows: torch.Tensor, stop) -> float | None:
        """Mean loss over `windows` (this process's share under DDP), None if stopped."""
        dist = self.dist
        mine = windows[dist.rank::dist.world]
        total = torch.zeros(2, dtype=torch.float64)
        rows = max(1, self.config.batch_size * 4)
        self.model.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(mine), rows):
                    if stop is not None and stop.stopped:
                        return None
                    chunk = mine[start:start + rows].to(self.device)
                    loss = self._loss_module(chunk[:, :-1], chunk[:, 1:])
                    total[0] += float(loss) * len(chunk)  # windows are equally long
                    total[1] += len(chunk)
        finally:
            self.model.train()
        if dist.active:
            import torch.distributed as tdist

            tdist.all_reduce(total)
        return float(total[0] / max(1.0, float(total[1])))

    def _eval_subsets(self) -> tuple[torch.Tensor, torch.Tensor]:
        val = self.val_windows
        if self.config.eval_max_windows:
            val = val[: self.config.eval_max_windows]
        # The training loss at evaluation time on a fixed, evenly spread subset as large as the
        # validation set (the book uses its first eval_iter batches).
        n_train = min(len(self.train_windows), max(len(val), self.config.batch_size))
        idx = torch.linspace(0, len(self.train_windows) - 1, n_train).long()
        return self.train_windows[idx], val

    def evaluate(self, stop=None) -> tuple[float, float] | None:
        train_sub, val = self._eval_subsets()
        train_loss = self._mean_window_loss(train_sub, stop)
        val_loss = None if train_loss is None else self._mean_window_loss(val, stop)
        if val_loss is None:
            return None
        return train_loss, val_loss

    def sample(self, stop=None, max_new_tokens: int | None = None) -> str:
        """Greedy continuation of the sample prompt (section 5.1.3's generate_and_print_sample)."""
        from model.generate import iter_generate

        n = self.config.sample_tokens if max_new_tokens is None else max_new_tokens
        ids = self.tokenizer.encode(self.config.sample_prompt)
        if not ids:
            return ""
        idx = torch.tensor([ids], dtype=torch.long, device=self.device)
        out = list(ids)
        # the key/value cache computes each new token's logits only (same tokens as without)
        for token in iter_generate(self.model, idx, n, self.model_config.context_length,
                                   use_cache=True):
            out.append(token)
            if stop is not None and stop.stopped:
                break
        return self.tokenizer.decode(out)

    # -- the loop --

    def run(self, stop=None) -> Iterator[dict]:
        """Train, yielding records (see the module docstring). Ends with one 'done' record.

        A consumer may also stop pulling (a GUI worker told to stop breaks out of its loop):
        closing the generator leaves the model as of the last finished step, and `last_done`
        then says "stopped", so the run can still be saved with its curve.
        """
        self.last_done = None
        try:
            yield from self._run(stop)
        finally:
            if self.last_done is None:
                self.elapsed_s = self._elapsed()
                self.model.eval()
                self.last_done = {
                    "event": "done", "reason": "stopped",
                    "message": f"stopped at step {self.step} of {self.total_steps}",
                    "step": self.step, "total_steps": self.total_steps,
                    "tokens_seen": self.tokens_seen, "elapsed_s": self.elapsed_s,
                    "train_loss": self.step_losses[-1][1] if self.step_losses else None,
                    "val_loss": self.history["val_loss"][-1] if self.history["val_loss"] else None,
                    "best_val_loss": min(self.history["val_loss"], default=None)}

    def _elapsed(self) -> float:
        return time.perf_counter() - self._t_start - self._paused_s

    def _run(self, stop) -> Iterator[dict]:
        cfg, dist = self.config, self.dist
        gen = torch.Generator().manual_seed(cfg.seed)
        batch = cfg.batch_size
        self._t_start = time.perf_counter()
        self._paused_s = 0.0
        done_reason, message = "completed", ""
        last_train_loss = float("nan")
        last_eval: tuple[float, float] | None = None
        evaluated_at = -1
        self.model.train()

        elapsed = self._elapsed

        def do_eval(epoch: int):
            nonlocal last_eval, evaluated_at
            result = self.evaluate(stop)
            if result is None:
                return None
            last_eval, evaluated_at = result, self.step
            for key, value in (("step", self.step), ("tokens_seen", self.tokens_seen),
                               ("train_loss", result[0]), ("val_loss", result[1]),
                               ("elapsed_s", round(elapsed(), 3))):
                self.history[key].append(value)
            return {"event": "eval", "step": self.step, "epoch": epoch,
                    "tokens_seen": self.tokens_seen, "train_loss": result[0],
                    "val_loss": result[1], "elapsed_s": elapsed()}

        def do_sample(epoch: int):
            if cfg.sample_tokens <= 0 or dist.rank != 0:
                return None
            text = self.sample(stop)
            record = {"event": "sample", "step": self.step, "epoch": epoch,
                      "tokens_seen": self.tokens_seen, "prompt": cfg.sample_prompt,
                      "text": text}
            self.samples.append({k: record[k] for k in ("step", "tokens_seen", "text")})
            return record

        def eval_round(epoch: int):
            """Evaluate, then sample, yielding their records. Returns None when stopped during
            the evaluation, else whether the validation loss has reached the target."""
            record = do_eval(epoch)
            if record is None:
                return None
            yield record
            sample = do_sample(epoch)
            if sample is not None:
                yield sample
            return cfg.target_val_loss is not None and last_eval[1] <= cfg.target_val_loss

        def target_reached() -> tuple[str, str]:
            return "target_val_loss", (f"validation loss {last_eval[1]:.3f} reached the target "
                                       f"{cfg.target_val_loss:g} at step {self.step}")

        epoch = 0
        stopped = False
        for epoch in range(1, cfg.epochs + 1):
            order = torch.randperm(len(self.train_windows), generator=gen)
            for b in range(self.steps_per_epoch):
                if self.step >= self.total_steps:
                    break
                if stop is not None:
                    t_pause = time.perf_counter()
                    stop.check_pause()
                    self._paused_s += time.perf_counter() - t_pause
                    stopped = bool(stop.stopped)
                if dist.active:
                    stopped = self._any_rank(stopped)
                if stopped:
                    break
                t_step = time.perf_counter()
                lo = (b * dist.world + dist.rank) * batch
                chunk = self.train_windows[order[lo:lo + batch]].to(self.device)
                lr = self.lr_at(self.step)
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                self.optimizer.zero_grad(set_to_none=True)
                loss = self._train_module(chunk[:, :-1], chunk[:, 1:])
                loss.backward()
                log_now = (self.step + 1) % cfg.log_every == 0 or self.step + 1 == self.total_steps
                if log_now or dist.active:
                    loss_value = self._mean_over_ranks(loss.detach())
                    if not math.isfinite(loss_value):
                        # the weights are still those before this step: keep them
                        done_reason = "nan"
                        message = (
                            f"the loss became {loss_value} at step {self.step + 1} (epoch "
                            f"{epoch}); training stopped. The learning rate ({lr:g}) is "
                            "probably too high: try it 10x lower, or turn on gradient clipping "
                            "and warmup"
                        )
                        break
                    last_train_loss = loss_value
                if cfg.grad_clip:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                self.optimizer.step()
                self.step += 1
                self.tokens_seen += self.tokens_per_step
                step_time = time.perf_counter() - t_step
                if log_now:
                    self.step_losses.append((self.step, last_train_loss))
                    spent = elapsed()
                    yield {"event": "step", "step": self.step, "epoch": epoch,
                           "total_steps": self.total_steps, "tokens_seen": self.tokens_seen,
                           "train_loss": last_train_loss, "lr": lr,
                           "tokens_per_s": self.tokens_per_step / max(step_time, 1e-9),
                           "elapsed_s": spent,
                           "eta_s": spent / self.step * (self.total_steps - self.step)}
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    self._periodic_save()
                if cfg.eval_every and self.step % cfg.eval_every == 0:
                    reached = yield from eval_round(epoch)
                    if reached is None:
                        stopped = True
                        break
                    if reached:
                        done_reason, message = target_reached()
                        break
            if done_reason != "completed" or stopped or self.step >= self.total_steps:
                break

        if stopped:
            done_reason = "stopped"
            message = f"stopped at step {self.step} of {self.total_steps}"
        elif done_reason == "completed":
            if cfg.max_steps and self.step >= cfg.max_steps and self.step < (
                    self.steps_per_epoch * cfg.epochs):
                done_reason = "max_steps"
                message = f"reached the step limit ({cfg.max_steps})"
            else:
                message = f"finished {cfg.epochs} epoch(s), {self.step} steps"
            if evaluated_at != self.step and self.step > 0:
                if (yield from eval_round(epoch)):  # a stop here still ends as "completed"
                    done_reason, message = target_reached()
        self.model.eval()
        self.elapsed_s = elapsed()
        done = {"event": "done", "reason": done_reason, "message": message, "step": self.step,
                "total_steps": self.total_steps, "tokens_seen": self.tokens_seen,
                "elapsed_s": self.elapsed_s, "train_loss": last_train_loss,
                "val_loss": last_eval[1] if last_eval else None,
                "best_val_loss": min(self.history["val_loss"], default=None)}
        self.last_done = done
        yield done

    def _mean_over_ranks(self, loss: torch.Tensor) -> float:
        if not self.dist.active:
            return float(loss)
        import torch.distributed as tdist

        t = loss.reshape(1).to(torch.float64)
        tdist.all_reduce(t)
        return float(t) / self.dist.world

    def _any_rank(self, flag: bool) -> bool:
        import torch.distributed as tdist

        t = torch.tensor([1.0 if flag else 0.0])
        if self.device.type == "cuda":
            t = t.to(self.device)
        tdist.all_reduce(t)
        return bool(t.item() > 0)

    # -- checkpoints --

    def checkpoint_meta(self, **extra: Any) -> dict[str, Any]:
        """What a checkpoint says about how it was made, including the training curve."""
        curve_steps = self.step_losses
        if len(curve_steps) > 2000:  # keep the metadata small on long runs
            stride = math.ceil(len(curve_steps) / 2000)
            curve_steps = curve_steps[::stride]
        meta = {
            "corpus": {"name": self.corpus_name, "characters": self.corpus_chars,
                       "tokens": self.corpus_tokens},
            "train_config": self.config.to_dict(),
            "steps": self.step, "tokens_seen": self.tokens_seen,
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


def train(model_config, train_config: TrainConfig, text, stop=None, **kwargs) -> Iterator[dict]:
    """Shortcut: build a Trainer and yield its records."""
    yield from Trainer(model_config, train_config, text, **kwargs).run(stop)


# -- command line -------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m model.train",
        description="Pretrain a small GPT (chapter 5) and print one JSON record per line.",
    )
    p.add_argument("--corpus", action="append", metavar="PATH",
                   help="a UTF-8 text file, or 'the-verdict' / 'notes' for the shipped texts; "
                        "repeat to train on several (default: the-verdict)")
    p.add_argument("--preset", default="default", help="training preset (see --list-presets)")
    p.add_argument("--list-presets", action="store_true", help="print the presets and exit")
    for flag, kind in (("--emb-dim", int), ("--n-layers", int), ("--n-heads", int),
                       ("--context-length", int), ("--drop-rate", float),
                       ("--batch-size", int), ("--lr", float), ("--weight-decay", float),
                       ("--epochs", int), ("--max-steps", int), ("--eval-every", int),
                       ("--warmup-steps", int), ("--grad-clip", float), ("--seed", int),
                       ("--target-val-loss", float), ("--sample-tokens", int),
                       ("--threads", int), ("--checkpoint-every", int), ("--log-every", int)):
        p.add_argument(flag, type=kind)
    p.add_argument("--cosine", action=argparse.BooleanOptionalAction, default=None,
                   help="cosine learning-rate decay after warmup")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (slow start)")
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda, mps")
    p.add_argument("--out", help="folder for the checkpoint (model.safetensors + model.json)")
    p.add_argument("--name", default="model", help="checkpoint file name in --out")
    p.add_argument("--half", action="store_true",
                   help="store the checkpoint's weights as float16 (half the size)")
    p.add_argument("--jsonl", help="also write the records to this file")
    p.add_argument("--quiet", action="store_true", help="no records on stdout")
    return p


def _configs_from_args(args) -> tuple[GPTConfig, TrainConfig]:
    from model.train_presets import get_training_preset

    preset = get_training_preset(args.preset)
    model_changes = {k: v for k, v in (
        ("emb_dim", args.emb_dim), ("n_layers", args.n_layers), ("n_heads", args.n_heads),
        ("context_length", args.context_length), ("drop_rate", args.drop_rate)) if v is not None}
    train_changes = {k: v for k, v in (
        ("batch_size", args.batch_size), ("lr", args.lr), ("weight_decay", args.weight_decay),
        ("epochs", args.epochs), ("max_steps", args.max_steps), ("eval_every", args.eval_every),
        ("warmup_steps", args.warmup_steps), ("grad_clip", args.grad_clip), ("seed", args.seed),
        ("target_val_loss", args.target_val_loss), ("sample_tokens", args.sample_tokens),
        ("num_threads", args.threads), ("checkpoint_every", args.checkpoint_every),
        ("log_every", args.log_every), ("cosine", args.cosine), ("device", args.device))
        if v is not None}
    if args.compile:
        train_changes["compile"] = True
    try:
        model_cfg = preset.model.replace(**model_changes)
    except ValueError as exc:
        raise TrainingError(str(exc)) from None
    return model_cfg, preset.train.replace(**train_changes)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list_presets:
        from model.train_presets import describe_presets

        print(describe_presets())
        return 0
    jsonl = None
    try:
        model_cfg, train_cfg = _configs_from_args(args)
        specs = args.corpus or ["the-verdict"]
        corpora = [load_corpus(s) for s in specs]
        out_dir = check_output_dir(args.out) if args.out else None
        trainer = Trainer(model_cfg, train_cfg, [t for _, t in corpora],
                          corpus_name=" + ".join(label for label, _ in corpora))
        rank0 = trainer.dist.rank == 0
        command = "python -m model.train " + " ".join(
            sys.argv[1:] if argv is None else list(argv))
        trainer.extra_meta = {"command": command, "preset": args.preset}
        if out_dir is not None:
            trainer.checkpoint_path = out_dir / f"{args.name}.safetensors"
        if args.jsonl and rank0:
            jsonl = open(args.jsonl, "w", encoding="utf-8")
        for record in trainer.run():
            if not rank0:
                continue
            line = json.dumps(record)
            if not args.quiet:
                print(line, flush=True)
            if jsonl is not None:
                jsonl.write(line + "\n")
                jsonl.flush()
        if out_dir is not None and rank0:
            model = trainer.model
            if args.half:
                model = _half_copy(model)
            path = _save_model(model, trainer, out_dir / f"{args.name}.safetensors")
            print(json.dumps({"event": "saved", "path": str(path)}), file=sys.stderr)
        return 0 if trainer.last_done and trainer.last_done["reason"] != "nan" else 3
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if jsonl is not None:
            jsonl.close()
        if os.environ.get("WORLD_SIZE", "1") != "1":
            import torch.distributed as tdist

            if tdist.is_initialized():
                tdist.destroy_process_group()


def _half_copy(model: GPTModel) -> GPTModel:
    import copy

    half = copy.deepcopy(model).to("cpu").half()
    half.cfg = model.cfg
    return half


def _save_model(model: GPTModel, trainer: Trainer, path: Path) -> Path:
    from model.checkpoint import CheckpointError, save_checkpoint

    try:
        return save_checkpoint(model, path, trainer.checkpoint_meta())
    except CheckpointError as exc:
        raise TrainingError(str(exc)) from None


if __name__ == "__main__":
    sys.exit(main())
