"""The book's chapter 3 worked example as plain numbers, without torch.

"Your journey starts with one step" as six 3-d input embeddings (section 3.3), the running query
x^2 "journey", and the sizes, seeds and dropout rate the book uses in sections 3.4 to 3.6.
`model.chapter3` computes on them; a window can show them before torch has loaded.
"""

from __future__ import annotations

BOOK_WORDS: tuple[str, ...] = ("Your", "journey", "starts", "with", "one", "step")
BOOK_INPUTS: tuple[tuple[float, ...], ...] = (
    (0.43, 0.15, 0.89),  # Your     (x^1)
    (0.55, 0.87, 0.66),  # journey  (x^2)
    (0.57, 0.85, 0.64),  # starts   (x^3)
    (0.22, 0.58, 0.33),  # with     (x^4)
    (0.77, 0.25, 0.10),  # one      (x^5)
    (0.05, 0.80, 0.55),  # step     (x^6)
)
BOOK_QUERY_INDEX = 1  # the book's running query is x^2, "journey"
BOOK_D_OUT = 2
BOOK_SEED_TRAINABLE = 123  # 3.4.1: torch.manual_seed(123) before W_query, W_key, W_value
BOOK_SEED_CAUSAL = 789  # 3.5.1: torch.manual_seed(789); sa_v2 = SelfAttention_v2(d_in, d_out)
BOOK_DROPOUT = 0.5  # 3.5.2
BOOK_SEED_DROPOUT = 123
BOOK_NUM_HEADS = 2  # 3.6
BOOK_SEED_MULTIHEAD = 123
