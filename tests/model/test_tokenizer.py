"""Chapter 2's tokenizers against the book's numbers (DESIGN.md)."""

import pytest

from model.resources import read_the_verdict
from model.tokenizer import (SimpleTokenizerV1, SimpleTokenizerV2, UnknownTokenError,
                             build_vocab, get_tokenizer)


def test_gpt2_bpe_gives_the_books_ids_offline():
    tokenizer = get_tokenizer()
    text = "Hello, do you like tea? <|endoftext|> In the sunlit terraces of someunknownPlace."
    assert tokenizer.encode(text) == [15496, 11, 466, 345, 588, 8887, 30, 220, 50256, 554, 262,
                                      4252, 18250, 8812, 2114, 286, 617, 34680, 27271, 13]
    assert tokenizer.encode("Akwirw ier") == [33901, 86, 343, 86, 220, 959]
    assert tokenizer.decode(tokenizer.encode(text)) == text
    assert len(tokenizer.encode(read_the_verdict())) == 5145
    assert tokenizer.n_vocab == 50257


def test_damaged_vocabulary_is_refused(tmp_path, monkeypatch):
    import model.tokenizer as tk

    bad = tmp_path / "gpt2.tiktoken"
    bad.write_bytes(b"not a vocabulary")
    monkeypatch.setattr(tk, "resource_path", lambda *parts: bad)
    tk.get_tokenizer.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="damaged"):
            tk.get_tokenizer()
    finally:
        tk.get_tokenizer.cache_clear()


def test_simple_vocabulary_of_the_verdict():
    text = read_the_verdict()
    vocab = build_vocab(text)
    assert len(vocab) == 1130
    with_specials = build_vocab(text, specials=True)
    assert len(with_specials) == 1132
    assert with_specials["<|endoftext|>"] == 1130 and with_specials["<|unk|>"] == 1131


def test_simple_tokenizers_v1_and_v2():
    text = read_the_verdict()
    v1 = SimpleTokenizerV1(build_vocab(text))
    sample = '"It\'s the last he painted, you know," Mrs. Gisburn said with pardonable pride.'
    # The book's round trip: decode re-joins with spaces, so "It's" comes back as "It' s".
    assert v1.decode(v1.encode(sample)) == (
        '" It\' s the last he painted, you know," Mrs. Gisburn said with pardonable pride.')
    with pytest.raises(UnknownTokenError, match="'Hello' is not in the vocabulary"):
        v1.encode("Hello, do you like tea?")
    v2 = SimpleTokenizerV2(build_vocab(text, specials=True))
    ids = v2.encode("Hello, do you like tea? <|endoftext|> In the sunlit terraces of the palace.")
    assert ids[0] == 1131 and 1130 in ids
    assert v2.decode(ids).startswith("<|unk|>, do you like tea?")
