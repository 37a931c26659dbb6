"""Appendix E: low-rank adaptation (LoRA), shared by classification (chapter 6) and
instruction fine-tuning (chapter 7).

A frozen `nn.Linear` computes ``x W^T + b``; LoRA adds a trainable low-rank update
``(alpha / rank) * x A B`` with A of shape (in_dim, rank) initialised as the book does
(Kaiming-uniform, as `nn.Linear` initialises its weight) and B of shape (rank, out_dim) zeros, so
a freshly wrapped model computes exactly what it did before. Only A and B train: a GPT-2 small
classifier with rank 16 trains 2,666,528 of its 124,441,346 parameters.

The usual sequence, as in the book: freeze the model (`model.requires_grad_(False)`), then
`replace_linear_with_lora(model, rank, alpha)` (every `nn.Linear`, the output head included,
becomes a `LinearWithLoRA`), fine-tune, and for inference `merge_lora(model)` folds each
update into its base weight, giving plain `nn.Linear` layers and the same outputs.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn


class LoRALayer(nn.Module):
    """The low-rank update ``(alpha / rank) * x A B`` of one linear layer."""

    def __init__(self, in_dim: int, out_dim: int, rank: int, alpha: float):
        super().__init__()
        if not isinstance(rank, int) or isinstance(rank, bool) or rank <= 0:
            raise ValueError(f"LoRA rank must be a whole number above 0, got {rank!r}")
        if not alpha > 0:
            raise ValueError(f"LoRA alpha must be above 0, got {alpha!r}")
        self.A = nn.Parameter(torch.empty(in_dim, rank))  # (in_dim, rank)
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # the same init as nn.Linear's weight
        self.B = nn.Parameter(torch.zeros(rank, out_dim))  # (rank, out_dim): no change at first
        self.rank = rank
        self.alpha = alpha
        self.scaling = alpha / rank

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (..., in_dim)
        return self.scaling * (x @ self.A @ self.B)  # (..., out_dim)

    def delta_weight(self) -> torch.Tensor:
        """The update as a weight of `nn.Linear`'s layout, (out_dim, in_dim)."""
        return self.scaling * (self.A @ self.B).T


class LinearWithLoRA(nn.Module):
    """A linear layer plus its LoRA update; the layer itself is kept as `linear`."""

    def __init__(self, linear: nn.Linear, rank: int, alpha: float):
        super().__init__()
        self.linear = linear
        self.lora = LoRALayer(linear.in_features, linear.out_features, rank, alpha)
        self.lora.to(device=linear.weight.device, dtype=linear.weight.dtype)

    @property
    def weight(self) -> torch.Tensor:
        # Code that reads a layer's weight (shapes, tied heads) still finds the base weight.
        return self.linear.weight

    @property
    def in_features(self) -> int:
        return self.linear.in_features

    @property
    def out_features(self) -> int:
        return self.linear.out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) + self.lora(x)


def replace_linear_with_lora(model: nn.Module, rank: int, alpha: float) -> nn.Module:
    """Wrap every `nn.Linear` inside `model` in a `LinearWithLoRA`, in place; returns `model`.

    Layers already wrapped are left as they are. The base layers keep their `requires_grad`:
    freeze the model first, as the book does, so that only the LoRA matrices train.
    """
    for name, child in model.named_children():
        if isinstance(child, nn.Linear):
            setattr(model, name, LinearWithLoRA(child, rank, alpha))
        elif not isinstance(child, LinearWithLoRA):
            replace_linear_with_lora(child, rank, alpha)
    return model


def has_lora(model: nn.Module) -> bool:
    return any(isinstance(m, LinearWithLoRA) for m in model.modules())


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every LoRA update into its base weight and put the plain `nn.Linear` back.

    In place; returns `model`. The merged model computes the same outputs (up to rounding)
    without the extra matrix products, and saves in the ordinary layout.
    """
    for name, child in model.named_children():
        if isinstance(child, LinearWithLoRA):
            linear = child.linear
            with torch.no_grad():
                linear.weight.add_(child.lora.delta_weight().to(linear.weight.dtype))
            setattr(model, name, linear)
        else:
            merge_lora(child)
    return model


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
