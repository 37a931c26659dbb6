"""Chapter 5's small demonstrations, computed the way the book computes them.

- Section 5.3.1, temperature scaling: a 9-word vocabulary ("closer" ... "you", IDs 0..8) with
  fixed next-token logits; softmax of logits / T at T = 1, 0.1 and 5, and 1,000 draws with
  `torch.manual_seed(123)` taking one `torch.multinomial(probas, num_samples=1)` at a time
  (T = 1 gives forward 582, toward 343, closer 73, inches 2).
- Section 5.3.2, top-k: keep the k largest logits, set the rest to -inf, softmax.
- Section 5.1.2, the loss of a continuation: each target token's probability under the model,
  the average negative log probability (cross-entropy) and its exponential (perplexity).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

VOCAB: dict[str, int] = {
    "closer": 0, "every": 1, "effort": 2, "forward": 3, "inches": 4,
    "moves": 5, "pizza": 6, "toward": 7, "you": 8,
}
INVERSE_VOCAB: dict[int, str] = {i: w for w, i in VOCAB.items()}
WORDS: list[str] = [INVERSE_VOCAB[i] for i in range(len(VOCAB))]
# The model's next-token logits after "every effort moves you", as the book prints them.
NEXT_TOKEN_LOGITS: list[float] = [4.51, 0.89, -1.90, 6.75, 1.63, -1.62, -1.89, 6.28, 1.79]
TEMPERATURES: tuple[float, ...] = (1.0, 0.1, 5.0)
BOOK_SEED = 123


def book_logits() -> torch.Tensor:
    return torch.tensor(NEXT_TOKEN_LOGITS)


def softmax_with_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Softmax of logits / T: T < 1 sharpens the distribution, T > 1 flattens it."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive here, got {temperature}")
    return torch.softmax(logits / temperature, dim=0)


def sample_counts(probas: torch.Tensor, draws: int = 1000, seed: int = BOOK_SEED) -> list[int]:
    """How often each ID comes up in `draws` samples, drawn one at a time as the book does.

    One call per draw matters: a single call for all draws consumes the random stream
    differently and gives other counts than the book prints. A private generator seeded with
    `seed` yields the same stream as the book's `torch.manual_seed(seed)`, without touching the
    global generator that other threads (training, generation) may be using.
    """
    generator = torch.Generator().manual_seed(seed)
    sample = [torch.multinomial(probas, num_samples=1, generator=generator).item()
              for _ in range(draws)]
    return torch.bincount(torch.tensor(sample), minlength=probas.shape[0]).tolist()


@dataclass
class TemperatureRow:
    temperature: float
    probas: list[float]  # one per word, in VOCAB order
    counts: list[int]  # out of `draws`


def temperature_table(temperatures=TEMPERATURES, draws: int = 1000, seed: int = BOOK_SEED,
                      logits: torch.Tensor | None = None) -> list[TemperatureRow]:
    """Probabilities and sampled counts at each temperature (section 5.3.1)."""
    logits = book_logits() if logits is None else logits
    rows = []
    for t in temperatures:
        probas = softmax_with_temperature(logits, t)
        rows.append(TemperatureRow(float(t), probas.tolist(), sample_counts(probas, draws, seed)))
    return rows


@dataclass
class TopKDemo:
    k: int
    top_logits: list[float]  # the k largest, descending
    top_positions: list[int]  # their IDs
    masked_logits: list[float]  # -inf outside the top k
    probas: list[float]  # softmax of the masked logits


def top_k_demo(k: int = 3, logits: torch.Tensor | None = None) -> TopKDemo:
    """Section 5.3.2: the k largest logits survive, the others become -inf before softmax."""
    logits = book_logits() if logits is None else logits
    if not 1 <= k <= logits.shape[0]:
        raise ValueError(f"k must be between 1 and {logits.shape[0]}, got {k}")
    top_logits, top_pos = torch.topk(logits, k)
    masked = torch.where(logits < top_logits[-1], torch.tensor(float("-inf")), logits)
    return TopKDemo(k, top_logits.tolist(), top_pos.tolist(), masked.tolist(),
                    torch.softmax(masked, dim=0).tolist())


@dataclass
class ContinuationLoss:
    """How well a model predicts a target continuation of a prompt (section 5.1.2)."""

    context_ids: list[int]  # the prompt tokens the first target was predicted from
    target_ids: list[int]
    probas: list[float]  # p(target_i | everything before it)
    log_probas: list[float]
    cross_entropy: float  # mean of -log p over the targets
    perplexity: float  # exp(cross_entropy): the effective number of equally likely choices
    argmax_ids: list[int] = field(default_factory=list)  # what the model would have picked
    notices: list[str] = field(default_factory=list)


@torch.no_grad()
def continuation_loss(model, prompt_ids: list[int], target_ids: list[int]) -> ContinuationLoss:
    """Probability of each target token given the prompt and the targets before it.

    As in the book, the model reads inputs = sequence[:-1] and is scored on targets =
    sequence[1:]; only the continuation's positions count. An empty prompt starts from
    `<|endoftext|>`; a sequence longer than the context loses prompt tokens from the front.
    """
    from model.tokenizer import ENDOFTEXT, ENDOFTEXT_ID

    if not target_ids:
        raise ValueError("the target continuation is empty: type the text the model should "
                         "predict after the prompt")
    notices = []
    prompt_ids = list(prompt_ids)
    if not prompt_ids:
        prompt_ids = [ENDOFTEXT_ID]
        notices.append(f"The prompt is empty: the first target is predicted from {ENDOFTEXT}.")
    ctx = model.cfg.context_length
    target_ids = list(target_ids)
    if len(target_ids) > ctx:
        notices.append(f"The continuation has {len(target_ids):,} tokens; only the first "
                       f"{ctx:,} fit the model's context and are scored.")
        target_ids = target_ids[:ctx]
    keep = ctx + 1 - len(target_ids)  # prompt tokens that still fit in front of the targets
    if len(prompt_ids) > keep:
        notices.append(f"Prompt and continuation exceed the context ({ctx:,} tokens): only the "
                       f"last {keep:,} prompt tokens are used.")
        prompt_ids = prompt_ids[-keep:]
    sequence = torch.tensor([prompt_ids + target_ids])
    inputs, targets = sequence[:, :-1], sequence[:, 1:]  # (1, n)
    was_training = model.training
    model.eval()
    try:
        logits = model(inputs)  # (1, n, vocab)
    finally:
        model.train(was_training)
    first = len(prompt_ids) - 1  # position whose next token is the first target
    logits = logits[0, first:]  # (num_targets, vocab)
    wanted = targets[0, first:]
    probas = torch.softmax(logits, dim=-1)
    target_probas = probas[torch.arange(len(target_ids)), wanted]
    log_probas = torch.log(target_probas)
    # The book's shortcut: cross_entropy on the logits equals -mean(log p) over the targets.
    ce = torch.nn.functional.cross_entropy(logits, wanted)
    return ContinuationLoss(
        context_ids=prompt_ids, target_ids=target_ids, probas=target_probas.tolist(),
        log_probas=log_probas.tolist(), cross_entropy=float(ce), perplexity=float(torch.exp(ce)),
        argmax_ids=probas.argmax(dim=-1).tolist(), notices=notices)
