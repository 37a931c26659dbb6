import pytest
import torch

from model import GPTModel, get_preset
from model.inspect import block_stats, capture, inspect_blocks, logit_lens


def test_capture_gives_the_plain_forwards_logits_and_every_intermediate():
    cfg = get_preset("tiny")
    torch.manual_seed(123)
    model = GPTModel(cfg).eval()
    idx = torch.randint(0, cfg.vocab_size, (1, 12))
    plain = model(idx)
    cap = capture(model, idx)
    torch.testing.assert_close(cap.logits, plain, atol=1e-5, rtol=1e-5)
    assert len(cap.layers) == cfg.n_layers
    layer = cap.layers[0]
    assert layer.attn_weights.shape == (1, cfg.n_heads, 12, 12)
    assert layer.queries.shape == (1, cfg.n_heads, 12, cfg.head_dim)
    assert layer.keys.shape == layer.values.shape == layer.queries.shape
    # Causal: nothing above the diagonal, every row a distribution.
    assert torch.all(torch.triu(layer.attn_weights[0, 0], diagonal=1) == 0)
    torch.testing.assert_close(layer.attn_weights.sum(-1), torch.ones(1, cfg.n_heads, 12))
    torch.testing.assert_close(cap.input_embeddings,
                               cap.token_embeddings + cap.positional_embeddings)
    assert cap.attn_weights.shape == (cfg.n_layers, 1, cfg.n_heads, 12, 12)
    # The plain forward is unchanged by inspection.
    torch.testing.assert_close(model(idx), plain)


# -- logit lens and block statistics ----------------------------------------------------------
def _tiny_model(**changes):
    torch.manual_seed(123)
    return GPTModel(get_preset("tiny").replace(**changes))


def test_logit_lens_last_layer_is_the_models_own_prediction():
    model = _tiny_model(drop_rate=0.1)  # left in training mode: the lens must not drop out
    idx = torch.randint(0, 50257, (2, 9))
    lens = logit_lens(model, idx, top_k=5)
    assert model.training  # its mode is given back
    assert lens.top_ids.shape == lens.top_probs.shape == (2, 2, 9, 5)
    model.eval()
    with torch.no_grad():
        expected = torch.softmax(model(idx), dim=-1).topk(5, dim=-1)
    torch.testing.assert_close(lens.top_probs[-1], expected.values, atol=1e-6, rtol=1e-5)
    assert torch.equal(lens.top_ids[-1], expected.indices)


def test_logit_lens_reads_every_block_through_final_norm_and_out_head():
    model = _tiny_model(n_layers=3).eval()
    idx = torch.randint(0, 50257, (1, 7))
    lens = logit_lens(model, idx, top_k=3)
    cap = capture(model, idx, logits=False)
    for layer, captured in enumerate(cap.layers):
        with torch.no_grad():
            probs = torch.softmax(model.out_head(model.final_norm(captured.output)), dim=-1)
        top = probs.topk(3, dim=-1)
        torch.testing.assert_close(lens.top_probs[layer], top.values, atol=1e-6, rtol=1e-5)
        assert torch.equal(lens.top_ids[layer], top.indices)
    assert torch.all(lens.top_probs[..., :-1] >= lens.top_probs[..., 1:])  # most probable first


def test_logit_lens_holds_full_vocabulary_logits_for_one_chunk_at_a_time():
    model = _tiny_model().eval()
    idx = torch.randint(0, 50257, (2, 10))
    rows_seen = []
    hook = model.final_norm.register_forward_hook(
        lambda module, inputs, output: rows_seen.append(inputs[0].shape[0]))
    try:
        chunked = logit_lens(model, idx, chunk_rows=3)
    finally:
        hook.remove()
    assert max(rows_seen) == 3 and sum(rows_seen) == model.cfg.n_layers * 20
    whole = logit_lens(model, idx)
    assert torch.equal(chunked.top_ids, whole.top_ids)
    torch.testing.assert_close(chunked.top_probs, whole.top_probs)


