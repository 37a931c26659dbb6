"""Chapter 6's classification fine-tuning (model/classify): the book's data preparation, the
classifier, the default run on the bundled model, saving and opening, bad input, the CLI."""

from __future__ import annotations

import json

import pytest
import torch

from model.classify import (PAD_TOKEN_ID, ClassifyDataError, ClassifyRecipe, FineTune, balance,
                            batch_preview, build_classifier, classify_text, load_labelled,
                            open_classifier, per_token_probabilities, prepare, split,
                            verdict_vs_notes)
from model.classify.classifier import last_token_logits
from model.classify.cli import main
from model.classify.data import Example, LabelledData
from model.config import GPTConfig
from model.gpt import GPTModel

TINY = GPTConfig(context_length=32, emb_dim=16, n_heads=2, n_layers=2, drop_rate=0.1)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def write_sms(path, ham: int, spam: int):
    """A file laid out like the book's SMSSpamCollection: label<TAB>text, no header."""
    lines = [f"ham\tOk lar see you at {i} tonight" for i in range(ham)]
    lines += [f"spam\tWINNER claim your {i} prize now" for i in range(spam)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def toy_data(n_per_class: int = 40) -> LabelledData:
    examples = [Example(f"the cat sat on mat number {i}", 0, "a.txt", i + 1)
                for i in range(n_per_class)]
    examples += [Example(f"buy cheap pills today {i} now now", 1, "b.txt", i + 1)
                 for i in range(n_per_class)]
    return LabelledData(examples, ["cat", "pills"], "toy")


# -- the book's data preparation ------------------------------------------------------------

def test_spam_collection_balances_to_747_each_and_splits_70_10_20(tmp_path):
    data = load_labelled(write_sms(tmp_path / "SMSSpamCollection", 4825, 747))
    assert data.labels == ["ham", "spam"]  # the book maps ham to 0 and spam to 1
    assert data.class_counts() == {"ham": 4825, "spam": 747}
    balanced = balance(data.examples, seed=123)
    assert data.class_counts(balanced) == {"ham": 747, "spam": 747}
    train, val, test = split(balanced, seed=123)
    assert (len(train), len(val), len(test)) == (1045, 149, 300)  # the book's 70/10/20
    assert balance(data.examples, seed=123) == balanced  # a fixed seed: the same subset
    assert {e.text for e in train}.isdisjoint({e.text for e in val} | {e.text for e in test})


def test_padding_to_the_longest_training_text_with_endoftext(tmp_path):
    data = toy_data()
    prepared = prepare(data, context_length=TINY.context_length, seed=123)
    train = prepared.train
    longest = int(train.lengths.max())
    assert prepared.max_length == longest == train.input_ids.shape[1]
    for row, n in zip(train.input_ids, train.lengths.tolist()):
        assert row[n:].tolist() == [PAD_TOKEN_ID] * (longest - n)
        assert PAD_TOKEN_ID not in row[:n].tolist()
    assert prepared.counts["balanced"] == {"cat": 40, "pills": 40}
    assert (prepared.counts["train"], prepared.counts["val"], prepared.counts["test"]) == (56, 8, 16)
    rows = batch_preview(train, prepared.labels, size=3)
    assert len(rows) == 3 and rows[0]["tokens"] + rows[0]["padding"] == longest
    assert rows[0]["label_name"] in ("cat", "pills") and len(rows[0]["token_ids"]) == longest
    json.dumps(rows)


def test_a_chosen_maximum_truncates_and_counts_the_cut_texts():
    prepared = prepare(toy_data(), context_length=32, max_length=5, seed=123)
    assert prepared.train.input_ids.shape[1] == 5
    assert prepared.truncated == 80  # every toy text is longer than 5 tokens
    with pytest.raises(ClassifyDataError, match="between 1 and"):
        prepare(toy_data(), context_length=32, max_length=64)


def test_the_books_csv_files_keep_their_split(tmp_path):
    for name, n in (("train.csv", 10), ("validation.csv", 4), ("test.csv", 6)):
        rows = ["Label,Text"] + [f'{i % 2},"text, with a comma {i}"' for i in range(n)]
        (tmp_path / name).write_text("\n".join(rows) + "\n")
    data = load_labelled(tmp_path / "train.csv")
    assert data.labels == ["0", "1"] and [len(s) for s in data.splits] == [10, 4, 6]
    assert data.splits[0][1].text == "text, with a comma 1" and data.splits[0][1].line == 3
    prepared = prepare(data, context_length=32)
    assert (len(prepared.train), len(prepared.val), len(prepared.test)) == (10, 4, 6)


def test_plain_text_files_are_one_class_each(tmp_path):
    (tmp_path / "fiction.txt").write_text("He walked home slowly. She said \"no\" to him!\n"
                                          "Then it rained all night long.")
    (tmp_path / "notes.md").write_text("# Chapter 2\n- tokens are mapped to ids\n\nok\n"
                                       "<summary>why pad with 50256</summary>\n")
    data = load_labelled([tmp_path / "fiction.txt", tmp_path / "notes.md"])
    assert data.labels == ["fiction", "notes"]
    texts = {(e.label, e.text, e.line) for e in data.examples}
    assert (0, "He walked home slowly.", 1) in texts and (0, "Then it rained all night long.", 2) in texts
    assert (1, "tokens are mapped to ids", 2) in texts and (1, "why pad with 50256", 5) in texts


def test_the_default_data_is_verdict_sentences_against_notes_lines():
    data = verdict_vs_notes()
    assert data.labels == ["fiction", "notes"]
    counts = data.class_counts()
    assert counts["fiction"] > 150 and counts["notes"] > 100
    assert data.examples[0].text.startswith("I HAD always thought Jack Gisburn")


# -- bad input --------------------------------------------------------------------------------

def test_bad_files_get_a_message_naming_the_file_and_line(tmp_path):
    one = write_sms(tmp_path / "one.tsv", 5, 0)
    with pytest.raises(ClassifyDataError, match="only one class"):
        load_labelled(one)
    (tmp_path / "empty.csv").write_text("  \n")
    with pytest.raises(ClassifyDataError, match="empty.csv: the file is empty"):
        load_labelled(tmp_path / "empty.csv")
    (tmp_path / "pic.csv").write_bytes(b"Label,Text\n1,ok\n\x00\x01")
    with pytest.raises(ClassifyDataError, match=r"pic.csv, line 3: a binary file"):
        load_labelled(tmp_path / "pic.csv")
    (tmp_path / "nocol.csv").write_text("Label,Body\n1,hello\n")
    with pytest.raises(ClassifyDataError, match=r"nocol.csv, line 1: no text column"):
        load_labelled(tmp_path / "nocol.csv")
    (tmp_path / "short.csv").write_text("Label,Text\n1,hello\n0\n")
    with pytest.raises(ClassifyDataError, match=r"short.csv, line 3: 1 column"):
        load_labelled(tmp_path / "short.csv")
    (tmp_path / "latin.tsv").write_bytes("ham\tok\nspam\tcaf\u00e9\n".encode("latin-1"))
    with pytest.raises(ClassifyDataError, match=r"latin.tsv, line 2: not UTF-8"):
        load_labelled(tmp_path / "latin.tsv")
    with pytest.raises(ClassifyDataError, match="no such file"):
        load_labelled(tmp_path / "missing.csv")


def test_a_label_missing_from_train_csv_is_named(tmp_path):
    (tmp_path / "train.csv").write_text("Label,Text\n0,a b c\n1,d e f\n")
    (tmp_path / "validation.csv").write_text("Label,Text\n0,a b c\n2,x y z\n")
    (tmp_path / "test.csv").write_text("Label,Text\n1,d e f\n")
    with pytest.raises(ClassifyDataError, match=r"validation.csv, line 3: label '2'"):
        load_labelled(tmp_path / "train.csv")


def test_a_text_longer_than_the_context_is_named(tmp_path):
    long_text = " ".join(["word"] * 60)
    rows = ["Label,Text"] + [f"{i % 2},short text {i}" for i in range(20)] + [f"1,{long_text}"]
    (tmp_path / "long.csv").write_text("\n".join(rows) + "\n")
    data = load_labelled(tmp_path / "long.csv")
    with pytest.raises(ClassifyDataError, match=r"long.csv, line 22: this text has 60 tokens, "
                                                r"more than the model's context of 32"):
        prepare(data, context_length=32, do_balance=False, seed=1)


# -- the classifier ---------------------------------------------------------------------------

def test_build_classifier_trains_what_the_book_trains():
    torch.manual_seed(0)
    model = build_classifier(GPTModel(TINY), 2, "last-block")
    trainable = {n.split(".")[0] + ("." + n.split(".")[1] if n.startswith("trf") else "")
                 for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"trf_blocks.1", "final_norm", "out_head"}
    assert model.out_head.out_features == 2 and model.out_head.bias is not None
    assert all(m.p == 0.0 for m in model.modules() if isinstance(m, torch.nn.Dropout))
    head = build_classifier(GPTModel(TINY), 3, "head")
    assert [n for n, p in head.named_parameters() if p.requires_grad] == ["out_head.weight",
                                                                           "out_head.bias"]
    with pytest.raises(ValueError, match="last k"):
        build_classifier(GPTModel(TINY), 2, "last-k", last_k=5)


@pytest.mark.parametrize("trainable", ["head", "last-block", "all"])
def test_cached_frozen_blocks_give_the_full_models_logits(trainable):
    torch.manual_seed(3)
    fine_tune = FineTune(GPTModel(TINY), toy_data(), ClassifyRecipe(trainable=trainable))
    task, model = fine_tune.task, fine_tune.model.eval()
    rows = torch.arange(8)
    with torch.no_grad():
        full = last_token_logits(model, fine_tune.data.train.input_ids[:8])
        assert torch.allclose(task.logits("train", rows), full, atol=1e-5)


def test_per_token_probabilities_show_the_text_end_and_the_padding():
    from model.tokenizer import get_tokenizer

    torch.manual_seed(4)
    model = build_classifier(GPTModel(TINY), 2, "all").eval()
    tok = get_tokenizer()
    text = "buy cheap pills"
    view = per_token_probabilities(model, tok, text, max_length=10)
    n = len(tok.encode(text))
    assert view["text_tokens"] == n and view["padding"] == 10 - n and len(view["tokens"]) == 10
    assert [r["padding"] for r in view["tokens"]] == [False] * n + [True] * (10 - n)
    assert view["at_text_end"] == pytest.approx(classify_text(model, tok, text), abs=1e-4)
    assert view["prediction"] == pytest.approx(classify_text(model, tok, text, 10), abs=1e-4)
    assert view["at_text_end"] != pytest.approx(view["prediction"], abs=1e-4)  # padding matters


# -- a whole run ----------------------------------------------------------------------------

def test_the_default_run_on_the_bundled_model_reaches_90_percent():
    from model.checkpoint import load_bundled

    fine_tune = FineTune(load_bundled().model, verdict_vs_notes(), ClassifyRecipe())
    records = list(fine_tune.run())
    done = records[-1]
    assert done["event"] == "done" and done["reason"] == "completed"
    assert done["after"]["test_acc"] >= 0.90
    assert done["after"]["test_acc"] > done["before"]["test_acc"] + 0.2
    evals = [r for r in records if r["event"] == "eval"]
    assert evals and {"train_acc", "val_acc", "train_loss", "val_loss"} <= set(evals[0])
    steps = [r for r in records if r["event"] == "step"]
    assert steps[0]["examples_seen"] == 8 and "examples_per_s" in steps[0]
    assert done["trainable_params"] == done["total_params"] == 3_424_066
    report = fine_tune.report("test")
    confusion = report["confusion"]
    assert sum(map(sum, confusion)) == len(fine_tune.data.test)
    wrong = len(fine_tune.data.test) - confusion[0][0] - confusion[1][1]
    assert len(report["misclassified"]) == wrong
    json.dumps(records)


def test_a_saved_lora_classifier_opens_with_the_same_predictions(tmp_path):
    from model.checkpoint import NotALanguageModelError, checkpoint_kind, load_checkpoint

    torch.manual_seed(5)
    recipe = ClassifyRecipe(trainable="lora", lora_rank=2, lora_alpha=4, lr=1e-2, max_steps=4,
                            eval_every=2)
    fine_tune = FineTune(GPTModel(TINY), toy_data(), recipe)
    list(fine_tune.run())
    path = fine_tune.save(tmp_path / "clf.safetensors")
    assert checkpoint_kind(path) == "classifier"
    loaded = open_classifier(path)
    assert loaded.labels == ["cat", "pills"] and loaded.max_length == fine_tune.data.max_length
    assert loaded.meta["classifier"]["recipe"]["trainable"] == "lora"
    ids = fine_tune.data.test.input_ids
    with torch.no_grad():
        assert torch.allclose(last_token_logits(loaded.model, ids),
                              last_token_logits(fine_tune.model.eval(), ids), atol=1e-5)
    with pytest.raises(NotALanguageModelError, match="is a classifier \\(cat, pills\\)"):
        load_checkpoint(path)
    torch.save(loaded.model.state_dict(), tmp_path / "review_classifier.pth")
    with pytest.raises(NotALanguageModelError, match="looks like a classifier"):
        load_checkpoint(tmp_path / "review_classifier.pth")
    assert open_classifier(tmp_path / "review_classifier.pth").labels == ["0", "1"]


# -- command line ---------------------------------------------------------------------------

def test_cli_max_steps_0_reports_counts_and_the_accuracy_before(tmp_path, capsys):
    sms = write_sms(tmp_path / "SMSSpamCollection", 60, 20)
    assert main(["--data", str(sms), "--model-config", "tiny", "--max-steps", "0",
                 "--trainable", "head", "--jsonl", str(tmp_path / "out.jsonl")]) == 0
    done = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert done["event"] == "done" and done["step"] == 0
    assert done["balanced"] == {"ham": 20, "spam": 20}
    assert (done["train"], done["val"], done["test"]) == (28, 4, 8)
    assert set(done["before"]) == {"train_acc", "val_acc", "test_acc"}
    assert done["trainable_params"] < done["total_params"]
    assert json.loads((tmp_path / "out.jsonl").read_text()) == done


def test_cli_trains_writes_records_and_saves(tmp_path, capsys):
    sms = write_sms(tmp_path / "SMSSpamCollection", 30, 30)
    out = tmp_path / "runs"
    assert main(["--data", str(sms), "--model-config", "tiny", "--trainable", "last-block",
                 "--max-steps", "4", "--eval-every", "2", "--seed", "1", "--out", str(out),
                 "--quiet", "--jsonl", str(tmp_path / "r.jsonl")]) == 0
    records = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["event"] for r in records] == ["step", "step", "eval", "step", "step", "eval", "done"]
    done = records[-1]
    assert done["reason"] == "max_steps" and done["elapsed_s"] > 0
    assert set(done["after"]) == set(done["before"]) == {"train_acc", "val_acc", "test_acc"}
    assert open_classifier(out / "classifier.safetensors").labels == ["ham", "spam"]


def test_cli_errors_are_one_line_without_traceback(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "nope.csv"), "--model-config", "tiny"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no such file" in err and "Traceback" not in err
    sms = write_sms(tmp_path / "s.tsv", 10, 10)
    assert main(["--data", str(sms), "--model-config", "nope"]) == 2
    assert "unknown preset" in capsys.readouterr().err
    assert main(["--data", str(sms), "--model-config", "tiny", "--trainable", "last-k",
                 "--last-k", "9"]) == 2
    assert "last k must be between 1 and 2" in capsys.readouterr().err
