"""Appendix E's LoRA: the book's parameter counts, a no-op at first, merging for inference."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from model.classify.classifier import build_classifier
from model.config import GPTConfig
from model.gpt import GPTModel
from model.lora import (LinearWithLoRA, LoRALayer, count_parameters, merge_lora,
                        replace_linear_with_lora)

GPT2_SMALL_QKV = GPTConfig(qkv_bias=True, drop_rate=0.0)  # the book's chapter 6 base config
TINY = GPTConfig(vocab_size=97, context_length=16, emb_dim=16, n_heads=2, n_layers=2,
                 drop_rate=0.0)


def test_lora_counts_match_the_book_for_gpt2_small_with_a_two_class_head():
    with torch.device("meta"):  # shapes only: no 500 MB of weights to fill
        model = GPTModel(GPT2_SMALL_QKV)
        model.out_head = nn.Linear(768, 2)
    # the book counts the classifier before LoRA ...
    assert count_parameters(model) == 124_441_346
    model.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 0
    with torch.device("meta"):
        replace_linear_with_lora(model, rank=16, alpha=16)
    # ... and what trains after it: every nn.Linear wrapped, the head included
    assert count_parameters(model, trainable_only=True) == 2_666_528
    wrapped = [m for m in model.modules() if isinstance(m, LinearWithLoRA)]
    assert len(wrapped) == 12 * 6 + 1  # W_query, W_key, W_value, out_proj, 2 feed-forward; head
    assert isinstance(model.out_head, LinearWithLoRA)


def test_build_classifier_with_lora_trains_the_same_count():
    with torch.device("meta"):
        model = build_classifier(GPTModel(GPT2_SMALL_QKV), 2, "lora", lora_rank=16,
                                 lora_alpha=16)
    assert count_parameters(model, trainable_only=True) == 2_666_528


def test_lora_layer_starts_as_no_change_and_scales_by_alpha_over_rank():
    torch.manual_seed(123)
    layer = LoRALayer(8, 5, rank=4, alpha=8)
    assert layer.A.shape == (8, 4) and layer.B.shape == (4, 5)
    assert torch.count_nonzero(layer.B) == 0 and torch.count_nonzero(layer.A) > 0
    torch.manual_seed(123)
    book_a = torch.empty(8, 4)
    nn.init.kaiming_uniform_(book_a, a=5 ** 0.5)  # appendix E: A as nn.Linear's weight init
    assert torch.equal(layer.A.detach(), book_a)
    x = torch.randn(3, 8)
    assert torch.equal(layer(x), torch.zeros(3, 5))
    with torch.no_grad():
        layer.B.fill_(1.0)
    assert torch.allclose(layer(x), 2.0 * (x @ layer.A @ layer.B))
    with pytest.raises(ValueError, match="rank"):
        LoRALayer(8, 5, rank=0, alpha=8)


def test_merged_model_gives_the_same_logits_as_the_lora_model():
    torch.manual_seed(1)
    model = GPTModel(TINY).eval()
    x = torch.randint(0, TINY.vocab_size, (2, 10))
    with torch.no_grad():
        base_logits = model(x)
    model.requires_grad_(False)
    replace_linear_with_lora(model, rank=4, alpha=8)
    with torch.no_grad():
        assert torch.equal(model(x), base_logits)  # B = 0: nothing changes yet
        for m in model.modules():
            if isinstance(m, LoRALayer):
                m.B.normal_(0, 0.2)
        lora_logits = model(x)
    assert not torch.allclose(lora_logits, base_logits, atol=1e-3)
    merge_lora(model)
    assert not any(isinstance(m, (LinearWithLoRA, LoRALayer)) for m in model.modules())
    with torch.no_grad():
        assert torch.allclose(model(x), lora_logits, atol=1e-5)


def test_only_lora_matrices_reach_the_optimizer_and_change():
    torch.manual_seed(2)
    model = GPTModel(TINY)
    model.requires_grad_(False)
    replace_linear_with_lora(model, rank=2, alpha=2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    x = torch.randint(0, TINY.vocab_size, (2, 8))
    model(x).sum().backward()
    opt.step()
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(".lora." in k for k in changed)
