"""What the Embeddings lab shows, computed without Qt (chapter 2, sections 2.7 and 2.8).

- `from_model(model, ids)`: token embeddings (the rows of `tok_emb` the IDs pick), positional
  embeddings (the first T rows of `pos_emb`) and their sum, the input embeddings the first
  transformer block receives (dropout aside). Longer inputs keep the first `context_length`.
- `book_demo(vocab_size, dim, ids)`: the embedding layers built as the chapter builds them,
  `torch.manual_seed(123)` then `torch.nn.Embedding(vocab_size, dim)`; 6 x 3 gives the book's
  table, whose first row is [0.3374, -0.1778, -0.1690].
- `text_answer(model, name, text)`, `demo_answer(sizes, raw_ids)`: what the lab shows for its
  inputs, the embeddings or the message shown instead (the lab's job runs these).
- `cosine_matrix`, `nearest_neighbours` (whole vocabulary, by cosine), `pca_2d`,
  `frequent_tokens` (the most common tokens of a corpus, for the projection).

torch is imported inside the functions (studyapp modules must not import it at start-up).
Results are numpy arrays so the Qt side never touches tensors.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from studyapp.tokens import parse_ids, sanitize, token_info, token_label

BOOK_SEED = 123
BOOK_IDS = (2, 3, 5, 1)  # section 2.7's input IDs


@dataclass
class EmbeddingSource:
    """The two embedding tables the lab reads: from the loaded model or the book demo."""

    name: str
    tok_weight: object  # torch tensor (vocab_size, emb_dim)
    pos_weight: object  # torch tensor (context_length, emb_dim)
    gpt2_vocab: bool  # IDs are GPT-2 token IDs (labels come from the tokenizer)

    @property
    def vocab_size(self) -> int:
        return int(self.tok_weight.shape[0])

    @property
    def emb_dim(self) -> int:
        return int(self.tok_weight.shape[1])

    @property
    def context_length(self) -> int:
        return int(self.pos_weight.shape[0])

    def label(self, token_id: int) -> str:
        return token_label(token_id)[0] if self.gpt2_vocab else f"ID {token_id}"


@dataclass
class TextEmbeddings:
    ids: list[int]
    labels: list[str]  # one per row, "position: token"
    token: np.ndarray  # (T, emb_dim)
    positional: np.ndarray  # (T, emb_dim)
    input: np.ndarray  # (T, emb_dim), token + positional
    notices: list[str] = field(default_factory=list)


def model_source(model, name: str = "model") -> EmbeddingSource:
    return EmbeddingSource(name, model.tok_emb.weight.detach(), model.pos_emb.weight.detach(),
                           gpt2_vocab=model.tok_emb.weight.shape[0] == 50257)


def book_demo_source(vocab_size: int = 6, emb_dim: int = 3, context_length: int = 4,
                     seed: int = BOOK_SEED) -> EmbeddingSource:
    """Chapter 2's layers: seed, then the token embedding, then the positional embedding."""
    import torch

    for key, value in (("vocabulary size", vocab_size), ("dimension", emb_dim),
                       ("context length", context_length)):
        if value < 1:
            raise ValueError(f"the {key} must be at least 1, got {value}")
    torch.manual_seed(seed)
    tok = torch.nn.Embedding(vocab_size, emb_dim)
    pos = torch.nn.Embedding(context_length, emb_dim)
    return EmbeddingSource(f"book demo ({vocab_size} x {emb_dim})", tok.weight.detach(),
                           pos.weight.detach(), gpt2_vocab=vocab_size == 50257)


def row_labels(source: EmbeddingSource, ids: list[int]) -> list[str]:
    return [f"{i}: {source.label(t)}" for i, t in enumerate(ids)]


def embed(source: EmbeddingSource, ids: list[int]) -> TextEmbeddings:
    """Token, positional and input embeddings of `ids` (the first context_length of them)."""
    notices = []
    bad = sorted({t for t in ids if not 0 <= t < source.vocab_size})
    if bad:
        shown = ", ".join(str(t) for t in bad[:8])
        raise ValueError(f"ID(s) {shown} are outside the vocabulary of {source.vocab_size:,} "
                         f"(IDs 0 to {source.vocab_size - 1:,})")
    if len(ids) > source.context_length:
        notices.append(f"The text has {len(ids):,} tokens but the context holds "
                       f"{source.context_length:,}: showing the first {source.context_length:,}.")
        ids = ids[:source.context_length]
    tok = source.tok_weight[ids].float().numpy() if ids else np.zeros((0, source.emb_dim))
    pos = source.pos_weight[:len(ids)].float().numpy()
    return TextEmbeddings(list(ids), row_labels(source, ids), tok, pos, tok + pos, notices)


@dataclass
class Answer:
    """What the lab shows for one set of inputs: the embeddings, or a message in their place."""

    source: EmbeddingSource | None
    embeddings: TextEmbeddings | None = None
    notices: list[str] = field(default_factory=list)
    message: str = ""


def text_answer(model, name: str, text: str) -> Answer:
    """The loaded model's embeddings of the GPT-2 tokens of `text`."""
    from model.tokenizer import get_tokenizer

    source = model_source(model, name)
    clean, problem = sanitize(text)
    ids = get_tokenizer().encode(clean)
    if not ids:
        return Answer(source, message="Type some text above (a sentence is enough): each of its "
                                      "tokens becomes a row of numbers here.")
    return _embedded(source, ids, [problem] if problem else [])


