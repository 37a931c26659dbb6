"""What the fine-tuning labs (Classify, chapter 6; Instruct, chapter 7) do alike on the GUI
thread: their layout (settings and buttons at the left, status lines above tabs), their data
read when first shown and again when the model's context changes, a run on a `TrainingRun`
started and ended the same way, the inputs every such lab saves (its recipe, its tab, its
data), and waiting for its data before a screenshot.

`DataSourceBox` is the base of each lab's data box, `TokenizerJobView` of the views that run a
job with the tokenizer. `FineTuneRuns` is a mixin for the lab's `AreaWidget`; the lab holds
the widgets and the state it reads (see the class).
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QGroupBox, QLabel, QPushButton, QTabWidget, QWidget

from studyapp.shell.jobs import LatestJob
from studyapp.shell.runs import FAILED, TrainingRun
from studyapp.shell.waiting import wait_until
from studyapp.widgets.forms import (STRETCH, add_tabs, column, message_sayer, push_button, row,
                                   run_status, side_and_main, side_panel, when_first_shown)


class DataSourceBox(QGroupBox):
    """The "Data" box: a line naming the source in use (its tool tip says more) above the
    buttons that choose another; emits `chosen(choice)` when the learner picks one."""

    chosen = Signal(object)

    def __init__(self, tip: str, label: str, description: str, parent=None):
        super().__init__("Data", parent)
        self.setToolTip(tip)
        self.source = QLabel(label)
        self.source.setWordWrap(True)
        self.source.setToolTip(description)
        self.buttons: list[QPushButton] = []

    def lay_out(self, buttons: tuple, *below) -> None:
        """The source line, `buttons` side by side, then the `below` widgets."""
        self.buttons = [b for b in (*buttons, *below) if isinstance(b, QPushButton)]
        column(self.source, row(*buttons), *below, parent=self)

    def show_source(self, text: str, tip: str, pending: str = "") -> None:
        """Name the source; `pending` (a verb, "Reading") while it is not ready yet."""
        self.source.setText(f"{pending} {text}\u2026" if pending else text)
        self.source.setToolTip(tip)

    def set_enabled(self, on: bool) -> None:
        for button in self.buttons:
            button.setEnabled(on)


class TokenizerJobView(QWidget):
    """A view whose work (a forward pass, a batch's collation) runs on its own `LatestJob`,
    `job`, with GPT-2's tokenizer from `tokenizer_source()` (called on the worker)."""

    def __init__(self, tokenizer_source, job_name: str, delay_ms: int = 0, parent=None):
        super().__init__(parent)
        self._tokenizer_source = tokenizer_source
        self.job = LatestJob(self, delay_ms=delay_ms, name=job_name)

    def shutdown(self) -> None:
        self.job.shutdown()


class FineTuneRuns:
    """A fine-tuning lab's data and run. The lab has `ctx`, `choice` (the data in use, with
    `to_state`/`from_state`), `_pending` (the choice being read), `done` (the run's done
    record once it came), `_has_data()`, `_read_data(choice)`, `_update_buttons()`,
    `_on_record(record)`, `_on_finished(reason)`, `_recipe_changed(...)`, `start_training()`
    and `stop_training()`. `_build_side` gives it its data box, recipe (`values`,
    `set_values`, `set_editable`), buttons and status lines; `_lay_out` its `tabs`, the pages
    in the order of `TABS`."""

    TABS: tuple[str, ...] = ()
    _run: TrainingRun | None = None

    def _build_side(self, data_box, recipe, first_line: str, train_tip: str, stop_tip: str,
                    results: tuple, below: tuple = (), widths: tuple[int, int] = (250, 380)):
        """The left side: `data_box` (emits `chosen`) and `recipe` (emits `changed`) scrolling
        above `below` and the rows Fine-tune / Stop and `results` (two buttons); also the
        status lines (`first_line` until a run). Returns the side for `_lay_out`."""
        self.data_box, self.recipe = data_box, recipe
        data_box.chosen.connect(self.set_data)
        recipe.changed.connect(self._recipe_changed)
        self.train_button = push_button("Fine-tune", train_tip, self.start_training)
        self.train_button.setDefault(True)
        self.stop_button = push_button("Stop", stop_tip, self.stop_training)
        left = QWidget()
        column(data_box, recipe, STRETCH, parent=left, margins=6)
        side = side_panel(left, [*below] + [row(*pair, margins=(6, 0, 6, 0)) for pair in (
            (self.train_button, self.stop_button), results)], *widths)
        self.status, self.progress, self.message = run_status(first_line)
        self.say = message_sayer(self.message)
        return side

    def _lay_out(self, side, pages) -> None:
        """`side` at the left; the status lines above the tabs of `pages` (page, title, tip)."""
        self.tabs = add_tabs(QTabWidget(), pages)
        side_and_main(self, side, self.status, self.progress, self.message, (self.tabs, 1))
        when_first_shown(self, self._first_shown)

    def _first_shown(self) -> None:
        if not self._has_data() and self._pending is None:
            self._read_data(self.choice)

    def set_data(self, choice) -> None:
        """Read `choice` (not during a run); it replaces the data in use once it is ready."""
        if not self.running:
            self._read_data(choice)

    def _reread_for(self, entry, busy: bool, context_in_use: int | None) -> None:
        """The model is now `entry`: read the choice that waited for a model, or the data in
        use again when it was read for another context length."""
        if self._pending is not None and not busy:
            self._read_data(self._pending)
        elif self._has_data() and entry.config.context_length != context_in_use:
            self._read_data(self.choice)

    @property
    def running(self) -> bool:
        return self._run is not None

    def _start_run(self, job, name: str) -> bool:
        """Drive `job(stop)` on a TrainingRun and show the run's tab."""
        self._run = TrainingRun(job, name=name, parent=self)
        self._run.record.connect(self._on_record)
        self._run.failed.connect(lambda m: self.say(f"Fine-tuning could not run: {m}",
                                                    error=True))
        self._run.finished.connect(self._on_finished)
        self._run.start()
        self.tabs.setCurrentIndex(self.TABS.index("training"))
        self._update_buttons()
        return True

    def _update_run_buttons(self, data_ready: bool, side_busy: bool) -> None:
        """Fine-tune with data ready, a model and nothing else going; Stop during a run; the
        recipe and the data can change only between runs."""
        running = self.running
        self.train_button.setEnabled(data_ready and self.ctx.models.current is not None
                                     and not running and not side_busy)
        self.stop_button.setEnabled(running)
        self.recipe.set_editable(not running)
        self.data_box.set_enabled(not running)

    def _stop_run(self, status: str) -> bool:
        """Ask the run to stop after its step, saying `status`; False when none is going."""
        if self._run is None:
            return False
        self._run.stop()
        self.status.setText(status)
        return True

    def _end_run(self, reason: str) -> tuple[dict | None, bool]:
        """Forget the run that finished; (its done record, whether it ended with one and did not
        fail). When it did not, the status says so; a loss that was no longer a number is said."""
        run, self._run = self._run, None
        done = self.done or run.done_record
        self.progress.setRange(0, max(1, self.progress.maximum()))
        if done is None or reason == FAILED:
            self.status.setText("Not fine-tuned: see the message above." if reason == FAILED
                                else "Stopped before the first step.")
            return done, False
        if done.get("reason") == "nan":
            self.say(done["message"][0].upper() + done["message"][1:] + ".", error=True)
        return done, True

    def _common_state(self) -> dict:
        return {"data": self.choice.to_state(), "recipe": self.recipe.values(),
                "tab": self.TABS[max(0, self.tabs.currentIndex())]}

    def _apply_common_state(self, state: dict) -> None:
        if isinstance(state.get("recipe"), dict):
            self.recipe.set_values(state["recipe"])
        if state.get("tab") in self.TABS:
            self.tabs.setCurrentIndex(self.TABS.index(state["tab"]))

    def _apply_data_state(self, state: dict) -> None:
        """Read the data `state` names, unless it is in use or a run is going."""
        choice = type(self.choice).from_state(state.get("data"))
        if choice is not None and choice != self.choice and not self.running:
            self._read_data(choice)

    def _screenshot_run(self, start: Callable[[], bool] | None, stop_after_ms: int,
                        timeout_ms: int, busy: Callable[[], bool]) -> None:
        """For `prepare_screenshot`: wait for the data (or a message saying why there is
        none), then, when nothing has run yet, `start()` a run (None: no run), stopped after
        `stop_after_ms`, and wait until it and `busy()` (its saving) are over."""
        wait_until(lambda: self._has_data() or self.message.isVisible(), 60_000)
        if start is not None and self._has_data() and self.done is None and start():
            QTimer.singleShot(stop_after_ms, self.stop_training)
            wait_until(lambda: not self.running and not busy(), timeout_ms)
