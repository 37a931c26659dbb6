"""Chapter 7's responses: what a model answers to an instruction, and the book's responses file.

`generate_response` feeds the model `format_input(entry)` and decodes greedily with the
Generate lab's decoding (`model.generate.iter_generate`, key/value cache on) until the end token
50256; the text after the prompt, with the `### Response:` header removed and stripped, is
the response, as section 7.7 extracts it. `iter_responses` does that for many entries, one
plain record at a time (prompts of equal length decoded side by side with one cache: the same
tokens, fewer steps), and `save_responses` writes them as the book's
`instruction-data-with-response.json` (a JSON list indented by 4, each entry with a
`model_response`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import torch

from model.instruct.data import RESPONSE_HEADER, fit_prompt, format_input

END_TOKEN_ID = 50256
RESPONSE_KEY = "model_response"
DEFAULT_MAX_NEW_TOKENS = 256  # the book's setting; a small model's context ends it sooner


@dataclass
class Response:
    """One generated response and how its generation ended.

    `stopped_by` is "end" (the model wrote the end token), "context" (prompt and response
    filled the model's context), "max_new_tokens" or "stopped" (asked to stop).
    """

    index: int
    text: str
    new_tokens: int
    stopped_by: str
    prompt_tokens: int
    prompt_truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def clean_response(generated: str) -> str:
    """Section 7.7: the text after the prompt without the `### Response:` header, stripped."""
    return generated.replace(RESPONSE_HEADER, "").strip()


def generate_response(model, entry: Mapping[str, Any], tokenizer=None,
                      max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, use_cache: bool = True,
                      stop_at_context: bool = True, temperature: float = 0.0,
                      top_k: int | None = None, seed: int | None = None, stop=None,
                      index: int = 0) -> Response:
    """The model's response to `entry` (its `instruction` and `input`; `output` is not used).

    Greedy by default; generation ends at the end token, after `max_new_tokens`, or, with
    `stop_at_context`, once prompt and response fill the model's context: past that a sliding
    window would drop the instruction itself. A prompt longer than the context keeps its last
    tokens (leaving a quarter of the context, at most 64 tokens, for the response).
    `stop` is a StopToken (or anything with `.stopped`) checked every token.
    """
    from model.generate import iter_generate

    if tokenizer is None:
        from model.tokenizer import get_tokenizer

        tokenizer = get_tokenizer()
    context = model.cfg.context_length
    prompt = tokenizer.encode(format_input(entry))
    ids, truncated = fit_prompt(prompt, context, room=min(64, context // 4))
    budget = max_new_tokens
    if stop_at_context:
        budget = min(budget, context - len(ids))
    device = next(model.parameters()).device
    idx = torch.tensor([ids], dtype=torch.long, device=device)  # (1, prompt_tokens)
    new: list[int] = []
    stopped_by = "max_new_tokens" if budget == max_new_tokens else "context"
    for token in iter_generate(model, idx, budget, context, temperature=temperature, top_k=top_k,
                               eos_id=END_TOKEN_ID, seed=seed, use_cache=use_cache):
        new.append(token)
        if stop is not None and stop.stopped:
            stopped_by = "stopped"
            break
    else:
        if len(new) < budget:
            stopped_by = "end"
    text = clean_response(tokenizer.decode(new))
    return Response(index=index, text=text, new_tokens=len(new), stopped_by=stopped_by,
                    prompt_tokens=len(ids), prompt_truncated=truncated)


def _prefill(model, ids: list[int], device) -> tuple[torch.Tensor, "object"]:
    """Run one prompt through the model with a fresh cache: (last-position logits, cache)."""
    from model.kv_cache import KVCache, forward_cached

    cache = KVCache(len(model.trf_blocks))
    idx = torch.tensor([ids], dtype=torch.long, device=device)  # (1, prompt_tokens)
    return forward_cached(model, idx, cache, last_only=True)[:, -1, :], cache  # (1, vocab)


def _greedy_group(model, prompts: list[list[int]], budget: int, stop) -> list[list[int]]:
    """Greedy tokens for prompts of equal length, decoded side by side with one cache.

    The same decoding as `iter_generate` at temperature 0 with the cache: each prompt is run
    on its own, then each step feeds every unfinished row's newest token at the same position.
    A row ends at the end token (not kept); finished rows leave the batch.
    """
    from model.kv_cache import KVCache, forward_cached

    device = next(model.parameters()).device
    firsts = [_prefill(model, ids, device) for ids in prompts]
    logits = torch.cat([f[0] for f in firsts])  # (b, vocab)
    cache = KVCache(len(model.trf_blocks))
    for layer in range(len(cache.keys)):
        cache.keys[layer] = torch.cat([f[1].keys[layer] for f in firsts])  # (b, heads, T, hd)
        cache.values[layer] = torch.cat([f[1].values[layer] for f in firsts])
    cache.length = len(prompts[0])
    out: list[list[int]] = [[] for _ in prompts]
    rows = list(range(len(prompts)))  # which prompt each batch row belongs to
    for step in range(budget):
        if stop is not None and stop.stopped:
            break
        tokens = logits.argmax(dim=-1)  # (b,)
        keep = []
        for pos, token in enumerate(tokens.tolist()):
            if token != END_TOKEN_ID:
                out[rows[pos]].append(token)
                keep.append(pos)
        if not keep or step + 1 == budget:
            break
        if len(keep) < len(rows):
            index = torch.tensor(keep, device=device)
            cache.keys = [k.index_select(0, index) for k in cache.keys]
            cache.values = [v.index_select(0, index) for v in cache.values]
            tokens = tokens.index_select(0, index)
            rows = [rows[pos] for pos in keep]
        logits = forward_cached(model, tokens[:, None], cache)[:, -1, :]  # (b, vocab)
    return out


def iter_responses(model, entries: Sequence[Mapping[str, Any]], tokenizer=None,
                   max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, use_cache: bool = True,
                   stop_at_context: bool = True, stop=None, batch_size: int = 16
                   ) -> Iterator[Response]:
    """Yield the greedy `Response` of every entry; `Response.index` says which entry.

    With the cache (the default), entries whose prompts have the same number of tokens are
    answered side by side, up to `batch_size` at a time, and their responses come out as each
    group finishes, ordered by prompt length then by entry. The tokens are those
    `generate_response` gives one entry at a time. Without the cache, entries are answered one by
    one with the book's loop. Ends early when `stop` is set.
    """
    if tokenizer is None:
        from model.tokenizer import get_tokenizer

        tokenizer = get_tokenizer()
    if not use_cache or batch_size <= 1:
        for index, entry in enumerate(entries):
            if stop is not None and stop.stopped:
                return
            yield generate_response(model, entry, tokenizer, max_new_tokens, use_cache,
                                    stop_at_context, stop=stop, index=index)
        return
    context = model.cfg.context_length
    groups: dict[int, list[tuple[int, list[int], bool]]] = {}
    for index, entry in enumerate(entries):
        ids, truncated = fit_prompt(tokenizer.encode(format_input(entry)), context,
                                    room=min(64, context // 4))
        groups.setdefault(len(ids), []).append((index, ids, truncated))
    was_training = model.training
    model.eval()
    try:
        for length in sorted(groups):
            budget = min(max_new_tokens, context - length) if stop_at_context else max_new_tokens
            if length + budget > context:  # a sliding window: the book's loop, one by one
                for index, _, _ in groups[length]:
                    yield generate_response(model, entries[index], tokenizer, max_new_tokens,
                                            True, stop_at_context, stop=stop, index=index)
                continue
            members = groups[length]
            for start in range(0, len(members), batch_size):
                chunk = members[start:start + batch_size]
                if stop is not None and stop.stopped:
                    return
                with torch.no_grad():
                    new = _greedy_group(model, [ids for _, ids, _ in chunk], budget, stop)
                for (index, _, truncated), tokens in zip(chunk, new):
                    if stop is not None and stop.stopped:
                        how = "stopped"
                    elif len(tokens) < budget:
                        how = "end"
                    else:
                        how = "max_new_tokens" if budget == max_new_tokens else "context"
                    yield Response(index=index, text=clean_response(tokenizer.decode(tokens)),
                                   new_tokens=len(tokens), stopped_by=how, prompt_tokens=length,
                                   prompt_truncated=truncated)
    finally:
        model.train(was_training)


def generate_responses(model, entries: Sequence[Mapping[str, Any]], tokenizer=None,
                       max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, use_cache: bool = True,
                       stop_at_context: bool = True, stop=None) -> list[Response]:
    """Every entry's `Response`, in entry order (fewer when stopped)."""
    responses = list(iter_responses(model, entries, tokenizer, max_new_tokens, use_cache,
                                    stop_at_context, stop))
    return sorted(responses, key=lambda r: r.index)


def with_responses(entries: Sequence[Mapping[str, Any]], responses: Sequence[Response | str],
                   key: str = RESPONSE_KEY) -> list[dict[str, Any]]:
    """Copies of `entries` with each response under `key` (the book's `model_response`).

    `responses[i]` belongs to `entries[i]` (sort `iter_responses`'s output by index first).
    """
    if len(responses) != len(entries):
        raise ValueError(f"{len(responses)} responses for {len(entries)} entries")
    out = []
    for entry, response in zip(entries, responses):
        item = dict(entry)
        item[key] = response.text if isinstance(response, Response) else str(response)
        out.append(item)
    return out


def responses_json(entries: Sequence[Mapping[str, Any]]) -> str:
    """The book's file layout: `json.dump(..., indent=4)` (the shipped file is byte-identical)."""
    return json.dumps(list(entries), indent=4)


def save_responses(entries: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Write entries with responses as `instruction-data-with-response.json` does, atomically.

    A folder is given a file named like the book's. Raises OSError when it cannot be written;
    an existing file is then left as it was.
    """
    from model.checkpoint import atomic_write_bytes
    from model.instruct.data import BUNDLED_RESPONSES

    path = Path(path)
    if path.is_dir():
        path = path / BUNDLED_RESPONSES
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, responses_json(entries).encode("utf-8"))
    return path
