"""Hostile and malformed model files: refused with a CheckpointError that says why, before the
model is allocated; `python -m model.generate` prints the reason instead of a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

from model import GPTModel, get_preset
from model.checkpoint import FORMAT, CheckpointError, load_checkpoint, save_checkpoint
from model.generate import main as generate_main

ROOT = Path(__file__).resolve().parents[2]
TINY = get_preset("tiny")


@pytest.fixture(scope="module")
def tiny_model():
    torch.manual_seed(123)
    return GPTModel(TINY).eval()


def _app_file(path: Path, tensors: dict, config, meta="{}") -> Path:
    """An app-format safetensors file with any header config (a string is written as is)."""
    header = {"format": FORMAT, "meta": meta,
              "config": config if isinstance(config, str) else json.dumps(config)}
    path.write_bytes(st_save(tensors, metadata=header))
    return path


def _run_limited(script: str, limit_gib: float = 1.5, timeout: int = 120):
    """Run `script` in a fresh interpreter whose address space is capped, so a model file that
    still gets its memory fails fast with MemoryError instead of filling this machine."""
    prelude = textwrap.dedent(f"""
        import resource
        limit = int({limit_gib} * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    """)
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(script)],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


_REPORT = """
    from model.checkpoint import CheckpointError, load_checkpoint
    try:
        load_checkpoint(PATH)
    except CheckpointError as exc:
        print("REFUSED:", exc)
    else:
        print("LOADED")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")
def test_a_tiny_file_asking_for_a_huge_context_is_refused_before_allocating(tmp_path):
    small = {"vocab_size": 4, "context_length": 30_000, "emb_dim": 2, "n_heads": 1,
             "n_layers": 1, "drop_rate": 0.0}
    probe = GPTModel({**small, "context_length": 4})
    tensors = {k: v for k, v in probe.state_dict().items() if not k.endswith(".att.mask")}
    few_rows = _app_file(tmp_path / "few_rows.safetensors", tensors, small)
    assert few_rows.stat().st_size < 4096
    # pos_emb really has 30,000 rows here, but each block's mask would be 30,000 x 30,000.
    tensors = dict(tensors, **{"pos_emb.weight": torch.zeros(30_000, 2, dtype=torch.float16)})
    full_rows = _app_file(tmp_path / "full_rows.safetensors", tensors, small)
    for path, expected in ((few_rows, "context_length=30,000 needs pos_emb.weight with 30,000 "
                                      "rows of 2, the file has (4, 2)"),
                           (full_rows, "causal mask); refused above")):
        proc = _run_limited(_REPORT.replace("PATH", repr(str(path))))
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.startswith("REFUSED:") and expected in proc.stdout, proc.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_AS is POSIX")
def test_a_pth_with_a_far_block_index_is_refused_at_once(tmp_path):
    path = tmp_path / "far.pth"
    torch.save({"tok_emb.weight": torch.zeros(4, 2), "pos_emb.weight": torch.zeros(4, 2),
                "trf_blocks.200000.x": torch.zeros(1)}, path)
    assert path.stat().st_size < 4096
    proc = _run_limited(_REPORT.replace("PATH", repr(str(path))), timeout=45)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "n_layers=200,001 needs trf_blocks.0 to 200,000, the file holds only " \
           "trf_blocks.200000" in proc.stdout


def test_a_model_bigger_than_this_computer_is_refused(tmp_path, tiny_model, monkeypatch):
    import model.checkpoint as ckpt

    path = save_checkpoint(tiny_model, tmp_path / "tiny")
    pth = tmp_path / "tiny.pth"
    torch.save(tiny_model.state_dict(), pth)
    monkeypatch.setattr(ckpt, "machine_memory_bytes", lambda: 1_000_000)
    with pytest.raises(CheckpointError, match=r"is 24.9 MiB, more than this computer's memory"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="needs 25.0 MiB of memory and this computer has "
                                              "976.6 KiB"):
        load_checkpoint(pth, n_heads=2)
    monkeypatch.undo()
    assert load_checkpoint(path).config == TINY  # the same files load where memory allows
    assert load_checkpoint(pth, n_heads=2).config == TINY


def _tiny_state(tiny_model) -> dict:
    return {k: v.clone() for k, v in tiny_model.state_dict().items()
            if not k.endswith(".att.mask")}


def _malformed(kind: str, tmp_path: Path, tiny_model) -> Path:
    good = save_checkpoint(tiny_model, tmp_path / "good")
    state = _tiny_state(tiny_model)
    if kind == "config-list":
        return _app_file(tmp_path / "m.safetensors", state, "[1, 2]")
    if kind == "drop-rate-null":
        return _app_file(tmp_path / "m.safetensors", state, {**TINY.to_dict(), "drop_rate": None})
    if kind == "config-not-json":
        return _app_file(tmp_path / "m.safetensors", state, "{not json")
    if kind == "layers-as-text":
        return _app_file(tmp_path / "m.safetensors", state, {**TINY.to_dict(), "n_layers": "2"})
    if kind == "meta-list":
        return _app_file(tmp_path / "m.safetensors", state, TINY.to_dict(), meta="[1]")
    if kind == "int-weights":
        state["tok_emb.weight"] = state["tok_emb.weight"].to(torch.int64)
        return _app_file(tmp_path / "m.safetensors", state, TINY.to_dict())
    if kind == "nan-weights":
        state["final_norm.scale"][0] = float("nan")
        return _app_file(tmp_path / "m.safetensors", state, TINY.to_dict())
    if kind == "pth-1d-tok-emb":
        state["tok_emb.weight"] = torch.zeros(7)
        torch.save(state, tmp_path / "m.pth")
        return tmp_path / "m.pth"
    if kind == "pth-int-keys":
        torch.save({1: torch.zeros(2)}, tmp_path / "m.pth")
        return tmp_path / "m.pth"
    if kind == "truncated-safetensors":
        data = good.read_bytes()
        (tmp_path / "m.safetensors").write_bytes(data[: len(data) // 2])
        return tmp_path / "m.safetensors"
    if kind == "truncated-pth":
        torch.save(state, tmp_path / "full.pth")
        data = (tmp_path / "full.pth").read_bytes()
        (tmp_path / "m.pth").write_bytes(data[: len(data) // 2])
        return tmp_path / "m.pth"
    if kind in ("random-safetensors", "random-pth"):
        path = tmp_path / ("m.safetensors" if kind.endswith("safetensors") else "m.pth")
        path.write_bytes(os.urandom(4096))
        return path
    if kind == "folder":
        (tmp_path / "model.safetensors").mkdir()
        return tmp_path / "model.safetensors"
    raise AssertionError(kind)


MALFORMED = {
    "config-list": "damaged config header: the config is list",
    "drop-rate-null": "drop_rate must be a number in [0, 1), got None",
    "config-not-json": "damaged config header",
    "layers-as-text": "n_layers must be a positive integer, got '2'",
    "meta-list": "its metadata is list, not a mapping",
    "int-weights": "tensor tok_emb.weight holds torch.int64",
    "nan-weights": "final_norm.scale holds NaN or infinite values",
    "pth-1d-tok-emb": "tok_emb.weight should be a matrix (rows, emb_dim) but has shape (7,)",
    "pth-int-keys": "does not hold a state dict of tensors",
    "truncated-safetensors": "is not a readable safetensors file",
    "truncated-pth": "could not be read as a PyTorch state dict",
    "random-safetensors": "is not a readable safetensors file",
    "random-pth": "could not be read as a PyTorch state dict",
    "folder": "is a folder, not a checkpoint file",
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_every_malformed_file_is_a_checkpoint_error_with_its_reason(kind, tmp_path, tiny_model):
    path = _malformed(kind, tmp_path, tiny_model)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    assert MALFORMED[kind] in str(info.value)
    assert "no such checkpoint" not in str(info.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_as_model_path_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "model.pth"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_checkpoint(fifo)


def test_the_pickle_refusal_names_the_object_and_never_suggests_unsafe_loading(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pth"
    torch.save({"x": Evil()}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "weights_only" not in message and "False" not in message
    assert "posix.system" in message and "loads weights only and refused it" in message


def test_generate_cli_prints_the_reason_for_a_malformed_file(tmp_path, tiny_model):
    path = _malformed("config-list", tmp_path, tiny_model)
    proc = subprocess.run([sys.executable, "-m", "model.generate", "--prompt", "hi",
                           "--checkpoint", str(path)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "error: m.safetensors has a damaged config header" in proc.stderr
    assert generate_main(["--prompt", "hi", "--checkpoint", str(tmp_path)]) == 1


# -- debris of killed saves ------------------------------------------------------------------

_KILLED_SAVE = """
    import os, signal, sys
    import torch
    from model import GPTModel, get_preset
    from model.checkpoint import save_checkpoint
    os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)  # killed mid-save
    torch.manual_seed(123)
    save_checkpoint(GPTModel(get_preset("tiny")), sys.argv[1])
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL and pids are POSIX")
def test_a_save_clears_what_killed_saves_left_and_nothing_else(tmp_path, tiny_model):
    import time

    folder = tmp_path / "run"
    folder.mkdir()
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_KILLED_SAVE),
                           str(folder / "model.safetensors")], cwd=ROOT, timeout=120)
    assert proc.returncode == -9
    (killed,) = folder.glob(".model.safetensors.*.tmp")
    assert killed.stat().st_size > 1_000_000  # a partial model, left behind
    hour_ago, two_min_ago = time.time() - 2 * 3600, time.time() - 120
    os.utime(killed, (two_min_ago, two_min_ago))  # its writer is gone
    old = folder / ".model.json.abcdefgh.tmp"  # an earlier version's name, without a pid
    fresh = folder / ".model.safetensors.ijklmnop.tmp"  # maybe another save, still running
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    live = folder / f".model.safetensors.{sleeper.pid}-qrstuvwx.tmp"
    others = [folder / ".notes.md.abcdefgh.tmp", folder / "model.safetensors.abcdefgh.tmp",
              folder / ".model.safetensors.tmp", folder / "keep.tmp"]
    try:
        for path in (old, fresh, live, *others):
            path.write_bytes(b"x")
        for path in (old, *others):
            os.utime(path, (hour_ago, hour_ago))
        os.utime(live, (two_min_ago, two_min_ago))
        save_checkpoint(tiny_model, folder / "model")
    finally:
        sleeper.kill()
        sleeper.wait()
    left = sorted(p.name for p in folder.iterdir())
    assert left == sorted(["model.safetensors", "model.json", fresh.name, live.name,
                           *(p.name for p in others)])
    assert load_checkpoint(folder / "model.safetensors").config == TINY
