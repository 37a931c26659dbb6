"""Opening model files in the model manager's core: a pipe named like a checkpoint is refused at
once instead of blocking start-up, and the memory check uses the machine's real memory."""

from __future__ import annotations

import os
import threading

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")


def test_a_fifo_named_safetensors_is_refused_without_blocking(tmp_path):
    from model.checkpoint import CheckpointError
    from studyapp.models.loading import load_model_file

    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    outcome: list[BaseException | object] = []

    def load():
        try:
            outcome.append(load_model_file(fifo))
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():
        # Unblock the reader so the daemon thread ends, then fail.
        with open(fifo, "wb"):
            pass
        pytest.fail("opening a FIFO named *.safetensors blocked")
    assert len(outcome) == 1 and isinstance(outcome[0], CheckpointError)
    assert "not a regular file" in str(outcome[0])


def test_the_memory_check_asks_the_checkpoint_module(monkeypatch):
    import model.checkpoint
    from model.checkpoint import CheckpointError
    from model.config import get_preset
    from studyapp.models.loading import check_fits

    monkeypatch.setattr(model.checkpoint, "machine_memory_bytes", lambda: 64 * 2**20)
    with pytest.raises(CheckpointError, match="this computer has 64.0 MB"):
        check_fits(get_preset("gpt2-124m"))
