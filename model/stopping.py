"""A stop and pause request shared between a long job and whoever drives it (no torch, no Qt).

The training loop checks it every step; the GUI's job threads and plain scripts hold it.
"""

from __future__ import annotations

import threading


class StopToken:
    def __init__(self):
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused job must wake up to see the stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def check_pause(self) -> bool:
        """Block while paused; returns False when a stop was requested."""
        while not self._running.wait(0.05):
            pass
        return not self.stopped
