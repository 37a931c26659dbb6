"""Chapter 3's attention mechanisms, in the order the book builds them.

`SelfAttention_v1` (raw parameter matrices), `SelfAttention_v2` (nn.Linear), `CausalAttention`
(mask + dropout, batched), `MultiHeadAttentionWrapper` (stacked heads) and `MultiHeadAttention`
(one weight split into heads), the last being the one `GPTModel` uses. Names and constructor
signatures are the book's so that its seeds give its printed numbers.

`MultiHeadAttention.forward` may use PyTorch's fused kernel; `forward_detailed` always takes the
explicit route and also returns the intermediates the Attention lab shows. A test proves the two
routes agree.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _softmax_scaled(scores: torch.Tensor, d_k: int) -> torch.Tensor:
    # Scaling by sqrt(d_k) keeps softmax out of its flat, small-gradient regime (section 3.4).
    return torch.softmax(scores / d_k**0.5, dim=-1)


class SelfAttention_v1(nn.Module):
    """Section 3.4.1: trainable weights as raw `nn.Parameter(torch.rand(d_in, d_out))`."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.W_query = nn.Parameter(torch.rand(d_in, d_out))
        self.W_key = nn.Parameter(torch.rand(d_in, d_out))
        self.W_value = nn.Parameter(torch.rand(d_in, d_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (num_tokens, d_in)
        keys = x @ self.W_key  # (num_tokens, d_out)
        queries = x @ self.W_query
        values = x @ self.W_value
        attn_scores = queries @ keys.T  # (num_tokens, num_tokens)
        attn_weights = _softmax_scaled(attn_scores, keys.shape[-1])
        return attn_weights @ values  # (num_tokens, d_out)


class SelfAttention_v2(nn.Module):
    """Section 3.4.2: the same computation with `nn.Linear` layers (better initialisation)."""

    def __init__(self, d_in: int, d_out: int, qkv_bias: bool = False):
        super().__init__()
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (num_tokens, d_in)
        keys = self.W_key(x)
        queries = self.W_query(x)
        values = self.W_value(x)
        attn_weights = _softmax_scaled(queries @ keys.T, keys.shape[-1])
        return attn_weights @ values


class CausalAttention(nn.Module):
    """Section 3.5: a batched single head that cannot look ahead, with dropout on the weights."""

    def __init__(self, d_in: int, d_out: int, context_length: int, dropout: float,
                 qkv_bias: bool = False):
        super().__init__()
        self.d_out = d_out
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer(
            "mask", torch.triu(torch.ones(context_length, context_length), diagonal=1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, num_tokens, d_in = x.shape
        keys = self.W_key(x)  # (b, num_tokens, d_out)
        queries = self.W_query(x)
        values = self.W_value(x)
        attn_scores = queries @ keys.transpose(1, 2)  # (b, num_tokens, num_tokens)
        attn_scores = attn_scores.masked_fill(
            self.mask.bool()[:num_tokens, :num_tokens], -torch.inf
        )
        attn_weights = self.dropout(_softmax_scaled(attn_scores, keys.shape[-1]))
        return attn_weights @ values  # (b, num_tokens, d_out)


class MultiHeadAttentionWrapper(nn.Module):
    """Section 3.6.1: several `CausalAttention` heads side by side, outputs concatenated."""

    def __init__(self, d_in: int, d_out: int, context_length: int, dropout: float,
                 num_heads: int, qkv_bias: bool = False):
        super().__init__()
        self.heads = nn.ModuleList(
            [CausalAttention(d_in, d_out, context_length, dropout, qkv_bias)
             for _ in range(num_heads)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([head(x) for head in self.heads], dim=-1)  # (b, T, num_heads*d_out)


class MultiHeadAttention(nn.Module):
    """Section 3.6.2: one projection per Q/K/V, split into `num_heads` heads of `head_dim`."""

    def __init__(self, d_in: int, d_out: int, context_length: int, dropout: float,
                 num_heads: int, qkv_bias: bool = False):
        super().__init__()
        if d_out % num_heads:
            raise ValueError(f"d_out ({d_out}) must be divisible by num_heads ({num_heads})")
        self.d_out = d_out
        self.num_heads = num_heads
        self.head_dim = d_out // num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        # Persistent, as in the book, so the book's saved state_dicts (which hold it) load as-is.
        self.register_buffer(
            "mask", torch.triu(torch.ones(context_length, context_length), diagonal=1)
        )
        # The fused kernel computes the same function faster; inspection never uses it.
        self.use_fused = True

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        b, num_tokens, _ = t.shape
        # (b, num_tokens, d_out) -> (b, num_heads, num_tokens, head_dim)
        return t.view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)

    def _qkv(self, x: torch.Tensor):
        return (self._split_heads(self.W_query(x)), self._split_heads(self.W_key(x)),
                self._split_heads(self.W_value(x)))

    def _merge_heads(self, context: torch.Tensor) -> torch.Tensor:
        b, _, num_tokens, _ = context.shape
        # (b, num_heads, num_tokens, head_dim) -> (b, num_tokens, d_out)
        context = context.transpose(1, 2).contiguous().view(b, num_tokens, self.d_out)
        return self.out_proj(context)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.use_fused:
            return self.forward_detailed(x)[0]
        queries, keys, values = self._qkv(x)
        context = F.scaled_dot_product_attention(
            queries, keys, values, attn_mask=None,
            dropout_p=self.dropout.p if self.training else 0.0, is_causal=True,
        )  # (b, num_heads, num_tokens, head_dim)
        return self._merge_heads(context)

    def forward_detailed(self, x: torch.Tensor):
        """The explicit route; returns (output, details) with every step of chapter 3.

        details: queries, keys, values (b, heads, T, head_dim); scores (raw q.k),
        masked_scores (upper triangle -inf) and weights (softmax of scaled, masked scores),
        each (b, heads, T, T). Weights are taken before dropout.
        """
        num_tokens = x.shape[1]
        queries, keys, values = self._qkv(x)
        attn_scores = queries @ keys.transpose(2, 3)  # (b, num_heads, T, T)
        masked = attn_scores.masked_fill(
            self.mask.bool()[:num_tokens, :num_tokens], -torch.inf
        )
        attn_weights = _softmax_scaled(masked, self.head_dim)
        context = self.dropout(attn_weights) @ values  # (b, num_heads, T, head_dim)
        details = {
            "queries": queries, "keys": keys, "values": values,
            "scores": attn_scores, "masked_scores": masked, "weights": attn_weights,
        }
        return self._merge_heads(context), details
