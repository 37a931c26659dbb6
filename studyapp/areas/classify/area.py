"""The Classify lab (chapter 6, appendix E): fine-tune the labs' GPT into a classifier.

Left: the data (`data_view.DataBox`), the recipe with its trainable-parameter count
(`recipe_view.RecipeBox`), Train / Stop, Save classifier / Open classifier. Right, in tabs: the
data's preparation and a batch preview; the run (accuracy before and after beside the book's,
live loss and accuracy curves against steps and examples seen); the results (confusion
matrix, misclassified test texts); and Try it.

The data is prepared on a `LatestJob` when the lab is first shown and whenever the source, the
padding length or the seed change; a source that cannot be used shows the engine's message and
the lab keeps the data it had. Fine-tuning is `model.classify.FineTune` on the shared loop,
driven by a `studyapp.shell.runs.TrainingRun`: Stop ends after the current step and still
measures the accuracy after and the test report. Every run that made a step is saved under the
data folder's `classifiers/` and listed in the model manager, apart from the language models.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QWidget

from studyapp.areas.classify import core
from studyapp.areas.classify.data_view import DataBox, PreparationView
from studyapp.areas.classify.files import ClassifierFiles
from studyapp.areas.classify.recipe_view import RecipeBox
from studyapp.areas.classify.results_view import AccuracyTable, ResultsView
from studyapp.areas.classify.try_view import TryItView
from studyapp.shell.area import AreaWidget
from studyapp.shell.jobs import LatestJob, SideJob
from studyapp.shell.finetune_lab import FineTuneRuns
from studyapp.shell.runs import TrainingRun
from studyapp.widgets.accuracy_plot import AccuracyPlot
from studyapp.widgets.forms import column, push_button, splitter
from studyapp.widgets.loss_plot import LossPlot

TABS = ("data", "training", "results", "try")
SCREENSHOT_STEPS = 60  # of the default 105: the curves and accuracies are there, in seconds


def create_area(ctx) -> AreaWidget:
    return ClassifyLab(ctx)


class ClassifyLab(ClassifierFiles, FineTuneRuns, AreaWidget):
    TABS = TABS
    data_ready = Signal()  # the active data was prepared
    data_failed = Signal(str)
    run_finished = Signal(str)  # completed / stopped / failed
    saved = Signal(str)  # the classifier file ("" when saving failed)
    opened = Signal(bool, str)  # a classifier was opened?, message

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.choice = core.DataChoice()  # the data in use
        self.prepared = None  # its PreparedData
        self._pending: core.DataChoice | None = None
        self._prep_context: int | None = None
        self._run: TrainingRun | None = None  # see FineTuneRuns
        self._finetune = None  # the last run's FineTune
        self._run_path: Path | None = None  # where the running run will be saved
        self.classifier = None  # the ClassifierEntry shown (the last result)
        self.classifier_path: Path | None = None
        self.report: dict | None = None
        self.before: dict | None = None
        self.done: dict | None = None
        self._side = SideJob(self, self._update_buttons)  # saving or opening a classifier
        self._status_dirty = False
        self._closing = False
        self._build()
        self._prep = LatestJob(self, delay_ms=200, name="classify-data")
        self._prep.record.connect(self._on_prep_record)
        self._prep.result.connect(self._on_prepared)
        self._prep.failed.connect(self._on_prep_failed)
        self._prep.busy_changed.connect(lambda _b: self._update_buttons())
        ctx.models.current_changed.connect(self._model_changed)
        self._ui_timer = QTimer(self)
        self._ui_timer.setInterval(100)
        self._ui_timer.timeout.connect(self._update_status)
        self._ui_timer.start()
        self._update_count()
        self._update_buttons()

    # =========================================================================================
    def _build(self) -> None:
        self.save_button = push_button("Save classifier\u2026", "Save the classifier as "
                                       "safetensors with its labels, padding length and recipe "
                                       "(LoRA merged in)", self.save_dialog)
        self.open_button = push_button("Open classifier\u2026", "Open a classifier saved here, "
                                       "or the book's review_classifier.pth (section 6.8)",
                                       self.open_dialog)
        recipe = RecipeBox()
        recipe.count.setContentsMargins(6, 2, 6, 2)
        side = self._build_side(
            DataBox(), recipe, "Preparing the data\u2026",
            "Fine-tune a copy of the model in the labs with this data and recipe (section 6.7's "
            "train_classifier_simple)",
            "Stop after the current step; the accuracy after and the test report are still "
            "measured", (self.save_button, self.open_button), below=(recipe.count,),
            widths=(280, 420))
        recipe.preparation_changed.connect(lambda: self._read_data(self.choice))

        self.preparation = PreparationView()
        self.accuracy = AccuracyTable()
        self.loss_plot = LossPlot(top_label="examples seen",
                                  empty_message="No loss yet: press Fine-tune, and the loss on "
                                                "the training batches\nand the validation "
                                                "loss are drawn here.")
        self.loss_plot.setToolTip("Cross-entropy of the last token's class logits (section "
                                  "6.7, figure 6.16)")
        self.acc_plot = AccuracyPlot()
        self.acc_plot.setToolTip("Accuracy on 5 batches of the training and validation splits "
                                 "at each evaluation (section 6.7, figure 6.17)")
        for plot in (self.loss_plot, self.acc_plot):
            plot.setMinimumSize(120, 120)
        training = QWidget()
        column(self.accuracy, (splitter(Qt.Orientation.Horizontal, (self.loss_plot, self.acc_plot),
                                        (), collapsible=False), 1),
               parent=training, margins=4)
        self.results = ResultsView()
        self.results.try_text.connect(self.try_text)
        self.try_it = TryItView(lambda: self.ctx.models.tokenizer)
        self._lay_out(side, (
            (self.preparation, "Data", "Sections 6.2 and 6.3: the data, balanced, split and "
                                       "padded"),
            (training, "Fine-tuning", "Sections 6.6 and 6.7: accuracy before, the training "
                                      "curves, accuracy after"),
            (self.results, "Results", "Section 6.7: what the classifier gets wrong on the test "
                                      "split"),
            (self.try_it, "Try it", "Section 6.8: classify your own text")))

    # =========================================================================================
    # data
    # =========================================================================================
    def _has_data(self) -> bool:
        return self.prepared is not None

    def _read_data(self, choice: core.DataChoice) -> None:
        entry = self.ctx.models.current
        if entry is None or self._closing:
            self._pending = choice  # prepared when the model is there
            return
        self._pending = choice
        context = entry.config.context_length
        values = self.recipe.values()
        max_length, seed = values["max_length"] or None, values["seed"]
        self.data_box.show_choice(choice, pending=True)
        self.preparation.show_loading(choice)

        def job(token):
            yield from core.prepare_records(choice, context, max_length, seed, token)

        self._prep_context = context
        self._prep.request(job)

    def _on_prep_record(self, record: dict) -> None:
        if record["event"] == "loaded":
            self.preparation.show_loaded(record)

    def _on_prepared(self, record: dict) -> None:
        if record.get("event") != "prepared":
            return
        self.choice = self._pending or self.choice
        self._pending = None
        self.prepared = record["data"]
        self.data_box.show_choice(self.choice)
        self.preparation.show_prepared(record, self.recipe.values()["batch_size"])
        if self.done is None and not self.running:
            self.status.setText(f"Ready: {len(self.prepared.train):,} training texts of "
                                f"{len(self.prepared.labels)} classes. Press Fine-tune.")
        self.say(record.get("notice", ""), warning=True)
        self._update_count()
        self._update_buttons()
        self.data_ready.emit()

    def _on_prep_failed(self, message: str) -> None:
        failed, self._pending = self._pending, None
        what = failed.describe() if failed else "the data"
        keep = (f" The lab keeps {self.choice.describe()}." if self.prepared is not None
                else "")
        self.say(f"Could not use {what}: {message}.{keep}", error=True)
        self.data_box.show_choice(self.choice)
        if self.prepared is not None:
            self.preparation.show_prepared({"data": self.prepared, **self.prepared.counts},
                                           self.recipe.values()["batch_size"])
        else:
            self.preparation.steps.setText("No data prepared.")
        self._update_buttons()
        self.data_failed.emit(message)

    def _model_changed(self, entry) -> None:
        if entry is None:
            return
        self._update_count()
        self._reread_for(entry, self._prep.is_busy(), self._prep_context)

    def _recipe_changed(self) -> None:
        self._update_count()
        self.preparation.set_batch_size(self.recipe.values()["batch_size"])

    def _update_count(self) -> None:
        entry = self.ctx.models.current
        if entry is None:
            self.recipe.set_count(None)
            return
        v = self.recipe.values()
        classes = len(self.prepared.labels) if self.prepared is not None else 2
        try:
            counts = core.parameter_counts(entry.model, v["trainable"], classes, v["last_k"],
                                           v["lora_rank"], v["lora_alpha"])
        except ValueError as exc:
            self.recipe.set_count(None, str(exc))
            return
        self.recipe.set_count(counts, f"({entry.name}, {classes} classes)")

    # =========================================================================================
    # fine-tuning
    # =========================================================================================
    def start_training(self) -> bool:
        entry = self.ctx.models.current
        if self.running or self._side.busy or entry is None or self.prepared is None \
                or self._prep.is_busy():
            return False
        kwargs = core.recipe_kwargs(self.recipe.values())
        kwargs["max_length"] = self.prepared.max_length
        prepared, base, tokenizer = self.prepared, entry.model, self.ctx.models.tokenizer

        def job(stop):
            from model.classify import ClassifyRecipe, FineTune

            finetune = FineTune(base, prepared, ClassifyRecipe(**kwargs), tokenizer)
            yield {"event": "ready", "run": finetune, "total_steps": finetune.loop.total_steps,
                   "batch_size": kwargs["batch_size"], **finetune.summary()}
            yield {"event": "before", **finetune.measure_before()}
            yield from finetune.run(stop)
            yield {"event": "report", **finetune.report("test")}

        self._finetune = None
        self.before = self.done = None
        self.accuracy.set_results(None, None)
        self.loss_plot.clear()
        self.acc_plot.clear()
        self.acc_plot.set_references([(100.0 / len(prepared.labels), "chance")])
        self.progress.setRange(0, 0)
        self.status.setText(f"Preparing: copying {entry.name} and giving it a "
                            f"{len(prepared.labels)}-class head; measuring accuracy before\u2026")
        self.say("")
        self._run_path = core.classifier_path(self.ctx.data_dir, self.choice)
        return self._start_run(job, "classify")

    def stop_training(self) -> None:
        self._stop_run("Stopping after this step; then measuring the accuracy after\u2026")

    def _on_record(self, record: dict) -> None:
        event = record.get("event")
        if event == "ready":
            self._finetune = record["run"]
            self.progress.setRange(0, max(1, record["total_steps"]))
            self.loss_plot.set_tokens_per_step(record["batch_size"])
            self.acc_plot.set_per_step(record["batch_size"])
            self.recipe.set_count({"total_params": record["total_params"],
                                   "trainable_params": record["trainable_params"]},
                                  "(this run)")
        elif event == "before":
            self.before = {k: v for k, v in record.items() if k != "event"}
            self.accuracy.set_results(self.before, None)
        elif event == "step":
            self.loss_plot.add_step(record["step"], record["examples_seen"],
                                    record["train_loss"])
            self._status_dirty = True
        elif event == "eval":
            self.loss_plot.add_eval(record["step"], record["examples_seen"], record["val_loss"])
            self.acc_plot.add_eval(record["step"], record.get("train_acc"),
                                   record.get("val_acc"), record["examples_seen"])
        elif event == "done":
            self.done = record
            if record.get("after"):
                self.accuracy.set_results(record.get("before") or self.before, record["after"])
        elif event == "report":
            self._show_trained(record)

    def _show_trained(self, report: dict) -> None:
        finetune = self._finetune
        self.report = report
        self.results.set_report(report)
        taken = [c.name for c in self.ctx.models.classifiers]
        name = core.unique_name(f"{self.choice.short_name()} "
                                f"({core.describe_trainable(self.recipe.values())})", taken)
        self.classifier = core.classifier_entry(finetune.model, finetune.labels,
                                                finetune.data.max_length, name,
                                                meta={"done": self.done})
        self.classifier_path = None
        self.ctx.models.add_classifier(self.classifier)
        self.try_it.set_classifier(self.classifier)

    def _on_finished(self, reason: str) -> None:
        self.loss_plot.refresh()
        self.acc_plot.refresh()
        done, ended = self._end_run(reason)
        if ended:
            self.progress.setValue(done.get("step", 0))
            self.status.setText(core.done_summary(done))
        else:
            self.progress.setValue(0)
        self._update_buttons()
        if (self.classifier is not None and self._finetune is not None and done
                and done.get("step", 0) > 0 and not self._closing):
            self._save(self._run_path)
        self.run_finished.emit(reason)

    def _update_status(self) -> None:
        run = self._run
        if not self._status_dirty or run is None or run.last_step is None:
            return
        self._status_dirty = False
        r = run.last_step
        self.progress.setValue(r["step"])
        self.status.setText(
            f"step {r['step']:,} / {r['total_steps']:,} \u00b7 epoch {r['epoch']} \u00b7 "
            f"{r['examples_seen']:,} examples seen \u00b7 {r.get('examples_per_s', 0):,.0f} "
            f"examples/s \u00b7 loss {r['train_loss']:.3f} \u00b7 ETA "
            f"{core.human_duration(r.get('eta_s'))}")

    def _update_buttons(self) -> None:
        running, side = self.running, self._side.busy
        self._update_run_buttons(self.prepared is not None and not self._prep.is_busy(), side)
        self.save_button.setEnabled(self.classifier is not None and not running and not side)
        self.open_button.setEnabled(not running and not side)

    # =========================================================================================
    # messages, state, screenshot, shutdown
    # =========================================================================================
    def try_text(self, text: str) -> None:
        self.try_it.set_text(text)
        self.tabs.setCurrentIndex(TABS.index("try"))

    def save_state(self) -> dict:
        path = self._run_path if self.running else self.classifier_path
        state = {**self._common_state(), "try_text": self.try_it.text.toPlainText(),
                 "padded": self.try_it.padded.isChecked()}
        if path is not None:
            state["classifier"] = str(path)
        return state

    def apply_state(self, state: dict) -> None:
        if not isinstance(state, dict):
            return
        self._apply_common_state(state)
        if isinstance(state.get("try_text"), str):
            self.try_it.set_text(state["try_text"])
        if isinstance(state.get("padded"), bool):
            self.try_it.padded.setChecked(state["padded"])
        self._apply_data_state(state)
        path = state.get("classifier")
        if isinstance(path, str) and Path(path).is_file() and self.classifier is None:
            self.open_path(path)

    def prepare_screenshot(self, runs: bool = True) -> None:
        """A finished run of the default recipe on the bundled data, capped at
        SCREENSHOT_STEPS steps so the picture does not wait for a whole fine-tune; the lab says
        the step limit was reached. Without `runs`, the prepared data and no run."""
        def start() -> bool:
            self.recipe.set_values({**self.recipe.values(), "max_steps": SCREENSHOT_STEPS})
            return self.start_training()

        self._screenshot_run(start if runs else None, 120_000, 180_000, lambda: self._side.busy)
        self.tabs.setCurrentIndex(TABS.index("training"))

    def shutdown(self) -> None:
        """Stop (the window is closing): a run is stopped at its step and, if it made any, its
        classifier is saved where `save_state` said it would be."""
        self._closing = True
        self._side.close()
        self._ui_timer.stop()
        self.loss_plot.stop_timer()
        self.acc_plot.stop_timer()
        self._prep.shutdown()
        self.try_it.shutdown()
        run = self._run
        if run is not None:
            run.shutdown()
            # the run's last records are still queued for this thread: ask the engine
            finetune = self._finetune
            done = finetune.last_done if finetune is not None else None
            if finetune is not None and done and done.get("step", 0) > 0:
                try:
                    finetune.save(self._run_path)
                except (OSError, ValueError):
                    pass  # the window is going away; nothing can show the failure now
        self._side.shutdown()
