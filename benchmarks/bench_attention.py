"""Attention lab speed, each figure beside a baseline measured in the same run.

1. 256 tokens of The Verdict through the model with every layer's attention captured
   (`attention_core.run_attention`: Q, K, V, scores and weights of every head, as numpy), plus
   drawing the selected head's heatmap (`AttentionHeatmap.set_matrix` and a paint). Target:
   under 150 ms. Baselines: the plain forward (logits only, fused attention: the floor), and
   the same capture drawn the naive way, one QGraphicsRectItem per cell.
2. The all-heads grid (`HeadGrid`: numpy -> colour table -> one QImage per head, painted).
   Target: under 500 ms. Baseline: one pyqtgraph `HeatmapWidget` per head.
3. For scale: switching to another head (heatmap only), and one live update of the chapter 3
   step-by-step (recompute all five steps, redraw the visible step 2 page).

The model is the bundled checkpoint when it loads and reads 256 tokens; otherwise a stand-in of
the "default" preset with context_length 256 and random weights (the JSON says which). Any
preset can be forced with --preset (e.g. gpt2-124m).

    .venv/bin/python benchmarks/bench_attention.py [--repeats 7] [--tokens 256] [--preset NAME] \
        [--threads N]

Prints one JSON object. Times are medians in milliseconds: wall time, and CPU time of the whole
process (torch's own threads included), since wall times on a shared box swell with other jobs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import print_report_and_exit, time_calls  # noqa: E402


def _median(fn, repeats: int) -> dict:
    # the whole process's CPU time: capture runs torch, which may use several threads
    return time_calls(fn, repeats, cpu_clock=time.process_time).summary(all_digits=1)


def _model(preset: str | None, tokens: int):
    from studyapp.models.entry import untrained_entry

    if preset is None:
        try:
            from model.checkpoint import load_bundled

            loaded = load_bundled()
            if loaded.config.context_length >= tokens:
                return loaded.model.eval(), {"source": "bundled",
                                             **loaded.config.to_dict()}
            why = f"the bundled model reads only {loaded.config.context_length} tokens"
        except Exception as exc:  # missing or unreadable checkpoint: say so, use a stand-in
            why = f"no bundled model ({exc})"
        import torch

        from model import GPTModel, get_preset

        cfg = get_preset("default").replace(context_length=max(256, tokens))
        torch.manual_seed(123)
        return GPTModel(cfg).eval(), {"source": f"stand-in: {why}", **cfg.to_dict()}
    entry = untrained_entry(preset)
    if entry.config.context_length < tokens:
        raise SystemExit(f"preset {preset} reads only {entry.config.context_length} tokens")
    return entry.model, {"source": f"untrained preset {preset}", **entry.config.to_dict()}


def _naive_heatmap_scene():
    """The naive way to draw a matrix in Qt: one rectangle item per cell."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QBrush, QColor, QPen
    from PySide6.QtWidgets import QGraphicsScene, QGraphicsView

    scene = QGraphicsScene()
    view = QGraphicsView(scene)
    view.resize(900, 650)
    view.show()

    def draw(matrix):
        import numpy as np

        scene.clear()
        top = float(np.nanmax(matrix)) or 1.0
        no_pen = QPen(Qt.PenStyle.NoPen)
        for r in range(matrix.shape[0]):
            for c in range(r + 1):  # the causal lower triangle only
                v = int(255 * float(matrix[r, c]) / top)
                scene.addRect(c * 2.0, r * 2.0, 2.0, 2.0, no_pen, QBrush(QColor(v, v, 255 - v)))
        view.fitInView(scene.sceneRect())
        view.viewport().grab()

    return view, draw


