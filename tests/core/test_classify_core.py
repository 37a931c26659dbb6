"""The Classify lab's Qt-free logic: recipe fields, parameter counts, preparation, Try it."""

from __future__ import annotations

import dataclasses

import pytest

from studyapp.areas.classify import core


def test_the_lab_defaults_are_the_engines_recipe():
    from model.classify import ClassifyRecipe

    recipe = ClassifyRecipe()
    values = core.default_values()
    for key, value in values.items():
        if key in ("max_steps", "max_length"):
            assert getattr(recipe, key) in (None, 0) and value == 0  # 0 is "none" in the lab
        elif key == "last_k":
            assert value == 2  # so that "last k blocks" differs from "last block" at once
        else:
            assert getattr(recipe, key) == value, key
    fields = {f.name for f in dataclasses.fields(ClassifyRecipe)}
    assert set(values) <= fields
    assert set(core.TRAINABLE_KEYS) == set(__import__("model.classify", fromlist=["TRAINABLE"])
                                           .TRAINABLE)


@pytest.mark.parametrize("trainable,last_k", [("head", 1), ("last-block", 1), ("last-k", 2),
                                              ("all", 1), ("lora", 1)])
def test_parameter_counts_match_the_built_classifier(trainable, last_k):
    import torch

    from model import GPTModel
    from model.classify import build_classifier
    from model.config import get_preset
    from model.lora import count_parameters

    torch.manual_seed(0)
    model = GPTModel(get_preset("tiny"))
    predicted = core.parameter_counts(model, trainable, 3, last_k, lora_rank=4, lora_alpha=8)
    build_classifier(model, 3, trainable, last_k, 4, 8)
    assert predicted == {"total_params": count_parameters(model),
                         "trainable_params": count_parameters(model, trainable_only=True)}


def test_lora_count_on_gpt2_small_is_the_books():
    # Appendix E: GPT-2 small with qkv bias, 2 classes, rank 16: 2,666,528 trainable. Built on
    # the meta device: no memory for 124M weights.
    import torch

    from model import GPTModel
    from model.config import get_preset

    cfg = get_preset("gpt2-124m").replace(qkv_bias=True)
    with torch.device("meta"):
        model = GPTModel(cfg)
    counts = core.parameter_counts(model, "lora", 2, lora_rank=16, lora_alpha=16)
    assert counts["trainable_params"] == core.BOOK_LORA_TRAINABLE
    assert counts["total_params"] - counts["trainable_params"] == core.BOOK_LORA_TOTAL


def test_clean_values_drops_what_the_fields_cannot_hold():
    assert core.clean_values({"lr": 5e-5, "epochs": 3, "trainable": "lora"}) == {
        "lr": 5e-5, "epochs": 3, "trainable": "lora"}
    assert core.clean_values({"epochs": 0, "batch_size": 2.5, "lr": "fast", "seed": True,
                              "trainable": "everything", "nope": 1}) == {}
    kwargs = core.recipe_kwargs({"max_steps": 0, "max_length": 40})
    assert kwargs["max_steps"] is None and kwargs["max_length"] == 40


def test_ids_are_shown_with_their_padding():
    ids = [10, 11, 12, 13, 14, 15, 16, 17] + [50256] * 5
    assert core.format_ids(ids, 8, shown=3) == "10, 11, 12, \u2026 (+5)  | 50256 \u00d7 5"
    assert core.format_ids([1, 2], 2) == "1, 2"
    rows = [{"text": "hi there you", "token_ids": [1, 2, 50256], "tokens": 2, "padding": 1,
             "label_name": "ham"}]
    assert core.preview_rows(rows) == [("hi there you", "1, 2  | 50256 \u00d7 1", "2 + 1", "ham")]


def test_preparation_lines_follow_the_book():
    counts = {"labels": ["ham", "spam"], "loaded": {"ham": 4825, "spam": 747},
              "balanced": {"ham": 747, "spam": 747}, "train": 1045, "val": 149, "test": 300,
              "max_length": 120, "truncated": 0}
    text = " ".join(core.preparation_lines(counts))
    assert "5,572 texts: 4,825 ham, 747 spam" in text
    assert "747 ham, 747 spam" in text and "1,045 / 149 / 300" in text
    assert "120 tokens" in text and "50256" in text and "none had to be cut" in text


def test_accuracy_rows_put_the_books_figures_beside():
    rows = core.accuracy_rows({"train_acc": 0.5, "val_acc": 0.25, "test_acc": 1.0}, None)
    assert rows[0] == ("Training", "50.00%", "\u2013", "46.25%", "97.21%")
    assert rows[2][1:] == ("100.00%", "\u2013", "48.75%", "95.67%")


def test_padding_effect_says_when_padding_changes_the_answer():
    result = {"at_text_end": [0.9, 0.1], "prediction": [0.2, 0.8], "padding": 30}
    effect = core.padding_effect(result, ["ham", "spam"], 40)
    assert effect["changed"] and "ham 90.0%" in effect["line"] and "spam 80.0%" in effect["line"]
    assert "Padding changes the answer" in effect["line"]
    same = core.padding_effect({**result, "prediction": [0.7, 0.3]}, ["ham", "spam"], 40)
    assert not same["changed"]
    assert not core.padding_effect({**result, "padding": 0}, ["ham", "spam"], None)["changed"]


def test_per_token_series_and_the_text_end():
    result = {"tokens": [{"position": i, "probs": [p, 1 - p]} for i, p in
                         enumerate([0.5, 0.25, 1.0])], "text_tokens": 2}
    assert core.per_token_series(result, 1) == ([0, 1, 2], [50.0, 75.0, 0.0], 1)


def test_prepare_records_pads_to_the_context_when_a_text_is_longer(tmp_path):
    path = tmp_path / "long.csv"
    rows = ["Label,Text"] + [f"{i % 2},{'word ' * (5 + 30 * (i == 3))}text {i}"
                             for i in range(20)]
    path.write_text("\n".join(rows), encoding="utf-8")
    records = list(core.prepare_records(core.DataChoice((str(path),)), 16))
    assert [r["event"] for r in records] == ["loaded", "prepared"]
    prepared = records[-1]
    if prepared["max_length"] == 16:  # the long text landed in the training split
        assert "padded and cut to 16 tokens" in prepared["notice"]
    assert prepared["data"].train.input_ids.shape[1] <= 16


def test_data_choice_round_trips_and_refuses_junk():
    choice = core.DataChoice(("/a/train.csv",))
    assert core.DataChoice.from_state(choice.to_state()) == choice
    assert core.DataChoice.from_state([]) == core.DataChoice()
    assert core.DataChoice.from_state("x") is None and core.DataChoice.from_state([3]) is None
    assert core.DataChoice(("/a/x.txt", "/b/y.txt")).spec() == ["/a/x.txt", "/b/y.txt"]
    assert core.DataChoice().spec() == "verdict-vs-notes"


def test_cards_on_classification_fine_tuning_and_lora_open_the_lab():
    from studyapp.links import bundled_links

    links = bundled_links()
    stages = links.link_for("Stages of buiding and using the LLMs",
                            "pretraining ... instruction fine-tuning and classification "
                            "fine-tuning, with labels such as spam")
    assert stages.area == "classify"
    lora = links.link_for("What does a low-rank update train?")
    assert lora.area == "classify" and lora.state == {"recipe": {"trainable": "lora"}}
    assert links.link_for("Why does the loss fall slower later?").area == "training"
