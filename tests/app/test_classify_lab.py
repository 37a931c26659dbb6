"""The Classify lab: data at first show, a short fine-tuning run, stop, bad files, Try it,
saving and opening, the model manager's refusal, state, size."""

from __future__ import annotations

import pytest

from .labs import lab_fixture, run_to_the_end, start_until_a_step, stop_after_a_step

HAM = ["see you at lunch tomorrow then", "can you call me when you are home",
       "i will be late for dinner tonight", "thanks for the lovely evening",
       "are we still on for the movie", "mum says hi and sends her love"]
SPAM = ["win a free prize now call this number", "urgent you have won cash claim today",
        "free entry to win a brand new phone", "claim your reward text yes to this number",
        "congratulations you won a holiday call now", "cash prize waiting reply win to claim"]


pytestmark = pytest.mark.usefixtures("one_thread")
lab = lab_fixture("studyapp.areas.classify.area", "ClassifyLab")


@pytest.fixture
def sms(tmp_path):
    """A small file in the layout of the book's SMSSpamCollection (label TAB text)."""
    path = tmp_path / "SMSSpamCollection.tsv"
    lines = [f"ham\t{t} {i}" for i in range(4) for t in HAM]
    lines += [f"spam\t{t} {i}" for i in range(4) for t in SPAM]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def use_data(lab, qtbot, path):
    from studyapp.areas.classify import core

    with qtbot.waitSignal(lab.data_ready, timeout=30_000):
        lab.set_data(core.DataChoice((str(path),)))


def short_recipe(lab, **values):
    lab.recipe.set_values({"batch_size": 4, "epochs": 2, "eval_every": 2, "lr": 1e-3,
                           "trainable": "last-block", **values})


def test_the_default_data_is_prepared_at_first_show(lab, qtbot):
    with qtbot.waitSignal(lab.data_ready, timeout=30_000):
        lab.show()
    counts = lab.prepared.counts
    assert counts["labels"] == ["fiction", "notes"]
    balanced = counts["balanced"]
    assert balanced["fiction"] == balanced["notes"] == min(counts["loaded"].values())
    n = 2 * balanced["fiction"]
    assert (counts["train"], counts["val"]) == (int(n * 0.7), int(n * 0.1))
    steps = lab.preparation.steps.text()
    assert "Balance" in steps and "70/10/20" in steps and "50256" in steps
    # the tiny model's context (64) is shorter than the longest sentence: padded to it, said so
    assert counts["max_length"] == 64 and "padded and cut to 64" in lab.message.text()
    table = lab.preparation.table
    assert table.rowCount() == 8
    padding = table.item(0, 2).text()  # "12 + 52"
    assert sum(int(x) for x in padding.split(" + ")) == 64
    assert table.item(0, 3).text() in ("fiction", "notes")
    assert "parameters train" in lab.recipe.count.text()


def test_a_short_run_shows_accuracies_confusion_and_saves(lab, ctx, qtbot, sms):
    lab.show()
    use_data(lab, qtbot, sms)
    short_recipe(lab)
    path = run_to_the_end(lab, qtbot)
    for row in range(3):
        before, after = lab.accuracy.cell_text(row, 1), lab.accuracy.cell_text(row, 2)
        assert before.endswith("%") and after.endswith("%")
    assert lab.accuracy.cell_text(2, 3) == "48.75%" and lab.accuracy.cell_text(2, 4) == "95.67%"
    confusion = lab.results.confusion.values
    assert confusion.shape == (2, 2) and confusion.sum() == len(lab.prepared.test)
    wrong = int(confusion.sum() - confusion.trace())
    assert lab.results.table.rowCount() == wrong
    lab.loss_plot.refresh()
    assert len(lab.loss_plot.train.y) == lab.done["step"] > 0 and lab.acc_plot.steps
    assert lab.done["examples_seen"] == 4 * lab.done["step"]
    assert "Finished" in lab.status.text()
    assert path.startswith(str(ctx.data_dir / "classifiers")) and path.endswith(".safetensors")
    assert [c.name for c in ctx.models.classifiers] == [lab.classifier.name]
    assert lab.classifier not in ctx.models.entries  # never a language model for the labs

    # Try it: probabilities of the two classes, at every token and through the padding
    with qtbot.waitSignal(lab.try_it.answered, timeout=20_000):
        lab.try_it.set_text("win a free phone now")
    probs = lab.try_it.probabilities()
    assert len(probs) == 2 and sum(probs) == pytest.approx(1.0, abs=1e-3)
    result = lab.try_it._result
    assert result["padding"] == lab.prepared.max_length - result["text_tokens"]
    assert lab.try_it.effect.text().startswith("At the text's last token")
    lab.try_it.padded.setChecked(False)
    assert lab.try_it.probabilities() == result["at_text_end"]


