"""Training presets: a model shape (`GPTConfig`) and a recipe (`TrainConfig`) under one name.

`gpt2-124m` is chapter 5 as printed: GPT-2 small with a 256-token context, AdamW at 5e-4 with
weight decay 0.1, batches of 2, 10 epochs, an evaluation every 5 steps, seed 123 (slow on a CPU).
`default` is what the Training lab starts with: a small GPT and a recipe tuned to learn The
Verdict quickly on a laptop CPU (see benchmarks/bench_time_to_loss.py). `book-small` is the
book's recipe on the small shape, the baseline that benchmark compares against. `bundled`
made the checkpoint the app ships (see resources/checkpoints/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from model.config import PRESETS, GPTConfig, choose
from model.train.config import TrainConfig, TrainingError, parameter_count


@dataclass(frozen=True)
class TrainingPreset:
    name: str
    description: str
    model: GPTConfig
    train: TrainConfig


_BOOK = TrainConfig(lr=5e-4, weight_decay=0.1, batch_size=2, epochs=10, eval_every=5, seed=123)

TRAINING_PRESETS: dict[str, TrainingPreset] = {
    p.name: p for p in (
        TrainingPreset(
            "default",
            "the Training lab's start: a small GPT that learns The Verdict in a minute or two",
            PRESETS["default"],
            # Tuned for time to a validation loss of 6.3 on The Verdict
            # (benchmarks/bench_time_to_loss.py): no dropout, a constant 3e-3 with clipping
            # (warmup and cosine decay reached it later), batches of 2 (more updates per token).
            TrainConfig(lr=3e-3, weight_decay=0.1, batch_size=2, epochs=10, eval_every=5,
                        warmup_steps=0, cosine=False, grad_clip=1.0, seed=123),
        ),
        TrainingPreset(
            "gpt2-124m",
            "chapter 5 as printed: GPT-2 small, context 256, lr 5e-4, batch 2, 10 epochs",
            PRESETS["gpt2-124m"].replace(context_length=256),
            _BOOK,
        ),
        TrainingPreset(
            "book-small",
            "the book's recipe (constant lr, no warmup or clipping) on the small GPT, lr 2e-3",
            PRESETS["default"].replace(drop_rate=0.1),
            _BOOK.replace(lr=2e-3, batch_size=8),
        ),
        TrainingPreset(
            "bundled",
            "how resources/checkpoints/bundled.safetensors was made (The Verdict + the notes, "
            "float16: under 15 MB)",
            GPTConfig(context_length=128, emb_dim=64, n_heads=4, n_layers=4, drop_rate=0.1),
            TrainConfig(lr=5e-3, weight_decay=0.1, batch_size=4, epochs=30, eval_every=15,
                        warmup_steps=20, cosine=True, min_lr_ratio=0.1, grad_clip=1.0,
                        seed=123, num_threads=1),
        ),
        TrainingPreset(
            "tiny",
            "a very small GPT for quick experiments and tests",
            PRESETS["tiny"],
            TrainConfig(lr=3e-3, batch_size=2, epochs=1, eval_every=5, warmup_steps=2,
                        cosine=True, grad_clip=1.0, seed=123, sample_tokens=10),
        ),
    )
}


def get_training_preset(name: str) -> TrainingPreset:
    return choose(TRAINING_PRESETS, name, TrainingError)


def describe_presets() -> str:
    lines = []
    for p in TRAINING_PRESETS.values():
        m, t = p.model, p.train
        lines.append(
            f"{p.name:<11} {p.description}\n"
            f"{'':<11} emb {m.emb_dim}, {m.n_layers} layers, {m.n_heads} heads, context "
            f"{m.context_length}, dropout {m.drop_rate:g}, {parameter_count(m):,} parameters; "
            f"lr {t.lr:g}, weight decay {t.weight_decay:g}, batch {t.batch_size}, "
            f"{t.epochs} epochs, eval every {t.eval_every}, warmup {t.warmup_steps}, "
            f"cosine {'on' if t.cosine else 'off'}, clip {t.grad_clip or 'off'}, seed {t.seed}"
        )
    return "\n".join(lines)
