"""Chapters 4 and 5: turning logits into text.

Greedy decoding (`generate_text_simple`, section 4.7), temperature and top-k sampling
(`generate`, section 5.3; top-p added), streaming one token at a time (`iter_generate`) for the
Generate lab, and the next-token distribution for a prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import torch


def _crop(idx: torch.Tensor, context_size: int) -> torch.Tensor:
    # The model only sees its last context_size tokens (positional embeddings end there).
    return idx[:, -context_size:]


def generate_text_simple(model, idx: torch.Tensor, max_new_tokens: int,
                         context_size: int) -> torch.Tensor:
    """Section 4.7: append the argmax token `max_new_tokens` times. idx: (b, num_tokens)."""
    for _ in range(max_new_tokens):
        with torch.no_grad():
            logits = model(_crop(idx, context_size))
        logits = logits[:, -1, :]  # (b, vocab_size): only the last position predicts
        idx_next = torch.argmax(logits, dim=-1, keepdim=True)  # (b, 1)
        idx = torch.cat((idx, idx_next), dim=1)
    return idx


def apply_top_k(logits: torch.Tensor, top_k: int | None) -> torch.Tensor:
    """Keep the `top_k` largest logits, the rest become -inf (section 5.3.2)."""
    if top_k is None or top_k <= 0 or top_k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
    return torch.where(logits < kth, torch.tensor(float("-inf"), device=logits.device), logits)


def apply_top_p(logits: torch.Tensor, top_p: float | None) -> torch.Tensor:
    """Nucleus filtering: keep the smallest set of tokens whose probability reaches `top_p`."""
    if top_p is None or top_p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
    cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
    # Drop a token when the tokens before it already reach top_p; the first always stays.
    drop_sorted = (cumulative - torch.softmax(sorted_logits, dim=-1)) >= top_p
    drop_sorted[..., 0] = False  # even top_p <= 0 keeps the most likely token
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def next_token_probs(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                     top_p: float | None = None) -> torch.Tensor:
    """Probabilities of the next token from last-position logits (..., vocab)."""
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    logits = apply_top_p(apply_top_k(logits, top_k), top_p)
    if temperature == 0:
        probs = torch.zeros_like(logits)
        return probs.scatter(-1, logits.argmax(dim=-1, keepdim=True), 1.0)
    probs = torch.softmax(logits / temperature, dim=-1)
    if not torch.isfinite(probs).all():
        # A temperature so small that logits / temperature overflows (inf - inf in the softmax):
        # measured from the largest logit and in float64 the same distribution stays finite.
        wide = logits.double()
        shifted = (wide - wide.amax(dim=-1, keepdim=True)) / temperature
        probs = torch.softmax(shifted.nan_to_num(nan=float("-inf")), dim=-1).to(logits.dtype)
    return probs


@dataclass
class GenStep:
    """One generation step: the token chosen and the last-position logits it was chosen from."""

    token: int
    logits: torch.Tensor  # (vocab,), raw: before temperature, top-k or top-p


def iter_generate_steps(model, idx: torch.Tensor, max_new_tokens: int,
                        context_size: int | None = None, temperature: float = 0.0,
                        top_k: int | None = None, top_p: float | None = None,
                        eos_id: int | None = None, seed: int | None = None,
                        use_cache: bool = False) -> Iterator[GenStep]:
    """Like `iter_generate`, yielding each token with the logits it came from (batch of one).

    With `use_cache` the keys and values of earlier tokens are kept (model.kv_cache): the same
    tokens, fewer computations per step.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    context_size = context_size or model.cfg.context_length
    generator = None
    if seed is not None:
        generator = torch.Generator(device=idx.device).manual_seed(seed)
    stepper = None
    if use_cache:
        from model.kv_cache import CachedStepper

        stepper = CachedStepper(model, context_size)
    was_training = model.training
    model.eval()
    try:
        for step in range(max_new_tokens):
            with torch.no_grad():
                if stepper is None:
                    logits = model(_crop(idx, context_size))[:, -1, :]  # (1, vocab)
                elif step == 0:
                    logits = stepper.first(idx)
                else:
                    logits = stepper.step(idx[:, -1:])
            if temperature == 0:
                idx_next = torch.argmax(apply_top_k(logits, top_k), dim=-1, keepdim=True)
            else:
                probs = next_token_probs(logits, temperature, top_k, top_p)
                idx_next = torch.multinomial(probs, num_samples=1, generator=generator)
            token = int(idx_next[0, 0])
            if eos_id is not None and token == eos_id:
                return
            idx = torch.cat((idx, idx_next), dim=1)
            yield GenStep(token=token, logits=logits[0])
    finally:
        model.train(was_training)


