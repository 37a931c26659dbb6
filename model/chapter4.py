"""Chapter 4's small demonstrations and the GPT's anatomy, as plain data for the Architecture lab.

- `layer_norm_demo` (section 4.2): a Linear + ReLU layer's output, its per-row mean and variance,
  and the same output normalised to mean 0 and variance 1; with the book's seed and batch it
  gives the book's numbers (mean 0.1324 and 0.2170, variance 0.0231 and 0.0398).
- `gelu_vs_relu` (section 4.3): both activations and their derivatives on a grid of x.
- `feed_forward_shapes` (section 4.3): the tensor shapes through `FeedForward` (768 -> 3,072 ->
  768 for GPT-2 small), traced through the real module on the meta device.
- `shortcut_gradients` (section 4.4): the mean absolute weight gradient of each layer of the
  book's five-layer example network, with and without shortcut connections.
- `gpt2_sizes` and `parameter_split` (section 4.6): parameter counts and float32 sizes of GPT-2
  small, medium, large and XL, split by component, computed from the config (no allocation).
- `component_info` (figure 4.15): every component of a GPT in the order data flows through it,
  with its parameters, memory, input and output shapes and the book's section.

Every function returns lists, dicts, ints and floats only, and seeds inside
`torch.random.fork_rng`, so the global RNG that sampling elsewhere relies on is left alone.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from model.chapter3 import seeded
from model.config import PRESETS, GPTConfig
from model.gpt import GELU, FeedForward, LayerNorm

BOOK_SEED = 123
FLOAT32_BYTES = 4
MB = 1024 * 1024  # the book's "MB": bytes / 1024**2

# -- 4.2 layer normalisation ------------------------------------------------------------------
LAYER_NORM_BATCH_SHAPE = (2, 5)  # batch_example = torch.randn(2, 5)
LAYER_NORM_OUT_FEATURES = 6  # nn.Linear(5, 6)


def _as_matrix(batch: Sequence[Sequence[float]]) -> torch.Tensor:
    rows = [list(row) for row in batch]
    if not rows or not rows[0]:
        raise ValueError("the batch is empty: give at least one row of numbers")
    width = len(rows[0])
    for i, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ValueError(f"row {i} of the batch has {len(row)} numbers, row 1 has {width}")
        for j, value in enumerate(row, start=1):
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"row {i}, column {j} of the batch is not a number: "
                                 f"{value!r}") from None
            if not math.isfinite(number):
                raise ValueError(f"row {i}, column {j} of the batch is not finite: {value!r}")
    return torch.tensor(rows, dtype=torch.float32)


@torch.no_grad()
def layer_norm_demo(batch: Sequence[Sequence[float]] | None = None, seed: int = BOOK_SEED,
                    out_features: int = LAYER_NORM_OUT_FEATURES) -> dict[str, Any]:
    """Section 4.2: normalise a layer's outputs to mean 0 and variance 1, row by row.

    As the book: under `torch.manual_seed(seed)`, `batch_example = torch.randn(2, 5)`, then
    `nn.Sequential(nn.Linear(5, out_features), nn.ReLU())`. A `batch` (rows of equal length)
    replaces `batch_example`; the layer's weights are still drawn after a batch of the book's
    shape would have been, so editing one number of the book's batch changes only that input.

    Returns plain lists: `batch` (the input rows), `relu_out` (rows, out_features), `mean` and
    `var` per row (the book's `out.var`: unbiased), `normed` = (relu_out - mean) / sqrt(var),
    `normed_mean` (about 0) and `normed_var` (1.0). Also `layer_norm_out`, `layer_norm_mean`
    and `layer_norm_var`: the model's `LayerNorm` module on the same output, which divides by
    sqrt(biased variance + eps) with eps = 1e-5; against a variance near 0.02 eps is not
    negligible, so its variance (biased, as the module measures it) is just under 1.
    """
    if isinstance(out_features, bool) or not isinstance(out_features, int) or out_features < 2:
        raise ValueError(f"out_features must be an integer of at least 2, got {out_features!r}")
    user = None if batch is None else _as_matrix(batch)
    in_features = LAYER_NORM_BATCH_SHAPE[1] if user is None else user.shape[1]
    with seeded(seed):
        batch_example = torch.randn(LAYER_NORM_BATCH_SHAPE[0], in_features)  # (2, in_features)
        layer = nn.Sequential(nn.Linear(in_features, out_features), nn.ReLU())
    x = batch_example if user is None else user  # (rows, in_features)
    out = layer(x)  # (rows, out_features)
    mean = out.mean(dim=-1, keepdim=True)  # (rows, 1)
    var = out.var(dim=-1, keepdim=True)
    # A row the ReLU zeroed entirely has no spread to normalise; leave it at 0 instead of NaN.
    normed = torch.where(var > 0, (out - mean) / torch.sqrt(var), torch.zeros_like(out))
    ln = LayerNorm(out_features)
    ln_out = ln(out)
    return {
        "batch": x.tolist(),
        "relu_out": out.tolist(),
        "mean": mean.squeeze(-1).tolist(),
        "var": var.squeeze(-1).tolist(),
        "normed": normed.tolist(),
        "normed_mean": normed.mean(dim=-1).tolist(),
        "normed_var": normed.var(dim=-1).tolist(),
        "layer_norm_out": ln_out.tolist(),
        "layer_norm_mean": ln_out.mean(dim=-1).tolist(),
        "layer_norm_var": ln_out.var(dim=-1, unbiased=False).tolist(),
        "eps": ln.eps,
    }


# -- 4.3 GELU and the feed-forward network ----------------------------------------------------
def gelu_vs_relu(x_min: float = -3.0, x_max: float = 3.0, n: int = 121) -> dict[str, list[float]]:
    """Section 4.3: GELU (GPT-2's tanh approximation) against ReLU, with their derivatives.

    Returns `x` (n evenly spaced points from x_min to x_max), `gelu`, `relu`, `gelu_grad` and
    `relu_grad` (by autograd; ReLU's derivative is taken as 0 at x = 0, as PyTorch does).
    GELU's derivative is smooth and slightly negative for x below about -0.75, which is what
    lets a unit with a negative input still learn.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ValueError(f"n must be an integer of at least 2, got {n!r}")
    if not (math.isfinite(x_min) and math.isfinite(x_max)) or x_min >= x_max:
        raise ValueError(f"x_min must be below x_max, got {x_min} and {x_max}")
    x = torch.linspace(float(x_min), float(x_max), n, requires_grad=True)  # (n,)
    curves: dict[str, list[float]] = {"x": x.tolist()}
    for name, fn in (("gelu", GELU()), ("relu", nn.ReLU())):
        y = fn(x)  # (n,)
        (grad,) = torch.autograd.grad(y.sum(), x)  # each y_i depends on x_i only
        curves[name], curves[f"{name}_grad"] = y.detach().tolist(), grad.tolist()
    return curves


def feed_forward_shapes(cfg: GPTConfig | Mapping[str, Any] | None = None, batch_size: int = 2,
                        num_tokens: int = 3) -> list[dict[str, Any]]:
    """Section 4.3: the shapes through `FeedForward` for `x = torch.rand(batch, tokens, emb)`.

    The book's example is GPT-2 small with x of shape (2, 3, 768): 768 -> 3,072 -> 768. The real
    module is run on the meta device (shapes without arithmetic or memory). Returns one dict per
    step: `name` ("input", then each of `ff.layers`), `module` ("Linear", "GELU"), `shape` (a
    tuple) and `params` of that step.
    """
    cfg = GPTConfig() if cfg is None else GPTConfig.coerce(cfg)
    for name, value in (("batch_size", batch_size), ("num_tokens", num_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    with torch.device("meta"):
        ff = FeedForward(cfg)
        x = torch.empty(batch_size, num_tokens, cfg.emb_dim)  # (b, num_tokens, emb_dim)
    steps = [{"name": "input", "module": "", "shape": tuple(x.shape), "params": 0}]
    for i, layer in enumerate(ff.layers):
        x = layer(x)
        steps.append({"name": f"layers.{i}", "module": type(layer).__name__,
                      "shape": tuple(x.shape),
                      "params": sum(p.numel() for p in layer.parameters())})
    return steps


# -- 4.4 shortcut connections -----------------------------------------------------------------
BOOK_LAYER_SIZES: tuple[int, ...] = (3, 3, 3, 3, 3, 1)
BOOK_SAMPLE_INPUT: tuple[float, ...] = (1.0, 0.0, -1.0)
BOOK_TARGET: float = 0.0


class ExampleDeepNeuralNetwork(nn.Module):
    """Section 4.4's test network: Linear + GELU layers, optionally each with a shortcut.

    A shortcut adds a layer's input to its output wherever the two have the same shape (all but
    the last layer of the book's sizes), giving the gradient a path around the layer.
    """

    def __init__(self, layer_sizes: Sequence[int], use_shortcut: bool):
        super().__init__()
        self.use_shortcut = use_shortcut
        self.layers = nn.ModuleList([
            nn.Sequential(nn.Linear(layer_sizes[i], layer_sizes[i + 1]), GELU())
            for i in range(len(layer_sizes) - 1)
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            layer_output = layer(x)
            if self.use_shortcut and x.shape == layer_output.shape:
                x = x + layer_output
            else:
                x = layer_output
        return x


def shortcut_gradients(use_shortcut: bool, layer_sizes: Sequence[int] = BOOK_LAYER_SIZES,
                       sample_input: Sequence[float] = BOOK_SAMPLE_INPUT,
                       target: float = BOOK_TARGET, seed: int = BOOK_SEED) -> list[float]:
    """Section 4.4: mean absolute gradient of each layer's weight, first layer first.

    The network is built under `torch.manual_seed(seed)`; one forward pass on `sample_input`
    (a batch of one), MSE loss against `target`, one backward pass. Without shortcuts the
    book's gradients shrink from 0.00505 at the last layer to 0.00020 at the first (vanishing);
    with them they stay between 0.2 and 1.3.
    """
    sizes = [int(s) for s in layer_sizes]
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ValueError(f"layer_sizes needs at least two positive sizes, got {list(layer_sizes)}")
    x = torch.tensor([list(sample_input)], dtype=torch.float32)  # (1, d_in)
    if x.shape[1] != sizes[0]:
        raise ValueError(f"the input has {x.shape[1]} numbers but the first layer takes "
                         f"{sizes[0]}")
    with seeded(seed):
        net = ExampleDeepNeuralNetwork(sizes, use_shortcut=use_shortcut)
    output = net(x)  # (1, layer_sizes[-1])
    loss = nn.MSELoss()(output, torch.full_like(output, float(target)))
    loss.backward()
    return [layer[0].weight.grad.abs().mean().item() for layer in net.layers]


# -- 4.6 parameters and memory ----------------------------------------------------------------
# The book's four sizes (section 4.6 and its exercise), keyed to the app's presets.
GPT2_SIZES: tuple[tuple[str, str], ...] = (
    ("GPT-2 small (124M)", "gpt2-124m"),
    ("GPT-2 medium (355M)", "gpt2-355m"),
    ("GPT-2 large (774M)", "gpt2-774m"),
    ("GPT-2 XL (1558M)", "gpt2-1558m"),
)


def _block_params(cfg: GPTConfig) -> dict[str, int]:
    d = cfg.emb_dim
    qkv = 3 * (d * d + (d if cfg.qkv_bias else 0))  # W_query, W_key, W_value
    return {
        "norm1": 2 * d,  # scale and shift
        "att": qkv + d * d + d,  # plus out_proj, which has a bias
        "norm2": 2 * d,
        "ff": (d * 4 * d + 4 * d) + (4 * d * d + d),  # expand to 4d, project back
    }


def parameter_split(cfg: GPTConfig | Mapping[str, Any]) -> dict[str, Any]:
    """Parameter counts of a GPT config by component, by arithmetic on the config.

    Keys: `tok_emb`, `pos_emb`, `per_block` (a dict: `att`, `ff`, `norms`, `total`), `blocks`
    (all n_layers blocks), `final_norm`, `out_head`, `total` and `total_tied` (without the
    output head: GPT-2 reuses the token embedding as its output layer, weight tying).
    """
    cfg = GPTConfig.coerce(cfg)
    block = _block_params(cfg)
    per_block = {"att": block["att"], "ff": block["ff"], "norms": block["norm1"] + block["norm2"]}
    per_block["total"] = sum(per_block.values())
    split = {
        "tok_emb": cfg.vocab_size * cfg.emb_dim,
        "pos_emb": cfg.context_length * cfg.emb_dim,
        "per_block": per_block,
        "blocks": cfg.n_layers * per_block["total"],
        "final_norm": 2 * cfg.emb_dim,
        "out_head": cfg.emb_dim * cfg.vocab_size,  # no bias
    }
    split["total"] = (split["tok_emb"] + split["pos_emb"] + split["blocks"]
                      + split["final_norm"] + split["out_head"])
    split["total_tied"] = split["total"] - split["out_head"]
    return split


def gpt2_sizes() -> list[dict[str, Any]]:
    """Section 4.6: GPT-2 small, medium, large and XL, computed from their configs.

    One dict per size: `name`, `preset` (the key in `model.config.PRESETS`), `config` (the
    book's keys), `params`, `params_tied` (weight tying: no separate output head), `mb`
    (float32, bytes / 1024**2, unrounded: small 621.83), `mb_tied`, and `split`
    (`parameter_split`). Small: 163,009,536 parameters, 124,412,160 tied; per block attention
    2,360,064 and feed-forward 4,722,432.
    """
    sizes = []
    for name, preset in GPT2_SIZES:
        cfg = PRESETS[preset]
        split = parameter_split(cfg)
        sizes.append({
            "name": name, "preset": preset, "config": cfg.to_dict(),
            "params": split["total"], "params_tied": split["total_tied"],
            "mb": split["total"] * FLOAT32_BYTES / MB,
            "mb_tied": split["total_tied"] * FLOAT32_BYTES / MB,
            "split": split,
        })
    return sizes


# -- figure 4.15: the model map ---------------------------------------------------------------
# Where the book explains each component (figure 4.15 assembles them in section 4.6).
SECTIONS: dict[str, str] = {
    "tok_emb": "2.7", "pos_emb": "2.8", "drop_emb": "4.6", "norm1": "4.2", "att": "3.6",
    "drop_shortcut": "4.5", "shortcut": "4.4", "norm2": "4.2", "ff": "4.3", "final_norm": "4.6",
    "out_head": "4.6",
}
LABELS: dict[str, str] = {
    "tok_emb": "Token embedding layer", "pos_emb": "Positional embedding layer",
    "drop_emb": "Dropout", "norm1": "LayerNorm 1", "att": "Masked multi-head attention",
    "drop_shortcut": "Dropout", "shortcut": "Shortcut (add)", "norm2": "LayerNorm 2",
    "ff": "Feed forward (with GELU)", "final_norm": "Final LayerNorm",
    "out_head": "Linear output layer",
}


def component_info(cfg: GPTConfig | Mapping[str, Any], num_tokens: int,
                   batch_size: int = 1) -> list[dict[str, Any]]:
    """Every component of figure 4.15 in the order the data flows, for `num_tokens` tokens.

    One dict per component: `key` (the attribute name: tok_emb, pos_emb, drop_emb, norm1, att,
    drop_shortcut, shortcut, norm2, ff, final_norm, out_head), `path` (its module in GPTModel,
    e.g. "trf_blocks.3.att"; None for a shortcut, which is an addition), `label` (the figure's
    wording), `block` (the block index, None outside the blocks), `params`, `param_bytes` and
    `param_mb` (float32), `buffer_bytes` (the causal mask each attention keeps), `input_shape`
    and `output_shape` as tuples (`(1, 12, 768)` style; token IDs and positions are integer
    inputs), `inner_shapes` (attention: queries/keys/values and weights; feed-forward: the 4x
    hidden layer), and `section` (where the book explains it). Each block contributes eight
    entries: norm1, att, drop_shortcut, shortcut, norm2, ff, drop_shortcut, shortcut.
    """
    cfg = GPTConfig.coerce(cfg)
    for name, value in (("num_tokens", num_tokens), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if num_tokens > cfg.context_length:
        raise ValueError(f"{num_tokens} tokens do not fit the model's context_length of "
                         f"{cfg.context_length}")
    b, t, d = batch_size, num_tokens, cfg.emb_dim
    hidden = (b, t, d)
    block = _block_params(cfg)
    entries: list[dict[str, Any]] = []

    def add(key, path, params, inp, out, block_index=None, buffer_bytes=0, inner=None):
        entries.append({
            "key": key, "path": path, "label": LABELS[key], "block": block_index,
            "params": params, "param_bytes": params * FLOAT32_BYTES,
            "param_mb": params * FLOAT32_BYTES / MB, "buffer_bytes": buffer_bytes,
            "input_shape": inp, "output_shape": out, "inner_shapes": inner or {},
            "section": SECTIONS[key],
        })

    add("tok_emb", "tok_emb", cfg.vocab_size * d, (b, t), hidden)
    add("pos_emb", "pos_emb", cfg.context_length * d, (t,), (t, d))
    add("drop_emb", "drop_emb", 0, hidden, hidden)  # on tok_emb + pos_emb, broadcast
    heads = (b, cfg.n_heads, t, cfg.head_dim)
    mask_bytes = cfg.context_length * cfg.context_length * FLOAT32_BYTES
    for i in range(cfg.n_layers):
        prefix = f"trf_blocks.{i}"
        add("norm1", f"{prefix}.norm1", block["norm1"], hidden, hidden, i)
        add("att", f"{prefix}.att", block["att"], hidden, hidden, i, buffer_bytes=mask_bytes,
            inner={"queries": heads, "keys": heads, "values": heads,
                   "attn_weights": (b, cfg.n_heads, t, t)})
        add("drop_shortcut", f"{prefix}.drop_shortcut", 0, hidden, hidden, i)
        add("shortcut", None, 0, hidden, hidden, i)
        add("norm2", f"{prefix}.norm2", block["norm2"], hidden, hidden, i)
        add("ff", f"{prefix}.ff", block["ff"], hidden, hidden, i,
            inner={"hidden": (b, t, 4 * d)})
        add("drop_shortcut", f"{prefix}.drop_shortcut", 0, hidden, hidden, i)
        add("shortcut", None, 0, hidden, hidden, i)
    add("final_norm", "final_norm", 2 * d, hidden, hidden)
    add("out_head", "out_head", d * cfg.vocab_size, hidden, (b, t, cfg.vocab_size))
    return entries
