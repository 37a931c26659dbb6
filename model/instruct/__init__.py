"""Chapter 7: fine-tuning the GPT to follow instructions, without Qt.

- `model.instruct.data`: loading entries, `format_input` (the book's Alpaca-style prompt), the
  85/10/5 split, tokenizing and fitting examples to a context (no torch);
- `model.instruct.batches`: the book's `custom_collate_fn` and a cell-by-cell batch view;
- `model.instruct.respond`: greedy responses for entries and the book's responses file;
- `model.instruct.score`: the offline ROUGE-L score and the opt-in local Ollama judge;
- `model.instruct.finetune`: the book's fine-tuning recipe as a task on the shared loop;
- `python -m model.instruct`: all of it headless, writing JSON lines.

The names below are importable from `model.instruct` directly; the torch-based ones load on
first use, so that showing prompts and splits does not wait for torch.
"""

from model.instruct.data import (
    InstructDataError,
    LoadedEntries,
    Split,
    bundled_data_path,
    bundled_responses_path,
    check_entries,
    encode_entries,
    format_example,
    format_input,
    format_response,
    load_entries,
    split_entries,
    split_sizes,
)

_LAZY = {
    "custom_collate_fn": "batches", "batch_view": "batches", "view_entries": "batches",
    "BatchView": "batches",
    "BatchCell": "batches",
    "generate_response": "respond", "iter_responses": "respond", "save_responses": "respond",
    "with_responses": "respond", "Response": "respond",
    "rouge_l": "score", "score_responses": "score", "OllamaJudge": "score",
    "ScoreReport": "score", "JudgeError": "score",
    "BOOK_RECIPE": "finetune", "InstructOptions": "finetune", "InstructTask": "finetune",
    "InstructFineTune": "finetune", "instruct_loss": "finetune",
}

__all__ = sorted([
    "InstructDataError", "LoadedEntries", "Split", "bundled_data_path", "bundled_responses_path",
    "check_entries", "encode_entries", "format_example", "format_input", "format_response",
    "load_entries", "split_entries", "split_sizes", *_LAZY,
])


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"model.instruct.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'model.instruct' has no attribute {name!r}")
