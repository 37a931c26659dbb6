"""Chapter 4's demonstrations hold the book's numbers; the size arithmetic matches real models."""

import pytest
import torch

from model import GPTModel, get_preset
from model.chapter4 import (component_info, feed_forward_shapes, gelu_vs_relu, gpt2_sizes,
                            layer_norm_demo, parameter_split, shortcut_gradients)
from model.gpt import count_parameters


def test_layer_norm_demo_gives_the_books_section_4_2_numbers():
    demo = layer_norm_demo()
    assert demo["relu_out"] == [pytest.approx(row, abs=1e-4) for row in (
        [0.2260, 0.3470, 0.0000, 0.2216, 0.0000, 0.0000],
        [0.2133, 0.2394, 0.0000, 0.5198, 0.3297, 0.0000])]
    assert demo["mean"] == pytest.approx([0.1324, 0.2170], abs=1e-4)
    assert demo["var"] == pytest.approx([0.0231, 0.0398], abs=1e-4)
    assert demo["normed_mean"] == pytest.approx([0.0, 0.0], abs=1e-6)
    assert demo["normed_var"] == pytest.approx([1.0, 1.0], abs=1e-5)
    # The book prints the normalised first row as 0.6159, 1.4126, -0.8719, 0.5872, ...
    assert demo["normed"][0][:4] == pytest.approx([0.6159, 1.4126, -0.8719, 0.5872], abs=1e-4)
    # The LayerNorm module: eps in the denominator keeps the variance a little under 1 here.
    assert demo["layer_norm_mean"] == pytest.approx([0.0, 0.0], abs=1e-6)
    assert all(0.999 < v < 1.0 for v in demo["layer_norm_var"])


def test_layer_norm_demo_is_editable_and_leaves_the_global_rng_alone():
    book = layer_norm_demo()
    torch.manual_seed(7)
    before = torch.get_rng_state()
    edited = [list(row) for row in book["batch"]]
    edited[1][0] = 2.0
    demo = layer_norm_demo(batch=edited)
    assert torch.equal(torch.get_rng_state(), before)
    # Same layer weights: the untouched row gives the book's output, the edited one does not.
    assert demo["relu_out"][0] == pytest.approx(book["relu_out"][0])
    assert demo["relu_out"][1] != pytest.approx(book["relu_out"][1])
    three_rows = layer_norm_demo(batch=edited + [[0.5, -0.5, 1.0, 0.0, 0.3]])
    assert len(three_rows["mean"]) == 3 and three_rows["normed_var"][2] == pytest.approx(1.0)
    assert layer_norm_demo(seed=1)["mean"] != pytest.approx(book["mean"])


@pytest.mark.parametrize("batch, message", [
    ([], "empty"), ([[1, 2, 3], [1, 2]], "row 2"), ([[1, "x", 3]], "row 1, column 2"),
    ([[1.0, float("nan")]], "not finite"),
])
def test_layer_norm_demo_names_the_bad_input(batch, message):
    with pytest.raises(ValueError, match=message):
        layer_norm_demo(batch=batch)


BOOK_WITHOUT = [0.00020173587836325169, 0.00012011159560643137, 0.0007152039906941354,
                0.0013988736318424344, 0.005049645435065031]
BOOK_WITH = [0.22169792652130127, 0.20694106817245483, 0.32896995544433594,
             0.2665732204914093, 1.3258540630340576]


def test_shortcut_gradients_are_the_books_section_4_4_numbers():
    assert shortcut_gradients(False) == pytest.approx(BOOK_WITHOUT, rel=1e-5)
    assert shortcut_gradients(True) == pytest.approx(BOOK_WITH, rel=1e-5)


def test_shortcut_gradients_refuse_an_input_of_the_wrong_size():
    with pytest.raises(ValueError, match="first layer takes 3"):
        shortcut_gradients(True, sample_input=[1.0, 2.0])


