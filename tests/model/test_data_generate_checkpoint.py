"""Chapter 2's dataloader, chapter 4/5 generation, and safe checkpoints."""

import json

import pytest
import torch

from model import GPTModel, get_preset
from model.checkpoint import CheckpointError, infer_config, load_checkpoint, save_checkpoint
from model.data import create_dataloader_v1, train_val_split
from model.generate import (apply_top_k, generate, generate_text_simple, iter_generate,
                            next_token_distribution)
from model.resources import read_the_verdict


def test_sliding_window_dataloader_gives_the_books_first_batch():
    loader = create_dataloader_v1(read_the_verdict(), batch_size=1, max_length=4, stride=1,
                                  shuffle=False)
    inputs, targets = next(iter(loader))
    assert inputs.tolist() == [[40, 367, 2885, 1464]]
    assert targets.tolist() == [[367, 2885, 1464, 1807]]
    loader = create_dataloader_v1(read_the_verdict(), batch_size=8, max_length=4, stride=4,
                                  shuffle=False)
    inputs, targets = next(iter(loader))
    assert inputs.shape == (8, 4)
    assert inputs[1].tolist() == [1807, 3619, 402, 271]


def test_train_val_split_is_by_characters():
    text = read_the_verdict()
    train, val = train_val_split(text, 0.9)
    assert train + val == text and len(train) == int(0.9 * len(text))


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(123)
    return GPTModel(get_preset("tiny")).eval()


def test_greedy_generation_agrees_between_the_books_loop_and_the_streaming_one(tiny_model):
    idx = torch.tensor([[6109, 3626, 6100, 345]])
    simple = generate_text_simple(tiny_model, idx, max_new_tokens=6, context_size=64)
    streamed = list(iter_generate(tiny_model, idx, max_new_tokens=6, temperature=0.0))
    assert simple[0, 4:].tolist() == streamed


def test_sampling_is_reproducible_with_a_seed_and_top_k_restricts_it(tiny_model):
    idx = torch.tensor([[6109, 3626]])
    a = generate(tiny_model, idx, 8, temperature=1.5, top_k=3, seed=7)
    b = generate(tiny_model, idx, 8, temperature=1.5, top_k=3, seed=7)
    assert torch.equal(a, b) and a.shape == (1, 10)
    probs = next_token_distribution(tiny_model, idx, temperature=1.0, top_k=3)
    assert int((probs > 0).sum()) == 3
    torch.testing.assert_close(probs.sum(), torch.tensor(1.0))
    masked = apply_top_k(torch.tensor([4.51, 0.89, -1.90, 6.75, 1.63, -1.62, -1.89, 6.28, 1.79]),
                         3)
    assert torch.isinf(masked).tolist() == [False, True, True, False, True, True, True, False,
                                            True]


def test_checkpoint_round_trip_with_config_and_meta(tmp_path, tiny_model):
    path = save_checkpoint(tiny_model, tmp_path / "run" / "model", meta={"val_loss": 6.2})
    assert path.suffix == ".safetensors"
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["config"]["emb_dim"] == 64 and sidecar["meta"]["val_loss"] == 6.2
    loaded = load_checkpoint(path)
    assert loaded.config == tiny_model.cfg and loaded.meta == {"val_loss": 6.2}
    idx = torch.randint(0, 50257, (1, 9))
    torch.testing.assert_close(loaded.model(idx), tiny_model(idx))
    assert not list(tmp_path.glob("run/.*.tmp"))


def test_book_state_dict_pth_loads_with_inferred_config(tmp_path, tiny_model):
    path = tmp_path / "model.pth"
    torch.save(tiny_model.state_dict(), path)  # what the book's chapter 5 code saves
    cfg = infer_config(torch.load(path, weights_only=True), n_heads=2)
    assert (cfg.emb_dim, cfg.n_layers, cfg.context_length, cfg.qkv_bias) == (64, 2, 64, False)
    loaded = load_checkpoint(path, n_heads=2)
    idx = torch.randint(0, 50257, (1, 5))
    torch.testing.assert_close(loaded.model(idx), tiny_model(idx))
    torch.save({"model_state_dict": tiny_model.state_dict(), "optimizer_state_dict": {}},
               tmp_path / "model_and_optimizer.pth")
    assert load_checkpoint(tmp_path / "model_and_optimizer.pth", n_heads=2).config == cfg


def test_corrupt_wrong_and_unsafe_files_raise_a_named_error(tmp_path, tiny_model):
    corrupt = tmp_path / "broken.safetensors"
    corrupt.write_bytes(b"\x00\x01garbage")
    with pytest.raises(CheckpointError, match="broken.safetensors is not a readable"):
        load_checkpoint(corrupt)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(tmp_path / "missing.pth")
    wrong = tmp_path / "wrong.pth"
    torch.save(tiny_model.state_dict(), wrong)
    with pytest.raises(CheckpointError, match=r"emb_dim=32 need tok_emb.weight of shape \(50257, 32\)"):
        load_checkpoint(wrong, config=get_preset("tiny").replace(emb_dim=32))

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    evil = tmp_path / "evil.pth"
    torch.save({"x": Evil()}, evil)
    with pytest.raises(CheckpointError, match="weights only"):
        load_checkpoint(evil)
    not_a_gpt = tmp_path / "other.pth"
    torch.save({"weight": torch.zeros(2)}, not_a_gpt)
    with pytest.raises(CheckpointError, match="not a GPT state dict"):
        load_checkpoint(not_a_gpt)
