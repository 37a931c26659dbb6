import json

import pytest

from model import GPTConfig, PRESETS, get_preset


def test_gpt2_124m_preset_is_the_books_config():
    cfg = get_preset("gpt2-124m")
    assert cfg.to_dict() == {"vocab_size": 50257, "context_length": 1024, "emb_dim": 768,
                             "n_heads": 12, "n_layers": 12, "drop_rate": 0.1, "qkv_bias": False}


def test_round_trip_through_json_and_the_books_dict():
    for cfg in PRESETS.values():
        assert GPTConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    book = {"vocab_size": 50257, "context_length": 256, "emb_dim": 768, "n_heads": 12,
            "n_layers": 12, "drop_rate": 0.1, "qkv_bias": False}
    cfg = GPTConfig.coerce(book)
    assert cfg.context_length == 256 and cfg["emb_dim"] == 768


def test_config_is_frozen_and_validated():
    cfg = get_preset("tiny")
    with pytest.raises(Exception):
        cfg.emb_dim = 3  # frozen
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(emb_dim=100, n_heads=3)
    with pytest.raises(ValueError, match="unknown GPT config keys: colour"):
        GPTConfig.from_dict({"colour": "red"})
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("nope")
