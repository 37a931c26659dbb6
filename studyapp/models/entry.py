"""The models the app knows (no Qt): what each is, where it came from, how big it is.

Torch is imported inside the functions, never at module import, so the window can paint first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class ModelEntry:
    """One model the labs can use. `model` is a GPTModel in eval mode."""

    name: str
    source: str  # "bundled", "trained in the Training lab", "untrained", or a file path
    model: Any
    config: Any  # GPTConfig
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_parameters(self) -> int:
        return self.model.num_parameters()

    @property
    def memory_bytes(self) -> int:
        return self.model.memory_bytes()

    @property
    def file_path(self) -> str | None:
        """The file this model can be loaded back from: the file it was opened from, or the
        checkpoint the Training lab saved it to; None for the bundled and untrained ones."""
        if self.source not in ("bundled", "untrained") and "checkpoint" not in self.meta:
            from pathlib import Path

            if Path(self.source).is_file():
                return self.source
        checkpoint = self.meta.get("checkpoint")
        return str(checkpoint) if checkpoint else None

    def describe(self) -> str:
        c = self.config
        return (f"{self.name}: {self.num_parameters / 1e6:.2f}M parameters, {c.n_layers} layers, "
                f"{c.n_heads} heads, emb {c.emb_dim}, context {c.context_length}")


def entry_from_loaded(loaded, name: str | None = None) -> ModelEntry:
    """Wrap a model.checkpoint.LoadedModel."""
    from pathlib import Path

    label = name or ("bundled" if loaded.source == "bundled" else Path(loaded.source).stem)
    return ModelEntry(name=label, source=loaded.source, model=loaded.model,
                      config=loaded.config, meta=dict(loaded.meta))


def untrained_entry(preset: str = "default", seed: int = 123) -> ModelEntry:
    """A freshly initialised model of a preset (the book's seed by default)."""
    import torch

    from model import GPTModel, get_preset

    cfg = get_preset(preset)
    torch.manual_seed(seed)
    model = GPTModel(cfg).eval()
    return ModelEntry(name=f"untrained {preset}", source="untrained", model=model, config=cfg,
                      meta={"preset": preset, "seed": seed})


@dataclass(eq=False)
class ClassifierEntry:
    """A chapter 6 classifier: a GPT whose head predicts one of `labels` from the last token.

    Kept apart from the language models: it cannot generate text, so no other lab uses it.
    `max_length` is the padding length it was trained with (None: texts as they are).
    """

    name: str
    source: str  # "trained in the Classify lab" or the file it was opened from
    model: Any
    labels: list[str]
    max_length: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self):
        return self.model.cfg

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def describe(self) -> str:
        c = self.config
        pad = f", padded to {self.max_length} tokens" if self.max_length else ""
        return (f"{self.name}: classes {', '.join(self.labels)}; "
                f"{self.num_parameters / 1e6:.2f}M parameters, {c.n_layers} layers, "
                f"emb {c.emb_dim}{pad}")
