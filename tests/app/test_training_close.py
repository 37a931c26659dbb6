"""Closing the main window mid-training: the run stops within 2 s, the process exits with code 0,
and Qt never reports a thread destroyed while running (a real app process, not pytest's)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import os, sys, tempfile, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from pathlib import Path
    from studyapp.shell.app import build_context, build_window, ensure_qapplication, teardown
    from PySide6.QtCore import QTimer
    app = ensure_qapplication()
    from studyapp.models.entry import untrained_entry
    from studyapp.shell.jobs import JobThread
    ctx = build_context(Path(tempfile.mkdtemp()))
    ctx.models.add(untrained_entry("tiny"), make_current=True)
    window = build_window(ctx)
    window.show()
    lab = window.areas["training"]
    lab.apply_preset(sys.argv[1])
    lab.form.epochs.setValue(1000)
    steps = []
    assert lab.start_training(), lab.message.text()
    lab._job.record.connect(lambda r: steps.append(1) if r.get("event") == "step" else None)
    deadline = time.monotonic() + 180

    def check():
        if len(steps) >= 3 or time.monotonic() > deadline:
            t = time.perf_counter()
            window.close()
            print("STOP_S", time.perf_counter() - t, "RUNNING", len(JobThread.running()),
                  "STEPS", len(steps), flush=True)
            return
        QTimer.singleShot(50, check)

    QTimer.singleShot(50, check)
    code = app.exec()
    teardown(window)
    sys.exit(code)
""")


def test_closing_the_window_mid_training_stops_fast_and_exits_cleanly():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", SCRIPT, "tiny"], capture_output=True, text=True,
                          timeout=300, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "QThread: Destroyed" not in out
    line = next(line for line in proc.stdout.splitlines() if line.startswith("STOP_S"))
    fields = line.split()
    stop_s, running, steps = float(fields[1]), int(fields[3]), int(fields[5])
    assert steps >= 3  # it was really training when the window closed
    assert running == 0 and stop_s < 2.0
