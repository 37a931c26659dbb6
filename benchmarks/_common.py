"""Shared helpers for the benchmarks: timing repeated calls, subprocess workers run side by side,
peak memory, matmul peak, and the book's loader loss for the naive baselines."""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Timing:
    """Milliseconds of repeated calls: wall-clock and CPU, one entry per call."""

    wall_ms: list[float]
    cpu_ms: list[float]

    @property
    def ms(self) -> float:
        return statistics.median(self.wall_ms)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_ms)

    def wall_all(self, digits: int = 2) -> list[float]:
        return [round(t, digits) for t in self.wall_ms]

    def summary(self, all_digits: int = 2) -> dict:
        return {"ms_median": round(self.ms, 2), "cpu_ms_median": round(self.cpu, 2),
                "ms_all": self.wall_all(all_digits)}


def time_calls(fn, repeats: int, cpu_clock=time.thread_time) -> Timing:
    """Call `fn()` `repeats` times and time each call.

    This box is shared: wall times swell with other people's jobs, while CPU time stays close
    to what the work costs on an idle machine, so both are kept. The CPU clock is this thread's
    by default; pass `time.process_time` where the work runs on several threads (torch).
    """
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), cpu_clock()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((cpu_clock() - start_cpu) * 1000)
    return Timing(wall, cpu)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def matmul_peak_gflops(n: int = 1024, repeats: int = 10) -> float:
    """Best float32 GFLOP/s of an n x n matrix product on this machine (the MFU denominator)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def run_worker(script: Path, args: list[str], timeout: float = 1800) -> dict:
    """Run `script --worker ...` in a fresh process (own peak memory); parse its last line."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, str(script), "--worker", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def number_options(parser: argparse.ArgumentParser, **defaults: float) -> argparse.ArgumentParser:
    """Add `--name N` options, each typed by its default (`max_steps=8` gives `--max-steps`)."""
    for name, default in defaults.items():
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    return parser


def worker_parser(*workers: str, rounds: int = 3) -> argparse.ArgumentParser:
    """The options of a benchmark that runs its variants as `--worker` subprocesses."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's)")
    parser.add_argument("--worker", choices=list(workers or ("reference", "engine")))
    return parser


def side_by_side(script: Path, args, workers: dict, worker_args: list[str]
                 ) -> dict[str, list[dict]] | None:
    """In a `--worker` process, run that worker (`workers[name]()`), print its JSON result and
    return None; otherwise run the workers alternately with `worker_args` and return
    their results (`alternate_workers`)."""
    if args.worker:
        print(json.dumps(workers[args.worker]()))
        return None
    return alternate_workers(script, args.rounds, worker_args, args.threads, tuple(workers))


def alternate_workers(script: Path, rounds: int, args: list[str], threads: int | None = None,
                      variants=("reference", "engine")) -> dict[str, list[dict]]:
    """Each variant's worker once a round, alternating, so that both see the same machine
    load; the results by variant, in round order."""
    extra = [*args, *(["--threads", str(threads)] if threads else [])]
    runs: dict[str, list[dict]] = {variant: [] for variant in variants}
    for _ in range(rounds):
        for variant in variants:
            runs[variant].append(run_worker(script, [variant, *extra]))
    return runs


def book_loader_loss(loader, num_batches: int, batch_loss) -> float:
    """The book's calc_loss_loader: the mean of `batch_loss(x, y)` over the first
    `num_batches` batches (all of them when the loader is shorter)."""
    num_batches = min(num_batches, len(loader))
    total = 0.0
    for i, (x, y) in enumerate(loader):
        if i >= num_batches:
            break
        total += batch_loss(x, y).item()
    return total / num_batches


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def load_info() -> dict:
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        one = five = float("nan")
    return {"cpus": os.cpu_count(), "loadavg_1m": round(one, 2), "loadavg_5m": round(five, 2)}


def print_report_and_exit(report: dict) -> None:
    """Print the JSON report and leave without interpreter teardown, where PySide6 and
    pyqtgraph can crash on leftover Qt objects (see studyapp.__main__). stdout is flushed
    first: `os._exit` does not flush, and a redirected stdout is block-buffered."""
    print(json.dumps(report, indent=2))
    sys.stdout.flush()
    os._exit(0)
