"""The Attention lab's logic without Qt (chapter 3 on the learner's text, and step by step).

Two halves:

* The model's attention on any text: `prepare_text` turns text into token ids and labels with
  plain notices for the awkward cases (empty, longer than the context, one token, only special
  tokens); `run_attention` runs `model.inspect.capture` and keeps, as numpy arrays, what the lab
  draws: every layer's and head's weights and Q/K/V (a head's raw scores on demand).
  `AttentionRun.pipeline` lays out chapter 3's steps for one head (Q, K, V, raw, scaled and
  masked scores, softmax weights).
* Chapter 3 step by step: `parse_inputs` reads the editable input table cell by cell and says
  what is wrong where; `compute_steps` runs `model.chapter3` and returns, per step, blocks of
  numbers printed to 4 decimals (the way the book prints tensors) with a matrix for a heatmap.

Torch is imported inside the functions that need it (the window paints before torch loads).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from model import chapter3_example as book
from model.tokenizer import ENDOFTEXT, ENDOFTEXT_ID
from studyapp.tensor_text import format_tensor
from studyapp.tokens import OPEN_BOX, token_label


# -- text to tokens -------------------------------------------------------------------------
@dataclass
class TokenizedText:
    ids: list[int]
    labels: list[str]
    total_tokens: int  # before truncation
    notices: list[str] = field(default_factory=list)
    problem: str | None = None  # set when there is nothing to run

    @property
    def ok(self) -> bool:
        return self.problem is None


def prepare_text(text: str, tokenizer, context_length: int) -> TokenizedText:
    """Tokenize for the lab: keep at most context_length tokens and explain what happened."""
    if not text or not text.strip():
        return TokenizedText([], [], 0, problem="Type some text above to see how the model's "
                                                "heads attend over it.")
    ids = list(tokenizer.encode(text))
    total = len(ids)
    notices = []
    if total > context_length:
        ids = ids[:context_length]
        notices.append(f"Your text has {total} tokens but this model reads at most "
                       f"{context_length}: the first {context_length} are shown.")
    if len(ids) == 1:
        notices.append("Only one token: it can attend to nothing but itself, so every head "
                       "gives it weight 1.0. Add a few words to see attention spread.")
    if ids and all(i == ENDOFTEXT_ID for i in ids):
        notices.append(f"The text holds only the special token {ENDOFTEXT}: the model runs on "
                       "it, but there are no words to look at.")
    labels = [token_label(i, OPEN_BOX, leading_space=False)[0] for i in ids]
    return TokenizedText(ids, labels, total, notices)


# -- the model's attention ------------------------------------------------------------------
@dataclass
class PipelineMatrix:
    key: str
    title: str
    values: np.ndarray  # 2-D; masked cells are NaN
    row_labels: list[str]
    col_labels: list[str]


@dataclass
class AttentionRun:
    """What one capture of the model on one text keeps for the lab (numpy, float32)."""

    token_ids: list[int]
    labels: list[str]
    weights: np.ndarray  # (n_layers, n_heads, T, T) softmax weights (0 above the diagonal)
    queries: np.ndarray  # (n_layers, n_heads, T, head_dim)
    keys: np.ndarray
    values: np.ndarray
    elapsed_ms: float = 0.0
    model_name: str = ""
    notices: list[str] = field(default_factory=list)

    @property
    def n_layers(self) -> int:
        return self.weights.shape[0]

    @property
    def n_heads(self) -> int:
        return self.weights.shape[1]

    @property
    def num_tokens(self) -> int:
        return self.weights.shape[2]

    @property
    def head_dim(self) -> int:
        return self.queries.shape[-1]

    def head_weights(self, layer: int, head: int | None) -> np.ndarray:
        """(T, T) weights of one head, or the mean over heads when head is None."""
        if head is None:
            return self.weights[layer].mean(axis=0)
        return self.weights[layer, head]

    def head_scores(self, layer: int, head: int) -> np.ndarray:
        """Raw scores q . k of one head (T, T), before scaling and masking.

        Computed from this run's queries and keys when asked: keeping every head's scores as
        well as its weights would double the memory (GPT-2 at 1,024 tokens: 600 MB each).
        """
        return self.queries[layer, head] @ self.keys[layer, head].T

    def pipeline(self, layer: int, head: int) -> list[PipelineMatrix]:
        """Chapter 3's steps for one head of the real model, from the same run."""
        t = self.num_tokens
        labels = self.labels
        dims = [f"d{i}" for i in range(self.head_dim)]
        raw = self.head_scores(layer, head)
        scaled = raw / math.sqrt(self.head_dim)
        future = np.triu(np.ones((t, t), dtype=bool), k=1)
        masked = np.where(future, -np.inf, scaled).astype(np.float32)
        weights = np.where(future, np.nan, self.weights[layer, head]).astype(np.float32)
        return [
            PipelineMatrix("queries", "Queries Q",
                           self.queries[layer, head], labels, dims),
            PipelineMatrix("keys", "Keys K", self.keys[layer, head], labels, dims),
            PipelineMatrix("values", "Values V", self.values[layer, head], labels, dims),
            PipelineMatrix("scores", "Raw scores QK\u1d40", raw, labels, labels),
            PipelineMatrix("scaled", f"Scaled \u00f7 \u221a{self.head_dim}", scaled,
                           labels, labels),
            PipelineMatrix("masked", "Masked (-inf)", masked, labels, labels),
            PipelineMatrix("weights", "Softmax weights", weights, labels, labels),
        ]

    def top_attended(self, layer: int, head: int | None, query: int, k: int = 3):
        """The k keys query `query` attends to most: [(index, label, weight)]."""
        row = self.head_weights(layer, head)[query, : query + 1]
        order = np.argsort(-row, kind="stable")[:k]
        return [(int(j), self.labels[j], float(row[j])) for j in order]


