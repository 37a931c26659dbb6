"""Chapter 6's classifier: a GPT whose output head predicts classes from the last token.

`build_classifier` does what section 6.5 does: a new head `Linear(emb_dim, num_classes)` in
place of `out_head`, every weight frozen, then the parts chosen to train made trainable again
(the book: the last transformer block, `final_norm` and the head; here also the head only, the
last k blocks, everything, or LoRA from appendix E). Dropout is off, as in the book's
chapter 6 configuration. The prediction is the head's output at the last token, the only
position that has attended to the whole text (section 6.6).

Also here: accuracy, the confusion matrix and the misclassified texts of a split, the class
probabilities of a typed text, and the probability at every token ("if the text ended here"),
padding included, which shows why padding changes a prediction.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from model.classify.data import PAD_TOKEN_ID, ClassifyDataError, EncodedSplit
from model.gpt import GPTModel
from model.lora import count_parameters, replace_linear_with_lora

TRAINABLE = ("head", "last-block", "last-k", "all", "lora")


def build_classifier(model: GPTModel, num_classes: int, trainable: str = "last-block",
                     last_k: int = 1, lora_rank: int = 16, lora_alpha: float = 16,
                     seed: int = 123) -> GPTModel:
    """Turn `model` (in place) into a classifier of `num_classes`; returns it."""
    if trainable not in TRAINABLE:
        raise ValueError(f"trainable must be one of {', '.join(TRAINABLE)}, got {trainable!r}")
    if num_classes < 2:
        raise ValueError(f"a classifier needs 2 classes or more, got {num_classes}")
    n_layers = len(model.trf_blocks)
    if trainable == "last-block":
        trainable, last_k = "last-k", 1
    if trainable == "last-k" and not 1 <= last_k <= n_layers:
        raise ValueError(f"last k must be between 1 and {n_layers} blocks, got {last_k}")
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
    model.cfg = model.cfg.replace(drop_rate=0.0)
    model.requires_grad_(False)
    torch.manual_seed(seed)  # the book seeds right before the new head
    model.out_head = nn.Linear(model.cfg.emb_dim, num_classes).to(model.tok_emb.weight.device)
    if trainable == "last-k":
        for block in model.trf_blocks[n_layers - last_k:]:
            block.requires_grad_(True)
        model.final_norm.requires_grad_(True)
    elif trainable == "all":
        model.requires_grad_(True)
    elif trainable == "lora":
        model.out_head.requires_grad_(False)
        replace_linear_with_lora(model, lora_rank, lora_alpha)
    model.num_classes = num_classes
    return model


def parameter_counts(model: nn.Module) -> dict[str, int]:
    return {"total_params": count_parameters(model),
            "trainable_params": count_parameters(model, trainable_only=True)}


def frozen_prefix(model: GPTModel) -> int:
    """How many leading transformer blocks (with the embeddings) hold no trainable weight.

    Their output never changes during fine-tuning, so it can be computed once per text.
    """
    embeddings = list(model.tok_emb.parameters()) + list(model.pos_emb.parameters())
    if any(p.requires_grad for p in embeddings):
        return 0
    for i, block in enumerate(model.trf_blocks):
        if any(p.requires_grad for p in block.parameters()):
            return i
    return len(model.trf_blocks)


def hidden_states(model: GPTModel, input_ids: torch.Tensor, first: int = 0,
                  last: int | None = None, x: torch.Tensor | None = None) -> torch.Tensor:
    """Outputs of blocks first..last-1; from the embeddings of `input_ids` when x is None."""
    if x is None:
        x = model.drop_emb(model.embed(input_ids))  # (b, T, emb_dim)
    for block in model.trf_blocks[first:last]:
        x = block(x)
    return x  # (b, T, emb_dim)


def head_logits(model: GPTModel, hidden: torch.Tensor) -> torch.Tensor:
    """Class logits from hidden states: (b, T, d) -> (b, T, C), or (b, d) -> (b, C)."""
    return model.out_head(model.final_norm(hidden))


def last_token_logits(model: GPTModel, input_ids: torch.Tensor) -> torch.Tensor:
    """(b, T) token IDs -> (b, num_classes): the book's `model(input_batch)[:, -1, :]`."""
    hidden = hidden_states(model, input_ids)
    return head_logits(model, hidden[:, -1, :])


def classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the last token's logits (section 6.7's calc_loss_batch)."""
    return F.cross_entropy(logits, labels)


@torch.inference_mode()
def predict(model: GPTModel, part: EncodedSplit, batch_size: int = 64,
            device: torch.device | str = "cpu", limit: int | None = None) -> torch.Tensor:
    """(n, num_classes) probabilities for the texts of `part` (the first `limit`)."""
    was_training = model.training
    model.eval()
    n = len(part) if limit is None else min(limit, len(part))
    out = []
    try:
        for start in range(0, n, batch_size):
            ids = part.input_ids[start:min(n, start + batch_size)].to(device)
            out.append(torch.softmax(last_token_logits(model, ids).float(), dim=-1).cpu())
    finally:
        model.train(was_training)
    if not out:
        return torch.zeros(0, getattr(model, "num_classes", 2))
    return torch.cat(out)


def accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    if len(labels) == 0:
        return float("nan")
    return float((probs.argmax(dim=-1) == labels[:len(probs)]).float().mean())


def confusion_matrix(probs: torch.Tensor, labels: torch.Tensor, num_classes: int
                     ) -> list[list[int]]:
    """counts[true class][predicted class]."""
    counts = torch.zeros(num_classes, num_classes, dtype=torch.long)
    predicted = probs.argmax(dim=-1)
    for t, p in zip(labels.tolist(), predicted.tolist()):
        counts[t, p] += 1
    return counts.tolist()


def misclassified(probs: torch.Tensor, part: EncodedSplit, label_names: Sequence[str]
                  ) -> list[dict]:
    """The texts of `part` the classifier gets wrong, most confident mistakes first."""
    predicted = probs.argmax(dim=-1)
    wrong = [i for i in range(len(probs)) if int(predicted[i]) != int(part.labels[i])]
    wrong.sort(key=lambda i: -float(probs[i, predicted[i]]))
    return [{"index": i, "text": part.examples[i].text, "source": part.examples[i].where(),
             "label": label_names[int(part.labels[i])],
             "predicted": label_names[int(predicted[i])],
             "probs": [round(float(p), 4) for p in probs[i]]} for i in wrong]


def _encode_text(tokenizer, text: str, context_length: int) -> list[int]:
    ids = tokenizer.encode(text)
    if not ids:
        raise ClassifyDataError("the text is empty")
    if len(ids) > context_length:
        raise ClassifyDataError(f"the text has {len(ids)} tokens, more than the model's "
                                f"context of {context_length}")
    return ids


@torch.inference_mode()
def classify_text(model: GPTModel, tokenizer, text: str, max_length: int | None = None,
                  device: torch.device | str = "cpu") -> list[float]:
    """Class probabilities of one text, padded to `max_length` as in training (None: as is)."""
    ids = _encode_text(tokenizer, text, model.cfg.context_length)
    if max_length is not None:
        ids = ids[:max_length] + [PAD_TOKEN_ID] * max(0, max_length - len(ids))
    model.eval()
    logits = last_token_logits(model, torch.tensor([ids], device=device))
    return [float(p) for p in torch.softmax(logits.float(), dim=-1)[0]]


@torch.inference_mode()
def per_token_probabilities(model: GPTModel, tokenizer, text: str,
                            max_length: int | None = None,
                            device: torch.device | str = "cpu") -> dict:
    """The class probabilities "if the text ended at each token", and on through the padding.

    One forward pass gives them all: causal attention makes the hidden state at position i the
    same as that of the text cut after token i. With `max_length`, the padding tokens follow
    (what training saw); the prediction used is the one at the last position.
    """
    ids = _encode_text(tokenizer, text, model.cfg.context_length)
    n = len(ids)
    padded = ids[:max_length] + [PAD_TOKEN_ID] * max(0, max_length - n) if max_length else ids
    model.eval()
    hidden = hidden_states(model, torch.tensor([padded], device=device))  # (1, T, emb_dim)
    probs = torch.softmax(head_logits(model, hidden)[0].float(), dim=-1).cpu()  # (T, C)
    rows = [{"position": i, "token_id": tok, "token": tokenizer.decode([tok]),
             "padding": i >= n, "probs": [round(float(p), 4) for p in probs[i]]}
            for i, tok in enumerate(padded)]
    text_end = min(n, len(padded)) - 1
    return {"tokens": rows, "text_tokens": n, "padding": max(0, len(padded) - n),
            "truncated": max(0, n - len(padded)),
            "at_text_end": rows[text_end]["probs"], "prediction": rows[-1]["probs"]}
