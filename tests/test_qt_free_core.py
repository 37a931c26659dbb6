"""The core imports with Qt made unavailable (the GUI is a thin layer on top)."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import importlib, importlib.abc, pkgutil, sys

    class NoQt(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph"):
                raise ImportError(f"Qt is unavailable here ({name})")
            return None

    sys.meta_path.insert(0, NoQt())
    import model, studyapp
    names = ["model", "studyapp", "studyapp.areas"]
    names += ["model." + m.name for m in pkgutil.iter_modules(model.__path__)
              if m.name != "__main__"]
    for pkg in ("studyapp.notes", "studyapp.review"):
        mod = importlib.import_module(pkg)
        names += [pkg + "." + m.name for m in pkgutil.iter_modules(mod.__path__)]
    names += ["studyapp.models." + m.name for m in pkgutil.iter_modules(
        importlib.import_module("studyapp.models").__path__)]
    import studyapp.areas
    for area in studyapp.areas.AREAS:
        package = importlib.import_module(f"studyapp.areas.{area.key}")
        names += [f"studyapp.areas.{area.key}.core"
                  for m in pkgutil.iter_modules(package.__path__) if m.name == "core"]
    names += ["studyapp.links", "studyapp.cli", "studyapp.recipes", "studyapp.tokens",
              "studyapp.tensor_text", "studyapp.paths"]
    for name in names:
        importlib.import_module(name)
    print(len(names), "modules imported without Qt")
""")


def test_model_and_core_studyapp_modules_import_without_qt():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "modules imported without Qt" in result.stdout


def test_the_first_painted_window_has_imported_neither_torch_nor_pyqtgraph():
    # Fast start: the first paint (the Flashcards area) must not pull in torch (it loads in the
    # background) nor pyqtgraph (the Statistics tab and the labs' plots are built later).
    script = textwrap.dedent("""
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        import tempfile
        from pathlib import Path
        from studyapp.shell.app import build_context, ensure_qapplication
        app = ensure_qapplication()
        from studyapp.shell.main_window import MainWindow
        ctx = build_context(Path(tempfile.mkdtemp()))
        window = MainWindow(ctx)
        window.show()
        window.grab()  # a paint, without running the event loop's queued work
        print(window.stack.currentWidget() is not None,
              "torch" in sys.modules, "pyqtgraph" in sys.modules, flush=True)
        os._exit(0)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "True False False"
