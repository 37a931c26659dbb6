"""Architecture lab speed: logit lens plus block statistics, beside a naive version, one run.

What is timed is `model.inspect.inspect_blocks` on 256 tokens of The Verdict (top 5): one pass
that reads every block's residual stream through final_norm and out_head (one chunk of rows at
a time, logits buffer reused, top-k on the logits, softmax normaliser in place) and gathers the
per-block statistics. Targets: under 150 ms on the bundled model, under 1.5 s on GPT-2 124M
(random weights; the cost does not depend on them).

Measured beside it in the same process:
- naive: forward hooks keep every block's output, the full logits of every layer are stacked
  (n_layers, b, T, vocab), softmax over all of them, then top-k; the statistics in a second pass.
- floor: the plain forward (logits only), and the n_layers out_head matrix products alone,
  which any exact lens must do (each row against the whole vocabulary).

The bundled model reads 128 tokens, so its 256 tokens are two windows (a batch of 2).
`--memory` also runs GPT-2 124M at 1,024 tokens in fresh processes and reports the peak memory
each version adds on top of the model.

    .venv/bin/python benchmarks/bench_architecture.py [--repeats 5] [--tokens 256] \
        [--skip-gpt2] [--memory] [--threads N]

Prints one JSON object; times in ms, medians, wall and process CPU time (torch's threads).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (Timing, current_rss_mb, load_info,  # noqa: E402
                                matmul_peak_gflops, peak_rss_mb, print_report_and_exit,
                                run_worker, time_calls)

TOP_K = 5


def naive_inspect(model, idx, top_k: int = TOP_K):
    """The straightforward lens: every layer's full logits at once, softmax, top-k."""
    import torch

    from model.inspect import block_stats

    outputs = []
    hooks = [block.register_forward_hook(lambda m, i, out: outputs.append(out))
             for block in model.trf_blocks]
    try:
        with torch.no_grad():
            model(idx)
            logits = torch.stack([model.out_head(model.final_norm(h)) for h in outputs])
            probs = torch.softmax(logits, dim=-1)  # (n_layers, b, T, vocab)
            top = probs.topk(top_k, dim=-1)
    finally:
        for hook in hooks:
            hook.remove()
    return top.indices, top.values, block_stats(model, idx)


def _model(which: str):
    import torch

    from model import GPTModel, get_preset

    if which == "bundled":
        from model.checkpoint import load_bundled

        loaded = load_bundled()
        return loaded.model.eval(), {"source": "bundled", **loaded.config.to_dict()}
    torch.manual_seed(123)
    cfg = get_preset(which)
    return GPTModel(cfg).eval(), {"source": f"untrained preset {which}", **cfg.to_dict()}


