"""Chapter 5's loss: mean cross-entropy of the next token over the whole GPT-2 vocabulary.

`calc_loss_batch` is the book's computation (logits for every position, then
`cross_entropy`). `linear_cross_entropy` computes the same number, and the same gradients, from
the final hidden states and the output head's weight without keeping the full
(tokens x 50,257) logits, their softmax and their gradient alive at once: the logits are made
and turned into their gradient in place, one chunk of rows at a time, during the forward pass.
On a CPU that removes most of the memory traffic of the output layer, which dominates a small
GPT's training step, and cuts the step's peak memory by several hundred megabytes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def calc_loss_batch(input_batch: torch.Tensor, target_batch: torch.Tensor, model) -> torch.Tensor:
    """The book's loss for one batch: (b, T) inputs and targets -> scalar mean cross-entropy."""
    logits = model(input_batch)  # (b, T, vocab_size)
    return F.cross_entropy(logits.flatten(0, 1), target_batch.flatten())


def _chunked_loss(hidden, weight, targets, chunk_rows: int, want_grads: bool, buffer=None):
    """Mean cross-entropy of hidden @ weight.T, and its gradients if asked.

    `buffer` (at least (chunk_rows, vocab_size), reused from step to step) receives the logits:
    a fresh 100+ MB tensor every step costs the page faults of touching new memory.
    """
    # hidden: (N, emb_dim), weight: (vocab_size, emb_dim), targets: (N,)
    n = hidden.shape[0]
    total = hidden.new_zeros(())
    grad_hidden = torch.empty_like(hidden) if want_grads else None
    grad_weight = None
    for start in range(0, n, chunk_rows):
        h = hidden[start:start + chunk_rows]
        t = targets[start:start + chunk_rows, None]
        if buffer is not None and buffer.shape[0] >= len(h) and buffer.dtype == h.dtype:
            logits = torch.mm(h, weight.t(), out=buffer[:len(h)])  # (rows, vocab_size)
        else:
            logits = h @ weight.t()
        target_logit = logits.gather(1, t)
        # log-sum-exp with the max subtracted, done in place so no second buffer is made
        row_max = logits.amax(dim=1, keepdim=True)
        logits.sub_(row_max).exp_()
        denom = logits.sum(dim=1, keepdim=True)
        total += (row_max + denom.log() - target_logit).sum()
        if want_grads:
            # d(loss)/d(logits) = softmax - one_hot(target), still in the same buffer
            logits.div_(denom)
            logits.scatter_add_(1, t, torch.full_like(target_logit, -1.0))
            torch.mm(logits, weight, out=grad_hidden[start:start + chunk_rows])
            if grad_weight is None:  # first chunk: write, no zero-filled buffer to add to
                grad_weight = logits.t() @ h
            else:
                grad_weight.addmm_(logits.t(), h)
    if want_grads:
        grad_hidden.div_(n)
        grad_weight.div_(n)
    return total / n, grad_hidden, grad_weight


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, hidden, weight, targets, chunk_rows, buffer):
        loss, grad_hidden, grad_weight = _chunked_loss(hidden, weight, targets, chunk_rows, True,
                                                       buffer)
        ctx.save_for_backward(grad_hidden, grad_weight)
        return loss

    @staticmethod
    def backward(ctx, grad_output):
        grad_hidden, grad_weight = ctx.saved_tensors
        if grad_output.device.type == "cpu" and float(grad_output) == 1.0:
            return grad_hidden, grad_weight, None, None, None  # loss.backward(): no copies
        return grad_hidden * grad_output, grad_weight * grad_output, None, None, None


def linear_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                         chunk_rows: int = 1024, buffer: torch.Tensor | None = None
                         ) -> torch.Tensor:
    """Mean cross-entropy of `hidden @ weight.T` against `targets`, without a logits tensor.

    hidden: (..., emb_dim); weight: (vocab_size, emb_dim), the output head's; targets: (...).
    Equal to `F.cross_entropy((hidden @ weight.T).flatten(0, -2), targets.flatten())`.
    Larger chunks run the matrix products faster; smaller ones use less memory. `buffer`, if
    given, is scratch space for one chunk of logits that the caller keeps between calls.
    """
    hidden = hidden.reshape(-1, hidden.shape[-1])
    targets = targets.reshape(-1)
    if hidden.dtype != weight.dtype:  # autocast on a GPU hands bf16 activations to an fp32 head
        hidden = hidden.to(weight.dtype)
    chunk_rows = max(1, int(chunk_rows))
    if not (torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad)):
        return _chunked_loss(hidden, weight, targets, chunk_rows, False, buffer)[0]  # evaluation
    return _LinearCrossEntropy.apply(hidden, weight, targets, chunk_rows, buffer)
