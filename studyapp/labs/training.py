"""The Training lab (chapter 5): train a GPT from a button and watch it learn.

Left: the corpus (The Verdict, the learner's notes file, or any UTF-8 text file), a preset and
its hyperparameters with the parameter count and estimated memory, and Train / Pause / Stop.
Right: a progress bar with ETA and tokens/s, the live loss plot (`widgets.loss_plot`), and the
text the model writes after each evaluation. When a run finishes or is stopped its checkpoint
is saved under the data folder's `checkpoints/`; "Use in labs" switches the other labs to the
model. "Load checkpoint..." opens the app's own checkpoints (with their curve) or a state dict
saved by the book's code.

The loop is `model.train.Trainer.run`, driven on a `JobThread` (rule 5): the worker only passes
records on; the view updates its labels from a timer and the plot redraws on its own timer.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QFrame, QGroupBox, QHBoxLayout, QInputDialog, QLabel,
                               QPlainTextEdit, QProgressBar, QPushButton, QRadioButton,
                               QScrollArea, QSizePolicy, QSpinBox, QSplitter, QVBoxLayout,
                               QWidget)

from model.config import GPTConfig
from model.train.config import TrainConfig, TrainingError, check_output_dir
from model.train.presets import TRAINING_PRESETS
from studyapp.labs import training_core as core
from studyapp.widgets.loss_plot import LossPlot
from studyapp.workers import JobThread

GUI_PRESETS = ("default", "tiny", "book-small", "gpt2-124m")
ERROR_STYLE = "color: #c62828;"
STOP_WAIT_MS = 1800


def create_area(ctx) -> QWidget:
    return TrainingLab(ctx)


def _spin(lo: int, hi: int, value: int, step: int = 1, tip: str = "") -> QSpinBox:
    box = QSpinBox()
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setValue(value)
    box.setToolTip(tip)
    box.setKeyboardTracking(False)
    return box


def _dspin(lo: float, hi: float, value: float, decimals: int, step: float,
           tip: str = "") -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(lo, hi)
    box.setSingleStep(step)
    box.setValue(value)
    box.setToolTip(tip)
    box.setKeyboardTracking(False)
    return box


class TrainingLab(QWidget):
    run_started = Signal()
    run_finished = Signal(str)  # the done reason, or "failed"
    saved = Signal(str)  # checkpoint path ("" when saving failed)
    loaded = Signal(bool, str)  # a checkpoint was loaded?, message

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self._job: JobThread | None = None
        self._side_job: JobThread | None = None  # saving or loading
        self._trainer = None  # the run's Trainer; its model is only touched once the job ended
        self._result_entry = None  # a loaded checkpoint's ModelEntry
        self._in_labs = False
        self._last_step: dict | None = None
        self._done: dict | None = None
        self._file_path: Path | None = None
        self._checkpoint: Path | None = None
        self._run_corpus: core.CorpusChoice | None = None
        self._status_dirty = False
        self._ready: dict | None = None
        self._last_eval: dict | None = None
        self._preset_train = TRAINING_PRESETS["default"].train
        self._closing = False
        self._building = True
        self._build()
        self._building = False
        self.apply_preset("default")
        self._ui_timer = QTimer(self)
        self._ui_timer.setInterval(100)
        self._ui_timer.timeout.connect(self._update_status)
        self._ui_timer.start()

    # =========================================================================================
    # layout
    # =========================================================================================
    def _build(self) -> None:
        # -- corpus --
        self.corpus_verdict = QRadioButton(core.CORPUS_LABELS[core.VERDICT])
        self.corpus_notes = QRadioButton(f"My notes file ({Path(self.ctx.notes_path).name})")
        self.corpus_notes.setToolTip(str(self.ctx.notes_path))
        self.corpus_file = QRadioButton("A text file:")
        self.corpus_group = QButtonGroup(self)
        for button in (self.corpus_verdict, self.corpus_notes, self.corpus_file):
            self.corpus_group.addButton(button)
            button.toggled.connect(self._settings_changed)
        self.corpus_verdict.setChecked(True)
        self.corpus_verdict.setToolTip("Edith Wharton's short story that chapters 2 and 5 train "
                                       "on: 20,479 characters, 5,145 tokens")
        self.corpus_notes.setToolTip(f"Train on your own chapter notes: {self.ctx.notes_path}")
        self.corpus_file.setToolTip("Train on any UTF-8 text file of your own")
        self.choose_button = QPushButton("Choose\u2026")
        self.choose_button.setToolTip("Choose the text file to train on")
        self.choose_button.clicked.connect(self.choose_file)
        self.file_label = QLabel("none chosen")
        self.file_label.setWordWrap(True)
        self.file_label.setStyleSheet("color: gray;")
        file_row = QHBoxLayout()
        file_row.addWidget(self.corpus_file)
        file_row.addWidget(self.choose_button)
        file_row.addStretch(1)
        corpus_box = QGroupBox("Corpus")
        corpus_layout = QVBoxLayout(corpus_box)
        corpus_layout.addWidget(self.corpus_verdict)
        corpus_layout.addWidget(self.corpus_notes)
        corpus_layout.addLayout(file_row)
        corpus_layout.addWidget(self.file_label)

        # -- model --
        self.preset = QComboBox()
        for name in GUI_PRESETS:
            self.preset.addItem(name, name)
            self.preset.setItemData(self.preset.count() - 1,
                                    TRAINING_PRESETS[name].description, Qt.ItemDataRole.ToolTipRole)
        self.preset.setToolTip("A model size and training recipe; the fields below start from "
                               "it and can be changed (section 5.1 and appendix D)")
        self.preset.currentIndexChanged.connect(
            lambda _i: self.apply_preset(self.preset.currentData()))
        self.emb_dim = _spin(2, 2048, 128, 8, "Embedding size (emb_dim)")
        self.n_layers = _spin(1, 48, 4, 1, "Transformer blocks (n_layers)")
        self.n_heads = _spin(1, 32, 4, 1, "Attention heads (n_heads); must divide emb_dim")
        self.context = _spin(4, 1024, 128, 16, "Context length: tokens per window")
        self.dropout = _dspin(0.0, 0.9, 0.0, 2, 0.05, "Dropout rate (drop_rate)")
        model_box = QGroupBox("Model")
        model_form = QFormLayout(model_box)
        model_form.addRow("Preset", self.preset)
        model_form.addRow("Embedding size", self.emb_dim)
        model_form.addRow("Layers", self.n_layers)
        model_form.addRow("Heads", self.n_heads)
        model_form.addRow("Context length", self.context)
        model_form.addRow("Dropout", self.dropout)

        # -- training --
        self.batch = _spin(0, 1024, 4, 1, "Windows per step")
        self.lr = _dspin(0.0, 1.0, 3e-3, 5, 1e-4, "Peak learning rate (the book: 0.0004)")
        self.epochs = _spin(1, 10000, 10, 1, "Passes over the training text")
        self.eval_every = _spin(0, 100000, 5, 1, "Steps between evaluations (0: only at the end)")
        self.seed = _spin(0, 2**31 - 1, 123, 1, "Random seed (the book uses 123)")
        self.warmup = _spin(0, 100000, 10, 1, "Linear warmup steps (appendix D)")
        self.cosine = QCheckBox("cosine decay")
        self.cosine.setToolTip("Lower the learning rate along a cosine to 10% by the last step")
        self.clip = _dspin(0.0, 100.0, 1.0, 2, 0.1, "Gradient clipping max norm (0: off)")
        train_box = QGroupBox("Training")
        train_form = QFormLayout(train_box)
        train_form.addRow("Batch size", self.batch)
        train_form.addRow("Learning rate", self.lr)
        train_form.addRow("Epochs", self.epochs)
        train_form.addRow("Eval every", self.eval_every)
        train_form.addRow("Seed", self.seed)
        train_form.addRow("Warmup steps", self.warmup)
        train_form.addRow("Grad clip", self.clip)
        train_form.addRow("", self.cosine)
        for box in (self.emb_dim, self.n_layers, self.n_heads, self.context, self.batch,
                    self.epochs, self.eval_every, self.seed, self.warmup):
            box.valueChanged.connect(self._settings_changed)
        for box in (self.dropout, self.lr, self.clip):
            box.valueChanged.connect(self._settings_changed)
        self.cosine.toggled.connect(self._settings_changed)

        self.size_label = QLabel()
        self.size_label.setWordWrap(True)

        # -- actions --
        self.train_button = QPushButton("Train")
        self.train_button.setDefault(True)
        self.train_button.setToolTip("Train a new model with these settings (section 5.2's "
                                     "training loop)")
        self.train_button.clicked.connect(self.start_training)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Pause after the current step; press again to resume")
        self.pause_button.toggled.connect(self.set_paused)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop after the current step; the model so far is saved")
        self.stop_button.clicked.connect(self.stop_training)
        run_row = QHBoxLayout()
        for button in (self.train_button, self.pause_button, self.stop_button):
            run_row.addWidget(button)

        self.use_button = QPushButton("Use in labs")
        self.use_button.setToolTip("Switch the Tokenizer, Embeddings, Attention and Generate labs "
                                   "to this model")
        self.use_button.clicked.connect(self.use_in_labs)
        self.save_as_button = QPushButton("Save as\u2026")
        self.save_as_button.setToolTip("Save the trained model as a checkpoint elsewhere (it "
                                       "is already saved in the app's data folder)")
        self.save_as_button.clicked.connect(self.save_as_dialog)
        self.load_button = QPushButton("Load checkpoint\u2026")
        self.load_button.setToolTip("Open a checkpoint of this app (with its training curve) or a "
                                    "state dict saved by the book's code (.pth)")
        self.load_button.clicked.connect(self.load_dialog)
        result_row = QHBoxLayout()
        result_row.addWidget(self.use_button)
        result_row.addWidget(self.save_as_button)
        result_row.addWidget(self.load_button)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setVisible(False)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(6, 6, 6, 6)
        for widget in (corpus_box, model_box, train_box, self.size_label):
            left_layout.addWidget(widget)
        left_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # the settings scroll when the window is short; the buttons below them never do
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 6)
        side_layout.addWidget(scroll, 1)
        buttons = QVBoxLayout()
        buttons.setContentsMargins(6, 0, 6, 0)
        buttons.addLayout(run_row)
        buttons.addLayout(result_row)
        side_layout.addLayout(buttons)
        # wide enough for the settings and a vertical scroll bar: with horizontal scrolling
        # off, anything narrower clips the group boxes' right edge
        side.setMinimumWidth(max(290, left.minimumSizeHint().width()
                                 + scroll.verticalScrollBar().sizeHint().width()))
        side.setMaximumWidth(440)

        # -- right: progress, plot, samples --
        self.status = QLabel("Not started. Choose a corpus and settings, then Train.")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.plot = LossPlot()
        self.plot.setMinimumHeight(220)
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
        samples = QWidget()
        samples_layout = QVBoxLayout(samples)
        samples_layout.setContentsMargins(0, 0, 0, 0)
        latest_title = QLabel("<b>Latest sample</b> (greedy, from \u201cEvery effort moves "
                              "you\u201d)")
        latest_title.setWordWrap(True)
        latest_title.setToolTip("After each evaluation the model continues the book's prompt, "
                                "always taking the most likely token (section 5.1.3)")
        samples_layout.addWidget(latest_title)
        samples_layout.addWidget(self.latest_sample)
        samples_layout.addWidget(QLabel("<b>Samples so far</b>"))
        samples_layout.addWidget(self.history, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plot)
        splitter.addWidget(samples)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 6, 6, 6)
        right_layout.addWidget(self.status)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.message)  # always in view, whatever the left side shows
        right_layout.addWidget(splitter, 1)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(side)
        layout.addWidget(right, 1)
        self._update_buttons()

    # =========================================================================================
    # settings
    # =========================================================================================
    def apply_preset(self, name: str) -> None:
        preset = TRAINING_PRESETS[name]
        m, t = preset.model, preset.train
        index = self.preset.findData(name)
        if index >= 0 and self.preset.currentIndex() != index:
            self.preset.blockSignals(True)
            self.preset.setCurrentIndex(index)
            self.preset.blockSignals(False)
        values = ((self.emb_dim, m.emb_dim), (self.n_layers, m.n_layers), (self.n_heads, m.n_heads),
                  (self.context, m.context_length), (self.dropout, m.drop_rate),
                  (self.batch, t.batch_size), (self.lr, t.lr), (self.epochs, t.epochs),
                  (self.eval_every, t.eval_every), (self.seed, t.seed),
                  (self.warmup, t.warmup_steps), (self.clip, t.grad_clip or 0.0),
                  (self.cosine, t.cosine))
        for widget, value in values:
            widget.blockSignals(True)
            if isinstance(widget, QCheckBox):
                widget.setChecked(bool(value))
            else:
                widget.setValue(value)
            widget.blockSignals(False)
        self._preset_train = t
        self._settings_changed()

    def model_values(self) -> dict:
        base = TRAINING_PRESETS[self.preset.currentData()].model
        values = base.to_dict()
        values.update(emb_dim=self.emb_dim.value(), n_layers=self.n_layers.value(),
                      n_heads=self.n_heads.value(), context_length=self.context.value(),
                      drop_rate=round(self.dropout.value(), 4))
        return values

    def train_config(self) -> TrainConfig:
        clip = self.clip.value()
        # Leave one core to the window: torch's threads on every core starve the event loop.
        threads = max(1, (os.cpu_count() or 2) - 1)
        return self._preset_train.replace(
            num_threads=threads,
            batch_size=self.batch.value(), lr=self.lr.value(), epochs=self.epochs.value(),
            eval_every=self.eval_every.value(), seed=self.seed.value(),
            warmup_steps=self.warmup.value(), cosine=self.cosine.isChecked(),
            grad_clip=clip if clip > 0 else None)

    def corpus_choice(self) -> core.CorpusChoice:
        if self.corpus_notes.isChecked():
            return core.CorpusChoice(core.NOTES, Path(self.ctx.notes_path))
        if self.corpus_file.isChecked():
            return core.CorpusChoice(core.FILE, self._file_path)
        return core.CorpusChoice(core.VERDICT)

    def set_corpus_file(self, path) -> None:
        self._file_path = Path(path)
        self.file_label.setText(str(self._file_path))
        self.corpus_file.setChecked(True)
        self._settings_changed()

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Train on a text file", "",
                                              "Text files (*.txt *.md);;All files (*)")
        if path:
            self.set_corpus_file(path)

    def _settings_changed(self, *_args) -> None:
        if self._building:
            return
        problems = core.settings_problems(self.model_values(), self.train_config())
        if problems:
            self.size_label.setText("; ".join(problems))
            self.size_label.setStyleSheet(ERROR_STYLE)
        else:
            self.size_label.setText(core.size_summary(GPTConfig(**self.model_values()),
                                                      self.train_config()))
            self.size_label.setStyleSheet("color: gray;")

    def _set_settings_enabled(self, enabled: bool) -> None:
        for widget in (self.corpus_verdict, self.corpus_notes, self.corpus_file,
                       self.choose_button, self.preset, self.emb_dim, self.n_layers,
                       self.n_heads, self.context, self.dropout, self.batch, self.lr,
                       self.epochs, self.eval_every, self.seed, self.warmup, self.cosine,
                       self.clip):
            widget.setEnabled(enabled)

    # =========================================================================================
    # saved inputs (the main window keeps them across restarts; a card's "Try it" sends them)
    # =========================================================================================
    _FIELDS = ("emb_dim", "n_layers", "n_heads", "context", "dropout", "batch", "lr", "epochs",
               "eval_every", "seed", "warmup", "clip")

    def save_state(self) -> dict:
        state = {"preset": self.preset.currentData(), "corpus": self.corpus_choice().kind,
                 "file": str(self._file_path) if self._file_path else "",
                 "cosine": self.cosine.isChecked(), "smoothing": self.plot.smoothing,
                 "log_y": self.plot.log_y.isChecked()}
        state.update({name: getattr(self, name).value() for name in self._FIELDS})
        return state

    def apply_state(self, state: dict) -> None:
        """Take what is valid in `state` and ignore the rest; nothing changes during a run."""
        if not isinstance(state, dict) or self.running:
            return
        if state.get("preset") in GUI_PRESETS:
            self.apply_preset(state["preset"])
        for name in self._FIELDS:
            value = state.get(name)
            box = getattr(self, name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                if isinstance(box, QSpinBox) and value != int(value):
                    continue
                if box.minimum() <= value <= box.maximum():
                    box.setValue(int(value) if isinstance(box, QSpinBox) else float(value))
        if isinstance(state.get("cosine"), bool):
            self.cosine.setChecked(state["cosine"])
        file = state.get("file")
        if isinstance(file, str) and file and len(file) < 4096:
            self._file_path = Path(file)
            self.file_label.setText(file)
        corpus = state.get("corpus")
        if corpus == core.NOTES:
            self.corpus_notes.setChecked(True)
        elif corpus == core.FILE and self._file_path is not None:
            self.corpus_file.setChecked(True)
        elif corpus == core.VERDICT:
            self.corpus_verdict.setChecked(True)
        smoothing = state.get("smoothing")
        if isinstance(smoothing, (int, float)) and 0 <= smoothing <= 0.99:
            self.plot.set_smoothing(float(smoothing))
        if isinstance(state.get("log_y"), bool):
            self.plot.set_log_y(state["log_y"])
        self._settings_changed()

    # =========================================================================================
    # running
    # =========================================================================================
    @property
    def running(self) -> bool:
        return self._job is not None

    def say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        self.message.setVisible(bool(text))

    def start_training(self) -> bool:
        """Start a run with the fields' settings; False (and a message) if it cannot start."""
        if self.running or self._side_job is not None or self._closing:
            return False
        model_values, train_cfg = self.model_values(), self.train_config()
        problems = core.settings_problems(model_values, train_cfg)
        choice = self.corpus_choice()
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

            label, text = core.load_corpus_text(choice)
            trainer = Trainer(model_cfg, train_cfg, text, corpus_name=label)
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
        self._set_settings_enabled(False)
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
        elif event == "eval":
            self.plot.add_eval(record["step"], record["tokens_seen"], record["val_loss"])
            self._last_eval = record
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
        self._set_settings_enabled(True)
        self.progress.setRange(0, max(1, self.progress.maximum()))
        self.plot.refresh()
        done = self._done
        if done is None and self._trainer is not None and self._trainer.last_done is not None:
            # the worker stopped pulling before the loop's own last record (a Stop between
            # records): the trainer recorded where it stopped when its generator was closed
            done = self._done = self._trainer.last_done
        if done is None:
            self.status.setText("Not trained: see the message below.")
            self.progress.setValue(0)
            self._trainer = None
            self._update_buttons()
            self.run_finished.emit("failed")
            return
        self._update_status(force=True)
        summary = {"completed": "Finished", "max_steps": "Reached the step limit",
                   "target_val_loss": "Reached the target loss", "stopped": "Stopped",
                   "nan": "Stopped: the loss is no longer a number"}[done["reason"]]
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
        busy = self._side_job is not None
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
    def _save(self, path: Path) -> None:
        trainer = self._trainer
        corpus = self._run_corpus

        def job(token):
            meta = {"source": core.TRAINED_SOURCE,
                    "corpus_choice": corpus.kind if corpus else ""}
            yield str(trainer.save(path, **meta))

        self._start_side_job(job, "saving", self._on_saved, self._on_save_failed)
        self.say(f"Saving the checkpoint to {path}\u2026")

    def save_as_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save checkpoint", str(
            core.checkpoint_path(self.ctx.data_dir, self._run_corpus or core.CorpusChoice(
                core.VERDICT))), "Checkpoints (*.safetensors)")
        if path:
            self.save_to(path)

    def save_to(self, path) -> bool:
        if self._trainer is None or self.running or self._side_job is not None:
            return False
        self._save(Path(path))
        return True

    def _on_saved(self, path: str) -> None:
        self._checkpoint = Path(path)
        self.say(f"Saved the checkpoint to {path}.")
        self.saved.emit(path)

    def _on_save_failed(self, message: str) -> None:
        self.say(f"The checkpoint could not be saved: {message}. The trained model is still "
                 "here: use it in the labs, or Save as\u2026 elsewhere.", error=True)
        self.saved.emit("")

    def _start_side_job(self, fn, name, on_result, on_error) -> None:
        """Run a short job (save or load); its outcome is handled once its thread has ended,
        so the signals the lab emits mean "done, and ready for the next action"."""
        if self._closing:
            return
        job = JobThread(fn, name=name, parent=self)

        def finished(_reason: str) -> None:
            self._side_job = None
            self._update_buttons()
            if job.error is not None:
                on_error(job.error)
            elif job.has_result:
                on_result(job.result)
            else:
                on_error("it was interrupted")

        job.finished.connect(finished)
        self._side_job = job
        self._update_buttons()
        job.start()

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
            taken = [e.name for e in self.ctx.models.entries]
            n = 2
            base = name
            while name in taken:
                name = f"{base} ({n})"
                n += 1
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
        if self.running or self._side_job is not None:
            return False
        taken = [e.name for e in self.ctx.models.entries]

        def job(token):
            from studyapp.labs.models_core import load_model_file

            yield load_model_file(path, n_heads=n_heads, taken_names=taken)

        self._start_side_job(job, "loading", self._on_loaded, self._on_load_failed)
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

    def prepare_screenshot(self) -> None:
        """Show the curve of the model in use (the bundled one carries its own) when nothing has
        been trained or loaded here yet, so the picture shows a real training run."""
        entry = self.ctx.models.current
        if (not self.running and self._side_job is None and self._result_entry is None
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
        self._ui_timer.stop()
        self.plot.stop_timer()
        for job in (self._job, self._side_job):
            if job is not None:
                job.request_stop()
        for job in (self._job, self._side_job):
            if job is not None and not job.wait(STOP_WAIT_MS):
                # A very large model's single step can outlast 2 s; never leave the thread
                # running behind a closing window (Qt would abort), wait for the step to end.
                job.wait(600_000)
