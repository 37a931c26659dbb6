"""What the Instruct lab writes: a run's model and responses file, or either one on request.

The fine-tuned model is saved as a language-model checkpoint (`model.checkpoint`), the answered
test entries as the book's `instruction-data-with-response.json` (`model.instruct`), both
atomically, on a `SideJob`, one save at a time. `saved(path)` says what was written,
`failed(message)` why nothing was.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from studyapp.areas.instruct import core
from studyapp.shell.jobs import SideJob


class RunFiles(QObject):
    saved = Signal(str)  # the file or folder written
    failed = Signal(str)  # what could not be written, and why
    busy_changed = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._side = SideJob(self, lambda: self.busy_changed.emit(self.busy))

    @property
    def busy(self) -> bool:
        return self._side.busy

    def save_run(self, folder: Path, entry, meta: dict, answered: list[dict]) -> bool:
        """The model and (when any entry was answered) the responses file in `folder`; the
        entry's metadata then names its checkpoint, so the labs can reopen it next time."""

        def job(token):
            from model.checkpoint import save_checkpoint
            from model.instruct.respond import save_responses

            path = save_checkpoint(entry.model, Path(folder) / "model.safetensors", meta)
            entry.meta["checkpoint"] = str(path)
            if answered:
                save_responses(answered, Path(folder) / core.RESPONSES_FILE)
            yield str(folder)

        return self._start(job, f"The run could not be saved in {folder}")

    def save_model(self, path, entry) -> bool:
        meta = {k: v for k, v in entry.meta.items() if k != "checkpoint"}

        def job(token):
            from model.checkpoint import save_checkpoint

            yield str(save_checkpoint(entry.model, path, meta))

        return self._start(job, f"The model could not be saved to {path}")

    def save_responses(self, path, answered: list[dict]) -> bool:
        def job(token):
            from model.instruct.respond import save_responses

            yield str(save_responses(answered, path))

        return self._start(job, f"The responses could not be saved to {path}")

    def _start(self, fn, failure: str) -> bool:
        return self._side.start(
            fn, "instruct-save", self.saved.emit,
            lambda m: self.failed.emit(f"{failure}: {m.rstrip('.')}. Nothing else was lost."),
            interrupted=None)

    def shutdown(self) -> None:
        """Let a save in progress finish (a half-written file is never left: writes are
        atomic), then say nothing more."""
        self._side.shutdown(stop=False)
