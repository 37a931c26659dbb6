"""Chapter 5: pretraining a GPT on unlabeled text, on the shared loop (`model.train.loop`).

`Trainer(model_config, train_config, text).run(stop)` yields the loop's records: ``step`` (with
``tokens_seen`` and ``tokens_per_s``), ``eval`` (``train_loss``, ``val_loss``), ``sample`` (a
greedy continuation of "Every effort moves you") and ``done``.

The loss is the book's (mean cross-entropy over the whole 50,257-token vocabulary) and the data
is prepared as the book does: the text split 90/10 by characters, windows of `context_length`
tokens with stride `context_length`, training windows shuffled each epoch (incomplete last batch
dropped), the validation loss averaged over every validation window. `LanguageModelTask` is
that data and loss; `Trainer` adds the corpus, the device, DDP and the checkpoint metadata.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from model.config import GPTConfig
from model.gpt import GPTModel
from model.loss import linear_cross_entropy
from model.train.config import TrainConfig, TrainingError
from model.train.corpus import split_corpora, suggest_context, windows
from model.train.distributed import (Dist, init_distributed, pick_device, set_threads,
                                     sum_over_ranks, wrap_ddp)
from model.train.loop import TrainingLoop


class GPTWithLoss(nn.Module):
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


class LanguageModelTask:
    """Next-token prediction on windows of token IDs: chapter 5's batches, loss and evaluation."""

    counters = ("tokens_seen",)

    def __init__(self, model: GPTModel, train_windows: torch.Tensor, val_windows: torch.Tensor,
                 config: TrainConfig, device: torch.device, dist: Dist, tokenizer):
        self.model = model
        self.train_windows = train_windows  # (n, context_length + 1)
        self.val_windows = val_windows
        self.config = config
        self.device = device
        self.dist = dist
        self.tokenizer = tokenizer
        self.batch_size = config.batch_size
        self.steps_per_epoch = len(train_windows) // (config.batch_size * dist.world)
        self.tokens_per_step = config.batch_size * (train_windows.shape[1] - 1) * dist.world
        self.loss_module = GPTWithLoss(model, config.fused_loss, config.loss_chunk_rows)
        self.train_module: nn.Module = wrap_ddp(self.loss_module, dist, device)
        if config.compile:
            self.train_module = torch.compile(self.train_module)

    def batches(self, epoch: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
        order = torch.randperm(len(self.train_windows), generator=generator)
        batch, world, rank = self.batch_size, self.dist.world, self.dist.rank
        for b in range(self.steps_per_epoch):
            lo = (b * world + rank) * batch  # this process's share of global batch b
            yield self.train_windows[order[lo:lo + batch]].to(self.device)

    def loss(self, chunk: torch.Tensor) -> torch.Tensor:
        return self.train_module(chunk[:, :-1], chunk[:, 1:])

    def counts(self, chunk: torch.Tensor) -> dict[str, int]:
        return {"tokens_seen": self.tokens_per_step}

    def evaluate(self, stop=None) -> dict[str, float] | None:
        losses = self.losses(stop)
        if losses is None:
            return None
        return {"train_loss": losses[0], "val_loss": losses[1]}

    def losses(self, stop=None) -> tuple[float, float] | None:
        """(training, validation) loss, None if stopped."""
        train_sub, val = self._eval_subsets()
        train_loss = self._mean_window_loss(train_sub, stop)
        val_loss = None if train_loss is None else self._mean_window_loss(val, stop)
        if val_loss is None:
            return None
        return train_loss, val_loss

    def _eval_subsets(self) -> tuple[torch.Tensor, torch.Tensor]:
        val = self.val_windows
        if self.config.eval_max_windows:
            val = val[: self.config.eval_max_windows]
        # The training loss at evaluation time on a fixed, evenly spread subset as large as the
        # validation set (the book uses its first eval_iter batches).
        n_train = min(len(self.train_windows), max(len(val), self.config.batch_size))
        idx = torch.linspace(0, len(self.train_windows) - 1, n_train).long()
        return self.train_windows[idx], val

    def _mean_window_loss(self, windows: torch.Tensor, stop) -> float | None:
        """Mean loss over `windows` (this process's share under DDP), None if stopped."""
        mine = windows[self.dist.rank::self.dist.world]
        total = torch.zeros(2, dtype=torch.float64)
        rows = max(1, self.config.batch_size * 4)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                for start in range(0, len(mine), rows):
                    if stop is not None and stop.stopped:
                        return None
                    chunk = mine[start:start + rows].to(self.device)
                    loss = self.loss_module(chunk[:, :-1], chunk[:, 1:])
                    total[0] += float(loss) * len(chunk)  # windows are equally long
                    total[1] += len(chunk)
        finally:
            self.model.train(was_training)
        sum_over_ranks(total, self.dist)
        return float(total[0] / max(1.0, float(total[1])))

    def sample(self, stop=None) -> dict | None:
        if self.config.sample_tokens <= 0:
            return None
        return {"prompt": self.config.sample_prompt, "text": self.sample_text(stop)}

    def sample_text(self, stop=None, max_new_tokens: int | None = None) -> str:
        """Greedy continuation of the sample prompt (section 5.1.3's generate_and_print_sample)."""
        from model.generate import iter_generate

        n = self.config.sample_tokens if max_new_tokens is None else max_new_tokens
        ids = self.tokenizer.encode(self.config.sample_prompt)
        if not ids:
            return ""
        idx = torch.tensor([ids], dtype=torch.long, device=self.device)
        out = list(ids)
        # the key/value cache computes each new token's logits only (same tokens as without)
        for token in iter_generate(self.model, idx, n, self.model.cfg.context_length,
                                   use_cache=True):
            out.append(token)
            if stop is not None and stop.stopped:
                break
        return self.tokenizer.decode(out)


class Trainer(TrainingLoop):
    """Pretraining on a text: the loop with a `LanguageModelTask`, the corpus and DDP.

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
        problems = train_config.problems()
        if problems:
            raise TrainingError("; ".join(problems))
        self.corpus_name = corpus_name
        dist = init_distributed(train_config.device)
        device = pick_device(train_config.device, dist.local_rank)
        set_threads(train_config.num_threads, dist, device)

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
        self.train_windows = windows(train_ids, ctx)
        self.val_windows = windows(val_ids, ctx)
        self._check_data_fits(train_config, dist, int(train_ids.numel()), int(val_ids.numel()))

        torch.manual_seed(train_config.seed)  # the book seeds right before building the model
        model = model if model is not None else GPTModel(self.model_config)
        model.to(device)
        task = LanguageModelTask(model, self.train_windows, self.val_windows, train_config,
                                 device, dist, tokenizer)
        self.tokens_per_step = task.tokens_per_step
        super().__init__(model, task, train_config, device=device, dist=dist)

    def _check_data_fits(self, cfg: TrainConfig, dist: Dist, train_tokens: int,
                         val_tokens: int) -> None:
        ctx, world = self.model_config.context_length, dist.world
        need = cfg.batch_size * world
        if len(self.val_windows) >= 1 and len(self.train_windows) >= need:
            return
        total = train_tokens + val_tokens
        suggestion = suggest_context(train_tokens, val_tokens, cfg.batch_size, world)
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

    def evaluate(self, stop=None) -> tuple[float, float] | None:
        """(training, validation) loss now, None if stopped (the numbers an eval record has)."""
        return self.task.losses(stop)

    def sample(self, stop=None, max_new_tokens: int | None = None) -> str:
        return self.task.sample_text(stop, max_new_tokens)

    def checkpoint_meta(self, **extra: Any) -> dict[str, Any]:
        return {"corpus": {"name": self.corpus_name, "characters": self.corpus_chars,
                           "tokens": self.corpus_tokens},
                **super().checkpoint_meta(**extra)}
