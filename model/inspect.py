"""Explicit inspection of a GPT forward pass (chapter 4's model, for the labs).

`capture(model, idx)` walks the same modules as `GPTModel.forward`, taking the explicit attention
route in every block, and returns the logits together with the embeddings and, per layer, the
queries, keys, values, raw and masked scores and attention weights (Embeddings and Attention
labs).

`inspect_blocks(model, idx)` (and its halves `logit_lens` and `block_stats`) reads out, after
every transformer block, the top-k next tokens the residual stream would predict (the "logit
lens", which is not in the book) and statistics of what the block did: residual-stream norms,
LayerNorm inputs and outputs, the size of the attention and feed-forward updates against their
shortcuts, and how many GELU units sit below zero (Architecture lab).

The plain forward stays logits-only; tests prove capture's logits equal it, and the lens's last
layer equals its prediction.
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


# -- What every block predicts, and what every block does to the residual stream --------------
# The logit lens (not in the book) reads each block's output as if it were the last one: the
# residual stream goes through final_norm and out_head, softmax, top-k. Full-vocabulary logits
# exist only for one chunk of rows at a time (rows x vocab_size floats), so memory stays bounded
# whatever the number of layers and tokens: GPT-2 124M at 1,024 tokens would need 2.5 GB to hold
# every layer's logits, the chunk needs 51 MB.
DEFAULT_CHUNK_ROWS = 256


@dataclass
class LogitLens:
    """Top-k next tokens read out after every transformer block.

    Entry [layer, b, t] is what the model would predict after token t if block `layer` were the
    last one; the last layer's entry is the model's own prediction.
    """

    top_ids: torch.Tensor  # (n_layers, b, T, top_k), int64, most probable first
    top_probs: torch.Tensor  # (n_layers, b, T, top_k), softmax probabilities over the vocabulary

    @property
    def n_layers(self) -> int:
        return self.top_ids.shape[0]


@dataclass
class BlockStats:
    """What each transformer block does, per token (every field (n_layers, b, T) but one).

    Means and variances are over the embedding dimension, biased, as `LayerNorm` measures them.
    `att_ratio` is |attention output| / |shortcut it is added to| (the block's input);
    `ff_ratio` is |feed-forward output| / |shortcut| (the stream after attention): how much of
    the residual stream each sub-layer rewrites. `gelu_negative` is the fraction of the 4 x
    emb_dim hidden units whose input to GELU is negative (where ReLU would output 0 and GELU a
    small negative number).
    """

    embed_norm: torch.Tensor  # (b, T), |input embeddings| entering the first block
    resid_norm: torch.Tensor  # |residual stream| after the block
    norm1_in_mean: torch.Tensor
    norm1_in_var: torch.Tensor
    norm1_out_mean: torch.Tensor
    norm1_out_var: torch.Tensor
    norm2_in_mean: torch.Tensor
    norm2_in_var: torch.Tensor
    norm2_out_mean: torch.Tensor
    norm2_out_var: torch.Tensor
    att_ratio: torch.Tensor
    ff_ratio: torch.Tensor
    gelu_negative: torch.Tensor

    PER_LAYER = ("resid_norm", "norm1_in_mean", "norm1_in_var", "norm1_out_mean",
                 "norm1_out_var", "norm2_in_mean", "norm2_in_var", "norm2_out_mean",
                 "norm2_out_var", "att_ratio", "ff_ratio", "gelu_negative")

    @property
    def n_layers(self) -> int:
        return self.resid_norm.shape[0]

    def per_layer(self) -> dict[str, list[float]]:
        """Each statistic averaged over batch and tokens: one float per layer, for plots."""
        return {name: getattr(self, name).mean(dim=(1, 2)).tolist() for name in self.PER_LAYER}


@dataclass
class BlockInspection:
    lens: LogitLens | None
    stats: BlockStats | None


def _check_idx(model, idx: torch.Tensor) -> None:
    if not isinstance(idx, torch.Tensor) or idx.ndim != 2:
        shape = tuple(idx.shape) if isinstance(idx, torch.Tensor) else type(idx).__name__
        raise ValueError(f"idx must be a (batch, num_tokens) tensor of token IDs, got {shape}")
    if idx.shape[0] < 1 or idx.shape[1] < 1:
        raise ValueError("idx holds no tokens: give at least one token ID")
    if idx.shape[1] > model.cfg.context_length:
        raise ValueError(f"input has {idx.shape[1]} tokens but the model's context_length is "
                         f"{model.cfg.context_length}")


def _lens_rows(model, x: torch.Tensor, top_k: int, chunk_rows: int, buf: dict):
    """Top-k token IDs and probabilities for every row of x (rows, emb_dim), chunk by chunk."""
    head = model.out_head
    plain = type(head) is torch.nn.Linear
    ids, probs = [], []
    for start in range(0, x.shape[0], chunk_rows):
        normed = model.final_norm(x[start:start + chunk_rows])  # (n, emb_dim)
        n = normed.shape[0]
        if plain:
            # One logits buffer reused across chunks and layers: no fresh 50 MB allocation,
            # and no page faults filling it, per chunk.
            if "logits" not in buf:
                buf["logits"] = normed.new_empty(min(chunk_rows, x.shape[0]),
                                                 head.weight.shape[0])
            logits = torch.mm(normed, head.weight.t(), out=buf["logits"][:n])  # (n, vocab)
            if head.bias is not None:
                logits.add_(head.bias)
        else:  # a wrapped head (e.g. adapters): let it compute its own way
            logits = head(normed)
        top_logits, top_ids = logits.topk(top_k, dim=-1)  # (n, top_k), descending
        largest = top_logits[:, :1]
        # softmax's own arithmetic, exp(l - max) / sum exp(l - max), done in place.
        total = logits.sub_(largest).exp_().sum(dim=-1, keepdim=True)  # (n, 1)
        ids.append(top_ids)
        probs.append(torch.exp(top_logits - largest) / total)
    return torch.cat(ids), torch.cat(probs)


def _mean_var(t: torch.Tensor):
    return t.mean(dim=-1), t.var(dim=-1, unbiased=False)


@torch.no_grad()
def inspect_blocks(model, idx: torch.Tensor, top_k: int = 5, lens: bool = True,
                   stats: bool = True, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> BlockInspection:
    """One pass through the model giving the logit lens and the per-block statistics.

    The model runs in eval mode (no dropout) and is put back in its previous mode after; its
    forward is not changed. `chunk_rows` bounds how many (batch x token) rows get
    full-vocabulary logits at once. lens=False or stats=False skips that half (its field is
    None).
    """
    from model.gpt import GELU

    _check_idx(model, idx)
    vocab = model.cfg.vocab_size
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= vocab:
        raise ValueError(f"top_k must be an integer between 1 and {vocab}, got {top_k!r}")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows must be a positive integer, got {chunk_rows!r}")
    b, num_tokens = idx.shape
    n_layers = len(model.trf_blocks)
    rows = b * num_tokens
    if lens:
        top_ids = torch.empty(n_layers, rows, top_k, dtype=torch.long, device=idx.device)
        top_probs = torch.empty(n_layers, rows, top_k, device=idx.device)
    if stats:
        names = BlockStats.PER_LAYER
        per = {name: torch.empty(n_layers, b, num_tokens, device=idx.device) for name in names}
    buf: dict = {}
    was_training = model.training
    model.eval()
    try:
        x = model.drop_emb(model.embed(idx))  # (b, T, emb_dim)
        embed_norm = x.norm(dim=-1)  # (b, T)
        for layer, block in enumerate(model.trf_blocks):
            if not stats:
                x = block(x)
            else:
                # The block's own forward, step by step, to see inside it.
                shortcut = x
                n1 = block.norm1(x)
                att = block.drop_shortcut(block.att(n1))  # (b, T, emb_dim)
                x = att + shortcut
                per["att_ratio"][layer] = att.norm(dim=-1) / shortcut.norm(dim=-1)
                per["norm1_in_mean"][layer], per["norm1_in_var"][layer] = _mean_var(shortcut)
                per["norm1_out_mean"][layer], per["norm1_out_var"][layer] = _mean_var(n1)
                shortcut = x
                h = n2 = block.norm2(x)
                for sub in block.ff.layers:
                    if isinstance(sub, GELU):
                        per["gelu_negative"][layer] = (h < 0).float().mean(dim=-1)
                    h = sub(h)  # the hidden layer is (b, T, 4 * emb_dim)
                ff = block.drop_shortcut(h)  # (b, T, emb_dim)
                x = ff + shortcut
                per["ff_ratio"][layer] = ff.norm(dim=-1) / shortcut.norm(dim=-1)
                per["norm2_in_mean"][layer], per["norm2_in_var"][layer] = _mean_var(shortcut)
                per["norm2_out_mean"][layer], per["norm2_out_var"][layer] = _mean_var(n2)
                per["resid_norm"][layer] = x.norm(dim=-1)
            if lens:
                top_ids[layer], top_probs[layer] = _lens_rows(
                    model, x.reshape(rows, -1), top_k, chunk_rows, buf)
    finally:
        model.train(was_training)
    lens_out = (LogitLens(top_ids.view(n_layers, b, num_tokens, top_k),
                          top_probs.view(n_layers, b, num_tokens, top_k)) if lens else None)
    stats_out = BlockStats(embed_norm=embed_norm, **per) if stats else None
    return BlockInspection(lens=lens_out, stats=stats_out)


def logit_lens(model, idx: torch.Tensor, top_k: int = 5,
               chunk_rows: int = DEFAULT_CHUNK_ROWS) -> LogitLens:
    """After every block: residual stream -> final_norm -> out_head -> softmax -> top-k.

    idx: (b, T) token IDs. Returns `LogitLens` with `top_ids` and `top_probs` of shape
    (n_layers, b, T, top_k); the last layer equals the top-k of softmax(model(idx)).
    """
    return inspect_blocks(model, idx, top_k=top_k, stats=False, chunk_rows=chunk_rows).lens


def block_stats(model, idx: torch.Tensor) -> BlockStats:
    """Per block and token: residual-stream norm, LayerNorm input/output mean and variance,
    attention and feed-forward output size against their shortcut, GELU inputs below zero."""
    return inspect_blocks(model, idx, lens=False).stats
