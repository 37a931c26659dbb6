"""The Training lab's settings (chapter 5): the corpus, a preset and the hyperparameters of
`core.FIELDS`, with the parameter count and estimated memory beneath.

The form is built from the field table, and so are reading it (`model_values`,
`train_config`), saving it and checking what a saved state or a card's "Try it" sends.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QGroupBox, QHBoxLayout, QLabel, QRadioButton,
                               QSpinBox, QVBoxLayout, QWidget)

from model.config import GPTConfig
from model.train.config import TrainConfig
from model.train.presets import TRAINING_PRESETS
from studyapp.shell import style
from studyapp.areas.training import core
from studyapp.widgets.forms import number_box, push_button

GUI_PRESETS = ("default", "tiny", "book-small", "gpt2-124m")


class SettingsForm(QWidget):
    """Corpus, model and training settings."""

    def __init__(self, notes_path, parent=None):
        super().__init__(parent)
        self.notes_path = Path(notes_path)
        self.file_path: Path | None = None
        self._preset_train = TRAINING_PRESETS["default"].train
        self._building = True
        self._build()
        self._building = False
        self.apply_preset("default")

    def _build(self) -> None:
        # -- corpus --
        self.corpus_verdict = QRadioButton(core.CORPUS_LABELS[core.VERDICT])
        self.corpus_notes = QRadioButton(f"My notes file ({self.notes_path.name})")
        self.corpus_notes.setToolTip(str(self.notes_path))
        self.corpus_file = QRadioButton("A text file:")
        self.corpus_group = QButtonGroup(self)
        for button in (self.corpus_verdict, self.corpus_notes, self.corpus_file):
            self.corpus_group.addButton(button)
            button.toggled.connect(self._settings_changed)
        self.corpus_verdict.setChecked(True)
        self.corpus_verdict.setToolTip("Edith Wharton's short story that chapters 2 and 5 train "
                                       "on: 20,479 characters, 5,145 tokens")
        self.corpus_notes.setToolTip(f"Train on your own chapter notes: {self.notes_path}")
        self.corpus_file.setToolTip("Train on any UTF-8 text file of your own")
        self.choose_button = push_button("Choose\u2026", "Choose the text file to train on",
                                         self.choose_file)
        self.file_label = QLabel("none chosen")
        self.file_label.setWordWrap(True)
        style.set_text_role(self.file_label, "muted")
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

        # -- model and training: one box per field of the table --
        self.preset = QComboBox()
        for name in GUI_PRESETS:
            self.preset.addItem(name, name)
            self.preset.setItemData(self.preset.count() - 1,
                                    TRAINING_PRESETS[name].description, Qt.ItemDataRole.ToolTipRole)
        self.preset.setToolTip("A model size and training recipe; the fields below start from "
                               "it and can be changed (section 5.1 and appendix D)")
        self.preset.currentIndexChanged.connect(
            lambda _i: self.apply_preset(self.preset.currentData()))
        model_box = QGroupBox("Model")
        train_box = QGroupBox("Training")
        forms = {"model": QFormLayout(model_box), "train": QFormLayout(train_box)}
        forms["model"].addRow("Preset", self.preset)
        self.fields: dict[str, QSpinBox | QDoubleSpinBox] = {}
        for field in core.FIELDS:
            box = number_box(field.low, field.high, step=field.step, decimals=field.decimals,
                             tip=field.tip, tracking=False)
            box.valueChanged.connect(self._settings_changed)
            forms[field.config].addRow(field.label, box)
            self.fields[field.name] = box
            setattr(self, field.name, box)  # self.emb_dim, self.lr, ...
        self.cosine = QCheckBox("cosine decay")
        self.cosine.setToolTip("Lower the learning rate along a cosine to 10% by the last step")
        self.cosine.toggled.connect(self._settings_changed)
        forms["train"].addRow("", self.cosine)

        self.size_label = QLabel()
        self.size_label.setWordWrap(True)
        self._size_role = "muted"  # "error" while the settings cannot train
        style.on_change(self.size_label, lambda c: self.size_label.setStyleSheet(
            f"color: {getattr(c, self._size_role)};"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        for widget in (corpus_box, model_box, train_box, self.size_label):
            layout.addWidget(widget)
        layout.addStretch(1)

    # -- reading and setting ----------------------------------------------------------------
    def apply_preset(self, name: str) -> None:
        preset = TRAINING_PRESETS[name]
        index = self.preset.findData(name)
        if index >= 0 and self.preset.currentIndex() != index:
            self.preset.blockSignals(True)
            self.preset.setCurrentIndex(index)
            self.preset.blockSignals(False)
        for field_name, value in core.preset_values(preset.model, preset.train).items():
            box = self.fields[field_name]
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.cosine.blockSignals(True)
        self.cosine.setChecked(bool(preset.train.cosine))
        self.cosine.blockSignals(False)
        self._preset_train = preset.train
        self._settings_changed()

    def values(self) -> dict[str, float]:
        return {name: box.value() for name, box in self.fields.items()}

    def model_values(self) -> dict:
        return core.model_values(TRAINING_PRESETS[self.preset.currentData()].model,
                                 self.values())

    def train_config(self) -> TrainConfig:
        # Leave one core to the window: torch's threads on every core starve the event loop.
        threads = max(1, (os.cpu_count() or 2) - 1)
        return core.train_config(self._preset_train, self.values(), self.cosine.isChecked(),
                                 num_threads=threads)

    def corpus_choice(self) -> core.CorpusChoice:
        if self.corpus_notes.isChecked():
            return core.CorpusChoice(core.NOTES, self.notes_path)
        if self.corpus_file.isChecked():
            return core.CorpusChoice(core.FILE, self.file_path)
        return core.CorpusChoice(core.VERDICT)

    def set_corpus_file(self, path) -> None:
        self.file_path = Path(path)
        self.file_label.setText(str(self.file_path))
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
            self._size_role = "error"
            self.size_label.setStyleSheet(style.css_color("error"))
        else:
            self.size_label.setText(core.size_summary(GPTConfig(**self.model_values()),
                                                      self.train_config()))
            self._size_role = "muted"
            self.size_label.setStyleSheet(style.css_color("muted"))

    def set_enabled(self, enabled: bool) -> None:
        for widget in (self.corpus_verdict, self.corpus_notes, self.corpus_file,
                       self.choose_button, self.preset, self.cosine, *self.fields.values()):
            widget.setEnabled(enabled)

    # -- saved inputs -------------------------------------------------------------------------
    def save_state(self) -> dict:
        return {"preset": self.preset.currentData(), "corpus": self.corpus_choice().kind,
                "file": str(self.file_path) if self.file_path else "",
                "cosine": self.cosine.isChecked(), **self.values()}

    def apply_state(self, state: dict) -> None:
        """Take what is valid in `state` and ignore the rest."""
        if state.get("preset") in GUI_PRESETS:
            self.apply_preset(state["preset"])
        for field in core.FIELDS:
            value = state.get(field.name)
            if field.accepts(value):
                self.fields[field.name].setValue(
                    int(value) if field.decimals is None else float(value))
        if isinstance(state.get("cosine"), bool):
            self.cosine.setChecked(state["cosine"])
        file = state.get("file")
        if isinstance(file, str) and file and len(file) < 4096:
            self.file_path = Path(file)
            self.file_label.setText(file)
        corpus = state.get("corpus")
        if corpus == core.NOTES:
            self.corpus_notes.setChecked(True)
        elif corpus == core.FILE and self.file_path is not None:
            self.corpus_file.setChecked(True)
        elif corpus == core.VERDICT:
            self.corpus_verdict.setChecked(True)
        self._settings_changed()
