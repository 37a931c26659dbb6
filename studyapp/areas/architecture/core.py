"""What the Architecture lab shows (chapter 4), as plain data, without Qt.

- The model map (figure 4.15, section 4.6): the loaded model's components in the order the data
  flows, one transformer block standing for all of them, each with its parameters, memory,
  shapes for the current text and the book's section (`map_components`, `component_rows`).
- The GPT-2 sizes table with weight tying (section 4.6: `sizes_rows`, `weight_tying_text`).
- The book's demos with editable inputs (sections 4.2 to 4.4): inputs parsed with every bad
  entry named (`parse_numbers`, `parse_sizes`), results beside the book's numbers
  (`layer_norm_view`, `shortcut_view`).
- The learner's text through the blocks (`run_blocks`): the logit lens (which token each block's
  output would predict, not in the book) and per-block statistics, with the small plots' specs
  (`STAT_PLOTS`, `stat_series`) and the lens grid's cells and hover text.

The chapter's computations live in `model.chapter4` and `model.inspect`; they and torch are
imported inside the functions, so building the lab never waits for torch on the GUI thread.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from studyapp.tokens import token_label

# -- the book's numbers, shown beside what the lab computes ------------------------------------
BOOK_SEED = 123
BOOK_LN_MEAN = (0.1324, 0.2170)  # section 4.2, per row of the Linear + ReLU output
BOOK_LN_VAR = (0.0231, 0.0398)
BOOK_LAYER_SIZES = (3, 3, 3, 3, 3, 1)  # section 4.4
BOOK_SAMPLE_INPUT = (1.0, 0.0, -1.0)
BOOK_GRADS_WITHOUT = (0.00020173587836325169, 0.00012011159560643137, 0.0007152039906941354,
                      0.0013988736318424344, 0.005049645435065031)
BOOK_GRADS_WITH = (0.22169792652130127, 0.20694106817245483, 0.32896995544433594,
                   0.2665732204914093, 1.3258540630340576)
BOOK_FF_INPUT = (2, 3, 768)  # section 4.3: x = torch.rand(2, 3, 768)

MAX_DEMO_LAYERS = 16  # the shortcut demo's network stays a demo
MAX_DEMO_WIDTH = 256
MAX_FF_EMB = 8192
MB = 1024 * 1024


# -- formatting ----------------------------------------------------------------------------------
def format_shape(shape: Sequence[int]) -> str:
    """(1, 12, 768) style, as PyTorch prints a size without the torch.Size wrapper."""
    dims = [str(int(d)) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def format_count(n: int) -> str:
    return f"{int(n):,}"


def format_mb(n_bytes: float) -> str:
    """The book's MB (bytes / 1024**2), two decimals."""
    return f"{n_bytes / MB:,.2f} MB"


# -- the model map (figure 4.15) -------------------------------------------------------------------
DESCRIPTIONS: dict[str, str] = {
    "tok_emb": "Looks up one learned vector per token ID: a table of vocab_size rows.",
    "pos_emb": "Adds one learned vector per position, so the model knows the order of tokens.",
    "drop_emb": "Randomly zeroes embedding values while training (none at inference).",
    "norm1": "Rescales each token's vector to mean 0 and variance 1, then applies the learned "
             "scale and shift, before attention.",
    "att": "Every token gathers information from itself and the tokens before it "
           "(the causal mask hides the later ones), in n_heads heads at once.",
    "drop_shortcut": "Randomly zeroes values of the sub-layer's output while training.",
    "shortcut": "Adds the sub-layer's input back to its output: the residual stream, which "
                "lets gradients flow around the layer.",
    "norm2": "Normalises each token's vector again, before the feed-forward network.",
    "ff": "Per token: Linear to 4 x emb_dim, GELU, Linear back to emb_dim.",
    "final_norm": "Normalises the last block's output before the output layer.",
    "out_head": "Projects each token's vector to one logit per vocabulary entry: the scores "
                "of the next token.",
}


@dataclass(frozen=True)
class MapComponent:
    """One box (or one shortcut addition) of the model map."""

    key: str  # tok_emb, pos_emb, ..., shortcut, out_head (as model.chapter4.component_info)
    label: str
    in_block: bool
    count: int  # how many copies the model has (n_layers for a block's parts)
    info: dict  # model.chapter4.component_info's entry (block 0's for the blocks' parts)


