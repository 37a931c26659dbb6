"""The book's GPT as a package: pure PyTorch and tiktoken, never Qt.

Chapters 2 to 6 of "Build a Large Language Model (From Scratch)": the tokenizers
(`model.tokenizer`), the sliding-window data (`model.data`), the attention progression
(`model.attention`), the GPT itself (`model.gpt`), generation (`model.generate`), training
(`model.train`, whose loop fine-tuning shares), classification fine-tuning (`model.classify`)
with appendix E's LoRA (`model.lora`), checkpoints (`model.checkpoint`) and inspection
(`model.inspect`).

Only the light modules are imported here; torch loads when `GPTModel` is first asked for, so
that `import model` stays cheap for the app's fast start.
"""

from model.config import GPTConfig, PRESETS, get_preset

__all__ = ["GPTConfig", "GPTModel", "PRESETS", "get_preset"]


def __getattr__(name):
    # Lazy: importing torch costs about a second, and the app wants its window up first.
    if name == "GPTModel":
        from model.gpt import GPTModel

        return GPTModel
    raise AttributeError(f"module 'model' has no attribute {name!r}")
