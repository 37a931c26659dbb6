"""A key-value cache for generation (beyond chapter 5: the book's bonus material on KV caches).

Generating token by token, `GPTModel.forward` recomputes the keys and values of every earlier
token at every step. The cache keeps each layer's keys and values, so a step only runs the newest
token through the blocks. `forward_cached` walks the model's own modules (the same weights, the
same LayerNorms and feed-forwards); `GPTModel` itself is not changed. Once the window is full the
positions shift under the cache, so each step then rebuilds it from the last `context_length`
tokens: exactly what the uncached loop computes, at the uncached cost.

Tests prove the cached logits equal the plain forward and that generation gives identical tokens.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class KVCache:
    """Per-layer keys and values seen so far, each (b, num_heads, num_tokens, head_dim)."""

    def __init__(self, n_layers: int):
        self.keys: list[torch.Tensor | None] = [None] * n_layers
        self.values: list[torch.Tensor | None] = [None] * n_layers
        self.length = 0  # tokens held (the position the next token gets)

    def reset(self) -> None:
        self.keys = [None] * len(self.keys)
        self.values = [None] * len(self.values)
        self.length = 0


def _heads(t: torch.Tensor, num_heads: int) -> torch.Tensor:
    b, num_tokens, d_out = t.shape
    # (b, num_tokens, d_out) -> (b, num_heads, num_tokens, head_dim)
    return t.view(b, num_tokens, num_heads, d_out // num_heads).transpose(1, 2)


@torch.no_grad()
def forward_cached(model, idx_new: torch.Tensor, cache: KVCache,
                   last_only: bool = False) -> torch.Tensor:
    """Logits for `idx_new` (b, t_new) given the tokens already in `cache`: (b, t_new, vocab).

    The new tokens take positions cache.length .. cache.length + t_new - 1; the cache grows.
    With `last_only`, only the last position goes through the output head: (b, 1, vocab), the
    same numbers, without a vocabulary-wide row for every prompt token.
    """
    start = cache.length
    t_new = idx_new.shape[1]
    if start + t_new > model.cfg.context_length:
        raise ValueError(f"{start + t_new} tokens do not fit the context of "
                         f"{model.cfg.context_length}; reset the cache")
    positions = torch.arange(start, start + t_new, device=idx_new.device)
    x = model.drop_emb(model.tok_emb(idx_new) + model.pos_emb(positions))  # (b, t_new, emb_dim)
    mask = None
    if t_new > 1:
        # Query j (absolute start + j) may look at keys 0 .. start + j.
        q_pos = positions.unsqueeze(1)  # (t_new, 1)
        k_pos = torch.arange(start + t_new, device=idx_new.device).unsqueeze(0)  # (1, total)
        mask = k_pos <= q_pos  # (t_new, total), True = attend
    for i, block in enumerate(model.trf_blocks):
        att = block.att
        shortcut = x
        h = block.norm1(x)
        queries = _heads(att.W_query(h), att.num_heads)  # (b, heads, t_new, head_dim)
        keys = _heads(att.W_key(h), att.num_heads)
        values = _heads(att.W_value(h), att.num_heads)
        if cache.keys[i] is not None:
            keys = torch.cat((cache.keys[i], keys), dim=2)  # (b, heads, total, head_dim)
            values = torch.cat((cache.values[i], values), dim=2)
        cache.keys[i], cache.values[i] = keys, values
        context = F.scaled_dot_product_attention(queries, keys, values, attn_mask=mask)
        b = context.shape[0]
        context = context.transpose(1, 2).contiguous().view(b, t_new, att.d_out)
        x = block.drop_shortcut(att.out_proj(context)) + shortcut
        shortcut = x
        x = block.drop_shortcut(block.ff(block.norm2(x))) + shortcut
    cache.length = start + t_new
    if last_only:
        x = x[:, -1:, :]  # (b, 1, emb_dim)
    return model.out_head(model.final_norm(x))


class CachedStepper:
    """Next-token logits for a growing sequence, using the cache while the window has room.

    `first(idx)` primes it with the prompt (b, T); `step(idx_next)` appends (b, 1). Both return
    last-position logits (b, vocab). The full sequence is kept to rebuild the cache when the
    window slides.
    """

    def __init__(self, model, context_size: int | None = None):
        self.model = model
        self.context_size = min(context_size or model.cfg.context_length,
                                model.cfg.context_length)
        self.cache = KVCache(len(model.trf_blocks))
        self.tokens: torch.Tensor | None = None

    def _rebuild(self) -> torch.Tensor:
        self.cache.reset()
        window = self.tokens[:, -self.context_size:]
        return forward_cached(self.model, window, self.cache, last_only=True)[:, -1, :]

    def first(self, idx: torch.Tensor) -> torch.Tensor:
        self.tokens = idx
        return self._rebuild()

    def step(self, idx_next: torch.Tensor) -> torch.Tensor:
        self.tokens = torch.cat((self.tokens, idx_next), dim=1)
        if self.cache.length + 1 > self.context_size:
            return self._rebuild()  # the window slid: every position moved
        return forward_cached(self.model, idx_next, self.cache)[:, -1, :]
