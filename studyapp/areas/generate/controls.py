"""Decoding controls shared by the Generate lab's panels: greedy, temperature, top-k, top-p,
max new tokens, seed, KV cache (chapter 5.3). Plain values out; checking is model.generate's."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QGridLayout, QHBoxLayout, QLabel,
                               QSlider, QSpinBox, QWidget)

from studyapp.shell.jobs import JobThread

from studyapp.widgets.forms import input_values, number_box, set_inputs

T_SCALE = 100  # slider steps per unit of temperature


class JobPanel(QWidget):
    """A panel of the lab that runs one job at a time on the loaded models; `done` says how
    the job ended ("completed", "stopped" or "failed")."""

    done = Signal(str)
    SHUTDOWN_WAIT_MS = 5000

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.models
        self._job: JobThread | None = None

    @property
    def busy(self) -> bool:
        return self._job is not None

    def shutdown(self) -> None:
        if self._job is not None:
            self._job.request_stop()
            self._job.wait(self.SHUTDOWN_WAIT_MS)


class DecodingControls(QWidget):
    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.greedy = QCheckBox("Greedy (argmax)")
        self.greedy.setToolTip("Greedy decoding: always take the most likely token (argmax), as "
                               "generate_text_simple does (chapter 4, section 4.7); temperature "
                               "0 does the same (chapter 5, section 5.3.3)")
        self.temperature_slider = QSlider(Qt.Orientation.Horizontal)
        self.temperature_slider.setRange(0, 5 * T_SCALE)
        self.temperature_slider.setMinimumWidth(60)
        self.temperature = QDoubleSpinBox()
        # Negative values can be typed so that the refusal can be seen, and explained.
        self.temperature.setRange(-5.0, 10.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setDecimals(2)
        temperature_tip = ("Temperature scaling: divides the logits before softmax; below 1 "
                           "sharper, above 1 flatter and more varied text (chapter 5, section "
                           "5.3.1)")
        self.temperature.setToolTip(temperature_tip)
        self.temperature_slider.setToolTip(temperature_tip)
        self.top_k_slider = QSlider(Qt.Orientation.Horizontal)
        self.top_k_slider.setRange(0, 100)
        self.top_k_slider.setMinimumWidth(50)
        self.top_k = QSpinBox()
        self.top_k.setRange(0, 1_000_000)
        self.top_k.setSpecialValueText("off")
        top_k_tip = ("Top-k sampling: keep only the k most likely tokens, the others get -inf "
                     "before softmax (chapter 5, section 5.3.2); 0 = off")
        self.top_k.setToolTip(top_k_tip)
        self.top_k_slider.setToolTip(top_k_tip)
        self.top_p = number_box(
            0.01, 1.0, 1.0, step=0.05, decimals=2,
            tip="Top-p (nucleus) sampling: keep the most likely tokens until their "
            "probabilities add up to p; 1 = off. Not in the book, which filters with top-k "
            "(chapter 5, section 5.3.2)")
        self.max_new_tokens = number_box(
            0, 2000, 25, tip="max_new_tokens: how many tokens the generation loop appends, one "
            "per step (chapter 4, section 4.7)")
        self.seed = number_box(
            0, 2**31 - 1, 123, tip="Seed: torch.manual_seed before sampling, as the book does, "
            "so the same seed gives the same text (chapter 5, section 5.3)")
        self.kv_cache = QCheckBox("KV cache")
        self.kv_cache.setChecked(True)
        self.kv_cache.setToolTip("KV cache: keep the keys and values (chapter 3, section 3.4) "
                                 "of earlier tokens so each step computes only the new one; "
                                 "the same tokens, faster. Not in the book's chapters: its "
                                 "loop (chapter 4, section 4.7) recomputes the whole context")

        # Two rows, so the lab still fits a small window.
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        row = [self.greedy, QLabel("Temperature"), self.temperature_slider, self.temperature,
               QLabel("Top-k"), self.top_k_slider, self.top_k]
        for col, w in enumerate(row):
            grid.addWidget(w, 0, col)
        second = QHBoxLayout()
        second.setSpacing(8)
        for w in (QLabel("Top-p"), self.top_p, QLabel("Max new tokens"), self.max_new_tokens,
                  QLabel("Seed"), self.seed, self.kv_cache):
            second.addWidget(w)
        second.addStretch(1)
        grid.addLayout(second, 1, 0, 1, len(row))
        grid.setColumnStretch(2, 3)
        grid.setColumnStretch(5, 2)

        self.temperature.setValue(1.0)
        self.temperature_slider.setValue(T_SCALE)
        self.temperature_slider.valueChanged.connect(
            lambda v: self.temperature.setValue(v / T_SCALE))
        self.temperature.valueChanged.connect(self._temperature_to_slider)
        self.top_k_slider.valueChanged.connect(self.top_k.setValue)
        self.top_k.valueChanged.connect(self._top_k_to_slider)
        self.greedy.toggled.connect(self._greedy_toggled)
        for signal in (self.greedy.toggled, self.temperature.valueChanged,
                       self.top_k.valueChanged, self.top_p.valueChanged,
                       self.max_new_tokens.valueChanged, self.seed.valueChanged,
                       self.kv_cache.toggled):
            signal.connect(lambda *_: self.changed.emit())
        self._greedy_toggled(False)
        # What state() reads and set_values() sets, by name (the temperature before greedy).
        self._inputs = {"temperature": self.temperature, "greedy": self.greedy,
                        "top_k": self.top_k, "top_p": self.top_p,
                        "max_new_tokens": self.max_new_tokens, "seed": self.seed,
                        "kv_cache": self.kv_cache}

    def _temperature_to_slider(self, value: float) -> None:
        target = max(0, min(self.temperature_slider.maximum(), round(value * T_SCALE)))
        if self.temperature_slider.value() != target:
            self.temperature_slider.blockSignals(True)
            self.temperature_slider.setValue(target)
            self.temperature_slider.blockSignals(False)

    def _top_k_to_slider(self, value: int) -> None:
        target = min(value, self.top_k_slider.maximum())
        if self.top_k_slider.value() != target:
            self.top_k_slider.blockSignals(True)
            self.top_k_slider.setValue(target)
            self.top_k_slider.blockSignals(False)

    def _greedy_toggled(self, on: bool) -> None:
        for w in (self.temperature, self.temperature_slider, self.top_p, self.seed):
            w.setEnabled(not on)

    # -- values -----------------------------------------------------------------------------
    def values(self) -> dict:
        """Raw values; temperature is 0 when greedy is ticked; top-k/top-p None when off."""
        greedy = self.greedy.isChecked()
        return {
            "greedy": greedy,
            "temperature": 0.0 if greedy else float(self.temperature.value()),
            "top_k": self.top_k.value() or None,
            "top_p": None if self.top_p.value() >= 1.0 else float(self.top_p.value()),
            "max_new_tokens": int(self.max_new_tokens.value()),
            "seed": int(self.seed.value()),
            "kv_cache": self.kv_cache.isChecked(),
        }

    def state(self) -> dict:
        """Every control's own value (the temperature even while greedy is ticked), as
        `set_values` takes them back: what the lab saves at exit."""
        return input_values(self._inputs)

    def set_values(self, **values) -> None:
        """Set the controls named; top-k and top-p may be None (off), as `values()` gives them."""
        for name, off in (("top_k", 0), ("top_p", 1.0)):
            if name in values:
                values[name] = values[name] or off
        set_inputs(values, self._inputs)

    def checked(self, vocab_size: int):
        """(SamplingSettings, notices) or ValueError with the learner-facing message.

        Only called once a model is loaded (model.generate imports torch)."""
        from model.generate import check_settings

        v = self.values()
        return check_settings(v["max_new_tokens"], v["temperature"], v["top_k"], v["top_p"],
                              v["seed"], vocab_size)
