"""GPT-2 weights in the Hugging Face layout, mapped onto the book's names (chapter 5, section 5.5).

OpenAI's GPT-2 (and the `model.safetensors` of Hugging Face's gpt2, gpt2-medium, gpt2-large,
gpt2-xl) name tensors `wte`, `wpe`, `h.N.ln_1`, `h.N.attn.c_attn`, `h.N.attn.c_proj`, `h.N.ln_2`,
`h.N.mlp.c_fc`, `h.N.mlp.c_proj`, `ln_f`, sometimes under a `transformer.` prefix. Their linear
layers are `Conv1D` modules storing weights as (in, out), the transpose of `nn.Linear`; `c_attn`
holds query, key and value side by side; the output head is tied to `wte`. Chapter 5 loads them
into `GPTModel` by splitting `c_attn` in three and transposing; `hf_to_book` does the same,
producing a state dict by the book's names that `model.checkpoint.load_weights` then checks.

The config follows from the shapes (vocabulary and embedding size from `wte`, context from `wpe`,
layers from the `h.N` count), with `qkv_bias=True` because GPT-2 has query/key/value biases.
Heads cannot be seen in shapes; GPT-2's are all 64 wide, which is assumed unless told.
"""

from __future__ import annotations

import re
from typing import Mapping

import torch

from model.config import GPTConfig

# HF-only buffers: the causal mask ("bias") and a constant ("masked_bias"); not weights.
_BUFFERS = re.compile(r"^h\.\d+\.attn\.(bias|masked_bias)$")
# Per block: HF name -> (book name, transpose?). c_attn is split separately.
_BLOCK_MAP = {
    "ln_1.weight": ("norm1.scale", False),
    "ln_1.bias": ("norm1.shift", False),
    "attn.c_proj.weight": ("att.out_proj.weight", True),
    "attn.c_proj.bias": ("att.out_proj.bias", False),
    "ln_2.weight": ("norm2.scale", False),
    "ln_2.bias": ("norm2.shift", False),
    "mlp.c_fc.weight": ("ff.layers.0.weight", True),
    "mlp.c_fc.bias": ("ff.layers.0.bias", False),
    "mlp.c_proj.weight": ("ff.layers.2.weight", True),
    "mlp.c_proj.bias": ("ff.layers.2.bias", False),
}
_TOP_MAP = {
    "wte.weight": "tok_emb.weight",
    "wpe.weight": "pos_emb.weight",
    "ln_f.weight": "final_norm.scale",
    "ln_f.bias": "final_norm.shift",
}


class HFLayoutError(ValueError):
    """The tensors look like Hugging Face GPT-2 but something is missing or misshapen."""