def map_components(cfg, num_tokens: int) -> list[MapComponent]:
    """Figure 4.15's components for `num_tokens` tokens, input first, one block for all."""
    from model.chapter4 import component_info

    num_tokens = max(1, min(int(num_tokens), cfg.context_length))
    out = []
    for info in component_info(cfg, num_tokens):
        block = info["block"]
        if block not in (None, 0):
            continue
        out.append(MapComponent(info["key"], info["label"], block is not None,
                                cfg.n_layers if block is not None else 1, info))
    return out


def _module_path(comp: MapComponent, n_layers: int) -> str:
    path = comp.info["path"]
    if path is None:
        return "x = x + shortcut (an addition, no module)"
    if comp.in_block:
        tail = path.split(".", 2)[2]
        return (f"trf_blocks[0].{tail}" if n_layers == 1 else
                f"trf_blocks[0 \u2026 {n_layers - 1}].{tail}")
    return path


def component_rows(comp: MapComponent) -> list[tuple[str, str]]:
    """(label, value) rows for a clicked component: module, parameters, memory, shapes, book."""
    info = comp.info
    rows = [("Module", _module_path(comp, comp.count)), ("What it does", DESCRIPTIONS[comp.key])]
    params = info["params"]
    if comp.in_block and comp.count > 1:
        rows.append(("Parameters", f"{format_count(params)} per block \u00d7 {comp.count} = "
                                   f"{format_count(params * comp.count)}"))
        rows.append(("Memory (float32)", f"{format_mb(info['param_bytes'])} per block, "
                                         f"{format_mb(info['param_bytes'] * comp.count)} in all"))
    else:
        rows.append(("Parameters", format_count(params)))
        rows.append(("Memory (float32)", format_mb(info["param_bytes"])))
    if info["buffer_bytes"]:
        rows.append(("Causal mask buffer", f"{format_mb(info['buffer_bytes'])} per block "
                                           "(context_length\u00b2 values, not trained)"))
    rows.append(("Input shape", format_shape(info["input_shape"])))
    for name, shape in info["inner_shapes"].items():
        rows.append((f"Inside: {name}", format_shape(shape)))
    rows.append(("Output shape", format_shape(info["output_shape"])))
    rows.append(("In the book", f"section {info['section']}"))
    return rows


# -- GPT-2 sizes and weight tying (section 4.6) ------------------------------------------------------
SIZE_COLUMNS = ("model", "layers", "emb_dim", "heads", "parameters", "with weight tying",
                "float32 size", "attention / block", "feed-forward / block")


def _size_row(name: str, cfg, split: dict) -> tuple[str, ...]:
    return (name, str(cfg.n_layers), format_count(cfg.emb_dim), str(cfg.n_heads),
            format_count(split["total"]), format_count(split["total_tied"]),
            format_mb(split["total"] * 4), format_count(split["per_block"]["att"]),
            format_count(split["per_block"]["ff"]))


def sizes_rows(cfg=None, name: str = "") -> list[tuple[str, ...]]:
    """The four GPT-2 sizes (the book's numbers, computed from their configs), then the loaded
    model's row when `cfg` is given."""
    from model.chapter4 import gpt2_sizes, parameter_split
    from model.config import GPTConfig

    rows = [_size_row(s["name"], GPTConfig.from_dict(s["config"]), s["split"])
            for s in gpt2_sizes()]
    if cfg is not None:
        rows.append(_size_row(f"This model: {name}" if name else "This model", cfg,
                              parameter_split(cfg)))
    return rows


def weight_tying_text() -> str:
    from model.chapter4 import gpt2_sizes

    small = gpt2_sizes()[0]
    split = small["split"]
    return (f"Weight tying (section 4.6): GPT-2 reuses the token embedding matrix tok_emb "
            f"({format_count(split['tok_emb'])} parameters) as its output layer. Counting the "
            f"separate out_head, GPT-2 small has {format_count(small['params'])} parameters; "
            f"with the two tied it has {format_count(small['params_tied'])}, the \u201c124M\u201d "
            f"of its name. The book keeps them separate, which trains better; "
            f"float32 size = parameters \u00d7 4 bytes / 1024\u00b2 "
            f"({small['mb']:,.2f} MB for small).")