def most_focused_head(run: AttentionRun, skip_rows: int = 4) -> tuple[int, int]:
    """(layer, head) whose queries put the most weight on one key other than the first.

    Heads that pile everything on token 0 (attention sinks) or spread evenly are the least
    telling; a head with sharp weights elsewhere (say, on the previous token) shows what
    attention learns, so screenshots open on it.
    """
    t = run.num_tokens
    if t <= skip_rows + 1:
        return 0, 0
    rest = run.weights[:, :, skip_rows:, 1:]  # (L, H, rows, keys after the first)
    score = rest.max(axis=-1).mean(axis=-1)  # (L, H)
    layer, head = np.unravel_index(int(np.argmax(score)), score.shape)
    return int(layer), int(head)


def masked_for_display(weights: np.ndarray) -> np.ndarray:
    """Weights with the never-visible upper triangle as NaN, so heatmaps leave it empty."""
    t = weights.shape[-1]
    return np.where(np.triu(np.ones((t, t), dtype=bool), k=1), np.nan, weights).astype(np.float32)


def run_attention(model, token_ids: Sequence[int], labels: Sequence[str] | None = None,
                  model_name: str = "", notices: Sequence[str] = ()) -> AttentionRun:
    """Capture every layer's attention for the tokens (plain data, safe to hand to the GUI)."""
    import torch

    from model.inspect import capture

    if not token_ids:
        raise ValueError("there are no tokens to run the model on")
    start = time.perf_counter()
    idx = torch.tensor([list(token_ids)], dtype=torch.long)
    # The session's models are in eval mode (no dropout); this runs on a worker, so it reads
    # the model and never switches its mode. The lab looks inside the blocks only: no logits.
    cap = capture(model, idx, logits=False)

    def stack(name):
        return torch.stack([getattr(layer, name)[0] for layer in cap.layers]).float().numpy()

    run = AttentionRun(
        token_ids=list(token_ids),
        labels=list(labels) if labels is not None else [str(i) for i in token_ids],
        weights=stack("attn_weights"), queries=stack("queries"),
        keys=stack("keys"), values=stack("values"), model_name=model_name,
        notices=list(notices),
    )
    run.elapsed_ms = (time.perf_counter() - start) * 1000.0
    return run


# -- chapter 3 step by step -----------------------------------------------------------------
@dataclass
class CellProblem:
    row: int
    col: int  # -1: the whole row
    message: str


def _to_float(text: str) -> float:
    # A lone decimal comma ("0,43") is how many locales type numbers; accept it.
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    return float(text)


