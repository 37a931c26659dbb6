"""Chapter 6: fine-tuning a GPT for classification (with appendix E's LoRA as an option).

- `data`: labelled texts from CSV/TSV (the book's spam files), plain text files or the shipped
  "verdict-vs-notes"; balancing, the 70/10/20 split, tokenizing and padding with 50256.
- `classifier`: the new head on the last token, which parts train, accuracy, confusion
  matrix, misclassified texts, per-token probabilities.
- `finetune`: `ClassifyRecipe`, `ClassificationTask` (the task the shared training loop of
  `model.train.loop` runs) and `FineTune` (a whole run, before and after).
- `store`: saving and opening classifiers (safetensors, kind "classifier").
- `cli` / `__main__`: `python -m model.classify`, one JSON record per line.
"""

from model.classify.data import (DEFAULT_DATA, PAD_TOKEN_ID, ClassifyDataError, LabelledData,
                                 PreparedData, balance, batch_preview, load_labelled, prepare,
                                 split, verdict_vs_notes)
from model.classify.classifier import (TRAINABLE, build_classifier, classify_text,
                                       per_token_probabilities)
from model.classify.finetune import ClassificationTask, ClassifyRecipe, FineTune
from model.classify.store import LoadedClassifier, open_classifier, save_classifier

__all__ = ["DEFAULT_DATA", "PAD_TOKEN_ID", "TRAINABLE", "ClassificationTask", "ClassifyDataError",
           "ClassifyRecipe", "FineTune", "LabelledData", "LoadedClassifier", "PreparedData",
           "balance", "batch_preview", "build_classifier", "classify_text", "load_labelled",
           "open_classifier", "per_token_probabilities", "prepare", "save_classifier", "split",
           "verdict_vs_notes"]
