"""Training a GPT (chapter 5), on a loop that fine-tuning (chapters 6 and 7) shares.

- `config`: `TrainConfig` (a run's recipe as data), `TrainingError`, sizes; no torch.
- `presets`: named model shapes and recipes (`default`, `gpt2-124m`, `bundled`...); no torch.
- `corpus`: reading a training text, the book's 90/10 split, token windows.
- `distributed`: the device choice and DistributedDataParallel under torchrun.
- `loop`: `TrainingLoop`, the book's `train_model_simple` over any task (records, stop/pause,
  schedule, evaluation); its docstring documents the task API.
- `trainer`: `Trainer`, pretraining on a text (the language-model task on that loop).
- `cli` / `__main__`: `python -m model.train`, one JSON record per line.

`TrainConfig` and `TrainingError` import without torch; `Trainer`, `TrainingLoop`, `main` and
`read_corpus` load their modules (and torch) when first asked for.
"""

from model.train.config import SAMPLE_PROMPT, TrainConfig, TrainingError, check_output_dir

__all__ = ["SAMPLE_PROMPT", "TrainConfig", "TrainingError", "check_output_dir", "Trainer",
           "TrainingLoop", "main", "read_corpus"]

_LAZY = {"Trainer": "model.train.trainer", "TrainingLoop": "model.train.loop",
         "main": "model.train.cli", "read_corpus": "model.train.corpus"}


def __getattr__(name):
    # Lazy: the GUI reads the recipe fields and presets before torch has loaded.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'model.train' has no attribute {name!r}")
