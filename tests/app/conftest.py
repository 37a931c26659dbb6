"""GUI tests: each test must leave no running worker threads and no visible top-level widget."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_leftovers(qapp):
    # Autouse fixtures are set up first, so this teardown runs after qtbot has closed the
    # widgets it was given: anything still running or shown here was leaked by the test.
    from PySide6.QtWidgets import QApplication

    # Appearance is application-wide (build_window applies the theme): put it back, so that no
    # test measures sizes in a style or font another test left behind.
    style, font, palette = qapp.style().name(), qapp.font(), qapp.palette()
    yield
    if qapp.style().name() != style:
        qapp.setStyle(style)
    qapp.setFont(font)
    qapp.setPalette(palette)

    from studyapp.shell.jobs import JobThread

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
