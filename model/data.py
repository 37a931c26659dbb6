"""Chapter 2's data sampling with a sliding window, and the chapter 5 train/validation split."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset

from model.tokenizer import get_tokenizer


class GPTDatasetV1(Dataset):
    """Input windows of `max_length` token IDs every `stride` tokens; targets shifted by one."""

    def __init__(self, txt: str, tokenizer, max_length: int, stride: int):
        if max_length <= 0 or stride <= 0:
            raise ValueError("max_length and stride must be positive")
        token_ids = tokenizer.encode(txt)
        self.input_ids: list[torch.Tensor] = []
        self.target_ids: list[torch.Tensor] = []
        ids = torch.tensor(token_ids, dtype=torch.long)
        for i in range(0, len(token_ids) - max_length, stride):
            self.input_ids.append(ids[i:i + max_length])
            self.target_ids.append(ids[i + 1:i + max_length + 1])

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, idx: int):
        return self.input_ids[idx], self.target_ids[idx]


def create_dataloader_v1(txt: str, batch_size: int = 4, max_length: int = 256,
                         stride: int = 128, shuffle: bool = True, drop_last: bool = True,
                         num_workers: int = 0, tokenizer=None) -> DataLoader:
    """The book's dataloader over GPT-2 token IDs (section 2.6)."""
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    dataset = GPTDatasetV1(txt, tokenizer or get_tokenizer(), max_length, stride)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                      num_workers=num_workers)


def train_val_split(text: str, train_ratio: float = 0.90) -> tuple[str, str]:
    """Split by characters, as chapter 5 does: the first 90% trains, the rest validates."""
    if not 0.0 < train_ratio < 1.0:
        raise ValueError(f"train_ratio must be between 0 and 1, got {train_ratio}")
    split_idx = int(train_ratio * len(text))
    return text[:split_idx], text[split_idx:]
