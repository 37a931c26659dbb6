"""The Attention lab's tooltips, as data (chapter 3).

Each names its concept and where the book (Build a Large Language Model From Scratch) treats
it; what the book does not cover says so.
"""

from __future__ import annotations

AREA_TAB_TIPS = (
    "Your own text through the loaded GPT: every transformer block's multi-head attention "
    "(chapter 3, section 3.6.2), where it sits in the block and the model (chapter 4, "
    "sections 4.5 and 4.6)",
    "The book's worked example \"Your journey starts with one step\" through chapter 3, "
    "sections 3.3 to 3.6, printed to 4 decimals and editable",
)
VIEW_TIPS = (
    "One head's attention weights as a matrix: rows are queries, columns the keys they attend "
    "to, each row sums to 1 (chapter 3, section 3.3.2); the causal mask leaves the upper "
    "triangle empty (section 3.5.1)",
    "Every layer x head at once: the heads of multi-head attention (chapter 3, section 3.6) "
    "in each of the model's transformer blocks (chapter 4, sections 4.5 and 4.6). Click one "
    "to open it",
    "A head view after the bertviz tool: one query's weights drawn as lines to the earlier "
    "tokens. Not in the book; it shows the same weights as chapter 3, section 3.5.1",
    "The chosen head step by step on the real model: queries, keys and values, scores, "
    "scaling by \u221ad_k (chapter 3, section 3.4.1), the causal mask (section 3.5.1) and "
    "softmax into weights",
)
STEP_TIPS = (
    "Chapter 3, sections 3.3.1 and 3.3.2: self-attention without trainable weights; dot-product "
    "scores, softmax into weights, context vectors as weighted sums, for one query and for all",
    "Chapter 3, section 3.4: trainable W_query, W_key and W_value; queries, keys and values, "
    "scores scaled by \u221ad_k (3.4.1), the same result as the compact SelfAttention_v1 "
    "class (3.4.2)",
    "Chapter 3, section 3.5.1: the causal mask; zero the future and renormalise, or -inf "
    "before softmax",
    "Chapter 3, section 3.5.2: dropout on the attention weights; survivors scaled by 1/(1-p)",
    "Chapter 3, section 3.6: multi-head attention; the wrapper that stacks heads (3.6.1) and "
    "the single class with weight splits (3.6.2)",
)
TEXT_TIP = ("Any text: it is split into GPT-2 BPE tokens (chapter 2, section 2.5) and run "
            "through the loaded GPT (chapter 4, section 4.6), capturing every layer's attention "
            "weights (chapter 3, section 3.6.2). Updates after a short pause in typing")
LAYER_TIP = ("Which transformer block to look at: each block has its own multi-head attention "
             "(chapter 4, section 4.5; the GPT stacks n_layers of them, section 4.6)")
HEAD_TIP = ("Which head of the layer's multi-head attention: d_out is split into num_heads "
            "heads of head_dim each (chapter 3, section 3.6.2). \"average over heads\" is the "
            "mean of the heads' weights, a summary of this lab, not in the book")
LOG_TIP = ("Colour by log10(weight) instead of the weight. Not in the book: many heads of "
           "trained models pour most of their weight on the first token (an \"attention "
           "sink\", a later research finding) and swamp a linear scale; log10 shows the small "
           "weights too")
ALL_HEADS_TIP = ("Draw every head of the layer at once, one colour each (multi-head attention, "
                 "chapter 3, section 3.6). The head view itself is after the bertviz tool, not "
                 "in the book")
HEATMAP_SAVE_TIP = ("Save this attention-weight heatmap (chapter 3, sections 3.3.2 and 3.5.1) "
                    "as a PNG image")
TABLE_TIP = ("The inputs: one embedding vector per token (chapter 3, section 3.3: the book's "
             "six 3-dimensional vectors of \"Your journey starts with one step\"). "
             "Double-click a cell to edit a number or a word")
EDITOR_TIP = ("Type a number (a dimension of this token's input embedding, chapter 3, section "
              "3.3) or, in the token column, the word; Enter applies, Esc cancels")
ADD_ROW_TIP = ("Add a token: one more input vector, so one more query, key and row of weights "
               "(chapter 3, section 3.3.2)")
REMOVE_ROW_TIP = "Remove the last token's input vector (chapter 3, section 3.3.2)"
ADD_COL_TIP = ("Add an embedding dimension: d_in grows by one (the book uses d_in = 3, chapter "
               "3, section 3.4.1)")
REMOVE_COL_TIP = "Remove the last embedding dimension: d_in shrinks by one (chapter 3, 3.4.1)"
RESET_TIP = ("Back to the book's example: the six inputs of chapter 3, section 3.3, query x^2 "
             "\"journey\", d_out = 2, the book's seeds, dropout p = 0.5 and 2 heads")
QUERY_TIP = ("The query token of steps 1 and 2: the book follows x^2 \"journey\" (chapter 3, "
             "sections 3.3.1 and 3.4.1) before computing every token at once")
D_OUT_TIP = ("d_out: the size of each query, key and value vector (chapter 3, section 3.4.1; "
             "the book uses 2). Steps 2, 3 and 5 use it; in step 5 the heads split it "
             "(section 3.6.2)")
SEED_TRAINABLE_TIP = ("torch.manual_seed before W_query, W_key and W_value are drawn (chapter 3, "
                      "section 3.4.1; the book uses 123, and SelfAttention_v1 in 3.4.2 gives the "
                      "same numbers)")
SEED_CAUSAL_TIP = ("torch.manual_seed before SelfAttention_v2 is built for the causal mask "
                   "(chapter 3, sections 3.4.2 and 3.5.1; the book uses 789)")
DROPOUT_TIP = ("Dropout rate p: each attention weight is zeroed with probability p and the "
               "rest are scaled by 1/(1-p) (chapter 3, section 3.5.2; the book uses 0.5)")
SEED_DROPOUT_TIP = ("torch.manual_seed before dropout draws which weights to drop (chapter 3, "
                    "section 3.5.2; the book uses 123)")
HEADS_TIP = ("num_heads: the wrapper stacks this many causal heads (chapter 3, section 3.6.1); "
             "MultiHeadAttention splits d_out into this many heads, so it must divide d_out "
             "(section 3.6.2)")
SEED_MULTIHEAD_TIP = ("torch.manual_seed before the multi-head modules are built (chapter 3, "
                      "section 3.6; the book uses 123)")
STEP_SAVE_TIP = "Save this step's heatmap (chapter 3, sections 3.3 to 3.6) as a PNG image"


def cell_tip(column: int) -> str:
    if column == 0:
        return ("The token's word: only a label for the rows and columns (chapter 3, section "
                "3.3). Double-click to edit")
    return (f"Dimension d{column - 1} of this token's input embedding (chapter 3, section 3.3). "
            "Double-click to edit; every step updates")

