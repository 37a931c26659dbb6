"""Saving and loading models safely (chapter 5's save/load, without pickle).

The app's own checkpoint is one `.safetensors` file holding the weights and, in its header, the
config and free-form metadata (training curve, corpus, command); a readable `.json` copy of the
metadata is written beside it. Writes go to a temporary file that is renamed into place, so a
crash mid-save leaves the previous file intact. State dicts saved by the book's code (`.pth`)
load with `weights_only=True`, never unpickling code. Every failure raises `CheckpointError`
naming what is wrong; the caller's current model is untouched.

A file also says what kind of model it holds (`KIND_LANGUAGE_MODEL`, or `KIND_CLASSIFIER` for
chapter 6's classifiers, saved by `model.classify`): `checkpoint_kind` reads it from the header
alone, and `load_checkpoint` refuses a classifier, whose head predicts classes, not tokens.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch

from model.config import GPTConfig
from model.gpt import GPTModel

FORMAT = "studyapp-gpt/1"
BUNDLED_NAME = "bundled.safetensors"
KIND_LANGUAGE_MODEL = "language-model"
KIND_CLASSIFIER = "classifier"


class CheckpointError(ValueError):
    """A checkpoint could not be read or does not fit; the message says why."""


class NotALanguageModelError(CheckpointError):
    """The file holds a classifier (chapter 6), which cannot generate text."""


@dataclass
class LoadedModel:
    model: GPTModel
    config: GPTConfig
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def _is_mask_key(key: str) -> bool:
    # Causal masks are derived from the config, not learnt; checkpoints need not carry them.
    return key.endswith(".att.mask")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and rename it over `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_checkpoint(model: GPTModel, path: str | os.PathLike, meta: Mapping[str, Any] | None = None,
                    kind: str = KIND_LANGUAGE_MODEL) -> Path:
    """Save weights + config + meta to `path` (.safetensors) atomically; returns the path."""
    from safetensors.torch import save

    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_suffix(".safetensors")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CheckpointError(f"cannot create folder {path.parent}: {exc.strerror}") from exc
    tensors = {k: v.detach().to("cpu").contiguous()
               for k, v in model.state_dict().items() if not _is_mask_key(k)}
    header = {"format": FORMAT, "config": json.dumps(model.cfg.to_dict()),
              "meta": json.dumps(dict(meta or {}))}
    sidecar = {"format": FORMAT, "config": model.cfg.to_dict(), "meta": dict(meta or {})}
    if kind != KIND_LANGUAGE_MODEL:  # language models keep the header they always had
        header["kind"] = sidecar["kind"] = kind
    try:
        atomic_write_bytes(path, save(tensors, metadata=header))
        atomic_write_bytes(path.with_suffix(".json"),
                           json.dumps(sidecar, indent=2).encode("utf-8"))
    except OSError as exc:
        raise CheckpointError(f"cannot write checkpoint {path}: {exc.strerror or exc}") from exc
    return path


def load_weights(model: GPTModel, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Load a state dict by the book's names, checking every key and shape first.

    Only causal-mask buffers may be missing or extra; anything else is named in the error and
    the model is left as it was.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict and not _is_mask_key(k)]
    unexpected = [k for k in state_dict if k not in own and not _is_mask_key(k)]
    wrong = [f"{k}: file {tuple(state_dict[k].shape)} vs model {tuple(own[k].shape)}"
             for k in own if k in state_dict and not _is_mask_key(k)
             and tuple(state_dict[k].shape) != tuple(own[k].shape)]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensors (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensors (e.g. {', '.join(unexpected[:3])})")
    if wrong:
        problems.append("wrong shapes: " + "; ".join(wrong[:3]))
    if problems:
        raise CheckpointError("the weights do not fit this model: " + " / ".join(problems))
    weights = {k: v for k, v in state_dict.items() if not _is_mask_key(k)}
    model.load_state_dict(weights, strict=False)


def infer_config(state_dict: Mapping[str, torch.Tensor], n_heads: int | None = None,
                 drop_rate: float = 0.0) -> GPTConfig:
    """Read a GPT config off the tensor shapes of a book-layout state dict.

    Heads cannot be seen in shapes: without `n_heads`, GPT-2's 64-dimensional heads are assumed.
    """
    try:
        vocab_size, emb_dim = state_dict["tok_emb.weight"].shape
        context_length = state_dict["pos_emb.weight"].shape[0]
    except KeyError as exc:
        raise CheckpointError(
            f"not a GPT state dict in the book's layout: no tensor named {exc.args[0]!r}"
        ) from None
    layers = {int(m.group(1)) for k in state_dict if (m := re.match(r"trf_blocks\.(\d+)\.", k))}
    if not layers:
        raise CheckpointError("not a GPT state dict: no trf_blocks.N tensors")
    qkv_bias = "trf_blocks.0.att.W_query.bias" in state_dict
    if n_heads is None:
        n_heads = max(1, emb_dim // 64) if emb_dim % 64 == 0 else 1
    try:
        return GPTConfig(vocab_size=int(vocab_size), context_length=int(context_length),
                         emb_dim=int(emb_dim), n_heads=int(n_heads), n_layers=max(layers) + 1,
                         drop_rate=drop_rate, qkv_bias=qkv_bias)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None


def _read_safetensors(path: Path):
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        data = path.read_bytes()
        tensors = load(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + header_len]).get("__metadata__", {}) or {}
    except (SafetensorError, ValueError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path.name} is not a readable safetensors file ({exc})") from None
    return tensors, header


def read_header(path: str | os.PathLike) -> dict[str, str]:
    """The metadata of a .safetensors file, without reading its tensors ({} if it has none)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            header_len = int.from_bytes(fh.read(8), "little")
            if not 0 < header_len < 100_000_000:
                raise ValueError("bad header length")
            header = json.loads(fh.read(header_len))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path.name} is not a readable safetensors file ({exc})") from None
    return header.get("__metadata__", {}) or {}


