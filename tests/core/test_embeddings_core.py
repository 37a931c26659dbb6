"""Embeddings lab core (no Qt): the book's demo table, model embeddings, cosine, neighbours, PCA."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from studyapp.areas.embeddings import core  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model():
    from model import GPTModel, get_preset

    torch.manual_seed(123)
    return GPTModel(get_preset("tiny")).eval()


def test_book_demo_reproduces_the_chapter2_table():
    source = core.book_demo_source(6, 3)
    weights = source.tok_weight
    assert weights.shape == (6, 3)
    assert torch.allclose(weights[0], torch.tensor([0.3374, -0.1778, -0.1690]), atol=1e-4)
    assert torch.allclose(weights[5], torch.tensor([-2.8400, -0.7849, -1.4096]), atol=1e-4)
    emb = core.embed(source, list(core.BOOK_IDS))  # the book's input IDs 2, 3, 5, 1
    assert np.allclose(emb.token[0], [1.2753, -0.2010, -0.1606], atol=1e-4)
    assert np.allclose(emb.token[3], [0.9178, 1.5810, 1.3010], atol=1e-4)
    assert np.allclose(emb.input, emb.token + emb.positional)
    assert emb.labels == ["0: ID 2", "1: ID 3", "2: ID 5", "3: ID 1"]


def test_book_demo_refuses_bad_sizes_and_ids():
    with pytest.raises(ValueError, match="dimension"):
        core.book_demo_source(6, 0)
    with pytest.raises(ValueError, match="outside the vocabulary of 6"):
        core.embed(core.book_demo_source(6, 3), [2, 7])


def test_model_embeddings_match_the_models_layers(tiny_model):
    from model.tokenizer import get_tokenizer

    ids = get_tokenizer().encode("Your journey starts with one step")
    source = core.model_source(tiny_model, "tiny")
    emb = core.embed(source, ids)
    idx = torch.tensor([ids])
    with torch.no_grad():
        tok = tiny_model.tok_emb(idx)[0].numpy()
        pos = tiny_model.pos_emb(torch.arange(len(ids))).numpy()
    assert np.allclose(emb.token, tok) and np.allclose(emb.positional, pos)
    assert emb.labels[1] == "1: \u00b7journey"
    assert emb.notices == []


def test_text_longer_than_the_context_keeps_the_first_tokens(tiny_model):
    source = core.model_source(tiny_model)
    ids = list(range(100, 100 + source.context_length + 10))
    emb = core.embed(source, ids)
    assert len(emb.ids) == source.context_length == emb.token.shape[0]
    assert "showing the first 64" in emb.notices[0]


def test_cosine_matrix():
    x = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, 0.0]])
    cos = core.cosine_matrix(x)
    assert cos[0, 0] == pytest.approx(1.0) and cos[0, 1] == pytest.approx(0.0)
    assert cos[0, 2] == pytest.approx(-1.0) and cos[3, 3] == 0.0  # a zero vector stays finite


def test_nearest_neighbours_search_the_whole_vocabulary(tiny_model):
    source = core.model_source(tiny_model)
    weight = source.tok_weight
    query = 15496  # "Hello"
    found = core.nearest_neighbours(source, query, k=10)
    assert len(found) == 10 and query not in [n.id for n in found]
    sims = torch.nn.functional.cosine_similarity(weight, weight[query].unsqueeze(0), dim=1)
    sims[query] = -2
    expected = torch.topk(sims, 10).indices.tolist()
    assert [n.id for n in found] == expected
    assert found[0].cosine >= found[-1].cosine
    assert core.nearest_neighbours(core.book_demo_source(6, 3), 2, k=10)[0].label.startswith("ID")
    assert len(core.nearest_neighbours(core.book_demo_source(6, 3), 2, k=10)) == 5


def test_pca_matches_svd_and_explains_variance():
    rng = np.random.default_rng(0)
    basis = rng.standard_normal((3, 40))
    x = rng.standard_normal((300, 3)) * [5.0, 2.0, 0.5] @ basis + 0.01 * rng.standard_normal(
        (300, 40))
    proj = core.pca_2d(x)
    centred = x - x.mean(axis=0)
    _u, s, vt = np.linalg.svd(centred, full_matrices=False)
    reference = centred @ vt[:2].T
    assert np.allclose(np.abs(proj.points), np.abs(reference), atol=1e-3)
    share = s ** 2 / (s ** 2).sum()
    assert proj.explained == pytest.approx((share[0], share[1]), rel=1e-3)


def test_pca_on_wide_and_large_tables_and_edge_cases():
    rng = np.random.default_rng(1)
    wide = rng.standard_normal((12, 768))  # few tokens, many dimensions
    centred = wide - wide.mean(axis=0)
    _u, s, vt = np.linalg.svd(centred, full_matrices=False)
    assert np.allclose(np.abs(core.pca_2d(wide).points[:, 0]), np.abs(centred @ vt[0]), atol=1e-4)
    big = rng.standard_normal((1024, 4)) @ rng.standard_normal((4, 256)) * 3
    assert core.pca_2d(big).explained[0] > 0.2  # subspace iteration finds the strong axes
    assert core.pca_2d(np.zeros((0, 5))).points.shape == (0, 2)
    assert np.all(core.pca_2d(np.ones((1, 5))).points == 0)


def test_frequent_tokens_of_the_verdict():
    from model.resources import read_the_verdict
    from studyapp.tokens import token_label

    ids = core.frequent_tokens(read_the_verdict(), 10)
    assert len(ids) == 10
    labels = [token_label(i)[0] for i in ids]
    assert labels[:3] == [",", ".", "\u00b7the"]
    assert all(label.strip("\u00b7\u21b5") for label in labels)  # no whitespace-only tokens


def test_answers_carry_the_embeddings_or_the_message_shown_instead(tiny_model):
    book = core.demo_answer((6, 3, 4), "2, 3, 5, 1")
    assert book.message == "" and np.allclose(book.embeddings.token[0],
                                              [1.2753, -0.2010, -0.1606], atol=1e-4)
    again = core.demo_answer((6, 3, 4), "2, 9", book.source)  # the layers are reused
    assert again.source is book.source and again.embeddings is None
    assert "vocabulary of 6" in again.message and "Raise the vocabulary size" in again.message
    assert "Type token IDs" in core.demo_answer((6, 3, 4), "  ").message
    assert "not an integer ID" in core.demo_answer((6, 3, 4), "2, x").message
    assert "Type some text" in core.text_answer(tiny_model, "tiny", "").message
    text = core.text_answer(tiny_model, "tiny", "Every effort")
    assert text.embeddings.ids == [6109, 3626] and text.source.name == "tiny"
