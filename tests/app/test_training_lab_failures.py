"""The Training lab on a large corpus and a full disk: the evaluation bound in the form, its
progress in the status line, a stop while tokenizing, warnings, and a final save that fails
without losing the trained model."""

from __future__ import annotations

import errno
import random

import pytest

from model.train.config import EVAL_MAX_WINDOWS
from studyapp.areas.training import core

from .labs import lab_fixture

WORDS = "every effort moves you forward and the model learns the next word of a text".split()


pytestmark = pytest.mark.usefixtures("one_thread")
lab = lab_fixture("studyapp.areas.training.area", "TrainingLab")


def write_corpus(path, n_chars: int):
    rng = random.Random(0)
    path.write_text(" ".join(rng.choices(WORDS, k=n_chars // 5))[:n_chars], encoding="utf-8")
    return path


def make_tiny(lab, corpus, epochs=1):
    lab.apply_preset("tiny")
    for name, value in (("emb_dim", 16), ("n_layers", 1), ("n_heads", 2), ("context", 16),
                        ("batch", 4), ("epochs", epochs), ("eval_every", 0)):
        lab.form.fields[name].setValue(value)
    lab.set_corpus_file(corpus)


def test_the_form_bounds_the_evaluation_and_zero_means_every_window(lab):
    assert lab.form.eval_windows.value() == EVAL_MAX_WINDOWS
    assert lab.form.train_config().eval_max_windows == EVAL_MAX_WINDOWS
    lab.form.eval_windows.setValue(0)
    assert lab.form.train_config().eval_max_windows == 0
    assert lab.save_state()["eval_windows"] == 0
    lab.apply_state({"eval_windows": 500})
    assert lab.form.train_config().eval_max_windows == 500


def test_a_long_evaluation_shows_its_progress(lab, qtbot, tmp_path, monkeypatch):
    from model.train.loop import TrainingLoop

    monkeypatch.setattr(TrainingLoop, "eval_progress_s", 0.0)
    make_tiny(lab, write_corpus(tmp_path / "corpus.txt", 40_000))
    shown = []

    def watch(record):  # connected after the lab's own slot: sees what it made of the record
        if record.get("event") == "eval_progress":
            shown.append(lab.status.text())

    with qtbot.waitSignal(lab.run_finished, timeout=60_000) as finished:
        assert lab.start_training()
        lab._job.record.connect(watch)
    assert finished.args == ["completed"]
    assert shown and all(text.startswith("Evaluating at step") for text in shown)
    assert "windows" in shown[-1]


def test_a_stop_while_the_corpus_is_tokenized_ends_the_run_at_once(
        lab, qtbot, tmp_path, monkeypatch):
    import model.tokenizer
    from model.train.corpus import TOKENIZE_CHUNK_CHARS

    real = model.tokenizer.get_tokenizer()
    calls = []

    class Tokenizer:
        def encode(self, text):
            calls.append(len(text))
            if len(calls) == 1:
                lab._job.token.stop()  # as closing the window does
            return real.encode(text)

        def decode(self, ids):
            return real.decode(ids)

    monkeypatch.setattr(model.tokenizer, "get_tokenizer", Tokenizer)
    make_tiny(lab, write_corpus(tmp_path / "big.txt", 6 * TOKENIZE_CHUNK_CHARS))
    with qtbot.waitSignal(lab.run_finished, timeout=60_000) as finished:
        assert lab.start_training()
    assert len(calls) == 1  # no piece tokenized after the stop
    assert finished.args == ["stopped"] and "Stopped before training" in lab.status.text()
    assert "could not run" not in lab.message.text()
    assert lab.train_button.isEnabled()


def test_a_warning_record_is_shown_and_the_run_goes_on(lab):
    lab._on_record({"event": "warning", "kind": "checkpoint", "step": 20, "epoch": 1,
                    "path": "/full/disk/run.safetensors",
                    "message": "the checkpoint at step 20 could not be saved (No space left "
                               "on device); training goes on and the next save tries again"})
    assert lab.message.isVisibleTo(lab)
    assert "No space left on device" in lab.message.text()
    assert lab.message.text().startswith("The checkpoint at step 20")


def test_a_full_disk_at_the_end_keeps_the_model_for_the_labs_and_save_as(
        lab, ctx, qtbot, tmp_path, monkeypatch):
    def full_disk(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("model.checkpoint.atomic_write_bytes", full_disk)
    make_tiny(lab, write_corpus(tmp_path / "corpus.txt", 4_000))
    with qtbot.waitSignal(lab.saved, timeout=60_000) as saved:
        with qtbot.waitSignal(lab.run_finished, timeout=60_000):
            assert lab.start_training()
    assert saved.args == [""]
    message = lab.message.text()
    assert "No space left on device" in message and str(ctx.data_dir / "checkpoints") in message
    assert "Save as" in message
    assert lab.use_button.isEnabled() and lab.save_as_button.isEnabled()
    with qtbot.waitSignal(ctx.models.current_changed, timeout=5000):
        assert lab.use_in_labs()
    assert ctx.models.current.source == core.TRAINED_SOURCE
    monkeypatch.undo()  # space elsewhere: Save as... writes the same model there
    target = tmp_path / "elsewhere" / "model.safetensors"
    with qtbot.waitSignal(lab.saved, timeout=30_000) as saved:
        assert lab.save_to(target)
    assert saved.args == [str(target)] and target.is_file()
