"""Chapter 7's data, prompt, split and batches against the book's examples."""

import hashlib
import json

import pytest
import torch

from model.instruct.batches import batch_view, custom_collate_fn
from model.instruct.data import (
    InstructDataError,
    bundled_data_path,
    bundled_responses_path,
    encode_entries,
    format_example,
    format_input,
    load_entries,
    split_entries,
)


def test_shipped_files_are_the_books_unchanged():
    digests = {bundled_data_path(): "7e09a9af353722ca15c18bc580f093f9c39d3178335a75177319cb1e1d163944",
               bundled_responses_path():
                   "aced320504c77c98d957316eb9f3460945256226c36b5e9752bf7d49585eb943"}
    for path, digest in digests.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path
    assert (bundled_data_path().parent / "LICENSE-LLMs-from-scratch.txt").is_file()


def test_format_input_is_the_books_alpaca_prompt():
    with_input = {"instruction": "Rewrite the sentence using a simile.",
                  "input": "The car is very fast.", "output": "The car is as fast as lightning."}
    assert format_input(with_input) == (
        "Below is an instruction that describes a task. Write a response that appropriately "
        "completes the request.\n\n### Instruction:\nRewrite the sentence using a simile."
        "\n\n### Input:\nThe car is very fast.")
    no_input = {"instruction": "What is an antonym of 'complicated'?", "input": "",
                "output": "An antonym of 'complicated' is 'simple'."}
    assert format_input(no_input) == (
        "Below is an instruction that describes a task. Write a response that appropriately "
        "completes the request.\n\n### Instruction:\nWhat is an antonym of 'complicated'?")
    assert format_example(no_input) == (format_input(no_input) + "\n\n### Response:\n"
                                        "An antonym of 'complicated' is 'simple'.")


def test_book_split_of_the_shipped_file_is_935_110_55_in_file_order():
    loaded = load_entries()
    assert len(loaded) == 1100 and loaded.warnings == []
    split = split_entries(loaded.entries)
    assert split.sizes() == {"train": 935, "test": 110, "val": 55}
    assert split.train[0] == loaded.entries[0]
    assert split.test[0] == loaded.entries[935] and split.val[-1] == loaded.entries[-1]
    # The book's own responses file holds exactly its test part.
    book = json.loads(bundled_responses_path().read_text(encoding="utf-8"))
    assert [e["instruction"] for e in book] == [e["instruction"] for e in split.test]


def test_collate_matches_the_books_example():
    inputs, targets = custom_collate_fn([[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]])
    assert inputs.tolist() == [[0, 1, 2, 3, 4], [5, 6, 50256, 50256, 50256],
                               [7, 8, 9, 50256, 50256]]
    assert targets.tolist() == [[1, 2, 3, 4, 50256], [6, 50256, -100, -100, -100],
                                [8, 9, 50256, -100, -100]]
    assert inputs.dtype == torch.long and targets.dtype == torch.long


def test_collate_truncates_last_and_masks_the_prompt_on_request():
    batch = [[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]]
    inputs, targets = custom_collate_fn(batch, allowed_max_length=3)
    assert inputs.tolist() == [[0, 1, 2], [5, 6, 50256], [7, 8, 9]]
    assert targets.tolist() == [[1, 2, 3], [6, 50256, -100], [8, 9, 50256]]
    # Prompts of 3, 1 and 2 tokens: the targets predicting prompt tokens are ignored.
    _, masked = custom_collate_fn(batch, mask_prompt_lengths=[3, 1, 2])
    assert masked.tolist() == [[-100, -100, 3, 4, 50256], [6, 50256, -100, -100, -100],
                               [-100, 9, 50256, -100, -100]]
    with pytest.raises(ValueError):
        custom_collate_fn(batch, mask_prompt_lengths=[1])


def test_batch_view_marks_padding_ignored_and_the_counted_end_token():
    view = batch_view([[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]])
    assert view.shape == (3, 5) and view.lengths == [5, 2, 3]
    row = view.rows[1]
    assert [c.input_id for c in row] == [5, 6, 50256, 50256, 50256]
    assert [c.padding for c in row] == [False, False, True, True, True]
    assert [c.ignored for c in row] == [False, False, True, True, True]
    assert [c.end_target for c in row] == [False, True, False, False, False]
    assert row[1].target_text == "<|endoftext|>" and row[2].target_text == ""
    assert view.counted == 5 + 2 + 3 and view.ignored == 3 + 2
    assert json.loads(json.dumps(view.to_dict()))["inputs"] == view.inputs


def test_view_of_real_entries_with_the_prompt_masked():
    from model.instruct.batches import view_entries

    entries = load_entries().entries[:2]
    enc = encode_entries(entries)
    view = view_entries(entries, context_length=128, mask_prompt=True)
    assert view.lengths == [len(ids) for ids in enc.token_ids]
    for row, prompt_len in zip(view.rows, enc.prompt_lengths):
        assert all(c.prompt_masked and c.ignored for c in row[:prompt_len - 1])
        assert not row[prompt_len - 1].ignored  # the first token after the prompt counts
    # Every row predicts its own end token exactly once.
    assert [sum(c.end_target for c in row) for row in view.rows] == [1, 1]


def test_encoded_examples_fit_the_context_by_truncating_or_leaving_out():
    entries = [{"instruction": "Say hi.", "input": "", "output": "Hi."},
               {"instruction": "Repeat. " * 40, "input": "word " * 40, "output": "No."}]
    full = encode_entries(entries)
    assert full.truncated == 0 and full.left_out == 0 and full.longest > 64
    cut = encode_entries(entries, context_length=64)
    assert cut.truncated == 1 and max(map(len, cut.token_ids)) == 64 and cut.kept == [0, 1]
    dropped = encode_entries(entries, context_length=64, too_long="drop")
    assert dropped.left_out == 1 and dropped.kept == [0] and dropped.token_ids == full.token_ids[:1]
    # The prompt's tokens come first in every example.
    assert full.prompt_lengths[0] < len(full.token_ids[0])
    # Every shipped example fits the bundled model's context of 128 tokens.
    shipped = encode_entries(load_entries().entries, context_length=128)
    assert shipped.truncated == 0 and shipped.longest <= 128


def test_malformed_entries_are_named_by_index_and_skipped(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps([
        {"instruction": "Add 1 and 1.", "input": "", "output": "2"},
        "just text",
        {"instruction": "No output here.", "input": ""},
        {"instruction": "Missing input is fine.", "output": "ok"},
        {"instruction": 5, "input": "", "output": "x"},
    ]), encoding="utf-8")
    loaded = load_entries(path)
    assert [e["instruction"] for e in loaded.entries] == ["Add 1 and 1.", "Missing input is fine."]
    assert loaded.entries[1]["input"] == "" and loaded.skipped == 3
    assert [w.split(":")[1].strip() for w in loaded.warnings] == [
        "entry 1 skipped", "entry 2 skipped", "entry 4 skipped"]
    assert all(w.startswith("mine.json:") for w in loaded.warnings)
    assert "'output'" in loaded.warnings[1]


@pytest.mark.parametrize("content, words", [
    ('{"instruction": "x"}', "not a list"),
    ('[{"instruction": "x", "output": "y"},', "not valid JSON"),
    ('["a", "b"]', "no usable"),
])
def test_files_that_are_not_entry_lists_get_a_clear_error(tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InstructDataError, match=words) as info:
        load_entries(path)
    assert "bad.json" in str(info.value)
    with pytest.raises(InstructDataError, match="does not exist"):
        load_entries(tmp_path / "missing.json")