def test_block_stats_match_what_hooks_see_in_the_plain_forward():
    model = _tiny_model().eval()
    idx = torch.randint(0, 50257, (1, 11))
    seen = {}

    def keep(name):
        def hook(module, inputs, output):
            seen[name] = (inputs[0], output)
        return hook

    handles = []
    for i, block in enumerate(model.trf_blocks):
        for part in ("norm1", "att", "norm2", "ff"):
            handles.append(getattr(block, part).register_forward_hook(keep(f"{i}.{part}")))
        handles.append(block.ff.layers[1].register_forward_hook(keep(f"{i}.gelu")))
        handles.append(block.register_forward_hook(keep(f"{i}.block")))
    with torch.no_grad():
        plain = model(idx)
    for handle in handles:
        handle.remove()

    stats = block_stats(model, idx)
    assert stats.resid_norm.shape == (model.cfg.n_layers, 1, 11)
    for i in range(model.cfg.n_layers):
        norm1_in, norm1_out = seen[f"{i}.norm1"]
        att_in_shortcut = norm1_in  # the block's input is both norm1's input and the shortcut
        torch.testing.assert_close(stats.norm1_in_mean[i], norm1_in.mean(-1))
        torch.testing.assert_close(stats.norm1_in_var[i], norm1_in.var(-1, unbiased=False))
        torch.testing.assert_close(stats.norm1_out_var[i], norm1_out.var(-1, unbiased=False))
        torch.testing.assert_close(stats.att_ratio[i], seen[f"{i}.att"][1].norm(dim=-1)
                                   / att_in_shortcut.norm(dim=-1))
        norm2_in, norm2_out = seen[f"{i}.norm2"]
        torch.testing.assert_close(stats.norm2_out_mean[i], norm2_out.mean(-1))
        torch.testing.assert_close(stats.ff_ratio[i], seen[f"{i}.ff"][1].norm(dim=-1)
                                   / norm2_in.norm(dim=-1))
        gelu_in = seen[f"{i}.gelu"][0]
        torch.testing.assert_close(stats.gelu_negative[i], (gelu_in < 0).float().mean(-1))
        torch.testing.assert_close(stats.resid_norm[i], seen[f"{i}.block"][1].norm(dim=-1))
    # A fresh LayerNorm (scale 1, shift 0) gives outputs of mean 0 and variance about 1.
    assert torch.allclose(stats.norm1_out_var, torch.ones(()), atol=1e-3)
    per_layer = stats.per_layer()
    assert len(per_layer["att_ratio"]) == model.cfg.n_layers
    assert all(0 < v < 1 for v in per_layer["gelu_negative"])
    # Inspection leaves the plain forward as it was.
    torch.testing.assert_close(model(idx), plain)


def test_inspect_blocks_gives_lens_and_stats_in_one_pass():
    model = _tiny_model().eval()
    idx = torch.randint(0, 50257, (1, 6))
    both = inspect_blocks(model, idx, top_k=2)
    assert torch.equal(both.lens.top_ids, logit_lens(model, idx, top_k=2).top_ids)
    torch.testing.assert_close(both.stats.ff_ratio, block_stats(model, idx).ff_ratio)


@pytest.mark.parametrize("idx, kwargs, message", [
    (torch.zeros(5, dtype=torch.long), {}, "batch, num_tokens"),
    (torch.zeros(1, 65, dtype=torch.long), {}, "context_length is 64"),
    (torch.zeros(1, 0, dtype=torch.long), {}, "no tokens"),
    (torch.zeros(1, 3, dtype=torch.long), {"top_k": 0}, "top_k"),
])
def test_inspect_blocks_refuses_bad_input_with_a_message(idx, kwargs, message):
    with pytest.raises(ValueError, match=message):
        inspect_blocks(_tiny_model(), idx, **kwargs)


def test_logit_lens_of_the_bundled_model_matches_its_prediction_in_float64():
    from model.checkpoint import load_bundled
    from model.resources import read_the_verdict
    from model.tokenizer import get_tokenizer

    model = load_bundled().model
    idx = torch.tensor([get_tokenizer().encode(read_the_verdict())[:40]])
    lens = logit_lens(model, idx)
    with torch.no_grad():
        # float64 as the reference: a trained model's logits are large enough that float32
        # softmax kernels differ among themselves in the fifth digit.
        expected = torch.softmax(model(idx).double(), dim=-1).topk(5, dim=-1)
    assert torch.equal(lens.top_ids[-1], expected.indices)
    torch.testing.assert_close(lens.top_probs[-1].double(), expected.values, atol=2e-6, rtol=0)
