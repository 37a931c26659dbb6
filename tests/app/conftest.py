"""GUI tests: each test must leave no running worker threads and no visible top-level widget."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_leftovers(qapp):
    # Autouse fixtures are set up first, so this teardown runs after qtbot has closed the
    # widgets it was given: anything still running or shown here was leaked by the test.
    yield
    from PySide6.QtWidgets import QApplication

    from studyapp.workers import JobThread

    running = JobThread.running()
    if running:
        JobThread.stop_all(5000)
        pytest.fail(f"test left {len(running)} worker thread(s) running")
    qapp.processEvents()
    shown = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    for widget in shown:
        widget.close()
    if shown:
        pytest.fail("test left top-level widgets open: "
                    + ", ".join(type(w).__name__ for w in shown))
