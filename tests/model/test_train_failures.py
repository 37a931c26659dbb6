"""Training on a large corpus and a full disk: bounded, reported evaluation; tokenizing that a
stop interrupts; checkpoints that fail without ending the run; CLI values refused in words."""

from __future__ import annotations

import errno
import json
import random

import pytest
import torch

from model.config import GPTConfig
from model.resources import read_bundled_notes, read_the_verdict
from model.stopping import StopToken
from model.tokenizer import get_tokenizer
from model.train import TrainConfig, Trainer, main
from model.train.config import EVAL_MAX_WINDOWS, TrainingStopped
from model.train.corpus import TOKENIZE_CHUNK_CHARS, encode_corpus
from model.train.loop import TrainingLoop

TINY = GPTConfig(context_length=16, emb_dim=16, n_heads=2, n_layers=1, drop_rate=0.0)
QUICK = TrainConfig(lr=3e-3, batch_size=2, epochs=1, max_steps=2, eval_every=0, seed=123,
                    sample_tokens=0)
WORDS = ("every effort moves you forward and the model learns the next word of a long text "
         "Jack Gisburn painted portraits, then stopped; why? 1908 ").split(" ")


pytestmark = pytest.mark.usefixtures("one_thread")


def generated_text(n_chars: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    words = rng.choices(WORDS, k=n_chars // 5)
    return " ".join(words)[:n_chars]


@pytest.fixture(scope="module")
def many_windows_text() -> str:
    """About 6,000 tokens of validation text: over 256 windows of 16 tokens."""
    return generated_text(300_000, seed=1)


def full_disk(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


# -- tokenizing ---------------------------------------------------------------------------------

def test_tokenizing_in_pieces_gives_the_tokens_of_the_whole_text():
    tok = get_tokenizer()
    verdict = read_the_verdict()
    assert len(encode_corpus(tok, verdict)) == 5145  # the book's count for The Verdict
    rng = random.Random(3)
    odd = "".join(rng.choice(["a", " ", "  ", "\n", "\n\n", "\t", "'s", "7", "!", "\u00e9",
                              " \n", "<|endoftext|>", "\u00a0", "\r\n", "xyz"])
                  for _ in range(20_000))
    for text in (verdict, read_bundled_notes(), odd):
        whole = tok.encode(text)
        for chunk in (1, 7, 100, 5000):
            assert encode_corpus(tok, text, chunk_chars=chunk).tolist() == whole


class CountingTokenizer:
    """GPT-2's tokenizer that counts its calls and asks for a stop after `stop_after` of them."""

    def __init__(self, token: StopToken, stop_after: int):
        self.inner = get_tokenizer()
        self.token = token
        self.stop_after = stop_after
        self.calls = 0

    def encode(self, text: str) -> list[int]:
        self.calls += 1
        ids = self.inner.encode(text)
        if self.calls == self.stop_after:
            self.token.stop()  # the window closes while this piece is being tokenized
        return ids

    def decode(self, ids) -> str:
        return self.inner.decode(ids)


def test_a_stop_while_a_large_corpus_is_tokenized_ends_after_the_current_piece():
    text = generated_text(8 * TOKENIZE_CHUNK_CHARS)  # 8 MB: 7 or more pieces of training text
    token = StopToken()
    tokenizer = CountingTokenizer(token, stop_after=2)
    with pytest.raises(TrainingStopped):
        Trainer(TINY, QUICK, text, tokenizer=tokenizer, stop=token)
    assert tokenizer.calls == 2  # not one piece more once the stop was asked for


# -- evaluation on a large corpus -----------------------------------------------------------------

def test_evaluation_is_bounded_by_default_and_zero_means_every_window(many_windows_text):
    assert TrainConfig().eval_max_windows == EVAL_MAX_WINDOWS
    bounded = Trainer(TINY, QUICK, many_windows_text)
    assert len(bounded.val_windows) > EVAL_MAX_WINDOWS
    steps = list(bounded.task.evaluate_iter())
    assert steps[-1] == (2 * EVAL_MAX_WINDOWS, 2 * EVAL_MAX_WINDOWS)  # training + validation
    full = Trainer(TINY, QUICK.replace(eval_max_windows=0), many_windows_text)
    n_val = len(full.val_windows)
    assert list(full.task.evaluate_iter())[-1][1] == 2 * n_val
    # the bounded subset is spread over the whole validation text, not only its start
    _, val = bounded.task._eval_subsets()
    assert torch.equal(val[0], full.val_windows[0]) and torch.equal(val[-1], full.val_windows[-1])


def test_a_long_evaluation_reports_its_progress(many_windows_text, monkeypatch):
    monkeypatch.setattr(TrainingLoop, "eval_progress_s", 0.0)
    trainer = Trainer(TINY, QUICK.replace(eval_max_windows=64), many_windows_text)
    records = list(trainer.run())
    events = [r["event"] for r in records]
    progress = [r for r in records if r["event"] == "eval_progress"]
    assert progress and events.index("eval_progress") < events.index("eval")
    assert all(r["total"] == 128 and r["step"] == 2 for r in progress)
    done = [r["done"] for r in progress]
    assert done == sorted(done) and 0 < done[0] and done[-1] < 128
    json.dumps(records)


# -- a full disk ----------------------------------------------------------------------------------

def test_a_failed_periodic_checkpoint_is_a_warning_and_training_goes_on(tmp_path, monkeypatch):
    trainer = Trainer(TINY, QUICK.replace(max_steps=4, checkpoint_every=2), read_the_verdict())
    trainer.checkpoint_path = tmp_path / "run.safetensors"
    monkeypatch.setattr("model.checkpoint.atomic_write_bytes", full_disk)
    records = list(trainer.run())
    warnings = [r for r in records if r["event"] == "warning"]
    assert [w["step"] for w in warnings] == [2, 4]
    assert warnings[0]["kind"] == "checkpoint"
    assert "No space left on device" in warnings[0]["message"]
    assert str(trainer.checkpoint_path) in warnings[0]["message"]
    assert [r["step"] for r in records if r["event"] == "step"] == [1, 2, 3, 4]
    assert records[-1]["event"] == "done" and records[-1]["reason"] == "max_steps"


CLI_TINY = ["--corpus", "the-verdict", "--preset", "tiny", "--emb-dim", "16", "--n-layers", "1",
            "--n-heads", "2", "--context-length", "16", "--batch-size", "2", "--max-steps", "4",
            "--eval-every", "0", "--sample-tokens", "0", "--epochs", "1", "--device", "cpu"]


def test_cli_on_a_full_disk_trains_on_and_says_where_the_model_could_not_be_saved(
        tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("model.checkpoint.atomic_write_bytes", full_disk)
    jsonl = tmp_path / "run.jsonl"
    code = main(CLI_TINY + ["--checkpoint-every", "2", "--out", str(tmp_path / "out"),
                            "--jsonl", str(jsonl), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert records[-1]["event"] == "done" and records[-1]["step"] == 4  # it trained to the end
    assert sum(r["event"] == "warning" for r in records) == 2
    assert err.count("warning: ") == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: the trained model was not saved")
    assert "No space left on device" in last and str(tmp_path / "out" / "model.safetensors") in last


@pytest.mark.parametrize("args, words", [
    (["--seed", "99999999999999999999999"], "seed must be a whole number from 0 to"),
    (["--jsonl", "/nonexistent/dir/x.jsonl"], "the folder /nonexistent/dir does not exist"),
    (["--checkpoint-every", "-1"], "checkpoint every must be 0"),
    (["--eval-max-windows", "-1"], "eval max windows must be 0"),
])
def test_cli_refuses_values_it_cannot_use_before_training(args, words, capsys):
    assert main(CLI_TINY + args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # not one step was trained
    assert captured.err.startswith("error: ") and words in captured.err
    assert "Traceback" not in captured.err


def test_cli_eval_max_windows_reaches_the_recipe():
    from model.train.cli import _configs_from_args, _parser

    for flag, expected in (([], EVAL_MAX_WINDOWS), (["--eval-max-windows", "0"], 0),
                           (["--eval-max-windows", "40"], 40)):
        _, train_cfg = _configs_from_args(_parser().parse_args(flag))
        assert train_cfg.eval_max_windows == expected
