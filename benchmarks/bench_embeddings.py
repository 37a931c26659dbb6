"""Embeddings lab speed, each figure beside a naive baseline in the same run.

1. Compute and draw the embedding heatmaps (token, positional, input: T x emb_dim each) for a
   256-token text, through `EmbeddingsLab.refresh` with the three heatmaps repainted: the lab
   reads the rows straight from `tok_emb`/`pos_emb`; the baseline gets the same matrices from a
   full forward pass with `model.inspect.capture` (every layer computed) and draws them in the
   same heatmaps. Target: under 100 ms.
2. Nearest neighbours of one token in the whole vocabulary (top 10 by cosine): the lab's cached
   row norms against recomputing torch's cosine_similarity over the vocabulary each time.
3. PCA of the whole positional table (context_length x emb_dim): subspace iteration against a
   full SVD.

The model is the bundled one when present, else the untrained 'default' preset (same shape
class), and GPT-2 124M with random weights (--gpt2, about 0.7 GB) for the large case.

    .venv/bin/python benchmarks/bench_embeddings.py [--repeats 7] [--gpt2]

Prints one JSON object; times are medians in ms, wall and this thread's CPU time (the box is
shared: CPU time is close to what the work costs on an idle machine).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import print_report_and_exit, time_calls  # noqa: E402


def _measure(fn, repeats: int) -> dict:
    return time_calls(fn, repeats).summary()


def _entry(which: str):
    from studyapp.models.entry import ModelEntry, entry_from_loaded, untrained_entry

    if which == "bundled":
        from model.checkpoint import CheckpointError, load_bundled

        try:
            return entry_from_loaded(load_bundled(), name="bundled")
        except CheckpointError:
            entry = untrained_entry("default")
            return ModelEntry("untrained 'default' (bundled checkpoint missing)", "untrained",
                              entry.model, entry.config, entry.meta)
    return untrained_entry(which)


def bench_model(which: str, repeats: int) -> dict:
    import tempfile

    import torch

    from model.inspect import capture
    from model.tokenizer import get_tokenizer
    from model.resources import read_the_verdict
    from studyapp.shell.app import build_context, ensure_qapplication
    from studyapp.areas.embeddings import core
    from studyapp.areas.embeddings.area import EmbeddingsLab

    torch.set_num_threads(1)
    app = ensure_qapplication()
    entry = _entry(which)
    ctx = build_context(Path(tempfile.mkdtemp()))
    ctx.models.add(entry)
    lab = EmbeddingsLab(ctx)
    lab.resize(1100, 740)
    lab.show()
    app.processEvents()
    ids = get_tokenizer().encode(read_the_verdict())
    n_tokens = min(256, entry.config.context_length)
    text = get_tokenizer().decode(ids[:n_tokens])
    while len(get_tokenizer().encode(text)) > n_tokens:  # decode/encode may merge differently
        text = text[:-1]
    lab.editor.blockSignals(True)
    lab.editor.setPlainText(text)
    lab.editor.blockSignals(False)
    maps = (lab.token_map, lab.pos_map, lab.input_map)

    def ours():
        lab.refresh(force=True)
        lab.job.wait_idle()  # the embeddings are computed on the lab's job
        for m in maps:
            m.view.viewport().repaint()

    def baseline():
        token_ids = torch.tensor([get_tokenizer().encode(text)])
        cap = capture(entry.model, token_ids)
        labels = core.row_labels(core.model_source(entry.model), token_ids[0].tolist())
        lab.token_map.set_matrix(cap.token_embeddings[0], labels, None)
        lab.pos_map.set_matrix(cap.positional_embeddings, None, None)
        lab.input_map.set_matrix(cap.input_embeddings[0], labels, None)
        for m in maps:
            m.view.viewport().repaint()

    ours()
    baseline()
    result_ours = _measure(ours, repeats)
    result_base = _measure(baseline, repeats)

    source = core.model_source(entry.model)
    norms = core.row_norms(source)
    query = ids[0]
    nn_ours = _measure(lambda: core.nearest_neighbours(source, query, 10, norms=norms),
                       repeats)

    def nn_naive():
        weight = source.tok_weight
        sims = torch.nn.functional.cosine_similarity(weight, weight[query].unsqueeze(0), dim=1)
        sims[query] = -2
        return torch.topk(sims, 10)

    nn_base = _measure(nn_naive, repeats)

    import numpy as np

    pos = source.pos_weight.numpy().astype(np.float64)
    pca_ours = _measure(lambda: core.pca_2d(pos), max(3, repeats // 2))

    def pca_svd():
        centred = pos - pos.mean(axis=0)
        np.linalg.svd(centred, full_matrices=False)

    pca_base = _measure(pca_svd, max(3, repeats // 2))
    out = {
        "model": entry.name, "emb_dim": entry.config.emb_dim,
        "context_length": entry.config.context_length, "vocab_size": entry.config.vocab_size,
        "tokens": len(lab.embeddings.ids),
        "heatmaps_lab": result_ours, "heatmaps_baseline_full_forward": result_base,
        "heatmaps_speedup": round(result_base["ms_median"] / result_ours["ms_median"], 2),
        "heatmaps_target_ms": 100,
        "heatmaps_meets_target_wall": result_ours["ms_median"] < 100,
        "heatmaps_meets_target_cpu": result_ours["cpu_ms_median"] < 100,
        "neighbours_lab_cached_norms": nn_ours, "neighbours_baseline_cosine_similarity": nn_base,
        "positions_pca_lab": pca_ours, "positions_pca_full_svd": pca_base,
    }
    lab.shutdown()
    lab.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--gpt2", action="store_true",
                        help="also GPT-2 124M with random weights (needs about 0.7 GB)")
    args = parser.parse_args()
    runs = [bench_model("bundled", args.repeats)]
    if args.gpt2:
        runs.append(bench_model("gpt2-124m", args.repeats))
    print_report_and_exit({"benchmark": "embeddings lab", "runs": runs,
                           "cpu_count": os.cpu_count(),
                           "load_average": [round(x, 2) for x in os.getloadavg()]})


if __name__ == "__main__":
    main()
