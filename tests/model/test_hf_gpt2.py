"""GPT-2 in the Hugging Face layout loads onto the book's names (chapter 5, section 5.5).

The files are built here, from a small GPTModel with query/key/value biases, by writing the
Hugging Face names and Conv1D (in, out) shapes by hand; nothing is downloaded.
"""

import pytest
import torch
from safetensors.torch import save_file

from model import GPTModel, get_preset
from model.checkpoint import CheckpointError, load_checkpoint
from model.hf_gpt2 import HFLayoutError, hf_to_book, infer_hf_config, is_hf_gpt2

CFG = get_preset("tiny").replace(qkv_bias=True, context_length=32)  # emb 64, 2 layers


@pytest.fixture(scope="module")
def book_model():
    torch.manual_seed(123)
    model = GPTModel(CFG).eval()
    with torch.no_grad():  # GPT-2 ties the head to the token embedding
        model.out_head.weight.copy_(model.tok_emb.weight)
        for p in model.parameters():  # non-trivial norms and biases, so a swap would show
            if p.dim() == 1:
                p.add_(torch.randn_like(p) * 0.1)
    return model


def hf_state_dict(model, prefix="", with_buffers=True):
    """What Hugging Face's GPT-2 stores, written independently of model.hf_gpt2."""
    sd = {}
    sd[prefix + "wte.weight"] = model.tok_emb.weight
    sd[prefix + "wpe.weight"] = model.pos_emb.weight
    for i, block in enumerate(model.trf_blocks):
        h = f"{prefix}h.{i}."
        att = block.att
        sd[h + "ln_1.weight"], sd[h + "ln_1.bias"] = block.norm1.scale, block.norm1.shift
        sd[h + "attn.c_attn.weight"] = torch.cat(
            [att.W_query.weight.T, att.W_key.weight.T, att.W_value.weight.T], dim=1)
        sd[h + "attn.c_attn.bias"] = torch.cat(
            [att.W_query.bias, att.W_key.bias, att.W_value.bias])
        sd[h + "attn.c_proj.weight"] = att.out_proj.weight.T
        sd[h + "attn.c_proj.bias"] = att.out_proj.bias
        sd[h + "ln_2.weight"], sd[h + "ln_2.bias"] = block.norm2.scale, block.norm2.shift
        sd[h + "mlp.c_fc.weight"] = block.ff.layers[0].weight.T
        sd[h + "mlp.c_fc.bias"] = block.ff.layers[0].bias
        sd[h + "mlp.c_proj.weight"] = block.ff.layers[2].weight.T
        sd[h + "mlp.c_proj.bias"] = block.ff.layers[2].bias
        if with_buffers:
            sd[h + "attn.bias"] = torch.tril(torch.ones(1, 1, 32, 32))
    sd[prefix + "ln_f.weight"] = model.final_norm.scale
    sd[prefix + "ln_f.bias"] = model.final_norm.shift
    return {k: v.detach().clone().contiguous() for k, v in sd.items()}


def test_shapes_give_the_config_with_qkv_bias(book_model):
    sd = hf_state_dict(book_model)
    assert is_hf_gpt2(sd) and not is_hf_gpt2(book_model.state_dict())
    cfg = infer_hf_config(sd, n_heads=2)
    assert cfg == CFG.replace(drop_rate=0.0)
    assert infer_hf_config(sd).n_heads == 1  # 64-wide heads, GPT-2's, unless told


def test_model_safetensors_loads_and_computes_the_same_logits(tmp_path, book_model):
    path = tmp_path / "model.safetensors"
    save_file(hf_state_dict(book_model), str(path))
    loaded = load_checkpoint(path, n_heads=2)
    assert loaded.config.qkv_bias and loaded.config.context_length == 32
    assert "Hugging Face" in loaded.meta["layout"]
    idx = torch.randint(0, 50257, (1, 10))
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(idx), book_model(idx))
    # The tied head: the output head equals the token embedding.
    torch.testing.assert_close(loaded.model.out_head.weight, loaded.model.tok_emb.weight)


def test_transformer_prefix_lm_head_and_pth_are_accepted(tmp_path, book_model):
    sd = hf_state_dict(book_model, prefix="transformer.", with_buffers=False)
    sd["lm_head.weight"] = book_model.out_head.weight.detach().clone()
    path = tmp_path / "pytorch_model.pth"
    torch.save(sd, path)
    loaded = load_checkpoint(path, n_heads=2)
    idx = torch.randint(0, 50257, (1, 7))
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(idx), book_model(idx))


def test_a_broken_hf_file_is_refused_naming_the_tensor(tmp_path, book_model):
    sd = hf_state_dict(book_model)
    del sd["h.1.mlp.c_fc.bias"]
    with pytest.raises(HFLayoutError, match="h.1.mlp.c_fc.bias is missing"):
        hf_to_book(sd)
    sd = hf_state_dict(book_model)
    sd["h.0.attn.c_proj.weight"] = sd["h.0.attn.c_proj.weight"][:, :10].contiguous()
    path = tmp_path / "model.safetensors"
    save_file(sd, str(path))
    with pytest.raises(CheckpointError, match=r"Hugging Face layout, but tensor "
                                              r"h.0.attn.c_proj.weight has shape \(64, 10\)"):
        load_checkpoint(path)
    sd = hf_state_dict(book_model)
    sd["score.weight"] = torch.zeros(2, 64)
    with pytest.raises(HFLayoutError, match="not part of GPT-2"):
        hf_to_book(sd)