def parse_inputs(cells: Sequence[Sequence[str]], words: Sequence[str] | None = None):
    """Read the editable input vectors; returns (values or None, problems).

    Every row must hold the same number of numbers (the embedding size d_in); a problem names
    the token and the column so the learner knows which field to fix.
    """
    if not cells:
        return None, [CellProblem(-1, -1, "there are no input vectors; add at least one token")]
    problems: list[CellProblem] = []
    rows: list[list[float]] = []
    width = len(cells[0])
    for r, row in enumerate(cells):
        who = f"'{words[r]}'" if words and r < len(words) and words[r] else f"row {r + 1}"
        if len(row) == 0:
            problems.append(CellProblem(r, -1, f"{who}: the vector is empty"))
            continue
        if len(row) != width:
            problems.append(CellProblem(r, -1, f"{who} has {len(row)} numbers but the first "
                                               f"vector has {width}; all input vectors must "
                                               "have the same size"))
            continue
        parsed = []
        for c, cell in enumerate(row):
            text = str(cell).strip()
            where = f"{who}, column {c + 1}"
            if text == "":
                problems.append(CellProblem(r, c, f"{where} is empty: every input vector needs "
                                                  f"{width} numbers"))
                continue
            try:
                value = _to_float(text)
            except ValueError:
                problems.append(CellProblem(r, c, f"{where}: '{text}' is not a number"))
                continue
            if not math.isfinite(value):
                problems.append(CellProblem(r, c, f"{where}: '{text}' is not a finite number"))
                continue
            parsed.append(value)
        rows.append(parsed)
    if problems:
        return None, problems
    return rows, []


@dataclass
class StepParams:
    """Everything the step-by-step tab lets the learner edit (the book's values by default)."""

    inputs: list[list[float]] | None = None  # None = the book's six 3-d vectors
    words: list[str] | None = None
    query_index: int = book.BOOK_QUERY_INDEX
    d_out: int = book.BOOK_D_OUT
    seed_trainable: int = book.BOOK_SEED_TRAINABLE
    seed_causal: int = book.BOOK_SEED_CAUSAL
    dropout_rate: float = book.BOOK_DROPOUT
    seed_dropout: int = book.BOOK_SEED_DROPOUT
    num_heads: int = book.BOOK_NUM_HEADS
    seed_multihead: int = book.BOOK_SEED_MULTIHEAD


def book_params() -> StepParams:
    return StepParams(inputs=[list(v) for v in book.BOOK_INPUTS], words=list(book.BOOK_WORDS))


def check_params(p: StepParams) -> dict[str, str]:
    """Field name -> what is wrong with it (empty when every field is usable)."""
    problems = {}
    n = len(p.inputs) if p.inputs else 0
    if n and not 0 <= p.query_index < n:
        problems["query_index"] = f"choose a query token between 1 and {n}"
    if p.d_out < 1:
        problems["d_out"] = "d_out must be at least 1"
    if not 0.0 <= p.dropout_rate < 1.0:
        problems["dropout_rate"] = "the dropout rate must be at least 0 and below 1"
    if p.num_heads < 1:
        problems["num_heads"] = "at least one head"
    elif p.d_out % p.num_heads:
        problems["num_heads"] = (f"MultiHeadAttention splits d_out ({p.d_out}) into equal heads: "
                                 f"{p.num_heads} heads do not divide it")
    return problems


@dataclass
class Block:
    """One printed result: its numbers as text and, when it is a matrix, a heatmap."""

    title: str
    text: str
    matrix: np.ndarray | None = None
    row_labels: list[str] | None = None
    col_labels: list[str] | None = None
    note: str = ""


@dataclass
class Step:
    number: int
    key: str
    title: str
    explanation: str
    blocks: list[Block]
    checks: list[str] = field(default_factory=list)  # agreements the step demonstrates


STEP_TITLES = (
    (1, "simplified", "1. Simplified self-attention"),
    (2, "trainable", "2. Trainable weights"),
    (3, "causal", "3. Causal mask"),
    (4, "dropout", "4. Dropout"),
    (5, "multihead", "5. Multi-head attention"),
)


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def _block(title, tensor, rows=None, cols=None, note="", heat=True, display=None):
    arr = _np(tensor)
    mat = None
    if heat:
        mat = display if display is not None else (arr[None, :] if arr.ndim == 1 else arr)
    return Block(title, format_tensor(arr), mat, rows, cols, note)


def _naive_note(s1) -> str:
    total = float(s1.scores.sum())
    if bool((s1.scores < 0).any()):
        return (f"scores sum to {total:.4f}; with negative scores the naive weights can be "
                "negative or blow up. Softmax stays positive.")
    return f"sum = {float(s1.naive_weights.sum()):.4f}"


