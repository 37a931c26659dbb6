"""Time to a validation loss of 6.3 on The Verdict: the GUI's default preset against the book.

Reference: the naive book training (benchmarks/reference_book_training.py) on the small config
(emb 128, 4 layers, 4 heads, context 128, dropout 0.1) with the book's recipe: AdamW at a
constant lr of 2e-3 (the book's 4e-4 is for GPT-2 size), weight decay 0.1, batches of 2,
evaluation every 5 steps, a sample each epoch. Engine: `model.train.Trainer` with the
`default` training preset, as the Training lab starts it (evaluations every 5 steps over every
validation window, a sample after each). Both stop at the first evaluation with val loss <=
the target; the time is wall time from the first step to that evaluation, evaluations and
samples included. Runs alternate, each in its own process; medians and their ratio printed.

    .venv/bin/python benchmarks/bench_time_to_loss.py [--rounds 3] [--target 6.3]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (load_info, median, peak_rss_mb,  # noqa: E402
                               side_by_side, worker_parser)


def _worker_reference(target: float, threads: int | None, preset: str) -> dict:
    import torch

    if threads:
        torch.set_num_threads(threads)
    from benchmarks.reference_book_training import book_config, train_reference
    from model.resources import read_the_verdict

    result = train_reference(read_the_verdict(), book_config(drop_rate=0.1), lr=2e-3,
                             batch_size=2, epochs=10, eval_freq=5, eval_iter=5, seed=123,
                             target_val_loss=target)
    curve = result["curve"]
    hit = next((i for i, v in enumerate(curve["val_loss"]) if v <= target), None)
    return {"reached": hit is not None,
            "time_s": curve["elapsed_s"][hit] if hit is not None else None,
            "steps": curve["step"][hit] if hit is not None else result["steps"],
            "tokens": curve["tokens_seen"][hit] if hit is not None else result["tokens_seen"],
            "best_val_loss": min(curve["val_loss"]), "total_s": result["elapsed_s"],
            "peak_rss_mb": peak_rss_mb(), "threads": torch.get_num_threads()}


def _worker_engine(target: float, threads: int | None, preset: str) -> dict:
    import torch

    from model.resources import read_the_verdict
    from model.train import Trainer
    from model.train.presets import get_training_preset

    p = get_training_preset(preset)
    trainer = Trainer(p.model, p.train.replace(target_val_loss=target, num_threads=threads),
                      read_the_verdict())
    hit = None
    done = None
    for record in trainer.run():
        if record["event"] == "eval" and record["val_loss"] <= target and hit is None:
            hit = record
        if record["event"] == "done":
            done = record
    return {"reached": hit is not None, "time_s": hit["elapsed_s"] if hit else None,
            "steps": hit["step"] if hit else done["step"],
            "tokens": hit["tokens_seen"] if hit else done["tokens_seen"],
            "best_val_loss": done["best_val_loss"], "total_s": done["elapsed_s"],
            "peak_rss_mb": peak_rss_mb(), "threads": torch.get_num_threads()}


def main(argv=None) -> None:
    p = worker_parser()
    p.add_argument("--target", type=float, default=6.3)
    p.add_argument("--preset", default="default", help="the engine's training preset")
    args = p.parse_args(argv)
    runs = side_by_side(Path(__file__), args, {
        "reference": lambda: _worker_reference(args.target, args.threads, args.preset),
        "engine": lambda: _worker_engine(args.target, args.threads, args.preset)},
        ["--target", str(args.target), "--preset", args.preset])
    if runs is None:
        return
    out = {"benchmark": "time_to_val_loss", "target_val_loss": args.target,
           "engine_preset": args.preset, "rounds": args.rounds, "machine": load_info()}
    for variant, results in runs.items():
        out[variant] = {
            "time_s_median": median([r["time_s"] for r in results]),
            "time_s_all": [r["time_s"] and round(r["time_s"], 2) for r in results],
            "reached_all": all(r["reached"] for r in results),
            "steps": results[0]["steps"], "tokens": results[0]["tokens"],
            "best_val_loss": round(results[0]["best_val_loss"], 4),
            "peak_rss_mb_median": round(median([r["peak_rss_mb"] for r in results]), 1),
            "threads": results[0]["threads"],
        }
    ref, eng = out["reference"]["time_s_median"], out["engine"]["time_s_median"]
    out["time_ratio_engine_over_reference"] = round(eng / ref, 3) if ref and eng else None
    out["per_round_ratio"] = [round(e["time_s"] / r["time_s"], 3) if e["time_s"] and r["time_s"]
                              else None for r, e in zip(runs["reference"], runs["engine"])]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
