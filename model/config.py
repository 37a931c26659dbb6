"""GPT configuration as data (chapter 4's GPT_CONFIG_124M and friends).

A frozen dataclass with the book's keys, so a config can be saved as JSON beside every
checkpoint and read back, and the book's plain dicts are accepted wherever a config is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping


@dataclass(frozen=True)
class GPTConfig:
    """The book's configuration keys, with GPT-2 small (124M) as the default."""

    vocab_size: int = 50257  # GPT-2 BPE vocabulary
    context_length: int = 1024  # longest input the positional embedding covers
    emb_dim: int = 768
    n_heads: int = 12
    n_layers: int = 12
    drop_rate: float = 0.1
    qkv_bias: bool = False

    def __post_init__(self):
        problems = []
        for key in ("vocab_size", "context_length", "emb_dim", "n_heads", "n_layers"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                problems.append(f"{key} must be a positive integer, got {value!r}")
        if not problems and self.emb_dim % self.n_heads:
            problems.append(
                f"emb_dim ({self.emb_dim}) must be divisible by n_heads ({self.n_heads})"
            )
        rate = self.drop_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate < 1.0:
            problems.append(f"drop_rate must be a number in [0, 1), got {rate!r}")
        if not isinstance(self.qkv_bias, bool):
            problems.append(f"qkv_bias must be true or false, got {self.qkv_bias!r}")
        if problems:
            raise ValueError("invalid GPT config: " + "; ".join(problems))

    @property
    def head_dim(self) -> int:
        return self.emb_dim // self.n_heads

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GPTConfig":
        """Build from the book's dict (unknown keys are refused, missing keys take defaults)."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a GPT config is a mapping of the book's keys, got "
                             f"{type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(map(str, set(data) - known))
        if unknown:
            raise ValueError(f"unknown GPT config keys: {', '.join(unknown)}")
        return cls(**dict(data))

    @classmethod
    def coerce(cls, cfg: "GPTConfig | Mapping[str, Any]") -> "GPTConfig":
        return cfg if isinstance(cfg, GPTConfig) else cls.from_dict(cfg)

    def replace(self, **changes: Any) -> "GPTConfig":
        return replace(self, **changes)

    # The book indexes its config as a dict (cfg["emb_dim"]); keep that working.
    def __getitem__(self, key: str) -> Any:
        if key not in self.__dataclass_fields__:
            raise KeyError(key)
        return getattr(self, key)


# Named presets. "gpt2-*" are the book's chapter 5 sizes; the small ones fit a laptop CPU.
PRESETS: dict[str, GPTConfig] = {
    "gpt2-124m": GPTConfig(),
    "gpt2-355m": GPTConfig(emb_dim=1024, n_layers=24, n_heads=16),
    "gpt2-774m": GPTConfig(emb_dim=1280, n_layers=36, n_heads=20),
    "gpt2-1558m": GPTConfig(emb_dim=1600, n_layers=48, n_heads=25),
    # What the Training lab starts with: trains on The Verdict in about a minute on a CPU.
    "default": GPTConfig(context_length=128, emb_dim=128, n_heads=4, n_layers=4, drop_rate=0.0),
    "tiny": GPTConfig(context_length=64, emb_dim=64, n_heads=2, n_layers=2, drop_rate=0.0),
}


def get_preset(name: str) -> GPTConfig:
    return choose(PRESETS, name)


def choose(presets: Mapping, name: str, error: type[Exception] = ValueError):
    """`presets[name]`, or `error` with a message that lists the names there are."""
    try:
        return presets[name]
    except KeyError:
        raise error(f"unknown preset {name!r}; choose one of: {', '.join(presets)}") from None