def _strip(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state_dict.items():
        out[key[len("transformer."):] if key.startswith("transformer.") else key] = value
    return out


def is_hf_gpt2(state_dict: Mapping[str, object]) -> bool:
    """True when the tensor names are GPT-2's Hugging Face ones (`transformer.` prefix or not)."""
    keys = set(_strip(dict.fromkeys(state_dict)))  # type: ignore[arg-type]
    return "wte.weight" in keys and "wpe.weight" in keys and any(
        k.startswith("h.0.") for k in keys)


def _layers(state_dict: Mapping[str, torch.Tensor]) -> int:
    found = {int(m.group(1)) for k in state_dict if (m := re.match(r"h\.(\d+)\.", k))}
    if not found:
        raise HFLayoutError("no transformer blocks (h.N tensors) in the file")
    missing = sorted(set(range(max(found) + 1)) - found)
    if missing:
        raise HFLayoutError(f"blocks {missing[:5]} are missing (the file holds h.0 to "
                            f"h.{max(found)} with gaps)")
    return max(found) + 1


def infer_hf_config(state_dict: Mapping[str, torch.Tensor], n_heads: int | None = None,
                    drop_rate: float = 0.0) -> GPTConfig:
    """GPTConfig from the shapes of a Hugging Face GPT-2 state dict."""
    sd = _strip(state_dict)
    try:
        vocab_size, emb_dim = sd["wte.weight"].shape
        context_length = sd["wpe.weight"].shape[0]
    except (KeyError, ValueError) as exc:
        raise HFLayoutError(f"wte/wpe embeddings missing or not 2-D ({exc})") from None
    if n_heads is None:
        n_heads = emb_dim // 64 if emb_dim % 64 == 0 else 1
    try:
        return GPTConfig(vocab_size=int(vocab_size), context_length=int(context_length),
                         emb_dim=int(emb_dim), n_heads=int(n_heads), n_layers=_layers(sd),
                         drop_rate=drop_rate, qkv_bias=True)
    except ValueError as exc:
        raise HFLayoutError(str(exc)) from None


def hf_to_book(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename and reshape a Hugging Face GPT-2 state dict to the book's `GPTModel` names.

    Every expected tensor must be there with the right shape, or HFLayoutError names what is not.
    """
    sd = _strip(state_dict)
    if "wte.weight" not in sd or sd["wte.weight"].dim() != 2:
        raise HFLayoutError("no 2-D wte.weight (token embedding) in the file")
    emb_dim = sd["wte.weight"].shape[1]
    n_layers = _layers(sd)
    out: dict[str, torch.Tensor] = {}
    used: set[str] = set()

    def take(name: str, shape: tuple[int, ...]) -> torch.Tensor:
        if name not in sd:
            raise HFLayoutError(f"tensor {name} is missing")
        tensor = sd[name]
        if tuple(tensor.shape) != shape:
            raise HFLayoutError(f"tensor {name} has shape {tuple(tensor.shape)}, expected {shape}")
        used.add(name)
        return tensor

    vocab_size = sd["wte.weight"].shape[0]
    context_length = sd["wpe.weight"].shape[0] if "wpe.weight" in sd else 0
    out["tok_emb.weight"] = take("wte.weight", (vocab_size, emb_dim))
    out["pos_emb.weight"] = take("wpe.weight", (context_length, emb_dim))
    out["final_norm.scale"] = take("ln_f.weight", (emb_dim,))
    out["final_norm.shift"] = take("ln_f.bias", (emb_dim,))
    shapes = {
        "ln_1.weight": (emb_dim,), "ln_1.bias": (emb_dim,),
        "ln_2.weight": (emb_dim,), "ln_2.bias": (emb_dim,),
        "attn.c_proj.weight": (emb_dim, emb_dim), "attn.c_proj.bias": (emb_dim,),
        "mlp.c_fc.weight": (emb_dim, 4 * emb_dim), "mlp.c_fc.bias": (4 * emb_dim,),
        "mlp.c_proj.weight": (4 * emb_dim, emb_dim), "mlp.c_proj.bias": (emb_dim,),
    }
    for b in range(n_layers):
        hf, book = f"h.{b}.", f"trf_blocks.{b}."
        # Conv1D stores (in, out); c_attn's out is query | key | value, each emb_dim wide.
        q_w, k_w, v_w = take(hf + "attn.c_attn.weight", (emb_dim, 3 * emb_dim)).split(emb_dim, -1)
        q_b, k_b, v_b = take(hf + "attn.c_attn.bias", (3 * emb_dim,)).split(emb_dim, -1)
        for name, w, bias in (("W_query", q_w, q_b), ("W_key", k_w, k_b), ("W_value", v_w, v_b)):
            out[f"{book}att.{name}.weight"] = w.T.contiguous()
            out[f"{book}att.{name}.bias"] = bias.contiguous()
        for name, (target, transpose) in _BLOCK_MAP.items():
            tensor = take(hf + name, shapes[name])
            out[book + target] = tensor.T.contiguous() if transpose else tensor
    # The head is tied to the token embedding in GPT-2; a saved lm_head must equal its shape.
    head = sd.get("lm_head.weight")
    if head is not None:
        out["out_head.weight"] = take("lm_head.weight", (vocab_size, emb_dim))
    else:
        out["out_head.weight"] = out["tok_emb.weight"].clone()
    extra = [k for k in sd if k not in used and not _BUFFERS.match(k)]
    if extra:
        raise HFLayoutError(f"{len(extra)} tensors are not part of GPT-2 "
                            f"(e.g. {', '.join(sorted(extra)[:3])})")
    return out