def iter_generate(model, idx: torch.Tensor, max_new_tokens: int, context_size: int | None = None,
                  temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
                  eos_id: int | None = None, seed: int | None = None,
                  use_cache: bool = False) -> Iterator[int]:
    """Yield new token IDs one at a time (batch of one). Temperature 0 is greedy decoding."""
    for step in iter_generate_steps(model, idx, max_new_tokens, context_size, temperature, top_k,
                                    top_p, eos_id, seed, use_cache):
        yield step.token


def generate(model, idx: torch.Tensor, max_new_tokens: int, context_size: int | None = None,
             temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
             eos_id: int | None = None, seed: int | None = None,
             use_cache: bool = False) -> torch.Tensor:
    """Section 5.3: the prompt plus up to `max_new_tokens` generated IDs, (1, T + new)."""
    new = list(iter_generate(model, idx, max_new_tokens, context_size, temperature, top_k,
                             top_p, eos_id, seed, use_cache))
    return torch.cat([idx, torch.tensor([new], dtype=idx.dtype, device=idx.device)], dim=1)


def next_token_distribution(model, idx: torch.Tensor, temperature: float = 1.0,
                            top_k: int | None = None, top_p: float | None = None) -> torch.Tensor:
    """The probability of every vocabulary entry coming next after idx (1, T): (vocab,)."""
    context_size = model.cfg.context_length
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(_crop(idx, context_size))[0, -1, :]
    finally:
        model.train(was_training)
    return next_token_probs(logits, temperature, top_k, top_p)


# -- input checks shared by the CLI and the Generate lab ----------------------------------------

@dataclass
class PreparedPrompt:
    """Token IDs to feed the model, and what was done to the text to get them."""

    ids: list[int]
    notices: list[str] = field(default_factory=list)
    dropped: int = 0  # tokens cut from the front to fit the context


def prepare_prompt(text: str, tokenizer, context_length: int) -> PreparedPrompt:
    """Encode a prompt; an empty one becomes `<|endoftext|>`, a long one its last tokens."""
    from model.tokenizer import ENDOFTEXT, ENDOFTEXT_ID

    ids = tokenizer.encode(text) if text else []
    notices = []
    if not ids:
        ids = [ENDOFTEXT_ID]
        notices.append(f"The prompt is empty: generating from {ENDOFTEXT} (ID {ENDOFTEXT_ID}), "
                       "the token that starts a new document.")
    dropped = max(0, len(ids) - context_length)
    if dropped:
        ids = ids[-context_length:]
        notices.append(f"The prompt has {len(ids) + dropped:,} tokens but the model sees "
                       f"{context_length:,}: only the last {context_length:,} are used.")
    return PreparedPrompt(ids=ids, notices=notices, dropped=dropped)


#: The largest seed torch's random generator takes (an unsigned 64-bit number).
MAX_SEED = 2**64 - 1
#: A prompt file larger than this is refused: the model sees at most its context anyway.
MAX_PROMPT_FILE_BYTES = 4 * 2**20


@dataclass(frozen=True)
class SamplingSettings:
    """Decoding settings, checked: temperature 0 is greedy; None switches a filter off."""

    max_new_tokens: int = 25
    temperature: float = 0.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = 123

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


def check_settings(max_new_tokens: int, temperature: float, top_k: int | None,
                   top_p: float | None, seed: int | None, vocab_size: int
                   ) -> tuple[SamplingSettings, list[str]]:
    """Validate decoding settings: returns them normalised with notices, or raises ValueError
    with a message for the learner (negative temperature or counts, top-p outside (0, 1])."""
    notices = []
    if temperature is None or temperature != temperature or temperature < 0:
        raise ValueError(f"Temperature must be 0 or more (0 means greedy decoding); "
                         f"got {temperature}.")
    if temperature == float("inf"):
        raise ValueError("Temperature must be a finite number (large values make every token "
                         "equally likely); got inf.")
    if max_new_tokens < 0:
        raise ValueError(f"Max new tokens must be 0 or more; got {max_new_tokens}.")
    if max_new_tokens == 0:
        notices.append("Max new tokens is 0: nothing is generated (the next-token "
                       "distribution after the prompt is still shown).")
    if top_k is not None and top_k < 0:
        raise ValueError(f"Top-k must be 0 (off) or more; got {top_k}.")
    if not top_k:
        top_k = None
    elif top_k >= vocab_size:
        notices.append(f"Top-k {top_k:,} is not smaller than the vocabulary ({vocab_size:,} "
                       "tokens): nothing is masked.")
        top_k = None
    if top_p is not None:
        if not 0 < top_p <= 1:
            raise ValueError(f"Top-p must be in (0, 1] (1 means off); got {top_p}.")
        if top_p == 1:
            top_p = None
    if temperature == 0 and top_p is not None:
        notices.append("Greedy decoding takes the most likely token; top-p changes nothing.")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise ValueError(f"Seed must be a whole number from 0 to {MAX_SEED:,}; got {seed}.")
    return SamplingSettings(max_new_tokens, float(temperature), top_k, top_p, seed), notices


