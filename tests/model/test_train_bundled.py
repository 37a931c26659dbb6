"""The bundled checkpoint: made by this engine with the documented command, small, with its
training curve, and what `load_bundled()` returns."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from model.checkpoint import bundled_path, load_bundled
from model.train.presets import get_training_preset


def test_bundled_checkpoint_is_small_trained_and_documented():
    path = bundled_path()
    assert path.is_file() and path.stat().st_size < 15 * 1024 * 1024
    loaded = load_bundled()
    assert loaded.source == "bundled"
    assert loaded.config == get_training_preset("bundled").model
    meta = loaded.meta
    curve = meta["curve"]
    assert len(curve["step"]) >= 10 and len(curve["val_loss"]) == len(curve["step"])
    assert curve["train_loss"][-1] < 2.0 < 8.0 < curve["train_loss"][0] + 1  # it learned
    assert min(curve["val_loss"]) < 7.0
    assert meta["corpus"]["name"].startswith("The Verdict")
    readme = (Path(__file__).resolve().parents[2] / "resources" / "checkpoints"
              / "README.md").read_text(encoding="utf-8")
    assert meta["command"] in readme
    sidecar = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["meta"]["curve"] == curve


def test_bundled_model_continues_the_verdict():
    from model.generate import generate
    from model.tokenizer import get_tokenizer

    tok = get_tokenizer()
    loaded = load_bundled()
    prompt = "I had always thought Jack Gisburn rather a cheap genius--though a good fellow"
    ids = torch.tensor([tok.encode(prompt)])
    out = tok.decode(generate(loaded.model, ids, 4)[0, ids.shape[1]:].tolist())
    assert out.startswith(" enough")  # the Verdict's next words: it has read the text
