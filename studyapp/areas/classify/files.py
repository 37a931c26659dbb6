"""Saving and opening classifiers in the Classify lab (chapter 6, section 6.8; appendix E).

`ClassifierFiles` holds the lab's Save classifier / Open classifier dialogs and the side jobs
(on the lab's `studyapp.shell.jobs.SideJob`) that write or read the file off the GUI thread;
`ClassifyLab` mixes it in and owns the signals (`saved`, `opened`) and the state these methods
read and set.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from studyapp.areas.classify import core
from studyapp.widgets.forms import save_path_dialog

CLASSIFIER_FILTER = "Classifiers (*.safetensors *.pth);;All files (*)"


class ClassifierFiles:
    """Save classifier / Open classifier for `ClassifyLab` (a mixin: the lab holds the state)."""

    def _save(self, path: Path) -> bool:
        """Write the classifier to `path` on the side job; False when another is going."""
        finetune, entry, report = self._finetune, self.classifier, self.report
        extra = {"report": _small_report(report)} if report else {}

        def job(token):
            if finetune is not None and finetune.model is entry.model:
                yield str(finetune.save(path, **extra))
                return
            from model.classify import save_classifier

            yield str(save_classifier(entry.model, path, entry.labels, entry.max_length,
                                      entry.meta.get("recipe"), {**entry.meta, **extra}))

        if not self._side.start(job, "saving", self._on_saved,
                                lambda m: self._on_save_failed(path, m.rstrip("."))):
            return False
        self.say(f"Saving the classifier to {path}\u2026")
        return True

    def save_dialog(self) -> None:
        save_path_dialog(self, "Save classifier", core.classifier_path(
            self.ctx.data_dir, self.choice), CLASSIFIER_FILTER, self.save_to, ".safetensors")

    def save_to(self, path) -> bool:
        return self.classifier is not None and not self.running and self._save(Path(path))

    def _on_saved(self, path: str) -> None:
        self.classifier_path = Path(path)
        self.classifier.meta["checkpoint"] = path
        self.say(f"Saved the classifier to {path}.")
        self.saved.emit(path)

    def _on_save_failed(self, path, message: str) -> None:
        self.say(f"The classifier could not be saved to {path}: {message}. It is still here: "
                 "Try it works, and Save classifier\u2026 can write it elsewhere.", error=True)
        self.saved.emit("")

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open classifier", str(
            Path(self.ctx.data_dir) / "classifiers"), CLASSIFIER_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path) -> bool:
        if self.running or self._side.busy:
            return False
        taken = [c.name for c in self.ctx.models.classifiers]

        def job(token):
            from model.classify import open_classifier

            loaded = open_classifier(path)
            name = core.unique_name(Path(path).stem, taken)
            yield core.classifier_entry(loaded.model, loaded.labels, loaded.max_length, name,
                                        source=str(path), meta=loaded.meta)

        self._side.start(job, "opening", self._on_opened,
                         lambda m: self._on_open_failed(path, m.rstrip(".")))
        self.say(f"Opening {Path(path).name}\u2026")
        return True

    def _on_opened(self, entry) -> None:
        self.classifier, self.classifier_path = entry, Path(entry.source)
        self._finetune = None
        self.ctx.models.add_classifier(entry)
        self.try_it.set_classifier(entry)
        meta = entry.meta
        done = meta.get("done") or {}
        self.before, self.done = done.get("before"), done or None
        self.accuracy.set_results(self.before, done.get("after"))
        self.report = meta.get("report")
        self.results.set_report(self.report)
        curve = core.curves_from_meta(meta)
        per = (curve["examples_seen"][-1] / curve["step"][-1]
               if curve["step"] and curve["step"][-1] else 0.0)
        self.loss_plot.set_history(curve["step"], curve["train_loss"], curve["step"],
                                   curve["val_loss"], per)
        self.acc_plot.set_history(curve["step"], curve["train_acc"], curve["val_acc"], per)
        self.status.setText(f"Opened {entry.describe()}"
                            + (f" \u00b7 {core.done_summary(done)}" if done else "."))
        self.say(f"Opened {entry.source}.")
        self._update_buttons()
        self.opened.emit(True, entry.name)

    def _on_open_failed(self, path, message: str) -> None:
        keep = f" The lab keeps {self.classifier.name}." if self.classifier else ""
        self.say(f"Could not open {Path(path).name}: {message}.{keep}", error=True)
        self.opened.emit(False, message)


def _small_report(report: dict) -> dict:
    """The test report as saved in a classifier's metadata (the 50 worst mistakes)."""
    return {**report, "misclassified": report.get("misclassified", [])[:50]}
