"""The Architecture lab's core (chapter 4): map rows, sizes, demo inputs and the blocks run."""

from __future__ import annotations

import pytest
import torch

from model.config import PRESETS
from model.tokenizer import get_tokenizer
from studyapp.areas.architecture import core


def test_the_map_is_figure_4_15_with_shapes_for_the_text():
    cfg = PRESETS["gpt2-124m"]
    comps = core.map_components(cfg, 12)
    assert [c.key for c in comps] == [
        "tok_emb", "pos_emb", "drop_emb", "norm1", "att", "drop_shortcut", "shortcut", "norm2",
        "ff", "drop_shortcut", "shortcut", "final_norm", "out_head"]
    att = dict(core.component_rows(comps[4]))
    assert att["Parameters"] == "2,360,064 per block \u00d7 12 = 28,320,768"
    assert att["Input shape"] == att["Output shape"] == "(1, 12, 768)"
    assert att["Inside: attn_weights"] == "(1, 12, 12, 12)"
    assert att["In the book"] == "section 3.6"
    ff = dict(core.component_rows(comps[8]))
    assert ff["Parameters"].startswith("4,722,432 per block")
    assert ff["Inside: hidden"] == "(1, 12, 3072)"
    head = dict(core.component_rows(comps[-1]))
    assert head["Output shape"] == "(1, 12, 50257)" and head["Parameters"] == "38,597,376"
    # more tokens than the context: the map shows the context's worth, as the run does
    assert core.map_components(cfg, 5000)[0].info["input_shape"] == (1, 1024)


def test_sizes_are_the_books_and_weight_tying_is_explained():
    rows = core.sizes_rows(PRESETS["tiny"], "tiny")
    assert [r[4] for r in rows[:4]] == ["163,009,536", "406,212,608", "838,220,800",
                                        "1,637,792,000"]
    assert rows[0][5] == "124,412,160"
    assert [r[6] for r in rows[:4]] == ["621.83 MB", "1,549.58 MB", "3,197.56 MB",
                                        "6,247.68 MB"]
    assert rows[0][7:] == ("2,360,064", "4,722,432")
    assert rows[-1][0] == "This model: tiny"
    text = core.weight_tying_text()
    assert "163,009,536" in text and "124,412,160" in text and "tok_emb" in text


def test_demo_inputs_are_parsed_and_bad_entries_named():
    assert core.parse_numbers("[1, 0, -1]", "input") == [1.0, 0.0, -1.0]
    assert core.parse_sizes("3 3 1") == [3, 3, 1]
    with pytest.raises(ValueError, match=r"input: entry 2, 'x', is not a number"):
        core.parse_numbers("1, x", "input")
    with pytest.raises(ValueError, match="entry 2, 2.5, must be a whole number"):
        core.parse_sizes("3, 2.5")
    with pytest.raises(ValueError, match="at least two sizes"):
        core.parse_sizes("3")
    with pytest.raises(ValueError, match=r"row 2, column 1: 'a' is not a number"):
        core.parse_batch([["1", "2"], ["a", "3"]])


def test_layer_norm_and_shortcut_views_hold_the_books_numbers():
    ln = core.layer_norm_view(None)
    assert ln["matches_book"]
    assert [round(v, 4) for v in ln["mean"]] == [0.1324, 0.2170]
    assert [round(v, 4) for v in ln["normed_var"]] == [1.0, 1.0]
    edited = core.book_batch()
    edited[0][0] += 1.0
    assert not core.layer_norm_view(edited)["matches_book"]
    sc = core.shortcut_view(core.BOOK_LAYER_SIZES, core.BOOK_SAMPLE_INPUT)
    assert sc["matches_book"]
    assert sc["without"] == pytest.approx(core.BOOK_GRADS_WITHOUT, rel=1e-5)
    assert sc["with"] == pytest.approx(core.BOOK_GRADS_WITH, rel=1e-5)
    other = core.shortcut_view([3, 3, 1], [1.0, 0.0, -1.0])
    assert not other["is_book_setup"] and len(other["without"]) == 2


def test_run_blocks_lens_last_row_is_the_models_prediction(tiny_entry):
    tok = get_tokenizer()
    text = "Every effort moves you"
    run = core.run_blocks(tiny_entry.model, tok, text, "tiny")
    ids = tok.encode(text)
    assert run.token_ids == ids and run.labels[1] == "\u00b7effort"
    with torch.no_grad():
        logits = tiny_entry.model(torch.tensor([ids]))[0]  # (num_tokens, vocab)
    assert run.prediction == logits.argmax(-1).tolist()
    assert run.top_ids.shape == (2, len(ids), 5)
    top = core.lens_tooltip(run, 1, 0)
    assert len(top) == 5 and top[0][1] >= top[-1][1]
    x, series = core.stat_series(run, core.STAT_PLOTS[0])
    assert x == [0, 1, 2] and len(series[0][1]) == 3
    assert core.layer_name(run, 1) == "after block 2 = the model's output"


def test_run_blocks_cuts_long_text_to_the_context_and_reads_empty_text(tiny_entry):
    tok = get_tokenizer()
    long_text = "one two three " * 40  # the tiny context is 64 tokens
    n = len(tok.encode(long_text))
    run = core.run_blocks(tiny_entry.model, tok, long_text)
    assert n > 64 and run.num_tokens == 64 and run.truncated_from == n
    assert run.token_ids == tok.encode(long_text)[:64]
    assert f"cut from {n}" in core.run_summary(run)
    empty = core.run_blocks(tiny_entry.model, tok, "   ")
    assert empty.labels == ["<|endoftext|>"]


def test_feed_forward_steps_are_the_modules_shapes():
    steps = core.feed_forward_steps(768, 2, 3)
    assert [s["shape"] for s in steps] == [(2, 3, 768), (2, 3, 3072), (2, 3, 3072), (2, 3, 768)]
    assert [s["module"] for s in steps] == ["", "Linear", "GELU", "Linear"]
    assert sum(s["params"] for s in steps) == 4_722_432  # section 4.6, per GPT-2 small block
    # the same shapes as the real module computes on a real input
    from model.config import GPTConfig
    from model.gpt import FeedForward

    ff = FeedForward(GPTConfig(emb_dim=16, n_heads=1))
    x = torch.rand(1, 5, 16)
    real = [tuple(x.shape)]
    for layer in ff.layers:
        x = layer(x)
        real.append(tuple(x.shape))
    assert [s["shape"] for s in core.feed_forward_steps(16, 1, 5)] == real
    with pytest.raises(ValueError, match="emb_dim must be a positive whole number"):
        core.feed_forward_steps(0, 1, 1)