def test_stop_mid_run_keeps_the_result(lab, qtbot, sms):
    lab.show()
    use_data(lab, qtbot, sms)
    short_recipe(lab, epochs=200)
    with qtbot.waitSignal(lab.saved, timeout=60_000):  # a stopped run is saved too
        stop_after_a_step(lab, qtbot)
    assert lab.accuracy.cell_text(2, 2).endswith("%")  # the accuracy after is still measured
    assert lab.results.confusion.values.sum() == len(lab.prepared.test)
    assert "Stopped" in lab.status.text() and lab.train_button.isEnabled()


def test_closing_mid_run_does_not_hang_and_saves_the_run(ctx, qtbot, sms):
    import time

    from studyapp.areas.classify.area import ClassifyLab

    lab = ClassifyLab(ctx)
    qtbot.addWidget(lab)
    lab.show()
    use_data(lab, qtbot, sms)
    short_recipe(lab, epochs=200)
    start_until_a_step(lab, qtbot)
    state = lab.save_state()  # the main window saves the state before closing the areas
    start = time.monotonic()
    lab.shutdown()
    assert time.monotonic() - start < 5
    from pathlib import Path

    assert Path(state["classifier"]).is_file()


@pytest.mark.parametrize("content,expected", [
    ("ham\tonly one class here\nham\tand again the same class\n", "only one class"),
    ("", "empty"),
    (b"\x00\x01\x02binary", "binary"),
    ("Label,Words\nham,hello there\n", "no text column"),
])
def test_a_bad_file_shows_the_engines_message_and_keeps_the_data(lab, qtbot, tmp_path, sms,
                                                                 content, expected):
    from studyapp.areas.classify import core

    lab.show()
    use_data(lab, qtbot, sms)
    before = lab.prepared
    bad = tmp_path / ("bad.tsv" if "\t" in str(content) else "bad.csv")
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")
    with qtbot.waitSignal(lab.data_failed, timeout=30_000):
        lab.set_data(core.DataChoice((str(bad),)))
    text = lab.message.text()
    assert bad.name in text and expected in text and "keeps" in text
    assert lab.prepared is before and lab.choice.paths == (str(sms),)
    qtbot.waitUntil(lab.train_button.isEnabled, timeout=5_000)  # once the job's thread ended


def test_an_opened_classifier_is_refused_by_the_generate_labs_manager(lab, ctx, qtbot, sms,
                                                                      tmp_path):
    from studyapp.shell.model_manager import ModelManager

    lab.show()
    use_data(lab, qtbot, sms)
    short_recipe(lab, epochs=1, max_steps=2, trainable="lora", lora_rank=2)
    with qtbot.waitSignal(lab.saved, timeout=60_000):
        lab.start_training()
    target = tmp_path / "mine.safetensors"
    with qtbot.waitSignal(lab.saved, timeout=30_000) as saved:
        assert lab.save_to(target)
    assert saved.args == [str(target)]

    from studyapp.areas.classify.area import ClassifyLab

    other = ClassifyLab(ctx)
    qtbot.addWidget(other)
    with qtbot.waitSignal(other.opened, timeout=30_000) as opened:
        other.open_path(target)
    assert opened.args[0] is True
    assert other.classifier.labels == ["ham", "spam"]
    assert other.accuracy.cell_text(2, 2) == lab.accuracy.cell_text(2, 2)
    assert other.results.confusion.values.tolist() == lab.results.confusion.values.tolist()

    manager = ModelManager(ctx)
    qtbot.addWidget(manager)
    assert manager.classifier_table.rowCount() == len(ctx.models.classifiers) == 2
    current = ctx.models.current
    with qtbot.waitSignal(manager.load_finished, timeout=30_000) as refused:
        manager.open_path(str(target))
    ok, message = refused.args
    assert not ok and "classifier" in message and "Classify lab" in message
    assert ctx.models.current is current
    with pytest.raises(ValueError):
        ctx.models.set_current(other.classifier)
    other.shutdown()


def test_state_round_trips_and_bad_values_are_ignored(lab, ctx, qtbot, sms):
    from studyapp.areas.classify.area import ClassifyLab

    lab.recipe.set_values({"trainable": "lora", "lora_rank": 8, "epochs": 3, "lr": 2e-4})
    lab.try_it.set_text("hello")
    lab.tabs.setCurrentIndex(2)
    saved = lab.save_state()
    other = ClassifyLab(ctx)
    qtbot.addWidget(other)
    other.apply_state(saved)
    assert other.save_state() == saved
    other.apply_state({"recipe": {"epochs": -1, "trainable": "everything", "lr": "x"},
                       "tab": "nowhere", "data": 5, "padded": "yes", "classifier": 3})
    assert other.save_state() == saved
    other.shutdown()


def test_the_lab_fits_the_smallest_window(lab):
    hint = lab.minimumSizeHint()
    assert hint.width() <= 600 and hint.height() <= 470, hint
