"""Try it: type an instruction (and an input), read the model's response (section 7.7).

The prompt is `format_input` of what was typed; the response is decoded greedily with the
Generate lab's decoding and the key/value cache, until the end token or the model's context.
The fine-tuned model answers when there is one, else the model in the labs (which, not
fine-tuned, rarely stops on its own).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout

from studyapp.shell import style
from studyapp.shell.finetune_lab import TokenizerJobView
from studyapp.widgets.forms import button_row, push_button

EXAMPLE_INSTRUCTION = "Rewrite the sentence using a simile."
EXAMPLE_INPUT = "The car is very fast."


class TryItView(TokenizerJobView):
    answered = Signal(object)  # the Response shown (tests wait on it)

    def __init__(self, model_source, tokenizer_source, parent=None):
        """`model_source()` returns (name, model) or None."""
        super().__init__(tokenizer_source, "instruct-try", parent=parent)
        self._model_source = model_source
        self._role = "text"
        self.instruction = QLineEdit(EXAMPLE_INSTRUCTION)
        self.instruction.setToolTip("What the model should do (### Instruction:)")
        self.input = QLineEdit(EXAMPLE_INPUT)
        self.input.setToolTip("Optional text to work on (### Input:, left out when empty)")
        self.button = push_button("Respond", "Generate the response (Ctrl+Enter)",
                                  self.request)
        self.which = QLabel()
        self.which.setWordWrap(True)
        self.response = QPlainTextEdit()
        self.response.setReadOnly(True)
        self.response.setMinimumHeight(50)
        self.response.setToolTip("The text after ### Response:, as section 7.7 extracts it")
        self.status = QLabel()
        self.status.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Instruction", self.instruction)
        form.addRow("Input", self.input)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        row = button_row(self.button, self.which, stretch=False)
        row.setStretch(1, 1)
        layout.addLayout(row)
        layout.addWidget(self.response, 1)
        layout.addWidget(self.status)
        for key in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(key), self, self.request,
                      context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.instruction.returnPressed.connect(self.request)
        self.input.returnPressed.connect(self.request)
        self.job.result.connect(self._on_result)
        self.job.failed.connect(lambda m: self._say(f"No response: {m}.", "error"))
        self.job.busy_changed.connect(lambda busy: self.button.setText(
            "Responding\u2026" if busy else "Respond"))
        style.on_change(self.status, lambda c: self.status.setStyleSheet(
            f"color: {getattr(c, self._role)};"))
        self.refresh_model()

    def refresh_model(self) -> None:
        source = self._model_source()
        self.which.setText(f"Answers: <b>{source[0]}</b>" if source else "No model yet.")

    def set_texts(self, instruction: str, text: str) -> None:
        self.instruction.setText(instruction)
        self.input.setText(text)

    def request(self) -> bool:
        source = self._model_source()
        instruction = self.instruction.text().strip()
        if source is None:
            self._say("No model to answer yet.", "error")
            return False
        if not instruction:
            self._say("Type an instruction first.", "error")
            return False
        self.refresh_model()
        entry = {"instruction": instruction, "input": self.input.text().strip()}
        model, tokenizer_source = source[1], self._tokenizer_source

        def job(token):
            import torch

            from model.instruct.respond import generate_response

            with torch.no_grad():
                yield generate_response(model, entry, tokenizer_source(), stop=token)

        self._say("Responding\u2026", "muted")
        self.job.request(job)
        return True

    def _on_result(self, response) -> None:
        self.response.setPlainText(response.text or "(an empty response: the model wrote the "
                                                    "end token at once)")
        how = {"end": "it wrote the end token", "context": "the model's context is full",
               "max_new_tokens": "the token limit", "stopped": "stopped"}[response.stopped_by]
        self._say(f"{response.new_tokens} new tokens after a {response.prompt_tokens}-token "
                  f"prompt; ended because {how}.", "muted")
        self.answered.emit(response)

    def _say(self, text: str, role: str) -> None:
        self._role = role
        self.status.setText(text)
        self.status.setStyleSheet(style.css_color(role))
