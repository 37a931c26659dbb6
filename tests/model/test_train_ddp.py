"""DistributedDataParallel under torchrun: 2 CPU processes (gloo) train as one batch of twice
the size, and only the first process writes records and the checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from model.config import GPTConfig
from model.resources import read_the_verdict
from model.train import TrainConfig, Trainer

ARGS = ["--corpus", "the-verdict", "--preset", "tiny", "--emb-dim", "16", "--n-layers", "1",
        "--n-heads", "2", "--context-length", "16", "--lr", "3e-3", "--max-steps", "4",
        "--eval-every", "2", "--sample-tokens", "3", "--seed", "5", "--device", "cpu", "--quiet"]


def test_two_cpu_processes_match_one_process_with_the_combined_batch(tmp_path):
    jsonl = tmp_path / "ddp.jsonl"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "model.train", *ARGS, "--batch-size", "2", "--jsonl", str(jsonl),
           "--out", str(tmp_path / "ckpt")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    steps = [r for r in records if r["event"] == "step"]
    assert [r["step"] for r in steps] == [1, 2, 3, 4]
    assert steps[0]["tokens_seen"] == 2 * 2 * 16  # two processes x batch 2 x context 16
    assert records[-1]["event"] == "done" and records[-1]["reason"] == "max_steps"
    assert (tmp_path / "ckpt" / "model.safetensors").is_file()

    # one process, batch 4 = the same windows per step: the same losses
    single = Trainer(GPTConfig(context_length=16, emb_dim=16, n_heads=2, n_layers=1,
                               drop_rate=0.0),
                     TrainConfig(lr=3e-3, batch_size=4, epochs=1, max_steps=4, eval_every=2,
                                 warmup_steps=2, cosine=True, grad_clip=1.0, seed=5,
                                 sample_tokens=0, num_threads=1), read_the_verdict())
    losses = [r["train_loss"] for r in single.run() if r["event"] == "step"]
    for got, want in zip([r["train_loss"] for r in steps], losses):
        assert abs(got - want) < 1e-4
    val_ddp = [r["val_loss"] for r in records if r["event"] == "eval"]
    val_one = single.history["val_loss"]
    assert len(val_ddp) == len(val_one) == 2
    for got, want in zip(val_ddp, val_one):
        assert abs(got - want) < 1e-4
