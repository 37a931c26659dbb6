"""The model manager: lists the session's models, adds untrained ones, opens the app's
checkpoints, the book's .pth state dicts and GPT-2's Hugging Face files (built here, nothing
downloaded), and refuses files that do not fit while the current model stays."""

import copy

import pytest
import torch
from safetensors.torch import save_file

from model import GPTModel, get_preset
from model.checkpoint import save_checkpoint


@pytest.fixture
def manager(make_widget):
    from studyapp.shell.model_manager import ModelManager

    return make_widget(ModelManager)


def _load(qtbot, manager, start):
    with qtbot.waitSignal(manager.load_finished, timeout=30000) as blocker:
        assert start()
    return blocker.args


@pytest.fixture(scope="module")
def book_model():
    torch.manual_seed(123)
    return GPTModel(get_preset("tiny").replace(qkv_bias=True, context_length=32)).eval()


def test_lists_models_and_marks_the_one_in_use(qtbot, manager, ctx):
    assert manager.table.rowCount() == 1
    assert manager.table.item(0, 0).text() == "\u25cf"
    assert manager.table.item(0, 1).text() == "untrained tiny"
    text = manager.details.text()
    assert "in use by the labs" in text and "Parameters" in text and "Memory" in text
    assert "context" in text.lower()
    ok, message = _load(qtbot, manager, lambda: manager.add_untrained("tiny", seed=5))
    assert ok and "untrained tiny (seed 5)" in message
    assert ctx.models.current.name == "untrained tiny (seed 5)"
    assert manager.table.rowCount() == 2 and manager.table.item(1, 0).text() == "\u25cf"
    manager.table.selectRow(0)
    assert manager.use_button.isEnabled() and manager.remove_button.isEnabled()
    manager.use_selected()
    assert ctx.models.current.name == "untrained tiny"
    manager.table.selectRow(1)
    manager.remove_selected()
    assert [e.name for e in ctx.models.entries] == ["untrained tiny"]


def test_opens_an_app_checkpoint_with_its_config(qtbot, manager, ctx, tmp_path, book_model):
    path = save_checkpoint(book_model, tmp_path / "mine", meta={"val_loss": 6.25})
    ok, _ = _load(qtbot, manager, lambda: manager.open_path(path))
    entry = ctx.models.current
    assert ok and entry.name == "mine" and entry.source == str(path)
    assert entry.config == book_model.cfg
    rows = dict(__import__("studyapp.models.loading", fromlist=["x"]).details(entry))
    assert rows["Format"] == "app checkpoint" and rows["Val loss"] == "6.25"
    assert f"{book_model.num_parameters():,}" in rows["Parameters"]
    assert "32 tokens" in manager.details.text()


def test_opens_a_book_pth_with_qkv_bias_and_asked_heads(qtbot, manager, ctx, tmp_path,
                                                        book_model):
    path = tmp_path / "gpt2-small-124M.pth"
    torch.save(book_model.state_dict(), path)  # as the book's chapter 5 saves it
    ok, _ = _load(qtbot, manager, lambda: manager.open_path(path, n_heads=2))
    entry = ctx.models.current
    assert ok and entry.config.qkv_bias and entry.config.n_heads == 2
    idx = torch.randint(0, 50257, (1, 9))
    with torch.no_grad():
        torch.testing.assert_close(entry.model(idx), book_model(idx))
    assert "given when opening" in entry.meta["heads"]
    # Without heads the file's config is inferred (64-wide heads): it still loads, and says so.
    manager.heads.setValue(0)
    ok, _ = _load(qtbot, manager, lambda: manager.open_path(path))
    assert ok and ctx.models.current.config.n_heads == 1
    assert "inferred" in ctx.models.current.meta["heads"]
    assert ctx.models.current.name == "gpt2-small-124M (2)"


def test_opens_gpt2_in_the_hugging_face_layout(qtbot, manager, ctx, tmp_path, book_model):
    from tests.model.test_hf_gpt2 import hf_state_dict

    folder = tmp_path / "gpt2"
    folder.mkdir()
    save_file(hf_state_dict(book_model), str(folder / "model.safetensors"))
    ok, _ = _load(qtbot, manager, lambda: manager.open_path(folder / "model.safetensors", 2))
    entry = ctx.models.current
    assert ok and entry.name == "gpt2" and entry.meta["format"].startswith("GPT-2 in the Hugging")
    tied = copy.deepcopy(book_model)  # GPT-2's head is the token embedding
    with torch.no_grad():
        tied.out_head.weight.copy_(tied.tok_emb.weight)
        idx = torch.randint(0, 50257, (1, 6))
        torch.testing.assert_close(entry.model(idx), tied(idx))


def test_files_that_do_not_fit_are_refused_and_the_current_model_stays(qtbot, manager, ctx,
                                                                       tmp_path):
    before = ctx.models.current
    garbage = tmp_path / "notes.pth"
    garbage.write_bytes(b"not a model at all")
    notices = []
    ctx.models.notice.connect(notices.append)
    ok, message = _load(qtbot, manager, lambda: manager.open_path(garbage))
    assert not ok and "could not be read" in message and "keep using untrained tiny" in message
    assert ctx.models.current is before and len(ctx.models.entries) == 1
    assert notices and "notes.pth" in notices[0]
    assert "could not be read" in manager.status.text()
    # A GPT whose vocabulary is smaller than GPT-2's tokenizer cannot run the labs.
    torch.manual_seed(0)
    small = GPTModel(get_preset("tiny").replace(vocab_size=1000))
    path = save_checkpoint(small, tmp_path / "small-vocab")
    ok, message = _load(qtbot, manager, lambda: manager.open_path(path))
    assert not ok and "1,000 tokens, fewer than the GPT-2 tokenizer" in message
    assert ctx.models.current is before


def test_bundled_missing_and_too_big_are_explained(qtbot, manager, ctx, tmp_path, monkeypatch):
    import model.checkpoint

    monkeypatch.setattr(model.checkpoint, "bundled_path", lambda: tmp_path / "none.safetensors")
    ok, message = _load(qtbot, manager, manager.load_bundled)
    assert not ok and "bundled checkpoint is missing" in message
    monkeypatch.setattr(model.checkpoint, "machine_memory_bytes", lambda: 256 * 2**20)
    ok, message = _load(qtbot, manager, lambda: manager.add_untrained("gpt2-124m"))
    assert not ok and "needs about" in message and "this computer has 256.0 MB" in message
    assert ctx.models.current.name == "untrained tiny"


def test_open_model_action_and_busy_refusal(qtbot, manager, ctx, monkeypatch, tmp_path,
                                            book_model):
    from PySide6.QtWidgets import QFileDialog

    path = save_checkpoint(book_model, tmp_path / "picked")
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(path), "")))
    with qtbot.waitSignal(manager.load_finished, timeout=30000):
        manager.open_file_dialog()
        assert manager.busy and not manager.open_button.isEnabled()
        assert not manager.add_untrained("tiny")  # one load at a time
        assert "Still busy" in manager.status.text()
    assert ctx.models.current.name == "picked"
