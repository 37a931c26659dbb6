"""Generation speed and next-token chart latency, side by side in one run.

1. Tokens per second of greedy generation, with the KV cache (model.kv_cache) against the
   book's loop that recomputes every position (no cache), for the bundled model (or, while it is
   missing, the untrained 'default' preset of the same size class, labelled so) and for GPT-2
   124M with random weights. Each configuration runs `--repeats` times, alternating; medians.
2. The Generate lab's next-token chart: time from a temperature slider move to the chart
   redrawn and painted, with the lab's cached logits, against a baseline that runs the model
   forward again on every move. Target: under 50 ms. Medians over `--moves` moves.

    .venv/bin/python benchmarks/bench_generate.py [--tokens 40] [--repeats 3] [--quick]

Prints one JSON object. Single-threaded torch by default (a laptop core; this box is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import number_options  # noqa: E402


def _model(which: str):
    import torch

    from model import GPTModel, get_preset

    if which == "bundled":
        from model.checkpoint import CheckpointError, load_bundled

        try:
            return "bundled", load_bundled().model
        except CheckpointError:
            which = "default"
            label = "untrained 'default' preset (the bundled checkpoint is missing)"
    else:
        label = f"{which} (random weights)"
    torch.manual_seed(123)
    return label, GPTModel(get_preset(which)).eval()


def bench_tokens_per_second(which: str, prompt_ids: list[int], tokens: int, repeats: int):
    import torch

    from model.generate import iter_generate

    label, model = _model(which)
    idx = torch.tensor([prompt_ids])
    list(iter_generate(model, idx, 2, use_cache=True))  # warm up kernels and allocator
    times: dict[str, list[float]] = {"kv_cache": [], "no_cache": []}
    outputs = {}
    for _ in range(repeats):
        for mode in ("no_cache", "kv_cache"):
            start = time.perf_counter()
            out = list(iter_generate(model, idx, tokens, use_cache=mode == "kv_cache"))
            times[mode].append(time.perf_counter() - start)
            outputs[mode] = out
    result = {"model": label, "parameters": model.num_parameters(),
              "context_length": model.cfg.context_length, "prompt_tokens": len(prompt_ids),
              "new_tokens": tokens, "identical_tokens": outputs["kv_cache"] == outputs["no_cache"]}
    for mode, values in times.items():
        result[f"{mode}_tokens_per_s_median"] = round(tokens / statistics.median(values), 1)
        result[f"{mode}_seconds"] = [round(v, 3) for v in values]
    result["kv_cache_speedup"] = round(result["kv_cache_tokens_per_s_median"]
                                       / result["no_cache_tokens_per_s_median"], 2)
    return result


def bench_chart(moves: int, which: str):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    from studyapp.shell.app import build_context, ensure_qapplication

    app = ensure_qapplication()
    import torch

    from studyapp.areas.generate.area import GeneratePanel
    from studyapp.models.entry import ModelEntry

    label, model = _model(which)
    ctx = build_context(Path(tempfile.mkdtemp()))
    ctx.models.add(ModelEntry(name=label, source="benchmark", model=model, config=model.cfg))
    panel = GeneratePanel(ctx)
    panel.resize(1100, 700)
    panel.show()
    panel.controls.set_values(greedy=False, temperature=1.0, top_k=20)
    panel.prompt.setPlainText("Every effort moves you")
    panel.analyse_prompt()
    deadline = time.monotonic() + 60
    while panel.last_view is None and time.monotonic() < deadline:
        app.processEvents()
    if panel.last_view is None:
        raise RuntimeError("the chart never appeared")

    slider = panel.controls.temperature_slider
    values = [20 + (i * 37) % 280 for i in range(moves)]

    def cached_move(v):
        slider.setValue(v)  # the lab's path: softmax over the kept logits, bars updated
        panel.chart.plot.repaint()

    def baseline_move(v):
        # A lab without kept logits: run the model again, then redraw.
        with torch.no_grad():
            logits = model(torch.tensor([panel.ids]))[0, -1].numpy()
        panel._logits[panel.selected] = logits
        slider.setValue(v)
        panel.chart.plot.repaint()

    timings = {"cached_logits": [], "forward_each_move": []}
    for i, v in enumerate(values):
        for name, fn in (("forward_each_move", baseline_move), ("cached_logits", cached_move)):
            slider.blockSignals(True)
            slider.setValue(values[i - 1] if i else 0)
            slider.blockSignals(False)
            start = time.perf_counter()
            fn(v)
            app.processEvents()
            timings[name].append((time.perf_counter() - start) * 1000)
    panel.shutdown()
    panel.deleteLater()
    app.processEvents()
    med = {k: round(statistics.median(v), 2) for k, v in timings.items()}
    return {"model": label, "vocab": model.cfg.vocab_size, "moves": moves,
            "cached_logits_ms_median": med["cached_logits"],
            "forward_each_move_ms_median": med["forward_each_move"],
            "cached_logits_ms_max": round(max(timings["cached_logits"]), 2),
            "speedup": round(med["forward_each_move"] / med["cached_logits"], 1),
            "under_50ms": med["cached_logits"] < 50}


def main(argv=None) -> int:
    parser = number_options(argparse.ArgumentParser(description=__doc__.splitlines()[0]),
                            tokens=40, repeats=3, moves=30, threads=1)
    parser.add_argument("--quick", action="store_true", help="skip GPT-2 124M")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from model.tokenizer import get_tokenizer

    prompt = get_tokenizer().encode("Every effort moves you")
    report = {"torch": torch.__version__, "threads": torch.get_num_threads(),
              "python": sys.version.split()[0], "generation": [], "chart": None}
    report["generation"].append(bench_tokens_per_second("bundled", prompt, args.tokens,
                                                        args.repeats))
    if not args.quick:
        report["generation"].append(bench_tokens_per_second("gpt2-124m", prompt,
                                                            max(10, args.tokens // 2),
                                                            args.repeats))
    report["chart"] = bench_chart(args.moves, "bundled" if args.quick else "gpt2-124m")
    print(json.dumps(report, indent=2))
    from studyapp.shell.app import teardown

    teardown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
