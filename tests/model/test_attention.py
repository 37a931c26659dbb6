"""Chapter 3's classes with the book's seeds print the book's numbers."""

import torch

from model.attention import (CausalAttention, MultiHeadAttention, MultiHeadAttentionWrapper,
                             SelfAttention_v1, SelfAttention_v2)

INPUTS = torch.tensor([[0.43, 0.15, 0.89], [0.55, 0.87, 0.66], [0.57, 0.85, 0.64],
                       [0.22, 0.58, 0.33], [0.77, 0.25, 0.10], [0.05, 0.80, 0.55]])


def close(a, b):
    torch.testing.assert_close(a, torch.tensor(b), atol=1e-4, rtol=0)


def test_embedding_seed_123():
    torch.manual_seed(123)
    close(torch.nn.Embedding(6, 3).weight[0].detach(), [0.3374, -0.1778, -0.1690])


def test_self_attention_v1_and_v2():
    torch.manual_seed(123)
    out = SelfAttention_v1(3, 2)(INPUTS)
    close(out[0].detach(), [0.2996, 0.8053])
    torch.manual_seed(789)
    out2 = SelfAttention_v2(3, 2)(INPUTS)
    close(out2[0].detach(), [-0.0739, 0.0713])


def test_causal_and_multi_head_shapes_and_the_books_values():
    batch = torch.stack((INPUTS, INPUTS))
    torch.manual_seed(123)
    ca = CausalAttention(3, 2, batch.shape[1], 0.0)
    assert ca(batch).shape == (2, 6, 2)
    torch.manual_seed(123)
    wrapper = MultiHeadAttentionWrapper(3, 2, batch.shape[1], 0.0, num_heads=2)
    out = wrapper(batch)
    assert out.shape == (2, 6, 4)
    close(out[0, 0].detach(), [-0.4519, 0.2216, 0.4772, 0.1063])
    torch.manual_seed(123)
    mha = MultiHeadAttention(3, 2, batch.shape[1], 0.0, num_heads=2)
    out = mha(batch)
    assert out.shape == (2, 6, 2)
    close(out[0, 0].detach(), [0.3190, 0.4858])
