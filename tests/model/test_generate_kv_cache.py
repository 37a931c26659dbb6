"""The KV cache (model.kv_cache) computes what the plain forward does, and generates the same."""

import pytest
import torch

from model import GPTModel, get_preset
from model.generate import generate, iter_generate_steps
from model.kv_cache import CachedStepper, KVCache, forward_cached


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(123)
    return GPTModel(get_preset("tiny").replace(context_length=16)).eval()


def test_cached_logits_equal_the_plain_forward_chunk_by_chunk(tiny_model):
    idx = torch.randint(0, 50257, (1, 12), generator=torch.Generator().manual_seed(1))
    cache = KVCache(len(tiny_model.trf_blocks))
    first = forward_cached(tiny_model, idx[:, :5], cache)  # a prompt of 5
    rest = [forward_cached(tiny_model, idx[:, i:i + 1], cache) for i in range(5, 12)]
    cached = torch.cat([first] + rest, dim=1)
    with torch.no_grad():
        torch.testing.assert_close(cached, tiny_model(idx), atol=1e-5, rtol=1e-5)
    assert cache.length == 12 and cache.keys[0].shape == (1, 2, 12, 32)
    with pytest.raises(ValueError, match="do not fit the context"):
        forward_cached(tiny_model, idx[:, :5], cache)


@pytest.mark.parametrize("temperature, top_k", [(0.0, None), (1.3, 20)])
def test_generation_with_and_without_the_cache_gives_identical_tokens(tiny_model, temperature,
                                                                       top_k):
    # 20 new tokens on a 16-token context: the window slides and the cache is rebuilt.
    idx = torch.tensor([[6109, 3626, 6100, 345]])
    plain = generate(tiny_model, idx, 20, temperature=temperature, top_k=top_k, seed=5)
    cached = generate(tiny_model, idx, 20, temperature=temperature, top_k=top_k, seed=5,
                      use_cache=True)
    assert plain.tolist() == cached.tolist()


def test_stepper_rebuilds_once_the_window_is_full(tiny_model):
    stepper = CachedStepper(tiny_model, context_size=8)
    idx = torch.arange(8).unsqueeze(0)
    stepper.first(idx)
    assert stepper.cache.length == 8
    logits = stepper.step(torch.tensor([[9]]))
    assert stepper.cache.length == 8  # rebuilt from the last 8 tokens
    with torch.no_grad():
        expected = tiny_model(torch.tensor([[1, 2, 3, 4, 5, 6, 7, 9]]))[:, -1, :]
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=1e-5)


def test_steps_carry_the_raw_logits_each_token_came_from(tiny_model):
    idx = torch.tensor([[6109, 3626]])
    steps = list(iter_generate_steps(tiny_model, idx, 3, temperature=0.0, use_cache=True))
    assert [s.token for s in steps] == generate(tiny_model, idx, 3)[0, 2:].tolist()
    assert all(s.logits.shape == (50257,) and int(s.logits.argmax()) == s.token for s in steps)


def test_last_only_gives_the_last_positions_logits(tiny_model):
    idx = torch.randint(0, 50257, (2, 7), generator=torch.Generator().manual_seed(2))
    full = forward_cached(tiny_model, idx, KVCache(len(tiny_model.trf_blocks)))
    last_cache = KVCache(len(tiny_model.trf_blocks))
    last = forward_cached(tiny_model, idx, last_cache, last_only=True)
    assert last.shape == (2, 1, 50257) and last_cache.length == 7
    torch.testing.assert_close(last, full[:, -1:, :])
