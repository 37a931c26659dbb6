"""Saving and loading models safely (chapter 5's save/load, without pickle).

The app's own checkpoint is one `.safetensors` file holding the weights and, in its header, the
config and free-form metadata (training curve, corpus, command); a readable `.json` copy of the
metadata is written beside it. Writes go to a temporary file that is renamed into place, so a
crash mid-save leaves the previous file intact. State dicts saved by the book's code (`.pth`)
load with `weights_only=True`, never unpickling code. Before a model is built, its config is
checked against the file's tensors and a memory budget, so a small file cannot ask for a huge
model. Every failure raises `CheckpointError` naming what is wrong; the caller's current model
is untouched. Temporaries left by killed saves are cleared at the next save into their folder.

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


#: A temporary file of a save left this long is debris: a save takes seconds to a minute.
STALE_TMP_SECONDS = 3600
# Only the app's own temporaries: ".<target>.[<pid>-]<8 mkstemp characters>.tmp" for the two
# kinds of file it writes this way (older versions wrote no pid).
_TMP_RE = re.compile(r"^\.(?P<target>.+\.(?:safetensors|json))\.(?:(?P<pid>\d+)-)?"
                     r"[a-z0-9_]{8}\.tmp$")


def _process_gone(pid: int) -> bool:
    if os.name != "posix" or pid == os.getpid():
        return False  # on Windows os.kill(pid, 0) would signal the process, not probe it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # it exists (another user's) or cannot be asked: keep its file
    return False


def remove_stale_temp_files(folder: Path, now: float | None = None) -> list[Path]:
    """Delete what killed saves left in `folder`: the app's own temporary files that are over
    STALE_TMP_SECONDS old, or whose writer (the pid in the name) no longer runs on this computer
    and that have not changed for a minute. The age guard keeps a save still running in another
    process or on another computer sharing the folder safe; the pid makes a crashed save's
    debris go at the next save instead of an hour later. Returns the files removed."""
    import time

    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if not m:
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
            pid = m.group("pid")
            if age > STALE_TMP_SECONDS or (pid and age > 60 and _process_gone(int(pid))):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue  # gone already, or not ours to remove: the save goes on
    return removed


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and rename it over `path`; first clear
    the debris of earlier saves there that were killed midway (`remove_stale_temp_files`)."""
    path = Path(path)
    remove_stale_temp_files(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp",
                               dir=path.parent)
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


def _shape_problems(expected: Mapping[str, tuple[int, ...]],
                    state_dict: Mapping[str, torch.Tensor]) -> list[str]:
    """What keeps `state_dict` from fitting a model whose tensors have `expected` shapes."""
    missing = [k for k in expected if k not in state_dict and not _is_mask_key(k)]
    unexpected = [k for k in state_dict if k not in expected and not _is_mask_key(k)]
    wrong = [f"{k}: file {tuple(state_dict[k].shape)} vs model {tuple(expected[k])}"
             for k in expected if k in state_dict and not _is_mask_key(k)
             and tuple(state_dict[k].shape) != tuple(expected[k])]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensors (e.g. {', '.join(missing[:3])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensors (e.g. {', '.join(unexpected[:3])})")
    if wrong:
        problems.append("wrong shapes: " + "; ".join(wrong[:3]))
    return problems


def load_weights(model: GPTModel, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Load a state dict by the book's names, checking every key and shape first.

    Only causal-mask buffers may be missing or extra; anything else is named in the error and
    the model is left as it was.
    """
    own = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    problems = _shape_problems(own, state_dict)
    if problems:
        raise CheckpointError("the weights do not fit this model: " + " / ".join(problems))
    weights = {k: v for k, v in state_dict.items() if not _is_mask_key(k)}
    model.load_state_dict(weights, strict=False)


def infer_config(state_dict: Mapping[str, torch.Tensor], n_heads: int | None = None,
                 drop_rate: float = 0.0) -> GPTConfig:
    """Read a GPT config off the tensor shapes of a book-layout state dict.

    Heads cannot be seen in shapes: without `n_heads`, GPT-2's 64-dimensional heads are assumed.
    """
    for name in ("tok_emb.weight", "pos_emb.weight"):
        if name not in state_dict:
            raise CheckpointError(
                f"not a GPT state dict in the book's layout: no tensor named {name!r}")
        if state_dict[name].ndim != 2:
            raise CheckpointError(f"{name} should be a matrix (rows, emb_dim) but has shape "
                                  f"{tuple(state_dict[name].shape)}")
    vocab_size, emb_dim = state_dict["tok_emb.weight"].shape
    context_length = state_dict["pos_emb.weight"].shape[0]
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


def machine_memory_bytes() -> int | None:
    """Physical memory of this computer, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _human(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} GiB"


#: Memory a model may take beyond twice its file's tensors (float16 files double in float32).
MEMORY_ALLOWANCE = 512 * 2**20
_BLOCK_KEY = re.compile(r"trf_blocks\.(\d+)\.")


def _model_layout(cfg: GPTConfig) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]],
                                             int, int]:
    """Shapes of GPTModel(cfg)'s tensors without allocating any: (top-level names -> shape,
    names inside one block -> shape, bytes outside the blocks, bytes of one block)."""
    # A model on the meta device has shapes but no storage; one block stands for all of them.
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        probe = GPTModel(cfg.replace(n_layers=1))
    top, block = {}, {}
    top_bytes = block_bytes = 0
    for name, tensor in probe.state_dict(keep_vars=True).items():
        nbytes = tensor.numel() * tensor.element_size()
        if name.startswith("trf_blocks.0."):
            block[name[len("trf_blocks.0."):]] = tuple(tensor.shape)
            block_bytes += nbytes
        else:
            top[name] = tuple(tensor.shape)
            top_bytes += nbytes
    return top, block, top_bytes, block_bytes


