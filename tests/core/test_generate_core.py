"""The Generate lab's next-token arithmetic (studyapp.areas.generate.core) agrees with
model.generate's filters, and token labels show what BPE tokens really are."""

import numpy as np
import pytest
import torch

from model.generate import next_token_probs
from model.tokenizer import get_tokenizer
from studyapp.areas.generate.core import filtered_probs, next_token_view, token_name, token_piece
from studyapp.tokens import OPEN_BOX, visible

LOGITS = np.array([4.51, 0.89, -1.90, 6.75, 1.63, -1.62, -1.89, 6.28, 1.79])


@pytest.mark.parametrize("temperature, top_k, top_p",
                         [(1.0, None, None), (0.5, 3, None), (2.0, None, 0.9), (1.3, 5, 0.8)])
def test_filters_match_the_models_sampling_distribution(temperature, top_k, top_p):
    ours = filtered_probs(LOGITS, temperature, top_k, top_p)
    theirs = next_token_probs(torch.tensor(LOGITS, dtype=torch.float64), temperature, top_k,
                              top_p).numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_view_ranks_by_probability_and_marks_the_argmax():
    view = next_token_view(LOGITS, temperature=1.0, top_k=3)
    assert view.ids == [3, 7, 0] and view.kept == 3 and view.argmax == 3
    assert [round(p, 4) for p in view.probs] == [0.5775, 0.3610, 0.0615]
    greedy = next_token_view(LOGITS, temperature=0.0, bars=4)
    assert greedy.greedy and greedy.ids == [3, 7, 0, 8]
    assert greedy.probs[0] == pytest.approx(0.5721, abs=1e-4)  # plain softmax, T = 1
    with pytest.raises(ValueError):
        next_token_view(LOGITS, temperature=-1.0)


def test_token_labels_show_whitespace_bytes_and_unknown_ids():
    tok = get_tokenizer()
    assert visible(" moves\n", OPEN_BOX) == "\u2423moves\u21b5"
    assert token_name(tok.encode(" you")[0]) == "\u2423you"
    partial = tok.encode("🙂")[0]  # the emoji's first byte-level token is not valid UTF-8 alone
    assert token_name(partial).startswith("\u27e8") and "\ufffd" in token_piece(tok, partial)
    assert token_piece(tok, 50300) == "<ID 50300>"
    assert "not in GPT-2's vocabulary" in token_name(50300)
