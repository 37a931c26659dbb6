"""`python -m model.train`: pretrain a GPT from the command line, one JSON record per line.

The records are the loop's (see `model.train.loop`); `--out` saves the checkpoint
(model.safetensors + model.json) with the training curve and the command that made it.
Errors print one line (``error: ...``), never a traceback: status 2 for settings or files that
keep a run from starting (checked before any training), 1 when the trained model could not be
saved at the end (the message names the reason and the path tried).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

from model.cli_common import (RecordWriter, add_record_options, command_line, finished_status,
                               run_reporting_errors)
from model.config import GPTConfig
from model.train.config import EVAL_MAX_WINDOWS, TrainConfig, TrainingError, check_output_dir


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m model.train",
        description="Pretrain a small GPT (chapter 5) and print one JSON record per line.",
    )
    p.add_argument("--corpus", action="append", metavar="PATH",
                   help="a UTF-8 text file, or 'the-verdict' / 'notes' for the shipped texts; "
                        "repeat to train on several (default: the-verdict)")
    p.add_argument("--preset", default="default", help="training preset (see --list-presets)")
    p.add_argument("--list-presets", action="store_true", help="print the presets and exit")
    for flag, kind in (("--emb-dim", int), ("--n-layers", int), ("--n-heads", int),
                       ("--context-length", int), ("--drop-rate", float),
                       ("--batch-size", int), ("--lr", float), ("--weight-decay", float),
                       ("--epochs", int), ("--max-steps", int), ("--eval-every", int),
                       ("--warmup-steps", int), ("--grad-clip", float), ("--seed", int),
                       ("--target-val-loss", float), ("--sample-tokens", int),
                       ("--threads", int), ("--checkpoint-every", int), ("--log-every", int)):
        p.add_argument(flag, type=kind)
    p.add_argument("--eval-max-windows", type=int, metavar="N",
                   help="validation windows per evaluation, evenly spread (default "
                        f"{EVAL_MAX_WINDOWS}; 0: every window, slow on a large corpus)")
    p.add_argument("--cosine", action=argparse.BooleanOptionalAction, default=None,
                   help="cosine learning-rate decay after warmup")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (slow start)")
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda, mps")
    p.add_argument("--out", help="folder for the checkpoint (model.safetensors + model.json)")
    p.add_argument("--name", default="model", help="checkpoint file name in --out")
    p.add_argument("--half", action="store_true",
                   help="store the checkpoint's weights as float16 (half the size)")
    add_record_options(p)
    return p


def _configs_from_args(args) -> tuple[GPTConfig, TrainConfig]:
    from model.train.presets import get_training_preset

    preset = get_training_preset(args.preset)
    model_changes = {k: v for k, v in (
        ("emb_dim", args.emb_dim), ("n_layers", args.n_layers), ("n_heads", args.n_heads),
        ("context_length", args.context_length), ("drop_rate", args.drop_rate)) if v is not None}
    train_changes = {k: v for k, v in (
        ("batch_size", args.batch_size), ("lr", args.lr), ("weight_decay", args.weight_decay),
        ("epochs", args.epochs), ("max_steps", args.max_steps), ("eval_every", args.eval_every),
        ("warmup_steps", args.warmup_steps), ("grad_clip", args.grad_clip), ("seed", args.seed),
        ("target_val_loss", args.target_val_loss), ("sample_tokens", args.sample_tokens),
        ("num_threads", args.threads), ("checkpoint_every", args.checkpoint_every),
        ("log_every", args.log_every), ("cosine", args.cosine), ("device", args.device),
        ("eval_max_windows", args.eval_max_windows))
        if v is not None}
    if args.compile:
        train_changes["compile"] = True
    try:
        model_cfg = preset.model.replace(**model_changes)
    except ValueError as exc:
        raise TrainingError(str(exc)) from None
    return model_cfg, preset.train.replace(**train_changes)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.list_presets:
        from model.train.presets import describe_presets

        print(describe_presets())
        return 0
    from model.train.distributed import shutdown_distributed

    records = RecordWriter(args.quiet)
    try:
        return run_reporting_errors(lambda: _run(args, argv, records))
    finally:
        records.close()
        shutdown_distributed()


def _run(args, argv: Sequence[str] | None, records: RecordWriter) -> int:
    from model.train.corpus import load_corpus
    from model.train.trainer import Trainer

    model_cfg, train_cfg = _configs_from_args(args)
    specs = args.corpus or ["the-verdict"]
    corpora = [load_corpus(s) for s in specs]
    out_dir = check_output_dir(args.out) if args.out else None
    if args.jsonl:
        _check_jsonl(Path(args.jsonl))
    trainer = Trainer(model_cfg, train_cfg, [t for _, t in corpora],
                      corpus_name=" + ".join(label for label, _ in corpora))
    rank0 = trainer.dist.rank == 0
    trainer.extra_meta = {"command": command_line("python -m model.train", argv),
                          "preset": args.preset}
    if out_dir is not None:
        trainer.checkpoint_path = out_dir / f"{args.name}.safetensors"
    if args.jsonl and rank0:
        records.open(args.jsonl)
    for record in trainer.run():
        if not rank0:
            continue
        if record["event"] == "warning":
            print(f"warning: {record['message']}", file=sys.stderr, flush=True)
        records.emit(record)
    if out_dir is not None and rank0:
        model = trainer.model
        if args.half:
            model = _half_copy(model)
        path = _save_model(model, trainer, out_dir / f"{args.name}.safetensors")
        if path is None:
            return 1
        print(json.dumps({"event": "saved", "path": str(path)}), file=sys.stderr)
    return finished_status(trainer.last_done)


def _half_copy(model):
    import copy

    half = copy.deepcopy(model).to("cpu").half()
    half.cfg = model.cfg
    return half


def _check_jsonl(path: Path) -> None:
    """Refuse a records file that cannot be written before any time is spent training."""
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise TrainingError(f"the records cannot be written to {path}: the folder {folder} "
                            f"{what}")
    if path.is_dir():
        raise TrainingError(f"the records cannot be written to {path}: it is a folder")
    if not os.access(folder, os.W_OK) or path.exists() and not os.access(path, os.W_OK):
        raise TrainingError(f"the records cannot be written to {path}: permission denied")


def _save_model(model, trainer, path: Path) -> Path | None:
    """Save the trained model; None (and a message naming the reason and the path) if it
    could not be written, such as on a full disk."""
    from model.checkpoint import CheckpointError, save_checkpoint

    try:
        return save_checkpoint(model, path, trainer.checkpoint_meta())
    except (CheckpointError, OSError) as exc:
        reason = str(exc) if str(path) in str(exc) else f"{exc} (writing {path})"
        print(f"error: the trained model was not saved: {reason}. Free some space, or choose "
              "another --out, and train again", file=sys.stderr)
        return None
