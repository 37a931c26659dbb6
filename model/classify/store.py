"""Saving and opening chapter 6's classifiers, with the app's checkpoint conventions.

A classifier is one `.safetensors` file (atomic write, a readable `.json` beside it, as
`model.checkpoint` writes language models) whose header says ``kind: classifier`` and whose
metadata holds the labels, the padding length used in training and the recipe. LoRA updates are
merged before saving, so the file has the plain GPT layout plus the class head. Opening one as
a language model is refused by `model.checkpoint.load_checkpoint` with a clear message.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from model.checkpoint import (FORMAT, KIND_CLASSIFIER, CheckpointError, infer_config,
                              load_weights, save_checkpoint)
from model.config import GPTConfig
from model.gpt import GPTModel
from model.lora import has_lora, merge_lora


@dataclass
class LoadedClassifier:
    model: GPTModel
    config: GPTConfig
    labels: list[str]
    max_length: int | None
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def save_classifier(model: GPTModel, path: str | os.PathLike, labels: Sequence[str],
                    max_length: int | None, recipe: Mapping[str, Any] | None = None,
                    meta: Mapping[str, Any] | None = None) -> Path:
    """Write the classifier to `path` (.safetensors) atomically; returns the path."""
    if has_lora(model):
        model = merge_lora(copy.deepcopy(model))
    info = {"labels": list(labels), "num_classes": len(labels), "max_length": max_length,
            "recipe": dict(recipe or {})}
    full_meta = {**dict(meta or {}), "kind": KIND_CLASSIFIER, "classifier": info,
                 "torch": torch.__version__}
    return save_checkpoint(model, path, full_meta, kind=KIND_CLASSIFIER)


def classifier_from_config(cfg: GPTConfig, num_classes: int) -> GPTModel:
    model = GPTModel(cfg)
    model.out_head = nn.Linear(cfg.emb_dim, num_classes)
    model.num_classes = num_classes
    return model


def open_classifier(path: str | os.PathLike) -> LoadedClassifier:
    """Open a classifier saved by `save_classifier`, or the book's `review_classifier.pth`
    (a state dict whose head has one output per class; its labels are then 0, 1, ...)."""
    from model.checkpoint import _read_pth, _read_safetensors

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no such classifier file: {path}")
    meta: dict[str, Any] = {}
    if path.suffix == ".safetensors":
        state_dict, header = _read_safetensors(path)
        if header.get("format") == FORMAT:
            if header.get("kind") != KIND_CLASSIFIER:
                raise CheckpointError(f"{path.name} is a language model, not a classifier; "
                                      "fine-tune it in the Classify lab to make one")
            try:
                cfg = GPTConfig.from_dict(json.loads(header["config"]))
                meta = json.loads(header.get("meta", "{}"))
            except (KeyError, ValueError) as exc:
                raise CheckpointError(f"{path.name} has a damaged header: {exc}") from None
        else:
            cfg = infer_config(state_dict)
    else:
        state_dict = _read_pth(path)
        cfg = infer_config(state_dict)
    head = state_dict.get("out_head.weight")
    if head is None or head.shape[0] >= cfg.vocab_size:
        raise CheckpointError(f"{path.name} has no class head (its output head predicts "
                              "tokens): it is a language model, not a classifier")
    info = meta.get("classifier", {})
    num_classes = int(head.shape[0])
    labels = [str(x) for x in info.get("labels", range(num_classes))]
    model = classifier_from_config(cfg, num_classes)
    load_weights(model, state_dict)
    model.eval()
    return LoadedClassifier(model=model, config=cfg, labels=labels,
                            max_length=info.get("max_length"), meta=meta, source=str(path))
