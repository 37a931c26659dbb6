"""`python -m model.instruct`: chapter 7 headless, one JSON record per line.

Fine-tunes a model on instruction data with the book's recipe, then answers the test entries,
scores the answers with ROUGE-L and saves them in the book's
`instruction-data-with-response.json` format, with the fine-tuned model, in `--out`.

Records: ``eval`` (step 0 is before fine-tuning), ``step``, ``response`` (one per test entry)
and a last ``done`` that adds to the loop's summary the responses file, the average ROUGE-L,
the checkpoint path and the data counts. Bad input is an ``error:`` line on stderr and exit
status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from model.cli_common import RecordWriter


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m model.instruct",
        description="Instruction fine-tuning (chapter 7): train, answer the test entries, score "
                    "them with ROUGE-L, save the responses and the model. Prints JSON lines.")
    p.add_argument("--data", default=None,
                   help="a JSON list of {instruction, input, output} entries (default: the "
                        "book's instruction-data.json)")
    p.add_argument("--model", default="bundled",
                   help="'bundled' (default) or a checkpoint file: the app's .safetensors, a "
                        "book state dict (.pth) or GPT-2 in the Hugging Face layout")
    p.add_argument("--n-heads", type=int, default=None, help="attention heads, for files that "
                   "do not record them")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--eval-every", type=int, default=5)
    p.add_argument("--eval-batches", type=int, default=5,
                   help="batches each evaluation averages (the book's eval_iter)")
    p.add_argument("--lora-rank", type=int, default=0, help="0: train every weight (default)")
    p.add_argument("--lora-alpha", type=float, default=16.0)
    p.add_argument("--mask-prompt", action="store_true",
                   help="the loss ignores the prompt's tokens (exercise 7.2)")
    p.add_argument("--drop-too-long", action="store_true",
                   help="leave out examples longer than the context instead of cutting them")
    p.add_argument("--seed", type=int, default=123)
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, mps")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--max-new-tokens", type=int, default=256,
                   help="longest response (the model's context may end it sooner)")
    p.add_argument("--test-limit", type=int, default=None,
                   help="answer only the first N test entries")
    p.add_argument("--out", required=True,
                   help="folder for instruction-data-with-response.json and the model")
    p.add_argument("--name", default="instruct-model", help="checkpoint file name in --out")
    p.add_argument("--jsonl", help="also write the records to this file")
    p.add_argument("--quiet", action="store_true", help="no records on stdout")
    return p


def _load_model(spec: str, n_heads: int | None):
    from model.checkpoint import load_bundled, load_checkpoint

    if spec == "bundled":
        return load_bundled().model
    return load_checkpoint(spec, n_heads=n_heads).model


def run(args: argparse.Namespace, out: RecordWriter) -> int:
    from model.instruct.data import load_entries
    from model.train.config import check_output_dir

    loaded = load_entries(args.data)
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    out_dir = check_output_dir(args.out)

    import torch

    from model.instruct.finetune import BOOK_RECIPE, InstructFineTune, InstructOptions
    from model.instruct.respond import iter_responses, save_responses, with_responses
    from model.instruct.score import rouge_l
    config = BOOK_RECIPE.replace(epochs=args.epochs, max_steps=args.max_steps,
                                 batch_size=args.batch_size, lr=args.lr,
                                 weight_decay=args.weight_decay, eval_every=args.eval_every,
                                 seed=args.seed, device=args.device, num_threads=args.threads)
    options = InstructOptions(eval_batches=args.eval_batches, mask_prompt=args.mask_prompt,
                              too_long="drop" if args.drop_too_long else "truncate",
                              lora_rank=args.lora_rank, lora_alpha=args.lora_alpha)
    if args.max_new_tokens < 0:
        raise ValueError(f"max new tokens must be 0 or more, got {args.max_new_tokens}")
    model = _load_model(args.model, args.n_heads)
    run_ = InstructFineTune(model, loaded.entries, config, options)
    for record in run_.run():
        if record["event"] != "done":
            out.emit(record)
    done = dict(run_.loop.last_done or {})

    test = run_.split.test[:args.test_limit] if args.test_limit else run_.split.test
    answering = run_.model.eval()
    responses, scores = [], []
    with torch.no_grad():
        for response in iter_responses(answering, test, run_.tokenizer, args.max_new_tokens):
            score = rouge_l(response.text, test[response.index]["output"])
            responses.append(response)
            scores.append(score)
            out.emit({"event": "response", "index": response.index, "text": response.text,
                       "rouge_l": score, "stopped_by": response.stopped_by,
                       "new_tokens": response.new_tokens})
    responses.sort(key=lambda r: r.index)  # they arrive grouped by prompt length
    responses_path = save_responses(with_responses(test, responses), out_dir)
    average = sum(scores) / len(scores) if scores else None
    checkpoint = run_.save(out_dir / f"{args.name}.safetensors", rouge_l_average=average,
                           command="python -m model.instruct " + " ".join(sys.argv[1:]))
    done.update({"responses": str(responses_path), "rouge_l_average": average,
                 "test_entries": len(test), "checkpoint": str(checkpoint),
                 "trainable_parameters": run_.trainable_parameters(), "data": run_.data,
                 "skipped_entries": loaded.skipped})
    out.emit(done)
    return 0 if done.get("reason") != "nan" else 3


def main(argv: Sequence[str] | None = None) -> int:
    # Torch-free imports: bad data is refused before torch loads. CheckpointError is a
    # ValueError, so it needs no import here.
    from model.instruct.data import InstructDataError
    from model.train.config import TrainingError

    args = _parser().parse_args(argv)
    out = None
    try:
        out = RecordWriter(args.quiet)
        if args.jsonl:
            out.open(args.jsonl)
        return run(args, out)
    except (InstructDataError, TrainingError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if out is not None:
            out.close()
