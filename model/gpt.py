"""Chapter 4: the GPT model, with the book's class and parameter names.

`GPTModel(cfg)` is built from `GPTConfig` (or the book's plain dict) and creates its parameters
in the book's order, so `torch.manual_seed(123)` before construction gives the book's initial
weights, and a `state_dict` saved by the book's chapter 4/5 code loads by name.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn as nn

from model.attention import MultiHeadAttention
from model.config import GPTConfig


class LayerNorm(nn.Module):
    """Section 4.2: normalise over the embedding dimension, then a learnt scale and shift."""

    def __init__(self, emb_dim: int):
        super().__init__()
        self.eps = 1e-5
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)  # biased, as GPT-2 was trained
        return self.scale * (x - mean) / torch.sqrt(var + self.eps) + self.shift


class GELU(nn.Module):
    """Section 4.3: the tanh approximation of GELU that GPT-2 used."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x * (1 + torch.tanh(
            torch.sqrt(torch.tensor(2.0 / torch.pi)) * (x + 0.044715 * torch.pow(x, 3))
        ))


class FeedForward(nn.Module):
    """Section 4.3: expand to 4x the embedding size, GELU, project back."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(cfg["emb_dim"], 4 * cfg["emb_dim"]),
            GELU(),
            nn.Linear(4 * cfg["emb_dim"], cfg["emb_dim"]),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class TransformerBlock(nn.Module):
    """Section 4.5: pre-LayerNorm attention and feed-forward, each with a shortcut."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.att = MultiHeadAttention(
            d_in=cfg["emb_dim"], d_out=cfg["emb_dim"], context_length=cfg["context_length"],
            num_heads=cfg["n_heads"], dropout=cfg["drop_rate"], qkv_bias=cfg["qkv_bias"],
        )
        self.ff = FeedForward(cfg)
        self.norm1 = LayerNorm(cfg["emb_dim"])
        self.norm2 = LayerNorm(cfg["emb_dim"])
        self.drop_shortcut = nn.Dropout(cfg["drop_rate"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (b, num_tokens, emb_dim)
        shortcut = x
        x = self.drop_shortcut(self.att(self.norm1(x)))
        x = x + shortcut
        shortcut = x
        x = self.drop_shortcut(self.ff(self.norm2(x)))
        return x + shortcut


class GPTModel(nn.Module):
    """Section 4.6: token + positional embeddings, `n_layers` blocks, final norm, output head."""

    def __init__(self, cfg: GPTConfig | Mapping[str, Any]):
        super().__init__()
        cfg = GPTConfig.coerce(cfg)
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.emb_dim)
        self.pos_emb = nn.Embedding(cfg.context_length, cfg.emb_dim)
        self.drop_emb = nn.Dropout(cfg.drop_rate)
        self.trf_blocks = nn.Sequential(*[TransformerBlock(cfg) for _ in range(cfg.n_layers)])
        self.final_norm = LayerNorm(cfg.emb_dim)
        self.out_head = nn.Linear(cfg.emb_dim, cfg.vocab_size, bias=False)

    def embed(self, in_idx: torch.Tensor) -> torch.Tensor:
        """Input embeddings: token plus positional, (b, num_tokens, emb_dim)."""
        _, num_tokens = in_idx.shape
        if num_tokens > self.cfg.context_length:
            raise ValueError(
                f"input has {num_tokens} tokens but the model's context_length is "
                f"{self.cfg.context_length}"
            )
        tok_embeds = self.tok_emb(in_idx)  # (b, num_tokens, emb_dim)
        pos_embeds = self.pos_emb(torch.arange(num_tokens, device=in_idx.device))  # (T, emb_dim)
        return tok_embeds + pos_embeds

    def forward(self, in_idx: torch.Tensor) -> torch.Tensor:
        x = self.drop_emb(self.embed(in_idx))
        x = self.trf_blocks(x)
        x = self.final_norm(x)
        return self.out_head(x)  # (b, num_tokens, vocab_size)

    def num_parameters(self, exclude_output_head: bool = False) -> int:
        """Parameter count; without the output head it is GPT-2's count under weight tying."""
        total = sum(p.numel() for p in self.parameters())
        return total - self.out_head.weight.numel() if exclude_output_head else total

    def memory_bytes(self) -> int:
        """Bytes held by parameters and buffers."""
        tensors = list(self.parameters()) + list(self.buffers())
        return sum(t.numel() * t.element_size() for t in tensors)


def count_parameters(cfg: GPTConfig | Mapping[str, Any], exclude_output_head: bool = False) -> int:
    """Parameter count of a config without allocating the model (for the Training lab)."""
    cfg = GPTConfig.coerce(cfg)
    d, v, t, L = cfg.emb_dim, cfg.vocab_size, cfg.context_length, cfg.n_layers
    qkv = 3 * (d * d + (d if cfg.qkv_bias else 0))
    att = qkv + d * d + d  # plus out_proj with bias
    ff = d * 4 * d + 4 * d + 4 * d * d + d
    norms = 2 * 2 * d
    total = v * d + t * d + L * (att + ff + norms) + 2 * d + d * v
    return total - d * v if exclude_output_head else total
