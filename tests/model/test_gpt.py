"""Chapter 4's GPTModel: the book's names, parameter counts, initial weights and outputs."""

import torch

from model import GPTModel, get_preset
from model.gpt import count_parameters
from model.tokenizer import get_tokenizer


def test_gpt2_124m_parameter_counts():
    cfg = get_preset("gpt2-124m")
    assert count_parameters(cfg) == 163_009_536
    assert count_parameters(cfg, exclude_output_head=True) == 124_412_160
    with torch.device("meta"):
        model = GPTModel(cfg)
    assert model.num_parameters() == 163_009_536
    assert model.num_parameters(exclude_output_head=True) == 124_412_160


def test_parameter_names_are_the_books():
    model = GPTModel(get_preset("tiny").replace(n_layers=1))
    expected = ["tok_emb.weight", "pos_emb.weight"] + [
        f"trf_blocks.0.{name}" for name in (
            "att.mask", "att.W_query.weight", "att.W_key.weight", "att.W_value.weight",
            "att.out_proj.weight", "att.out_proj.bias", "ff.layers.0.weight",
            "ff.layers.0.bias", "ff.layers.2.weight", "ff.layers.2.bias",
            "norm1.scale", "norm1.shift", "norm2.scale", "norm2.shift")
    ] + ["final_norm.scale", "final_norm.shift", "out_head.weight"]
    assert sorted(model.state_dict()) == sorted(expected)


def test_book_seed_gives_the_books_chapter4_logits():
    # Chapter 4: torch.manual_seed(123); GPTModel(GPT_CONFIG_124M) on the two example texts,
    # in training mode as the book runs it. The book prints the first and last logits.
    tokenizer = get_tokenizer()
    batch = torch.stack([torch.tensor(tokenizer.encode(t))
                         for t in ("Every effort moves you", "Every day holds a")])
    torch.manual_seed(123)
    model = GPTModel(get_preset("gpt2-124m"))
    out = model(batch)
    assert out.shape == (2, 4, 50257)
    torch.testing.assert_close(out[0, 0, :3], torch.tensor([0.3613, 0.4222, -0.0711]),
                               atol=1e-4, rtol=0)
    torch.testing.assert_close(out[0, 0, -3:], torch.tensor([0.3483, 0.4661, -0.2838]),
                               atol=1e-4, rtol=0)


def test_a_state_dict_saved_by_name_loads_and_gives_the_same_logits():
    torch.manual_seed(1)
    source = GPTModel(get_preset("tiny")).eval()
    target = GPTModel(get_preset("tiny")).eval()
    target.load_state_dict(source.state_dict())  # strict: every book name present
    idx = torch.randint(0, 50257, (2, 10))
    torch.testing.assert_close(source(idx), target(idx))


def test_fused_attention_matches_the_explicit_route():
    torch.manual_seed(0)
    model = GPTModel(get_preset("tiny")).eval()
    idx = torch.randint(0, 50257, (2, 17))
    fused = model(idx)
    for block in model.trf_blocks:
        block.att.use_fused = False
    torch.testing.assert_close(fused, model(idx), atol=1e-5, rtol=1e-5)


def test_input_longer_than_the_context_is_refused_with_a_message():
    model = GPTModel(get_preset("tiny"))
    try:
        model(torch.zeros(1, 65, dtype=torch.long))
    except ValueError as exc:
        assert "context_length is 64" in str(exc)
    else:
        raise AssertionError("expected a ValueError")
