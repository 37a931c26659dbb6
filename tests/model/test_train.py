"""The training engine (model/train/): records, loss, schedule, stop/pause, bad input, CLI."""

from __future__ import annotations

import json
import math
import threading

import pytest
import torch
import torch.nn.functional as F

from model.config import GPTConfig
from model.loss import calc_loss_batch, linear_cross_entropy
from model.resources import read_the_verdict
from model.stopping import StopToken
from model.train import TrainConfig, Trainer, TrainingError, check_output_dir, main, read_corpus

TINY = GPTConfig(context_length=16, emb_dim=16, n_heads=2, n_layers=1, drop_rate=0.0)
QUICK = TrainConfig(lr=3e-3, batch_size=2, epochs=1, max_steps=6, eval_every=3, seed=123,
                    sample_tokens=4, eval_max_windows=8)


@pytest.fixture(scope="module")
def verdict() -> str:
    return read_the_verdict()


@pytest.fixture(autouse=True)
def one_thread():
    # Tiny models on a shared machine: one thread avoids OpenMP threads waiting on each other.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def quick_run(verdict):
    """One short run shared by the tests that only read its records or its model."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    trainer = Trainer(TINY, QUICK, verdict, corpus_name="The Verdict")
    records = list(trainer.run())
    torch.set_num_threads(before)
    return trainer, records


def run_all(trainer, stop=None):
    return list(trainer.run(stop))


# -- loss -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("chunk", [1, 5, 1024])
def test_linear_cross_entropy_matches_the_book_loss_and_gradients(chunk):
    torch.manual_seed(0)
    hidden = torch.randn(2, 7, 8, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(50, 8, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, 50, (2, 7))
    ref = F.cross_entropy((hidden @ weight.T).flatten(0, 1), targets.flatten())
    ref_grads = torch.autograd.grad(ref * 3.0, (hidden, weight))
    fused = linear_cross_entropy(hidden, weight, targets, chunk_rows=chunk)
    grads = torch.autograd.grad(fused * 3.0, (hidden, weight))
    assert torch.allclose(fused, ref, atol=1e-12)
    for got, want in zip(grads, ref_grads):
        assert torch.allclose(got, want, atol=1e-12)


def test_fused_loss_equals_calc_loss_batch_on_the_model():
    from model.gpt import GPTModel
    from model.train.trainer import GPTWithLoss

    torch.manual_seed(123)
    model = GPTModel(TINY).eval()
    x = torch.randint(0, TINY.vocab_size, (2, 16))
    y = torch.randint(0, TINY.vocab_size, (2, 16))
    book = calc_loss_batch(x, y, model)
    fused = GPTWithLoss(model, fused=True, chunk_rows=7)(x, y)
    assert abs(float(book.detach()) - float(fused.detach())) < 1e-5
    assert float(book.detach()) == pytest.approx(math.log(TINY.vocab_size), abs=0.6)  # untrained: ~10.8


# -- the loop -------------------------------------------------------------------------------------

def test_records_in_order_with_the_documented_fields(quick_run):
    _, records = quick_run
    events = [r["event"] for r in records]
    assert events == ["step"] * 3 + ["eval", "sample"] + ["step"] * 3 + ["eval", "sample", "done"]
    step = records[0]
    for key in ("step", "epoch", "total_steps", "tokens_seen", "train_loss", "lr",
                "tokens_per_s", "elapsed_s", "eta_s"):
        assert key in step
    assert step["tokens_seen"] == 2 * 16 and records[5]["tokens_seen"] == 4 * 2 * 16
    ev = records[3]
    assert {"train_loss", "val_loss", "step", "tokens_seen", "elapsed_s"} <= set(ev)
    assert records[4]["text"].startswith("Every effort moves you")
    done = records[-1]
    assert done["reason"] == "max_steps" and done["step"] == 6 and done["elapsed_s"] > 0
    json.dumps(records)  # plain data only


def test_loss_goes_down_and_a_seed_reproduces_the_run(verdict):
    cfg = QUICK.replace(max_steps=12, eval_every=0, sample_tokens=0, lr=3e-2)
    a = [r["train_loss"] for r in Trainer(TINY, cfg, verdict).run() if r["event"] == "step"]
    b = [r["train_loss"] for r in Trainer(TINY, cfg, verdict).run() if r["event"] == "step"]
    assert a == b
    assert sum(a[-3:]) / 3 < sum(a[:3]) / 3 - 1.0
    c = [r["train_loss"] for r in Trainer(TINY, cfg.replace(seed=7, max_steps=2), verdict).run()
         if r["event"] == "step"]
    assert c != a[:2]


def test_fused_and_book_loss_paths_train_the_same(verdict):
    cfg = QUICK.replace(max_steps=4, eval_every=0, sample_tokens=0, fused_adamw=False)
    a = [r["train_loss"] for r in Trainer(TINY, cfg, verdict).run() if r["event"] == "step"]
    b = [r["train_loss"] for r in Trainer(TINY, cfg.replace(fused_loss=False), verdict).run()
         if r["event"] == "step"]
    assert a == pytest.approx(b, abs=1e-4)


def test_validation_loss_covers_every_window_of_the_book_split(verdict):
    trainer = Trainer(TINY, QUICK.replace(eval_max_windows=None), verdict)
    from model.data import GPTDatasetV1, train_val_split
    from model.tokenizer import get_tokenizer

    _, val_text = train_val_split(verdict, 0.9)
    book_windows = len(GPTDatasetV1(val_text, get_tokenizer(), 16, 16))
    assert len(trainer.val_windows) == book_windows
    # the mean over all windows equals the book's calc_loss_loader with every batch
    model = trainer.model.eval()
    with torch.no_grad():
        per_window = [float(calc_loss_batch(w[None, :-1], w[None, 1:], model))
                      for w in trainer.val_windows]
    _, val_loss = trainer.evaluate()
    assert val_loss == pytest.approx(sum(per_window) / len(per_window), abs=1e-4)


def test_warmup_and_cosine_schedule(verdict):
    cfg = QUICK.replace(max_steps=20, warmup_steps=4, cosine=True, min_lr_ratio=0.1, lr=1e-3)
    t = Trainer(TINY, cfg, verdict)
    assert t.lr_at(0) == pytest.approx(2.5e-4)
    assert t.lr_at(3) == pytest.approx(1e-3)
    assert t.lr_at(4) == pytest.approx(1e-3)
    assert t.lr_at(12) == pytest.approx(1e-4 + 0.9e-3 * 0.5)
    assert t.lr_at(20) == pytest.approx(1e-4)
    flat = Trainer(TINY, QUICK.replace(lr=2e-3), verdict)
    assert {flat.lr_at(s) for s in range(5)} == {2e-3}


def test_target_val_loss_stops_at_the_first_evaluation_under_it(verdict):
    records = run_all(Trainer(TINY, QUICK.replace(target_val_loss=50.0), verdict))
    assert records[-1]["reason"] == "target_val_loss"
    assert records[-1]["step"] == 3


def test_nan_loss_stops_with_the_step_and_a_learning_rate_hint(verdict):
    from model.gpt import GPTModel

    torch.manual_seed(1)
    model = GPTModel(TINY)
    with torch.no_grad():
        model.tok_emb.weight[:] = float("nan")
    records = run_all(Trainer(TINY, QUICK.replace(lr=0.5), verdict, model=model))
    done = records[-1]
    assert done["reason"] == "nan"
    assert "step 1" in done["message"] and "learning rate" in done["message"]
    assert [r["event"] for r in records] == ["done"]


def test_stop_is_checked_every_step(verdict):
    flag = StopToken()
    records = []
    for record in Trainer(TINY, QUICK.replace(max_steps=50), verdict).run(flag):
        records.append(record)
        if record["event"] == "step" and record["step"] == 2:
            flag.stop()
    assert records[-1]["reason"] == "stopped" and records[-1]["step"] == 2
    assert [r["event"] for r in records] == ["step", "step", "done"]


def test_a_consumer_that_stops_pulling_leaves_a_stopped_run_that_can_be_saved(verdict, tmp_path):
    trainer = Trainer(TINY, QUICK.replace(max_steps=50, eval_every=0, sample_tokens=0), verdict)
    it = trainer.run()
    next(it), next(it)
    it.close()  # what a GUI worker does when told to stop: it breaks out of its loop
    assert trainer.last_done["reason"] == "stopped" and trainer.last_done["step"] == 2
    assert not trainer.model.training
    path = trainer.save(tmp_path / "stopped.safetensors")
    assert path.is_file()


def test_pause_blocks_the_loop_and_is_not_counted_as_training_time(verdict):
    flag = StopToken()
    trainer = Trainer(TINY, QUICK.replace(max_steps=3, eval_every=0, sample_tokens=0), verdict)
    it = trainer.run(flag)
    assert next(it)["step"] == 1
    flag.pause()
    got = []
    worker = threading.Thread(target=lambda: got.append(next(it)))
    worker.start()
    worker.join(0.3)
    assert worker.is_alive() and not got  # paused: no step comes
    flag.resume()
    worker.join(10)
    assert got and got[0]["step"] == 2
    rest = list(it)
    assert rest[-1]["reason"] in ("completed", "max_steps")
    assert rest[-1]["elapsed_s"] < sum(1 for _ in rest) * 30  # sanity; pause time excluded
    assert got[0]["elapsed_s"] < 0.3 + 5.0


def test_checkpoint_holds_the_training_curve_and_loads_back(quick_run, tmp_path):
    from model.checkpoint import load_checkpoint

    trainer, _ = quick_run
    path = trainer.save(tmp_path / "run.safetensors", note="test")
    loaded = load_checkpoint(path)
    assert loaded.config == TINY
    curve = loaded.meta["curve"]
    assert curve["step"] == [3, 6] and len(curve["val_loss"]) == 2
    assert loaded.meta["note"] == "test" and loaded.meta["corpus"]["name"] == "The Verdict"
    x = torch.randint(0, 50257, (1, 8))
    with torch.no_grad():
        assert torch.equal(loaded.model(x), trainer.model.eval()(x))


def test_a_failed_save_leaves_the_previous_checkpoint_intact(verdict, tmp_path, monkeypatch):
    from model.checkpoint import CheckpointError

    trainer = Trainer(TINY, QUICK.replace(max_steps=3), verdict)
    path = trainer.save(tmp_path / "run.safetensors")
    before = path.read_bytes()

    def full_disk(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("model.checkpoint.os.replace", full_disk)
    with torch.no_grad():
        trainer.model.out_head.weight.add_(1.0)
    with pytest.raises(CheckpointError, match="No space left"):
        trainer.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "run.safetensors"]


# -- bad input ------------------------------------------------------------------------------------

def test_a_corpus_shorter_than_a_window_says_how_long_and_suggests_a_context():
    text = "Every effort moves you. " * 40  # about 200 tokens
    with pytest.raises(TrainingError) as err:
        Trainer(GPTConfig(context_length=256, emb_dim=16, n_heads=2, n_layers=1), QUICK, text)
    message = str(err.value)
    assert "too short" in message and "tokens" in message
    assert "context length of 16 or less" in message


@pytest.mark.parametrize("change, words", [
    ({"batch_size": 0}, "batch size must be a whole number above 0"),
    ({"lr": 0.0}, "learning rate must be above 0"),
    ({"lr": -1e-3}, "learning rate must be above 0"),
    ({"epochs": 0}, "epochs must be"),
])
def test_bad_settings_are_refused_with_a_message(verdict, change, words):
    with pytest.raises(TrainingError, match=words):
        Trainer(TINY, QUICK.replace(**change), verdict)


def test_unreadable_corpus_files_get_clear_messages(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\u00e9 cr\u00e8me".encode("latin-1"))
    with pytest.raises(TrainingError, match="empty"):
        read_corpus(empty)
    with pytest.raises(TrainingError, match="binary"):
        read_corpus(binary)
    with pytest.raises(TrainingError, match="not UTF-8 text .*position 3"):
        read_corpus(latin)
    with pytest.raises(TrainingError, match="does not exist"):
        read_corpus(tmp_path / "missing.txt")
    (tmp_path / "ok.txt").write_bytes("\ufeffhello".encode("utf-8"))
    assert read_corpus(tmp_path / "ok.txt") == "hello"


def test_an_output_folder_that_cannot_be_written_is_refused_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(TrainingError, match="checkpoints cannot be written to"):
        check_output_dir(blocker / "checkpoints")


# -- command line ---------------------------------------------------------------------------------

def test_cli_writes_jsonl_and_a_checkpoint(tmp_path, capsys):
    jsonl = tmp_path / "run.jsonl"
    code = main(["--corpus", "the-verdict", "--preset", "tiny", "--emb-dim", "16",
                 "--n-layers", "1", "--n-heads", "2", "--context-length", "16",
                 "--batch-size", "2", "--max-steps", "4", "--eval-every", "2", "--seed", "1",
                 "--lr", "1e-3", "--epochs", "1", "--device", "cpu", "--out", str(tmp_path),
                 "--jsonl", str(jsonl), "--quiet"])
    assert code == 0
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert {r["event"] for r in lines} == {"step", "eval", "sample", "done"}
    assert lines[-1]["event"] == "done" and "elapsed_s" in lines[-1]
    assert lines[-1]["reason"] == "max_steps"
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["config"]["emb_dim"] == 16 and meta["meta"]["curve"]["step"] == [2, 4]
    assert meta["meta"]["command"].startswith("python -m model.train")


def test_cli_errors_are_one_line_without_traceback(tmp_path, capsys):
    assert main(["--corpus", str(tmp_path / "nope.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert main(["--lr", "0", "--max-steps", "1"]) == 2
    assert "learning rate must be above 0" in capsys.readouterr().err


def test_cli_lists_presets_with_the_books_settings(capsys):
    assert main(["--list-presets"]) == 0
    out = capsys.readouterr().out
    assert "gpt2-124m" in out and "default" in out
    from model.train.presets import get_training_preset

    book = get_training_preset("gpt2-124m")
    assert (book.train.lr, book.train.weight_decay, book.train.batch_size, book.train.epochs,
            book.train.eval_every, book.train.seed) == (5e-4, 0.1, 2, 10, 5, 123)
    assert book.model.context_length == 256 and book.model.emb_dim == 768
