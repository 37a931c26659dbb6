"""`python -m model.generate` and the input checks the Generate lab shares with it."""

import subprocess
import sys

import pytest
import torch

from model import GPTModel, get_preset
from model.checkpoint import save_checkpoint
from model.generate import (StreamDecoder, apply_top_p, check_settings, generate, main,
                            prepare_prompt)
from model.tokenizer import get_tokenizer


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    torch.manual_seed(123)
    model = GPTModel(get_preset("tiny")).eval()
    path = save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "tiny")
    return model, path


def test_cli_prints_the_prompt_then_the_greedy_continuation(tiny_checkpoint, capsys):
    model, path = tiny_checkpoint
    assert main(["--prompt", "Every effort moves you", "--checkpoint", str(path),
                 "--max-new-tokens", "6", "--temperature", "0"]) == 0
    out = capsys.readouterr().out
    tok = get_tokenizer()
    ids = generate(model, torch.tensor([tok.encode("Every effort moves you")]), 6)
    assert out == tok.decode(ids[0].tolist()) + "\n"


def test_cli_sampling_is_reproducible_and_notes_an_empty_prompt(tiny_checkpoint, capsys):
    _, path = tiny_checkpoint
    args = ["--prompt", "", "--checkpoint", str(path), "--max-new-tokens", "5",
            "--temperature", "1.5", "--top-k", "40", "--top-p", "0.9", "--seed", "7"]
    assert main(args) == 0
    first = capsys.readouterr()
    assert "<|endoftext|>" in first.err
    assert main(args + ["--no-kv-cache"]) == 0
    assert capsys.readouterr().out == first.out


def test_cli_refuses_bad_input_with_a_message_and_nonzero_exit(tmp_path, capsys):
    assert main(["--prompt", "x", "--temperature", "-0.5", "--preset", "tiny"]) == 2
    assert "Temperature must be 0 or more" in capsys.readouterr().err
    assert main(["--prompt", "x", "--checkpoint", str(tmp_path / "nope.pth")]) == 1
    assert "no such checkpoint" in capsys.readouterr().err
    # Through the interpreter too: the exit status is what a shell sees.
    proc = subprocess.run([sys.executable, "-m", "model.generate", "--prompt", "hi",
                           "--temperature", "-1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Temperature" in proc.stderr and proc.stdout == ""


def test_prompt_preparation_handles_empty_and_too_long_prompts():
    tok = get_tokenizer()
    empty = prepare_prompt("", tok, 64)
    assert empty.ids == [50256] and "empty" in empty.notices[0]
    long = prepare_prompt("word" + " word" * 99, tok, 64)  # 100 tokens
    assert len(long.ids) == 64 and long.dropped == 36 and "last 64" in long.notices[0]
    assert prepare_prompt("Hello", tok, 64).notices == []


def test_settings_are_checked_with_messages():
    s, notes = check_settings(0, 0.0, 60000, 1.0, 123, vocab_size=50257)
    assert s.greedy and s.top_k is None and s.top_p is None
    assert any("nothing is generated" in n for n in notes)
    assert any("not smaller than the vocabulary" in n for n in notes)
    for bad, match in [((5, -1.0, None, None, 1), "Temperature"),
                       ((-1, 1.0, None, None, 1), "Max new tokens"),
                       ((5, 1.0, -3, None, 1), "Top-k"),
                       ((5, 1.0, None, 0.0, 1), "Top-p"),
                       ((5, 1.0, None, 1.5, 1), "Top-p")]:
        with pytest.raises(ValueError, match=match):
            check_settings(*bad, vocab_size=50257)


def test_top_p_always_keeps_the_most_likely_token():
    logits = torch.tensor([4.51, 0.89, -1.90, 6.75, 1.63, -1.62, -1.89, 6.28, 1.79])
    kept = torch.isfinite(apply_top_p(logits, 1e-9))
    assert kept.tolist() == [i == 3 for i in range(9)]
    # 0.5721 (forward) + 0.3576 (toward) first reach 0.9.
    assert torch.isfinite(apply_top_p(logits, 0.9)).nonzero().flatten().tolist() == [3, 7]


def test_stream_decoder_holds_back_half_a_character():
    tok = get_tokenizer()
    ids = tok.encode("naïve 🙂 done")
    stream = StreamDecoder(tok)
    text = "".join(stream.feed(i) for i in ids) + stream.flush()
    assert text == "naïve 🙂 done"
