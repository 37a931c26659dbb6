"""Chapter 3 step by step: the book's worked example as functions returning every intermediate.

The book walks one tiny input ("Your journey starts with one step", six 3-d vectors) through
attention five times, each time adding one idea:

1. `simplified_attention` (3.3): dot-product scores against one query, naive normalisation vs
   softmax, the context vector; then the full weight matrix and every context vector.
2. `trainable_attention` (3.4): `W_query`, `W_key`, `W_value` created exactly as the book does
   (seed, then three `nn.Parameter(torch.rand(d_in, d_out))` in that order), then queries, keys,
   values, scores, scaling by sqrt(d_k), weights and context vectors.
3. `causal_attention` (3.5.1): the book builds `SelfAttention_v2` under seed 789 and masks its
   weights two ways: softmax then zero the future and renormalise, or -inf then softmax.
4. `dropout_attention` (3.5.2): dropout on the masked weights, survivors rescaled by 1/(1-p).
5. `multi_head_attention` (3.6): stacked `CausalAttention` heads vs the weight-split
   `MultiHeadAttention`, with the shapes along the way.

With the book's defaults (the BOOK_* constants, kept torch-free in `model.chapter3_example`)
every value equals the one the book prints. Seeding happens inside `torch.random.fork_rng`, so
calling these never disturbs the global RNG that sampling in other parts of the app relies on.
Pure PyTorch; the Attention lab renders it.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn as nn

from model.attention import (CausalAttention, MultiHeadAttention, MultiHeadAttentionWrapper,
                             SelfAttention_v1, SelfAttention_v2)
from model.chapter3_example import (BOOK_D_OUT, BOOK_DROPOUT, BOOK_INPUTS,  # noqa: F401
                                    BOOK_NUM_HEADS, BOOK_QUERY_INDEX, BOOK_SEED_CAUSAL,
                                    BOOK_SEED_DROPOUT, BOOK_SEED_MULTIHEAD, BOOK_SEED_TRAINABLE,
                                    BOOK_WORDS)


@contextmanager
def seeded(seed: int):
    """torch.manual_seed(seed) for the block only; the global RNG state is restored after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def book_inputs() -> torch.Tensor:
    return torch.tensor(BOOK_INPUTS)  # (6, 3)


def as_inputs(inputs: torch.Tensor | Sequence[Sequence[float]] | None = None) -> torch.Tensor:
    """The inputs as a float32 (num_tokens, d_in) tensor; the book's when None."""
    x = book_inputs() if inputs is None else torch.as_tensor(inputs, dtype=torch.float32)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"inputs must be a (num_tokens, d_in) matrix, got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("inputs must be finite numbers")
    return x


def _check_index(index: int, num_tokens: int) -> None:
    if not 0 <= index < num_tokens:
        raise ValueError(f"query index {index} is outside 0..{num_tokens - 1}")


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


# -- 1. simplified self-attention (section 3.3) ---------------------------------------------
@dataclass
class SimplifiedStep:
    query_index: int
    scores: torch.Tensor  # (T,) x^q . x^j
    naive_weights: torch.Tensor  # (T,) scores / scores.sum()
    weights: torch.Tensor  # (T,) softmax(scores)
    context: torch.Tensor  # (d_in,) sum_j weights_j x^j
    all_scores: torch.Tensor  # (T, T) inputs @ inputs.T
    all_weights: torch.Tensor  # (T, T) row-wise softmax
    all_context: torch.Tensor  # (T, d_in)


@torch.no_grad()
def simplified_attention(inputs=None, query_index: int = BOOK_QUERY_INDEX) -> SimplifiedStep:
    x = as_inputs(inputs)
    _check_index(query_index, x.shape[0])
    query = x[query_index]  # (d_in,)
    scores = x @ query  # (T,)
    # The naive route divides by the sum; it is not safe for negative scores, softmax is.
    naive = scores / scores.sum()
    weights = torch.softmax(scores, dim=0)
    context = weights @ x  # (d_in,)
    all_scores = x @ x.T  # (T, T)
    all_weights = torch.softmax(all_scores, dim=-1)
    return SimplifiedStep(query_index, scores, naive, weights, context, all_scores, all_weights,
                          all_weights @ x)


