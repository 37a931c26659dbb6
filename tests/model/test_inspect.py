import torch

from model import GPTModel, get_preset
from model.inspect import capture


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
