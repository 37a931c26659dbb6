"""The Attention lab (chapter 3): the loaded model's heads on the learner's text, and the book's
worked example step by step.

Two tabs:

* "Your text" (`model_tab`): the text runs through the current model (`ctx.models.current`) on
  a worker thread with every layer's attention captured (`core.run_attention`), shown as a
  heatmap, every layer x head as thumbnails, a bertviz-style head view, and the chosen head's
  chapter 3 pipeline.
* "Chapter 3 step by step" (`steps_tab`): the book's six 3-d inputs, editable, through
  `core.compute_steps`; every step prints its numbers to 4 decimals and draws them.

The area offers `apply_state(payload)` for cross-links ({"step": 3}, {"text": "..."},
{"layer": 1, "head": 0, "view": "grid"}) and `prepare_screenshot()`.
"""

from __future__ import annotations


from PySide6.QtWidgets import QSizePolicy, QTabWidget

from studyapp.areas.attention import core
from studyapp.areas.attention.model_tab import (DEFAULT_TEXT, LOADING,  # noqa: F401
                                                VIEW_KEYS, ModelAttentionTab)
from studyapp.areas.attention.steps_tab import StepByStepTab
from studyapp.areas.attention.tips import AREA_TAB_TIPS
from studyapp.shell.area import MAX_SAVED_CHARS, AreaWidget
from studyapp.shell.waiting import wait_until
from studyapp.widgets.forms import add_tabs, column


def create_area(ctx) -> AreaWidget:
    return AttentionArea(ctx)


class AttentionArea(AreaWidget):
    """The Attention area: the two tabs, cross-link state and screenshot preparation."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.model_tab = ModelAttentionTab(ctx.models)
        self.steps_tab = StepByStepTab(ctx.models)
        self.tabs = add_tabs(QTabWidget(), zip(
            (self.model_tab, self.steps_tab),
            ("Your text through the model", "Chapter 3 step by step"), AREA_TAB_TIPS))
        column(self.tabs, parent=self, margins=0)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    MODEL_KEYS = ("text", "layer", "head", "view", "log")

    def apply_state(self, payload: dict) -> None:
        """Open in a given state (a card's "Try it", or the inputs saved at the last exit).

        {"step": 1..5} opens the step-by-step at that step; {"text": ...}, {"layer": i,
        "head": j or None (the average)}, {"view": "heatmap" | "grid" | "head_view" |
        "pipeline"}, {"log": bool} open the model tab; {"steps": {...}} restores the
        step-by-step's inputs (from `save_state`); {"tab": "model" | "steps"} picks the tab.
        Unknown keys and values of the wrong type are ignored.
        """
        if not isinstance(payload, dict) or not payload:
            return
        if isinstance(payload.get("steps"), dict):
            self.steps_tab.restore(payload["steps"])
        tab = self.model_tab
        if isinstance(payload.get("text"), str):
            tab.set_text(payload["text"])
        if isinstance(payload.get("log"), bool):
            tab.log_check.setChecked(payload["log"])
        layer = payload.get("layer")
        head = payload.get("head", "keep")
        layer_ok = layer is None or isinstance(layer, int)
        head_ok = head is None or head == "keep" or isinstance(head, int)
        if ("layer" in payload or "head" in payload) and layer_ok and head_ok:
            tab.select(layer, head)
        if payload.get("view") in VIEW_KEYS:
            tab.show_view(payload["view"])
        if "step" in payload:
            self.tabs.setCurrentWidget(self.steps_tab)
            try:
                self.steps_tab.show_step(int(payload["step"]))
            except (TypeError, ValueError):
                pass
        elif payload.get("tab") == "steps":
            self.tabs.setCurrentWidget(self.steps_tab)
        elif payload.get("tab") == "model" or any(k in payload for k in self.MODEL_KEYS):
            self.tabs.setCurrentWidget(self.model_tab)

    def save_state(self) -> dict:
        """The learner's inputs, as a payload `apply_state` accepts (saved at exit)."""
        tab = self.model_tab
        return {
            "tab": "steps" if self.tabs.currentWidget() is self.steps_tab else "model",
            "text": tab.text_edit.toPlainText()[:MAX_SAVED_CHARS],
            "layer": tab.layer, "head": tab.head, "log": tab.log_check.isChecked(),
            "view": VIEW_KEYS[max(0, tab.views.currentIndex())],
            "steps": self.steps_tab.save(),
        }

    def prepare_screenshot(self, runs: bool = True) -> None:
        """Show the default text's attention heatmap, drawn and ready."""
        self.tabs.setCurrentWidget(self.model_tab)
        self.model_tab.show_view("heatmap")
        if self.model_tab.text_edit.toPlainText().strip() == "":
            self.model_tab.set_text(DEFAULT_TEXT)
        wait_until(lambda: not self.model_tab.is_busy(), 10_000)
        if self.model_tab.run is not None:
            self.model_tab.select(*core.most_focused_head(self.model_tab.run))
        self.model_tab.render_all()

    def shutdown(self) -> None:
        self.model_tab.shutdown()
        self.steps_tab.shutdown()
