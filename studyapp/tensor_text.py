"""Tensors printed as PyTorch prints them, without torch (the labs show the book's printouts).

Chapter 3's steps print floats to 4 decimals as the book shows them; chapter 2's batches of
token IDs print as integer tensors.
"""

from __future__ import annotations

import math

import numpy as np


def format_number(value: float, decimals: int = 4) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def format_tensor(values, decimals: int = 4) -> str:
    """Numbers laid out as PyTorch prints a tensor (4 decimals by default, as the book shows).

    Scalars print as tensor(x), vectors and matrices as nested brackets with aligned columns,
    -inf shown as such; 3-d tensors print as a list of matrices. Integers (token IDs) print as
    integers; an empty list prints as an empty batch of token IDs.
    """
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    raw = np.asarray(values)
    if raw.size == 0:
        return "tensor([], size=(0, 0), dtype=torch.int64)"
    arr = raw.astype(np.float64)
    if arr.ndim == 0:
        return f"tensor({format_number(float(arr), decimals)})"
    flat = arr.reshape(-1)
    finite = flat[np.isfinite(flat)]
    if raw.dtype.kind in "iu":
        cells = [str(int(v)) for v in raw.reshape(-1)]
    elif finite.size and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 1e6):
        # Like PyTorch, a tensor of whole numbers prints as "2." (the book's dropout demo).
        cells = [format_number(float(v), 0) + "." if math.isfinite(v)
                 else format_number(float(v)) for v in flat]
    else:
        cells = [format_number(float(v), decimals) for v in flat]
    width = max(len(c) for c in cells)
    padded = iter(c.rjust(width) for c in cells)

    def render(shape, indent):
        if len(shape) == 1:
            return "[" + ", ".join(next(padded) for _ in range(shape[0])) + "]"
        sep = "," + "\n" * (len(shape) - 1) + " " * (indent + 1)
        return "[" + sep.join(render(shape[1:], indent + 1) for _ in range(shape[0])) + "]"

    body = render(arr.shape, len("tensor("))
    return f"tensor({body})"
