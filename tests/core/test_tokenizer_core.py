"""Tokenizer lab core (no Qt): BPE trace, token pieces, chapter 2 side by side, windows, decode."""

from __future__ import annotations

import pytest

from model.bpe import merge_steps, piece_at, piece_near, split_pieces, trace_ids, trace_text
from model.resources import read_the_verdict
from model.tokenizer import get_tokenizer
from studyapp import tokens
from studyapp.areas.tokenizer import core
from studyapp.tensor_text import format_tensor

BOOK_IDS = [15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262, 4252, 18250, 8812, 2114,
            286, 617, 34680, 27271, 13]


# -- BPE merge trace ---------------------------------------------------------------------------
def test_akwirw_trace_ends_at_the_books_ids():
    traces = trace_text("Akwirw ier")
    assert [t.text for t in traces] == ["Akwirw", " ier"]
    assert trace_ids(traces) == [33901, 86, 343, 86, 220, 959]
    first = traces[0]
    assert first.steps[0].parts == tuple(bytes([b]) for b in b"Akwirw")
    assert [s.pair for s in first.merges] == [(b"i", b"r"), (b"A", b"k")]
    assert [s.rank for s in first.merges] == [343, 33901]
    assert first.tokens == (b"Ak", b"w", b"ir", b"w")
    assert traces[1].tokens == (b" ", b"ier")


def test_trace_matches_tiktoken_on_the_verdict_and_odd_text():
    verdict = read_the_verdict()
    assert trace_ids(trace_text(verdict)) == get_tokenizer().encode(verdict)
    odd = "Caf\u00e9 \U0001F600\t\n\n  x's 1234 <|endoftext|>--\x07 \u200b"
    assert trace_ids(trace_text(odd)) == get_tokenizer().encode(odd)


def test_merges_always_reduce_and_only_join_known_pairs():
    ranks = get_tokenizer()._mergeable_ranks
    steps = merge_steps("someunknownPlace".encode())
    for before, after in zip(steps, steps[1:]):
        assert len(after.parts) == len(before.parts) - 1
        assert ranks[after.pair[0] + after.pair[1]] == after.rank
    assert [ranks[p] for p in steps[-1].parts] == [11246, 34680, 27271]  # some|unknown|Place


def test_special_token_is_its_own_piece():
    pieces = split_pieces("a<|endoftext|>b")
    assert pieces == [(0, 1, "a", False), (1, 14, "<|endoftext|>", True), (14, 15, "b", False)]
    trace = piece_at("a<|endoftext|>b", 5)
    assert trace.special and trace.ids == [50256]


def test_piece_near_agrees_with_piece_at_in_long_text():
    text = read_the_verdict() * 2
    for index in range(0, len(text), 997):
        a, b = piece_at(text, index), piece_near(text, index, window=300)
        assert (a.start, a.end, a.text) == (b.start, b.end, b.text)


# -- tokenize ----------------------------------------------------------------------------------
def test_book_sentence_ids_counts_and_special_token():
    result = core.tokenize(core.EXAMPLE_TEXT)
    assert result.ids == BOOK_IDS
    assert result.n_tokens == 20 and result.n_chars == len(core.EXAMPLE_TEXT)
    special = [p for p in result.pieces if p.special]
    assert len(special) == 1 and special[0].id == 50256 and special[0].label == "<|endoftext|>"
    assert "20 tokens" in result.counts_text()
    assert not result.truncated


def test_whitespace_and_controls_are_visible():
    result = core.tokenize("a b\tc\nd\x07")
    labels = [p.label for p in result.pieces]
    assert "\u00b7b" in labels  # " b"
    assert any("\u2192" in label for label in labels)  # tab
    assert any("\u21b5" in label for label in labels)  # newline
    assert "\u27e8BEL\u27e9" in labels  # BEL by its name
    assert any("control characters" in n for n in result.notices)
    assert tokens.visible("x\u200by") == "x\u27e8U+200B\u27e9y"


def test_split_characters_are_shown_as_bytes_not_replacement_marks():
    result = core.tokenize("\U0001F600")  # one emoji, two tokens
    assert result.ids == [47249, 222]
    first, second = result.pieces
    assert first.label == "\u27e8F0 9F 98\u27e9" and second.label == "\u27e880\u27e9"
    assert first.partial and second.partial
    assert (first.start, first.end) == (0, 1) == (second.start, second.end)
    assert "\ufffd" not in first.label + second.label
    assert "split across several tokens" in first.describe(result.text)
    # a whole accented letter in one token is text, not bytes
    cafe = core.tokenize(" caf\u00e9")
    assert [p.label for p in cafe.pieces] == ["\u00b7caf\u00e9"] and not cafe.pieces[0].partial


def test_char_offsets_cover_the_text():
    text = "Hello, w\u00f6rld \U0001F600 <|endoftext|> tea?"
    result = core.tokenize(text)
    for piece in result.pieces:
        assert 0 <= piece.start < piece.end <= len(text)
        if not piece.partial:
            assert text[piece.start:piece.end].encode() == piece.data
    assert result.piece_at_char(text.index("tea")).label == "\u00b7tea"


