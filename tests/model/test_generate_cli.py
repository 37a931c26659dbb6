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


def test_cli_refuses_a_seed_beyond_64_bits_with_a_message(capsys):
    assert main(["--prompt", "x", "--preset", "tiny", "--seed",
                 "99999999999999999999999", "--temperature", "1"]) == 2
    assert "Seed must be a whole number from 0 to 18,446,744,073,709,551,615" in \
        capsys.readouterr().err
    assert main(["--prompt", "x", "--preset", "tiny", "--temperature", "inf"]) == 2
    assert "finite" in capsys.readouterr().err


def test_a_tiny_temperature_samples_the_most_likely_token():
    # The book's chapter 5 logits: "forward" (id 3) is the most likely next token.
    logits = torch.tensor([4.51, 0.89, -1.90, 6.75, 1.63, -1.62, -1.89, 6.28, 1.79])
    from model.generate import next_token_probs

    for temperature in (1e-45, 1e-300, 5e-324):
        probs = next_token_probs(logits, temperature)
        assert torch.isfinite(probs).all() and probs.argmax() == 3 and float(probs[3]) == 1.0
    probs = next_token_probs(logits, 1.0)  # the ordinary path is untouched
    torch.testing.assert_close(probs, torch.softmax(logits, dim=-1))


def test_cli_samples_at_a_tiny_temperature_like_greedy(tiny_checkpoint, capsys):
    _, path = tiny_checkpoint
    base = ["--prompt", "Every effort moves you", "--checkpoint", str(path),
            "--max-new-tokens", "4"]
    assert main(base + ["--temperature", "1e-45"]) == 0
    tiny = capsys.readouterr().out
    assert main(base + ["--temperature", "0"]) == 0
    assert tiny == capsys.readouterr().out


def test_cli_reads_the_prompt_from_a_file(tiny_checkpoint, tmp_path, capsys):
    import os

    _, path = tiny_checkpoint
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("Every effort moves you", encoding="utf-8")
    common = ["--checkpoint", str(path), "--max-new-tokens", "6"]
    assert main(["--prompt-file", str(prompt), *common]) == 0
    from_file = capsys.readouterr().out
    assert main(["--prompt", "Every effort moves you", *common]) == 0
    assert from_file == capsys.readouterr().out
    prompt.write_bytes(b"\xff\xfe not utf-8 \xff")
    assert main(["--prompt-file", str(prompt), *common]) == 2
    assert "is not UTF-8 text" in capsys.readouterr().err
    assert main(["--prompt-file", str(tmp_path / "absent.txt"), *common]) == 2
    assert "cannot read the prompt file" in capsys.readouterr().err
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo.txt"
        os.mkfifo(fifo)
        assert main(["--prompt-file", str(fifo), *common]) == 2  # refused, not blocked
        assert "not a regular file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--prompt", "x", "--prompt-file", str(prompt)])  # one or the other
