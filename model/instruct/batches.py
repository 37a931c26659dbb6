"""Chapter 7's batches: the book's `custom_collate_fn` and a plain-data view of one batch.

`custom_collate_fn` follows section 7.3: each example gets one end token and the batch is
padded with it to its longest example plus one; inputs drop the last column, targets are the
inputs shifted left by one, and in each row every padding token after the first end token of the
targets becomes `ignore_index`, so the loss counts the end token once and no padding. With
`mask_prompt_lengths` the targets of the prompt are ignored too (the book's exercise 7.2), so
the loss only counts the response. `allowed_max_length` cuts inputs and targets last.

`batch_view` lays the same batch out cell by cell (token text, input ID, target ID, whether
the input is padding, whether the loss ignores the target) for the lab's grid.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import torch

PAD_TOKEN_ID = 50256  # GPT-2's <|endoftext|>, also used as padding (section 7.3)
IGNORE_INDEX = -100  # what torch's cross_entropy skips by default


def _as_list(item) -> list[int]:
    return item.tolist() if isinstance(item, torch.Tensor) else list(item)


def _collate_lists(batch: Sequence[Sequence[int]], pad_token_id: int, ignore_index: int,
                   allowed_max_length: int | None,
                   mask_prompt_lengths: Sequence[int] | None
                   ) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """The collation on the CPU; also returns each row's own length (before padding)."""
    items = [_as_list(item) for item in batch]
    if not items:
        raise ValueError("custom_collate_fn needs at least one example")
    if mask_prompt_lengths is not None and len(mask_prompt_lengths) != len(items):
        raise ValueError(f"mask_prompt_lengths has {len(mask_prompt_lengths)} lengths for "
                         f"{len(items)} examples")
    lengths = [len(item) for item in items]
    width = max(lengths) + 1  # the longest example plus its end token
    padded = torch.tensor([item + [pad_token_id] * (width - len(item)) for item in items],
                          dtype=torch.long)  # (b, width)
    inputs = padded[:, :-1]  # (b, width - 1)
    targets = padded[:, 1:].clone()  # (b, width - 1)
    is_pad = targets == pad_token_id
    # The first end token of each row stays a target: the model must learn to stop.
    later_pad = is_pad & (is_pad.cumsum(dim=1) > 1)
    targets[later_pad] = ignore_index
    if mask_prompt_lengths is not None:
        for row, prompt_len in enumerate(mask_prompt_lengths):
            # target j predicts token j + 1: the prompt's tokens 1 .. prompt_len - 1
            targets[row, :max(0, int(prompt_len) - 1)] = ignore_index
    if allowed_max_length is not None:
        inputs = inputs[:, :allowed_max_length]
        targets = targets[:, :allowed_max_length]
    return inputs, targets, lengths


