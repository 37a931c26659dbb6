"""Background jobs: a generator function driven on a QThread, emitting plain data.

A job is any `fn(token) -> iterable of records`. The worker only drives it: it emits each record,
reports a failure as a message, and says why it ended. Stopping is cooperative (the generator
checks `token.stopped`, and the worker stops pulling), never `QThread.terminate()`. Workers never
touch widgets; views connect to the signals, which Qt delivers on the GUI thread.

`JobThread` is one run; `LatestJob` is "the latest request wins" for work that inputs keep
replacing; `SideJob` is one short job at a time beside a lab's long run (a save, a load), its
outcome handed over once its thread has ended; `LatestJobArea` is an area whose view is a
`LatestJob`'s answer, asked only while shown. (A fine-tuning run is `shell.runs.TrainingRun`,
on a JobThread.)
"""

from __future__ import annotations

import traceback
from typing import Callable, Iterable

from PySide6.QtCore import QEventLoop, QObject, Qt, QThread, QTimer, Signal, Slot

from model.stopping import StopToken  # noqa: F401  (jobs receive one; re-exported)
from studyapp.shell.area import AreaWidget

COMPLETED, STOPPED, FAILED = "completed", "stopped", "failed"


class _Worker(QObject):
    record = Signal(object)
    failed = Signal(str)
    finished = Signal(str)

    def __init__(self, fn: Callable[[StopToken], Iterable], token: StopToken):
        super().__init__()
        self._fn = fn
        self._token = token

    @Slot()
    def run(self) -> None:
        reason = COMPLETED
        try:
            for item in self._fn(self._token):
                self.record.emit(item)
                if self._token.stopped:
                    reason = STOPPED
                    break
            else:
                if self._token.stopped:
                    reason = STOPPED
        except Exception as exc:  # reported to the GUI as a message, never a silent death
            reason = FAILED
            message = str(exc) or type(exc).__name__
            if not isinstance(exc, (ValueError, OSError, RuntimeError)):
                message = f"{type(exc).__name__}: {message}\n" + traceback.format_exc(limit=3)
            self.failed.emit(message)
        self.finished.emit(reason)
        # Ending the thread's loop from here, not from a slot of the JobThread, lets the thread
        # end even if its owner was deleted while the job ran.
        QThread.currentThread().quit()


class JobThread(QObject):
    """Owns one QThread and one worker for one run of `fn`. Connect signals, then start().

    A job that yields one result (load a file, save a checkpoint) need not collect it: when
    `finished` arrives, `result` holds the last record (`has_result` says whether there was
    one) and `error` the failure message, if any.
    """

    record = Signal(object)
    failed = Signal(str)
    finished = Signal(str)

    # Strong references while running: a job dropped by its owner must not be destroyed (Qt
    # aborts on "QThread: Destroyed while thread is still running").
    _live: "set[JobThread]" = set()

    def __init__(self, fn: Callable[[StopToken], Iterable], name: str = "job", parent=None):
        super().__init__(parent)
        self.token = StopToken()
        self._thread = QThread()
        self._thread.setObjectName(name)
        self._worker = _Worker(fn, self.token)
        self._worker.moveToThread(self._thread)
        self._worker.record.connect(self.record)
        self._worker.failed.connect(self.failed)
        # The worker ends its thread's event loop from inside the thread; JobThread.finished is
        # emitted only once the thread has really stopped (see _on_thread_finished).
        self._worker.finished.connect(self._remember_reason, Qt.ConnectionType.DirectConnection)
        self._thread.started.connect(self._worker.run)
        # Not Qt's usual finished -> worker.deleteLater: a Python-made QObject's destructor takes
        # the GIL while Qt holds a connection lock, so deleting the worker in its own thread can
        # deadlock with the GUI thread connecting a signal. It goes with this object instead.
        self._thread.finished.connect(self._on_thread_finished)
        self._reason = COMPLETED
        self._started = False
        self.has_result = False
        self.result = None
        self.error: str | None = None
        self.record.connect(self._keep_record)
        self.failed.connect(self._keep_error)

    def start(self) -> None:
        if self._started:
            raise RuntimeError("a JobThread runs once; make a new one")
        self._started = True
        JobThread._live.add(self)
        self._thread.start()

    def _keep_record(self, record) -> None:
        self.has_result, self.result = True, record

    def _keep_error(self, message: str) -> None:
        self.error = message

    def _remember_reason(self, reason: str) -> None:  # runs in the worker thread
        self._reason = reason

    def _on_thread_finished(self) -> None:
        # Qt emits QThread.finished from the worker thread just before the thread ends; wait
        # for its real end (a moment) so that whoever drops this object on `finished` may.
        self._thread.wait()
        self.finished.emit(self._reason)
        # Let go of the strong reference only after this dispatch has returned: a JobThread
        # freed by the garbage collector inside its own signal's delivery crashes Qt.
        # (A plain function, not a slot of this object: it must run even if a parent deletes
        # this object first.)
        QTimer.singleShot(0, lambda: JobThread._live.discard(self))

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def request_stop(self) -> None:
        self.token.stop()

    def pause(self) -> None:
        self.token.pause()

    def resume(self) -> None:
        self.token.resume()

    def wait(self, ms: int = 5000) -> bool:
        return self._thread.wait(ms) if self._started else True

    @classmethod
    def stop_all(cls, timeout_ms: int = 2000) -> bool:
        """Ask every running job to stop and wait for them (used when the app quits)."""
        jobs = list(cls._live)
        for job in jobs:
            job.request_stop()
        return all(job.wait(timeout_ms) for job in jobs)

    @classmethod
    def running(cls) -> list["JobThread"]:
        return [job for job in cls._live if job.is_running()]


