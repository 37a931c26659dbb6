"""Chapter 7's evaluation: an offline overlap score, and the book's LLM judge as an option.

The book (section 7.8) has Llama 3 8B, served by Ollama on the same computer, score each
response from 0 to 100 against the expected output. That needs Ollama and a multi-gigabyte
model, so the default here is offline: ROUGE-L (the longest common subsequence of words, as an
F-measure from 0 to 1) from Google's `rouge-score` package, with the Porter stemmer and no
downloaded data. `score_responses` returns each entry's score and the average.

`OllamaJudge` is opt-in: it talks only to an Ollama server on this computer (`localhost`,
127.0.0.1 or ::1; any other host is refused before anything is sent) and contacts nothing
until one of its methods is called.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from model.instruct.data import format_input

RESPONSE_KEY = "model_response"


# -- ROUGE-L ----------------------------------------------------------------------------------

_scorer = None


def _rouge_scorer():
    global _scorer
    if _scorer is None:
        from rouge_score import rouge_scorer  # imports nltk's stemmer only: no data files

        _scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return _scorer


def rouge_l(response: str, reference: str) -> float:
    """ROUGE-L F-measure of `response` against `reference`, 0 (nothing shared) to 1 (same words).

    Words are lower-cased and stemmed; punctuation is ignored. An empty side scores 0.
    """
    return float(_rouge_scorer().score(reference, response)["rougeL"].fmeasure)


@dataclass
class ScoreReport:
    """Per-entry scores (in entry order) and their average; `metric` says which score."""

    scores: list[float | None]
    average: float | None
    metric: str = "rougeL_f"
    scored: int = 0
    failed: int = 0
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _average(scores: Sequence[float | None]) -> float | None:
    valid = [s for s in scores if s is not None]
    return sum(valid) / len(valid) if valid else None


def score_responses(entries: Sequence[Mapping[str, Any]], key: str = RESPONSE_KEY
                    ) -> ScoreReport:
    """ROUGE-L of each entry's `key` (the model's response) against its `output`."""
    scores: list[float | None] = []
    messages = []
    for index, entry in enumerate(entries):
        if key not in entry:
            scores.append(None)
            messages.append(f"entry {index} has no {key!r}")
            continue
        scores.append(rouge_l(str(entry[key]), str(entry.get("output", ""))))
    scored = sum(s is not None for s in scores)
    return ScoreReport(scores=scores, average=_average(scores), scored=scored,
                       failed=len(scores) - scored, messages=messages)


# -- the book's judge, through a local Ollama ----------------------------------------------------

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
DEFAULT_OLLAMA_URL = "http://localhost:11434/api/chat"


class JudgeError(RuntimeError):
    """The judge could not be reached or answered something unusable; the message says why."""


def check_local_url(url: str) -> urllib.parse.SplitResult:
    """Accept only an http URL on this computer; raise ValueError for anything else."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        raise ValueError(f"the judge URL must start with http:// (got {url!r})")
    host = parts.hostname or ""
    if host not in LOCAL_HOSTS:
        raise ValueError(f"the judge runs on this computer only: host {host or '(none)'!r} is "
                         f"not one of {', '.join(LOCAL_HOSTS)}")
    if parts.path not in ("/api/chat", "/api/generate"):
        raise ValueError(f"the judge URL must end in /api/chat or /api/generate (got "
                         f"{parts.path or '/'!r})")
    return parts


def judge_prompt(entry: Mapping[str, Any], key: str = RESPONSE_KEY) -> str:
    """What the judge is asked: rate the response against the expected output, 0 to 100."""
    return (
        "You are grading how well a response carries out an instruction.\n\n"
        f"The task given to the model:\n{format_input(entry)}\n\n"
        f"A correct answer:\n{entry['output']}\n\n"
        f"The model's answer:\n{entry[key]}\n\n"
        "Give the model's answer a score from 0 to 100, where 100 means as good as the correct "
        "answer and 0 means useless. Reply with the number only."
    )


def parse_score(text: str) -> int | None:
    """The first whole number from 0 to 100 in the judge's reply, or None."""
    for match in re.finditer(r"\d+", text):
        value = int(match.group())
        if 0 <= value <= 100:
            return value
    return None


class OllamaJudge:
    """Scores responses with a model served by Ollama on this computer (the book's section 7.8).

    `url` is Ollama's `/api/chat` or `/api/generate` endpoint on localhost; anything else
    raises ValueError here, before any connection. Requests bypass proxies (a proxy would carry
    the entries off this computer) and use seed 123 and temperature 0, as the book does.
    """

    def __init__(self, model: str = "llama3", url: str = DEFAULT_OLLAMA_URL,
                 timeout: float = 120.0, num_ctx: int = 2048):
        self._parts = check_local_url(url)
        self.url = url
        self.model = model
        self.timeout = timeout
        self.num_ctx = num_ctx
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    @property
    def chat(self) -> bool:
        return self._parts.path == "/api/chat"

    def _post(self, payload: dict) -> bytes:
        request = urllib.request.Request(self.url, data=json.dumps(payload).encode("utf-8"),
                                         headers={"Content-Type": "application/json"},
                                         method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                return reply.read()
        except urllib.error.HTTPError as exc:
            raise JudgeError(f"Ollama at {self.url} answered HTTP {exc.code}: "
                             f"{exc.read()[:200].decode('utf-8', 'replace')}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise JudgeError(f"cannot reach Ollama at {self.url} ({reason}); is `ollama serve` "
                             "running?") from None

    def ask(self, prompt: str) -> str:
        """Send one prompt; return the judge's whole reply text."""
        payload: dict[str, Any] = {"model": self.model, "stream": False,
                                   "options": {"seed": 123, "temperature": 0,
                                               "num_ctx": self.num_ctx}}
        if self.chat:
            payload["messages"] = [{"role": "user", "content": prompt}]
        else:
            payload["prompt"] = prompt
        body = self._post(payload)
        # One JSON object, or (a server streaming anyway) one object per line.
        pieces = []
        for line in body.decode("utf-8", "replace").splitlines():
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                raise JudgeError(f"Ollama at {self.url} sent something that is not JSON: "
                                 f"{line[:120]!r}") from None
            if "error" in obj:
                raise JudgeError(f"Ollama: {obj['error']}")
            if self.chat:
                pieces.append(str((obj.get("message") or {}).get("content", "")))
            else:
                pieces.append(str(obj.get("response", "")))
        return "".join(pieces)

    def score(self, entry: Mapping[str, Any], key: str = RESPONSE_KEY) -> int | None:
        """The judge's 0-100 score of `entry[key]`, or None when its reply holds no score."""
        return parse_score(self.ask(judge_prompt(entry, key)))

    def score_all(self, entries: Sequence[Mapping[str, Any]], key: str = RESPONSE_KEY,
                  progress: Callable[[int, int | None], None] | None = None,
                  stop=None) -> ScoreReport:
        """Score every entry in order; a reply without a number is counted as failed."""
        scores: list[float | None] = []
        messages = []
        for index, entry in enumerate(entries):
            if stop is not None and stop.stopped:
                break
            value = self.score(entry, key)
            if value is None:
                messages.append(f"entry {index}: the judge's reply held no score from 0 to 100")
            scores.append(value)
            if progress is not None:
                progress(index, value)
        scored = sum(s is not None for s in scores)
        return ScoreReport(scores=scores, average=_average(scores), metric=f"ollama:{self.model}",
                           scored=scored, failed=len(scores) - scored, messages=messages)
