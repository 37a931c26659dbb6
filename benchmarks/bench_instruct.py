"""Chapter 7: instruction fine-tuning throughput against a naive book loop; response time.

Fine-tuning: the bundled model on the first 935 entries (the book's training part) and the
validation part, the book's recipe (AdamW lr 5e-5, weight decay 0.1, batch 8, an evaluation
every 5 steps on 5 batches of each part), `--steps` steps. The reference, written here, is the
book's approach done plainly: a list-of-tensors collate function looping over the examples, a
shuffling DataLoader, the loss over full logits (`F.cross_entropy` with ignore_index -100), the
default AdamW, `train_model_simple`'s loop and evaluation. The engine is `InstructFineTune` on
the shared loop. Same model weights, same data, same seed, each run in its own process,
alternating for `--rounds` rounds; tokens/s counts the inputs' cells (padding included, as the
book's tokens_seen) over the whole run, evaluations included.

Responses: greedy responses for the 110 test entries on the bundled model with the key/value
cache (until the end token or the context is full), and the first `--uncached` of them without
it, for comparison.

    .venv/bin/python benchmarks/bench_instruct.py [--rounds 3] [--steps 15] [--uncached 5]
        [--threads 1]

On a shared machine `--threads 1` keeps torch's second thread from spinning on every small
operation while another process holds the core (generation is hundreds of small operations per
token); the figures then track the work rather than the neighbours.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (alternate_workers, book_loader_loss, load_info,  # noqa: E402
                               median, number_options, print_report_and_exit, run_worker,
                               worker_parser)

BATCH, LR, WEIGHT_DECAY, EVAL_FREQ, EVAL_ITER, SEED = 8, 5e-5, 0.1, 5, 5, 123


def _data():
    from model.instruct.data import encode_entries, load_entries, split_entries

    split = split_entries(load_entries().entries)
    return (encode_entries(split.train, context_length=128).token_ids,
            encode_entries(split.val, context_length=128).token_ids)


# -- the reference: chapter 7's loop, plainly ----------------------------------------------------

def naive_collate(batch, pad_token_id=50256, ignore_index=-100, allowed_max_length=None,
                  device="cpu"):
    """The book's collation done example by example, one tensor each, then stacked."""
    import torch

    longest = max(len(item) + 1 for item in batch)
    inputs, targets = [], []
    for item in batch:
        row = list(item) + [pad_token_id] * (longest - len(item))
        x = torch.tensor(row[:-1])
        y = torch.tensor(row[1:])
        pads = torch.nonzero(y == pad_token_id).flatten()
        if pads.numel() > 1:
            y[pads[1:]] = ignore_index
        if allowed_max_length is not None:
            x, y = x[:allowed_max_length], y[:allowed_max_length]
        inputs.append(x)
        targets.append(y)
    return torch.stack(inputs).to(device), torch.stack(targets).to(device)


def _set_threads(threads: int | None) -> None:
    import torch

    if threads:
        torch.set_num_threads(threads)


def _worker_reference(steps: int) -> dict:
    import functools

    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader

    from model.checkpoint import load_bundled

    train_ids, val_ids = _data()
    model = load_bundled().model
    collate = functools.partial(naive_collate, allowed_max_length=model.cfg.context_length)
    torch.manual_seed(SEED)
    train_loader = DataLoader(train_ids, batch_size=BATCH, shuffle=True, drop_last=True,
                              collate_fn=collate)
    val_loader = DataLoader(val_ids, batch_size=BATCH, shuffle=False, collate_fn=collate)

    def batch_loss(x, y):
        return F.cross_entropy(model(x).flatten(0, 1), y.flatten())

    def loader_loss(loader, n):
        return book_loader_loss(loader, n, batch_loss)

    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    tokens_seen, step = 0, 0
    model.train()
    start, start_cpu = time.perf_counter(), time.process_time()
    val_losses = []
    while step < steps:
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = batch_loss(x, y)
            loss.backward()
            optimizer.step()
            tokens_seen += x.numel()
            step += 1
            if step % EVAL_FREQ == 0:
                model.eval()
                with torch.no_grad():
                    loader_loss(train_loader, EVAL_ITER)
                    val_losses.append(loader_loss(val_loader, EVAL_ITER))
                model.train()
            if step >= steps:
                break
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return {"tokens": tokens_seen, "wall_s": wall, "cpu_s": cpu, "val_loss": val_losses[-1],
            "threads": torch.get_num_threads()}


