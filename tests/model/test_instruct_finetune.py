"""Chapter 7's fine-tuning on the shared loop, and the headless command."""

import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from model.instruct.batches import custom_collate_fn
from model.instruct.data import Split, encode_entries, load_entries
from model.instruct.finetune import BOOK_RECIPE, InstructFineTune, InstructOptions, instruct_loss


@pytest.fixture(scope="module")
def entries():
    return load_entries().entries


def _bundled():
    from model.checkpoint import load_bundled

    return load_bundled().model


def test_the_recipe_is_the_books():
    assert (BOOK_RECIPE.lr, BOOK_RECIPE.weight_decay, BOOK_RECIPE.epochs,
            BOOK_RECIPE.batch_size, BOOK_RECIPE.eval_every) == (5e-5, 0.1, 2, 8, 5)
    assert InstructOptions().eval_batches == 5


def test_loss_equals_the_books_cross_entropy_with_ignored_targets(entries):
    model = _bundled().eval()
    enc = encode_entries(entries[:4], context_length=model.cfg.context_length)
    for lengths in (None, enc.prompt_lengths):
        inputs, targets = custom_collate_fn(enc.token_ids, mask_prompt_lengths=lengths)
        with torch.no_grad():
            book = F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten())
            ours = instruct_loss(model, inputs, targets)
            chunked = instruct_loss(model, inputs, targets, chunk_rows=16,
                                    buffer=torch.empty(16, model.cfg.vocab_size))
        assert float(ours) == pytest.approx(float(book), rel=1e-5)
        assert float(chunked) == pytest.approx(float(book), rel=1e-5)


def test_short_fine_tuning_lowers_the_validation_loss(entries, tmp_path):
    model = _bundled()
    # A slice of the shipped data: short runs, the book's recipe at a smaller batch.
    split = Split(train=entries[:48], test=entries[935:937], val=entries[1045:1053])
    run = InstructFineTune(model, split, BOOK_RECIPE.replace(batch_size=4, max_steps=8,
                                                             eval_every=4, device="cpu"),
                           InstructOptions(eval_batches=2))
    records = list(run.run())
    evals = [r for r in records if r["event"] == "eval"]
    assert [e["step"] for e in evals] == [0, 4, 8]
    assert evals[-1]["val_loss"] < evals[1]["val_loss"] < evals[0]["val_loss"]
    steps = [r for r in records if r["event"] == "step"]
    assert len(steps) == 8 and steps[-1]["examples_seen"] == 32
    assert records[-1]["event"] == "done" and records[-1]["reason"] == "max_steps"
    assert run.data["train"]["examples"] == 48 and run.data["train"]["truncated"] == 0

    from model.checkpoint import load_checkpoint

    path = run.save(tmp_path / "tuned.safetensors")
    reloaded = load_checkpoint(path)
    assert reloaded.meta["task"] == "instruct"
    assert reloaded.meta["initial_losses"]["val_loss"] == evals[0]["val_loss"]
    state = {k: v for k, v in run.model.state_dict().items() if not k.endswith(".att.mask")}
    for key, value in state.items():
        assert torch.equal(reloaded.model.state_dict()[key], value.cpu()), key


def test_too_few_examples_is_a_clear_error(entries):
    from model.train.config import TrainingError

    with pytest.raises(TrainingError, match="fewer than one batch"):
        InstructFineTune(_bundled(), Split(train=entries[:3], test=[], val=entries[3:5]))


def test_cli_bad_data_is_a_message_and_status_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "model.instruct", "--data", str(bad),
                             "--out", str(tmp_path / "out")], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error: bad.json holds a JSON dict, not a list")
    assert "Traceback" not in result.stderr


def test_cli_fine_tunes_answers_and_saves(tmp_path):
    data = tmp_path / "data.json"
    data.write_text(json.dumps(load_entries().entries[:60]), encoding="utf-8")
    jsonl = tmp_path / "run.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "model.instruct", "--data", str(data), "--max-steps", "3",
         "--batch-size", "4", "--eval-every", "3", "--eval-batches", "1", "--test-limit", "2",
         "--max-new-tokens", "6", "--device", "cpu", "--out", str(tmp_path / "out"),
         "--jsonl", str(jsonl), "--quiet"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    kinds = [r["event"] for r in records]
    assert kinds[0] == "eval" and "step" in kinds and kinds[-1] == "done"
    assert kinds.count("response") == 2
    done = records[-1]
    saved = json.loads(open(done["responses"], encoding="utf-8").read())
    assert len(saved) == 2 and all("model_response" in e for e in saved)
    from model.instruct.data import split_entries

    expected = split_entries(load_entries().entries[:60]).test[:2]
    assert [e["instruction"] for e in saved] == [e["instruction"] for e in expected]
    by_index = {r["index"]: r["text"] for r in records if r["event"] == "response"}
    assert [e["model_response"] for e in saved] == [by_index[0], by_index[1]]
    assert done["rouge_l_average"] == pytest.approx(
        sum(r["rouge_l"] for r in records if r["event"] == "response") / 2)
    from model.checkpoint import load_checkpoint

    assert load_checkpoint(done["checkpoint"]).config.context_length == 128


def test_lora_trains_only_adapters_and_saves_a_plain_language_model(entries, tmp_path):
    from model.checkpoint import load_checkpoint

    model = _bundled()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    split = Split(train=entries[:8], test=[], val=entries[1045:1049])
    run = InstructFineTune(model, split, BOOK_RECIPE.replace(batch_size=4, max_steps=2, lr=1e-2,
                                                             eval_every=0, device="cpu"),
                           InstructOptions(eval_batches=1, lora_rank=4, lora_alpha=8))
    # rank x (in + out) for every linear layer: 4 blocks of 4 attention (64 -> 64) and 2
    # feed-forward (64 <-> 256) layers, and the output head (64 -> 50,257).
    assert run.trainable_parameters() == 4 * (4 * 4 * (64 + 64) + 2 * 4 * (64 + 256)) + 4 * (
        64 + 50257) == 219_716
    list(run.run())
    # The frozen base weights are untouched; the merged copy computes what the adapted model does.
    state = run.model.state_dict()
    assert torch.equal(state["tok_emb.weight"], before["tok_emb.weight"])
    assert torch.equal(state["trf_blocks.0.att.W_query.linear.weight"],
                       before["trf_blocks.0.att.W_query.weight"])
    ids = torch.tensor([[15496, 11, 466, 345, 588, 8887, 30]])
    plain = run.plain_model()
    with torch.no_grad():
        assert torch.allclose(plain(ids), run.model.eval()(ids), atol=1e-4)
    assert not torch.equal(plain.state_dict()["trf_blocks.0.att.W_query.weight"],
                           before["trf_blocks.0.att.W_query.weight"])
    reloaded = load_checkpoint(run.save(tmp_path / "lora.safetensors"))
    assert reloaded.meta["instruct"]["lora_rank"] == 4
    with torch.no_grad():
        assert torch.allclose(reloaded.model(ids), plain(ids), atol=1e-5)
