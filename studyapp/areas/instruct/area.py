"""The Instruct lab (chapter 7): fine-tune the labs' GPT to follow instructions.

Left: the data (`data_view.DataBox`), the recipe (`recipe_view.RecipeBox`), Fine-tune / Stop,
Save model / Use in labs. Right, in tabs: the data's split and any entry's prompt; a real batch
cell by cell (`batch_view`); the run (live loss curves beside the book's figures, and what the
model's size allows); the responses before and after with ROUGE-L (`responses_view`); Try it.

The entries are read on a `LatestJob` when the lab is first shown and whenever the source, the
model's context or the long-entry rule change; a file that cannot be used shows the engine's
message and the lab keeps the data it had. A run is `model.instruct.InstructFineTune` on the
shared loop, driven by a `studyapp.shell.runs.TrainingRun`: the test entries are answered
before (optional), the model is fine-tuned, and they are answered again. Stop during training
ends after the current step and still answers; Stop while answering ends the answers. A run
that made a step leaves its model and its `instruction-data-with-response.json` under the data
folder's `instruct/`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal

from model.stopping import StopToken
from studyapp.areas.instruct import core
from studyapp.areas.instruct.batch_view import BatchGrid
from studyapp.areas.instruct.data_view import DataBox, DataView
from studyapp.areas.instruct.files import RunFiles
from studyapp.areas.instruct.recipe_view import RecipeBox
from studyapp.areas.instruct.responses_view import ResponsesView
from studyapp.areas.instruct.training_view import TrainingView
from studyapp.areas.instruct.try_view import TryItView
from studyapp.shell.area import AreaWidget
from studyapp.shell.jobs import LatestJob
from studyapp.shell.finetune_lab import FineTuneRuns
from studyapp.shell.runs import TrainingRun
from studyapp.widgets.forms import push_button, save_path_dialog

TABS = ("data", "batch", "training", "responses", "try")
MODEL_FILTER = "Models (*.safetensors);;All files (*)"


def create_area(ctx) -> AreaWidget:
    return InstructLab(ctx)


class InstructLab(FineTuneRuns, AreaWidget):
    TABS = TABS
    data_ready = Signal()
    data_failed = Signal(str)
    run_finished = Signal(str)  # completed / stopped / failed
    saved = Signal(str)  # what a save wrote ("" when it failed)

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.choice = core.DataChoice()
        self.loaded: dict | None = None  # the `loaded` record of the data in use
        self._pending: core.DataChoice | None = None
        self._run: TrainingRun | None = None  # see FineTuneRuns
        self._finetune = None
        self._answer_stop = StopToken()
        self._phase = ""
        self._test: list[dict] = []
        self.done: dict | None = None
        self.first_eval: dict | None = None
        self.last_eval: dict | None = None
        self.finetuned = None  # ModelEntry of the last fine-tuned model
        self.run_dir: Path | None = None
        self.files = RunFiles(self)
        self.files.saved.connect(self._on_saved)
        self.files.failed.connect(self._on_save_failed)
        self.files.busy_changed.connect(lambda _b: self._update_buttons())
        self._closing = False
        self._build()
        self._load = LatestJob(self, delay_ms=150, name="instruct-data")
        self._load.result.connect(self._on_loaded)
        self._load.failed.connect(self._on_load_failed)
        self._load.busy_changed.connect(lambda _b: self._update_buttons())
        ctx.models.current_changed.connect(self._model_changed)
        self._update_buttons()

    def _build(self) -> None:
        self.save_button = push_button("Save model\u2026", "Save the fine-tuned model as a "
                                       "language-model checkpoint (LoRA merged in) that every "
                                       "lab and File \u2192 Open model can open",
                                       self.save_model_dialog)
        self.use_button = push_button("Use in labs", "Make the fine-tuned model the one every "
                                      "lab uses: it is still a GPT that predicts the next "
                                      "token", self.use_in_labs)
        side = self._build_side(
            DataBox(), RecipeBox(), "Reading the instruction data\u2026",
            "Fine-tune a copy of the model in the labs on the training entries, then answer the "
            "test entries (sections 7.6 and 7.7)",
            "Stop after the current step (the test entries are still answered); while "
            "answering, stop answering", (self.save_button, self.use_button))

        self.data_view = DataView()
        self.batch_grid = BatchGrid(lambda: self.ctx.models.tokenizer)
        training = TrainingView()
        self.loss_plot, self.losses = training.loss_plot, training.losses
        self.responses = ResponsesView()
        self.responses.save_requested.connect(self.save_responses_dialog)
        self.try_it = TryItView(self._answering_model, lambda: self.ctx.models.tokenizer)
        self._lay_out(side, (
            (self.data_view, "Data", "Section 7.2: the entries, the split and the prompt"),
            (self.batch_grid, "Batches", "Sections 7.3 and 7.4: a real batch as the loss sees it"),
            (training, "Fine-tuning", "Sections 7.5 and 7.6: the loss as the model learns"),
            (self.responses, "Responses", "Sections 7.7 and 7.8: answers, and scoring them"),
            (self.try_it, "Try it", "Section 7.7: an instruction of your own")))

    # -- data ------------------------------------------------------------------------------------
    def _has_data(self) -> bool:
        return self.loaded is not None

    def _read_data(self, choice: core.DataChoice) -> None:
        self._pending = choice
        entry = self.ctx.models.current
        if entry is None or self._closing:
            return  # read when the model is there
        context = entry.config.context_length
        too_long = core.run_settings(self.recipe.values())["options"]["too_long"]
        self.data_box.show_choice(choice, pending=True)
        self.data_view.show_loading(choice)

        def job(token):
            yield from core.load_records(choice, context, too_long, token)

        self._load.request(job)

    def _on_loaded(self, record: dict) -> None:
        self._pending = None
        self.choice, self.loaded = record["choice"], record
        self.data_box.show_choice(self.choice)
        self.data_view.show_loaded(record)
        self.batch_grid.set_data(record["split"], record["context_length"], record["too_long"],
                                 self.recipe.values()["batch_size"])
        if self.done is None and not self.running:
            sizes = record["split"].sizes()
            self.status.setText(f"Ready: {sizes['train']:,} training entries, {sizes['test']:,} "
                                f"test, {sizes['val']:,} validation. Press Fine-tune.")
            self._reset_rows()
        warnings = record["warnings"]
        if warnings:
            self.say(f"{len(warnings)} malformed entr{'y' if len(warnings) == 1 else 'ies'} "
                     f"skipped: {warnings[0]}" + (" (all are listed in the Data tab)."
                                                  if len(warnings) > 1 else "."), warning=True)
        else:
            self.say("")
        self._update_buttons()
        self.data_ready.emit()

    def _on_load_failed(self, message: str) -> None:
        failed, self._pending = self._pending, None
        what = Path(failed.path).name if failed and failed.path else "the data"
        keep = f" The lab keeps {self.choice.describe()}." if self.loaded is not None else ""
        self.say(f"Could not use {what}: {message.rstrip('.')}.{keep}", error=True)
        self.data_box.show_choice(self.choice)
        if self.loaded is not None:
            self.data_view.show_loaded(self.loaded)
        self._update_buttons()
        self.data_failed.emit(message)

    def _model_changed(self, entry) -> None:
        self.try_it.refresh_model()
        if entry is None or self.running:
            return
        context = self.loaded["context_length"] if self.loaded is not None else None
        self._reread_for(entry, self._load.is_busy(), context)

    def _recipe_changed(self, key: str) -> None:
        if key == "batch_size":
            self.batch_grid.set_batch_size(self.recipe.values()["batch_size"])
        elif key == "drop_too_long" and self.loaded is not None:
            self._read_data(self.choice)
        elif key == "mask_prompt":
            self.batch_grid.mask_prompt.setChecked(self.recipe.values()["mask_prompt"])

    def _reset_rows(self) -> None:
        settings = core.run_settings(self.recipe.values())
        test = self.loaded["split"].test
        self._test = test[:settings["answer"]] if settings["answer"] else list(test)
        rows = core.response_rows(self._test, self.loaded["book"])
        core.score_book(rows)
        self.responses.set_rows(rows)

    # -- fine-tuning ---------------------------------------------------------------------------
    def start_training(self) -> bool:
        entry = self.ctx.models.current
        if (self.running or self.files.busy or entry is None or self.loaded is None
                or self._load.is_busy()):
            return False
        settings = core.run_settings(self.recipe.values())
        self._reset_rows()
        split, test, base = self.loaded["split"], self._test, entry.model
        tokenizer, answer_stop = self.ctx.models.tokenizer, StopToken()
        self._answer_stop = answer_stop

        def job(stop):
            yield from core.run_records(base, split, test, tokenizer, settings, stop,
                                        answer_stop)

        self._finetune = self.done = self.first_eval = self.last_eval = None
        self._phase = ""
        self.loss_plot.clear()
        self.losses.setText(core.losses_line(None, None))
        self.progress.setRange(0, 0)
        self.status.setText(f"Preparing: copying {entry.name} and tokenizing the entries\u2026")
        self.say("")
        self.run_dir = core.run_dir(self.ctx.data_dir, self.choice)
        return self._start_run(job, "instruct")

    def stop_training(self) -> None:
        answering = self._phase == "after"
        if self._stop_run("Stopping the answers\u2026" if answering else
                          "Stopping after this step; then answering the test entries\u2026") \
                and answering:
            self._answer_stop.stop()

    def _on_record(self, record: dict) -> None:
        event = record.get("event")
        if event == "ready":
            self._finetune = record["run"]
            data = record["data"]
            self.progress.setRange(0, max(1, record["total_steps"]))
            self.status.setText(f"{record['trainable']:,} parameters train. "
                                + core.fit_line(data, data["too_long"]))
        elif event == "answering":
            self._phase = record["phase"]
            self.progress.setRange(0, max(1, record["n"]))
            self.progress.setValue(0)
            self.status.setText(f"Answering {record['n']} test entries "
                                f"{'before' if self._phase == 'before' else 'after'} "
                                "fine-tuning (greedy, KV cache)\u2026")
        elif event == "response":
            row = self.responses.rows[record["index"]]
            row[record["phase"]] = record["text"]
            row[f"rouge_{record['phase']}"] = record["rouge_l"]
            self.responses.update_row(record["index"])
            self.progress.setValue(self.progress.value() + 1)
        elif event == "step":
            self._phase = "training"
            self.loss_plot.add_step(record["step"], record["tokens_seen"], record["train_loss"])
            self.progress.setRange(0, max(1, record["total_steps"]))
            self.progress.setValue(record["step"])
            self.status.setText(
                f"step {record['step']:,} / {record['total_steps']:,} \u00b7 epoch "
                f"{record['epoch']} \u00b7 {record['examples_seen']:,} examples \u00b7 "
                f"loss {record['train_loss']:.3f} \u00b7 ETA "
                f"{core.human_duration(record.get('eta_s'))}")
        elif event == "eval":
            self.loss_plot.add_eval(record["step"], record["tokens_seen"], record["val_loss"])
            if record["step"] == 0:
                self.first_eval = record
            self.last_eval = record
            self.losses.setText(core.losses_line(self.first_eval, self.last_eval))
        elif event == "done":
            self.done = record
        elif event == "finetuned":
            taken = [e.name for e in self.ctx.models.entries]
            name = core.unique_name(f"instruct {self.choice.short_name()} "
                                    f"({core.describe_recipe(self.recipe.values())})", taken)
            self.finetuned = core.model_entry(record["model"], name,
                                              {"done": self.done, "task": "instruct"})
            self.try_it.refresh_model()

    def _on_finished(self, reason: str) -> None:
        self._phase = ""
        self.loss_plot.refresh()
        self.responses.refresh_averages()
        done, ended = self._end_run(reason)
        if ended:
            self.progress.setValue(self.progress.maximum())
            self.status.setText(core.done_summary(done) + " "
                                + core.averages_line(self.responses.rows) + ".")
        self._update_buttons()
        if self.finetuned is not None and done and done.get("step", 0) > 0 \
                and not self._closing and self._finetune is not None:
            self._save_run()
        self.run_finished.emit(reason)

    def _answering_model(self):
        entry = self.finetuned or self.ctx.models.current
        return None if entry is None else (entry.name, entry.model)

    # -- saving, using -----------------------------------------------------------------------
    def _save_run(self) -> None:
        """The run's model and responses file, under data_dir/instruct/<run>/."""
        rows = self.responses.rows
        meta = self._finetune.checkpoint_meta(rouge_l_average=core.average(rows, "rouge_after"))
        self.files.save_run(self.run_dir, self.finetuned, meta,
                            core.answered_entries(self._test, rows))

    def save_model_dialog(self) -> None:
        save_path_dialog(self, "Save fine-tuned model", (self.run_dir or Path(
            self.ctx.data_dir)) / "model.safetensors", MODEL_FILTER, self.save_model_to,
            ".safetensors")

    def save_model_to(self, path) -> bool:
        if self.finetuned is None or self.running:
            return False
        return self.files.save_model(path, self.finetuned)

    def save_responses_dialog(self) -> None:
        save_path_dialog(self, "Save responses", (self.run_dir or Path(
            self.ctx.data_dir)) / core.RESPONSES_FILE, "JSON (*.json);;All files (*)",
            self.save_responses_to)

    def save_responses_to(self, path) -> bool:
        answered = core.answered_entries(self._test, self.responses.rows)
        if not answered or self.running:
            return False
        return self.files.save_responses(path, answered)

    def _on_saved(self, path: str) -> None:
        self.say(f"Saved {path}." if Path(path).suffix else
                 f"Saved the model and the responses in {path}.")
        self.saved.emit(path)

    def _on_save_failed(self, message: str) -> None:
        self.say(message, error=True)
        self.saved.emit("")

    def use_in_labs(self) -> bool:
        if self.finetuned is None or self.running:
            return False
        self.ctx.models.add(self.finetuned, make_current=True)
        self.say(f"The labs now use \u201c{self.finetuned.name}\u201d.")
        self._update_buttons()
        return True

    def _update_buttons(self) -> None:
        running, side = self.running, self.files.busy
        self._update_run_buttons(self.loaded is not None and not self._load.is_busy(), side)
        have = self.finetuned is not None and not running and not side
        self.save_button.setEnabled(have)
        self.use_button.setEnabled(have and self.ctx.models.current is not self.finetuned)
        self.responses.update_buttons(busy=running or side)

    # -- messages, state, screenshot, shutdown ----------------------------------------------
    def save_state(self) -> dict:
        part, index = self.data_view.selection()
        return {**self._common_state(), "entry": [part, index],
                "batch": self.batch_grid.batch.value(),
                "show_ids": self.batch_grid.show_ids.isChecked(),
                "instruction": self.try_it.instruction.text(),
                "input": self.try_it.input.text()}

    def apply_state(self, state: dict) -> None:
        if not isinstance(state, dict):
            return
        self._apply_common_state(state)
        entry = state.get("entry")
        if (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
                and isinstance(entry[1], int) and not isinstance(entry[1], bool)):
            self.data_view.select(*entry)
        if isinstance(state.get("batch"), int) and not isinstance(state["batch"], bool):
            self.batch_grid.batch.setValue(state["batch"])
        if isinstance(state.get("show_ids"), bool):
            self.batch_grid.show_ids.setChecked(state["show_ids"])
        if isinstance(state.get("instruction"), str) and isinstance(state.get("input", ""), str):
            self.try_it.set_texts(state["instruction"], state.get("input", ""))
        self._apply_data_state(state)

    def prepare_screenshot(self, runs: bool = True) -> None:
        """A finished short run on the bundled data: 5 steps at a rate the small model learns
        at, 3 test entries answered before and after (about 15 s on one core; stopped, and
        labelled so, at 45 seconds). Without `runs`, the data read and no run."""
        def start() -> bool:
            self.recipe.set_values({"max_steps": 5, "lr": 5e-4, "answer": 3})
            self._reset_rows()
            return self.start_training()

        self._screenshot_run(start if runs else None, 45_000, 90_000, lambda: self.files.busy)
        self.tabs.setCurrentIndex(TABS.index("responses"))

    def shutdown(self) -> None:
        """Stop (the window is closing): a run ends at its step, answers stop at once."""
        self._closing = True
        self.loss_plot.stop_timer()
        self._load.shutdown()
        self.batch_grid.shutdown()
        self.try_it.shutdown()
        self.responses.shutdown()
        self._answer_stop.stop()
        if self._run is not None:
            self._run.shutdown()
        self.files.shutdown()