# -- 2. trainable weights (section 3.4) -----------------------------------------------------
def make_trainable_weights(d_in: int, d_out: int, seed: int = BOOK_SEED_TRAINABLE):
    """(W_query, W_key, W_value), each (d_in, d_out), drawn in the book's order after its seed."""
    _check_positive("d_in", d_in)
    _check_positive("d_out", d_out)
    with seeded(seed):
        W_query = nn.Parameter(torch.rand(d_in, d_out), requires_grad=False)
        W_key = nn.Parameter(torch.rand(d_in, d_out), requires_grad=False)
        W_value = nn.Parameter(torch.rand(d_in, d_out), requires_grad=False)
    return W_query, W_key, W_value


@dataclass
class TrainableStep:
    query_index: int
    seed: int
    W_query: torch.Tensor  # (d_in, d_out)
    W_key: torch.Tensor
    W_value: torch.Tensor
    queries: torch.Tensor  # (T, d_out)
    keys: torch.Tensor  # (T, d_out)
    values: torch.Tensor  # (T, d_out)
    query: torch.Tensor  # (d_out,) the chosen token's query (the book's query_2)
    self_score: torch.Tensor  # () query . its own key (the book's attn_score_22)
    scores_q: torch.Tensor  # (T,) the chosen query against every key (attn_scores_2)
    scaled_q: torch.Tensor  # (T,) divided by sqrt(d_k)
    weights_q: torch.Tensor  # (T,) softmax of the scaled scores (attn_weights_2)
    context_q: torch.Tensor  # (d_out,) (context_vec_2)
    scores: torch.Tensor  # (T, T) every query against every key
    scaled: torch.Tensor  # (T, T)
    weights: torch.Tensor  # (T, T)
    context: torch.Tensor  # (T, d_out)
    module_context: torch.Tensor  # (T, d_out) SelfAttention_v1 under the same seed

    @property
    def d_k(self) -> int:
        return self.keys.shape[-1]


@torch.no_grad()
def trainable_attention(inputs=None, query_index: int = BOOK_QUERY_INDEX,
                        d_out: int = BOOK_D_OUT, seed: int = BOOK_SEED_TRAINABLE) -> TrainableStep:
    x = as_inputs(inputs)
    _check_index(query_index, x.shape[0])
    W_query, W_key, W_value = make_trainable_weights(x.shape[1], d_out, seed)
    queries = x @ W_query  # (T, d_out)
    keys = x @ W_key
    values = x @ W_value
    query = queries[query_index]
    scores_q = query @ keys.T  # (T,)
    d_k = keys.shape[-1]
    # Scaling keeps the dot products' spread independent of d_k, so softmax does not saturate.
    scaled_q = scores_q / d_k**0.5
    weights_q = torch.softmax(scaled_q, dim=-1)
    scores = queries @ keys.T  # (T, T)
    scaled = scores / d_k**0.5
    weights = torch.softmax(scaled, dim=-1)
    with seeded(seed):
        module = SelfAttention_v1(x.shape[1], d_out)
    return TrainableStep(
        query_index=query_index, seed=seed, W_query=W_query.detach(), W_key=W_key.detach(),
        W_value=W_value.detach(), queries=queries, keys=keys, values=values, query=query,
        self_score=query @ keys[query_index], scores_q=scores_q, scaled_q=scaled_q,
        weights_q=weights_q, context_q=weights_q @ values, scores=scores, scaled=scaled,
        weights=weights, context=weights @ values, module_context=module(x),
    )


