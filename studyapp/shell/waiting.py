"""Waiting on the GUI thread without freezing it.

`spin(ms)` runs the event loop for a while (the screenshot command, while views redraw);
`wait_until(ready, timeout_ms)` runs it until `ready()` holds (a lab's `prepare_screenshot`,
waiting for its run).
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEventLoop, QTimer


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