class LatestJob(QObject):
    """"The latest request wins": the one way an area runs work that its inputs keep replacing.

    `request(fn)` waits `delay_ms` (the debounce: typing restarts the wait), then runs `fn` on a
    JobThread. A request made while a run is going asks that run to stop and starts as soon as
    it has really ended; only the newest pending request is kept. Records of a run that was
    superseded are dropped, so a view never shows an answer to an old question.

    Signals: `record` (each record of the current run), `result` (the last record of a run that
    completed and was not superseded), `failed` (message), `busy_changed` (bool).
    """

    record = Signal(object)
    result = Signal(object)
    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, delay_ms: int = 0, name: str = "job"):
        super().__init__(parent)
        self._name = name
        self._delay_ms = delay_ms
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self._start_pending)
        self._pending: Callable[[StopToken], Iterable] | None = None
        self._job: JobThread | None = None
        self._generation = 0
        self._closed = False

    def request(self, fn: Callable[[StopToken], Iterable], delay_ms: int | None = None) -> None:
        if self._closed:
            return
        self._pending = fn
        self._generation += 1
        if self._job is not None:
            self._job.token.stop()
        self._timer.start(self._delay_ms if delay_ms is None else delay_ms)
        self.busy_changed.emit(True)

    def cancel(self) -> None:
        """Forget the pending request and stop the current run; nothing more is emitted."""
        self._pending = None
        self._generation += 1
        self._timer.stop()
        if self._job is not None:
            self._job.token.stop()
        else:
            self.busy_changed.emit(False)

    def is_busy(self) -> bool:
        return self._job is not None or self._pending is not None

    def wait_idle(self, timeout_ms: int = 10_000) -> bool:
        """Spin a local event loop until no request is pending or running, so that the last
        result has been delivered (a screenshot draws only then); False if `timeout_ms` passed
        first."""
        if self._closed or not self.is_busy():
            return not self.is_busy()  # after shutdown nothing more is said: no use waiting
        loop = QEventLoop()
        deadline = QTimer(singleShot=True)
        deadline.timeout.connect(loop.quit)

        def settled(_busy: bool) -> None:
            if not self.is_busy():
                loop.quit()

        self.busy_changed.connect(settled)
        deadline.start(timeout_ms)
        loop.exec()
        self.busy_changed.disconnect(settled)
        return not self.is_busy()

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Stop for good (the window is closing): wait for the running job to end. Nothing is
        emitted afterwards, so the owner may be deleted at once."""
        self._closed = True
        self.cancel()
        if self._job is not None:
            self._job.wait(wait_ms)

    def _start_pending(self) -> None:
        if self._job is not None or self._pending is None:
            return  # the running job's end starts it
        fn, self._pending = self._pending, None
        generation = self._generation
        job = JobThread(fn, name=self._name)
        job.record.connect(lambda r: self._on_record(generation, r))
        job.failed.connect(lambda m: self._on_failed(generation, m))
        job.finished.connect(lambda reason: self._on_finished(job, generation, reason))
        self._job = job
        job.start()

    def _on_record(self, generation: int, record) -> None:
        if generation == self._generation:
            self.record.emit(record)

    def _on_failed(self, generation: int, message: str) -> None:
        if generation == self._generation:
            self.failed.emit(message)

    def _on_finished(self, job: JobThread, generation: int, reason: str) -> None:
        self._job = None
        if self._closed:
            return  # shut down: its owner may be gone already, and nothing more is said
        current = generation == self._generation
        if current and reason == COMPLETED and job.has_result:
            self.result.emit(job.result)
        if self._pending is not None and not self._closed:
            if not self._timer.isActive():
                self._start_pending()
        else:
            self.busy_changed.emit(False)


class SideJob:
    """One short job at a time beside a lab's long run. Its outcome is handled once its thread
    has ended, so what the lab says then means "done, and ready for the next action".

    `changed()` is called when a job starts and when it ends (before its outcome), for the
    lab's buttons. After `close()` nothing more starts.
    """

    def __init__(self, parent: QObject, changed: Callable[[], None]):
        self._parent = parent
        self._changed = changed
        self.job: JobThread | None = None
        self.closed = False

    @property
    def busy(self) -> bool:
        return self.job is not None

    def start(self, fn, name: str, on_result: Callable, on_error: Callable[[str], None],
              interrupted: str | None = "it was interrupted") -> bool:
        """Run `fn` (a job yielding its one result); then `on_result(result)`, or
        `on_error(message)`, with `interrupted` as the message when it ended without either
        (None: say nothing then). False when closed or a job is already running."""
        if self.closed or self.job is not None:
            return False
        job = JobThread(fn, name=name, parent=self._parent)

        def finished(_reason: str) -> None:
            self.job = None
            self._changed()
            if job.error is not None:
                on_error(job.error)
            elif job.has_result:
                on_result(job.result)
            elif interrupted is not None:
                on_error(interrupted)

        job.finished.connect(finished)
        self.job = job
        self._changed()
        job.start()
        return True

    def close(self) -> None:
        self.closed = True

    def shutdown(self, stop: bool = True, wait_ms: int = 600_000) -> None:
        """Close; let a job in progress end (asked to stop first unless `stop` is False)."""
        self.closed = True
        if self.job is not None:
            if stop:
                self.job.request_stop()
            self.job.wait(wait_ms)


class LatestJobArea(AreaWidget):
    """An area whose view is the answer of one `LatestJob` (`job`) to its current inputs,
    asked for only while the area is shown.

    A change of the inputs calls `schedule()`: while shown, the job is asked after the typing
    pause; while hidden, the area only remembers that it is dirty and asks when it is shown (no
    work for an area nobody sees). Subclasses give `answer_job()`, which reads the inputs on the
    GUI thread and returns the job (plain data out, no widgets), and `show_answer(record)` and
    `show_failure(message)`, which draw on the GUI thread; `rendered` fires after an answer has
    been drawn (the subclass emits it).
    """

    rendered = Signal()

    def __init__(self, ctx, delay_ms: int, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self._dirty = True  # the inputs changed since their answer was asked for
        self.job = LatestJob(self, delay_ms=delay_ms, name=name)
        self.job.result.connect(self.show_answer)
        self.job.failed.connect(self.show_failure)

    def answer_job(self) -> Callable[[StopToken], Iterable]:
        raise NotImplementedError

    def show_answer(self, record) -> None:
        raise NotImplementedError

    def show_failure(self, message: str) -> None:
        raise NotImplementedError

    def schedule(self) -> None:
        """The inputs changed: ask after the typing pause, or once the area is shown."""
        self._dirty = True
        if self.isVisible():
            self.ask()

    def ask(self, delay_ms: int | None = None) -> None:
        """Ask the job about the inputs as they are now, after `delay_ms` (None: the pause)."""
        self._dirty = False
        self.job.request(self.answer_job(), delay_ms)

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._dirty:
            self.schedule()

    def is_busy(self) -> bool:
        return self.job.is_busy()

    def shutdown(self) -> None:
        self.job.shutdown()