def check_fits_file(cfg: GPTConfig, state_dict: Mapping[str, torch.Tensor], name: str = "the file"
                    ) -> None:
    """Refuse, before anything is allocated, a config the file's tensors do not back.

    The embeddings must have the config's shapes (vocabulary, context, width), the blocks must
    be exactly trf_blocks.0 to n_layers - 1, every tensor must be floating point, and the
    model must fit a memory budget: twice the file's tensor bytes plus `MEMORY_ALLOWANCE`,
    never more than this computer's memory. A few hundred bytes of header cannot ask for
    gigabytes this way.
    """
    fault = f"{name} does not fit its config: "
    for key, tensor in state_dict.items():
        if not _is_mask_key(key) and not tensor.is_floating_point():
            raise CheckpointError(f"{name}: tensor {key} holds {tensor.dtype}, but weights are "
                                  "floating point numbers")
    tok = state_dict.get("tok_emb.weight")
    pos = state_dict.get("pos_emb.weight")
    if tok is None or pos is None:
        raise CheckpointError(f"{name} is not a GPT state dict in the book's layout: no "
                              f"{'tok_emb' if tok is None else 'pos_emb'}.weight tensor")
    if tuple(tok.shape) != (cfg.vocab_size, cfg.emb_dim):
        raise CheckpointError(fault + f"vocab_size={cfg.vocab_size:,} and emb_dim="
                              f"{cfg.emb_dim:,} need tok_emb.weight of shape "
                              f"({cfg.vocab_size}, {cfg.emb_dim}), the file has "
                              f"{tuple(tok.shape)}")
    if tuple(pos.shape) != (cfg.context_length, cfg.emb_dim):
        rows = pos.shape[0] if pos.ndim else 0
        raise CheckpointError(fault + f"context_length={cfg.context_length:,} needs "
                              f"pos_emb.weight with {cfg.context_length:,} rows of "
                              f"{cfg.emb_dim}, the file has {tuple(pos.shape)} ({rows:,} rows)")
    layers = {int(m.group(1)) for k in state_dict if (m := _BLOCK_KEY.match(k))}
    if layers != set(range(cfg.n_layers)):
        if not layers:
            held = "no trf_blocks.N tensors"
        elif len(layers) == 1:
            held = f"only trf_blocks.{min(layers)}"
        else:
            held = (f"{len(layers):,} block indices from trf_blocks.{min(layers)} to "
                    f"{max(layers)}")
        raise CheckpointError(fault + f"n_layers={cfg.n_layers:,} needs trf_blocks.0 to "
                              f"{cfg.n_layers - 1:,}, the file holds {held}")
    top, block, top_bytes, block_bytes = _model_layout(cfg)
    expected = dict(top)
    for i in range(cfg.n_layers):
        expected.update({f"trf_blocks.{i}.{k}": shape for k, shape in block.items()})
    problems = _shape_problems(expected, state_dict)
    if problems:
        raise CheckpointError(fault + " / ".join(problems))
    need = top_bytes + cfg.n_layers * block_bytes
    file_bytes = sum(t.numel() * t.element_size() for t in state_dict.values())
    budget = 2 * file_bytes + MEMORY_ALLOWANCE
    if need > budget:
        masks = cfg.n_layers * cfg.context_length ** 2 * 4
        why = (f" (context_length={cfg.context_length:,} gives each of its {cfg.n_layers:,} "
               f"blocks a {cfg.context_length:,} x {cfg.context_length:,} causal mask)"
               if masks > need / 2 else "")
        raise CheckpointError(f"{name}: its config would take {_human(need)} of memory for "
                              f"{_human(file_bytes)} of weights{why}; refused above "
                              f"{_human(budget)} (twice the weights plus {_human(MEMORY_ALLOWANCE)})")
    total = machine_memory_bytes()
    if total is not None and need > total:
        raise CheckpointError(f"{name}: the model needs {_human(need)} of memory and this "
                              f"computer has {_human(total)}")
    for key, tensor in state_dict.items():
        if not _is_mask_key(key) and not torch.isfinite(tensor).all():
            raise CheckpointError(f"{name}: tensor {key} holds NaN or infinite values (a "
                                  "training run that diverged?), so the model cannot predict")


