"""A training run started from a button: the fine-tuning labs' job driver (chapters 6 and 7).

A run is a generator function `fn(stop)` that builds its engine on the worker thread and yields
plain records: those of `model.train.loop` (``step``, ``eval``, ``sample``, ``done``) and any
of the lab's own (``ready``, ``before``, a test ``report``...). `TrainingRun` drives it on a
`JobThread` and sorts the records into signals the views connect to.

Two ways to end a run, both cooperative:

- `stop()` is the learner's Stop. The loop sees the token before its next step and ends with a
  ``done`` record (reason "stopped") carrying what it measured; the records the job yields after
  the loop (an accuracy report) still arrive, so a stopped run keeps its result.
- `shutdown()` is the window closing. The worker stops pulling at once and the thread is waited
  for. A ``ready`` record may carry the engine as ``"run"`` (anything with a `last_done`, such as
  a `TrainingLoop` or a `FineTune`): the done record the loop wrote when its generator was
  closed is then still emitted, so the run's last state is not lost.
"""

from __future__ import annotations

from typing import Callable, Iterable

from PySide6.QtCore import QObject, Signal

from model.stopping import StopToken
from studyapp.shell.jobs import COMPLETED, FAILED, STOPPED, JobThread

__all__ = ["TrainingRun", "COMPLETED", "STOPPED", "FAILED"]


class TrainingRun(QObject):
    """One run of `fn(stop)`; connect the signals, then `start()`. Runs once."""

    record = Signal(object)  # every record, in order
    ready = Signal(object)  # {"event": "ready", ...}: the engine is built
    step = Signal(object)
    evaluated = Signal(object)  # an "eval" record
    done = Signal(object)  # the loop's done record (once)
    failed = Signal(str)
    finished = Signal(str)  # COMPLETED, STOPPED or FAILED, once the thread has ended

    def __init__(self, fn: Callable[[StopToken], Iterable[dict]], name: str = "training",
                 parent: QObject | None = None):
        super().__init__(parent)
        self.token = StopToken()  # what the loop checks; the worker's own token ends pulling
        self._engine = None
        self.last_step: dict | None = None
        self.last_eval: dict | None = None
        self.done_record: dict | None = None
        self.evals: list[dict] = []
        self.error: str | None = None
        self._job = JobThread(lambda _worker_token: fn(self.token), name=name, parent=self)
        self._job.record.connect(self._on_record)
        self._job.failed.connect(self._on_failed)
        self._job.finished.connect(self._on_finished)

    # -- control --

    def start(self) -> None:
        self._job.start()

    @property
    def running(self) -> bool:
        return self._job.is_running()

    def stop(self) -> None:
        """End after the current step, keeping what the run measured."""
        self.token.stop()

    def wait(self, ms: int) -> bool:
        return self._job.wait(ms)

    def shutdown(self, wait_ms: int = 2000) -> None:
        """Stop pulling records now and wait for the thread (the window is closing)."""
        self.token.stop()
        self._job.request_stop()
        if not self._job.wait(wait_ms):
            # one step of a large model can outlast the wait; a thread still running behind a
            # closed window would abort the app, so wait for the step to end
            self._job.wait(600_000)

    # -- records --

    def _on_record(self, record) -> None:
        if not isinstance(record, dict):
            return
        event = record.get("event")
        if event == "ready":
            self._engine = record.get("run")
        elif event == "step":
            self.last_step = record
        elif event == "eval":
            self.last_eval = record
            self.evals.append(record)
        elif event == "done":
            if self.done_record is not None:
                return
            self.done_record = record
        self.record.emit(record)
        signal = {"ready": self.ready, "step": self.step, "eval": self.evaluated,
                  "done": self.done}.get(event)
        if signal is not None:
            signal.emit(record)

    def _on_failed(self, message: str) -> None:
        self.error = message
        self.failed.emit(message)

    def _on_finished(self, reason: str) -> None:
        if self.done_record is None and self._engine is not None:
            last = getattr(self._engine, "last_done", None)
            if isinstance(last, dict):  # the worker stopped pulling before the loop's end
                self.done_record = last
                self.record.emit(last)
                self.done.emit(last)
        if self.error is not None:
            reason = FAILED
        elif self.token.stopped:
            reason = STOPPED
        self.finished.emit(reason)