# -- the book's demos, with the learner's inputs ---------------------------------------------------
def parse_numbers(text: str, what: str) -> list[float]:
    """'1, 0, -1' -> [1.0, 0.0, -1.0]; a bad entry is named ("input: 'x' is not a number")."""
    parts = [p for p in re.split(r"[\s,;]+", text.strip().strip("[]()")) if p]
    if not parts:
        raise ValueError(f"{what}: give at least one number")
    values = []
    for i, part in enumerate(parts, start=1):
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"{what}: entry {i}, {part!r}, is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"{what}: entry {i}, {part!r}, is not a finite number")
        values.append(value)
    return values


def parse_sizes(text: str, what: str = "layer sizes") -> list[int]:
    values = parse_numbers(text, what)
    sizes = []
    for i, value in enumerate(values, start=1):
        if value != int(value) or not 1 <= value <= MAX_DEMO_WIDTH:
            raise ValueError(f"{what}: entry {i}, {value:g}, must be a whole number from 1 to "
                             f"{MAX_DEMO_WIDTH}")
        sizes.append(int(value))
    if len(sizes) < 2:
        raise ValueError(f"{what}: give at least two sizes (input and output of one layer)")
    if len(sizes) - 1 > MAX_DEMO_LAYERS:
        raise ValueError(f"{what}: at most {MAX_DEMO_LAYERS} layers ({MAX_DEMO_LAYERS + 1} sizes)")
    return sizes


def parse_batch(cells: Sequence[Sequence[str]]) -> list[list[float]]:
    """The LayerNorm demo's table: every cell a number; a bad cell is named by row and column."""
    rows = []
    for r, row in enumerate(cells, start=1):
        values = []
        for c, cell in enumerate(row, start=1):
            try:
                value = float(str(cell).strip())
            except ValueError:
                raise ValueError(f"row {r}, column {c}: {cell!r} is not a number") from None
            if not math.isfinite(value):
                raise ValueError(f"row {r}, column {c}: {cell!r} is not a finite number")
            values.append(value)
        rows.append(values)
    if not rows or not rows[0]:
        raise ValueError("the batch is empty")
    return rows


# The demos draw from torch's global generator after torch.manual_seed, as the book does. Each
# demo computes on its own worker thread; two at once would interleave their draws and neither
# would get the book's numbers, so they take turns.
_SEEDED_DRAWS = threading.Lock()


def book_batch() -> list[list[float]]:
    """Section 4.2's `batch_example = torch.randn(2, 5)` under `torch.manual_seed(123)`."""
    from model.chapter4 import layer_norm_demo

    with _SEEDED_DRAWS:
        return layer_norm_demo()["batch"]


def _matches(values: Sequence[float], book: Sequence[float], places: int = 4) -> bool:
    return len(values) == len(book) and all(round(v, places) == round(b, places)
                                            for v, b in zip(values, book))


def layer_norm_view(batch: Sequence[Sequence[float]] | None, seed: int = BOOK_SEED) -> dict:
    """Section 4.2 on the learner's batch: `model.chapter4.layer_norm_demo`'s dict plus
    `matches_book` (mean and variance as the book prints them, to 4 decimals)."""
    from model.chapter4 import layer_norm_demo

    with _SEEDED_DRAWS:
        out = layer_norm_demo(batch, seed=int(seed))
    out["matches_book"] = (_matches(out["mean"], BOOK_LN_MEAN)
                           and _matches(out["var"], BOOK_LN_VAR))
    return out


def shortcut_view(sizes: Sequence[int], sample_input: Sequence[float], target: float = 0.0,
                  seed: int = BOOK_SEED) -> dict:
    """Section 4.4 with and without shortcuts: mean |gradient| of each layer's weight."""
    from model.chapter4 import shortcut_gradients

    kwargs = dict(layer_sizes=list(sizes), sample_input=list(sample_input),
                  target=float(target), seed=int(seed))
    with _SEEDED_DRAWS:
        without = shortcut_gradients(False, **kwargs)
        with_ = shortcut_gradients(True, **kwargs)
    book = (tuple(sizes) == BOOK_LAYER_SIZES and tuple(sample_input) == BOOK_SAMPLE_INPUT
            and float(target) == 0.0 and int(seed) == BOOK_SEED)
    return {"without": without, "with": with_, "is_book_setup": book,
            "matches_book": book and _close(without, BOOK_GRADS_WITHOUT)
            and _close(with_, BOOK_GRADS_WITH)}


