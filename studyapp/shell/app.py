"""Building the application: QApplication, data folder, settings, model session, main window."""

from __future__ import annotations

import sys
from pathlib import Path

from studyapp.paths import APPLICATION, ORGANIZATION


def ensure_qapplication(argv: list[str] | None = None):
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(argv or [sys.argv[0]])
        app.setOrganizationName(ORGANIZATION)
        app.setApplicationName(APPLICATION)
        from studyapp import __version__

        app.setApplicationVersion(__version__)
        from studyapp.shell.gui_gc import collect_on_gui_thread

        collect_on_gui_thread(app)  # no Qt object may be freed on a worker thread
    return app


def build_context(data_dir: Path, notes_path: Path | None = None):
    from studyapp.review.deck import bundled_notes_path
    from studyapp.shell.context import AppContext
    from studyapp.shell.model_session import ModelSession
    from studyapp.shell.navigation import Navigator
    from studyapp.shell.settings import Settings

    settings = Settings(data_dir / "settings.ini")
    return AppContext(
        data_dir=data_dir,
        settings=settings,
        models=ModelSession(settings),
        notes_path=Path(notes_path).resolve() if notes_path else bundled_notes_path(),
        navigator=Navigator(),
    )


def build_window(ctx):
    """Apply the saved appearance, then build the main window for `ctx`."""
    from studyapp.shell.main_window import MainWindow
    from studyapp.shell.theme import DEFAULT_FONT_PT, apply_theme

    apply_theme(ensure_qapplication(), ctx.settings.get("appearance/theme", "system"),
                ctx.settings.get("appearance/font_pt", DEFAULT_FONT_PT))
    return MainWindow(ctx)


def teardown(window=None) -> None:
    """Stop background jobs and delete widgets while the QApplication still exists.

    pyqtgraph and PySide6 can crash at interpreter exit when widgets outlive the application, so
    everything is deleted here, on purpose, before returning.
    """
    from PySide6.QtWidgets import QApplication

    from studyapp.shell.jobs import JobThread

    JobThread.stop_all(2000)
    app = QApplication.instance()
    if window is not None:
        window.hide()
        window.deleteLater()
    if app is not None:
        for widget in QApplication.topLevelWidgets():
            widget.deleteLater()
        app.sendPostedEvents(None, 0)
        app.processEvents()


LOCK_NAME = "studyapp.lock"


def acquire_instance_lock(data_dir: Path):
    """The data folder's lock, or None when another running app holds it.

    One app per data folder, as Anki does with its profile: two windows grading the same cards
    would each keep a schedule and the last one to write would win. A lock left by a process
    that no longer runs (killed, crashed) is stale and taken over.
    """
    from PySide6.QtCore import QLockFile

    lock = QLockFile(str(Path(data_dir) / LOCK_NAME))
    lock.setStaleLockTime(0)  # only a dead owner makes it stale, never its age
    if lock.tryLock(200):
        return lock
    if lock.error() == QLockFile.LockError.LockFailedError:
        return None
    # No permission or an unknown error: the folder's own checks report it; run unlocked.
    return lock


def run_gui(data_dir: Path, notes_path: Path | None = None) -> int:
    app = ensure_qapplication()
    lock = acquire_instance_lock(data_dir)
    if lock is None:
        message = (f"studyapp is already open on this data folder ({data_dir}); use that "
                   "window. One window per data folder keeps every grade in the schedule.")
        print(message, file=sys.stderr)
        if app.platformName() not in ("offscreen", "minimal"):
            from PySide6.QtWidgets import QMessageBox

            QMessageBox.information(None, "studyapp is already open", message)
        return 0
    ctx = build_context(data_dir, notes_path)
    window = build_window(ctx)
    window.show()
    # Ask for keyboard focus: shortcuts (Ctrl+1..6, Ctrl+Q) only reach an active window, and
    # without a window manager (Xvfb, some kiosks) nothing else would activate it.
    window.raise_()
    window.activateWindow()
    ctx.models.start_loading()  # after show(): the window paints before torch loads
    code = app.exec()
    teardown(window)
    lock.unlock()
    return code
