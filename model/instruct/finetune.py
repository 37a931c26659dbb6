"""Chapter 7's fine-tuning: instruction examples as a task on the shared training loop.

The book's recipe (section 7.6) is `BOOK_RECIPE`: AdamW with learning rate 5e-5 and weight
decay 0.1, 2 epochs, batches of 8, an evaluation every 5 steps on the first 5 batches of the
training and validation data. `InstructTask` is what the loop (`model.train.loop`) trains on:
the training examples shuffled each epoch (the incomplete last batch dropped, as the book's
DataLoader does), collated by `custom_collate_fn`, and the book's loss, the mean cross-entropy
over the target positions that are not `-100`. Positions the loss ignores never reach the output
head here, which is where a small GPT spends most of its step.

`InstructFineTune` puts it together for a model and a list of entries: the book's split,
tokenizing with the model's context (examples too long are cut or left out, and counted), LoRA
on request (the book's exercise 7.4, `model.lora`), the loop, and saving the result as a plain
language-model checkpoint that every lab can open.
"""

from __future__ import annotations

import copy
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from model.instruct.batches import IGNORE_INDEX, PAD_TOKEN_ID, custom_collate_fn
from model.instruct.data import EncodedEntries, Split, encode_entries, split_entries
from model.loss import linear_cross_entropy
from model.train.config import TrainConfig, TrainingError

# Section 7.6. No sample text after each evaluation: responses are generated once, at the end.
# Chunks of 256 rows of logits (51 MB) run the output head faster on a CPU than one chunk of
# every counted position of a batch (about 450 rows).
BOOK_RECIPE = TrainConfig(lr=5e-5, weight_decay=0.1, epochs=2, batch_size=8, eval_every=5,
                          sample_tokens=0, device="auto", loss_chunk_rows=256)


@dataclass(frozen=True)
class InstructOptions:
    """What chapter 7 adds to a training recipe.

    `eval_batches`: batches of each part the evaluation averages (the book's `eval_iter`, 5);
    None uses all. `mask_prompt`: the loss ignores the prompt's tokens (exercise 7.2).
    `too_long`: "truncate" or "drop" examples longer than the model's context. `lora_rank`:
    0 trains every weight; above 0 freezes them and trains LoRA adapters of that rank with
    `lora_alpha` (exercise 7.4).
    """

    eval_batches: int | None = 5
    mask_prompt: bool = False
    too_long: str = "truncate"
    lora_rank: int = 0
    lora_alpha: float = 16.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def problems(self) -> list[str]:
        out = []
        if self.eval_batches is not None and (not isinstance(self.eval_batches, int)
                                              or self.eval_batches <= 0):
            out.append(f"eval batches must be above 0 (or all), got {self.eval_batches!r}")
        if self.too_long not in ("truncate", "drop"):
            out.append(f"too long must be 'truncate' or 'drop', got {self.too_long!r}")
        if not isinstance(self.lora_rank, int) or self.lora_rank < 0:
            out.append(f"LoRA rank must be 0 (off) or more, got {self.lora_rank!r}")
        if not self.lora_alpha > 0:
            out.append(f"LoRA alpha must be above 0, got {self.lora_alpha!r}")
        return out


def instruct_loss(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
                  chunk_rows: int = 1024, buffer: torch.Tensor | None = None) -> torch.Tensor:
    """The book's loss: cross-entropy over the targets that are not -100, averaged.

    Equal to `F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten())`; only the
    counted positions go through the output head, `chunk_rows` at a time (`buffer`, if given,
    is scratch space for one chunk of logits kept between calls). inputs, targets: (b, T).
    """
    x = model.drop_emb(model.embed(inputs))  # (b, T, emb_dim)
    x = model.final_norm(model.trf_blocks(x))
    keep = targets.reshape(-1) != IGNORE_INDEX  # (b * T,)
    hidden = x.reshape(-1, x.shape[-1])[keep]  # (counted, emb_dim)
    wanted = targets.reshape(-1)[keep]  # (counted,)
    if hidden.shape[0] == 0:  # nothing to learn from in this batch
        return x.sum() * 0.0
    head = model.out_head
    if type(head) is nn.Linear and head.bias is None:
        return linear_cross_entropy(hidden, head.weight, wanted, chunk_rows, buffer)
    return F.cross_entropy(head(hidden), wanted)  # a wrapped head (LoRA) computes its own


