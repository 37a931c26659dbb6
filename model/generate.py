"""Chapters 4 and 5: turning logits into text.

Greedy decoding (`generate_text_simple`, section 4.7), temperature and top-k sampling
(`generate`, section 5.3; top-p added), streaming one token at a time (`iter_generate`) for the
Generate lab, and the next-token distribution for a prompt.
"""

from __future__ import annotations

from typing import Iterator

import torch


def _crop(idx: torch.Tensor, context_size: int) -> torch.Tensor:
    # The model only sees its last context_size tokens (positional embeddings end there).
    return idx[:, -context_size:]


def generate_text_simple(model, idx: torch.Tensor, max_new_tokens: int,
                         context_size: int) -> torch.Tensor:
    """Section 4.7: append the argmax token `max_new_tokens` times. idx: (b, num_tokens)."""
    for _ in range(max_new_tokens):
        with torch.no_grad():
            logits = model(_crop(idx, context_size))
        logits = logits[:, -1, :]  # (b, vocab_size): only the last position predicts
        idx_next = torch.argmax(logits, dim=-1, keepdim=True)  # (b, 1)
        idx = torch.cat((idx, idx_next), dim=1)
    return idx


def apply_top_k(logits: torch.Tensor, top_k: int | None) -> torch.Tensor:
    """Keep the `top_k` largest logits, the rest become -inf (section 5.3.2)."""
    if top_k is None or top_k <= 0 or top_k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
    return torch.where(logits < kth, torch.tensor(float("-inf"), device=logits.device), logits)


def apply_top_p(logits: torch.Tensor, top_p: float | None) -> torch.Tensor:
    """Nucleus filtering: keep the smallest set of tokens whose probability reaches `top_p`."""
    if top_p is None or top_p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
    cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
    # Drop a token when the tokens before it already reach top_p; the first always stays.
    drop_sorted = (cumulative - torch.softmax(sorted_logits, dim=-1)) >= top_p
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def next_token_probs(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                     top_p: float | None = None) -> torch.Tensor:
    """Probabilities of the next token from last-position logits (..., vocab)."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    logits = apply_top_p(apply_top_k(logits, top_k), top_p)
    if temperature == 0:
        probs = torch.zeros_like(logits)
        return probs.scatter(-1, logits.argmax(dim=-1, keepdim=True), 1.0)
    return torch.softmax(logits / temperature, dim=-1)


def iter_generate(model, idx: torch.Tensor, max_new_tokens: int, context_size: int | None = None,
                  temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
                  eos_id: int | None = None, seed: int | None = None) -> Iterator[int]:
    """Yield new token IDs one at a time (batch of one). Temperature 0 is greedy decoding."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    context_size = context_size or model.cfg.context_length
    generator = None
    if seed is not None:
        generator = torch.Generator(device=idx.device).manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        for _ in range(max_new_tokens):
            with torch.no_grad():
                logits = model(_crop(idx, context_size))[:, -1, :]
            if temperature == 0:
                idx_next = torch.argmax(apply_top_k(logits, top_k), dim=-1, keepdim=True)
            else:
                probs = next_token_probs(logits, temperature, top_k, top_p)
                idx_next = torch.multinomial(probs, num_samples=1, generator=generator)
            token = int(idx_next[0, 0])
            if eos_id is not None and token == eos_id:
                return
            idx = torch.cat((idx, idx_next), dim=1)
            yield token
    finally:
        model.train(was_training)


def generate(model, idx: torch.Tensor, max_new_tokens: int, context_size: int | None = None,
             temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
             eos_id: int | None = None, seed: int | None = None) -> torch.Tensor:
    """Section 5.3: the prompt plus up to `max_new_tokens` generated IDs, (1, T + new)."""
    new = list(iter_generate(model, idx, max_new_tokens, context_size, temperature, top_k,
                             top_p, eos_id, seed))
    return torch.cat([idx, torch.tensor([new], dtype=idx.dtype, device=idx.device)], dim=1)


def next_token_distribution(model, idx: torch.Tensor, temperature: float = 1.0,
                            top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """The probability of every vocabulary entry coming next after idx (1, T): (vocab,)."""
    context_size = model.cfg.context_length
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(_crop(idx, context_size))[0, -1, :]
    finally:
        model.train(was_training)
    return next_token_probs(logits, temperature, top_k, top_p)
