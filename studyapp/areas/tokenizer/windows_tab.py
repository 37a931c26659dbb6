"""The Tokenizer lab's "Sliding window" and "Decode IDs" tabs (chapter 2, sections 2.3 and
2.6): input-target windows and batches as create_dataloader_v1 makes them, and token IDs back
to text. Computed by `core.sliding_windows` and `core.decode_ids` (no Qt)."""

from __future__ import annotations

import html

from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit,
                               QSpinBox, QTextBrowser, QVBoxLayout, QWidget)

from studyapp import tokens
from studyapp.areas.tokenizer import core
from studyapp.areas.tokenizer.rich_text import MONO as _MONO
from studyapp.areas.tokenizer.rich_text import chip_html as _chip_html
from studyapp.shell import style
from studyapp.tensor_text import format_tensor
from studyapp.widgets.forms import STRETCH, column, form_rows


class WindowTabs:
    """Part of `TokenizerLab`: builds both tabs on the lab's `tabs` and draws them for the
    lab's text (`result`) or The Verdict (`_verdict_text`)."""

    def _build_window_tab(self) -> None:
        # Sliding window
        win = QWidget()
        self.max_length = QSpinBox(minimum=1, maximum=1024, value=4)
        self.stride = QSpinBox(minimum=1, maximum=1024, value=4)
        self.batch_size = QSpinBox(minimum=1, maximum=64, value=8)
        self.window_source = QComboBox()
        self.window_source.addItems(["This text", "The Verdict"])
        for widget in (self.max_length, self.stride, self.batch_size):
            widget.valueChanged.connect(self._windows_changed)
        self.window_source.currentIndexChanged.connect(self._windows_changed)
        self.window_summary = ""
        self.window_source.setToolTip("The text the sliding window samples: this text, or The "
                                      "Verdict as in chapter 2, section 2.6")
        self.max_length.setToolTip("max_length: tokens per input window; each target is its "
                                   "input shifted by one token (chapter 2, section 2.6)")
        self.stride.setToolTip("Stride: how far the sliding window moves between samples; "
                               "stride = max_length means no overlap (chapter 2, section 2.6)")
        self.batch_size.setToolTip("Batch size: input windows per batch of "
                                   "create_dataloader_v1 (chapter 2, section 2.6)")
        left = QWidget()
        column(form_rows(("Text:", self.window_source), ("max_length:", self.max_length),
                         ("stride:", self.stride), ("batch size:", self.batch_size)),
               STRETCH, parent=left, margins=0)
        left.setMaximumWidth(220)
        self.window_view = QTextBrowser()
        self.batch_view = QPlainTextEdit()
        self.batch_view.setReadOnly(True)
        self.batch_view.setFont(_MONO)
        self.batch_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        win_layout = QHBoxLayout(win)
        win_layout.addWidget(left)
        win_layout.addWidget(self.window_view, 3)
        win_layout.addWidget(self.batch_view, 2)
        self.tabs.addTab(win, "Sliding window")
        self.tabs.setTabToolTip(2, "Input-target pairs from a sliding window, in batches "
                                   "(data sampling: chapter 2, section 2.6)")

    def _build_decode_tab(self) -> None:
        # Decode
        dec = QWidget()
        self.decode_input = QLineEdit("15496, 11, 466, 345, 588, 8887, 30")
        self.decode_input.setPlaceholderText("IDs, e.g. [15496, 11, 466] or 15496 11 466")
        self.decode_input.setToolTip("Token IDs to turn back into text with GPT-2's tokenizer "
                                     "(decode: chapter 2, sections 2.3 and 2.5); IDs outside the "
                                     "vocabulary are named")
        self.decode_input.textChanged.connect(self._decode_changed)
        self.decode_output = QPlainTextEdit()
        self.decode_output.setReadOnly(True)
        self.decode_output.setMinimumHeight(40)
        self.decode_problems = QLabel()
        self.decode_problems.setWordWrap(True)
        style.set_text_role(self.decode_problems, "error")
        dec_form = QHBoxLayout()
        dec_form.addWidget(QLabel("IDs:"))
        dec_form.addWidget(self.decode_input, 1)
        dec_layout = QVBoxLayout(dec)
        dec_layout.addLayout(dec_form)
        dec_layout.addWidget(QLabel("Text:"))
        dec_layout.addWidget(self.decode_output, 1)
        dec_layout.addWidget(self.decode_problems)
        self.tabs.addTab(dec, "Decode IDs")
        self.tabs.setTabToolTip(3, "Token IDs back to text (chapter 2, section 2.3)")

    # -- sliding window ------------------------------------------------------------------------
    def _windows_changed(self) -> None:
        self._windows_dirty = True
        self._refresh_visible_tab()

    def _render_windows(self) -> None:
        self._windows_dirty = False
        from model.tokenizer import get_tokenizer

        if self.window_source.currentIndex() == 1:
            ids = get_tokenizer().encode(self._verdict_text())
            source = "The Verdict"
        else:
            ids = self.result.ids if self.result else []
            source = "this text"
        w = core.sliding_windows(ids, self.max_length.value(), self.stride.value(),
                                 self.batch_size.value())
        summary = (f"{source}: {w.n_tokens:,} tokens \u2192 <b>{w.count:,}</b> windows, "
                   f"{w.n_batches:,} full batch(es) of {w.batch_size} (drop_last=True).")
        if w.problem:
            summary += (f"<br><span style='color:{style.colours().error}'>"
                        f"{html.escape(w.problem)}</span>")
        self.window_summary = summary
        rows = []
        label = tokens.token_label
        for k, (start, x, y) in enumerate(zip(w.starts, w.inputs, w.targets)):
            xs = "".join(_chip_html(label(t)[0], j) for j, t in enumerate(x[:24]))
            ys = "".join(_chip_html(label(t)[0], j + 1) for j, t in enumerate(y[:24]))
            rows.append(f"<tr><td>{k}</td><td>{start}</td><td>{xs}<br><small>{x[:24]}</small>"
                        f"</td><td>{ys}<br><small>{y[:24]}</small></td></tr>")
        listed = len(w.starts)
        more = (f"<p>The first {listed} of {w.count:,} windows are listed.</p>"
                if w.count > listed else "")
        first = ""
        if w.inputs:
            x, y = w.inputs[0], w.targets[0]
            pairs = "<br>".join(
                f"{html.escape(''.join(label(t)[0] for t in x[:i + 1]))} \u2192 "
                f"<b>{html.escape(label(y[i])[0])}</b>" for i in range(min(len(x), 8)))
            first = ("<p>Within the first window, each prefix predicts the next token:<br>"
                     f"{pairs}</p>")
        self.window_view.setHtml(
            f"<p>{summary}</p><p>Inputs are windows of max_length tokens; targets are the "
            "same windows shifted "
            "by one token.</p>" + first
            + "<table cellspacing=3><tr><th>#</th><th>start</th><th>input</th><th>target</th>"
            "</tr>" + "".join(rows) + "</table>" + more)
        inputs, targets = w.batch(0)
        if w.count:
            self.batch_view.setPlainText(
                f"First batch (shuffle=False), shape ({len(inputs)}, {w.max_length}):\n\n"
                f"Inputs:\n{format_tensor(inputs)}\n\nTargets:\n"
                f"{format_tensor(targets)}")
        else:
            self.batch_view.setPlainText("No windows: the text is shorter than max_length + 1 "
                                         "tokens.")

    # -- decode --------------------------------------------------------------------------------
    def _decode_changed(self, _text: str) -> None:
        self._decode_dirty = True
        self._refresh_visible_tab()

    def _decode(self, raw: str) -> None:
        self._decode_dirty = False
        if not raw.strip():
            self.decode_output.setPlainText("")
            self.decode_problems.setText("Paste or type token IDs above, e.g. 15496, 11, 995.")
            return
        result = core.decode_ids(raw)
        self.decode_output.setPlainText(result.text)
        self.decode_problems.setText("\n".join(result.problems))