@dataclass(eq=False)
class InstructTask:
    """Instruction examples for `model.train.loop.TrainingLoop` (see its task API).

    `train` and `val` are tokenized examples (`encode_entries`). A batch is (inputs, targets)
    from `custom_collate_fn` on `device`; `tokens_seen` counts the inputs' cells, padding
    included, as the book's `tokens_seen` does.
    """

    counters = ("examples_seen", "tokens_seen")

    model: nn.Module
    train: EncodedEntries
    val: EncodedEntries
    batch_size: int
    device: torch.device
    eval_batches: int | None = 5
    mask_prompt: bool = False
    pad_token_id: int = PAD_TOKEN_ID
    chunk_rows: int = 1024

    def __post_init__(self) -> None:
        train, val, batch_size = self.train, self.val, self.batch_size
        if len(train.token_ids) < batch_size:
            raise TrainingError(f"{len(train.token_ids)} training examples are fewer than one "
                                f"batch of {batch_size}; lower the batch size or add entries")
        if not val.token_ids:
            raise TrainingError("there are no validation examples (the last 5% of the entries); "
                                "use at least 20 entries")
        self._logits: torch.Tensor | None = None  # one chunk of logits, reused every step
        self.max_length = train.context_length
        self.steps_per_epoch = len(train.token_ids) // batch_size
        # The training loss at evaluation time: a fixed subset as large as the validation one,
        # spread over the training data, so successive evaluations are comparable.
        n_val = len(self._batch_slices(len(val.token_ids)))
        n_train = min(self.steps_per_epoch, n_val)
        stride = max(1, self.steps_per_epoch // max(1, n_train))
        self._train_eval = [list(range(i * stride * batch_size, (i * stride + 1) * batch_size))
                            for i in range(n_train)]

    def _batch_slices(self, n: int) -> list[list[int]]:
        batches = [list(range(i, min(n, i + self.batch_size)))
                   for i in range(0, n, self.batch_size)]
        return batches[:self.eval_batches] if self.eval_batches else batches

    def collate(self, part: EncodedEntries, rows: Sequence[int]
                ) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = [part.prompt_lengths[i] for i in rows] if self.mask_prompt else None
        return custom_collate_fn([part.token_ids[i] for i in rows], self.pad_token_id,
                                 allowed_max_length=self.max_length, device=self.device,
                                 mask_prompt_lengths=lengths)

    def batches(self, epoch: int, generator: torch.Generator
                ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        order = torch.randperm(len(self.train.token_ids), generator=generator).tolist()
        for b in range(self.steps_per_epoch):
            yield self.collate(self.train, order[b * self.batch_size:(b + 1) * self.batch_size])

    def _buffer(self) -> torch.Tensor | None:
        head = self.model.out_head
        if type(head) is not nn.Linear:
            return None
        weight = head.weight
        buf = self._logits
        if buf is None or buf.dtype != weight.dtype or buf.device != weight.device:
            # a fresh 50 MB tensor every step would cost the page faults of touching it anew
            buf = self._logits = torch.empty(self.chunk_rows, weight.shape[0],
                                             dtype=weight.dtype, device=weight.device)
        return buf

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return instruct_loss(self.model, *batch, self.chunk_rows, self._buffer())

    def counts(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, int]:
        inputs = batch[0]
        return {"examples_seen": int(inputs.shape[0]), "tokens_seen": int(inputs.numel())}

    def _mean_loss(self, part: EncodedEntries, batches: list[list[int]], stop) -> float | None:
        total = 0.0
        for rows in batches:
            if stop is not None and stop.stopped:
                return None
            total += float(instruct_loss(self.model, *self.collate(part, rows), self.chunk_rows,
                                         self._buffer()))
        return total / max(1, len(batches))

    def evaluate(self, stop=None) -> dict[str, float] | None:
        """Mean batch loss on the training subset and the first validation batches."""
        train_loss = self._mean_loss(self.train, self._train_eval, stop)
        if train_loss is None:
            return None
        val_loss = self._mean_loss(self.val, self._batch_slices(len(self.val.token_ids)), stop)
        if val_loss is None:
            return None
        return {"train_loss": train_loss, "val_loss": val_loss}


def plain_copy(model: nn.Module) -> nn.Module:
    """A GPTModel without LoRA wrappers: adapters merged into the weights they adapt."""
    from model import lora

    out = copy.deepcopy(model)
    if lora.has_lora(out):
        lora.merge_lora(out)
    return out


class InstructFineTune:
    """Fine-tune `model` on instruction `entries` with the book's split; `run()` trains.

    `entries` may be a list (split 85/10/5 here) or a `Split`. The model is trained in place
    (with LoRA, adapters are added to it). `data` says how many examples each part has and how
    many were cut or left out to fit the model's context. Raises `TrainingError` for settings
    or data that cannot train.
    """

    def __init__(self, model: nn.Module, entries: Sequence[Mapping[str, Any]] | Split,
                 config: TrainConfig = BOOK_RECIPE, options: InstructOptions = InstructOptions(),
                 tokenizer=None, device: torch.device | str | None = None):
        from model.train.distributed import pick_device
        from model.train.loop import TrainingLoop

        problems = config.problems() + options.problems()
        if problems:
            raise TrainingError("; ".join(problems))
        if tokenizer is None:
            from model.tokenizer import get_tokenizer

            tokenizer = get_tokenizer()
        self.tokenizer = tokenizer
        self.config = config
        self.options = options
        self.split = entries if isinstance(entries, Split) else split_entries(entries)
        context = model.cfg.context_length
        self.train_data = encode_entries(self.split.train, tokenizer, context, options.too_long)
        self.val_data = encode_entries(self.split.val, tokenizer, context, options.too_long)
        self.device = device if isinstance(device, torch.device) else pick_device(
            device or config.device)
        if config.num_threads:
            torch.set_num_threads(config.num_threads)
        torch.manual_seed(config.seed)  # LoRA's initial A matrices, as the book seeds
        if options.lora_rank:
            from model import lora

            # As the book: freeze every weight, then only the adapters train.
            model.requires_grad_(False)
            lora.replace_linear_with_lora(model, rank=options.lora_rank,
                                          alpha=options.lora_alpha)
        self.model = model.to(self.device)
        self.task = InstructTask(self.model, self.train_data, self.val_data, config.batch_size,
                                 self.device, options.eval_batches, options.mask_prompt,
                                 chunk_rows=config.loss_chunk_rows)
        self.loop = TrainingLoop(self.model, self.task, config, device=self.device)
        self.initial: dict[str, float] | None = None

    @property
    def data(self) -> dict[str, Any]:
        """Examples per part and what fitting them to the context did (for the lab's notice)."""
        return {"train": self.train_data.summary(), "val": self.val_data.summary(),
                "test": len(self.split.test), "context_length": self.model.cfg.context_length,
                "too_long": self.options.too_long}

    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters() if p.requires_grad)

    def evaluate(self, stop=None) -> dict[str, float] | None:
        """Training and validation loss now (the book prints them before fine-tuning)."""
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                return self.task.evaluate(stop)
        finally:
            self.model.train(was_training)

    def run(self, stop=None) -> Iterator[dict]:
        """An `eval` record at step 0 (the losses before fine-tuning), then the loop's records."""
        initial = self.evaluate(stop)
        if initial is None:
            self.loop.last_done = {"event": "done", "reason": "stopped",
                                   "message": "stopped before the first step", "step": 0,
                                   "total_steps": self.loop.total_steps}
            yield self.loop.last_done
            return
        self.initial = initial
        yield {"event": "eval", "step": 0, "epoch": 0, "examples_seen": 0, "tokens_seen": 0,
               **initial, "elapsed_s": 0.0}
        yield from self.loop.run(stop)

    def plain_model(self) -> nn.Module:
        """The fine-tuned model as a plain GPTModel on the CPU (LoRA merged), for saving."""
        model = plain_copy(self.model) if self.options.lora_rank else copy.deepcopy(self.model)
        return model.to("cpu").eval()

    def checkpoint_meta(self, **extra: Any) -> dict[str, Any]:
        meta = self.loop.checkpoint_meta(**extra)
        meta.update({"task": "instruct", "chapter": 7, "instruct": self.options.to_dict(),
                     "data": self.data, "initial_losses": self.initial})
        return meta

    def save(self, path: str | os.PathLike, **extra: Any) -> Path:
        """Save as a language-model checkpoint (`model.checkpoint`), atomically."""
        from model.checkpoint import CheckpointError, save_checkpoint

        try:
            return save_checkpoint(self.plain_model(), path, self.checkpoint_meta(**extra))
        except CheckpointError as exc:
            raise TrainingError(str(exc)) from None
