"""Where a run computes: the device choice, and DistributedDataParallel under `torchrun`.

`pick_device("auto")` takes CUDA, then Apple's MPS, then the CPU. `init_distributed` joins the
process group when `torchrun` started several processes (WORLD_SIZE > 1); each process then
trains on its share of every batch and the gradients are averaged, so two processes with
batches of 2 train as one process with batches of 4. Without torchrun everything here is a
no-op and a run is an ordinary single-process loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn as nn

from model.train.config import TrainingError


@dataclass
class Dist:
    """This process's place in a distributed run (one process: rank 0 of 1, inactive)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    active: bool = False


def init_distributed(device_pref: str) -> Dist:
    """Join the process group when started by torchrun (WORLD_SIZE > 1 in the environment)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch.distributed as tdist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device_pref in ("auto",) or device_pref.startswith("cuda")
    if not tdist.is_initialized():
        tdist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Dist(rank=tdist.get_rank(), world=tdist.get_world_size(), local_rank=local_rank,
                active=True)


def shutdown_distributed() -> None:
    """Leave the process group a torchrun process joined (nothing to do otherwise)."""
    if os.environ.get("WORLD_SIZE", "1") == "1":
        return
    import torch.distributed as tdist

    if tdist.is_initialized():
        tdist.destroy_process_group()


def pick_device(pref: str = "auto", local_rank: int = 0) -> torch.device:
    """'auto' takes CUDA, then Apple's MPS, then the CPU."""
    pref = (pref or "auto").strip().lower()
    if pref == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(pref)
    except RuntimeError:
        raise TrainingError(f"unknown device {pref!r}; use auto, cpu, cuda or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError("device 'cuda' was asked for but no CUDA GPU is available; use auto")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None)
                                      and torch.backends.mps.is_available()):
        raise TrainingError("device 'mps' was asked for but is not available here; use auto")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank % torch.cuda.device_count())
    return device


def set_threads(num_threads: int | None, dist: Dist, device: torch.device) -> None:
    if num_threads:
        torch.set_num_threads(num_threads)
    elif dist.active and device.type == "cpu":
        # processes on one machine would otherwise each take every core
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // dist.world))


def wrap_ddp(module: nn.Module, dist: Dist, device: torch.device) -> nn.Module:
    """The module wrapped for DistributedDataParallel when this is a distributed run."""
    if not dist.active:
        return module
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    return DDP(module, device_ids=ids)


def mean_over_ranks(value: torch.Tensor, dist: Dist) -> float:
    """A scalar averaged over the processes (the value itself in a single process)."""
    if not dist.active:
        return float(value)
    import torch.distributed as tdist

    t = value.reshape(1).to(torch.float64)
    tdist.all_reduce(t)
    return float(t) / dist.world


def sum_over_ranks(totals: torch.Tensor, dist: Dist) -> torch.Tensor:
    """Element-wise sum over the processes, in place (gloo reduces CPU tensors)."""
    if dist.active:
        import torch.distributed as tdist

        tdist.all_reduce(totals)
    return totals


def any_rank(flag: bool, dist: Dist, device: torch.device) -> bool:
    """True on every process when it is true on one (a stop must end every process's loop)."""
    if not dist.active:
        return flag
    import torch.distributed as tdist

    t = torch.tensor([1.0 if flag else 0.0])
    if device.type == "cuda":
        t = t.to(device)
    tdist.all_reduce(t)
    return bool(t.item() > 0)
