"""Training throughput: the engine (model/train/) against the naive book reference.

Same model and batch for both (emb 128, 4 layers, 4 heads, context 128, batch 8, dropout 0.1
as the book's config, The Verdict). Each measurement runs in its own process (so peak memory is
its own), alternating reference and engine for `--rounds` rounds; a round reports the median
step time of `--steps` steps after `--warmup`. Prints one JSON object: per-variant medians of
tokens/s, MFU against a matmul peak measured in the same process, peak RSS; and the ratio.

    .venv/bin/python benchmarks/bench_train_throughput.py [--rounds 3] [--steps 8]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (current_rss_mb, load_info, matmul_peak_gflops, median,  # noqa: E402
                                number_options, peak_rss_mb, side_by_side, worker_parser)

CONFIG = {"emb_dim": 128, "n_layers": 4, "n_heads": 4, "context_length": 128, "drop_rate": 0.1}
BATCH = 8


def flops_per_token(cfg: dict, vocab: int = 50257) -> float:
    """Training FLOPs per token: 6 x matmul weights + 12 x layers x context x emb (attention)."""
    d, layers, ctx = cfg["emb_dim"], cfg["n_layers"], cfg["context_length"]
    matmul_weights = layers * 12 * d * d + d * vocab  # qkv, out_proj, ff (8d^2), output head
    return 6 * matmul_weights + 12 * layers * ctx * d


def _worker_reference(steps: int, warmup: int, threads: int | None) -> dict:
    import torch

    if threads:
        torch.set_num_threads(threads)
    from benchmarks.reference_book_training import (NaiveGPTModel, book_config, calc_loss_batch,
                                                    make_loader)
    from model.resources import read_the_verdict
    from model.tokenizer import get_tokenizer

    text = read_the_verdict()
    cfg = book_config(**CONFIG)
    torch.manual_seed(123)
    loader = make_loader(text[: int(0.9 * len(text))], get_tokenizer(), BATCH,
                         cfg["context_length"], shuffle=True, drop_last=True)
    model = NaiveGPTModel(cfg)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.1, foreach=False)
    peak = matmul_peak_gflops()
    rss_before = current_rss_mb()
    times = []
    while len(times) < warmup + steps:
        for x, y in loader:
            t = time.perf_counter()
            optimizer.zero_grad()
            loss = calc_loss_batch(x, y, model)
            loss.backward()
            optimizer.step()
            loss.item()
            times.append(time.perf_counter() - t)
            if len(times) >= warmup + steps:
                break
    return {"step_s": statistics.median(times[warmup:]), "peak_gflops": peak,
            "rss_before_mb": rss_before, "peak_rss_mb": peak_rss_mb(),
            "threads": torch.get_num_threads()}


def _worker_engine(steps: int, warmup: int, threads: int | None) -> dict:
    import torch

    from model.config import GPTConfig
    from model.resources import read_the_verdict
    from model.train import TrainConfig, Trainer

    cfg = GPTConfig(**CONFIG)
    train = TrainConfig(lr=2e-3, batch_size=BATCH, epochs=100, max_steps=warmup + steps,
                        eval_every=0, sample_tokens=0, num_threads=threads)
    trainer = Trainer(cfg, train, read_the_verdict())
    peak = matmul_peak_gflops()
    rss_before = current_rss_mb()
    times = [trainer.tokens_per_step / r["tokens_per_s"] for r in trainer.run()
             if r["event"] == "step"]
    return {"step_s": statistics.median(times[warmup:]), "peak_gflops": peak,
            "rss_before_mb": rss_before, "peak_rss_mb": peak_rss_mb(),
            "threads": torch.get_num_threads()}


def main(argv=None) -> None:
    p = number_options(worker_parser(), steps=8, warmup=2)
    args = p.parse_args(argv)
    runs = side_by_side(Path(__file__), args, {
        "reference": lambda: _worker_reference(args.steps, args.warmup, args.threads),
        "engine": lambda: _worker_engine(args.steps, args.warmup, args.threads)},
        ["--steps", str(args.steps), "--warmup", str(args.warmup)])
    if runs is None:
        return
    tokens_per_step = BATCH * CONFIG["context_length"]
    fpt = flops_per_token(CONFIG)
    out = {"benchmark": "train_throughput", "config": {**CONFIG, "batch_size": BATCH},
           "rounds": args.rounds, "steps_per_round": args.steps, "machine": load_info(),
           "flops_per_token": fpt}
    for variant, results in runs.items():
        tps = [tokens_per_step / r["step_s"] for r in results]
        peaks = [r["peak_gflops"] for r in results]
        mfu = [t * fpt / (pk * 1e9) for t, pk in zip(tps, peaks)]
        out[variant] = {
            "tokens_per_s_median": round(median(tps), 1),
            "tokens_per_s_all": [round(t, 1) for t in tps],
            "step_s_median": round(median([r["step_s"] for r in results]), 4),
            "matmul_peak_gflops_median": round(median(peaks), 1),
            "mfu_median": round(median(mfu), 4),
            "peak_rss_mb_median": round(median([r["peak_rss_mb"] for r in results]), 1),
            "training_rss_mb_median": round(median(
                [r["peak_rss_mb"] - r["rss_before_mb"] for r in results]), 1),
            "threads": results[0]["threads"],
        }
    out["throughput_ratio_engine_over_reference"] = round(
        out["engine"]["tokens_per_s_median"] / out["reference"]["tokens_per_s_median"], 3)
    out["per_round_ratio"] = [round((tokens_per_step / e["step_s"]) / (tokens_per_step / r["step_s"]), 3)
                              for r, e in zip(runs["reference"], runs["engine"])]
    out["peak_memory_ratio_engine_over_reference"] = round(
        out["engine"]["training_rss_mb_median"] / out["reference"]["training_rss_mb_median"], 3)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
