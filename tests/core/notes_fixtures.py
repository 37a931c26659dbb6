"""Notes files written for the tests: a grown deck shaped like the learner's newer notes (more
chapters, a bullet standing before a summary, empty answers, a TODO left in an answer, a
duplicate, a legend closed oddly), and the edits a learner makes between two versions."""

from __future__ import annotations

import re

#: Counts the questions a reader sees on GitHub: every <summary> that starts with 🎯Q.
QUESTION_SUMMARY_RE = re.compile(r"<summary[^>]*>\s*🎯\ufe0f?\s*Q", re.IGNORECASE)


def _card(question: str, answer: str) -> str:
    return f"<details>\n<summary>🎯Q. {question}</summary>\n\n{answer}\n</details>\n"


def grown_notes() -> str:
    """39 questions, one of them with a bullet between <details> and its <summary>."""
    out = ["# Study notes on building a language model\n", "![alt text](cover.png)\n",
           "# Chapter 1: what language models are\n"]
    for i in range(1, 6):
        out.append(_card(f"Chapter one point {i} worth remembering",
                         f"- point {i}: a model predicts the next token\n"
                         f"- ![alt text](fig-1-{i}.png)"))
    out.append("<details>\n\n- ⭐Tailored models can beat general ones on their own task⭐\n\n"
               "<summary>🎯Q. Stages of building and using a model</summary>\n\n"
               "- pretraining on raw text, then fine-tuning on labelled data\n</details>\n")
    out.append("<details>\n<summary>🎯Q.Supervised training versus pretraining ?</summary>\n\n"
               "### 🎯 Supervised training versus pretraining\n1. labels made by people\n"
               "2. labels taken from the text itself\n</details>\n")
    out.append("# Chapter 2: text as numbers\n")
    for i in range(1, 17):
        out.append(_card(f"How does step {i} of data preparation work", f"- step {i} explained"))
    out.append("# Chapter 3: attention\n")
    out.append(_card("What is self attention", "- each token weighs every other token\n"
                     "<details>\n<summary>Show the code</summary>\n\n```python\n"
                     "scores = x @ x.T\n```\n</details>\n- then softmax"))
    for i in range(1, 9):
        out.append(_card(f"Attention detail number {i}", f"- detail {i}"))
    out.append("- ⭐ a bullet between two questions ⭐\n")
    out.append("# Maths concepts\n\n</details>\n")
    out.append(_card("what is tensor?", "- a container of numbers with any number of axes"))
    out.append("#### Questions which need a deep dive\n")
    out.append(_card("Can we see which parameter stores which fact?",
                     "- an open research problem (interpretability)\n"
                     "- TODO - read more and go deep."))
    out.append(_card("Why is positional information needed after token ids?", ""))
    out.append("# Another book: key takeaways\n")
    out.append(_card("placeholder question ?", "- "))
    out.append(_card("placeholder question ?", "- "))
    out.append(_card("masked versus autoregressive models", "- ![alt text](fig-50.png)"))
    out.append("<details>\n<summary>Emojis used</summary>\n⭐ - For important points\n"
               "🔥 - super important\n</summary>\n</details>\n")
    out.append(_card("last one", "TODO"))
    return "\n".join(out)


ATTENTION_A = ("What is self attention",
               "- each token scores every other token with a dot product\n"
               "- the scores are normalised with softmax into attention weights\n"
               "- the context vector is the weighted sum of the value vectors")
ATTENTION_B = ("What is causal attention",
               "- a mask hides the tokens that come later in the sequence\n"
               "- masked scores are set to minus infinity before the softmax\n"
               "- so a token can only look at itself and the tokens before it")


# --- two versions of a deck, for matching ------------------------------------------------

BASE = {
    "Chapter 1: what language models are": [
        ("Stages of buiding and using a model",
         "- pretraining on a large corpus of raw text gives a foundation model\n"
         "- fine-tuning on a smaller labelled data set adapts it to one task"),
        ("What is an LLM",
         "- a deep neural network trained on a very large amount of text\n"
         "- it predicts the next token and so learns to produce fluent language"),
        ("Explain backpropagation simply",
         "- the network guesses, the loss says how wrong the guess was\n"
         "- gradients flow backwards and each weight moves a little against its gradient"),
    ],
    "Chapter 2: text as numbers": [
        ("Why do we need a tokenizer",
         "- text has to become integers before a model can embed it\n"
         "- byte pair encoding splits unknown words into known sub-word pieces"),
        ("what does one hot encoding mean",
         "- a vector of zeros with a single one at the token id\n"
         "- an embedding lookup is the same as multiplying it with the weight matrix"),
    ],
    "Chapter 3: attention": [
        ATTENTION_A,
        ("why is it called scaled dot product attention", "- ![alt text](image-33.png)"),
        ("3 step process for self-attention ?", "TODO"),
    ],
    "Maths concepts": [
        ("what is tensor",
         "- a container for numbers with any number of dimensions\n"
         "- a scalar has rank zero, a vector rank one and a matrix rank two"),
    ],
}


def deck_text(sections: dict) -> str:
    out = []
    for name, cards in sections.items():
        out.append(f"# {name}\n")
        out += [_card(q, a) for q, a in cards]
    return "\n".join(out)


def edited(base: dict = BASE, **changes) -> dict:
    """A copy of `base` with (section, index) -> (question, answer) replacements."""
    out = {name: list(cards) for name, cards in base.items()}
    for (section, index), card in changes.get("replace", {}).items():
        out[section][index] = card
    return out
