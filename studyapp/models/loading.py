"""The model manager's logic, without Qt: turning files and presets into `ModelEntry`s, checking
they fit the app, and describing them (config, parameters, memory, where they came from).

Files the manager opens: the app's own checkpoints (.safetensors with a config header), state
dicts saved by the book's chapter 4/5 code (.pth, including its converted GPT-2 files with
qkv_bias and context 1024), and GPT-2 in the Hugging Face layout (`model.safetensors`). Loading
goes through `model.checkpoint.load_checkpoint`; anything that does not fit raises
`CheckpointError` with the reason, and the caller keeps its current model.

Torch is imported inside the functions (the window paints before torch loads).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

from studyapp.models.entry import ModelEntry, entry_from_loaded, untrained_entry

GPT2_VOCAB = 50257
APP_FORMAT = "app checkpoint"
BOOK_FORMAT = "state dict in the book's layout"
HF_FORMAT = "GPT-2 in the Hugging Face layout"


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def human_count(n: int) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f}B"
    if n >= 1e6:
        return f"{n / 1e6:.2f}M"
    if n >= 1e3:
        return f"{n / 1e3:.1f}K"
    return str(n)


def _safetensors_header(path: Path) -> dict[str, Any]:
    # Opening a FIFO blocks until a writer comes: only a regular file is read here (the
    # checkpoint loader says what is wrong with anything else).
    try:
        if not path.is_file():
            return {}
        with open(path, "rb") as fh:
            size = int.from_bytes(fh.read(8), "little")
            if not 0 < size < 100_000_000:
                return {}
            return json.loads(fh.read(size)).get("__metadata__") or {}
    except (OSError, ValueError, UnicodeDecodeError):
        return {}


def estimated_bytes(cfg) -> int:
    """Memory a GPTModel of cfg holds: float32 parameters plus each block's causal mask."""
    from model.gpt import count_parameters

    return 4 * (count_parameters(cfg) + cfg.n_layers * cfg.context_length ** 2)


def check_fits(cfg) -> None:
    """Refuse a config the app cannot use: a vocabulary smaller than GPT-2's tokenizer, or a
    model bigger than most of this computer's memory."""
    from model import checkpoint
    from model.checkpoint import CheckpointError

    if cfg.vocab_size < GPT2_VOCAB:
        raise CheckpointError(
            f"its vocabulary has {cfg.vocab_size:,} tokens, fewer than the GPT-2 tokenizer's "
            f"{GPT2_VOCAB:,} that the labs use, so most token IDs would have no embedding")
    total = checkpoint.machine_memory_bytes()
    need = estimated_bytes(cfg)
    if total is not None and need > 0.75 * total:
        raise CheckpointError(f"it needs about {human_bytes(need)} of memory and this computer "
                              f"has {human_bytes(total)}")


def unique_name(name: str, taken: Sequence[str]) -> str:
    """`name`, or the first of "name (2)", "name (3)"... that is not `taken` (the labs name
    the models and classifiers they make this way too)."""
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def load_model_file(path: str | os.PathLike, n_heads: int | None = None,
                    taken_names: list[str] | None = None):
    """Load any supported file as a ModelEntry; CheckpointError says why a file does not fit."""
    from model.checkpoint import FORMAT, CheckpointError, load_checkpoint
    from model.hf_gpt2 import HFLayoutError


    path = Path(path)
    app_format = (path.suffix == ".safetensors"
                  and _safetensors_header(path).get("format") == FORMAT)
    try:
        loaded = load_checkpoint(path, n_heads=None if app_format else n_heads)
    except HFLayoutError as exc:
        raise CheckpointError(str(exc)) from None
    except (RuntimeError, MemoryError) as exc:  # e.g. out of memory while building the model
        raise CheckpointError(f"{path.name} could not be loaded: {exc}") from None
    check_fits(loaded.config)
    meta = dict(loaded.meta)
    if app_format:
        fmt = APP_FORMAT
    elif "layout" in meta:
        fmt = HF_FORMAT
    else:
        fmt = BOOK_FORMAT
    meta["format"] = fmt
    if not app_format:
        meta["heads"] = ("given when opening" if n_heads else
                         "inferred: GPT-2's 64-wide heads (the file does not record them)")
    name = unique_name(path.stem if path.stem != "model" else path.parent.name or path.stem,
                        taken_names or [])
    return ModelEntry(name=name, source=str(path), model=loaded.model, config=loaded.config,
                      meta=meta)


