"""The Generate lab's arithmetic, without Qt or torch: the next-token view from a logits vector.

The lab keeps the raw logits of the position the learner looks at (a numpy array over the
vocabulary) and recomputes the view here whenever temperature, top-k or top-p move, which is
cheap enough (a few milliseconds over 50,257 logits) to follow a slider. The filtering follows
`model.generate`: top-k keeps the k largest logits, top-p the smallest set of most likely
tokens whose probability reaches p, then softmax of logits / temperature (chapter 5.3).
Greedy decoding (temperature 0) shows the plain softmax (T = 1) with its argmax.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studyapp.tokens import OPEN_BOX, token_label

MAX_BARS = 25
DEFAULT_BARS = 10


def _token_bytes(tokenizer, token_id: int) -> bytes | None:
    try:
        return tokenizer.decode_single_token_bytes(token_id)
    except KeyError:  # a model with a padded vocabulary (e.g. 50,304) may pick an unused ID
        return None


def token_piece(tokenizer, token_id: int) -> str:
    """A token's own text; a byte that is half a character shows as U+FFFD."""
    data = _token_bytes(tokenizer, token_id)
    return f"<ID {token_id}>" if data is None else data.decode("utf-8", errors="replace")


def token_name(token_id: int) -> str:
    """A token for a label: whitespace made visible (leading spaces matter in GPT-2's BPE),
    part of a character shown as its bytes."""
    return token_label(token_id, OPEN_BOX)[0]


@dataclass
class NextTokenView:
    ids: list[int]  # the bars, most likely first
    probs: list[float]  # after temperature and filters (greedy: plain softmax)
    logits: list[float]  # raw logits of those tokens
    argmax: int  # the token greedy decoding picks
    kept: int  # tokens with non-zero probability after the filters
    vocab: int
    temperature: float
    top_k: int | None
    top_p: float | None

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


def _softmax(x: np.ndarray) -> np.ndarray:
    finite = np.isfinite(x)
    out = np.zeros_like(x, dtype=np.float64)
    if not finite.any():
        return out
    z = x[finite] - x[finite].max()
    e = np.exp(z)
    out[finite] = e / e.sum()
    return out


def filtered_probs(logits: np.ndarray, temperature: float, top_k: int | None,
                   top_p: float | None) -> np.ndarray:
    """Probabilities over the vocabulary after top-k, top-p and temperature (greedy: T = 1)."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    x = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return _softmax(x)
    x = x.copy()
    if top_k and 0 < top_k < x.shape[0]:
        kth = np.partition(x, -top_k)[-top_k]
        x[x < kth] = -np.inf
    if top_p is not None and top_p < 1:
        order = np.argsort(-x, kind="stable")
        p_sorted = _softmax(x[order])
        before = np.cumsum(p_sorted) - p_sorted  # mass of the tokens ahead of each one
        drop = before >= top_p
        drop[0] = False
        x[order[drop]] = -np.inf
    return _softmax(x / temperature)


def next_token_view(logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None,
                    top_p: float | None = None, bars: int | None = None) -> NextTokenView:
    """The most likely next tokens (top-k of them when top-k is set) with their probabilities."""
    logits = np.asarray(logits, dtype=np.float64)
    probs = filtered_probs(logits, temperature, top_k, top_p)
    n = bars or (min(top_k, MAX_BARS) if top_k else DEFAULT_BARS)
    n = max(1, min(n, MAX_BARS, logits.shape[0]))
    # Rank by probability, ties (e.g. masked zeros) by logit, so the order is the model's.
    top = np.argpartition(-logits, n - 1)[:n] if n < logits.shape[0] else np.arange(n)
    top = top[np.lexsort((-logits[top], -probs[top]))]
    return NextTokenView(ids=[int(i) for i in top], probs=[float(probs[i]) for i in top],
                         logits=[float(logits[i]) for i in top], argmax=int(np.argmax(logits)),
                         kept=int(np.count_nonzero(probs)), vocab=int(logits.shape[0]),
                         temperature=float(temperature), top_k=top_k, top_p=top_p)