def test_limit_describes_only_the_first_tokens_but_counts_all():
    text = read_the_verdict()
    result = core.tokenize(text, limit=100)
    assert result.n_tokens == 5145
    assert len(result.pieces) == 100 and result.truncated
    assert "first 100 of 5,145" in result.shown_text()


def test_empty_text_and_surrogates():
    empty = core.tokenize("")
    assert empty.ids == [] and empty.pieces == [] and empty.chars_per_token == 0.0
    result = core.tokenize("a\ud800b")
    assert "\ufffd" in result.text and any("surrogate" in n for n in result.notices)


def test_id_list_spans_point_at_each_id():
    result = core.tokenize("Hello, world")
    text, spans = core.id_list_text(result.pieces, result.n_tokens)
    assert text == "[15496, 11, 995]"
    long_text, long_spans = core.id_list_text(core.tokenize("a " * 30).pieces, 31)
    assert "\n" in long_text and [long_text[a:b] for a, b in long_spans] == ["64"] + ["257"] * 29 + ["220"]
    assert [text[a:b] for a, b in spans] == ["15496", "11", "995"]
    truncated, _ = core.id_list_text(result.pieces[:1], 3)
    assert "2 more" in truncated


# -- chapter 2 ---------------------------------------------------------------------------------
def test_chapter2_on_the_verdict():
    r = core.chapter2(core.EXAMPLE_TEXT, read_the_verdict())
    assert (r.vocab_size, r.vocab_size_specials) == (1130, 1132)
    assert (r.endoftext_id, r.unk_id) == (1130, 1131)
    assert r.v1_ids is None and "'Hello'" in r.v1_error
    assert r.unknown == ["Hello", "someunknownPlace"]
    assert r.v2_ids.count(1131) == 2 and 1130 in r.v2_ids
    assert r.v2_decoded.startswith("<|unk|>, do you like tea? <|endoftext|> In the sunlit")
    assert r.bpe_ids == BOOK_IDS
    assert r.bpe_unknown_split["someunknownPlace"] == ["some", "unknown", "Place"]


def test_chapter2_v1_succeeds_on_known_words():
    r = core.chapter2("I HAD always thought", read_the_verdict())
    assert r.v1_error is None and r.v1_ids == r.v2_ids


# -- sliding windows ---------------------------------------------------------------------------
def test_windows_match_the_chapter2_dataloader():
    torch = pytest.importorskip("torch")
    from model.data import create_dataloader_v1

    verdict = read_the_verdict()
    ids = get_tokenizer().encode(verdict)
    for max_length, stride, batch in ((4, 1, 1), (4, 4, 8), (7, 3, 5)):
        w = core.sliding_windows(ids, max_length, stride, batch)
        loader = create_dataloader_v1(verdict, batch_size=batch, max_length=max_length,
                                      stride=stride, shuffle=False)
        x, y = next(iter(loader))
        assert w.count == len(loader.dataset)
        assert w.n_batches == len(loader)
        inputs, targets = w.batch(0)
        assert torch.equal(torch.tensor(inputs), x) and torch.equal(torch.tensor(targets), y)
    first = core.sliding_windows(ids, 4, 1, 1)
    assert first.inputs[0] == [40, 367, 2885, 1464] and first.targets[0] == [367, 2885, 1464, 1807]


def test_windows_explain_short_text_and_bad_values():
    short = core.sliding_windows([1, 2, 3], 4, 1, 1)
    assert short.count == 0 and "needs at least 5" in short.problem
    few = core.sliding_windows(list(range(10)), 4, 4, 8)
    assert few.count == 2 and "fewer than the batch size" in few.problem
    assert "stride" in core.sliding_windows([1] * 10, 4, 0, 1).problem


def test_format_tensor_looks_like_torch():
    torch = pytest.importorskip("torch")
    rows = [[40, 367, 2885, 1464], [1807, 3619, 402, 271]]
    assert format_tensor(rows) == str(torch.tensor(rows))


# -- decode and files --------------------------------------------------------------------------
def test_decode_names_invalid_ids():
    result = core.decode_ids("[15496, 11, abc, 99999, -1, 466]")
    assert result.text == "Hello, do"
    assert "'abc' is not an integer ID" in result.problems[0]
    assert any("99999" in p for p in result.problems) and any("-1" in p for p in result.problems)
    assert core.decode_ids("tensor([[15496,   11]])").text == "Hello,"
    assert core.decode_ids("").text == ""


def test_decode_reports_incomplete_characters():
    result = core.decode_ids("47249")  # the first three bytes of an emoji
    assert result.incomplete and "whole UTF-8" in result.problems[-1]


def test_file_bytes_with_invalid_utf8_are_reported():
    text, notices = tokens.decode_file_bytes(b"ab\xff\xfecd \xc3", "notes.txt")
    assert text == "ab\ufffd\ufffdcd \ufffd"
    assert "notes.txt is not valid UTF-8" in notices[0] and "3 byte sequence" in notices[0]
    assert "byte 2" in notices[0]
    clean, none = tokens.decode_file_bytes("hello \ufffd".encode("utf-8-sig"))
    assert clean == "hello \ufffd" and none == []
