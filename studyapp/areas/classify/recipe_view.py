"""The Classify lab's recipe: which parts of the model train, LoRA's rank and alpha, and the
optimizer's settings (section 6.5 and 6.7, appendix E), with the trainable-parameter count.

The fields are built from `core.RECIPE_FIELDS` (labels, ranges, defaults and tooltips as data).
`changed` fires on any edit, `preparation_changed` when an edit changes the data's preparation
(the padding length or the seed).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLabel,
                               QSpinBox)

from studyapp.areas.classify import core

PREPARATION_KEYS = ("max_length", "seed")


class RecipeBox(QGroupBox):
    changed = Signal()
    preparation_changed = Signal()

    def __init__(self, parent=None):
        super().__init__("Recipe", parent)
        self.setToolTip("How the classifier is fine-tuned (sections 6.5 and 6.7, appendix E)")
        self.trainable = QComboBox()
        for key, label, tip in core.TRAINABLE_CHOICES:
            self.trainable.addItem(label, key)
            self.trainable.setItemData(self.trainable.count() - 1, tip,
                                       Qt.ItemDataRole.ToolTipRole)
        self.trainable.setToolTip("Which parameters train; everything else stays frozen "
                                  "(section 6.5; LoRA: appendix E)")
        default = core.default_values()["trainable"]
        self.trainable.setCurrentIndex(self.trainable.findData(default))
        self.trainable.setMinimumContentsLength(8)
        self.trainable.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.trainable.currentIndexChanged.connect(self._trainable_changed)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Train", self.trainable)
        self.fields: dict[str, QSpinBox | QDoubleSpinBox] = {}
        for f in core.RECIPE_FIELDS:
            box = QSpinBox() if f.kind is int else QDoubleSpinBox()
            if f.kind is float:
                box.setDecimals(f.decimals)
            box.setRange(f.lo, f.hi)
            box.setSingleStep(f.step)
            box.setValue(f.default)
            box.setToolTip(f.tip)
            box.setKeyboardTracking(False)
            box.setMinimumWidth(80)  # not as wide as the largest value: the lab fits small windows
            if f.key == "max_steps":
                box.setSpecialValueText("none")
            elif f.key == "max_length":
                box.setSpecialValueText("longest text")
            box.valueChanged.connect(lambda _v, key=f.key: self._field_changed(key))
            self.fields[f.key] = box
            label = QLabel(f.label)
            label.setToolTip(f.tip)
            form.addRow(label, box)
        self.count = QLabel("Parameters are counted once the model is loaded.")
        self.count.setWordWrap(True)
        self.count.setToolTip("Trainable parameters with this choice, as the book prints them "
                              "(section 6.5; appendix E: GPT-2 small with a 2-class head has "
                              f"{core.BOOK_LORA_TOTAL:,} parameters and trains "
                              f"{core.BOOK_LORA_TRAINABLE:,} with LoRA at rank 16)")
        # shown by the lab below its settings, always in view
        self._update_enabled()

    # -- values --

    def values(self) -> dict:
        out = {key: box.value() for key, box in self.fields.items()}
        out["trainable"] = self.trainable.currentData()
        return out

    def set_values(self, values: dict) -> None:
        """Set the valid entries of `values`; anything else is ignored."""
        clean = core.clean_values(values)
        if "trainable" in clean:
            self.trainable.setCurrentIndex(self.trainable.findData(clean["trainable"]))
        for key, value in clean.items():
            if key in self.fields:
                self.fields[key].setValue(value)

    def set_count(self, counts: dict | None, note: str = "") -> None:
        if counts is None:
            self.count.setText(note or "Parameters are counted once the model is loaded.")
            return
        self.count.setText(core.count_line(counts) + (f" {note}" if note else ""))

    def set_editable(self, on: bool) -> None:
        self.trainable.setEnabled(on)
        for box in self.fields.values():
            box.setEnabled(on)
        if on:
            self._update_enabled()

    # -- internals --

    def _trainable_changed(self, _index: int) -> None:
        self._update_enabled()
        self.changed.emit()

    def _field_changed(self, key: str) -> None:
        self.changed.emit()
        if key in PREPARATION_KEYS:
            self.preparation_changed.emit()

    def _update_enabled(self) -> None:
        choice = self.trainable.currentData()
        self.fields["last_k"].setEnabled(choice == "last-k")
        for key in ("lora_rank", "lora_alpha"):
            self.fields[key].setEnabled(choice == "lora")