def untrained(preset: str, seed: int = 123, taken_names: list[str] | None = None):
    """A fresh model of a preset, refused (CheckpointError) if it would not fit in memory."""
    from model.config import get_preset


    check_fits(get_preset(preset))
    entry = untrained_entry(preset, seed)
    entry.name = unique_name(f"untrained {preset} (seed {seed})", taken_names or [])
    entry.meta["format"] = "fresh random weights"
    return entry


def bundled(taken_names: list[str] | None = None):
    from model.checkpoint import load_bundled


    entry = entry_from_loaded(load_bundled(), name=unique_name("bundled", taken_names or []))
    entry.meta.setdefault("format", APP_FORMAT)
    return entry


def source_text(entry) -> str:
    if entry.source == "untrained":
        return f"untrained ({entry.meta.get('preset', '?')}, seed {entry.meta.get('seed', '?')})"
    return entry.source


def details(entry) -> list[tuple[str, str]]:
    """(label, value) rows the manager shows for one model."""
    cfg = entry.config
    model = entry.model
    total = model.num_parameters()
    tied = model.num_parameters(exclude_output_head=True)
    rows = [
        ("Name", entry.name),
        ("Source", source_text(entry)),
    ]
    if "format" in entry.meta:
        rows.append(("Format", str(entry.meta["format"])))
    rows += [
        ("Parameters", f"{total:,} ({tied:,} without the output head, as GPT-2 counts with "
                       "weight tying)"),
        ("Memory", f"{human_bytes(model.memory_bytes())} (float32 weights and masks)"),
        ("Layers / heads", f"{cfg.n_layers} layers, {cfg.n_heads} heads of {cfg.head_dim}"),
        ("Embedding", f"{cfg.emb_dim}"),
        ("Context length", f"{cfg.context_length:,} tokens"),
        ("Vocabulary", f"{cfg.vocab_size:,}"),
        ("qkv_bias / drop_rate", f"{cfg.qkv_bias} / {cfg.drop_rate}"),
    ]
    if "heads" in entry.meta:
        rows.append(("Heads", str(entry.meta["heads"])))
    skip = {"format", "heads", "preset", "seed", "config"}
    for key, value in entry.meta.items():
        if key in skip:
            continue
        text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        rows.append((key.replace("_", " ").capitalize(),
                     text if len(text) <= 120 else text[:117] + "..."))
    return rows


def load_start_entries(remembered: str | None, n_heads: int | None = None
                       ) -> tuple[list[ModelEntry], str | None]:
    """The models the app starts with: the bundled one and, when the learner left the labs on
    another model file, that one too (last, to be made current). The second value says what
    went wrong, if anything, in words for the learner."""
    default, problem = load_default_entry()
    if not remembered:
        return [default], problem
    try:
        entry = load_model_file(remembered, n_heads=n_heads, taken_names=[default.name])
    except Exception as exc:  # noqa: BLE001 - whatever is wrong with the file, start on the
        # bundled model: a start-up that fails on every launch would leave the labs empty.
        reason = str(exc) or type(exc).__name__
        why = f"The model last used in the labs could not be loaded again ({reason}); " \
              f"the labs use {default.name} instead and will not try that file again"
        return [default], "; ".join(x for x in (problem, why) if x)
    return [default, entry], problem


def load_default_entry() -> tuple[ModelEntry, str | None]:
    """The bundled model, or an untrained one with the reason when it cannot be loaded."""
    from model.checkpoint import CheckpointError, load_bundled
    from model.tokenizer import get_tokenizer

    get_tokenizer()  # warm the cache in the background too
    try:
        return entry_from_loaded(load_bundled(), name="bundled"), None
    except CheckpointError as exc:
        return untrained_entry(), f"{exc}; the labs use an untrained model instead"
