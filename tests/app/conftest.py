"""GUI tests: each test must leave no running worker threads and no visible top-level widget,
and its objects are deleted within it, with cycles collected on the GUI thread as in the app;
factories for the labs, the model manager and the Flashcards area that shut them down after."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest


@pytest.fixture(scope="module", autouse=True)
def _gui_thread_gc(qapp):
    # As in the app (pytest-qt made this QApplication, not the app): cycles are collected on
    # the GUI thread only, never by a worker thread that happens to allocate. Per module, so
    # that the tests outside this folder run with the interpreter's own collector.
    import pyqtgraph  # noqa: F401
    import torch  # noqa: F401

    import studyapp.shell.main_window  # noqa: F401
    from studyapp.shell.gui_gc import collect_on_gui_thread

    # Each test also collects its garbage (below); with the imported libraries' objects moved
    # out of the collector's sight first, that costs microseconds instead of a tenth of a second.
    gc.freeze()
    collector = collect_on_gui_thread(qapp)
    yield
    collector.stop()
    gc.unfreeze()


@pytest.fixture(autouse=True)
def _no_leftovers(qapp, _gui_thread_gc):
    # Autouse fixtures are set up first, so this teardown runs after qtbot has closed the
    # widgets it was given: anything still running or shown here was leaked by the test.
    from PySide6.QtCore import QEvent
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
    # qtbot closed this test's widgets with deleteLater, which Qt carries out only inside some
    # later event loop: in the next test's first wait. Delete them here, and collect the
    # Python cycles they were part of, so that each test's objects die within that test.
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    qapp.processEvents()
    if shown:
        pytest.fail("test left top-level widgets open: "
                    + ", ".join(type(w).__name__ for w in shown))


@pytest.fixture
def make_widget(qtbot, request):
    """Build ``widget_class(context)`` (the ``ctx`` fixture's context unless given) for qtbot to
    close; each one is shut down after the test."""
    made = []

    def make(widget_class, context=None):
        widget = widget_class(context if context is not None else request.getfixturevalue("ctx"))
        qtbot.addWidget(widget)
        made.append(widget)
        return widget

    yield make
    for widget in reversed(made):
        widget.shutdown()


@pytest.fixture
def make_ctx(tmp_path, qapp):
    """A light AppContext (no model needed here) on a temporary data folder."""
    from studyapp.shell.app import build_context

    def make(notes: Path | None = None, data: Path | None = None):
        data_dir = data or tmp_path / "data"
        data_dir.mkdir(exist_ok=True)
        return build_context(data_dir, notes)
    return make


@pytest.fixture
def make_area(qtbot, make_ctx):
    """A Flashcards area on the given context (make_ctx()'s when none), shown unless told not."""
    from studyapp.areas.flashcards.area import FlashcardsArea

    made = []

    def make(ctx=None, show=True):
        area = FlashcardsArea(ctx or make_ctx())
        qtbot.addWidget(area)
        made.append(area)
        if show:
            area.resize(1000, 700)
            area.show()
            qtbot.waitExposed(area)
        return area
    yield make
    for area in made:
        if area.warnings_dialog is not None:
            area.warnings_dialog.close()
        area.shutdown()


@pytest.fixture
def make_shown_lab(make_widget, qtbot):
    """Build a lab through make_widget, sized and shown, once it has drawn its first view."""
    def make(widget_class, width: int, height: int):
        widget = make_widget(widget_class)
        widget.resize(width, height)
        with qtbot.waitSignal(widget.rendered, timeout=5000):
            widget.show()
        return widget
    return make
