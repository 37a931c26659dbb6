"""The model manager: every model the app knows, which one the labs use, and adding more.

Lists `ctx.models.entries` (the bundled checkpoint, models trained in the Training lab, fresh
untrained models of any preset, files the learner opened) with parameter count, memory and
source; the one in use is marked. Adding a model: the bundled one, an untrained model of a
preset and seed, or a file (the app's .safetensors checkpoints, the book's .pth state dicts
including its converted GPT-2 files, GPT-2's Hugging Face `model.safetensors`). Loading runs on a
JobThread; a file that does not fit is refused with the reason and the current model stays.
A classifier file (chapter 6) is refused too, with a message saying it belongs to the Classify
lab: it predicts classes, not tokens. The classifiers that lab trained or opened are listed
apart, below the language models, and can never be put in use by the labs.

The Generate lab contains this widget, and its "Open model..." action (File menu, reachable from
every area) calls `open_file_dialog()`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QFormLayout, QFrame,
                               QGroupBox, QHeaderView, QLabel, QScrollArea, QSpinBox,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from studyapp.models import loading as models_core
from studyapp.shell import style
from studyapp.shell.jobs import JobThread
from studyapp.widgets.forms import button_row, number_box, push_button, splitter

FILE_FILTER = ("Model files (*.safetensors *.pth *.pt *.bin);;App or Hugging Face "
               "(*.safetensors);;Book state dict (*.pth *.pt);;All files (*)")


class ModelManager(QWidget):
    # ok?, message: emitted when a load ends (tests and the File menu's caller wait on it)
    load_finished = Signal(bool, str)

    COLUMNS = ("", "Name", "Parameters", "Memory", "Source")
    CLASSIFIER_COLUMNS = ("Name", "Classes", "Parameters", "Source")

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.models
        self._job: JobThread | None = None
        self._what = ""

        intro = QLabel("The models the app knows. The one marked \u25cf is used by every lab. "
                       "Select a model to see its config; <b>Use selected</b> switches the labs "
                       "to it.")
        intro.setWordWrap(True)

        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._show_details)
        self.table.itemDoubleClicked.connect(lambda _item: self.use_selected())

        self.use_button = push_button(
            "Use selected",
            "Switch every lab to the selected model; double-clicking a row does the same",
            self.use_selected)
        self.remove_button = push_button(
            "Remove",
            "Forget this model and free its memory (the one in use cannot be removed)",
            self.remove_selected)
        row = button_row(self.use_button, self.remove_button)

        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        details_box = QGroupBox("Selected model")
        QVBoxLayout(details_box).addWidget(self.details)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(intro)
        left_layout.addWidget(self.table, 2)
        left_layout.addLayout(row)
        left_layout.addWidget(details_box, 3)
        left_layout.addWidget(self._classifier_box(), 1)

        # -- adding models ------------------------------------------------------------------
        from model.config import PRESETS  # light: no torch

        add_box = QGroupBox("Add a model")
        form = QFormLayout(add_box)
        self.preset = QComboBox()
        self.preset.setMinimumContentsLength(12)
        self.preset.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        for name, cfg in PRESETS.items():
            self.preset.addItem(f"{name}  ({cfg.n_layers} layers, emb {cfg.emb_dim}, "
                                f"context {cfg.context_length})", name)
        self.preset.setCurrentIndex(max(0, self.preset.findData("default")))
        self.preset.setToolTip("Configuration preset: vocabulary, context length, embedding "
                               "size, heads, layers, dropout, like the book's GPT_CONFIG_124M "
                               "(chapter 4, section 4.1)")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.seed.setValue(123)
        self.seed.setToolTip("Seed: torch.manual_seed before the model is built, so the same "
                             "seed gives the same initial weights (chapter 4, section 4.6 uses "
                             "123)")
        self.untrained_button = push_button(
            "Add untrained model",
            "A GPTModel with fresh random weights (chapter 4, section 4.6): what it writes before "
            "any training (section 4.7)")
        self.untrained_button.clicked.connect(
            lambda: self.add_untrained(self.preset.currentData(), self.seed.value()))
        form.addRow("Preset", self.preset)
        form.addRow("Seed", self.seed)
        form.addRow("", self.untrained_button)
        self.bundled_button = push_button(
            "Load the bundled model",
            "The small pretrained GPT that comes with the app, loaded from its saved weights "
            "(chapter 5, section 5.4)", self.load_bundled)
        form.addRow("", self.bundled_button)
        self.heads = number_box(
            0, 128, tip="Attention heads (multi-head attention: chapter 3, section 3.6) for "
            "files that do not record them (book .pth and Hugging Face files); auto assumes "
            "GPT-2's 64-wide heads")
        self.heads.setSpecialValueText("auto (64-wide)")
        self.open_button = push_button(
            "Open file...",
            "An app checkpoint (.safetensors), a state dict saved by the book's code (.pth; "
            "chapter 5, section 5.4), or GPT-2's pretrained model.safetensors (section 5.5)",
            self.open_file_dialog)
        form.addRow("Heads (files)", self.heads)
        form.addRow("", self.open_button)
        hint = QLabel("Files: the app's checkpoints (.safetensors), the book's chapter 5 "
                      "state dicts (.pth, e.g. its converted gpt2-small-124M.pth) and GPT-2 in "
                      "the Hugging Face layout (model.safetensors). Nothing is downloaded.")
        hint.setWordWrap(True)
        style.set_text_role(hint, "muted")
        form.addRow(hint)

        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self._status_error = False
        style.on_change(self.status, self._restyle_status)
        style.on_change(self.details, lambda c: self._show_details(), now=False)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(add_box)
        right_layout.addWidget(self.status)
        right_layout.addStretch(1)

        layout = QVBoxLayout(self)
        # Word-wrapped hints and details grow tall when a column is narrow: each column
        # scrolls rather than set the whole lab's minimum height.
        columns = []
        for column in (left, right):
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(column)
            columns.append(scroll)
        layout.addWidget(splitter(Qt.Orientation.Horizontal, tuple(columns), (3, 2),
                                  collapsible=False))

        self.session.entries_changed.connect(self.refresh)
        self.session.classifiers_changed.connect(self.refresh_classifiers)
        self.refresh_classifiers()
        self.session.current_changed.connect(lambda _entry: self.refresh(select_current=True))
        self.session.loading_changed.connect(lambda *_: self.refresh())
        self.refresh()

    def _classifier_box(self) -> QGroupBox:
        box = QGroupBox("Classifiers (chapter 6)")
        box.setToolTip("GPTs fine-tuned for classification (chapter 6, section 6.5: the output "
                       "head predicts a class from the last token). They cannot generate text, "
                       "so only the Classify lab uses them.")
        self.classifier_table = QTableWidget(0, len(self.CLASSIFIER_COLUMNS))
        self.classifier_table.setHorizontalHeaderLabels(self.CLASSIFIER_COLUMNS)
        self.classifier_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.classifier_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.classifier_table.verticalHeader().setVisible(False)
        self.classifier_table.setMinimumHeight(60)
        header = self.classifier_table.horizontalHeader()
        for col in range(3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.classifier_hint = QLabel()
        self.classifier_hint.setWordWrap(True)
        style.on_change(self.classifier_hint,
                        lambda c: self.classifier_hint.setStyleSheet(f"color: {c.muted};"))
        layout = QVBoxLayout(box)
        layout.addWidget(self.classifier_table, 1)
        layout.addWidget(self.classifier_hint)
        return box

    def refresh_classifiers(self) -> None:
        entries = self.session.classifiers
        self.classifier_table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            cells = (entry.name, ", ".join(entry.labels),
                     models_core.human_count(entry.num_parameters), entry.source)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(entry.describe())
                self.classifier_table.setItem(row, col, item)
        self.classifier_hint.setText(
            "Trained or opened in the Classify lab; used there only." if entries else
            "None yet: the Classify lab fine-tunes one, or opens a saved classifier.")

    # -- inputs kept between runs ---------------------------------------------------------
    def inputs(self) -> dict:
        """The choices of "Add a model" (preset, seed, heads), saved by the Generate lab."""
        return {"preset": self.preset.currentData(), "seed": self.seed.value(),
                "heads": self.heads.value()}

    def set_inputs(self, values: dict) -> None:
        """Set what `inputs()` returned; unknown presets and wrong types are ignored."""
        preset = values.get("preset")
        index = self.preset.findData(preset) if isinstance(preset, str) else -1
        if index >= 0:
            self.preset.setCurrentIndex(index)
        for key, spin in (("seed", self.seed), ("heads", self.heads)):
            if isinstance(values.get(key), int):
                spin.setValue(values[key])

    # -- list -----------------------------------------------------------------------------
    def _row_entry(self, row: int):
        entries = self.session.entries
        return entries[row] if 0 <= row < len(entries) else None

    def selected_entry(self):
        rows = self.table.selectionModel().selectedRows()
        return self._row_entry(rows[0].row()) if rows else None

    def refresh(self, select_current: bool = False) -> None:
        selected = None if select_current else self.selected_entry()
        entries = self.session.entries
        current = self.session.current
        self.table.setRowCount(len(entries))
        bold = QFont()
        bold.setBold(True)
        for row, entry in enumerate(entries):
            cells = ("\u25cf" if entry is current else "", entry.name,
                     models_core.human_count(entry.num_parameters),
                     models_core.human_bytes(entry.memory_bytes),
                     models_core.source_text(entry))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(entry.describe())
                if entry is current:
                    item.setFont(bold)
                self.table.setItem(row, col, item)
        if not entries:
            loading = self.session.is_loading
            self.details.setText("Loading the model..." if loading else
                                 "No model yet: add one on the right.")
        target = selected if selected in entries else current
        if target in entries:
            self.table.selectRow(entries.index(target))
        self._show_details()
        self._update_buttons()

    def _show_details(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        c = style.colours()
        rows = "".join(f"<tr><td style='color:{c.muted}; padding-right:10px'>{label}</td>"
                       f"<td>{_escape(value)}</td></tr>"
                       for label, value in models_core.details(entry))
        used = (f" <span style='color:{c.success}'>(in use by the labs)</span>"
                if entry is self.session.current else "")
        self.details.setText(f"<b>{_escape(entry.name)}</b>{used}<table>{rows}</table>")
        self._update_buttons()

    def _update_buttons(self) -> None:
        busy = self._job is not None
        entry = self.selected_entry()
        self.use_button.setEnabled(entry is not None and entry is not self.session.current)
        self.remove_button.setEnabled(entry is not None and entry is not self.session.current)
        for button in (self.untrained_button, self.bundled_button, self.open_button):
            button.setEnabled(not busy)

    def use_selected(self) -> None:
        entry = self.selected_entry()
        if entry is not None and entry is not self.session.current:
            self.session.set_current(entry)
            self._say(f"The labs now use {entry.name}.")

    def remove_selected(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        try:
            self.session.remove(entry)
        except ValueError as exc:
            self._say(str(exc), error=True)
            return
        self._say(f"Removed {entry.name}.")

    # -- adding ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._job is not None

    def open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a model", str(Path.home()),
                                              FILE_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path, n_heads: int | None = None) -> bool:
        """Load a file in the background; it becomes current if it fits. False if busy."""
        heads = n_heads if n_heads is not None else (self.heads.value() or None)
        taken = [e.name for e in self.session.entries]
        return self._start(f"Opening {Path(path).name}",
                           lambda: models_core.load_model_file(path, heads, taken))

    def add_untrained(self, preset: str, seed: int = 123) -> bool:
        taken = [e.name for e in self.session.entries]
        return self._start(f"Building an untrained {preset} model",
                           lambda: models_core.untrained(preset, seed, taken))

    def load_bundled(self) -> bool:
        taken = [e.name for e in self.session.entries]
        return self._start("Loading the bundled model", lambda: models_core.bundled(taken))

    def _start(self, what: str, make) -> bool:
        if self._job is not None:
            self._say(f"Still busy ({self._what}); try again when it is done.", error=True)
            return False

        def job(token):
            yield make()

        self._what = what
        self._job = JobThread(job, name="model-manager", parent=self)
        self._job.finished.connect(self._on_finished)
        self._say(f"{what}...")
        self._update_buttons()
        self._job.start()
        return True

    def _on_finished(self, _reason: str) -> None:
        job, self._job = self._job, None
        entry, error = job.result, job.error
        if entry is not None:
            self.session.add(entry, make_current=True)
            message = (f"Loaded {entry.name}: {models_core.human_count(entry.num_parameters)} "
                       f"parameters. The labs now use it.")
            self._say(message)
            self.load_finished.emit(True, message)
        else:
            current = self.session.current
            keep = (f" The labs keep using {current.name}." if current is not None else "")
            reason = (error or "stopped").rstrip(".")
            message = f"{self._what} failed: {reason}.{keep}"
            self._say(message, error=True)
            self.session.notice.emit(message)  # the status bar, when the manager is hidden
            self.load_finished.emit(False, message)
        self._update_buttons()

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self._status_error = error
        self._restyle_status(style.colours())

    def _restyle_status(self, c: style.Colours) -> None:
        self.status.setStyleSheet(style.css_color("error" if self._status_error else "success",
                                                  c))

    def shutdown(self) -> None:
        if self._job is not None:
            self._job.request_stop()
            self._job.wait(5000)


def _escape(text: str) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