# -- 3. causal mask (section 3.5.1) ---------------------------------------------------------
@dataclass
class CausalStep:
    seed: int
    queries: torch.Tensor  # (T, d_out) from SelfAttention_v2's nn.Linear layers
    keys: torch.Tensor
    scores: torch.Tensor  # (T, T)
    weights: torch.Tensor  # (T, T) unmasked softmax(scores / sqrt(d_k))
    mask_simple: torch.Tensor  # (T, T) ones on and below the diagonal
    masked_simple: torch.Tensor  # weights * mask_simple (rows no longer sum to 1)
    masked_simple_norm: torch.Tensor  # ... renormalised row by row (route A)
    masked_scores: torch.Tensor  # scores with -inf above the diagonal
    masked_weights: torch.Tensor  # softmax(masked_scores / sqrt(d_k)) (route B)
    context: torch.Tensor  # (T, d_out) masked_weights @ values

    @property
    def routes_max_difference(self) -> float:
        return float((self.masked_simple_norm - self.masked_weights).abs().max())


def causal_mask(num_tokens: int) -> torch.Tensor:
    """True above the diagonal: the future each query may not see."""
    return torch.triu(torch.ones(num_tokens, num_tokens, dtype=torch.bool), diagonal=1)


@torch.no_grad()
def causal_attention(inputs=None, d_out: int = BOOK_D_OUT,
                     seed: int = BOOK_SEED_CAUSAL) -> CausalStep:
    x = as_inputs(inputs)
    _check_positive("d_out", d_out)
    num_tokens = x.shape[0]
    with seeded(seed):
        sa_v2 = SelfAttention_v2(x.shape[1], d_out)
    queries = sa_v2.W_query(x)  # (T, d_out)
    keys = sa_v2.W_key(x)
    values = sa_v2.W_value(x)
    scores = queries @ keys.T  # (T, T)
    d_k = keys.shape[-1]
    weights = torch.softmax(scores / d_k**0.5, dim=-1)
    mask_simple = torch.tril(torch.ones(num_tokens, num_tokens))
    masked_simple = weights * mask_simple
    masked_simple_norm = masked_simple / masked_simple.sum(dim=-1, keepdim=True)
    # -inf becomes exactly 0 after softmax, and the rest is already normalised over the
    # visible keys: one pass instead of mask-then-renormalise, with the same result.
    masked_scores = scores.masked_fill(causal_mask(num_tokens), -torch.inf)
    masked_weights = torch.softmax(masked_scores / d_k**0.5, dim=-1)
    return CausalStep(seed, queries, keys, scores, weights, mask_simple, masked_simple,
                      masked_simple_norm, masked_scores, masked_weights, masked_weights @ values)


# -- 4. dropout (section 3.5.2) -------------------------------------------------------------
@dataclass
class DropoutStep:
    rate: float
    seed: int
    scale: float  # 1 / (1 - rate): what the survivors are multiplied by
    example: torch.Tensor  # dropout applied to a matrix of ones (the book's demonstration)
    weights: torch.Tensor  # the causal weights before dropout
    dropped: torch.Tensor  # dropout applied to them, with the seed re-set first
    kept: torch.Tensor  # bool (T, T): which weights survived


def check_rate(rate: float) -> float:
    rate = float(rate)
    if not (0.0 <= rate < 1.0) or math.isnan(rate):
        raise ValueError(f"dropout rate must be at least 0 and below 1, got {rate!r}")
    return rate


@torch.no_grad()
def dropout_attention(weights: torch.Tensor, rate: float = BOOK_DROPOUT,
                      seed: int = BOOK_SEED_DROPOUT) -> DropoutStep:
    rate = check_rate(rate)
    dropout = nn.Dropout(rate)  # a fresh module is in training mode: dropout is active
    with seeded(seed):
        example = dropout(torch.ones_like(weights))
    with seeded(seed):
        dropped = dropout(weights)
    kept = example != 0  # same seed, same shape: the same units survive in both
    return DropoutStep(rate, seed, 1.0 / (1.0 - rate), example, weights, dropped, kept)


