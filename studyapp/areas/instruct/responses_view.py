"""Responses: each test entry's answer before and after fine-tuning, beside the expected output
and the book's model's answer, with ROUGE-L scores and their averages (sections 7.7 and 7.8).

The book scores with Llama 3 served by Ollama; here the score is ROUGE-L, offline. The Ollama
judge is offered as an opt-in: nothing is contacted until the learner ticks the box and presses
Score, and only a server on this computer is accepted (`model.instruct.OllamaJudge`).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPlainTextEdit, QSplitter, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from studyapp.areas.instruct import core
from studyapp.shell import style
from studyapp.shell.jobs import JobThread
from studyapp.widgets.forms import push_button

COLUMNS = (("instruction", "Instruction"), ("expected", "Expected"), ("before", "Before"),
           ("after", "After"), ("book", "Book's model"), ("rouge_before", "R-L before"),
           ("rouge_after", "R-L after"), ("rouge_book", "R-L book"), ("judge", "Judge"))
SCORE_KEYS = ("rouge_before", "rouge_after", "rouge_book")


def short(text: str | None, n: int = 60) -> str:
    if text is None:
        return "\u2014"
    text = " ".join(text.split())
    return text if len(text) <= n else text[:n - 1] + "\u2026"


class ResponsesView(QWidget):
    judged = Signal(str)  # "" when the judge finished, else its message
    save_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[dict] = []
        self._judge: JobThread | None = None
        self._message_role = "muted"
        self.averages = QLabel("No responses yet: press Fine-tune. After the run, the test "
                               "entries are answered and scored here.")
        self.averages.setWordWrap(True)
        self.averages.setToolTip("ROUGE-L F-measure against the expected output, averaged "
                                 "over the answered entries (0: no word in common, 1: the same)")
        self.note = QLabel(core.JUDGE_NOTE)
        self.note.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels([label for _, label in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setDefaultSectionSize(112)
        for col, (key, _) in enumerate(COLUMNS):
            if key.startswith("rouge") or key == "judge":
                header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.currentCellChanged.connect(lambda row, *_: self._show_detail(row))
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setToolTip("The selected entry in full: its prompt, the expected output and "
                               "every response")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setChildrenCollapsible(False)
        for w in (self.table, self.detail):
            w.setMinimumHeight(50)

        self.save_button = push_button(
            "Save responses\u2026", "Write the answered test entries with their "
            "model_response as instruction-data-with-response.json, the book's layout "
            "(section 7.7)", self.save_requested.emit)
        self.use_judge = QCheckBox("Ollama judge")
        self.use_judge.setToolTip("Opt in to the book's judge (section 7.8): the entries and "
                                  "responses are sent to Ollama at this address on this "
                                  "computer, and to nothing else")
        self.judge_model = QLineEdit("llama3")
        self.judge_model.setToolTip("The Ollama model that judges (the book: llama3, 8B)")
        self.judge_model.setMaximumWidth(90)
        self.judge_url = QLineEdit("http://localhost:11434/api/chat")
        self.judge_url.setToolTip("Ollama's /api/chat or /api/generate on localhost, 127.0.0.1 "
                                  "or ::1; any other host is refused")
        self.judge_button = push_button("Score", "Have the judge score each response after "
                                        "fine-tuning from 0 to 100", self.start_judge)
        self.judge_message = QLabel()
        self.judge_message.setWordWrap(True)
        self.judge_message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_judge.toggled.connect(lambda _on: self.update_buttons())
        judge = QHBoxLayout()
        for w in (self.use_judge, self.judge_model, self.judge_url, self.judge_button):
            judge.addWidget(w)
        judge.setStretch(2, 1)
        top = QHBoxLayout()
        top.addWidget(self.averages, 1)
        top.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addWidget(self.note)
        layout.addLayout(judge)
        layout.addWidget(self.judge_message)
        style.on_change(self, self._restyle)
        self.update_buttons()

    # -- rows --

    def set_rows(self, rows: list[dict]) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i in range(len(rows)):
            self.update_row(i)
        self.refresh_averages()
        self.update_buttons()
        if rows and self.table.currentRow() < 0:
            self.table.setCurrentCell(0, 0)

    def update_row(self, i: int) -> None:
        row = self.rows[i]
        for col, (key, _) in enumerate(COLUMNS):
            value = row.get(key)
            if key in SCORE_KEYS:
                text = core.score_text(value)
            elif key == "judge":
                text = "\u2014" if value is None else str(value)
            else:
                text = short(value)
            item = QTableWidgetItem(text)
            if key not in SCORE_KEYS and key != "judge" and value:
                item.setToolTip(str(value)[:2000])
            if key in SCORE_KEYS or key == "judge":
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(i, col, item)
        if i == self.table.currentRow():
            self._show_detail(i)

    def refresh_averages(self) -> None:
        self.averages.setText(core.averages_line(self.rows) if self.rows else
                              "No responses yet.")
        self.update_buttons()

    def answered(self) -> int:
        return sum(r.get("after") is not None for r in self.rows)

    def _show_detail(self, i: int) -> None:
        if not 0 <= i < len(self.rows):
            self.detail.clear()
            return
        r = self.rows[i]
        parts = [f"Test entry {r['index']}", f"Instruction: {r['instruction']}"]
        if r["input"]:
            parts.append(f"Input: {r['input']}")
        parts.append(f"Expected: {r['expected']}")
        for key, label in (("before", "Before fine-tuning"), ("after", "After fine-tuning"),
                           ("book", f"The book's {core.BOOK_MODEL}")):
            score = r.get(f"rouge_{key}")
            tail = f"  [ROUGE-L {score:.2f}]" if score is not None else ""
            text = r[key] if r[key] is not None else "\u2014"
            parts.append(f"{label}: {text}{tail}")
        if r.get("judge") is not None:
            parts.append(f"Judge: {r['judge']} / 100")
        self.detail.setPlainText("\n\n".join(parts))

    # -- the opt-in judge --

    def update_buttons(self, busy: bool = False) -> None:
        judging = self._judge is not None
        self.save_button.setEnabled(self.answered() > 0 and not busy)
        self.judge_button.setEnabled(self.use_judge.isChecked() and self.answered() > 0
                                     and not judging and not busy)
        self.judge_button.setText("Scoring\u2026" if judging else "Score")

    def start_judge(self) -> bool:
        if self._judge is not None or not self.use_judge.isChecked() or not self.answered():
            return False
        url, name = self.judge_url.text().strip(), self.judge_model.text().strip() or "llama3"
        items = [(i, {"instruction": r["instruction"], "input": r["input"],
                      "output": r["expected"], "model_response": r["after"]})
                 for i, r in enumerate(self.rows) if r.get("after") is not None]

        def job(token):
            from model.instruct.score import OllamaJudge

            # refuses any host but this computer's before anything is sent
            judge = OllamaJudge(model=name, url=url, timeout=60.0)
            for i, entry in items:
                if token.stopped:
                    return
                yield (i, judge.score(entry))

        self._judge = JobThread(job, name="instruct-judge", parent=self)
        self._judge.record.connect(self._on_judged)
        self._judge.finished.connect(self._on_judge_finished)
        self._say(f"Asking {name} at {url}\u2026", "muted")
        self._judge.start()
        self.update_buttons()
        return True

    def _on_judged(self, record) -> None:
        i, score = record
        self.rows[i]["judge"] = score
        self.update_row(i)
        self.refresh_averages()

    def _on_judge_finished(self, _reason: str) -> None:
        job, self._judge = self._judge, None
        if job.error is not None:
            message = job.error.rstrip(".")
            self._say(f"The judge could not score: {message}. The ROUGE-L scores stand.",
                      "error")
            self.judged.emit(message)
        else:
            self._say("Scored by the judge: see the Judge column and the average above.",
                      "muted")
            self.judged.emit("")
        self.update_buttons()

    def _say(self, text: str, role: str) -> None:
        self._message_role = role
        self.judge_message.setText(text)
        self.judge_message.setStyleSheet(style.css_color(role))

    def _restyle(self, c: style.Colours) -> None:
        self.note.setStyleSheet(f"color: {c.muted};")
        self.judge_message.setStyleSheet(f"color: {getattr(c, self._message_role)};")

    def shutdown(self) -> None:
        if self._judge is not None:
            self._judge.request_stop()
            self._judge.wait(90_000)  # one request is bounded by the judge's timeout
