"""One app per data folder: a second start says so and exits 0; a dead owner's lock is taken."""

import os
import signal
import subprocess
import sys
import textwrap

from studyapp.shell.app import acquire_instance_lock


def _env():
    return dict(os.environ, QT_QPA_PLATFORM="offscreen")


def test_a_second_start_on_the_same_folder_exits_0_and_says_why(qapp, tmp_path):
    lock = acquire_instance_lock(tmp_path)
    assert lock is not None
    try:
        result = subprocess.run([sys.executable, "-m", "studyapp", "--data-dir", str(tmp_path)],
                                capture_output=True, text=True, timeout=120, env=_env())
    finally:
        lock.unlock()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "already open on this data folder" in result.stderr
    assert not (tmp_path / "settings.ini").exists()  # nothing of the folder was touched


def test_a_lock_left_by_a_killed_app_is_taken_over(qapp, tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from studyapp.shell.app import acquire_instance_lock
        lock = acquire_instance_lock(Path({str(tmp_path)!r}))
        print("locked" if lock is not None else "refused", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert acquire_instance_lock(tmp_path) is None  # its owner is alive
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(30)
    lock = acquire_instance_lock(tmp_path)
    assert lock is not None
    lock.unlock()
