"""The Generate tab of the Generate lab (chapter 4, section 4.7; chapter 5, section 5.3).

`GeneratePanel`: a prompt, greedy / temperature / top-k / top-p decoding; tokens appear one by
one (a JobThread drives `model.generate.iter_generate_steps`; Stop ends it). The next-token chart
shows the top tokens after the prompt, or after any token the learner clicks (the logits of a
position not seen yet are computed on a `LatestJob`: the latest click wins), and follows the
temperature and top-k controls live; the logits -> softmax -> argmax path is spelled out.

Torch is imported only inside functions that run once a model is loaded.
"""

from __future__ import annotations

import html
import time
from collections import OrderedDict

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QWidget

from studyapp.areas.generate.controls import DecodingControls
from studyapp.areas.generate.core import (DEFAULT_BARS, MAX_BARS, NextTokenView, next_token_view,
                                         token_name, token_piece)
from studyapp.widgets.bar_chart import BarChart
from studyapp.widgets.token_stream import TokenStream
from studyapp.shell import style
from studyapp.shell.jobs import JobThread, LatestJob
from studyapp.widgets.forms import (button_row, column, push_button, scrolled, splitter,
                                    text_field)

DEFAULT_PROMPT = "Every effort moves you"
LOGITS_KEPT = 64  # positions whose logits are remembered (each 50,257 floats)


def _prob(p: float) -> str:
    return f"{p:.4f}" if p >= 0.001 or p == 0 else f"{p:.3e}"


