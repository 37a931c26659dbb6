"""A naive reference of chapter 5's training, written from scratch for the benchmarks.

Plain eager PyTorch the way the book writes it: chapter 4's GPTModel with explicit attention
(scores, mask, softmax, dropout), hand-written LayerNorm and GELU, chapter 2's sliding-window
Dataset and a DataLoader, `calc_loss_batch` over full logits, AdamW with its default loop
(`foreach=False`, nothing fused), no warmup, no clipping, evaluation every `eval_freq` steps
and a greedy sample after each epoch (`train_model_simple`). It shares nothing with `model/`
except the GPT-2 tokenizer, so the engine is measured against an independent baseline.

Parameters are created in the book's order, so with the same seed its initial weights equal
`model.gpt.GPTModel`'s (tests/model/test_train_reference.py checks this).

Run directly for one reference training run printing JSON:
    python benchmarks/reference_book_training.py --lr 2e-3 --batch-size 8 --target-val-loss 6.3
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# -- chapter 4's model, naive -----------------------------------------------------------------

class NaiveMultiHeadAttention(nn.Module):
    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False):
        super().__init__()
        self.d_out, self.num_heads, self.head_dim = d_out, num_heads, d_out // num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), 1))

    def forward(self, x):
        b, n, _ = x.shape
        q = self.W_query(x).view(b, n, self.num_heads, self.head_dim).transpose(1, 2)
        k = self.W_key(x).view(b, n, self.num_heads, self.head_dim).transpose(1, 2)
        v = self.W_value(x).view(b, n, self.num_heads, self.head_dim).transpose(1, 2)
        scores = q @ k.transpose(2, 3)  # (b, heads, n, n)
        scores.masked_fill_(self.mask.bool()[:n, :n], -torch.inf)
        weights = self.dropout(torch.softmax(scores / k.shape[-1] ** 0.5, dim=-1))
        ctx = (weights @ v).transpose(1, 2).contiguous().view(b, n, self.d_out)
        return self.out_proj(ctx)


class NaiveLayerNorm(nn.Module):
    def __init__(self, emb_dim):
        super().__init__()
        self.eps = 1e-5
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        return self.scale * (x - mean) / torch.sqrt(var + self.eps) + self.shift


class NaiveGELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


class NaiveFeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["emb_dim"]
        self.layers = nn.Sequential(nn.Linear(d, 4 * d), NaiveGELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        return self.layers(x)


class NaiveTransformerBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.att = NaiveMultiHeadAttention(cfg["emb_dim"], cfg["emb_dim"], cfg["context_length"],
                                           cfg["drop_rate"], cfg["n_heads"], cfg["qkv_bias"])
        self.ff = NaiveFeedForward(cfg)
        self.norm1 = NaiveLayerNorm(cfg["emb_dim"])
        self.norm2 = NaiveLayerNorm(cfg["emb_dim"])
        self.drop_shortcut = nn.Dropout(cfg["drop_rate"])

    def forward(self, x):
        x = x + self.drop_shortcut(self.att(self.norm1(x)))
        return x + self.drop_shortcut(self.ff(self.norm2(x)))


class NaiveGPTModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.tok_emb = nn.Embedding(cfg["vocab_size"], cfg["emb_dim"])
        self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
        self.drop_emb = nn.Dropout(cfg["drop_rate"])
        self.trf_blocks = nn.Sequential(*[NaiveTransformerBlock(cfg)
                                          for _ in range(cfg["n_layers"])])
        self.final_norm = NaiveLayerNorm(cfg["emb_dim"])
        self.out_head = nn.Linear(cfg["emb_dim"], cfg["vocab_size"], bias=False)

    def forward(self, idx):
        n = idx.shape[1]
        x = self.tok_emb(idx) + self.pos_emb(torch.arange(n, device=idx.device))
        x = self.trf_blocks(self.drop_emb(x))
        return self.out_head(self.final_norm(x))


# -- chapter 2's data, chapter 5's loop -------------------------------------------------------

class WindowDataset(Dataset):
    def __init__(self, txt, tokenizer, max_length, stride):
        ids = tokenizer.encode(txt, allowed_special={"<|endoftext|>"})
        self.inputs, self.targets = [], []
        for i in range(0, len(ids) - max_length, stride):
            self.inputs.append(torch.tensor(ids[i:i + max_length]))
            self.targets.append(torch.tensor(ids[i + 1:i + max_length + 1]))

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, i):
        return self.inputs[i], self.targets[i]


def make_loader(txt, tokenizer, batch_size, max_length, shuffle, drop_last):
    ds = WindowDataset(txt, tokenizer, max_length, max_length)
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)


def calc_loss_batch(inputs, targets, model):
    logits = model(inputs)
    return nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())


def calc_loss_loader(loader, model, num_batches=None):
    if len(loader) == 0:
        return float("nan")
    n = len(loader) if num_batches is None else min(num_batches, len(loader))
    total = 0.0
    for i, (x, y) in enumerate(loader):
        if i >= n:
            break
        total += calc_loss_batch(x, y, model).item()
    return total / n


def generate_greedy(model, idx, max_new_tokens, context_size):
    for _ in range(max_new_tokens):
        with torch.no_grad():
            logits = model(idx[:, -context_size:])[:, -1, :]
        idx = torch.cat([idx, logits.argmax(dim=-1, keepdim=True)], dim=1)
    return idx


def book_config(emb_dim=128, n_layers=4, n_heads=4, context_length=128, drop_rate=0.1):
    return {"vocab_size": 50257, "context_length": context_length, "emb_dim": emb_dim,
            "n_heads": n_heads, "n_layers": n_layers, "drop_rate": drop_rate, "qkv_bias": False}


def train_reference(text, cfg, lr=2e-3, weight_decay=0.1, batch_size=8, epochs=10, eval_freq=5,
                    eval_iter=5, seed=123, target_val_loss=None, max_steps=None,
                    sample_tokens=50, start_context="Every effort moves you", on_record=None):
    """The book's train_model_simple; returns a dict with the curve and the timings.

    Validation loss covers every validation window (the book's eval_iter covers them all on
    The Verdict); the training loss at evaluation uses `eval_iter` batches, as the book does.
    """
    from model.tokenizer import get_tokenizer

    tokenizer = get_tokenizer()
    split = int(0.90 * len(text))
    torch.manual_seed(seed)
    train_loader = make_loader(text[:split], tokenizer, batch_size, cfg["context_length"],
                               shuffle=True, drop_last=True)
    val_loader = make_loader(text[split:], tokenizer, batch_size, cfg["context_length"],
                             shuffle=False, drop_last=False)
    model = NaiveGPTModel(cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay,
                                  foreach=False)
    curve = {"step": [], "tokens_seen": [], "train_loss": [], "val_loss": [], "elapsed_s": []}
    tokens_seen, step, reason = 0, 0, "completed"
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = calc_loss_batch(x, y, model)
            loss.backward()
            optimizer.step()
            tokens_seen += x.numel()
            step += 1
            if on_record:
                on_record({"event": "step", "step": step, "train_loss": loss.item()})
            if step % eval_freq == 0:
                model.eval()
                with torch.no_grad():
                    tl = calc_loss_loader(train_loader, model, eval_iter)
                    vl = calc_loss_loader(val_loader, model)
                model.train()
                for k, v in (("step", step), ("tokens_seen", tokens_seen), ("train_loss", tl),
                             ("val_loss", vl), ("elapsed_s", time.perf_counter() - start)):
                    curve[k].append(v)
                if on_record:
                    on_record({"event": "eval", "step": step, "train_loss": tl, "val_loss": vl})
                if target_val_loss is not None and vl <= target_val_loss:
                    reason = "target_val_loss"
                    break
            if max_steps and step >= max_steps:
                reason = "max_steps"
                break
        if reason != "completed":
            break
        if sample_tokens:
            model.eval()
            idx = torch.tensor([tokenizer.encode(start_context)])
            generate_greedy(model, idx, sample_tokens, cfg["context_length"])
            model.train()
    return {"reason": reason, "steps": step, "tokens_seen": tokens_seen,
            "elapsed_s": time.perf_counter() - start, "curve": curve}


def main(argv=None):
    from model.resources import read_the_verdict

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--max-steps", type=int)
    p.add_argument("--target-val-loss", type=float)
    p.add_argument("--seed", type=int, default=123)
    args = p.parse_args(argv)
    result = train_reference(read_the_verdict(), book_config(), lr=args.lr,
                             batch_size=args.batch_size, epochs=args.epochs, seed=args.seed,
                             max_steps=args.max_steps, target_val_loss=args.target_val_loss)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