def compute_steps(p: StepParams, multihead: bool = True) -> list[Step]:
    """Chapter 3's steps for these parameters (raises ValueError on unusable ones).

    multihead=False stops after step 4, so that a head count that does not divide d_out only
    holds back step 5.
    """
    from model import chapter3 as c3

    problems = check_params(p)
    if not multihead:
        problems.pop("num_heads", None)
    if problems:
        raise ValueError("; ".join(problems.values()))
    x = c3.as_inputs(p.inputs)
    n, d_in = x.shape
    words = list(p.words or [])[:n] + [f"x{i + 1}" for i in range(len(p.words or []), n)]
    q = p.query_index
    qw = words[q]
    qname = f"x^{q + 1} '{qw}'"
    dims_in = [f"d{i}" for i in range(d_in)]
    dims_out = [f"d{i}" for i in range(p.d_out)]

    s1 = c3.simplified_attention(x, q)
    step1 = Step(1, "simplified", STEP_TITLES[0][2], (
        f"Each input attends to every input by plain dot products. For the query {qname}, the "
        "scores are x\u1d62\u00b7x^q; normalising them by their sum makes them add to 1, but "
        "softmax does so while keeping every weight positive, even for negative scores. The "
        "context vector is the weighted sum of the inputs. Repeating this for every query gives "
        "the full weight matrix (rows sum to 1) and all context vectors."), [
        _block(f"attention scores for {qname}: inputs @ query", s1.scores, [qw], words),
        _block("naive normalisation: scores / scores.sum()", s1.naive_weights, [qw], words,
               note=_naive_note(s1)),
        _block("softmax(scores)", s1.weights, [qw], words,
               note=f"sum = {float(s1.weights.sum()):.4f}"),
        _block(f"context vector z^{q + 1} = weights @ inputs", s1.context, [qw], dims_in),
        _block("all attention scores: inputs @ inputs.T", s1.all_scores, words, words),
        _block("all attention weights: softmax(scores, dim=-1)", s1.all_weights, words, words,
               note="every row sums to 1"),
        _block("all context vectors: weights @ inputs", s1.all_context, words, dims_in),
    ])

    s2 = c3.trainable_attention(x, q, p.d_out, p.seed_trainable)
    agree2 = float((s2.context - s2.module_context).abs().max())
    step2 = Step(2, "trainable", STEP_TITLES[1][2], (
        f"torch.manual_seed({p.seed_trainable}) and then W_query, W_key, W_value = "
        f"nn.Parameter(torch.rand({d_in}, {p.d_out})) each, in that order, as the book creates "
        "them. Every input is projected to a query, a key and a value; the query's scores "
        f"against the keys are divided by \u221ad_k = \u221a{s2.d_k} before softmax, so larger "
        "dimensions do not push softmax into near one-hot weights."), [
        _block("W_query", s2.W_query, dims_in, dims_out),
        _block("W_key", s2.W_key, dims_in, dims_out),
        _block("W_value", s2.W_value, dims_in, dims_out),
        _block(f"query_{q + 1} = x^{q + 1} @ W_query", s2.query, [qw], dims_out),
        _block("keys = inputs @ W_key", s2.keys, words, dims_out),
        _block("values = inputs @ W_value", s2.values, words, dims_out),
        _block(f"attn_score_{q + 1}{q + 1}: the query against its own key", s2.self_score,
               heat=False),
        _block(f"attn_scores_{q + 1} = query_{q + 1} @ keys.T", s2.scores_q, [qw], words),
        _block(f"scaled: attn_scores_{q + 1} / {s2.d_k}**0.5", s2.scaled_q, [qw], words),
        _block(f"attn_weights_{q + 1} = softmax(scaled)", s2.weights_q, [qw], words),
        _block(f"context_vec_{q + 1} = attn_weights_{q + 1} @ values", s2.context_q, [qw],
               dims_out),
        _block("all scores: queries @ keys.T", s2.scores, words, words),
        _block(f"all weights: softmax(scores / {s2.d_k}**0.5)", s2.weights, words, words),
        _block("all context vectors (= SelfAttention_v1 with the same seed)", s2.context,
               words, dims_out),
    ], [f"SelfAttention_v1({d_in}, {p.d_out}) under seed {p.seed_trainable} gives the same "
        f"context vectors (largest difference {agree2:.1e})"])

    s3 = c3.causal_attention(x, p.d_out, p.seed_causal)
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)

    def hide_future(t):
        return np.where(upper, np.nan, _np(t)).astype(np.float32)

    step3 = Step(3, "causal", STEP_TITLES[2][2], (
        f"The book continues with SelfAttention_v2 (nn.Linear layers) built after "
        f"torch.manual_seed({p.seed_causal}). A token may only attend to itself and earlier "
        "tokens. Route A: softmax, then zero everything above the diagonal with torch.tril and "
        "renormalise each row. Route B: put -inf above the diagonal of the scores, then softmax "
        "(e^-inf = 0), which normalises over the visible keys in one pass. Both give the same "
        "weights."), [
        _block("attention weights before masking", s3.weights, words, words),
        _block("mask_simple = torch.tril(torch.ones(T, T))", s3.mask_simple, words, words),
        _block("route A: weights * mask_simple (rows no longer sum to 1)", s3.masked_simple,
               words, words, display=hide_future(s3.masked_simple)),
        _block("route A: ... / row sums", s3.masked_simple_norm, words, words,
               display=hide_future(s3.masked_simple_norm)),
        _block("route B: scores.masked_fill(mask, -inf)", s3.masked_scores, words, words,
               display=hide_future(s3.masked_scores)),
        _block(f"route B: softmax(masked / {p.d_out}**0.5)", s3.masked_weights, words, words,
               display=hide_future(s3.masked_weights)),
        _block("context vectors with the causal weights", s3.context, words, dims_out),
    ], [f"Route A and route B agree: largest difference {s3.routes_max_difference:.1e}"])

    s4 = c3.dropout_attention(s3.masked_weights, p.dropout_rate, p.seed_dropout)
    kept = int(s4.kept.sum())
    step4 = Step(4, "dropout", STEP_TITLES[3][2], (
        f"During training, dropout zeroes each attention weight with probability "
        f"p = {s4.rate:g} and multiplies the survivors by 1/(1-p) = {s4.scale:.4f}, so the "
        f"expected sum of each row is unchanged. With torch.manual_seed({s4.seed}) reset "
        "before each call the same positions survive in the matrix of ones and in the weights. "
        "In evaluation (model.eval()) dropout does nothing."), [
        _block("dropout(torch.ones(T, T))", s4.example, words, words,
               note=f"{kept} of {n * n} kept, each now {s4.scale:.4f}"),
        _block("causal weights (step 3)", s4.weights, words, words,
               display=hide_future(s4.weights)),
        _block("dropout(weights)", s4.dropped, words, words, display=hide_future(s4.dropped)),
    ])

    if not multihead:
        return [step1, step2, step3, step4]
    s5 = c3.multi_head_attention(x, p.d_out, p.num_heads, p.seed_multihead)
    shape_text = "\n".join(f"{name:<50} {tuple(shape)}" for name, shape in s5.shapes)
    step5 = Step(5, "multihead", STEP_TITLES[4][2], (
        f"The book stacks the inputs twice into a batch of shape {tuple(s5.batch.shape)}. "
        f"MultiHeadAttentionWrapper runs {p.num_heads} CausalAttention heads of d_out = "
        f"{p.d_out} side by side and concatenates them ({p.num_heads * p.d_out} columns). "
        f"MultiHeadAttention instead projects once to d_out = {p.d_out}, splits it into "
        f"{p.num_heads} heads of head_dim = {s5.head_dim} with view and transpose, attends in "
        f"every head at once, merges the heads back and mixes them with out_proj. All modules "
        f"are built after torch.manual_seed({p.seed_multihead}) with dropout 0."), [
        _block("one CausalAttention head: context_vecs[0]", s5.causal_context[0], words,
               dims_out, note=f"context_vecs.shape: {tuple(s5.causal_context.shape)}"),
        _block("MultiHeadAttentionWrapper: context_vecs[0]", s5.wrapper_context[0], words,
               [f"h{h}.d{i}" for h in range(p.num_heads) for i in range(p.d_out)],
               note=f"context_vecs.shape: {tuple(s5.wrapper_context.shape)}"),
        *[_block(f"wrapper head {h}: attention weights", w, words, words,
                 display=hide_future(w)) for h, w in enumerate(s5.wrapper_head_weights)],
        _block("MultiHeadAttention: context_vecs[0]", s5.mha_context[0], words, dims_out,
               note=f"context_vecs.shape: {tuple(s5.mha_context.shape)}"),
        *[_block(f"MultiHeadAttention head {h}: attention weights", s5.mha_weights[h], words,
                 words, display=hide_future(s5.mha_weights[h])) for h in range(p.num_heads)],
        Block("shapes inside MultiHeadAttention", shape_text),
    ])
    return [step1, step2, step3, step4, step5]
