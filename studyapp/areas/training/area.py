"""The Training lab (chapter 5): train a GPT from a button and watch it learn.

Left: the settings (`form.SettingsForm`: the corpus, a preset and its hyperparameters with the
parameter count and estimated memory) and Train / Pause / Stop.
Right: a progress bar with ETA and tokens/s, the live loss plot (`widgets.loss_plot`), and the
text the model writes after each evaluation. When a run finishes or is stopped its checkpoint
is saved under the data folder's `checkpoints/`; "Use in labs" switches the other labs to the
model. "Load checkpoint..." opens the app's own checkpoints (with their curve) or a state dict
saved by the book's code.

The loop is `model.train.Trainer.run`, driven on a `JobThread`: the worker only passes
records on; the view updates its labels from a timer and the plot redraws on its own timer.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QFileDialog, QInputDialog, QLabel, QPlainTextEdit, QSizePolicy,
                               QWidget)

from model.config import GPTConfig
from model.train.config import TrainingError, check_output_dir
from studyapp.areas.training import core
from studyapp.areas.training.form import SettingsForm
from studyapp.models.loading import unique_name
from studyapp.recipes import DONE_REASONS
from studyapp.widgets.forms import (column, message_sayer, push_button, row, run_status,
                                   save_path_dialog, side_and_main, side_panel, splitter)
from studyapp.widgets.loss_plot import LossPlot
from studyapp.shell.jobs import JobThread, SideJob
from studyapp.shell.area import AreaWidget

STOP_WAIT_MS = 1800


def create_area(ctx) -> AreaWidget:
    return TrainingLab(ctx)


class TrainingLab(AreaWidget):
    run_started = Signal()
    run_finished = Signal(str)  # the done reason, or "failed" (or "stopped" before a step)
    saved = Signal(str)  # checkpoint path ("" when saving failed)
    loaded = Signal(bool, str)  # a checkpoint was loaded?, message

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self._job: JobThread | None = None
        self._side = SideJob(self, self._update_buttons)  # saving or loading
        self._trainer = None  # the run's Trainer; its model is only touched once the job ended
        self._result_entry = None  # a loaded checkpoint's ModelEntry
        self._in_labs = False
        self._last_step: dict | None = None
        self._done: dict | None = None
        self._checkpoint: Path | None = None
        self._run_corpus: core.CorpusChoice | None = None
        self._status_dirty = False
        self._ready: dict | None = None
        self._last_eval: dict | None = None
        self._closing = False
        self._build()
        self._ui_timer = QTimer(self)
        self._ui_timer.setInterval(100)
        self._ui_timer.timeout.connect(self._update_status)
        self._ui_timer.start()

    # =========================================================================================
    # layout
    # =========================================================================================
    def _build(self) -> None:
        self.form = SettingsForm(self.ctx.notes_path)

        # -- actions --
        self.train_button = push_button("Train", "Train a new model with these settings "
                                        "(section 5.2's training loop)", self.start_training)
        self.train_button.setDefault(True)
        self.pause_button = push_button("Pause", "Pause after the current step; press again to "
                                        "resume")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self.set_paused)
        self.stop_button = push_button("Stop", "Stop after the current step; the model so far "
                                       "is saved", self.stop_training)
        self.use_button = push_button("Use in labs", "Switch the Tokenizer, Embeddings, "
                                      "Attention and Generate labs to this model",
                                      self.use_in_labs)
        self.save_as_button = push_button("Save as\u2026", "Save the trained model as a "
                                          "checkpoint elsewhere (it is already saved in the "
                                          "app's data folder)", self.save_as_dialog)
        self.load_button = push_button("Load checkpoint\u2026", "Open a checkpoint of this app "
                                       "(with its training curve) or a state dict saved by the "
                                       "book's code (.pth)", self.load_dialog)

        self.status, self.progress, self.message = run_status(
            "Not started. Choose a corpus and settings, then Train.")
        self.progress.setFormat("%p%")
        self.say = message_sayer(self.message)  # an error stays red when the appearance changes

        # the settings scroll when the window is short; the buttons below them never do
        side = side_panel(self.form, [column(
            row(self.train_button, self.pause_button, self.stop_button),
            row(self.use_button, self.save_as_button, self.load_button), margins=(6, 0, 6, 0))],
            290, 440)

        # -- right: progress, plot, samples --
        self.plot = LossPlot()
        self.plot.setMinimumHeight(170)  # the smallest window still shows the samples below
        self.latest_sample = QLabel("The model's text appears here after each evaluation.")
        self.latest_sample.setWordWrap(True)
        self.latest_sample.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.latest_sample.setStyleSheet("font-family: monospace; padding: 4px;")
        self.latest_sample.setSizePolicy(QSizePolicy.Policy.Preferred,
                                         QSizePolicy.Policy.Minimum)
        self.history = QPlainTextEdit()
        self.history.setReadOnly(True)
        self.history.setPlaceholderText("Samples from every evaluation, newest last")
        self.history.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        latest_title = QLabel("<b>Latest sample</b> (greedy, from \u201cEvery effort moves "
                              "you\u201d)")
        latest_title.setWordWrap(True)
        latest_title.setToolTip("After each evaluation the model continues the book's prompt, "
                                "always taking the most likely token (section 5.1.3)")
        samples = QWidget()
        column(latest_title, self.latest_sample, QLabel("<b>Samples so far</b>"),
               (self.history, 1), parent=samples, margins=0)
        split = splitter(Qt.Orientation.Vertical, (self.plot, samples), (3, 2))
        # the message is always in view, whatever the left side shows
        side_and_main(self, side, self.status, self.progress, self.message, (split, 1))
        self._update_buttons()

    # =========================================================================================
    # settings (the form) and saved inputs (the main window keeps them across restarts; a
    # card's "Try it" sends them)
    # =========================================================================================
    def apply_preset(self, name: str) -> None:
        self.form.apply_preset(name)

    def set_corpus_file(self, path) -> None:
        self.form.set_corpus_file(path)

    def save_state(self) -> dict:
        return {**self.form.save_state(), "smoothing": self.plot.smoothing,
                "log_y": self.plot.log_y.isChecked()}

    def apply_state(self, state: dict) -> None:
        """Take what is valid in `state` and ignore the rest; nothing changes during a run."""
        if not isinstance(state, dict) or self.running:
            return
        self.form.apply_state(state)
        smoothing = state.get("smoothing")
        if isinstance(smoothing, (int, float)) and 0 <= smoothing <= 0.99:
            self.plot.set_smoothing(float(smoothing))
        if isinstance(state.get("log_y"), bool):
            self.plot.set_log_y(state["log_y"])

    # =========================================================================================
    # running
    # =========================================================================================
    @property
    def running(self) -> bool:
        return self._job is not None

    def start_training(self) -> bool:
        """Start a run with the fields' settings; False (and a message) if it cannot start."""
        if self.running or self._side.busy or self._closing:
            return False
        model_values, train_cfg = self.form.model_values(), self.form.train_config()
        problems = core.settings_problems(model_values, train_cfg)
        choice = self.form.corpus_choice()
        if choice.kind == core.FILE and choice.path is None:
            problems.append("no text file chosen: choose one, or train on The Verdict")
        if not problems:
            try:
                check_output_dir(Path(self.ctx.data_dir) / "checkpoints")
            except TrainingError as exc:
                problems.append(str(exc))
        if problems:
            self.say("Cannot start: " + "; ".join(problems) + ".", error=True)
            return False
        model_cfg = GPTConfig(**model_values)

        def job(token):
            from model.train import Trainer
            from model.train.config import TrainingStopped

            label, text = core.load_corpus_text(choice)
            try:
                trainer = Trainer(model_cfg, train_cfg, text, corpus_name=label, stop=token)
            except TrainingStopped:
                return  # stopped (or the window closed) while the corpus was tokenized
            yield {"event": "ready", "trainer": trainer, "corpus": label,
                   "total_steps": trainer.total_steps,
                   "tokens_per_step": trainer.tokens_per_step,
                   "corpus_tokens": trainer.corpus_tokens}
            yield from trainer.run(token)

        self._trainer = None
        self._result_entry = None
        self._in_labs = False
        self._checkpoint = None
        self._done = None
        self._last_step = None
        self._run_corpus = choice
        self.plot.clear()
        self.history.clear()
        self.latest_sample.setText("The model's text appears here after each evaluation.")
        self.progress.setRange(0, 0)  # busy until the run knows its length
        self.progress.setFormat("%p%")
        self.status.setText(f"Preparing: tokenizing {choice.describe()} and building the "
                            "model\u2026")
        self.say("")
        self._job = JobThread(job, name="training", parent=self)
        self._job.record.connect(self._on_record)
        self._job.failed.connect(self._on_failed)
        self._job.finished.connect(self._on_finished)
        self._job.start()
        self.form.set_enabled(False)
        self._update_buttons()
        self.run_started.emit()
        return True

    def set_paused(self, paused: bool) -> None:
        if self._job is None:
            if self.pause_button.isChecked():
                self.pause_button.setChecked(False)
            return
        if paused:
            self._job.pause()
        else:
            self._job.resume()
        self.pause_button.setText("Resume" if paused else "Pause")
        self._status_dirty = True
        self._update_status()

    def stop_training(self) -> None:
        if self._job is not None:
            self._job.request_stop()
            self.status.setText("Stopping after this step\u2026")

    def _on_record(self, record) -> None:
        event = record.get("event")
        if event == "ready":
            self._trainer = record["trainer"]
            self.plot.set_tokens_per_step(record["tokens_per_step"])
            self.progress.setRange(0, max(1, record["total_steps"]))
            self._ready = record
            self._status_dirty = True
        elif event == "step":
            self.plot.add_step(record["step"], record["tokens_seen"], record["train_loss"])
            self._last_step = record
            self._status_dirty = True
        elif event == "eval_progress":
            self.status.setText(core.eval_progress_text(record))
        elif event == "eval":
            self.plot.add_eval(record["step"], record["tokens_seen"], record["val_loss"])
            self._last_eval = record
            self._status_dirty = True
        elif event == "warning":
            self.say(record["message"][0].upper() + record["message"][1:] + ".", error=True)
        elif event == "sample":
            text = record["text"]
            self.latest_sample.setText(core.sample_preview(text))
            val = self._last_eval
            loss = f", val loss {val['val_loss']:.3f}" if val and val["step"] == record["step"] \
                else ""
            self.history.appendPlainText(f"step {record['step']}{loss}: {text}\n")
            bar = self.history.verticalScrollBar()
            bar.setValue(bar.maximum())  # follow the newest sample
        elif event == "done":
            self._done = record

    def _on_failed(self, message: str) -> None:
        self.say(f"Training could not run: {message}", error=True)

    def _on_finished(self, reason: str) -> None:
        self._job = None
        if self.pause_button.isChecked():
            self.pause_button.blockSignals(True)
            self.pause_button.setChecked(False)
            self.pause_button.setText("Pause")
            self.pause_button.blockSignals(False)
        self.form.set_enabled(True)
        self.progress.setRange(0, max(1, self.progress.maximum()))
        self.plot.refresh()
        done = self._done
        if done is None and self._trainer is not None and self._trainer.last_done is not None:
            # the worker stopped pulling before the loop's own last record (a Stop between
            # records): the trainer recorded where it stopped when its generator was closed
            done = self._done = self._trainer.last_done
        if done is None:
            self.status.setText("Stopped before training began." if reason == "stopped"
                                else "Not trained: see the message below.")
            self.progress.setValue(0)
            self._trainer = None
            self._update_buttons()
            self.run_finished.emit("stopped" if reason == "stopped" else "failed")
            return
        self._update_status(force=True)
        summary = DONE_REASONS[done["reason"]]
        text = (f"{summary}: {done['step']} steps, {done['tokens_seen']:,} tokens in "
                f"{core.human_duration(done['elapsed_s'])}")
        if done.get("val_loss") is not None:
            text += f"; validation loss {done['val_loss']:.3f}"
        self.status.setText(text + ".")
        if done["reason"] == "nan":
            self.say(done["message"][0].upper() + done["message"][1:] + ".", error=True)
        self._update_buttons()
        if self._trainer is not None and done["step"] > 0 and not self._closing:
            self._save(core.checkpoint_path(self.ctx.data_dir, self._run_corpus))
        self.run_finished.emit(done["reason"])

    def _update_status(self, force: bool = False) -> None:
        if not (self._status_dirty or force) or self._job is None and not force:
            return
        self._status_dirty = False
        rec = self._last_step
        if rec is None:
            if self._job is not None and self._ready and self._trainer:
                ready = self._ready
                self.status.setText(f"Training on {ready['corpus']} ({ready['corpus_tokens']:,} "
                                    f"tokens): first step\u2026")
            return
        self.progress.setValue(rec["step"])
        paused = self._job is not None and self._job.token.paused
        state = "Paused \u00b7 " if paused else ""
        epochs = self._trainer.config.epochs if self._trainer else "?"
        self.status.setText(
            f"{state}step {rec['step']:,} / {rec['total_steps']:,} \u00b7 epoch {rec['epoch']} / "
            f"{epochs} \u00b7 {rec['tokens_seen']:,} tokens seen \u00b7 "
            f"{rec['tokens_per_s']:,.0f} tokens/s \u00b7 train loss {rec['train_loss']:.3f} \u00b7 "
            f"ETA {core.human_duration(rec['eta_s']) if self._job else 'done'}")
        self.progress.setFormat(f"%p%  (ETA {core.human_duration(rec['eta_s'])})"
                                if self._job else "%p%")

    def _update_buttons(self) -> None:
        running = self._job is not None
        busy = self._side.busy
        self.train_button.setEnabled(not running and not busy)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        has_model = (self._trainer is not None and self._done is not None
                     and self._done["step"] > 0) or self._result_entry is not None
        self.use_button.setEnabled(has_model and not running and not self._in_labs)
        self.save_as_button.setEnabled(self._trainer is not None and self._done is not None
                                       and self._done["step"] > 0 and not running and not busy)
        self.load_button.setEnabled(not running and not busy)

    # =========================================================================================
    # results: save, use, load
    # =========================================================================================
    def _save(self, path: Path) -> bool:
        """Write the checkpoint to `path` on the side job; False when another is going."""
        trainer = self._trainer
        corpus = self._run_corpus

        def job(token):
            meta = {"source": core.TRAINED_SOURCE,
                    "corpus_choice": corpus.kind if corpus else ""}
            yield str(trainer.save(path, **meta))

        if not self._side.start(job, "saving", self._on_saved, self._on_save_failed):
            return False
        self.say(f"Saving the checkpoint to {path}\u2026")
        return True

    def save_as_dialog(self) -> None:
        save_path_dialog(self, "Save checkpoint", core.checkpoint_path(
            self.ctx.data_dir, self._run_corpus or core.CorpusChoice(core.VERDICT)),
            "Checkpoints (*.safetensors)", self.save_to)

    def save_to(self, path) -> bool:
        return self._trainer is not None and not self.running and self._save(Path(path))

    def _on_saved(self, path: str) -> None:
        self._checkpoint = Path(path)
        self.say(f"Saved the checkpoint to {path}.")
        self.saved.emit(path)

    def _on_save_failed(self, message: str) -> None:
        self.say(f"The checkpoint could not be saved: {message}. The trained model is still "
                 "here: use it in the labs, or Save as\u2026 elsewhere.", error=True)
        self.saved.emit("")

    def use_in_labs(self) -> bool:
        """Make the trained (or loaded) model the one every lab uses."""
        if self.running:
            return False
        entry = self._result_entry
        if entry is None:
            trainer = self._trainer
            if trainer is None or self._done is None or self._done["step"] <= 0:
                return False
            stamp = time.strftime("%H:%M")
            name = f"trained {stamp} on {self._run_corpus.short_name()}"
            name = unique_name(name, [e.name for e in self.ctx.models.entries])
            meta = trainer.checkpoint_meta()
            if self._checkpoint is not None:
                meta["checkpoint"] = str(self._checkpoint)
            entry = core.entry_from_model(trainer.model, name, meta)
        self.ctx.models.add(entry, make_current=True)
        self._in_labs = True
        self._update_buttons()
        self.say(f"The labs now use \u201c{entry.name}\u201d.")
        return True

    def load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Load checkpoint", str(Path(self.ctx.data_dir) / "checkpoints"),
            "Model files (*.safetensors *.pth *.pt);;All files (*)")
        if not path:
            return
        n_heads = None
        if not path.endswith(".safetensors"):
            heads, ok = QInputDialog.getInt(
                self, "Attention heads", "A state dict does not record its number of heads.\n"
                "Heads (0: infer GPT-2's 64-wide heads from the shapes):", 0, 0, 64)
            if not ok:
                return
            n_heads = heads or None
        self.load_path(path, n_heads)

    def load_path(self, path, n_heads: int | None = None) -> bool:
        """Load a checkpoint in the background; its curve (if any) fills the plot."""
        if self.running or self._side.busy:
            return False
        taken = [e.name for e in self.ctx.models.entries]

        def job(token):
            from studyapp.models.loading import load_model_file

            yield load_model_file(path, n_heads=n_heads, taken_names=taken)

        self._side.start(job, "loading", self._on_loaded, self._on_load_failed)
        self.say(f"Loading {Path(path).name}\u2026")
        return True

    def _on_loaded(self, entry) -> None:
        self._result_entry = entry
        self._trainer = None
        self._done = None
        self._in_labs = False
        steps, losses, val_steps, val_losses, per_step = core.curve_from_meta(entry.meta)
        self.plot.set_history(steps, losses, val_steps, val_losses, per_step)
        self.history.clear()
        samples = [x for x in entry.meta.get("samples", []) or [] if isinstance(x, dict)]
        for sample in samples:
            self.history.appendPlainText(f"step {sample.get('step')}: {sample.get('text')}\n")
        self.latest_sample.setText(core.sample_preview(str(samples[-1].get("text", ""))) if samples
                                   else "This checkpoint carries no samples.")
        c = entry.config
        curve_note = ("its training curve is shown" if steps or val_steps
                      else "it carries no training curve")
        self.status.setText(f"Loaded {entry.name}: {entry.num_parameters / 1e6:.2f}M parameters, "
                            f"emb {c.emb_dim}, {c.n_layers} layers, {c.n_heads} heads, context "
                            f"{c.context_length}; {curve_note}.")
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if steps or val_steps else 0)
        self.progress.setFormat("loaded checkpoint")
        self.say(f"Loaded {entry.source}. \u201cUse in labs\u201d switches the labs to it.")
        self._update_buttons()
        self.loaded.emit(True, entry.name)

    def prepare_screenshot(self, runs: bool = True) -> None:
        """Show the curve of the model in use (the bundled one carries its own) when nothing has
        been trained or loaded here yet, so the picture shows a real training run."""
        entry = self.ctx.models.current
        if (not self.running and not self._side.busy and self._result_entry is None
                and entry is not None and entry.meta.get("curve")):
            self._on_loaded(entry)

    def _on_load_failed(self, message: str) -> None:
        self.say(f"Could not load the checkpoint: {message}", error=True)
        self.loaded.emit(False, message)

    # =========================================================================================
    def shutdown(self) -> None:
        """Stop a run (the main window calls this on close): within 2 s for CPU-sized models.

        A run stopped this way is not saved: the window is going away and nothing may start a
        new thread now.
        """
        self._closing = True
        self._side.close()
        self._ui_timer.stop()
        self.plot.stop_timer()
        jobs = (self._job, self._side.job)
        for job in jobs:
            if job is not None:
                job.request_stop()
        for job in jobs:
            if job is not None and not job.wait(STOP_WAIT_MS):
                # A very large model's single step can outlast 2 s; never leave the thread
                # running behind a closing window (Qt would abort), wait for the step to end.
                job.wait(600_000)
