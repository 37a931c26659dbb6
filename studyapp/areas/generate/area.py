"""The Generate lab (chapters 4 and 5): text from any model the learner has, token by token.

Tabs:
- Generate: a prompt, greedy / temperature / top-k / top-p decoding; tokens appear one by one
  (a JobThread drives `model.generate.iter_generate_steps`; Stop ends it). The next-token chart
  shows the top tokens after the prompt, or after any token the learner clicks, and follows the
  temperature and top-k controls live; the logits -> softmax -> argmax path is spelled out.
- Chapter 5 demos: the book's 9-word temperature and top-k examples, with its numbers.
- Loss of a continuation: each target token's probability, cross-entropy, perplexity.
- Side by side: one prompt through two models.
- Models: the model manager (also behind File > Open model..., reachable from every area).

What reruns as its inputs change (a position's logits, the demos' temperature table) runs on a
`LatestJob`; what a button starts and Stop ends (generating, side by side, the loss) is one run
of a JobThread.

Torch is imported only inside functions that run once a model is loaded.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from studyapp.areas.generate.panel import DEFAULT_PROMPT, GeneratePanel
from studyapp.shell.model_manager import ModelManager
from studyapp.shell.area import MAX_SAVED_CHARS, AreaWidget


class GenerateArea(AreaWidget):
    """The Generate area: tabs for generation, chapter 5's demos, loss, comparison, models."""

    TABS = ("generate", "demos", "loss", "compare", "models")

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        from studyapp.areas.generate.compare import ComparePanel
        from studyapp.areas.generate.demos import DemosPanel, LossPanel

        self.ctx = ctx
        self.tabs = QTabWidget()
        self.generate = GeneratePanel(ctx)
        self.demos = DemosPanel(ctx)
        self.loss = LossPanel(ctx)
        self.compare = ComparePanel(ctx)
        self.models = ModelManager(ctx)
        self.panels = (self.generate, self.demos, self.loss, self.compare, self.models)
        titles = ("Generate", "Chapter 5: temperature and top-k", "Loss of a continuation",
                  "Side by side", "Models")
        tips = ("Generate text token by token and see the next-token distribution at any "
                "position (chapter 4, section 4.7; chapter 5, section 5.3)",
                "The book's temperature scaling and top-k examples, with its numbers (chapter "
                "5, sections 5.3.1 and 5.3.2)",
                "Cross-entropy and perplexity of a continuation you type (text generation "
                "loss: chapter 5, section 5.1.2)",
                "One prompt through two models, e.g. untrained and trained (chapter 5, section "
                "5.2)",
                "The models the labs use: untrained, trained here, or loaded from saved weights "
                "(chapter 5, sections 5.4 and 5.5)")
        for panel, title, tip in zip(self.panels, titles, tips):
            self.tabs.setTabToolTip(self.tabs.addTab(panel, title), tip)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tabs)
        self._open_action = QAction("Open &model...", self)
        self._open_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self._open_action.setToolTip("Open a model file for every lab (app checkpoint, book "
                                     ".pth, GPT-2 model.safetensors)")
        self._open_action.triggered.connect(self.models.open_file_dialog)
        self._manage_action = QAction("Manage models...", self)
        self._manage_action.triggered.connect(self.show_models)

    def file_actions(self) -> list[QAction]:
        return [self._open_action, self._manage_action]


    def current_panel(self) -> QWidget:
        return self.panels[self.tabs.currentIndex()]

    def show_models(self) -> None:
        self.ctx.navigator.open("generate", {"tab": "models"})
        self.show_tab("models")

    def show_tab(self, key: str) -> None:
        if key in self.TABS:
            self.tabs.setCurrentIndex(self.TABS.index(key))

    def apply_state(self, payload: dict) -> None:
        """Open in a given state, e.g. {"prompt": "Every effort moves you", "temperature": 0.5,
        "top_k": 3, "greedy": False, "max_new_tokens": 10, "seed": 123, "tab": "generate",
        "target": " effort moves you", "run": True}. "prompt" goes to every panel; what
        `save_state` adds sets one panel each: "loss_prompt", "compare_prompt", "compare"
        (decoding settings), "custom_temperature", "k" (chapter 5 demos), "models" (the model
        manager's preset, seed, heads)."""
        if not isinstance(payload, dict):
            return
        if "tab" in payload:
            self.show_tab(str(payload["tab"]))
        elif "prompt" in payload:
            self.show_tab("generate")
        controls = {k: payload[k] for k in ("greedy", "temperature", "top_k", "top_p",
                                            "max_new_tokens", "seed", "kv_cache")
                    if k in payload}
        if "temperature" in controls and "greedy" not in controls:
            controls["greedy"] = float(controls["temperature"]) == 0
        if controls:
            self.generate.controls.set_values(**controls)
        if "prompt" in payload:
            self.generate.prompt.setPlainText(str(payload["prompt"]))
            self.generate.analyse_prompt()
            self.loss.prompt.setText(str(payload["prompt"]))
            self.compare.prompt.setPlainText(str(payload["prompt"]))
        if "target" in payload:
            self.loss.target.setText(str(payload["target"]))
        if "loss_prompt" in payload:
            self.loss.prompt.setText(str(payload["loss_prompt"]))
        if "compare_prompt" in payload:
            self.compare.prompt.setPlainText(str(payload["compare_prompt"]))
        if isinstance(payload.get("compare"), dict):
            self.compare.controls.set_values(**{k: v for k, v in payload["compare"].items()
                                                if k in self.generate.controls.state()})
        if isinstance(payload.get("custom_temperature"), (int, float)):
            self.demos.custom_t.setValue(float(payload["custom_temperature"]))
        if isinstance(payload.get("k"), int):
            self.demos.k.setValue(payload["k"])
        if isinstance(payload.get("models"), dict):
            self.models.set_inputs(payload["models"])
        if payload.get("run"):
            if self.current_panel() is self.loss:
                self.loss.compute()
            else:
                self.generate.start_generation()

    def save_state(self) -> dict:
        """The learner's inputs in every panel, as a payload `apply_state` accepts (saved at
        exit; long prompts are cut to MAX_SAVED_CHARS characters). Never "run"."""
        return {
            "tab": self.TABS[max(0, self.tabs.currentIndex())],
            "prompt": self.generate.prompt.toPlainText()[:MAX_SAVED_CHARS],
            **self.generate.controls.state(),
            "loss_prompt": self.loss.prompt.text()[:MAX_SAVED_CHARS],
            "target": self.loss.target.text()[:MAX_SAVED_CHARS],
            "compare_prompt": self.compare.prompt.toPlainText()[:MAX_SAVED_CHARS],
            "compare": self.compare.controls.state(),
            "custom_temperature": float(self.demos.custom_t.value()),
            "k": int(self.demos.k.value()),
            "models": self.models.inputs(),
        }

    def prepare_screenshot(self, runs: bool = True) -> None:
        self.show_tab("generate")
        self.generate.prompt.setPlainText(DEFAULT_PROMPT)
        self.generate.controls.set_values(greedy=True, top_k=10, max_new_tokens=20)
        self.generate.generate_now()
        self.generate.select_position(self.generate.n_prompt - 1)
        self.generate.logits_job.wait_idle()
        self.demos.temperature_job.wait_idle()

    def shutdown(self) -> None:
        for panel in (self.generate, self.demos, self.loss, self.compare, self.models):
            panel.shutdown()


def create_area(ctx) -> AreaWidget:
    return GenerateArea(ctx)
