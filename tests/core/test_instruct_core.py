"""The Instruct lab's Qt-free glue: the recipe's defaults are the book's, bad values are dropped,
the book's responses line up with the bundled test entries, lines say what the data does."""

from __future__ import annotations

from studyapp.areas.instruct import core


def test_the_recipe_defaults_are_the_books():
    from model.instruct.finetune import BOOK_RECIPE, InstructOptions

    settings = core.run_settings(core.default_values())
    config = BOOK_RECIPE.replace(**settings["config"])
    assert (config.lr, config.weight_decay, config.epochs, config.batch_size,
            config.eval_every, config.max_steps) == (5e-5, 0.1, 2, 8, 5, None)
    assert config == BOOK_RECIPE.replace(seed=123)
    options = InstructOptions(**settings["options"])
    assert options == InstructOptions()  # every weight trains, long entries cut, no masking
    assert settings["answer"] == 110 and settings["answer_before"] is True


def test_bad_values_are_dropped():
    clean = core.clean_values({"lr": "x", "epochs": 0, "batch_size": 4.5, "mask_prompt": 1,
                               "lora_rank": 16, "answer": float("nan"), "other": 3,
                               "drop_too_long": True})
    assert clean == {"lora_rank": 16, "drop_too_long": True}
    assert core.clean_values(None) == {}
    settings = core.run_settings({"lora_rank": 4, "drop_too_long": True, "answer": 0})
    assert settings["options"]["too_long"] == "drop" and settings["answer"] is None
    assert "LoRA r=4" in core.describe_recipe({"lora_rank": 4})


def test_the_books_responses_line_up_with_the_bundled_test_entries():
    records = list(core.load_records(core.DataChoice(), 1024))
    loaded = records[-1]
    split = loaded["split"]
    assert split.sizes() == {"train": 935, "test": 110, "val": 55}
    rows = core.response_rows(split.test, loaded["book"])
    assert all(r["book"] is not None for r in rows)
    core.score_book(rows)
    assert 0.0 < core.average(rows, "rouge_book") < 1.0
    assert "935 training (85%), 110 test (10%), 55 validation (5%)" in core.split_line(
        split.sizes())
    assert core.fit_line(loaded["fitted"], "truncate").endswith("Every training and "
                                                                "validation example fits.")
    short = list(core.load_records(core.DataChoice(), 64, "drop"))[-1]
    out = short["fitted"]["train"]["left_out"] + short["fitted"]["val"]["left_out"]
    assert out > 0 and f"{out:,} example(s) longer than it are left out" in core.fit_line(
        short["fitted"], "drop")


def test_answered_entries_keep_the_books_layout():
    test = [{"instruction": "a", "input": "", "output": "x"},
            {"instruction": "b", "input": "c", "output": "y"}]
    rows = core.response_rows(test, {})
    rows[1]["after"] = "y!"
    assert core.answered_entries(test, rows) == [{"instruction": "b", "input": "c",
                                                  "output": "y", "model_response": "y!"}]
    assert core.averages_line(rows) == "No responses yet."
    rows[1]["rouge_after"] = 0.5
    assert core.averages_line(rows) == "Average ROUGE-L: after 0.500 (1)"