def demo_answer(sizes: tuple[int, int, int], raw_ids: str,
                source: EmbeddingSource | None = None) -> Answer:
    """The book demo's embeddings of the IDs typed, with layers of `sizes` (vocabulary,
    dimension, context); `source`, the layers built for these sizes before, is reused."""
    try:
        source = source or book_demo_source(*sizes)
    except ValueError as exc:
        return Answer(None, message=f"The book demo cannot be built: {exc}.")
    if not raw_ids.strip():
        return Answer(source, message="Type token IDs for the book demo (e.g. 2, 3, 5, 1).")
    ids, problems = parse_ids(raw_ids)
    if problems:
        return Answer(source, message="; ".join(problems))
    return _embedded(source, ids, [])


def _embedded(source: EmbeddingSource, ids: list[int], notices: list[str]) -> Answer:
    try:
        embeddings = embed(source, ids)
    except ValueError as exc:
        return Answer(source, message=f"{exc}. Raise the vocabulary size or use smaller IDs.")
    return Answer(source, embeddings, notices + embeddings.notices)


def cosine_matrix(x: np.ndarray) -> np.ndarray:
    """Cosine similarity between every pair of rows."""
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit = x / np.where(norms == 0, 1.0, norms)
    return (unit @ unit.T).astype(np.float32)


@dataclass(frozen=True)
class Neighbour:
    id: int
    label: str
    cosine: float


def nearest_neighbours(source: EmbeddingSource, token_id: int, k: int = 10,
                       norms=None) -> list[Neighbour]:
    """The k tokens of the whole vocabulary closest to `token_id` by cosine (itself excluded).

    `norms` (the row norms of the table) can be passed in to reuse them across queries.
    """
    import torch

    weight = source.tok_weight
    if not 0 <= token_id < weight.shape[0]:
        raise ValueError(f"ID {token_id} is outside the vocabulary of {weight.shape[0]:,}")
    if norms is None:
        norms = row_norms(source)
    query = weight[token_id]
    with torch.no_grad():
        sims = (weight @ query) / (norms * query.norm()).clamp_min(1e-12)
        sims[token_id] = -float("inf")
        k = min(k, weight.shape[0] - 1)
        values, indices = torch.topk(sims, k)
    return [Neighbour(int(i), source.label(int(i)), float(v))
            for v, i in zip(values.tolist(), indices.tolist())]


def row_norms(source: EmbeddingSource):
    import torch

    with torch.no_grad():
        return source.tok_weight.norm(dim=1)


@dataclass
class Projection:
    points: np.ndarray  # (n, 2)
    explained: tuple[float, float]  # share of the variance each axis holds


def pca_2d(x: np.ndarray) -> Projection:
    """Project rows onto their two main directions of variation (PCA)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n == 0:
        return Projection(np.zeros((0, 2), dtype=np.float32), (0.0, 0.0))
    centred = x - x.mean(axis=0, keepdims=True)
    if n == 1 or not np.any(centred):
        return Projection(np.zeros((n, 2), dtype=np.float32), (0.0, 0.0))
    total = float((centred ** 2).sum()) or 1.0
    comps, top = _top_components(centred, 2)
    if comps.shape[0] < 2:
        comps = np.vstack([comps, np.zeros_like(comps)])
        top = np.append(top, 0.0)
    # Fix each axis' sign (largest loading positive) so the picture does not flip between runs.
    signs = np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    points = centred @ comps.T
    explained = (float(top[0] / total), float(top[1] / total))
    return Projection(points.astype(np.float32), explained)


def _top_components(centred: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k leading principal axes (k, d) and their variances (sums of squares).

    Small matrices get an exact eigen-decomposition. Large ones (the 1,024 x 768 positional
    table) use subspace iteration from a fixed start, which needs only thin matrix products:
    a full decomposition took over a second there, and a plot needs two axes.
    """
    n, d = centred.shape
    if d <= 96:
        evals, evecs = np.linalg.eigh(centred.T @ centred)  # (d, d)
        order = np.argsort(evals)[::-1][:k]
        return evecs[:, order].T, np.clip(evals[order], 0.0, None)
    if n <= 96:  # few rows: the (n, n) Gram matrix has the same non-zero spectrum
        evals, evecs = np.linalg.eigh(centred @ centred.T)
        order = np.argsort(evals)[::-1][:k]
        axes = (centred.T @ evecs[:, order]).T  # (k, d)
        axes /= np.maximum(np.linalg.norm(axes, axis=1, keepdims=True), 1e-12)
        return axes, np.clip(evals[order], 0.0, None)
    width = min(d, k + 8)
    q = np.random.default_rng(0).standard_normal((d, width))
    q, _ = np.linalg.qr(q)
    for _ in range(12):
        q, _ = np.linalg.qr(centred.T @ (centred @ q))
    projected = centred @ q  # (n, width)
    evals, evecs = np.linalg.eigh(projected.T @ projected)
    order = np.argsort(evals)[::-1][:k]
    return (q @ evecs[:, order]).T, np.clip(evals[order], 0.0, None)


def frequent_tokens(corpus: str, n: int = 100, skip_whitespace: bool = True) -> list[int]:
    """The `n` most frequent GPT-2 token IDs of a corpus (whitespace-only tokens skipped)."""
    from model.tokenizer import get_tokenizer

    counts = Counter(get_tokenizer().encode(corpus))
    out = []
    for token_id, _count in counts.most_common():
        if skip_whitespace and not token_info(token_id)[0].strip():
            continue
        out.append(token_id)
        if len(out) >= n:
            break
    return out


def unique_in_order(ids: list[int]) -> list[int]:
    return list(dict.fromkeys(ids))