def _idx(model, tokens: int):
    import torch

    from model.resources import read_the_verdict
    from model.tokenizer import get_tokenizer

    ids = get_tokenizer().encode(read_the_verdict())
    window = min(tokens, model.cfg.context_length)
    rows = -(-tokens // window)
    return torch.tensor([ids[i * window:(i + 1) * window] for i in range(rows)])  # (b, window)


def _time(fn, repeats):
    return time_calls(fn, repeats, cpu_clock=time.process_time).summary(all_digits=1)


def bench_model(which: str, tokens: int, repeats: int, target_ms: float) -> dict:
    import torch

    from model.inspect import inspect_blocks

    model, described = _model(which)
    idx = _idx(model, tokens)
    ours = inspect_blocks(model, idx, top_k=TOP_K)  # warm-up, and the results to compare
    naive_ids, naive_probs, _ = naive_inspect(model, idx)
    rows = idx.numel()
    x = torch.randn(rows, model.cfg.emb_dim)
    weight = model.out_head.weight

    @torch.no_grad()
    def head_floor():
        for _ in model.trf_blocks:
            x @ weight.t()

    @torch.no_grad()
    def plain_forward():
        model(idx)

    # torch's CPU softmax kernel is off by up to about 1e-4 relative on a trained model's
    # logits; the lens's own normaliser is a plain sum, within 1e-6 of float64.
    result = {"model": described, "input_shape": list(idx.shape),
              "top_ids_equal_naive": torch.equal(ours.lens.top_ids, naive_ids),
              "max_prob_difference_vs_naive": float((ours.lens.top_probs - naive_probs)
                                                    .abs().max())}
    # Alternate the two so that a burst of load on the shared box hits both alike.
    ours_t, naive_t = [], []
    for _ in range(repeats):
        ours_t.append(time_calls(lambda: inspect_blocks(model, idx, top_k=TOP_K), 1,
                                 cpu_clock=time.process_time))
        naive_t.append(time_calls(lambda: naive_inspect(model, idx), 1,
                                  cpu_clock=time.process_time))
    result["ours_lens_plus_stats"] = _merge(ours_t)
    result["naive_full_logits_per_layer"] = _merge(naive_t)
    result["floor_plain_forward"] = _time(plain_forward, max(3, repeats // 2))
    result["floor_out_head_products_only"] = _time(head_floor, max(3, repeats // 2))
    ours_ms = result["ours_lens_plus_stats"]["ms_median"]
    result["speedup_vs_naive"] = round(
        result["naive_full_logits_per_layer"]["ms_median"] / ours_ms, 2)
    result["ours_over_out_head_floor"] = round(
        ours_ms / result["floor_out_head_products_only"]["ms_median"], 2)
    flops = 2 * len(model.trf_blocks) * rows * model.cfg.emb_dim * model.cfg.vocab_size
    result["lens_gflop"] = round(flops / 1e9, 1)
    result["target_ms"] = target_ms
    result["meets_target_wall"] = ours_ms < target_ms
    result["meets_target_cpu"] = result["ours_lens_plus_stats"]["cpu_ms_median"] < target_ms
    return result


def _merge(timings) -> dict:
    merged = Timing([t.wall_ms[0] for t in timings], [t.cpu_ms[0] for t in timings])
    return merged.summary(all_digits=1)


def _reset_peak_rss() -> bool:
    """Linux: start the peak-RSS count afresh, so the model's construction peak is not counted."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_rss_now_mb() -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


def worker(version: str, tokens: int) -> dict:
    """In a fresh process: peak memory added by one inspection of GPT-2 124M."""
    import torch

    from model.inspect import inspect_blocks

    model, _ = _model("gpt2-124m")
    idx = torch.randint(0, model.cfg.vocab_size, (1, tokens), generator=torch.Generator()
                        .manual_seed(0))
    before = current_rss_mb()  # the model's own memory
    reset = _reset_peak_rss()
    start = time.perf_counter()
    if version == "ours":
        inspect_blocks(model, idx, top_k=TOP_K)
    else:
        naive_inspect(model, idx)
    return {"version": version, "tokens": tokens,
            "seconds": round(time.perf_counter() - start, 2),
            "rss_before_mb": round(before, 1),
            "peak_rss_added_mb": round(_peak_rss_now_mb() - before, 1),
            "peak_counted_from": "after the model was built" if reset else "process start"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--skip-gpt2", action="store_true", help="only the bundled model")
    parser.add_argument("--memory", action="store_true",
                        help="also GPT-2 124M at --memory-tokens in fresh processes")
    parser.add_argument("--memory-tokens", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads(N) first (default: torch's own choice)")
    parser.add_argument("--worker", nargs=2, metavar=("VERSION", "TOKENS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker:
        import json

        print(json.dumps(worker(args.worker[0], int(args.worker[1]))))
        sys.stdout.flush()
        os._exit(0)

    report = {"benchmark": "architecture lab: logit lens + block statistics",
              "tokens": args.tokens, "top_k": TOP_K,
              "torch_threads": torch.get_num_threads(),
              "matmul_peak_gflops": round(matmul_peak_gflops(), 1)}
    report["bundled"] = bench_model("bundled", args.tokens, args.repeats, 150)
    if not args.skip_gpt2:
        report["gpt2_124m"] = bench_model("gpt2-124m", args.tokens, max(3, args.repeats // 2),
                                          1500)
    if args.memory:
        script = Path(__file__).resolve()
        extra = ["--threads", str(args.threads)] if args.threads else []
        report["memory_gpt2_124m"] = [
            run_worker(script, [version, str(args.memory_tokens), *extra])
            for version in ("ours", "naive")]
    report["load"] = load_info()
    print_report_and_exit(report)


if __name__ == "__main__":
    main()