def feed_forward_steps(emb_dim: int, batch_size: int, num_tokens: int) -> list[dict]:
    """Section 4.3: the shapes through `FeedForward` for x of shape (batch, tokens, emb_dim).

    The module is built on the meta device (no memory) and its layers are read: each Linear
    sets the last dimension to its out_features, GELU keeps the shape. Running the layers on
    meta tensors would give the same shapes, but its first call loads PyTorch's meta kernels,
    about ten seconds. Steps as `model.chapter4.feed_forward_shapes`: name, module, shape,
    params.
    """
    import torch

    from model.config import GPTConfig
    from model.gpt import FeedForward

    for name, value in (("emb_dim", emb_dim), ("batch", batch_size), ("tokens", num_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive whole number, got {value!r}")
    with torch.device("meta"):
        ff = FeedForward(GPTConfig(emb_dim=emb_dim, n_heads=1))
    shape = (batch_size, num_tokens, emb_dim)
    steps = [{"name": "input", "module": "", "shape": shape, "params": 0}]
    for i, layer in enumerate(ff.layers):
        if isinstance(layer, torch.nn.Linear):
            shape = shape[:-1] + (layer.out_features,)
        steps.append({"name": f"layers.{i}", "module": type(layer).__name__, "shape": shape,
                      "params": sum(p.numel() for p in layer.parameters())})
    return steps


def _close(values: Sequence[float], book: Sequence[float], rel: float = 1e-5) -> bool:
    return len(values) == len(book) and all(math.isclose(v, b, rel_tol=rel)
                                            for v, b in zip(values, book))


# -- your text through the blocks ------------------------------------------------------------------
@dataclass
class BlocksRun:
    """The learner's text through the loaded model: the logit lens and per-block statistics."""

    model_name: str
    n_layers: int
    token_ids: list[int]
    labels: list[str]  # visible token labels (spaces as middle dots)
    truncated_from: int | None  # the text's token count when it was cut to the context
    top_ids: np.ndarray  # (n_layers, num_tokens, top_k), most probable first
    top_probs: np.ndarray  # (n_layers, num_tokens, top_k)
    stats: dict[str, list[float]]  # BlockStats.per_layer(): one float per block
    embed_norm: float  # mean |input embedding| over tokens (the stream before block 1)
    resid_norm_max: list[float]  # per block, the largest token's |residual stream|
    prediction: list[int] = field(default_factory=list)  # the model's own argmax per token

    @property
    def num_tokens(self) -> int:
        return len(self.token_ids)


def encode_for(cfg, tokenizer, text: str) -> tuple[list[int], int | None]:
    """Token IDs of `text`, cut to the model's context (first tokens kept), and the original
    count when cut. Empty text gives <|endoftext|> so there is always a token to look at."""
    ids = tokenizer.encode(text) if text.strip() else []
    if not ids:
        from model.tokenizer import ENDOFTEXT_ID

        ids = [ENDOFTEXT_ID]
    if len(ids) > cfg.context_length:
        return ids[: cfg.context_length], len(ids)
    return ids, None


def run_blocks(model, tokenizer, text: str, model_name: str = "", top_k: int = 5) -> BlocksRun:
    """Run `text` through `model` once, reading out the lens and the statistics of every block."""
    import torch

    from model.inspect import inspect_blocks

    ids, truncated = encode_for(model.cfg, tokenizer, text)
    top_k = min(top_k, model.cfg.vocab_size)
    idx = torch.tensor([ids])  # (1, num_tokens)
    result = inspect_blocks(model, idx, top_k=top_k)
    lens, stats = result.lens, result.stats
    top_ids = lens.top_ids[:, 0].numpy()  # (n_layers, num_tokens, top_k)
    top_probs = lens.top_probs[:, 0].float().numpy()
    return BlocksRun(
        model_name=model_name, n_layers=lens.n_layers, token_ids=list(ids),
        labels=[token_label(i)[0] for i in ids], truncated_from=truncated,
        top_ids=top_ids, top_probs=top_probs, stats=stats.per_layer(),
        embed_norm=float(stats.embed_norm.mean()),
        resid_norm_max=stats.resid_norm[:, 0].amax(dim=-1).tolist(),
        prediction=top_ids[-1, :, 0].tolist(),
    )


def lens_cell(run: BlocksRun, layer: int, position: int) -> tuple[str, float]:
    """What the stream after block `layer` would predict after token `position`: label, prob."""
    return token_label(int(run.top_ids[layer, position, 0]))[0], float(
        run.top_probs[layer, position, 0])


def layer_name(run: BlocksRun, layer: int) -> str:
    name = f"after block {layer + 1}"
    return name + " = the model's output" if layer == run.n_layers - 1 else name


def lens_tooltip(run: BlocksRun, layer: int, position: int) -> list[tuple[str, float]]:
    """The top-k (label, probability) pairs of one cell, most probable first."""
    return [(token_label(int(i))[0], float(p))
            for i, p in zip(run.top_ids[layer, position], run.top_probs[layer, position])]


@dataclass(frozen=True)
class StatPlot:
    key: str
    title: str
    y_label: str
    tip: str
    series: tuple[tuple[str, str], ...]  # (statistic key, legend name)
    log_y: bool = False
    from_embeddings: bool = False  # starts at block 0: the input embeddings, before block 1


def _norm_series(statistic: str) -> tuple[tuple[str, str], ...]:
    """One statistic of what enters and leaves both LayerNorms of a block."""
    return tuple((f"{norm}_{side}_{statistic}", f"{norm} {side}")
                 for norm in ("norm1", "norm2") for side in ("in", "out"))


# The small plots of "Your text through the blocks", as data: what each shows and where the book
# explains the thing measured.
STAT_PLOTS: tuple[StatPlot, ...] = (
    StatPlot("resid", "Residual stream size", "|x| per token",
             "The length of each token's vector in the residual stream after every block "
             "(block 0: the input embeddings). Each shortcut adds the block's work to the "
             "stream (chapter 4, sections 4.4 and 4.5), so it tends to grow.",
             (("resid_norm", "mean over tokens"), ("resid_norm_max", "largest token")),
             from_embeddings=True),
    StatPlot("ln_var", "LayerNorm variance in and out", "variance (log)",
             "Variance over the embedding dimension of what enters each LayerNorm and of what "
             "leaves it (chapter 4, section 4.2). Normalising gives variance 1; the learned "
             "scale and shift then move it.",
             _norm_series("var"), log_y=True),
    StatPlot("ln_mean", "LayerNorm mean in and out", "mean",
             "Mean over the embedding dimension of what enters each LayerNorm and of what "
             "leaves it (chapter 4, section 4.2): about 0 after normalising, then moved by "
             "the learned shift.",
             _norm_series("mean")),
    StatPlot("ratio", "Update against shortcut", "|output| / |shortcut|",
             "How large the attention output and the feed-forward output are against the "
             "shortcut they are added to (chapter 4, sections 4.4 and 4.5): below 1, the "
             "block edits the stream rather than replacing it.",
             (("att_ratio", "attention"), ("ff_ratio", "feed forward"))),
    StatPlot("gelu", "GELU inputs below zero", "fraction of hidden units",
             "The fraction of the feed-forward network's 4 x emb_dim hidden units whose input "
             "to GELU is negative (chapter 4, section 4.3): where ReLU would output exactly 0, "
             "GELU gives a small negative value and a gradient.",
             (("gelu_negative", "below zero"),)),
)


def stat_series(run: BlocksRun, plot: StatPlot) -> tuple[list[int], list[tuple[str, list[float]]]]:
    """x (block numbers) and the named series of one of the small plots."""
    blocks = list(range(1, run.n_layers + 1))
    values = dict(run.stats, resid_norm_max=run.resid_norm_max)
    if plot.from_embeddings:  # block 0: the stream before block 1, the input embeddings
        return [0] + blocks, [(name, [run.embed_norm] + list(values[key]))
                              for key, name in plot.series]
    return blocks, [(name, list(values[key])) for key, name in plot.series]


def run_summary(run: BlocksRun) -> str:
    cut = (f" (cut from {run.truncated_from:,} to the model's context of {run.num_tokens:,})"
           if run.truncated_from else "")
    return (f"{run.num_tokens:,} tokens{cut} through {run.n_layers} transformer blocks of "
            f"{run.model_name or 'the model'}")


def describe(value: Any) -> str:
    """A probability as the lens shows it: 3 decimals, or scientific when tiny."""
    p = float(value)
    return f"{p:.3f}" if p >= 0.001 or p == 0 else f"{p:.1e}"
