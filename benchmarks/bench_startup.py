"""Fast start: time to the first painted main window, against a naive start.

The naive start imports everything (torch, every area's module and with them pyqtgraph), builds
the tokenizer and loads the bundled model before it shows the window, as a simple app would.
The app's start shows the window first and loads in the background. Both run as fresh
processes, alternating, N times each, in one run; medians and the ratio are printed as JSON.
Also reported: resident memory after visiting every area with the model loaded (what the 600 MB
target is about), and after the screenshot command's short fine-tuning runs in the Classify and
Instruct labs as well (their optimiser state and activations stay with the trained models).

    .venv/bin/python benchmarks/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

CHILD = r"""
import os, sys, time
t_parent = float(sys.argv[1]); mode = sys.argv[2]; data_dir = sys.argv[3]
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from pathlib import Path
if mode == "naive":
    import importlib
    import torch  # everything first, then the window
    from studyapp.areas import AREAS
    for area in AREAS:
        importlib.import_module(area.module)
    from studyapp.models.loading import load_default_entry
    entry, _ = load_default_entry()
from studyapp.shell.app import build_context, ensure_qapplication
app = ensure_qapplication()
from PySide6.QtCore import QEvent, QObject, QTimer
from studyapp.shell.main_window import MainWindow
ctx = build_context(Path(data_dir))
if mode == "naive":
    ctx.models.add(entry)
window = MainWindow(ctx)

class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and not hasattr(self, "t"):
            self.t = time.time() - t_parent
            QTimer.singleShot(0, app.quit)
        return False

probe = FirstPaint()
window.installEventFilter(probe)
window.show()
if mode == "app":
    ctx.models.start_loading()
app.exec()
print("painted", probe.t, flush=True)
from studyapp.shell.jobs import JobThread
JobThread.stop_all(60000)
os._exit(0)
"""

MEMORY = r"""
import os, resource, sys, time
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from pathlib import Path
from studyapp.shell.screenshot import take_screenshots
take_screenshots(Path(sys.argv[1]) / "shots", Path(sys.argv[1]) / "data",
                 runs=sys.argv[2] == "runs")
with open("/proc/self/status") as fh:
    rss = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS"))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("memory", rss / 1024, peak / 1024, flush=True)
os._exit(0)
"""


def time_to_paint(mode: str) -> float:
    with tempfile.TemporaryDirectory() as data_dir:
        start = time.time()
        out = subprocess.run([sys.executable, "-c", CHILD, repr(start), mode, data_dir],
                             capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        line = [l for l in out.stdout.splitlines() if l.startswith("painted")][-1]
        return float(line.split()[1])


def memory_after_every_area(runs: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", MEMORY, tmp, "runs" if runs else "visit"],
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        line = [l for l in out.stdout.splitlines() if l.startswith("memory")][-1]
        _, rss, peak = line.split()
        return {"rss_mb": round(float(rss), 1), "peak_rss_mb": round(float(peak), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    app_times, naive_times = [], []
    for _ in range(args.runs):  # alternate so machine noise hits both alike
        app_times.append(time_to_paint("app"))
        naive_times.append(time_to_paint("naive"))
    app_median, naive_median = statistics.median(app_times), statistics.median(naive_times)
    print(json.dumps({
        "benchmark": "startup",
        "runs": args.runs,
        "first_paint_s": {"app_median": round(app_median, 3),
                          "naive_median": round(naive_median, 3),
                          "app_all": [round(t, 3) for t in app_times],
                          "naive_all": [round(t, 3) for t in naive_times]},
        "ratio_app_over_naive": round(app_median / naive_median, 3),
        "target_ratio_at_most": 0.5,
        "memory_after_every_area": memory_after_every_area(),
        "target_memory_mb_under": 600,
        "memory_after_the_fine_tuning_runs_too": memory_after_every_area(runs=True),
    }, indent=2))


if __name__ == "__main__":
    main()