# -- 5. multi-head attention (section 3.6) --------------------------------------------------
@dataclass
class MultiHeadStep:
    seed: int
    num_heads: int
    d_out: int
    batch: torch.Tensor  # (2, T, d_in): the book stacks the inputs twice
    causal_context: torch.Tensor  # (2, T, d_out): one CausalAttention head (section 3.5.3)
    wrapper_head_weights: list[torch.Tensor]  # per head (T, T), first batch item
    wrapper_context: torch.Tensor  # (2, T, num_heads * d_out)
    mha_weights: torch.Tensor  # (num_heads, T, T), first batch item
    mha_context: torch.Tensor  # (2, T, d_out) after out_proj
    shapes: list[tuple[str, tuple[int, ...]]]  # what each step of MultiHeadAttention holds

    @property
    def head_dim(self) -> int:
        return self.d_out // self.num_heads


def _head_weights(head: CausalAttention, x: torch.Tensor) -> torch.Tensor:
    """The weights one CausalAttention head uses (before dropout), for x (b, T, d_in)."""
    num_tokens = x.shape[1]
    keys = head.W_key(x)
    scores = head.W_query(x) @ keys.transpose(1, 2)
    scores = scores.masked_fill(head.mask.bool()[:num_tokens, :num_tokens], -torch.inf)
    return torch.softmax(scores / keys.shape[-1] ** 0.5, dim=-1)


@torch.no_grad()
def multi_head_attention(inputs=None, d_out: int = BOOK_D_OUT, num_heads: int = BOOK_NUM_HEADS,
                         seed: int = BOOK_SEED_MULTIHEAD) -> MultiHeadStep:
    x = as_inputs(inputs)
    _check_positive("d_out", d_out)
    _check_positive("num_heads", num_heads)
    if d_out % num_heads:
        raise ValueError(f"d_out ({d_out}) must be divisible by the number of heads ({num_heads})")
    batch = torch.stack((x, x), dim=0)  # (2, T, d_in)
    b, num_tokens, d_in = batch.shape
    context_length = num_tokens
    with seeded(seed):
        ca = CausalAttention(d_in, d_out, context_length, 0.0)
    with seeded(seed):
        wrapper = MultiHeadAttentionWrapper(d_in, d_out, context_length, 0.0, num_heads)
    with seeded(seed):
        mha = MultiHeadAttention(d_in, d_out, context_length, 0.0, num_heads)
    for module in (ca, wrapper, mha):
        module.eval()
    mha_context, details = mha.forward_detailed(batch)
    head_dim = d_out // num_heads
    shapes = [
        ("batch (inputs stacked twice)", (b, num_tokens, d_in)),
        ("W_query.weight (nn.Linear stores d_out x d_in)", tuple(mha.W_query.weight.shape)),
        ("queries = W_query(x)", (b, num_tokens, d_out)),
        ("split into heads: view", (b, num_tokens, num_heads, head_dim)),
        ("... then transpose(1, 2)", tuple(details["queries"].shape)),
        ("attention scores queries @ keys.transpose(2, 3)", tuple(details["scores"].shape)),
        ("attention weights", tuple(details["weights"].shape)),
        ("context per head (weights @ values)", (b, num_heads, num_tokens, head_dim)),
        ("heads merged: transpose(1, 2) then view", (b, num_tokens, d_out)),
        ("out_proj(context)", tuple(mha_context.shape)),
    ]
    return MultiHeadStep(
        seed=seed, num_heads=num_heads, d_out=d_out, batch=batch, causal_context=ca(batch),
        wrapper_head_weights=[_head_weights(h, batch)[0] for h in wrapper.heads],
        wrapper_context=wrapper(batch), mha_weights=details["weights"][0],
        mha_context=mha_context, shapes=shapes,
    )


@torch.no_grad()
def softmax_scaling_demo(scores: Sequence[float] = (0.1, -0.2, 0.3, -0.2, 0.5),
                         factor: float = 8.0):
    """Why scale: the same scores multiplied by 8 make softmax nearly one-hot (section 3.4.1)."""
    t = torch.tensor(scores)
    return torch.softmax(t, dim=-1), torch.softmax(t * factor, dim=-1)