def _worker_engine(steps: int) -> dict:
    import torch

    from model.checkpoint import load_bundled
    from model.instruct.data import load_entries, split_entries
    from model.instruct.finetune import BOOK_RECIPE, InstructFineTune, InstructOptions

    split = split_entries(load_entries().entries)
    model = load_bundled().model
    run = InstructFineTune(model, split, BOOK_RECIPE.replace(max_steps=steps, device="cpu",
                                                             seed=SEED),
                           InstructOptions(eval_batches=EVAL_ITER))
    start, start_cpu = time.perf_counter(), time.process_time()
    records = list(run.loop.run())  # the loop alone: the reference has no step-0 evaluation
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    done = records[-1]
    return {"tokens": done["tokens_seen"], "wall_s": wall, "cpu_s": cpu,
            "val_loss": done["val_loss"], "threads": torch.get_num_threads()}


def _worker_responses(uncached: int) -> dict:
    import torch

    from model.checkpoint import load_bundled
    from model.instruct.data import load_entries, split_entries
    from model.instruct.respond import iter_responses

    test = split_entries(load_entries().entries).test
    model = load_bundled().model
    out = {"entries": len(test), "threads": torch.get_num_threads()}
    for label, entries, cache in (("cached", test, True), ("uncached", test[:uncached], False)):
        if not entries:
            continue
        start, start_cpu = time.perf_counter(), time.process_time()
        responses = list(iter_responses(model, entries, use_cache=cache))
        out[label] = {"entries": len(entries), "wall_s": time.perf_counter() - start,
                      "cpu_s": time.process_time() - start_cpu,
                      "new_tokens": sum(r.new_tokens for r in responses),
                      "stopped_by": {k: sum(r.stopped_by == k for r in responses)
                                     for k in ("end", "context", "max_new_tokens")}}
    return out


def main(argv=None) -> None:
    p = number_options(worker_parser("reference", "engine", "responses"), steps=15, uncached=5)
    args = p.parse_args(argv)
    if args.worker:
        _set_threads(args.threads)
        if args.worker == "responses":
            result = _worker_responses(args.uncached)
        else:
            fn = _worker_reference if args.worker == "reference" else _worker_engine
            result = fn(args.steps)
        print(json.dumps(result))
        return

    script = Path(__file__)
    threads = ["--threads", str(args.threads)] if args.threads else []
    runs = alternate_workers(script, args.rounds, ["--steps", str(args.steps)], args.threads)
    report = {"benchmark": "instruct", "model": "bundled", "batch_size": BATCH, "lr": LR,
              "eval_every": EVAL_FREQ, "eval_batches": EVAL_ITER, "steps": args.steps,
              "rounds": args.rounds, "machine": load_info()}
    for variant, results in runs.items():
        tps = [r["tokens"] / r["wall_s"] for r in results]
        tps_cpu = [r["tokens"] / r["cpu_s"] for r in results]
        report[variant] = {"tokens_per_s_median": round(median(tps), 1),
                           "tokens_per_s_all": [round(t, 1) for t in tps],
                           "tokens_per_cpu_s_median": round(median(tps_cpu), 1),
                           "val_loss_after": [round(r["val_loss"], 4) for r in results],
                           "threads": results[0]["threads"]}
    report["ratio_engine_over_reference"] = round(
        report["engine"]["tokens_per_s_median"] / report["reference"]["tokens_per_s_median"], 3)
    report["ratio_cpu_engine_over_reference"] = round(
        report["engine"]["tokens_per_cpu_s_median"]
        / report["reference"]["tokens_per_cpu_s_median"], 3)
    report["per_round_ratio"] = [round((e["tokens"] / e["wall_s"]) / (r["tokens"] / r["wall_s"]),
                                       3) for r, e in zip(runs["reference"], runs["engine"])]
    report["target_ratio"] = 1.3

    responses = run_worker(script, ["responses", "--uncached", str(args.uncached), *threads])
    cached = responses["cached"]
    report["responses"] = {
        "test_entries": responses["entries"], "kv_cache_wall_s": round(cached["wall_s"], 2),
        "kv_cache_cpu_s": round(cached["cpu_s"], 2), "new_tokens": cached["new_tokens"],
        "stopped_by": cached["stopped_by"], "target_s": 20}
    if "uncached" in responses:
        un = responses["uncached"]
        per_c = cached["wall_s"] / max(1, cached["new_tokens"])
        per_u = un["wall_s"] / max(1, un["new_tokens"])
        report["responses"]["no_cache_first_entries"] = un["entries"]
        report["responses"]["no_cache_wall_s"] = round(un["wall_s"], 2)
        report["responses"]["per_token_speedup_cache"] = round(per_u / per_c, 2)
    print_report_and_exit(report)


if __name__ == "__main__":
    main()
