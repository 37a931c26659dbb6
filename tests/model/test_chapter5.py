"""Chapter 5's demonstrations give the book's printed numbers (model.chapter5)."""

import pytest
import torch

from model import GPTModel
from model.chapter5 import (WORDS, continuation_loss, sample_counts, softmax_with_temperature,
                            temperature_table, top_k_demo, book_logits)
from model.config import GPTConfig


def test_temperature_one_gives_the_books_1000_draws():
    rows = temperature_table()
    assert [r.temperature for r in rows] == [1.0, 0.1, 5.0]
    counts = dict(zip(WORDS, rows[0].counts))
    assert counts == {"closer": 73, "every": 0, "effort": 0, "forward": 582, "inches": 2,
                      "moves": 0, "pizza": 0, "toward": 343, "you": 0}
    assert [round(p, 4) for p in rows[0].probas] == [0.0609, 0.0016, 0.0001, 0.5721, 0.0034,
                                                     0.0001, 0.0001, 0.3576, 0.0040]
    assert all(sum(r.counts) == 1000 for r in rows)


def test_low_temperature_sharpens_and_high_flattens():
    rows = {r.temperature: r for r in temperature_table()}
    assert rows[0.1].probas[3] == pytest.approx(0.991, abs=5e-4)  # nearly always "forward"
    assert rows[0.1].counts == [0, 0, 0, 985, 0, 0, 0, 15, 0]
    assert rows[5.0].probas[6] == pytest.approx(0.0430, abs=5e-4)  # "pizza" about 4%
    assert rows[5.0].counts[6] == 32
    assert max(rows[5.0].probas) < 0.25


def test_counts_follow_the_books_global_seed_procedure_without_touching_it():
    probas = softmax_with_temperature(book_logits(), 5.0)
    torch.manual_seed(123)  # the book's way, on the global generator
    book = [torch.multinomial(probas, num_samples=1).item() for _ in range(1000)]
    torch.manual_seed(7)
    before = torch.get_rng_state()
    assert sample_counts(probas) == torch.bincount(torch.tensor(book), minlength=9).tolist()
    assert torch.equal(torch.get_rng_state(), before)


def test_one_draw_at_a_time_matters():
    probas = softmax_with_temperature(book_logits(), 1.0)
    torch.manual_seed(123)
    at_once = torch.bincount(torch.multinomial(probas, 1000, replacement=True), minlength=9)
    assert at_once.tolist() != sample_counts(probas)


def test_top_k_masks_all_but_the_three_largest_logits():
    demo = top_k_demo(3)
    assert demo.top_logits == pytest.approx([6.75, 6.28, 4.51])
    assert demo.top_positions == [3, 7, 0]
    inf = float("-inf")
    assert demo.masked_logits == pytest.approx([4.51, inf, inf, 6.75, inf, inf, inf, 6.28, inf])
    assert [round(p, 4) for p in demo.probas] == [0.0615, 0, 0, 0.5775, 0, 0, 0, 0.3610, 0]
    with pytest.raises(ValueError):
        top_k_demo(10)


def test_loss_of_the_books_two_continuations_on_the_untrained_124m_model():
    # Section 5.1.2: GPT_CONFIG_124M with context 256, torch.manual_seed(123), eval mode;
    # "every effort moves" -> " effort moves you", "I really like" -> " really like chocolate".
    torch.manual_seed(123)
    model = GPTModel(GPTConfig(context_length=256, drop_rate=0.1)).eval()
    first = continuation_loss(model, [16833], [3626, 6100, 345])
    second = continuation_loss(model, [40], [1107, 588, 11311])
    torch.testing.assert_close(torch.tensor(first.probas),
                               torch.tensor([7.4541e-05, 3.1061e-05, 1.1563e-05]),
                               rtol=1e-4, atol=0)
    torch.testing.assert_close(torch.tensor(second.probas),
                               torch.tensor([1.0337e-05, 5.6776e-05, 4.7559e-06]),
                               rtol=1e-4, atol=0)
    assert first.argmax_ids == [16657, 339, 42826]  # the book's "Armed heNetflix"
    log_probas = first.log_probas + second.log_probas
    assert [round(x, 4) for x in log_probas] == [-9.5042, -10.3796, -11.3677, -11.4798,
                                                 -9.7764, -12.2561]
    mean_ce = (first.cross_entropy + second.cross_entropy) / 2
    assert mean_ce == pytest.approx(10.7940, abs=1e-4)
    assert torch.exp(torch.tensor(mean_ce)).item() == pytest.approx(48725.8203, rel=1e-4)
    assert first.perplexity == pytest.approx(torch.exp(torch.tensor(first.cross_entropy)).item())
    assert first.cross_entropy == pytest.approx(-sum(first.log_probas) / 3, abs=1e-5)


def test_continuation_edge_cases_are_explained():
    torch.manual_seed(0)
    from model import get_preset

    model = GPTModel(get_preset("tiny").replace(context_length=8)).eval()
    empty = continuation_loss(model, [], [11, 12])
    assert empty.context_ids == [50256] and "empty" in empty.notices[0]
    long = continuation_loss(model, list(range(100, 110)), [1, 2, 3])
    assert long.context_ids == list(range(104, 110)) and len(long.probas) == 3
    assert "only the last 6" in long.notices[0]
    with pytest.raises(ValueError, match="continuation is empty"):
        continuation_loss(model, [1], [])