def bench_capture_and_heatmap(model, ids, labels, repeats: int) -> dict:
    import torch

    from studyapp.areas.attention import core
    from studyapp.widgets.attention_views import AttentionHeatmap

    heatmap = AttentionHeatmap(title="")
    heatmap.resize(900, 650)
    heatmap.show()
    idx = torch.tensor([ids])
    state = {}

    def capture():
        state["run"] = core.run_attention(model, ids, labels)

    def draw():
        run = state["run"]
        heatmap.set_matrix(core.masked_for_display(run.head_weights(0, 0)), run.labels,
                           run.labels, title="Attention weights, layer 0, head 0")
        heatmap.view.grab()  # paint now, as the screen would

    def lab():
        capture()
        draw()

    @torch.no_grad()
    def plain_forward():
        model(idx)

    view, naive_draw = _naive_heatmap_scene()

    def naive():
        capture()
        naive_draw(state["run"].head_weights(0, 0))

    lab()  # warm-up: first-call costs (allocator, fonts) are not what a learner waits for
    plain_forward()
    naive()
    result = {
        "lab_capture_plus_heatmap": _median(lab, repeats),
        "lab_capture_only": _median(capture, repeats),
        "lab_heatmap_draw_only": _median(draw, repeats),
        "baseline_plain_forward_logits_only": _median(plain_forward, repeats),
        "baseline_capture_plus_naive_per_cell_heatmap": _median(naive, max(3, repeats // 2)),
    }
    lab_ms = result["lab_capture_plus_heatmap"]["ms_median"]
    result["capture_overhead_vs_plain_forward"] = round(
        result["lab_capture_only"]["ms_median"]
        / result["baseline_plain_forward_logits_only"]["ms_median"], 2)
    result["speedup_vs_naive_heatmap"] = round(
        result["baseline_capture_plus_naive_per_cell_heatmap"]["ms_median"] / lab_ms, 2)
    result["target_ms"] = 150
    result["meets_target_wall"] = lab_ms < 150
    result["meets_target_cpu"] = result["lab_capture_plus_heatmap"]["cpu_ms_median"] < 150
    run = state["run"]

    def switch_head():
        heatmap.set_matrix(core.masked_for_display(run.head_weights(run.n_layers - 1, 1)),
                           run.labels, run.labels)
        heatmap.view.grab()

    result["switch_head_heatmap_only"] = _median(switch_head, repeats)
    view.close()
    heatmap.close()
    return result, run


def bench_grid(run, repeats: int) -> dict:
    from studyapp.areas.attention import core
    from studyapp.widgets.attention_views import HeadGrid
    from studyapp.widgets.heatmap import HeatmapWidget

    grid = HeadGrid()
    grid.resize(1000, 700)
    grid.show()

    def lab():
        grid.set_weights(run.weights, run.labels)
        grid.grab()

    from PySide6.QtWidgets import QGridLayout, QWidget

    holder = QWidget()
    layout = QGridLayout(holder)
    maps = [[HeatmapWidget() for _ in range(run.n_heads)] for _ in range(run.n_layers)]
    for layer, row in enumerate(maps):
        for head, widget in enumerate(row):
            layout.addWidget(widget, layer, head)
    holder.resize(1000, 700)
    holder.show()

    def naive():
        for layer, row in enumerate(maps):
            for head, widget in enumerate(row):
                widget.set_matrix(core.masked_for_display(run.weights[layer, head]))
        holder.grab()

    lab()
    naive()
    ours = _median(lab, repeats)
    base = _median(naive, max(3, repeats // 2))
    holder.close()
    grid.close()
    return {"heads": run.n_layers * run.n_heads, "lab_head_grid": ours,
            "baseline_one_heatmap_widget_per_head": base,
            "speedup_vs_baseline": round(base["ms_median"] / ours["ms_median"], 2),
            "target_ms": 500, "meets_target_wall": ours["ms_median"] < 500}


def bench_step_by_step(repeats: int) -> dict:
    import tempfile

    from studyapp.shell.app import build_context
    from studyapp.areas.attention import core
    from studyapp.areas.attention.steps_tab import StepByStepTab
    from studyapp.models.entry import untrained_entry

    ctx = build_context(Path(tempfile.mkdtemp()))
    ctx.models.add(untrained_entry("tiny"), make_current=True)
    tab = StepByStepTab(ctx.models)
    tab.resize(1100, 760)
    tab.show()
    tab.show_step(2)
    values = iter(range(10_000))

    def edit():
        tab.set_cell(1, 0, f"0.{55 + next(values) % 40}")
        tab.recompute()  # what the debounced job computes, at once
        tab.grab()

    edit()
    redraw = _median(edit, repeats)
    tab.shutdown()
    tab.close()
    return {"compute_all_five_steps": _median(lambda: core.compute_steps(core.book_params()),
                                              repeats),
            "edit_a_number_recompute_and_redraw_step_2": redraw}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--preset", default=None,
                        help="benchmark an untrained preset instead of the bundled model")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads(N) first (default: torch's own choice); "
                             "on a loaded shared box, 1 avoids threads waiting on each other")
    args = parser.parse_args()

    from studyapp.shell.app import ensure_qapplication

    ensure_qapplication()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from model.resources import read_the_verdict
    from model.tokenizer import get_tokenizer
    from studyapp.areas.attention import core

    model, described = _model(args.preset, args.tokens)
    tokenizer = get_tokenizer()
    prepared = core.prepare_text(read_the_verdict(), tokenizer, args.tokens)
    capture, run = bench_capture_and_heatmap(model, prepared.ids, prepared.labels, args.repeats)
    out = {
        "benchmark": "attention lab",
        "model": described,
        "tokens": len(prepared.ids),
        "capture_and_selected_heatmap": capture,
        "all_heads_grid": bench_grid(run, args.repeats),
        "step_by_step": bench_step_by_step(args.repeats),
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print_report_and_exit(out)


if __name__ == "__main__":
    main()
