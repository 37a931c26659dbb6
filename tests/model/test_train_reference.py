"""The benchmarks' naive reference is the book's model: same weights from the same seed, same
logits, same loss as model/ (so the speed comparison compares like with like)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

from model.config import GPTConfig
from model.gpt import GPTModel
from model.loss import calc_loss_batch

ROOT = Path(__file__).resolve().parents[2]


def _reference():
    spec = importlib.util.spec_from_file_location(
        "reference_book_training", ROOT / "benchmarks" / "reference_book_training.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reference_model_has_the_books_initial_weights_and_outputs():
    ref = _reference()
    cfg = dict(ref.book_config(emb_dim=32, n_layers=2, n_heads=4, context_length=16,
                               drop_rate=0.0))
    torch.manual_seed(123)
    naive = ref.NaiveGPTModel(cfg).eval()
    torch.manual_seed(123)
    ours = GPTModel(GPTConfig(**cfg)).eval()
    naive_sd, our_sd = naive.state_dict(), ours.state_dict()
    assert list(naive_sd) == list(our_sd)
    for key in our_sd:
        assert torch.equal(naive_sd[key], our_sd[key]), key
    x = torch.randint(0, 50257, (2, 16))
    y = torch.randint(0, 50257, (2, 16))
    with torch.no_grad():
        assert torch.allclose(naive(x), ours(x), atol=1e-5)
        assert torch.allclose(ref.calc_loss_batch(x, y, naive), calc_loss_batch(x, y, ours),
                              atol=1e-5)


def test_reference_training_runs_and_records_its_curve():
    ref = _reference()
    text = "Every effort moves you forward. " * 60
    result = ref.train_reference(text, ref.book_config(emb_dim=16, n_layers=1, n_heads=2,
                                                       context_length=16),
                                 batch_size=2, epochs=1, eval_freq=2, max_steps=4,
                                 sample_tokens=2)
    assert result["reason"] == "max_steps" and result["steps"] == 4
    assert result["curve"]["val_loss"][-1] < 10.9
    assert result["curve"]["step"] == [2, 4] and result["tokens_seen"] == 4 * 2 * 16