class GeneratePanel(QWidget):
    """Prompt -> tokens one by one, with the next-token distribution at any position."""

    generation_finished = Signal(str)  # "completed", "stopped" or "failed"

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.session = ctx.models
        self.ids: list[int] = []
        self.n_prompt = 0
        self.selected: int | None = None
        self.prompt_notices: list[str] = []
        self._logits: OrderedDict[int, object] = OrderedDict()  # position -> numpy logits
        self._entry = None  # the model the ids and logits belong to
        self._analysed = (None, None)  # (prompt text, model) last shown
        self._gen_job: JobThread | None = None
        self._gen_started = 0.0
        self._gen_count = 0
        self.logits_job = LatestJob(self, name="next-token")
        self.logits_job.result.connect(self._on_logits)
        self.logits_job.failed.connect(lambda msg: self.chart.show_message(
            f"Could not compute the distribution: {msg}"))
        self.last_view: NextTokenView | None = None

        self.model_line = QLabel()
        self.model_line.setTextFormat(Qt.TextFormat.RichText)
        self.model_line.setWordWrap(True)
        self.prompt = text_field(
            QPlainTextEdit(), "Type a prompt (empty: start from <|endoftext|>)", "Prompt: the "
            "text the model continues; it is tokenized (chapter 2, section 2.5) and fed to the "
            "GPT model (chapter 4, section 4.6). Ctrl+Enter generates",
            min_height=36, max_height=62)
        self.controls = DecodingControls()
        self.generate_button = push_button(
            "Generate",
            "Generate text one token at a time, each appended to the input (chapter 4, section "
            "4.7), with the decoding settings above (chapter 5, section 5.3) (Ctrl+Enter)",
            self.start_generation)
        self.generate_button.setDefault(True)
        self.stop_button = push_button(
            "Stop",
            "Stop the generation loop after the current token (Esc)", self.stop_generation)
        self.stop_button.setEnabled(False)
        buttons = button_row(self.generate_button, self.stop_button)
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self._notice_error = False
        style.on_change(self.notice, lambda c: self._set_notice_error(self._notice_error))
        self.status = QLabel()
        style.set_text_role(self.status, "muted")
        buttons.addWidget(self.status)

        self.output = TokenStream()
        self.output.token_clicked.connect(self.select_position)
        hint = QLabel("Grey: prompt tokens; blue: generated. Click a token to see what the "
                      "model predicted after it.")
        style.set_text_role(hint, "muted")
        hint.setWordWrap(True)
        left = QWidget()
        column((self.output, 1), hint, parent=left, margins=0)

        self.chart = BarChart()
        self.path = QLabel()
        self.path.setTextFormat(Qt.TextFormat.RichText)
        self.path.setWordWrap(True)
        self.path.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        style.on_change(self.path, lambda c: self.redraw_chart(), now=False)
        self.chart.setMinimumHeight(130)
        self.chart.resized.connect(self.redraw_chart)
        # the path's text scrolls when the window is small
        right = splitter(Qt.Orientation.Vertical, (self.chart, scrolled(self.path)), (3, 2),
                         (330, 210), collapsible=False)
        sides = splitter(Qt.Orientation.Horizontal, (left, right), (), (500, 560),
                         collapsible=False)
        column(self.model_line, self.prompt, self.controls, buttons, self.notice, (sides, 1),
               parent=self)

        for keys, slot in (("Ctrl+Return", self.start_generation),
                           ("Ctrl+Enter", self.start_generation),
                           ("Escape", self.stop_generation)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

        self._prompt_timer = QTimer(self)
        self._prompt_timer.setSingleShot(True)
        self._prompt_timer.setInterval(250)
        self._prompt_timer.timeout.connect(self.analyse_prompt)
        self.prompt.textChanged.connect(self._prompt_timer.start)
        self.controls.changed.connect(self._controls_changed)
        self.session.current_changed.connect(self._model_changed)
        self.session.loading_changed.connect(lambda *_: self._show_model_line())

        settings = ctx.settings
        self.prompt.setPlainText(settings.get("generate/prompt", DEFAULT_PROMPT))
        self.controls.set_values(
            greedy=settings.get("generate/greedy", True),
            temperature=settings.get("generate/temperature", 1.0),
            top_k=settings.get("generate/top_k", 0),
            top_p=settings.get("generate/top_p", 1.0),
            max_new_tokens=settings.get("generate/max_new_tokens", 25),
            seed=settings.get("generate/seed", 123),
            kv_cache=settings.get("generate/kv_cache", True))
        self._model_changed(self.session.current)

    # -- model ------------------------------------------------------------------------------
    def _show_model_line(self) -> None:
        entry = self.session.current
        if entry is None:
            self.model_line.setText("<i>Loading model...</i>")
            return
        c = entry.config
        self.model_line.setText(
            f"Model: <b>{html.escape(entry.name)}</b> ({entry.num_parameters / 1e6:.2f}M "
            f"parameters, {c.n_layers} layers, context {c.context_length:,}). Switch models "
            "in the <i>Models</i> tab or with File &gt; Open model...")

    def _model_changed(self, entry) -> None:
        self._show_model_line()
        self._logits.clear()
        if self._gen_job is not None:
            # Tokens still arriving from the old model are ignored; the prompt is analysed
            # again with the new one when the job has ended (_on_gen_finished).
            self._gen_job.request_stop()
            return
        ready = entry is not None
        self.generate_button.setEnabled(ready and self._gen_job is None)
        if not ready:
            self.chart.show_message("Loading model...")
            self.output.set_placeholder("Loading model...")
            self.path.setText("")
            return
        self.analyse_prompt()

    # -- prompt -----------------------------------------------------------------------------
    def _prompt_ids(self):
        from model.generate import prepare_prompt

        entry = self.session.current
        return prepare_prompt(self.prompt.toPlainText(), self.session.tokenizer,
                              entry.config.context_length)

    def analyse_prompt(self) -> None:
        """Show the prompt's tokens and the distribution of the token after them."""
        self._prompt_timer.stop()
        text = self.prompt.toPlainText()
        self.ctx.settings.set("generate/prompt", text)
        if self.session.current is None or self._gen_job is not None:
            return
        if (text, self.session.current) == self._analysed and self.ids:
            return  # unchanged: keep what was generated from it
        self._analysed = (text, self.session.current)
        prepared = self._prompt_ids()
        self.prompt_notices = prepared.notices
        self._set_tokens(prepared.ids, len(prepared.ids))
        self._logits.clear()
        self._controls_changed()
        self.select_position(self.n_prompt - 1)

    def _set_tokens(self, ids: list[int], n_prompt: int) -> None:
        self.logits_job.cancel()  # logits for the old tokens must not land in the new ones' cache
        tok = self.session.tokenizer
        self._entry = self.session.current
        self.ids = list(ids)
        self.n_prompt = n_prompt
        self.output.set_tokens([token_piece(tok, i) for i in self.ids], n_prompt,
                               [f"ID {i}: {token_name(i)}" for i in self.ids], self.selected)

    # -- settings and notices ---------------------------------------------------------------
    def _controls_changed(self) -> None:
        values = self.controls.values()
        for key in ("greedy", "temperature", "top_k", "top_p", "max_new_tokens", "seed",
                    "kv_cache"):
            value = values[key]
            if key == "temperature":
                value = float(self.controls.temperature.value())
            self.ctx.settings.set(f"generate/{key}", 0 if value is None else value)
        self._check_and_say()
        self.redraw_chart()

    def _check_and_say(self):
        """Checked settings, or None with the reason shown in red."""
        entry = self.session.current
        if entry is None:
            return None
        try:
            settings, notices = self.controls.checked(entry.config.vocab_size)
        except ValueError as exc:
            self.notice.setText(str(exc))
            self._set_notice_error(True)
            return None
        self.notice.setText(" ".join(self.prompt_notices + notices))
        self._set_notice_error(False)
        return settings

    def _set_notice_error(self, error: bool) -> None:
        """The notice line in the error colour (bold) or the notice colour."""
        self._notice_error = error
        self.notice.setStyleSheet(style.css_color("error") + " font-weight: bold;" if error
                                  else style.css_color("warning"))

    # -- next-token view --------------------------------------------------------------------
    def select_position(self, index: int) -> None:
        if not self.ids or not 0 <= index < len(self.ids):
            return
        self.selected = index
        self.output.set_selected(index)
        if index in self._logits:
            self._logits.move_to_end(index)
            self.redraw_chart()
        else:
            self.chart.show_message("Computing the next-token distribution...")
            self._request_logits(index)

    def _remember(self, position: int, logits) -> None:
        self._logits[position] = logits
        self._logits.move_to_end(position)
        while len(self._logits) > LOGITS_KEPT:
            self._logits.popitem(last=False)

    def _request_logits(self, index: int) -> None:
        entry = self.session.current
        if entry is None:
            return
        ids = self.ids[: index + 1]
        ctx_len = entry.config.context_length

        def job(token):
            import torch

            window = torch.tensor([ids[-ctx_len:]])
            with torch.no_grad():
                logits = entry.model(window)[0, -1, :]
            yield entry, index, logits.float().numpy().copy()

        self.logits_job.request(job)

    def _on_logits(self, record) -> None:
        entry, index, logits = record
        if entry is not self.session.current:
            return  # the model changed meanwhile
        self._remember(index, logits)
        if index == self.selected:
            self.redraw_chart()

    def redraw_chart(self) -> None:
        """Recompute the bars from the selected position's logits (cheap: follows sliders)."""
        index = self.selected
        if self.session.current is None or index is None or index not in self._logits:
            return
        values = self.controls.values()
        if values["temperature"] < 0:
            self.chart.show_message("Temperature must be 0 or more (0 means greedy decoding).")
            self.path.setText("")
            return
        top_k = values["top_k"]
        top_k = top_k if top_k and top_k < len(self._logits[index]) else None
        wanted = min(top_k or DEFAULT_BARS, MAX_BARS)
        shown = min(wanted, self.chart.fitting_bars()) if self.chart.isVisible() else wanted
        view = next_token_view(self._logits[index], values["temperature"], top_k,
                               values["top_p"], bars=shown)
        self.last_view = view
        labels = [token_name(i) for i in view.ids]
        following = self.ids[index + 1] if index + 1 < len(self.ids) else None
        marks = [view.ids.index(following)] if following in view.ids else []
        before = token_name(self.ids[index])
        where = ("after the prompt" if index == self.n_prompt - 1 else
                 f"after token {index + 1} of {len(self.ids)}")
        mode = ("greedy: softmax at T = 1, argmax in orange" if view.greedy else
                f"T = {view.temperature:g}" + (f", top-k {view.top_k}" if view.top_k else "")
                + (f", top-p {view.top_p:g}" if view.top_p else ""))
        room = f" (of {wanted}: enlarge the chart to see all)" if shown < wanted else ""
        title = (f"<b>Next token {where}</b> (\u201c{html.escape(before)}\u201d): top "
                 f"{len(view.ids)}{room} of {view.vocab:,}; {mode}."
                 + (" Outlined: the token that came next." if marks else ""))
        argmax_bar = view.ids.index(view.argmax) if view.argmax in view.ids else None
        self.chart.set_bars(labels, view.probs, highlight=argmax_bar, marks=marks, title=title)
        self.path.setText(self._path_html(view, labels, following))

    def _path_html(self, view: NextTokenView, labels: list[str], following) -> str:
        rows = []
        for i in range(min(5, len(view.ids))):
            mark = " \u2190 argmax" if view.ids[i] == view.argmax else ""
            marked = (f" style='color:{style.colours().emphasis}; font-weight:bold'"
                      if mark else "")
            rows.append(f"<tr{marked}><td>{html.escape(labels[i])}</td><td align=right>"
                        f"{view.ids[i]}</td><td align=right>{view.logits[i]:.3f}</td>"
                        f"<td align=right>{_prob(view.probs[i])}</td><td>{mark}</td></tr>")
        if view.greedy:
            steps = ("logits (one per vocabulary entry) \u2192 softmax \u2192 argmax "
                     f"\u2192 ID {view.argmax} \u201c{html.escape(labels[0])}\u201d. Softmax "
                     "keeps the order, so argmax of the logits picks the same token.")
        else:
            filters = []
            if view.top_k:
                filters.append(f"top-k keeps {view.top_k}")
            if view.top_p:
                filters.append(f"top-p {view.top_p:g}")
            steps = ("logits \u2192 " + (" \u2192 ".join(filters) + " (the rest -inf) \u2192 "
                                          if filters else "")
                     + f"\u00f7 T ({view.temperature:g}) \u2192 softmax \u2192 sample "
                     f"(torch.multinomial, seed {self.controls.values()['seed']}); "
                     f"{view.kept:,} tokens can be drawn.")
        came = ""
        if following is not None:
            came = (f" The token that came next: \u201c"
                    f"{html.escape(token_name(following))}"
                    f"\u201d.")
        return (f"<b>Decoding path</b>: {steps}{came}<table cellspacing=0 cellpadding=2>"
                f"<tr style='color:{style.colours().muted}'><td>token</td><td align=right>ID</td>"
                "<td align=right>logit</td><td align=right>probability</td><td></td></tr>"
                + "".join(rows) + "</table>")

    # -- generation -------------------------------------------------------------------------
    def start_generation(self) -> bool:
        """Start generating on a worker; False (with the reason shown) if refused."""
        entry = self.session.current
        if entry is None or self._gen_job is not None:
            return False
        settings = self._check_and_say()
        if settings is None:
            return False
        self._prompt_timer.stop()
        self._analysed = (self.prompt.toPlainText(), entry)
        prepared = self._prompt_ids()
        self.prompt_notices = prepared.notices
        self._check_and_say()
        self._logits.clear()
        self.selected = None
        self._set_tokens(prepared.ids, len(prepared.ids))
        if settings.max_new_tokens == 0:
            self.select_position(self.n_prompt - 1)
            return False
        use_cache = self.controls.values()["kv_cache"]
        prompt_ids = list(prepared.ids)

        def job(token):
            import torch

            from model.generate import iter_generate_steps

            idx = torch.tensor([prompt_ids])
            for step in iter_generate_steps(entry.model, idx, settings.max_new_tokens,
                                            temperature=settings.temperature,
                                            top_k=settings.top_k, top_p=settings.top_p,
                                            seed=settings.seed, use_cache=use_cache):
                yield entry, step.token, step.logits.float().numpy().copy()
                if token.stopped:
                    return

        self._gen_job = JobThread(job, name="generate", parent=self)
        self._gen_job.record.connect(self._on_token)
        self._gen_job.failed.connect(self._on_gen_failed)
        self._gen_job.finished.connect(self._on_gen_finished)
        self._gen_started = time.perf_counter()
        self._gen_count = 0
        self._set_running(True)
        self.status.setText("Generating...")
        self._gen_job.start()
        return True

    def generate_now(self) -> None:
        """Generate on the calling thread (screenshots only: the picture needs the text now)."""
        entry = self.session.current
        settings = self._check_and_say()
        if entry is None or settings is None:
            return
        import torch

        from model.generate import iter_generate_steps

        self._prompt_timer.stop()
        self._analysed = (self.prompt.toPlainText(), entry)
        prepared = self._prompt_ids()
        self._logits.clear()
        self._set_tokens(prepared.ids, len(prepared.ids))
        idx = torch.tensor([prepared.ids])
        for step in iter_generate_steps(entry.model, idx, settings.max_new_tokens,
                                        temperature=settings.temperature, top_k=settings.top_k,
                                        top_p=settings.top_p, seed=settings.seed,
                                        use_cache=True):
            self._on_token((entry, step.token, step.logits.float().numpy().copy()))
        self.output.render_now()

    def _on_token(self, record) -> None:
        entry, token, logits = record
        if entry is not self.session.current:
            return
        position = len(self.ids) - 1  # the position whose logits chose this token
        self._remember(position, logits)
        self.ids.append(token)
        tok = self.session.tokenizer
        self.output.append(token_piece(tok, token), f"ID {token}: {token_name(token)}")
        self._gen_count += 1
        # The chart follows the newest step: the distribution the token was drawn from.
        self.selected = position
        self.output.selected = position
        self.redraw_chart()

    def _on_gen_failed(self, message: str) -> None:
        self.notice.setText(f"Generation failed: {message}")
        self._set_notice_error(True)

    def _on_gen_finished(self, reason: str) -> None:
        self._gen_job = None
        self._set_running(False)
        self.output.render_now()
        seconds = time.perf_counter() - self._gen_started
        rate = self._gen_count / seconds if seconds > 0 else 0.0
        verb = "Stopped after" if reason == "stopped" else "Generated"
        self.status.setText(f"{verb} {self._gen_count} tokens in {seconds:.2f} s "
                            f"({rate:.0f} tokens/s)")
        if self.session.current is not self._entry:
            self._model_changed(self.session.current)
        self.generation_finished.emit(reason)

    def _set_running(self, running: bool) -> None:
        self.generate_button.setEnabled(not running and self.session.current is not None)
        self.stop_button.setEnabled(running)
        self.prompt.setReadOnly(running)

    def stop_generation(self) -> None:
        if self._gen_job is not None:
            self._gen_job.request_stop()

    def generated_text(self) -> str:
        return self.session.tokenizer.decode(self.ids[self.n_prompt:]) if self.ids else ""

    def shutdown(self) -> None:
        self.logits_job.shutdown()
        if self._gen_job is not None:
            self._gen_job.request_stop()
            self._gen_job.wait(5000)
