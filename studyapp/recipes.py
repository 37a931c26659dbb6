"""What the labs that train a model share, without Qt: a recipe's field as data (label, range,
default, tooltip), the check of a learner's values against those fields, and a finished run's
reason and length in words.

The Classify and Instruct labs' cores hold their own fields; the Training lab words its runs'
reasons with the same table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

# Why `model.train.loop` ended a run, as a run's summary starts.
DONE_REASONS = {"completed": "Finished", "max_steps": "Reached the step limit",
                "stopped": "Stopped", "nan": "Stopped: the loss is no longer a number",
                "target_val_loss": "Reached the target loss"}


@dataclass(frozen=True)
class Field:
    """One number (or, with kind bool, one switch) of a recipe."""

    key: str  # the engine's name for it
    label: str
    kind: type  # int, float or bool
    lo: float
    hi: float
    default: float
    tip: str
    step: float = 1
    decimals: int = 0


def switch(key: str, label: str, default: bool, tip: str) -> Field:
    """An on/off field (a check box)."""
    return Field(key, label, bool, 0, 1, int(default), tip)


# Both fine-tuning labs cap a run the same way (`TrainConfig.max_steps`, None for no cap).
STEP_LIMIT = Field("max_steps", "Step limit", int, 0, 10_000_000, 0,
                   "Stop after this many steps (0: run every epoch)")


def clean_values(values: Any, fields: Mapping[str, Field]) -> dict[str, Any]:
    """The entries of `values` that are valid for `fields` (right type, finite, in range);
    others dropped."""
    out: dict[str, Any] = {}
    if not isinstance(values, Mapping):
        return out
    for key, value in values.items():
        f = fields.get(key)
        if f is None:
            continue
        if f.kind is bool:
            if isinstance(value, bool):
                out[key] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isfinite(value) or (f.kind is int and not float(value).is_integer()):
            continue
        if f.lo <= value <= f.hi:
            out[key] = f.kind(value)
    return out


def run_line(done: Mapping[str, Any], duration: Callable[[float | None], str]) -> str:
    """'Finished: 1,234 steps, 9,872 examples seen in 3m 05s' for a run's `done` record."""
    reason = DONE_REASONS.get(done.get("reason"), "Ended")
    return (f"{reason}: {done.get('step', 0):,} steps, {done.get('examples_seen', 0):,} "
            f"examples seen in {duration(done.get('elapsed_s'))}")
