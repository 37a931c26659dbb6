"""Chapter 7's responses and scores: the book's file format, ROUGE-L, the local Ollama judge."""

import json

import pytest
import torch

from model.instruct.data import bundled_responses_path, format_input
from model.instruct.respond import (
    clean_response,
    generate_response,
    iter_responses,
    save_responses,
    with_responses,
)
from model.instruct.score import OllamaJudge, JudgeError, parse_score, rouge_l, score_responses

from .ollama_stub import StubOllama, stub_ollama  # noqa: F401  (a fixture)


def test_rouge_l_scores_overlap_offline():
    assert rouge_l("The car is as fast as lightning.", "The car is as fast as lightning.") == 1.0
    assert rouge_l("", "The car is as fast as lightning.") == 0.0
    partial = rouge_l("The car is as fast as a bullet.", "The car is as fast as lightning.")
    assert 0.5 < partial < 1.0
    # The book's own responses score high on average against the expected outputs.
    book = json.loads(bundled_responses_path().read_text(encoding="utf-8"))
    report = score_responses(book)
    assert report.scored == 110 and report.failed == 0
    assert report.average == pytest.approx(sum(report.scores) / 110)
    assert 0.3 < report.average < 0.9


def test_responses_are_saved_in_the_books_format(tmp_path):
    book = json.loads(bundled_responses_path().read_text(encoding="utf-8"))
    entries = [{k: e[k] for k in ("instruction", "input", "output")} for e in book]
    merged = with_responses(entries, [e["model_response"] for e in book])
    path = save_responses(merged, tmp_path)
    assert path.name == "instruction-data-with-response.json"
    assert path.read_bytes() == bundled_responses_path().read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_clean_response_strips_the_header_as_the_book_does():
    assert clean_response("\n\n### Response:\nThe sky is blue.\n") == "The sky is blue."


class _FixedModel(torch.nn.Module):
    """Logits that always favour the next token of a script, then the end token."""

    def __init__(self, script, context_length=32):
        super().__init__()
        from model.config import GPTConfig

        self.cfg = GPTConfig(context_length=context_length, emb_dim=8, n_heads=2, n_layers=1)
        self.script = list(script)
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.prompt_len = None

    def forward(self, idx):  # (b, T) -> (b, T, vocab)
        if self.prompt_len is None:
            self.prompt_len = idx.shape[1]
        produced = idx.shape[1] - self.prompt_len
        token = self.script[produced] if produced < len(self.script) else 50256
        logits = torch.zeros(idx.shape[0], idx.shape[1], self.cfg.vocab_size)
        logits[:, -1, token] = 1.0
        return logits


def test_generation_stops_at_the_end_token_and_strips_the_prompt():
    from model.tokenizer import get_tokenizer

    tok = get_tokenizer()
    entry = {"instruction": "Name a colour.", "input": "", "output": "Blue."}
    prompt_len = len(tok.encode(format_input(entry)))
    script = tok.encode("\n\n### Response:\nBlue.")
    model = _FixedModel(script, context_length=prompt_len + 40)
    response = generate_response(model, entry, tok, use_cache=False)
    assert response.text == "Blue." and response.stopped_by == "end"
    assert response.new_tokens == len(script) and response.prompt_tokens == prompt_len
    # A context too small for prompt and response: the prompt keeps its last tokens, leaving a
    # quarter of the context, and the response ends where the context is full.
    model = _FixedModel(script, context_length=prompt_len + 3)
    short = generate_response(model, entry, tok, use_cache=False)
    assert short.stopped_by == "context" and short.prompt_truncated
    assert short.new_tokens == (prompt_len + 3) // 4 == model.cfg.context_length - short.prompt_tokens


def test_test_entries_answered_side_by_side_as_one_by_one_without_the_cache():
    from model.checkpoint import load_bundled
    from model.instruct.data import load_entries, split_entries
    from model.instruct.respond import generate_responses
    from model.tokenizer import get_tokenizer

    tok = get_tokenizer()
    test = split_entries(load_entries().entries).test[:6]
    lengths = [len(tok.encode(format_input(e))) for e in test]
    assert len(set(lengths)) < len(lengths)  # some prompts share a length: decoded together
    model = load_bundled().model
    batched = generate_responses(model, test, tok, max_new_tokens=8)
    plain = generate_responses(model, test, tok, max_new_tokens=8, use_cache=False)
    assert [r.index for r in batched] == list(range(6))
    assert [r.text for r in batched] == [r.text for r in plain]
    assert [r.new_tokens for r in batched] == [r.new_tokens for r in plain]
    assert [r.stopped_by for r in batched] == [r.stopped_by for r in plain]


# -- the opt-in judge, against a stub Ollama on 127.0.0.1 ----------------------------------------

def test_judge_scores_through_a_local_ollama(stub_ollama):
    entries = [{"instruction": "Name a colour.", "input": "", "output": "Blue.",
                "model_response": "Red."},
               {"instruction": "Add 2 and 2.", "input": "", "output": "4",
                "model_response": "4"}]
    StubOllama.replies = ["72", "I cannot grade this."]
    judge = OllamaJudge(model="llama3", url=f"http://127.0.0.1:{stub_ollama}/api/chat")
    report = judge.score_all(entries)
    assert report.scores == [72, None] and report.average == 72 and report.failed == 1
    path, body = StubOllama.requests[0]
    assert path == "/api/chat" and body["model"] == "llama3"
    assert body["options"]["seed"] == 123 and body["options"]["temperature"] == 0
    prompt = body["messages"][0]["content"]
    assert "Red." in prompt and "Blue." in prompt and "0 to 100" in prompt

    StubOllama.replies = ["Score: 85"]
    generate = OllamaJudge(url=f"http://localhost:{stub_ollama}/api/generate")
    assert generate.score(entries[1]) == 85
    assert "prompt" in StubOllama.requests[-1][1]


@pytest.mark.parametrize("url", ["http://example.com:11434/api/chat",
                                 "http://192.168.1.5:11434/api/chat",
                                 "https://localhost:11434/api/chat",
                                 "http://localhost.evil.net/api/chat",
                                 "http://localhost:11434/api/pull"])
def test_judge_refuses_anything_but_this_computer(url):
    with pytest.raises(ValueError):
        OllamaJudge(url=url)


def test_judge_reports_an_unreachable_server():
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    judge = OllamaJudge(url=f"http://127.0.0.1:{port}/api/chat", timeout=2)
    with pytest.raises(JudgeError, match="cannot reach Ollama"):
        judge.score({"instruction": "x", "input": "", "output": "y", "model_response": "z"})


def test_parse_score_takes_the_first_number_in_range():
    assert parse_score("85") == 85 and parse_score("I'd say 250, no, 40") == 40
    assert parse_score("no idea") is None
