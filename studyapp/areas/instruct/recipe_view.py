"""The Instruct lab's recipe: the book's optimizer settings, LoRA, masking, long entries, and how
many test entries get a response (sections 7.3 to 7.7, exercises 7.2 and 7.4).

The fields are built from `core.RECIPE_FIELDS` (labels, ranges, defaults and tooltips as
data). `changed(key)` fires on any edit.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QLabel

from studyapp.areas.instruct import core
from studyapp.widgets.forms import number_box


class RecipeBox(QGroupBox):
    changed = Signal(str)

    def __init__(self, parent=None):
        super().__init__("Recipe", parent)
        self.setToolTip("How the model is fine-tuned: the book's recipe by default "
                        "(section 7.6)")
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.fields: dict = {}
        for f in core.RECIPE_FIELDS:
            if f.kind is bool:
                box = QCheckBox(f.label)
                box.setChecked(bool(f.default))
                box.setToolTip(f.tip)
                box.toggled.connect(lambda _v, key=f.key: self.changed.emit(key))
                self.fields[f.key] = box
                form.addRow(box)
                continue
            box = number_box(f.lo, f.hi, f.default, step=f.step,
                             decimals=f.decimals if f.kind is float else None, tip=f.tip,
                             tracking=False)
            box.setMinimumWidth(80)  # not as wide as the largest value: the lab fits small windows
            if f.key == "max_steps":
                box.setSpecialValueText("none")
            elif f.key == "lora_rank":
                box.setSpecialValueText("off")
            elif f.key == "answer":
                box.setSpecialValueText("all")
            box.valueChanged.connect(lambda _v, key=f.key: self.changed.emit(key))
            self.fields[f.key] = box
            label = QLabel(f.label)
            label.setToolTip(f.tip)
            form.addRow(label, box)
        self.changed.connect(lambda _key: self._update_enabled())
        self._update_enabled()

    def values(self) -> dict:
        return {key: (box.isChecked() if isinstance(box, QCheckBox) else box.value())
                for key, box in self.fields.items()}

    def set_values(self, values) -> None:
        """Set the valid entries of `values`; anything else is ignored."""
        for key, value in core.clean_values(values).items():
            box = self.fields[key]
            if isinstance(box, QCheckBox):
                box.setChecked(value)
            else:
                box.setValue(value)

    def set_editable(self, on: bool) -> None:
        for box in self.fields.values():
            box.setEnabled(on)
        if on:
            self._update_enabled()

    def _update_enabled(self) -> None:
        self.fields["lora_alpha"].setEnabled(self.fields["lora_rank"].value() > 0)
