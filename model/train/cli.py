"""`python -m model.train`: pretrain a GPT from the command line, one JSON record per line.

The records are the loop's (see `model.train.loop`); `--out` saves the checkpoint
(model.safetensors + model.json) with the training curve and the command that made it.
Errors print one line (``error: ...``) and exit with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from model.config import GPTConfig
from model.train.config import TrainConfig, TrainingError, check_output_dir


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
    p.add_argument("--cosine", action=argparse.BooleanOptionalAction, default=None,
                   help="cosine learning-rate decay after warmup")
    p.add_argument("--compile", action="store_true", help="torch.compile the model (slow start)")
    p.add_argument("--device", default=None, help="auto (default), cpu, cuda, mps")
    p.add_argument("--out", help="folder for the checkpoint (model.safetensors + model.json)")
    p.add_argument("--name", default="model", help="checkpoint file name in --out")
    p.add_argument("--half", action="store_true",
                   help="store the checkpoint's weights as float16 (half the size)")
    p.add_argument("--jsonl", help="also write the records to this file")
    p.add_argument("--quiet", action="store_true", help="no records on stdout")
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
        ("log_every", args.log_every), ("cosine", args.cosine), ("device", args.device))
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
    from model.train.corpus import load_corpus
    from model.train.distributed import shutdown_distributed
    from model.train.trainer import Trainer

    jsonl = None
    try:
        model_cfg, train_cfg = _configs_from_args(args)
        specs = args.corpus or ["the-verdict"]
        corpora = [load_corpus(s) for s in specs]
        out_dir = check_output_dir(args.out) if args.out else None
        trainer = Trainer(model_cfg, train_cfg, [t for _, t in corpora],
                          corpus_name=" + ".join(label for label, _ in corpora))
        rank0 = trainer.dist.rank == 0
        command = "python -m model.train " + " ".join(
            sys.argv[1:] if argv is None else list(argv))
        trainer.extra_meta = {"command": command, "preset": args.preset}
        if out_dir is not None:
            trainer.checkpoint_path = out_dir / f"{args.name}.safetensors"
        if args.jsonl and rank0:
            jsonl = open(args.jsonl, "w", encoding="utf-8")
        for record in trainer.run():
            if not rank0:
                continue
            line = json.dumps(record)
            if not args.quiet:
                print(line, flush=True)
            if jsonl is not None:
                jsonl.write(line + "\n")
                jsonl.flush()
        if out_dir is not None and rank0:
            model = trainer.model
            if args.half:
                model = _half_copy(model)
            path = _save_model(model, trainer, out_dir / f"{args.name}.safetensors")
            print(json.dumps({"event": "saved", "path": str(path)}), file=sys.stderr)
        return 0 if trainer.last_done and trainer.last_done["reason"] != "nan" else 3
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if jsonl is not None:
            jsonl.close()
        shutdown_distributed()


def _half_copy(model):
    import copy

    half = copy.deepcopy(model).to("cpu").half()
    half.cfg = model.cfg
    return half


def _save_model(model, trainer, path: Path) -> Path:
    from model.checkpoint import CheckpointError, save_checkpoint

    try:
        return save_checkpoint(model, path, trainer.checkpoint_meta())
    except CheckpointError as exc:
        raise TrainingError(str(exc)) from None
