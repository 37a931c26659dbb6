"""The Training lab: settings, a short run end to end, pause/stop, bad input, loading."""

from __future__ import annotations

import pytest

from studyapp.areas.training import core

from .labs import lab_fixture

SHORT_TEXT = ("Every effort moves you forward, and the model learns the next word. " * 30)


pytestmark = pytest.mark.usefixtures("one_thread")
lab = lab_fixture("studyapp.areas.training.area", "TrainingLab")


@pytest.fixture
def short_corpus(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text(SHORT_TEXT, encoding="utf-8")
    return path


def make_tiny(lab, corpus, epochs=2, batch=4):
    lab.apply_preset("tiny")
    lab.form.emb_dim.setValue(16)
    lab.form.n_layers.setValue(1)
    lab.form.n_heads.setValue(2)
    lab.form.context.setValue(16)
    lab.form.batch.setValue(batch)
    lab.form.epochs.setValue(epochs)
    lab.form.eval_every.setValue(4)
    lab.set_corpus_file(corpus)


def test_presets_fill_the_fields_and_the_size_is_shown_before_training(lab):
    from model.train.presets import TRAINING_PRESETS

    default = TRAINING_PRESETS["default"]
    assert lab.form.emb_dim.value() == default.model.emb_dim
    assert lab.form.lr.value() == pytest.approx(default.train.lr)
    assert "parameters" in lab.form.size_label.text() and "while training" in lab.form.size_label.text()
    lab.apply_preset("gpt2-124m")
    assert (lab.form.emb_dim.value(), lab.form.context.value(), lab.form.batch.value()) == (768, 256, 2)
    assert lab.form.lr.value() == pytest.approx(5e-4)
    assert "162.42M parameters" in lab.form.size_label.text()
    lab.form.n_heads.setValue(5)
    assert "divisible" in lab.form.size_label.text()


def test_a_short_run_plots_samples_saves_and_is_used_in_labs(lab, ctx, qtbot, short_corpus):
    make_tiny(lab, short_corpus)
    with qtbot.waitSignal(lab.saved, timeout=60_000) as saved:
        with qtbot.waitSignal(lab.run_finished, timeout=60_000) as finished:
            assert lab.start_training()
            assert not lab.train_button.isEnabled() and lab.stop_button.isEnabled()
    assert finished.args == ["completed"]
    path = saved.args[0]
    assert path and path.startswith(str(ctx.data_dir / "checkpoints"))
    lab.plot.refresh()
    assert len(lab.plot.train.y) == lab._done["step"] > 0
    assert len(lab.plot.val.y) >= 2
    assert lab.latest_sample.text().startswith("Every effort moves you")
    assert "step 4" in lab.history.toPlainText()
    assert "Finished" in lab.status.text() and lab.progress.value() == lab.progress.maximum()
    assert lab.use_button.isEnabled()
    with qtbot.waitSignal(ctx.models.current_changed, timeout=5000):
        assert lab.use_in_labs()
    entry = ctx.models.current
    assert entry.source == core.TRAINED_SOURCE and entry.config.emb_dim == 16
    assert entry.meta["curve"]["val_loss"] and entry.meta["checkpoint"] == path
    assert not lab.use_button.isEnabled()


def test_pause_resume_and_stop(lab, qtbot, short_corpus):
    make_tiny(lab, short_corpus, epochs=500)
    steps = []
    with qtbot.waitSignal(lab.run_started, timeout=5000):
        lab.start_training()
    lab._job.record.connect(lambda r: steps.append(r) if r.get("event") == "step" else None)
    qtbot.waitUntil(lambda: len(steps) >= 2, timeout=30_000)
    lab.pause_button.setChecked(True)
    assert lab._job.token.paused and lab.pause_button.text() == "Resume"
    qtbot.wait(150)  # let a step that was running finish
    count = len(steps)
    qtbot.wait(300)
    assert len(steps) == count  # nothing happens while paused
    lab.pause_button.setChecked(False)
    qtbot.waitUntil(lambda: len(steps) > count, timeout=30_000)
    with qtbot.waitSignal(lab.saved, timeout=30_000):
        with qtbot.waitSignal(lab.run_finished, timeout=30_000) as finished:
            lab.stop_button.click()
    assert finished.args == ["stopped"]
    assert "Stopped" in lab.status.text() and lab.train_button.isEnabled()


@pytest.mark.parametrize("setup, words", [
    (lambda lab: lab.form.batch.setValue(0), "batch size must be a whole number above 0"),
    (lambda lab: lab.form.lr.setValue(0.0), "learning rate must be above 0"),
    (lambda lab: lab.form.corpus_file.setChecked(True), "no text file chosen"),
])
def test_bad_settings_are_refused_with_a_message(lab, setup, words):
    setup(lab)
    assert not lab.start_training()
    assert words in lab.message.text() and lab.train_button.isEnabled()


@pytest.mark.parametrize("content, words", [
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "binary"),
    ("caf\u00e9".encode("latin-1") * 50, "not UTF-8"),
    (b"", "empty"),
    ("A short note.".encode(), "too short"),
])
def test_bad_corpus_files_fail_with_a_message_and_the_lab_stays_usable(
        lab, qtbot, tmp_path, content, words):
    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    make_tiny(lab, path)
    with qtbot.waitSignal(lab.run_finished, timeout=30_000) as finished:
        assert lab.start_training()
    assert finished.args == ["failed"]
    assert words in lab.message.text()
    assert lab.train_button.isEnabled() and lab.form.emb_dim.isEnabled()


