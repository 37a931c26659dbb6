"""Classification fine-tuning (chapter 6): the engine against a naive `train_classifier_simple`.

Same bundled model, same data (verdict-vs-notes, balanced, split and padded once), same batch
(8), same recipe, in one process, alternating naive and engine for `--rounds` rounds. The naive
loop is the book's, written out here: a DataLoader, `model(x)[:, -1, :]` through the whole
model at every step, an evaluation every `eval_freq` steps on `eval_iter` batches, the
accuracy on `eval_iter` batches after every epoch, and the accuracy on the whole splits at the
end. The engine is `model.classify.FineTune` (the shared loop; frozen blocks computed once),
timed from building the classifier (its caching included) to its done record (which holds
the accuracies on the whole splits). Throughput = training examples / wall seconds.

Two recipes: the book's (`last-block`, lr 5e-5, eval every 50 steps) and the app's default
for the bundled model (`all`). Also: predicting the whole test split with the bundled model.

    .venv/bin/python benchmarks/bench_classify.py [--rounds 3] [--epochs 5]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import (book_loader_loss, load_info, median,  # noqa: E402
                               number_options, print_report_and_exit, time_calls)

BATCH = 8
RECIPES = {
    "book": {"trainable": "last-block", "lr": 5e-5, "eval_every": 50},
    "default": {"trainable": "all", "lr": 5e-4, "eval_every": 10},
}


def naive_train_classifier_simple(base, data, recipe: dict, epochs: int) -> tuple[float, int]:
    """The book's loop, plainly (seconds, examples seen)."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from model.classify.classifier import build_classifier

    t0 = time.perf_counter()
    model = build_classifier(copy.deepcopy(base), len(data.labels), recipe["trainable"])
    loaders = {k: DataLoader(TensorDataset(s.input_ids, s.labels), batch_size=BATCH,
                             shuffle=(k == "train"), drop_last=(k == "train"))
               for k, s in data.splits().items()}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=recipe["lr"], weight_decay=0.1)
    eval_freq, eval_iter = recipe["eval_every"], 5

    def calc_loss_batch(x, y):
        return torch.nn.functional.cross_entropy(model(x)[:, -1, :], y)

    def calc_loss_loader(loader, num_batches):
        return book_loader_loss(loader, num_batches, calc_loss_batch)

    def calc_accuracy_loader(loader, num_batches=None):
        model.eval()
        correct = seen = 0
        for i, (x, y) in enumerate(loader):
            if num_batches is not None and i >= num_batches:
                break
            with torch.no_grad():
                predicted = torch.argmax(model(x)[:, -1, :], dim=-1)
            seen += len(y)
            correct += int((predicted == y).sum())
        return correct / seen

    examples_seen, global_step = 0, -1
    for _epoch in range(epochs):
        model.train()
        for x, y in loaders["train"]:
            optimizer.zero_grad()
            loss = calc_loss_batch(x, y)
            loss.backward()
            optimizer.step()
            examples_seen += len(x)
            global_step += 1
            if global_step % eval_freq == 0:
                model.eval()
                with torch.no_grad():
                    calc_loss_loader(loaders["train"], eval_iter)
                    calc_loss_loader(loaders["val"], eval_iter)
                model.train()
        calc_accuracy_loader(loaders["train"], eval_iter)
        calc_accuracy_loader(loaders["val"], eval_iter)
    for key in ("train", "val", "test"):
        calc_accuracy_loader(loaders[key])
    return time.perf_counter() - t0, examples_seen


def engine(base, data, recipe: dict, epochs: int) -> tuple[float, int, dict]:
    from model.classify.finetune import ClassifyRecipe, FineTune

    t0 = time.perf_counter()
    fine_tune = FineTune(base, data, ClassifyRecipe(epochs=epochs, batch_size=BATCH, **recipe))
    done = list(fine_tune.loop.run())[-1]
    return time.perf_counter() - t0, done["examples_seen"], done["after"]


def main(argv=None) -> None:
    p = number_options(argparse.ArgumentParser(), rounds=3, epochs=5)
    args = p.parse_args(argv)
    import torch

    from model.checkpoint import load_bundled
    from model.classify.classifier import build_classifier, predict
    from model.classify.data import prepare, verdict_vs_notes

    base = load_bundled().model
    data = prepare(verdict_vs_notes(), base.cfg.context_length, seed=123)
    out = {"benchmark": "classify", "machine": load_info(), "threads": torch.get_num_threads(),
           "data": data.counts, "batch_size": BATCH, "epochs": args.epochs, "rounds": args.rounds}
    for name, recipe in RECIPES.items():
        naive_eps, engine_eps, ratios, after = [], [], [], None
        for _ in range(args.rounds):  # alternate: both see the same machine load
            s, n = naive_train_classifier_simple(base, data, recipe, args.epochs)
            naive_eps.append(n / s)
            s, n, after = engine(base, data, recipe, args.epochs)
            engine_eps.append(n / s)
            ratios.append(engine_eps[-1] / naive_eps[-1])
        out[name] = {"recipe": recipe,
                     "naive_examples_per_s_median": round(median(naive_eps), 1),
                     "engine_examples_per_s_median": round(median(engine_eps), 1),
                     "naive_examples_per_s_all": [round(x, 1) for x in naive_eps],
                     "engine_examples_per_s_all": [round(x, 1) for x in engine_eps],
                     "ratio_engine_over_naive_median": round(median(ratios), 3),
                     "per_round_ratio": [round(r, 3) for r in ratios],
                     "engine_accuracy_after": after}
    classifier = build_classifier(copy.deepcopy(base), 2, "all").eval()
    timing = time_calls(lambda: predict(classifier, data.test), 5, time.process_time)
    out["eval_test_split"] = {"texts": len(data.test), **timing.summary(),
                              "target_ms": 2000}
    print_report_and_exit(out)


if __name__ == "__main__":
    main()
