"""Is the Training lab responsive while it trains? Event-loop latency and plot refresh rate.

Starts the lab offscreen and trains; a 10 ms timer probe records how late each tick fires (the
time the event loop was busy or starved: this is what the learner feels as lag), and the plot's
own redraw counter gives refreshes per second. The lab's plot only redraws when a record came
in, so its rate is bounded by the steps per second; a second LossPlot beside it, fed 50 points
a second from the GUI thread while the training runs, measures the refresh rate the plot keeps
up under training load (`plot_capacity_per_s`). Two scenarios in one run: the GUI's `default`
preset (as a learner starts it) and the `tiny` preset, whose steps come faster.

    .venv/bin/python benchmarks/bench_train_gui.py [--seconds 20]

Targets: latency p99 under 50 ms, at least 5 plot refreshes per second.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._common import load_info  # noqa: E402


def percentile(values, q):
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def scenario(ctx, preset: str, seconds: float) -> dict:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer

    from studyapp.areas.training.area import TrainingLab
    from studyapp.widgets.loss_plot import LossPlot

    lab = TrainingLab(ctx)
    lab.resize(1280, 800)
    lab.show()
    lab.apply_preset(preset)
    lab.form.epochs.setValue(1000)  # keep it training for the whole measurement
    steps = []
    side = LossPlot()
    side.resize(600, 400)
    side.show()
    fed = [0]

    def feed():
        fed[0] += 1
        side.add_step(fed[0], fed[0] * 512, 10.0 / (1 + fed[0] * 0.01))

    feeder = QTimer()
    feeder.setInterval(20)
    feeder.timeout.connect(feed)

    clock = QElapsedTimer()
    clock.start()
    lateness: list[float] = []
    last = [None]
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(10)

    def tick():
        now = clock.nsecsElapsed() / 1e6
        if last[0] is not None:
            lateness.append(max(0.0, now - last[0] - 10.0))
        last[0] = now

    probe.timeout.connect(tick)
    loop = QEventLoop()
    lab.start_training()
    lab._job.record.connect(lambda r: steps.append(time.perf_counter())
                            if r.get("event") == "step" else None)
    # measure once the run is under way (model built, first step done)
    while not steps and lab.running:
        QTimer.singleShot(20, loop.quit)
        loop.exec()
    refresh0, t0, steps0 = lab.plot.refresh_count, time.perf_counter(), len(steps)
    side0 = side.refresh_count
    probe.start()
    feeder.start()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    probe.stop()
    feeder.stop()
    duration = time.perf_counter() - t0
    refreshes = lab.plot.refresh_count - refresh0
    side_refreshes = side.refresh_count - side0
    side.stop_timer()
    side.close()
    n_steps = len(steps) - steps0
    stop_t = time.perf_counter()
    lab.shutdown()
    stop_s = time.perf_counter() - stop_t
    lab.close()
    lab.deleteLater()
    return {"preset": preset, "seconds": round(duration, 2),
            "latency_ms_p50": round(percentile(lateness, 50), 2),
            "latency_ms_p99": round(percentile(lateness, 99), 2),
            "latency_ms_max": round(max(lateness), 2), "probes": len(lateness),
            "plot_refreshes_per_s": round(refreshes / duration, 2),
            "plot_capacity_per_s": round(side_refreshes / duration, 2),
            "steps_per_s": round(n_steps / duration, 2),
            "stop_s": round(stop_s, 3)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--presets", default="default,tiny")
    args = p.parse_args(argv)

    from studyapp.shell.app import build_context, ensure_qapplication

    app = ensure_qapplication()
    from studyapp.models.entry import untrained_entry

    ctx = build_context(Path(tempfile.mkdtemp(prefix="bench-gui-")))
    ctx.models.add(untrained_entry("tiny"), make_current=True)
    results = [scenario(ctx, name, args.seconds) for name in args.presets.split(",")]
    app.processEvents()
    print(json.dumps({"benchmark": "train_gui_responsiveness", "machine": load_info(),
                      "targets": {"latency_ms_p99_below": 50, "plot_refreshes_per_s_at_least": 5},
                      "scenarios": results}, indent=2))


if __name__ == "__main__":
    main()