def _read_safetensors(path: Path):
    from safetensors import SafetensorError
    from safetensors.torch import load

    size = path.stat().st_size
    total = machine_memory_bytes()
    if total is not None and size > total:
        raise CheckpointError(f"{path.name} is {_human(size)}, more than this computer's memory "
                              f"({_human(total)})")
    data = path.read_bytes()
    try:
        tensors = load(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + header_len]).get("__metadata__", {}) or {}
    except (SafetensorError, ValueError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path.name} is not a readable safetensors file ({exc})") from None
    return tensors, header


def _weights_only_refusal(path: Path, exc: Exception) -> str:
    # torch's own text goes on to explain how to load the file unsafely; the learner gets what
    # the file holds instead, and no advice to run its code.
    found = re.search(r"GLOBAL ([\w.]+)", str(exc))
    what = f" (it refers to {found.group(1)})" if found else ""
    return (f"{path.name} holds Python objects other than tensors{what}, which could run code "
            "when opened; the app loads weights only and refused it. Open a file saved with "
            "torch.save(model.state_dict(), ...) or an app checkpoint (.safetensors)")


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
    import pickle

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "GLOBAL" in str(exc):
            raise CheckpointError(_weights_only_refusal(path, exc)) from None
        detail = str(exc).split("WeightsUnpickler error:")[-1].strip().splitlines()
        detail = [ln for ln in detail if ln.strip() and "weights_only" not in ln]
        raise CheckpointError(
            f"{path.name} could not be read as a PyTorch state dict: it is damaged or not a "
            f"PyTorch file ({detail[0].strip() if detail else 'unreadable pickle data'})"
        ) from None
    except Exception as exc:  # torch raises many types for corrupt or unsafe files
        lines = [ln for ln in str(exc).strip().splitlines() if "weights_only" not in ln]
        first = lines[0].strip() if lines else type(exc).__name__
        raise CheckpointError(
            f"{path.name} could not be read as a PyTorch state dict (weights only): {first}"
        ) from None
    # The book's chapter 5 also saves {"model_state_dict": ..., "optimizer_state_dict": ...}.
    if isinstance(obj, dict) and "model_state_dict" in obj:
        obj = obj["model_state_dict"]
    if not isinstance(obj, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
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


def _header_config(path: Path, header: Mapping[str, Any]) -> tuple[GPTConfig, dict]:
    """Config and meta from the app's safetensors header, or CheckpointError naming the fault."""
    try:
        raw = json.loads(header["config"])
        meta = json.loads(header.get("meta", "{}"))
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path.name} has a damaged config header: {exc}") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path.name} has a damaged config header: the config is "
                              f"{type(raw).__name__}, not a mapping of the book's keys")
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path.name} has a damaged header: its metadata is "
                              f"{type(meta).__name__}, not a mapping")
    try:
        return GPTConfig.from_dict(raw), meta
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{path.name} has a damaged config header: {exc}") from None


def load_checkpoint(path: str | os.PathLike, config: GPTConfig | Mapping[str, Any] | None = None,
                    n_heads: int | None = None) -> LoadedModel:
    """Load the app's checkpoint, a book-layout state dict (.pth / .safetensors), or GPT-2 in
    the Hugging Face layout (`model.safetensors`; see model.hf_gpt2).

    `config` overrides what the file says or what shapes suggest; `n_heads` helps inference.
    The config is checked against the file's tensors and a memory budget (`check_fits_file`)
    before the model is built; any fault, whatever its kind, is a `CheckpointError`.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file; choose the model "
                              "file inside it (.safetensors or .pth)")
    if not path.exists():
        raise CheckpointError(f"no such checkpoint file: {path}")
    if not path.is_file():
        raise CheckpointError(f"{path} is not a regular file (a device, pipe or socket), so it "
                              "is not a checkpoint")
    try:
        return _load_checkpoint(path, config, n_heads)
    except CheckpointError:
        raise
    except OSError as exc:
        raise CheckpointError(f"{path.name} cannot be read: {exc.strerror or exc}") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError,
            OverflowError, MemoryError) as exc:
        # A file that passes every check above yet fails here is still just a bad file.
        raise CheckpointError(f"{path.name} could not be loaded ({type(exc).__name__}: "
                              f"{exc})") from None


def _load_checkpoint(path: Path, config, n_heads: int | None) -> LoadedModel:
    meta: dict[str, Any] = {}
    if path.suffix == ".safetensors":
        state_dict, header = _read_safetensors(path)
        if header.get("format") == FORMAT and config is None:
            config, meta = _header_config(path, header)
    else:
        state_dict, header = _read_pth(path), {}
    _refuse_classifier(path, header, state_dict)
    state_dict = _from_hf_layout(path, state_dict, meta)
    if config is not None:
        try:
            cfg = GPTConfig.coerce(config)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"the config given for {path.name} is not valid: {exc}") from None
    else:
        cfg = infer_config(state_dict, n_heads)
    check_fits_file(cfg, state_dict, path.name)
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
