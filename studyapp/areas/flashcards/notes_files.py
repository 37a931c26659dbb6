"""Flashcards: reading notes files and watching the open one (Qt).

A small file is parsed at once; a big one (`core.ASYNC_PARSE_BYTES` and up, about 1,000 cards)
on a worker, so the window never freezes on a 10,000-card file. Only the latest read is
delivered. The open file and its folder are watched (editors that save by replacing the file
drop a watch on the file); after the editor's writes settle, the file's digest is taken on a
worker and `changed` says what it now holds, so that a touch without a change reloads nothing.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QFileSystemWatcher, QObject, Signal

from studyapp.areas.flashcards.core import ASYNC_PARSE_BYTES, file_digest
from studyapp.notes.parser import NotesError, parse_file
from studyapp.shell.jobs import LatestJob

SETTLE_MS = 300  # editors write a file in several steps


class NotesFiles(QObject):
    """`read(path, then)` parses a notes file; `watch(path)` follows the open one."""

    changed = Signal(object, bytes)  # the watched path and the digest of what it holds now
    reading = Signal(str)  # a big file is being read: a message for the banner

    def __init__(self, parent=None):
        super().__init__(parent)
        self.path: Path | None = None
        self.digest = b""  # what the open deck was read from
        self._then: Callable[[object], None] | None = None
        self._reads = LatestJob(self, name="parse-notes")
        self._reads.result.connect(self._deliver)
        self._reads.failed.connect(lambda message: self._deliver(NotesError(message)))
        self._checks = LatestJob(self, delay_ms=SETTLE_MS, name="notes-digest")
        self._checks.result.connect(lambda answer: self.changed.emit(*answer))
        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._on_disk_event)
        self.watcher.directoryChanged.connect(self._on_disk_event)

    def read(self, path: Path, then: Callable[[object], None]) -> bool:
        """Parse `path`, then call `then(ParseResult or NotesError)` on the GUI thread. True: it
        was called already; False: a big file is read on a worker, `then` comes later."""
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        if size < ASYNC_PARSE_BYTES:
            self._reads.cancel()  # a big read still under way is older than this one
            try:
                result: object = parse_file(path)
            except NotesError as exc:
                result = exc
            then(result)
            return True

        def job(_token):
            try:
                yield parse_file(path)
            except NotesError as exc:
                yield exc

        self._then = then
        self._reads.request(job)
        self.reading.emit(f"Reading {html.escape(path.name)} ({size / 2**20:.1f} MB)...")
        return False

    def _deliver(self, result) -> None:
        then, self._then = self._then, None
        if then is not None:
            then(result)

    def is_busy(self) -> bool:
        return self._reads.is_busy() or self._checks.is_busy()

    def watch(self, path: Path) -> None:
        """Follow `path` (the deck just opened) and remember what it holds."""
        self.path = path
        self.digest = file_digest(path)
        old = self.watcher.files() + self.watcher.directories()
        if old:
            self.watcher.removePaths(old)
        self.watcher.addPaths([str(path), str(path.resolve().parent)])

    def keep_watching(self) -> None:
        """Watch the file again if an editor replaced it (which drops the watch)."""
        path = self.path
        if path is not None and str(path) not in self.watcher.files() and path.exists():
            self.watcher.addPath(str(path))

    def _on_disk_event(self, _path: str) -> None:
        path = self.path
        if path is not None:
            self._checks.request(lambda _token: [(path, file_digest(path))])

    def shutdown(self) -> None:
        """Nothing more is delivered; a parse under way is short and waited for."""
        self.watcher.blockSignals(True)
        self._checks.shutdown()
        self._reads.shutdown(wait_ms=10_000)
