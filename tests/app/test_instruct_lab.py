"""The Instruct lab: data at first show, the batch view's -100 marks, a short run with its
responses and scores, stop, closing mid-run, malformed files, state, size."""

from __future__ import annotations

import json

import pytest

from ..model.ollama_stub import StubOllama, stub_ollama  # noqa: F401  (a fixture)
from .labs import lab_fixture, run_to_the_end, start_until_a_step, stop_after_a_step

pytestmark = pytest.mark.usefixtures("one_thread")
lab = lab_fixture("studyapp.areas.instruct.area", "InstructLab")


def shown(lab, qtbot):
    with qtbot.waitSignal(lab.data_ready, timeout=30_000):
        lab.show()


def short_recipe(lab, **values):
    lab.recipe.set_values({"batch_size": 4, "eval_every": 2, "lr": 1e-3, "max_steps": 4,
                           "answer": 3, **values})


def entries(n: int) -> list[dict]:
    return [{"instruction": f"Add {i} and {i + 1}.", "input": "" if i % 2 else f"{i}",
             "output": f"The sum is {2 * i + 1}."} for i in range(n)]


def test_the_books_data_is_ready_at_first_show(lab, qtbot):
    shown(lab, qtbot)
    assert lab.loaded["split"].sizes() == {"train": 935, "test": 110, "val": 55}
    assert "935 training" in lab.data_view.sizes.text()
    assert "110 test" in lab.data_view.sizes.text() and "55 validation" in lab.data_view.sizes.text()
    # the tiny test model's context (64) is shorter than the longest example: cut, and counted
    fitted = lab.loaded["fitted"]
    cut = fitted["train"]["truncated"] + fitted["val"]["truncated"]
    assert cut > 0 and f"{cut:,} example(s) longer than it are cut" in lab.data_view.fit.text()
    prompt = lab.data_view.prompt.toPlainText()
    assert prompt.startswith("Below is an instruction that describes a task.")
    assert "### Instruction:" in prompt and "### Response:" not in prompt
    assert lab.data_view.response.toPlainText().startswith("### Response:")
    # the book's model's responses sit beside the test entries, scored
    rows = lab.responses.rows
    assert len(rows) == 110 and all(r["book"] for r in rows)
    assert all(0.0 <= r["rouge_book"] <= 1.0 for r in rows)
    assert lab.responses.table.rowCount() == 110
    assert lab.train_button.isEnabled() and not lab.message.isVisible()


def test_the_batch_view_marks_padding_and_ignored_targets(lab, qtbot):
    with qtbot.waitSignal(lab.batch_grid.shown, timeout=30_000) as first:
        lab.show()
    view = first.args[0]
    rows, width = view.shape
    assert rows == 8 and lab.batch_grid.table.columnCount() == width
    assert view.ignored > 0 and view.padding > 0
    table = lab.batch_grid.table
    for i, cells in enumerate(view.rows):
        for cell in cells:
            if cell.ignored:
                assert table.item(2 * i + 1, cell.position).text() == "-100"
            else:
                assert table.item(2 * i + 1, cell.position).text() != "-100"
        # each example keeps one end token as a target, after which every target is -100
        ends = [c for c in cells if c.end_target]
        assert len(ends) <= 1
    assert "ignores" in lab.batch_grid.summary.text()
    with qtbot.waitSignal(lab.batch_grid.shown, timeout=30_000) as masked:
        lab.batch_grid.mask_prompt.setChecked(True)
    assert masked.args[0].prompt_masked > 0
    assert masked.args[0].ignored == view.ignored + masked.args[0].prompt_masked
    lab.batch_grid.show_ids.setChecked(True)
    assert table.item(0, 0).text() == str(masked.args[0].inputs[0][0])


def test_a_short_run_answers_scores_and_saves(lab, ctx, qtbot):
    shown(lab, qtbot)
    short_recipe(lab)
    folder = run_to_the_end(lab, qtbot)
    assert lab.done["step"] == 4 and "step limit" in lab.status.text()
    lab.loss_plot.refresh()
    assert len(lab.loss_plot.train.y) == 4 and lab.loss_plot.val.x[0] == 0
    assert "This run:" in lab.losses.text() and "0.30 / 0.66" in lab.losses.text()
    rows = lab.responses.rows
    assert len(rows) == 3
    for row in rows:
        assert row["before"] is not None and row["after"] is not None
        assert 0.0 <= row["rouge_after"] <= 1.0
    assert "after" in lab.responses.averages.text() and "book" in lab.responses.averages.text()
    # the run's files: the book's responses layout and a language-model checkpoint
    written = json.loads((lab.run_dir / "instruction-data-with-response.json").read_text())
    assert folder == str(lab.run_dir) and len(written) == 3
    assert [w["model_response"] for w in written] == [r["after"] for r in rows]
    assert (lab.run_dir / "model.safetensors").is_file()
    # Try it answers with the fine-tuned model; "Use in labs" makes it the labs' model
    assert lab.finetuned.name in lab.try_it.which.text()
    with qtbot.waitSignal(lab.try_it.answered, timeout=20_000):
        assert lab.try_it.request()
    assert "new tokens" in lab.try_it.status.text()
    assert lab.use_in_labs() and ctx.models.current is lab.finetuned
    assert ctx.models.current.file_path == str(lab.run_dir / "model.safetensors")