def checkpoint_kind(path: str | os.PathLike) -> str:
    """KIND_CLASSIFIER or KIND_LANGUAGE_MODEL (anything without a kind is a language model)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        return KIND_LANGUAGE_MODEL
    return read_header(path).get("kind", KIND_LANGUAGE_MODEL)


def _refuse_classifier(path: Path, header: Mapping[str, str], state_dict: Mapping) -> None:
    if header.get("kind") == KIND_CLASSIFIER:
        try:
            labels = json.loads(header.get("meta", "{}")).get("classifier", {}).get("labels", [])
        except (ValueError, AttributeError):
            labels = []
        named = f" ({', '.join(map(str, labels))})" if labels else ""
        raise NotALanguageModelError(
            f"{path.name} is a classifier{named}: its head predicts classes, not the next "
            "token, so it cannot generate text; open it in the Classify lab")
    head, emb = state_dict.get("out_head.weight"), state_dict.get("tok_emb.weight")
    if head is not None and emb is not None and head.shape[0] < emb.shape[0]:
        raise NotALanguageModelError(
            f"{path.name} looks like a classifier (its output head has {head.shape[0]} "
            f"outputs, not one per token of the {emb.shape[0]:,}-token vocabulary), so it "
            "cannot generate text; open it in the Classify lab")


def _read_pth(path: Path) -> dict[str, torch.Tensor]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt or unsafe files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path.name} could not be read as a PyTorch state dict (weights only): {first}"
        ) from None
    # The book's chapter 5 also saves {"model_state_dict": ..., "optimizer_state_dict": ...}.
    if isinstance(obj, dict) and "model_state_dict" in obj:
        obj = obj["model_state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path.name} does not hold a state dict of tensors")
    return obj


def _from_hf_layout(path: Path, state_dict: dict, meta: dict) -> dict:
    # GPT-2 in the Hugging Face layout (wte, h.N.attn.c_attn, ...) is renamed to the book's.
    from model.hf_gpt2 import HFLayoutError, hf_to_book, is_hf_gpt2

    if not is_hf_gpt2(state_dict):
        return state_dict
    try:
        converted = hf_to_book(state_dict)
    except HFLayoutError as exc:
        raise CheckpointError(f"{path.name} looks like GPT-2 in the Hugging Face layout, but "
                              f"{exc}") from None
    meta.setdefault("layout", "Hugging Face GPT-2 (mapped onto the book's names)")
    return converted


def load_checkpoint(path: str | os.PathLike, config: GPTConfig | Mapping[str, Any] | None = None,
                    n_heads: int | None = None) -> LoadedModel:
    """Load the app's checkpoint, a book-layout state dict (.pth / .safetensors), or GPT-2 in
    the Hugging Face layout (`model.safetensors`; see model.hf_gpt2).

    `config` overrides what the file says or what shapes suggest; `n_heads` helps inference.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no such checkpoint file: {path}")
    meta: dict[str, Any] = {}
    if path.suffix == ".safetensors":
        state_dict, header = _read_safetensors(path)
        if header.get("format") == FORMAT and config is None:
            try:
                config = GPTConfig.from_dict(json.loads(header["config"]))
                meta = json.loads(header.get("meta", "{}"))
            except (KeyError, ValueError) as exc:
                raise CheckpointError(f"{path.name} has a damaged config header: {exc}") from None
    else:
        state_dict, header = _read_pth(path), {}
    _refuse_classifier(path, header, state_dict)
    state_dict = _from_hf_layout(path, state_dict, meta)
    cfg = GPTConfig.coerce(config) if config is not None else infer_config(state_dict, n_heads)
    model = GPTModel(cfg)
    load_weights(model, state_dict)
    model.eval()
    return LoadedModel(model=model, config=cfg, meta=meta, source=str(path))


def bundled_path() -> Path:
    from model.resources import resource_path

    return resource_path("checkpoints", BUNDLED_NAME)


def load_bundled() -> LoadedModel:
    """The small pretrained GPT the app ships (see resources/checkpoints/README.md)."""
    path = bundled_path()
    if not path.is_file():
        raise CheckpointError(f"the bundled checkpoint is missing ({path}); reinstall the app")
    loaded = load_checkpoint(path)
    loaded.source = "bundled"
    return loaded