def custom_collate_fn(batch: Sequence[Sequence[int]], pad_token_id: int = PAD_TOKEN_ID,
                      ignore_index: int = IGNORE_INDEX, allowed_max_length: int | None = None,
                      device: str | torch.device = "cpu",
                      mask_prompt_lengths: Sequence[int] | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Section 7.3: (inputs, targets), each (b, longest + 1 - 1) long tensors on `device`.

    `batch` holds token ID lists (or 1-D tensors). Book example: [0, 1, 2, 3, 4], [5, 6],
    [7, 8, 9] give inputs [[0, 1, 2, 3, 4], [5, 6, 50256, 50256, 50256], [7, 8, 9, 50256,
    50256]] and targets [[1, 2, 3, 4, 50256], [6, 50256, -100, -100, -100], [8, 9, 50256, -100,
    -100]]. `mask_prompt_lengths[i]` (tokens of row i's prompt) also ignores the targets that
    predict prompt tokens (exercise 7.2). `allowed_max_length` keeps the first columns only.
    """
    inputs, targets, _ = _collate_lists(batch, pad_token_id, ignore_index, allowed_max_length,
                                        mask_prompt_lengths)
    return inputs.to(device), targets.to(device)


@dataclass(frozen=True)
class BatchCell:
    """One position of one row: what goes in, what the loss wants out."""

    position: int
    input_id: int
    input_text: str
    target_id: int  # ignore_index where the loss skips the position
    target_text: str  # "" where ignored
    padding: bool  # the input is padding, past the example's own tokens
    ignored: bool  # the loss skips this position
    prompt_masked: bool  # ignored because its target is a prompt token (exercise 7.2)
    end_target: bool  # the target is the example's end token, the one padding token counted


@dataclass
class BatchView:
    """A collated batch as plain data: `rows[i][j]` is the cell of example i at position j.

    `inputs` and `targets` are the collated tensors as lists; `lengths` each example's own
    token count; the counts say how many target positions the loss uses and skips.
    """

    rows: list[list[BatchCell]]
    inputs: list[list[int]]
    targets: list[list[int]]
    lengths: list[int]
    pad_token_id: int = PAD_TOKEN_ID
    ignore_index: int = IGNORE_INDEX
    counted: int = 0
    ignored: int = 0
    padding: int = 0
    prompt_masked: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.inputs), len(self.inputs[0]) if self.inputs else 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def batch_view(batch: Sequence[Sequence[int]], tokenizer=None, pad_token_id: int = PAD_TOKEN_ID,
               ignore_index: int = IGNORE_INDEX, allowed_max_length: int | None = None,
               mask_prompt_lengths: Sequence[int] | None = None) -> BatchView:
    """Collate `batch` exactly as `custom_collate_fn` does and describe every cell."""
    if tokenizer is None:
        from model.tokenizer import get_tokenizer

        tokenizer = get_tokenizer()
    inputs_t, targets_t, lengths = _collate_lists(batch, pad_token_id, ignore_index,
                                                  allowed_max_length, mask_prompt_lengths)
    inputs, targets = inputs_t.tolist(), targets_t.tolist()
    texts: dict[int, str] = {}

    def text(token: int) -> str:
        if token not in texts:
            texts[token] = tokenizer.decode([token])
        return texts[token]

    view = BatchView(rows=[], inputs=inputs, targets=targets, lengths=lengths,
                     pad_token_id=pad_token_id, ignore_index=ignore_index)
    for row, (ins, tgts) in enumerate(zip(inputs, targets)):
        n = lengths[row]
        masked_upto = 0
        if mask_prompt_lengths is not None:
            masked_upto = max(0, int(mask_prompt_lengths[row]) - 1)
        cells = []
        for pos, (inp, tgt) in enumerate(zip(ins, tgts)):
            ignored = tgt == ignore_index
            cell = BatchCell(position=pos, input_id=inp, input_text=text(inp),
                             target_id=tgt, target_text="" if ignored else text(tgt),
                             padding=pos >= n, ignored=ignored,
                             prompt_masked=ignored and pos < masked_upto,
                             end_target=not ignored and pos == n - 1 and tgt == pad_token_id)
            cells.append(cell)
            view.counted += not ignored
            view.ignored += ignored
            view.padding += cell.padding
            view.prompt_masked += cell.prompt_masked
        view.rows.append(cells)
    if allowed_max_length is not None and any(n > allowed_max_length for n in lengths):
        view.notes.append(f"examples longer than {allowed_max_length} tokens are cut to it")
    return view


def view_entries(entries, tokenizer=None, context_length: int | None = None,
                 mask_prompt: bool = False, too_long: str = "truncate") -> BatchView:
    """The batch view of instruction entries as fine-tuning collates them (the lab's grid).

    Tokenizes each entry's training text (`encode_entries`, fitted to `context_length`) and
    collates the lot as one batch; `mask_prompt` ignores the prompt's targets (exercise 7.2).
    """
    from model.instruct.data import encode_entries

    if tokenizer is None:
        from model.tokenizer import get_tokenizer

        tokenizer = get_tokenizer()
    enc = encode_entries(entries, tokenizer, context_length, too_long)
    if not enc.token_ids:
        raise ValueError(f"no entry fits a context of {context_length} tokens")
    view = batch_view(enc.token_ids, tokenizer, allowed_max_length=context_length,
                      mask_prompt_lengths=enc.prompt_lengths if mask_prompt else None)
    if enc.truncated:
        view.notes.append(f"{enc.truncated} example(s) cut to the context of {context_length}")
    if enc.left_out:
        view.notes.append(f"{enc.left_out} example(s) left out: longer than the context of "
                          f"{context_length}")
    return view