def test_gelu_vs_relu_curves_and_derivatives():
    assert len(gelu_vs_relu(-3, 3, n=61)["gelu_grad"]) == 61
    curves = gelu_vs_relu(-3, 3, n=7)  # x = -3, -2, ..., 3
    x = torch.tensor(curves["x"])
    assert curves["x"] == pytest.approx([-3, -2, -1, 0, 1, 2, 3])
    assert curves["relu"] == pytest.approx(torch.relu(x).tolist())
    exact = torch.nn.functional.gelu(x, approximate="tanh")
    assert curves["gelu"] == pytest.approx(exact.tolist(), abs=1e-6)
    assert curves["gelu_grad"][3] == pytest.approx(0.5)
    assert curves["relu_grad"] == [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    # GELU lets small negative inputs through with a negative slope; ReLU is flat there.
    assert curves["gelu_grad"][2] < 0
    # The autograd derivative is GELU's slope: check it against a finite difference.
    dense = gelu_vs_relu(-3, 3, n=601)
    step = dense["x"][1] - dense["x"][0]
    finite = [(b - a) / step for a, b in zip(dense["gelu"], dense["gelu"][1:])]
    midpoints = [(a + b) / 2 for a, b in zip(dense["gelu_grad"], dense["gelu_grad"][1:])]
    assert finite == pytest.approx(midpoints, abs=1e-3)
    with pytest.raises(ValueError, match="x_min must be below x_max"):
        gelu_vs_relu(1, -1)


def test_feed_forward_expands_four_times_and_projects_back():
    steps = feed_forward_shapes(get_preset("gpt2-124m"))
    assert [s["shape"] for s in steps] == [(2, 3, 768), (2, 3, 3072), (2, 3, 3072), (2, 3, 768)]
    assert [s["module"] for s in steps[1:]] == ["Linear", "GELU", "Linear"]
    assert sum(s["params"] for s in steps) == 4_722_432


BOOK_SIZES = [("gpt2-124m", 163_009_536, 621.83), ("gpt2-355m", 406_212_608, 1549.58),
              ("gpt2-774m", 838_220_800, 3197.56), ("gpt2-1558m", 1_637_792_000, 6247.68)]


def test_gpt2_sizes_are_the_books_section_4_6_numbers():
    sizes = gpt2_sizes()
    assert [(s["preset"], s["params"], round(s["mb"], 2)) for s in sizes] == BOOK_SIZES
    small = sizes[0]
    assert small["params_tied"] == 124_412_160
    assert small["split"]["per_block"]["att"] == 2_360_064
    assert small["split"]["per_block"]["ff"] == 4_722_432
    for size in sizes:
        assert size["params"] == count_parameters(size["config"])


@pytest.mark.parametrize("cfg", [get_preset("tiny"), get_preset("tiny").replace(qkv_bias=True),
                                 get_preset("gpt2-124m")])
def test_size_arithmetic_matches_a_real_models_parameters(cfg):
    model = GPTModel(cfg)
    split = parameter_split(cfg)
    assert split["total"] == sum(p.numel() for p in model.parameters())
    assert split["tok_emb"] == model.tok_emb.weight.numel()
    assert split["out_head"] == model.out_head.weight.numel()
    block = model.trf_blocks[0]
    assert split["per_block"]["att"] == sum(p.numel() for p in block.att.parameters())
    assert split["per_block"]["ff"] == sum(p.numel() for p in block.ff.parameters())
    # The model map's entries add up to the same model, module by module.
    entries = component_info(cfg, num_tokens=5)
    assert sum(e["params"] for e in entries) == split["total"]
    modules = dict(model.named_modules())
    for e in entries:
        if e["path"] is not None:
            assert e["params"] == sum(p.numel() for p in modules[e["path"]].parameters())


def test_component_info_follows_figure_4_15_with_the_shapes_of_the_text():
    cfg = get_preset("gpt2-124m")
    entries = component_info(cfg, num_tokens=12)
    keys = [e["key"] for e in entries]
    assert keys[:3] == ["tok_emb", "pos_emb", "drop_emb"] and keys[-2:] == ["final_norm",
                                                                            "out_head"]
    assert keys[3:11] == ["norm1", "att", "drop_shortcut", "shortcut", "norm2", "ff",
                          "drop_shortcut", "shortcut"]
    assert len(entries) == 3 + 8 * 12 + 2
    by_key = {e["key"]: e for e in entries if e["block"] in (None, 0)}
    assert by_key["tok_emb"]["input_shape"] == (1, 12)
    assert by_key["att"]["input_shape"] == by_key["att"]["output_shape"] == (1, 12, 768)
    assert by_key["att"]["inner_shapes"]["attn_weights"] == (1, 12, 12, 12)
    assert by_key["ff"]["inner_shapes"]["hidden"] == (1, 12, 3072)
    assert by_key["out_head"]["output_shape"] == (1, 12, 50257)
    assert by_key["att"]["params"] == 2_360_064
    assert by_key["ff"]["param_bytes"] == 4_722_432 * 4
    assert by_key["att"]["section"] == "3.6" and by_key["ff"]["section"] == "4.3"
    assert entries[-1]["path"] == "out_head" and entries[40]["path"].startswith("trf_blocks.4.")
    with pytest.raises(ValueError, match="context_length of 1024"):
        component_info(cfg, num_tokens=1025)
