"""Chapter 3 step by step (model.chapter3 and the lab's Qt-free core) against the book's prints.

Every value here is one the book prints for its example "Your journey starts with one step",
with its seeds (123 for the trainable weights, 789 for SelfAttention_v2 in the causal section,
123 for dropout and for the multi-head modules). 4 decimals, as the book prints them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from model import chapter3 as c3
from studyapp.areas.attention import core

ATOL = 6e-5  # the book rounds to 4 decimals


def close(actual, expected, atol=ATOL):
    actual = actual.detach().numpy() if hasattr(actual, "detach") else np.asarray(actual)
    np.testing.assert_allclose(actual, np.asarray(expected, dtype=np.float64), atol=atol, rtol=0)


# -- 3.3 simplified self-attention ------------------------------------------------------------
def test_simplified_attention_for_query_journey():
    s = c3.simplified_attention()
    close(s.scores, [0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865])
    close(s.naive_weights, [0.1455, 0.2278, 0.2249, 0.1285, 0.1077, 0.1656])
    close(s.weights, [0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581])
    assert float(s.naive_weights.sum()) == pytest.approx(1.0, abs=1e-6)
    assert float(s.weights.sum()) == pytest.approx(1.0, abs=1e-6)
    close(s.context, [0.4419, 0.6515, 0.5683])


def test_simplified_attention_full_matrices():
    s = c3.simplified_attention()
    close(s.all_scores, [
        [0.9995, 0.9544, 0.9422, 0.4753, 0.4576, 0.6310],
        [0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865],
        [0.9422, 1.4754, 1.4570, 0.8296, 0.7154, 1.0605],
        [0.4753, 0.8434, 0.8296, 0.4937, 0.3474, 0.6565],
        [0.4576, 0.7070, 0.7154, 0.3474, 0.6654, 0.2935],
        [0.6310, 1.0865, 1.0605, 0.6565, 0.2935, 0.9450]])
    close(s.all_weights, [
        [0.2098, 0.2006, 0.1981, 0.1242, 0.1220, 0.1452],
        [0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581],
        [0.1390, 0.2369, 0.2326, 0.1242, 0.1108, 0.1565],
        [0.1435, 0.2074, 0.2046, 0.1462, 0.1263, 0.1720],
        [0.1526, 0.1958, 0.1975, 0.1367, 0.1879, 0.1295],
        [0.1385, 0.2184, 0.2128, 0.1420, 0.0988, 0.1896]])
    close(s.all_context, [
        [0.4421, 0.5931, 0.5790],
        [0.4419, 0.6515, 0.5683],
        [0.4431, 0.6496, 0.5671],
        [0.4304, 0.6298, 0.5510],
        [0.4671, 0.5910, 0.5266],
        [0.4177, 0.6503, 0.5645]])


# -- 3.4 trainable weights ----------------------------------------------------------------------
def test_trainable_weights_are_drawn_as_the_book_draws_them():
    torch.manual_seed(123)
    expected = [torch.nn.Parameter(torch.rand(3, 2), requires_grad=False) for _ in range(3)]
    for got, want in zip(c3.make_trainable_weights(3, 2, 123), expected):
        assert torch.equal(got, want)
        assert not got.requires_grad


def test_trainable_attention_for_query_journey():
    s = c3.trainable_attention()
    close(s.query, [0.4306, 1.4551])  # query_2
    assert tuple(s.keys.shape) == (6, 2) and tuple(s.values.shape) == (6, 2)
    close(s.self_score, 1.8524)  # attn_score_22
    close(s.scores_q, [1.2705, 1.8524, 1.8111, 1.0795, 0.5577, 1.5440])  # attn_scores_2
    close(s.scaled_q * math.sqrt(2), s.scores_q)
    close(s.weights_q, [0.1500, 0.2264, 0.2199, 0.1311, 0.0906, 0.1820])  # attn_weights_2
    close(s.context_q, [0.3061, 0.8210])  # context_vec_2


def test_self_attention_v1_rows_equal_the_step_by_step_context():
    s = c3.trainable_attention()
    book_v1 = [[0.2996, 0.8053], [0.3061, 0.8210], [0.3058, 0.8203],
               [0.2948, 0.7939], [0.2927, 0.7891], [0.2990, 0.8040]]
    close(s.module_context, book_v1)
    close(s.context, book_v1)


def test_seeding_does_not_disturb_the_global_rng():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    c3.trainable_attention()
    c3.causal_attention()
    assert torch.equal(torch.rand(3), expected)


def test_softmax_scaling_demo():
    plain, sharp = c3.softmax_scaling_demo()
    close(plain, [0.1925, 0.1426, 0.2351, 0.1426, 0.2872])
    close(sharp, [0.0326, 0.0030, 0.1615, 0.0030, 0.8000])


# -- 3.5 causal attention and dropout -------------------------------------------------------
CAUSAL = [[1.0000, 0, 0, 0, 0, 0],
          [0.5517, 0.4483, 0, 0, 0, 0],
          [0.3800, 0.3097, 0.3103, 0, 0, 0],
          [0.2758, 0.2460, 0.2462, 0.2319, 0, 0],
          [0.2175, 0.1983, 0.1984, 0.1888, 0.1971, 0],
          [0.1935, 0.1663, 0.1666, 0.1542, 0.1666, 0.1529]]


def test_causal_mask_both_routes_give_the_books_weights():
    s = c3.causal_attention()
    close(s.weights, [
        [0.1921, 0.1646, 0.1652, 0.1550, 0.1721, 0.1510],
        [0.2041, 0.1659, 0.1662, 0.1496, 0.1665, 0.1477],
        [0.2036, 0.1659, 0.1662, 0.1498, 0.1664, 0.1480],
        [0.1869, 0.1667, 0.1668, 0.1571, 0.1661, 0.1564],
        [0.1830, 0.1669, 0.1670, 0.1588, 0.1658, 0.1585],
        [0.1935, 0.1663, 0.1666, 0.1542, 0.1666, 0.1529]])
    close(s.masked_simple[4], [0.1830, 0.1669, 0.1670, 0.1588, 0.1658, 0.0])
    close(s.masked_simple_norm, CAUSAL)
    close(s.masked_weights, CAUSAL)
    assert s.routes_max_difference < 1e-6
    finite = torch.where(torch.isinf(s.masked_scores), torch.zeros(()), s.masked_scores)
    close(finite, [
        [0.2899, 0, 0, 0, 0, 0],
        [0.4656, 0.1723, 0, 0, 0, 0],
        [0.4594, 0.1703, 0.1731, 0, 0, 0],
        [0.2642, 0.1024, 0.1036, 0.0186, 0, 0],
        [0.2183, 0.0874, 0.0882, 0.0177, 0.0786, 0],
        [0.3408, 0.1270, 0.1290, 0.0198, 0.1290, 0.0078]])
    assert torch.equal(torch.isinf(s.masked_scores), c3.causal_mask(6))


def test_self_attention_v2_under_seed_789_as_the_book_prints():
    torch.manual_seed(789)
    sa_v2 = c3.SelfAttention_v2(3, 2)
    with torch.no_grad():
        close(sa_v2(c3.book_inputs())[0], [-0.0739, 0.0713])


def test_dropout_rescales_the_survivors_and_matches_the_books_pattern():
    s = c3.dropout_attention(c3.causal_attention().masked_weights)
    assert s.scale == 2.0
    close(s.example, [[2, 2, 0, 2, 2, 0], [0, 0, 0, 2, 0, 2], [2, 2, 2, 2, 0, 2],
                      [0, 2, 2, 0, 0, 2], [0, 2, 0, 2, 0, 2], [0, 2, 2, 2, 2, 0]])
    close(s.dropped, [
        [2.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
        [0.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
        [0.7599, 0.6194, 0.6206, 0.0000, 0.0000, 0.0000],
        [0.0000, 0.4921, 0.4925, 0.0000, 0.0000, 0.0000],
        [0.0000, 0.3966, 0.0000, 0.3775, 0.0000, 0.0000],
        [0.0000, 0.3327, 0.3331, 0.3084, 0.3331, 0.0000]])
    other = c3.dropout_attention(s.weights, rate=0.2)
    assert other.scale == pytest.approx(1.25)
    survivors = other.dropped[other.kept]
    close(survivors, (s.weights * 1.25)[other.kept])
    with pytest.raises(ValueError, match="below 1"):
        c3.dropout_attention(s.weights, rate=1.0)


# -- 3.6 multi-head ------------------------------------------------------------------------
def test_multi_head_wrapper_and_weight_split_as_the_book_prints():
    s = c3.multi_head_attention()
    assert tuple(s.causal_context.shape) == (2, 6, 2)
    close(s.causal_context[0], [[-0.4519, 0.2216], [-0.5874, 0.0058], [-0.6300, -0.0632],
                                [-0.5675, -0.0843], [-0.5526, -0.0981], [-0.5299, -0.1081]])
    assert tuple(s.wrapper_context.shape) == (2, 6, 4)
    close(s.wrapper_context[0], [
        [-0.4519, 0.2216, 0.4772, 0.1063],
        [-0.5874, 0.0058, 0.5891, 0.3257],
        [-0.6300, -0.0632, 0.6202, 0.3860],
        [-0.5675, -0.0843, 0.5478, 0.3589],
        [-0.5526, -0.0981, 0.5321, 0.3428],
        [-0.5299, -0.1081, 0.5077, 0.3493]])
    assert tuple(s.mha_context.shape) == (2, 6, 2)
    close(s.mha_context[0], [[0.3190, 0.4858], [0.2943, 0.3897], [0.2856, 0.3593],
                             [0.2693, 0.3873], [0.2639, 0.3928], [0.2575, 0.4028]])
    close(s.mha_context[1], s.mha_context[0])
    shapes = dict(s.shapes)
    assert shapes["... then transpose(1, 2)"] == (2, 2, 6, 1)
    assert shapes["attention weights"] == (2, 2, 6, 6)
    for w in [*s.wrapper_head_weights, *s.mha_weights]:
        close(w.sum(-1), np.ones(6))
        assert torch.all(w[torch.triu(torch.ones(6, 6, dtype=torch.bool), 1)] == 0)


def test_multi_head_refuses_heads_that_do_not_divide_d_out():
    with pytest.raises(ValueError, match="divisible"):
        c3.multi_head_attention(d_out=3, num_heads=2)


def test_other_inputs_query_and_sizes_work():
    x = torch.rand(4, 5)
    s = c3.trainable_attention(x, query_index=3, d_out=4, seed=1)
    assert tuple(s.queries.shape) == (4, 4)
    close(s.context_q, s.context[3])
    with pytest.raises(ValueError, match="query index"):
        c3.simplified_attention(x, query_index=4)
    with pytest.raises(ValueError, match="finite"):
        c3.as_inputs([[1.0, float("nan")]])


# -- the lab's core: parsing, printing, the five steps -----------------------------------------
def test_format_tensor_prints_like_pytorch_with_4_decimals():
    assert core.format_tensor(torch.tensor([0.4419, 0.6515, 0.5683])) == \
        "tensor([0.4419, 0.6515, 0.5683])"
    assert core.format_tensor(torch.tensor(1.85240)) == "tensor(1.8524)"
    assert core.format_tensor([[0.2899, float("-inf")], [0.4656, 0.1723]]) == \
        "tensor([[0.2899,   -inf],\n        [0.4656, 0.1723]])"
    assert core.format_tensor([[2.0, 0.0], [0.0, 2.0]]) == "tensor([[2., 0.],\n        [0., 2.]])"
    assert core.format_tensor([-0.00001, 0.5]) == "tensor([0.0000, 0.5000])"


def test_parse_inputs_says_what_is_wrong_where():
    words = ["Your", "journey"]
    values, problems = core.parse_inputs([["0.43", "0,15", "0.89"], ["0.55", "0.87", "0.66"]],
                                         words)
    assert problems == [] and values[0] == [0.43, 0.15, 0.89]
    values, problems = core.parse_inputs([["0.43", "x", ""], ["1", "2", "inf"]], words)
    assert values is None
    messages = [(p.row, p.col, p.message) for p in problems]
    assert (0, 1, "'Your', column 2: 'x' is not a number") in messages
    assert any(r == 0 and c == 2 and "empty" in m for r, c, m in messages)
    assert any(r == 1 and c == 2 and "finite" in m for r, c, m in messages)
    values, problems = core.parse_inputs([["1", "2", "3"], ["1", "2"]], words)
    assert values is None and "same size" in problems[0].message and problems[0].row == 1
    assert core.parse_inputs([], words)[1][0].message.startswith("there are no input vectors")


def test_compute_steps_with_the_books_defaults_prints_the_books_numbers():
    steps = core.compute_steps(core.book_params())
    assert [s.number for s in steps] == [1, 2, 3, 4, 5]
    text = "\n".join(b.text for s in steps for b in s.blocks)
    for printed in ("tensor([0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865])",
                    "tensor([0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581])",
                    "tensor([0.4419, 0.6515, 0.5683])",
                    "tensor([0.4306, 1.4551])", "tensor(1.8524)",
                    "tensor([0.1500, 0.2264, 0.2199, 0.1311, 0.0906, 0.1820])",
                    "tensor([0.3061, 0.8210])",
                    "[0.2996, 0.8053]",
                    "[0.5517, 0.4483, 0.0000, 0.0000, 0.0000, 0.0000]",
                    "[0.2899,   -inf,   -inf,   -inf,   -inf,   -inf]",
                    "[0.7599, 0.6194, 0.6206, 0.0000, 0.0000, 0.0000]",
                    "[-0.4519,  0.2216,  0.4772,  0.1063]",
                    "[0.3190, 0.4858]"):
        assert printed in text, printed
    assert "agree" in steps[2].checks[0]
    for step in steps:
        for block in step.blocks:
            if block.matrix is not None:
                assert block.matrix.ndim == 2
                assert len(block.row_labels) == block.matrix.shape[0]
                assert len(block.col_labels) == block.matrix.shape[1]


def test_check_params_names_the_bad_field():
    p = core.book_params()
    p.d_out, p.num_heads = 3, 2
    assert "num_heads" in core.check_params(p)
    with pytest.raises(ValueError, match="divide"):
        core.compute_steps(p)
    p = core.book_params()
    p.dropout_rate = 1.0
    assert set(core.check_params(p)) == {"dropout_rate"}


# -- the lab's capture of a model ---------------------------------------------------------------
def test_run_attention_keeps_every_head_as_numpy_and_skips_the_logits():
    from model import GPTModel, get_preset
    from model.inspect import capture
    from model.tokenizer import get_tokenizer

    torch.manual_seed(123)
    model = GPTModel(get_preset("tiny")).eval()
    prepared = core.prepare_text("Your journey starts with one step", get_tokenizer(), 64)
    assert prepared.labels == ["Your", "journey", "starts", "with", "one", "step"]
    run = core.run_attention(model, prepared.ids, prepared.labels, model_name="tiny")
    full = capture(model, torch.tensor([prepared.ids]))
    assert capture(model, torch.tensor([prepared.ids]), logits=False).logits is None
    assert run.weights.shape == (2, 2, 6, 6) and run.queries.shape == (2, 2, 6, 32)
    np.testing.assert_allclose(run.weights[1], full.layers[1].attn_weights[0].numpy())
    np.testing.assert_allclose(run.head_weights(0, None), run.weights[0].mean(0))
    pipeline = {m.key: m.values for m in run.pipeline(1, 1)}
    np.testing.assert_allclose(run.head_scores(1, 1), full.layers[1].scores[0, 1].numpy(),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pipeline["scaled"], run.head_scores(1, 1) / math.sqrt(32),
                               rtol=1e-6)
    assert np.isneginf(pipeline["masked"][0, 5]) and np.isnan(pipeline["weights"][0, 5])
    with pytest.raises(ValueError, match="no tokens"):
        core.run_attention(model, [])


def test_prepare_text_handles_the_awkward_inputs():
    from model.tokenizer import get_tokenizer

    tok = get_tokenizer()
    assert "Type some text" in core.prepare_text(" \n ", tok, 64).problem
    long = core.prepare_text("word " * 100, tok, 64)
    assert len(long.ids) == 64 and long.total_tokens == 101 and "first 64" in long.notices[0]
    one = core.prepare_text("Hello", tok, 64)
    assert one.ok and "Only one token" in one.notices[0]
    special = core.prepare_text("<|endoftext|>", tok, 64)
    assert special.labels == ["<|endoftext|>"] and "only the special token" in special.notices[-1]
    spaced = core.prepare_text("a\n\n  b", tok, 64)
    assert "\u21b5\u21b5" in spaced.labels and "\u2423" in spaced.labels


def test_naive_normalisation_is_flagged_for_negative_scores():
    p = core.StepParams(inputs=[[1.0, -1.0], [-1.0, 1.0], [0.5, 0.5]], words=["a", "b", "c"],
                        query_index=0)
    naive = core.compute_steps(p)[0].blocks[1]
    assert "negative" in naive.note


def test_most_focused_head_prefers_sharp_weights_away_from_the_first_token():
    t = 8
    weights = np.full((2, 2, t, t), 0.0, dtype=np.float32)
    for i in range(t):
        weights[:, :, i, : i + 1] = 1.0 / (i + 1)  # even spread everywhere
    weights[1, 0] = 0.0
    weights[1, 0, 0, 0] = 1.0
    for i in range(1, t):
        weights[1, 0, i, i - 1] = 1.0  # a previous-token head
    run = core.AttentionRun([0] * t, ["x"] * t, weights, *(np.zeros((2, 2, t, 4)),) * 3)
    assert core.most_focused_head(run) == (1, 0)
