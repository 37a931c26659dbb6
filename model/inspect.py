"""Explicit inspection of a GPT forward pass (for the Embeddings and Attention labs).

`capture(model, idx)` walks the same modules as `GPTModel.forward`, taking the explicit attention
route in every block, and returns the logits together with the embeddings and, per layer, the
queries, keys, values, raw and masked scores and attention weights. The plain forward stays
logits-only; tests prove capture's logits equal it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class LayerCapture:
    queries: torch.Tensor  # (b, heads, T, head_dim)
    keys: torch.Tensor  # (b, heads, T, head_dim)
    values: torch.Tensor  # (b, heads, T, head_dim)
    scores: torch.Tensor  # (b, heads, T, T), q . k before scaling and masking
    masked_scores: torch.Tensor  # (b, heads, T, T), upper triangle -inf
    attn_weights: torch.Tensor  # (b, heads, T, T), softmax(masked / sqrt(head_dim))
    output: torch.Tensor  # (b, T, emb_dim), the block's output


@dataclass
class Capture:
    logits: torch.Tensor | None  # (b, T, vocab_size); None when capture(..., logits=False)
    token_embeddings: torch.Tensor  # (b, T, emb_dim)
    positional_embeddings: torch.Tensor  # (T, emb_dim)
    input_embeddings: torch.Tensor  # (b, T, emb_dim), their sum
    layers: list[LayerCapture] = field(default_factory=list)

    @property
    def attn_weights(self) -> torch.Tensor:
        """All attention weights stacked: (n_layers, b, heads, T, T)."""
        return torch.stack([layer.attn_weights for layer in self.layers])


@torch.no_grad()
def capture(model, idx: torch.Tensor, logits: bool = True) -> Capture:
    """Run `model` on idx (b, T) and keep every intermediate the labs show.

    logits=False skips the final norm and the output head: a lab that only looks inside the
    blocks (the Attention lab) saves the vocabulary projection, the costliest step of a small
    model (T x emb_dim x 50,257 multiply-adds).
    """
    num_tokens = idx.shape[1]
    if num_tokens > model.cfg.context_length:
        raise ValueError(f"input has {num_tokens} tokens but the model's context_length is "
                         f"{model.cfg.context_length}")
    tok = model.tok_emb(idx)  # (b, T, emb_dim)
    pos = model.pos_emb(torch.arange(num_tokens, device=idx.device))  # (T, emb_dim)
    x = model.drop_emb(tok + pos)
    layers = []
    for block in model.trf_blocks:
        shortcut = x
        att_out, details = block.att.forward_detailed(block.norm1(x))
        x = block.drop_shortcut(att_out) + shortcut
        shortcut = x
        x = block.drop_shortcut(block.ff(block.norm2(x))) + shortcut
        layers.append(LayerCapture(
            queries=details["queries"], keys=details["keys"], values=details["values"],
            scores=details["scores"], masked_scores=details["masked_scores"],
            attn_weights=details["weights"], output=x,
        ))
    out = model.out_head(model.final_norm(x)) if logits else None
    return Capture(logits=out, token_embeddings=tok, positional_embeddings=pos,
                   input_embeddings=tok + pos, layers=layers)
