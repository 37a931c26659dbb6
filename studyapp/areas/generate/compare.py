"""Side by side: one prompt through two models (e.g. untrained vs bundled vs trained in the
Training lab), with the same decoding settings and seed, tokens streaming into both columns.

One JobThread drives both generators in turn, so the two texts grow together.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QGridLayout, QHBoxLayout, QLabel, QPlainTextEdit,
                               QVBoxLayout)

from studyapp.areas.generate.controls import DecodingControls, JobPanel
from studyapp.areas.generate.core import token_piece
from studyapp.widgets.token_stream import TokenStream
from studyapp.shell import style
from studyapp.shell.jobs import JobThread
from studyapp.widgets.forms import push_button


class ComparePanel(JobPanel):
    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.prompt = QPlainTextEdit("Every effort moves you")
        self.prompt.setFixedHeight(52)
        self.prompt.setToolTip("The prompt both models continue, token by token (generating "
                               "text: chapter 4, section 4.7)")
        self.controls = DecodingControls()
        self.controls.set_values(greedy=True, max_new_tokens=30)
        self.run_button = push_button(
            "Generate with both",
            "Generate with both models, with the same decoding settings and seed (decoding "
            "strategies: chapter 5, section 5.3)", self.start)
        self.stop_button = push_button(
            "Stop",
            "Stop both generation loops after their current token", self.stop)
        self.stop_button.setEnabled(False)
        self.message = QLabel()
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.message, 1)

        grid = QGridLayout()
        self.combos: list[QComboBox] = []
        self.infos: list[QLabel] = []
        self.outputs: list[TokenStream] = []
        for side in range(2):
            combo = QComboBox()
            combo.setToolTip(f"Model {'AB'[side]}: e.g. an untrained model (chapter 4, section "
                             "4.7), one trained in the Training lab (chapter 5, section 5.2) or "
                             "GPT-2's weights (section 5.5)")
            combo.setMinimumContentsLength(12)
            combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            info = QLabel()
            info.setWordWrap(True)
            style.set_text_role(info, "muted")
            output = TokenStream()
            output.set_placeholder("The text appears here, token by token.")
            combo.currentIndexChanged.connect(lambda _i, s=side: self._show_info(s))
            grid.addWidget(QLabel(f"Model {'AB'[side]}"), 0, side)
            grid.addWidget(combo, 1, side)
            grid.addWidget(info, 2, side)
            grid.addWidget(output, 3, side)
            self.combos.append(combo)
            self.infos.append(info)
            self.outputs.append(output)
        grid.setRowStretch(3, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The same prompt, settings and seed through two models."))
        layout.addWidget(self.prompt)
        layout.addWidget(self.controls)
        layout.addLayout(buttons)
        layout.addLayout(grid, 1)
        self.session.entries_changed.connect(self.refresh_models)
        self.session.current_changed.connect(lambda _e: self.refresh_models())
        self.refresh_models()

    def refresh_models(self) -> None:
        entries = self.session.entries
        for side, combo in enumerate(self.combos):
            previous = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            for entry in entries:
                combo.addItem(entry.name, entry)
            if previous in entries:
                combo.setCurrentIndex(entries.index(previous))
            elif entries:
                # A: the model in use; B: another one when there is one.
                current = self.session.current
                others = [e for e in entries if e is not current]
                pick = current if side == 0 or not others else others[-1]
                combo.setCurrentIndex(entries.index(pick) if pick in entries else 0)
            combo.blockSignals(False)
        a, b = (combo.currentData() for combo in self.combos)
        others = [e for e in entries if e is not a]
        if a is b and others:
            # Two models are more telling than one twice: B takes the newest other one.
            self.combos[1].blockSignals(True)
            self.combos[1].setCurrentIndex(entries.index(others[-1]))
            self.combos[1].blockSignals(False)
        for side in range(2):
            self._show_info(side)
        if not entries:
            self.message.setText("Loading model...")
        elif len(entries) < 2:
            self.message.setText("Only one model so far: add another in the Models tab (an "
                                 "untrained one, or one trained in the Training lab) to "
                                 "compare.")
        elif self._job is None:
            self.message.setText("")
        self.run_button.setEnabled(bool(entries) and self._job is None)

    def _show_info(self, side: int) -> None:
        entry = self.combos[side].currentData()
        self.infos[side].setText("" if entry is None else entry.describe())

    def select(self, a, b) -> None:
        """Choose the two models (ModelEntry objects from the session)."""
        entries = self.session.entries
        self.combos[0].setCurrentIndex(entries.index(a))
        self.combos[1].setCurrentIndex(entries.index(b))

    def start(self) -> bool:
        if self._job is not None:
            return False
        models = [combo.currentData() for combo in self.combos]
        if any(m is None for m in models):
            self.message.setText("Choose two models first.")
            return False
        vocab = min(m.config.vocab_size for m in models)
        try:
            settings, notices = self.controls.checked(vocab)
        except ValueError as exc:
            self.message.setTextFormat(Qt.TextFormat.RichText)
            problem = html.escape(str(exc))
            style.set_rich_text(self.message, lambda c: f"<span style='color:{c.error}'><b>"
                                                        f"{problem}</b></span>")
            return False
        from model.generate import prepare_prompt

        tok = self.session.tokenizer
        text = self.prompt.toPlainText()
        prompts = [prepare_prompt(text, tok, m.config.context_length) for m in models]
        for side, prepared in enumerate(prompts):
            self.outputs[side].set_tokens([token_piece(tok, i) for i in prepared.ids],
                                          len(prepared.ids))
        notes = notices + sorted({n for p in prompts for n in p.notices})
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setText(" ".join(notes))
        use_cache = self.controls.values()["kv_cache"]

        def job(token):
            import torch

            from model.generate import iter_generate_steps

            gens = [iter_generate_steps(m.model, torch.tensor([p.ids]), settings.max_new_tokens,
                                        temperature=settings.temperature, top_k=settings.top_k,
                                        top_p=settings.top_p, seed=settings.seed,
                                        use_cache=use_cache)
                    for m, p in zip(models, prompts)]
            active = [True, True]
            while any(active):
                for side, gen in enumerate(gens):
                    if not active[side]:
                        continue
                    if token.stopped:
                        return
                    step = next(gen, None)
                    if step is None:
                        active[side] = False
                        continue
                    yield side, step.token

        self._job = JobThread(job, name="compare", parent=self)
        self._job.record.connect(self._on_token)
        self._job.failed.connect(lambda msg: self.message.setText(f"Generation failed: {msg}"))
        self._job.finished.connect(self._on_finished)
        self.run_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self._job.start()
        return True

    def _on_token(self, record) -> None:
        side, token = record
        piece = token_piece(self.session.tokenizer, token)
        self.outputs[side].append(piece, f"ID {token}")

    def _on_finished(self, reason: str) -> None:
        self._job = None
        for output in self.outputs:
            output.render_now()
        self.stop_button.setEnabled(False)
        self.run_button.setEnabled(bool(self.session.entries))
        self.done.emit(reason)

    def texts(self) -> list[str]:
        return ["".join(o.pieces[o.n_prompt:]) for o in self.outputs]

    def stop(self) -> None:
        if self._job is not None:
            self._job.request_stop()

