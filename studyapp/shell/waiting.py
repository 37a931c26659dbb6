"""Waiting on the GUI thread without freezing it, and short jobs whose end is waited for.

`spin(ms)` runs the event loop for a while (the screenshot command, while views redraw);
`wait_until(ready, timeout_ms)` runs it until `ready()` holds (a lab's `prepare_screenshot`,
waiting for its run).
`SideJob` runs one short job at a time (a save, a load) on a `JobThread` and hands its outcome
over only once the thread has ended.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEventLoop, QObject, QTimer

from studyapp.shell.jobs import JobThread


def spin(ms: int) -> None:
    """Run the event loop for `ms` milliseconds."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_until(ready: Callable[[], bool], timeout_ms: int) -> None:
    """Run the event loop until `ready()` is true (checked every 50 ms) or `timeout_ms` passed."""
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(50)
    timer.timeout.connect(lambda: loop.quit() if ready() else None)
    QTimer.singleShot(timeout_ms, loop.quit)
    timer.start()
    if not ready():
        loop.exec()
    timer.stop()


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