def test_a_short_corpus_message_suggests_a_context(lab, qtbot, tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("Every effort moves you. " * 40)
    make_tiny(lab, path)
    lab.form.context.setValue(256)
    with qtbot.waitSignal(lab.run_finished, timeout=30_000):
        lab.start_training()
    assert "context length of 16 or less" in lab.message.text()


def test_an_unwritable_checkpoint_folder_is_refused_before_training(lab, ctx, short_corpus):
    (ctx.data_dir / "checkpoints").write_text("a file where the folder should be")
    make_tiny(lab, short_corpus)
    assert not lab.start_training()
    assert "checkpoints cannot be written" in lab.message.text()


def test_load_an_app_checkpoint_with_its_curve_and_a_book_state_dict(lab, ctx, qtbot, tmp_path):
    import torch

    from model.config import GPTConfig
    from model.gpt import GPTModel
    from model.resources import read_the_verdict
    from model.train import TrainConfig, Trainer

    cfg = GPTConfig(context_length=16, emb_dim=16, n_heads=2, n_layers=1, drop_rate=0.0)
    trainer = Trainer(cfg, TrainConfig(batch_size=2, max_steps=4, eval_every=2,
                                       sample_tokens=3, eval_max_windows=4),
                      read_the_verdict())
    list(trainer.run())
    app_file = trainer.save(tmp_path / "mine.safetensors")
    with qtbot.waitSignal(lab.loaded, timeout=20_000) as loaded:
        assert lab.load_path(app_file)
    assert loaded.args[0] is True
    lab.plot.refresh()
    assert lab.plot.val.x == [2, 4] and len(lab.plot.train.x) == 4
    assert "training curve is shown" in lab.status.text()
    with qtbot.waitSignal(ctx.models.current_changed, timeout=5000):
        assert lab.use_in_labs()
    assert ctx.models.current.config == cfg

    book = tmp_path / "model.pth"
    torch.manual_seed(1)
    torch.save(GPTModel(cfg).state_dict(), book)
    with qtbot.waitSignal(lab.loaded, timeout=20_000) as loaded:
        lab.load_path(book, n_heads=2)
    assert loaded.args[0] is True and "no training curve" in lab.status.text()

    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with qtbot.waitSignal(lab.loaded, timeout=20_000) as loaded:
        lab.load_path(junk)
    assert loaded.args[0] is False and "Could not load" in lab.message.text()
    assert lab.train_button.isEnabled()


def test_loss_plot_smoothing_log_axis_and_tokens_axis(qtbot):
    from studyapp.widgets.loss_plot import LossPlot, ema

    plot = LossPlot(refresh_hz=50)
    qtbot.addWidget(plot)
    assert plot.empty_text.isVisible()  # says what the empty chart is waiting for
    for step in range(1, 21):
        plot.add_step(step, step * 256, 10.0 - step * 0.2 + (0.5 if step % 2 else -0.5))
    plot.add_eval(10, 2560, 8.0)
    plot.add_eval(20, 5120, 7.0)
    qtbot.waitUntil(lambda: plot.refresh_count >= 1, timeout=2000)
    assert not plot.empty_text.isVisible()
    assert plot.plot.getPlotItem().getAxis("top").scale == 256
    raw = list(plot.train.y)
    assert plot.train.smooth == pytest.approx(ema(raw, 0.6))
    plot.set_smoothing(0.0)
    assert plot.train.smooth == raw
    plot.set_smoothing(0.9)
    assert plot.train.smooth == pytest.approx(ema(raw, 0.9))
    assert plot.train.smooth[0] == pytest.approx(raw[0])  # debiased: starts at the first value
    assert plot.val.smooth == plot.val.y == [8.0, 7.0]  # validation drawn as measured
    plot.set_log_y(True)
    assert plot.plot.getPlotItem().ctrl.logYCheck.isChecked()
    plot.clear()
    assert plot.train.y == [] and plot.val.y == [] and plot.empty_text.isVisible()


def test_inputs_round_trip_through_save_and_apply_state(lab, ctx, qtbot, short_corpus):
    from studyapp.areas.training.area import TrainingLab

    make_tiny(lab, short_corpus)
    lab.form.lr.setValue(0.002)
    lab.form.cosine.setChecked(False)
    lab.plot.set_smoothing(0.8)
    lab.plot.set_log_y(True)
    saved = lab.save_state()
    other = TrainingLab(ctx)
    qtbot.addWidget(other)
    other.apply_state(saved)
    assert other.save_state() == saved
    assert other.form.corpus_file.isChecked() and other.form.emb_dim.value() == 16
    other.apply_state({"emb_dim": "huge", "batch": -5, "preset": "nope", "lr": 99.0,
                       "file": 12, "corpus": "file"})  # bad values are ignored
    assert other.save_state() == saved
    other.shutdown()



def test_a_sample_full_of_newlines_does_not_stretch_the_lab(lab, qtbot):
    # An early model often emits runs of newlines; shown raw, "Latest sample" grew the lab's
    # minimum height past the window's and the window grew with every such sample.
    from PySide6.QtWidgets import QApplication

    lab.resize(1100, 760)
    lab.show()
    QApplication.processEvents()  # layouts settle
    before = lab.minimumSizeHint().height()
    text = "Every effort moves you I had been." + "\n" * 40
    lab._on_record({"event": "sample", "step": 5, "text": text})
    for _ in range(3):  # the label's new size hint, then its parents' layouts
        QApplication.processEvents()
    assert lab.latest_sample.text() == "Every effort moves you I had been."
    assert lab.minimumSizeHint().height() <= before + lab.fontMetrics().height()
    assert text.strip() in lab.history.toPlainText()  # the samples box keeps it whole


def test_sample_preview_keeps_a_few_lines_and_says_where_it_cut():
    many = "\n\n\n".join(f"line {i}" for i in range(10))
    assert core.sample_preview(many) == "line 0\n\nline 1\u2026"  # 4 lines, blank runs as one
    assert core.sample_preview("x" * 1000) == "x" * 400 + "\u2026"
    assert core.sample_preview("  short\n\n") == "short"


@pytest.mark.parametrize("which", ["loss", "accuracy"])
def test_an_empty_plot_shows_its_whole_sentence_when_narrow(qtbot, which):
    # Classify's loss and accuracy plots stand side by side: in a small window each is about
    # 350 px wide, narrower than the sentence on one line.
    from studyapp.widgets.accuracy_plot import AccuracyPlot
    from studyapp.widgets.loss_plot import LossPlot

    plot = LossPlot() if which == "loss" else AccuracyPlot()
    qtbot.addWidget(plot)
    plot.resize(350, 400)
    plot.show()
    qtbot.waitExposed(plot)
    text = plot.empty_text
    view = plot.plot.getPlotItem().getViewBox()
    assert text.isVisible() and len(text.textItem.toPlainText()) > 60

    def fits() -> bool:  # the text is placed once the view has its range (a paint or two)
        shown = text.mapRectToScene(text.boundingRect())
        return view.mapRectToScene(view.boundingRect()).contains(shown)

    qtbot.waitUntil(fits, timeout=3000)