def test_stop_mid_run_still_answers(lab, qtbot):
    shown(lab, qtbot)
    short_recipe(lab, max_steps=0, epochs=50, answer=2, answer_before=False)
    stop_after_a_step(lab, qtbot)
    assert all(r["after"] is not None for r in lab.responses.rows)
    assert all(r["before"] is None for r in lab.responses.rows)
    assert "Stopped" in lab.status.text()
    qtbot.waitUntil(lambda: not lab.files.busy, timeout=30_000)  # the run's files are written
    assert lab.train_button.isEnabled()


def test_closing_mid_run_does_not_hang(ctx, qtbot):
    import time

    from studyapp.areas.instruct.area import InstructLab

    lab = InstructLab(ctx)
    qtbot.addWidget(lab)
    shown(lab, qtbot)
    short_recipe(lab, max_steps=0, epochs=50)
    start_until_a_step(lab, qtbot)
    start = time.monotonic()
    lab.shutdown()
    assert time.monotonic() - start < 5


def test_malformed_entries_are_named_and_skipped(lab, qtbot, tmp_path):
    shown(lab, qtbot)
    data = entries(40)
    data[3] = {"instruction": "no output here"}
    data[7] = "just a string"
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with qtbot.waitSignal(lab.data_ready, timeout=30_000):
        lab.set_data(__import__("studyapp.areas.instruct.core", fromlist=["DataChoice"])
                     .DataChoice(str(path)))
    assert sum(lab.loaded["split"].sizes().values()) == 38
    text = lab.message.text()
    assert "2 malformed entries skipped" in text and "entry 3" in text
    assert "entry 7" in lab.data_view.warnings.text()


@pytest.mark.parametrize("content,expected", [
    ("[{\"instruction\": \"x\",", "not valid JSON"),
    ("{\"instruction\": \"x\"}", "not a list"),
    ("[1, 2, 3]", "no usable instruction entries"),
])
def test_a_bad_file_is_refused_and_the_data_kept(lab, qtbot, tmp_path, content, expected):
    from studyapp.areas.instruct import core

    shown(lab, qtbot)
    before = lab.loaded
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    with qtbot.waitSignal(lab.data_failed, timeout=30_000):
        lab.set_data(core.DataChoice(str(bad)))
    text = lab.message.text()
    assert "bad.json" in text and expected in text and "keeps" in text
    assert lab.loaded is before and lab.choice.is_default
    qtbot.waitUntil(lab.train_button.isEnabled, timeout=5_000)


def test_state_round_trips_and_bad_values_are_ignored(lab, ctx, qtbot):
    from studyapp.areas.instruct.area import InstructLab

    lab.recipe.set_values({"lora_rank": 8, "epochs": 3, "lr": 2e-4, "mask_prompt": True})
    lab.try_it.set_texts("Name a colour.", "")
    lab.tabs.setCurrentIndex(3)
    lab.batch_grid.show_ids.setChecked(True)
    saved = lab.save_state()
    other = InstructLab(ctx)
    qtbot.addWidget(other)
    other.apply_state(saved)
    assert other.save_state() == saved
    other.apply_state({"recipe": {"epochs": -1, "lr": "x", "mask_prompt": 1, "answer": 1.5},
                       "tab": "nowhere", "data": 5, "entry": ["test", "x"], "batch": True,
                       "show_ids": "yes", "instruction": 3})
    assert other.save_state() == saved
    other.shutdown()


def test_the_lab_fits_the_smallest_window(lab):
    hint = lab.minimumSizeHint()
    assert hint.width() <= 600 and hint.height() <= 470, hint


def test_the_ollama_judge_is_opt_in_and_local_only(qtbot, stub_ollama):
    from studyapp.areas.instruct import core
    from studyapp.areas.instruct.responses_view import ResponsesView

    StubOllama.replies = ["Score: 70", "Score: 70"]  # one per answered row
    view = ResponsesView()
    qtbot.addWidget(view)
    rows = core.response_rows(entries(3), {})
    rows[0]["after"], rows[2]["after"] = "The sum is 1.", "The sum is 5."
    view.set_rows(rows)
    assert not view.judge_button.isEnabled() and not view.start_judge()  # not opted in
    view.use_judge.setChecked(True)
    view.judge_url.setText("http://example.com:11434/api/chat")
    with qtbot.waitSignal(view.judged, timeout=10_000) as refused:
        assert view.start_judge()
    assert "this computer only" in refused.args[0] and StubOllama.requests == []
    assert "ROUGE-L scores stand" in view.judge_message.text()
    view.judge_url.setText(f"http://127.0.0.1:{stub_ollama}/api/chat")
    with qtbot.waitSignal(view.judged, timeout=10_000) as done:
        assert view.start_judge()
    assert done.args == [""] and len(StubOllama.requests) == 2
    assert [r["judge"] for r in view.rows] == [70, None, 70]
    assert "Ollama judge 70.0 / 100" in view.averages.text()
