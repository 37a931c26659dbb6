"""A plain-text box where a dropped or pasted file is opened rather than its path typed in.

The labs connect `file_dropped(path)` to their own loading (which reads the bytes and reports
invalid UTF-8 instead of hiding it).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QPlainTextEdit


class FileDropTextEdit(QPlainTextEdit):
    file_dropped = Signal(str)

    def canInsertFromMimeData(self, source) -> bool:  # noqa: N802 (Qt's name)
        return self.local_file(source) is not None or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source) -> None:  # noqa: N802
        path = self.local_file(source)
        if path is not None:
            self.file_dropped.emit(path)
            return
        super().insertFromMimeData(source)

    @staticmethod
    def local_file(source) -> str | None:
        """The first local file named by drag-and-drop or clipboard data, if any."""
        if source is None or not source.hasUrls():
            return None
        files = [url.toLocalFile() for url in source.urls() if url.isLocalFile()]
        return files[0] if files and Path(files[0]).is_file() else None
