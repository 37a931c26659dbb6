"""`python -m model.classify`: chapter 6's fine-tuning from the command line, JSON lines out.

Records: ``step`` and ``eval`` (``train_acc``, ``val_acc``, losses) from the shared loop, then
``done`` with ``before`` and ``after`` (``train_acc``, ``val_acc``, ``test_acc`` on the whole
splits), ``total_params``, ``trainable_params`` and ``elapsed_s``. ``--max-steps 0`` trains
nothing: the done record then holds the data counts and the accuracy before fine-tuning.
Errors print one line (``error: ...``) and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Sequence

from model.classify.data import DEFAULT_DATA, ClassifyDataError
from model.classify.finetune import ClassifyRecipe
from model.train.config import TrainingError, check_output_dir


def _parser() -> argparse.ArgumentParser:
    d = ClassifyRecipe()
    p = argparse.ArgumentParser(
        prog="python -m model.classify",
        description="Fine-tune a GPT as a text classifier (chapter 6); one JSON record a line.")
    p.add_argument("--data", nargs="+", default=[DEFAULT_DATA], metavar="FILE",
                   help="a CSV/TSV with label and text columns (the book's SMSSpamCollection "
                        "or train.csv), two or more text files (one class each), or "
                        f"{DEFAULT_DATA} (default)")
    p.add_argument("--unit", default="auto", choices=("auto", "sentences", "lines"),
                   help="how plain text files are cut (auto: lines for Markdown)")
    p.add_argument("--model", default="bundled", help="bundled (default) or a checkpoint file")
    p.add_argument("--model-config", metavar="NAME",
                   help="start from an untrained model of this config instead (e.g. tiny, "
                        "gpt2-124m; gpt2-small is GPT-2 small with qkv bias, as the book's "
                        "weights; NAME+qkv adds the bias to any)")
    p.add_argument("--trainable", default=d.trainable,
                   choices=("head", "last-block", "last-k", "all", "lora"))
    p.add_argument("--last-k", type=int, default=d.last_k, help="blocks trained with last-k")
    p.add_argument("--lora-rank", type=int, default=d.lora_rank)
    p.add_argument("--lora-alpha", type=float, default=d.lora_alpha)
    for flag, kind, default in (("--lr", float, d.lr), ("--weight-decay", float, d.weight_decay),
                                ("--batch-size", int, d.batch_size), ("--epochs", int, d.epochs),
                                ("--max-steps", int, None), ("--eval-every", int, d.eval_every),
                                ("--eval-batches", int, d.eval_batches),
                                ("--max-length", int, None), ("--seed", int, d.seed),
                                ("--threads", int, None)):
        p.add_argument(flag, type=kind, default=default)
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, mps")
    p.add_argument("--jsonl", help="also write the records to this file")
    p.add_argument("--out", help="folder to save the classifier in (classifier.safetensors)")
    p.add_argument("--name", default="classifier", help="file name in --out")
    p.add_argument("--quiet", action="store_true", help="no records on stdout")
    return p


def _model_from_config(name: str, seed: int):
    import torch

    from model.config import get_preset
    from model.gpt import GPTModel

    key = name.strip().lower()
    qkv = key.endswith("+qkv") or key == "gpt2-small"
    key = key.removesuffix("+qkv")
    key = "gpt2-124m" if key == "gpt2-small" else key
    try:
        cfg = get_preset(key).replace(qkv_bias=qkv or get_preset(key).qkv_bias)
    except ValueError as exc:
        raise TrainingError(f"{exc} (or gpt2-small, or NAME+qkv)") from None
    torch.manual_seed(seed)
    return GPTModel(cfg)


def load_base_model(spec: str):
    """The language model to start from: 'bundled' or a checkpoint path."""
    from model.checkpoint import load_bundled, load_checkpoint

    return (load_bundled() if spec == "bundled" else load_checkpoint(spec)).model


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from model.checkpoint import CheckpointError

    jsonl = None
    t0 = time.perf_counter()
    try:
        recipe = ClassifyRecipe(
            trainable=args.trainable, last_k=args.last_k, lora_rank=args.lora_rank,
            lora_alpha=args.lora_alpha, lr=args.lr, weight_decay=args.weight_decay,
            batch_size=args.batch_size, epochs=args.epochs, max_steps=args.max_steps or None,
            eval_every=args.eval_every, eval_batches=args.eval_batches,
            max_length=args.max_length, seed=args.seed, device=args.device,
            num_threads=args.threads)
        if args.max_steps is not None and args.max_steps < 0:
            raise TrainingError(f"max steps must be 0 or more, got {args.max_steps}")
        out_dir = check_output_dir(args.out) if args.out else None
        from model.classify.data import load_labelled
        from model.classify.finetune import FineTune

        data = load_labelled(args.data, args.unit)
        base = (_model_from_config(args.model_config, args.seed) if args.model_config
                else load_base_model(args.model))
        fine_tune = FineTune(base, data, recipe, copy_base=False)
        if args.jsonl:
            jsonl = open(args.jsonl, "w", encoding="utf-8")

        def emit(record: dict) -> None:
            line = json.dumps(record)
            if not args.quiet:
                print(line, flush=True)
            if jsonl is not None:
                jsonl.write(line + "\n")
                jsonl.flush()

        if args.max_steps == 0:
            before = fine_tune.measure_before()
            emit({"event": "done", "reason": "max_steps", "message": "no training (max steps 0)",
                  "step": 0, **fine_tune.summary(), "before": before,
                  "elapsed_s": time.perf_counter() - t0})
            return 0
        for record in fine_tune.run():
            if record["event"] == "done":
                record = {**record, "counts": fine_tune.data.counts}
            emit(record)
        if out_dir is not None:
            path = fine_tune.save(out_dir / f"{args.name}.safetensors",
                                  command="python -m model.classify " + " ".join(
                                      sys.argv[1:] if argv is None else list(argv)))
            print(json.dumps({"event": "saved", "path": str(path)}), file=sys.stderr)
        return 0 if fine_tune.last_done and fine_tune.last_done["reason"] != "nan" else 3
    except (ClassifyDataError, TrainingError, CheckpointError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if jsonl is not None:
            jsonl.close()