class StreamDecoder:
    """Text of tokens as they arrive. GPT-2's BPE works on bytes, so one character can span two
    tokens; bytes of an unfinished character are held back until it completes."""

    def __init__(self, tokenizer):
        import codecs

        self._tokenizer = tokenizer
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, token: int) -> str:
        return self._utf8.decode(self._tokenizer.decode_single_token_bytes(token))

    def flush(self) -> str:
        return self._utf8.decode(b"", final=True)


# -- python -m model.generate ---------------------------------------------------------------------

def read_prompt_file(path) -> str:
    """The text of a prompt file; ValueError with a message for anything but a regular UTF-8
    file of at most MAX_PROMPT_FILE_BYTES (a pipe or device would block or never end)."""
    import os
    import stat

    try:
        # Non-blocking open: opening a FIFO for reading would otherwise wait for a writer.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except IsADirectoryError:
        raise ValueError(f"{path} is a folder, not a prompt file.") from None
    except OSError as exc:
        raise ValueError(f"cannot read the prompt file {path}: {exc.strerror or exc}.") from None
    with os.fdopen(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ValueError(f"{path} is a folder, not a prompt file.")
        if not stat.S_ISREG(mode):
            raise ValueError(f"{path} is not a regular file (a pipe or device); save the "
                             "prompt to a file and give that.")
        data = fh.read(MAX_PROMPT_FILE_BYTES + 1)
    if len(data) > MAX_PROMPT_FILE_BYTES:
        raise ValueError(f"the prompt file {path} is larger than "
                         f"{MAX_PROMPT_FILE_BYTES // 2**20} MiB; the model sees only its last "
                         "context_length tokens, so give the end of it.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"the prompt file {path} is not UTF-8 text (byte {exc.start:,}).") \
            from None


def _build_parser():
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m model.generate",
        description="Generate text with a GPT (chapters 4 and 5): prints the prompt followed by "
                    "the generated text. Temperature 0 is greedy decoding.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompt", help="text to continue ('' starts from <|endoftext|>)")
    source.add_argument("--prompt-file", metavar="FILE",
                        help="read the text to continue from a UTF-8 file (a long prompt keeps "
                             "its last context_length tokens)")
    parser.add_argument("--checkpoint", default="bundled",
                        help="'bundled' (default), an app checkpoint (.safetensors), a book "
                             "state dict (.pth) or GPT-2 in the Hugging Face layout")
    parser.add_argument("--preset", default=None,
                        help="use an untrained model of this preset instead of a checkpoint")
    parser.add_argument("--n-heads", type=int, default=None,
                        help="attention heads, for files that do not record them")
    parser.add_argument("--max-new-tokens", type=int, default=25)
    parser.add_argument("--temperature", type=float, default=0.0)
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--top-p", type=float, default=None)
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--no-kv-cache", dest="kv_cache", action="store_false",
                        help="recompute every position at every step (the book's loop)")
    return parser


def main(argv: list[str] | None = None) -> int:
    import sys

    args = _build_parser().parse_args(argv)
    if args.prompt_file is not None:
        try:
            args.prompt = read_prompt_file(args.prompt_file)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        # Checked before a model is loaded, so bad input is refused at once.
        settings, notices = check_settings(args.max_new_tokens, args.temperature, args.top_k,
                                           args.top_p, args.seed, vocab_size=50257)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from model.checkpoint import CheckpointError, load_bundled, load_checkpoint
    from model.tokenizer import get_tokenizer

    try:
        if args.preset:
            from model.config import get_preset
            from model.gpt import GPTModel

            torch.manual_seed(args.seed if args.seed is not None else 123)
            model = GPTModel(get_preset(args.preset)).eval()
        elif args.checkpoint == "bundled":
            model = load_bundled().model
        else:
            model = load_checkpoint(args.checkpoint, n_heads=args.n_heads).model
    except (CheckpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    tokenizer = get_tokenizer()
    if model.cfg.vocab_size < tokenizer.n_vocab:
        print(f"error: the model's vocabulary ({model.cfg.vocab_size:,}) is smaller than GPT-2's "
              f"tokenizer ({tokenizer.n_vocab:,})", file=sys.stderr)
        return 1
    settings, notices = check_settings(args.max_new_tokens, args.temperature, args.top_k,
                                       args.top_p, args.seed, vocab_size=model.cfg.vocab_size)
    prompt = prepare_prompt(args.prompt, tokenizer, model.cfg.context_length)
    for notice in notices + prompt.notices:
        print(f"note: {notice}", file=sys.stderr)
    idx = torch.tensor([prompt.ids])
    print(args.prompt, end="", flush=True)
    stream = StreamDecoder(tokenizer)
    for token in iter_generate(model, idx, settings.max_new_tokens,
                               temperature=settings.temperature, top_k=settings.top_k,
                               top_p=settings.top_p, seed=settings.seed,
                               use_cache=args.kv_cache):
        print(stream.feed(token), end="", flush=True)
    print(stream.flush())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
