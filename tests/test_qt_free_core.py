"""Rule 1: the core imports with Qt made unavailable (the GUI is a thin layer on top)."""

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
    names = ["model", "studyapp", "studyapp.model_registry"]
    names += ["model." + m.name for m in pkgutil.iter_modules(model.__path__)
              if m.name != "__main__"]
    for pkg in ("studyapp.notes", "studyapp.review"):
        mod = importlib.import_module(pkg)
        names += [pkg + "." + m.name for m in pkgutil.iter_modules(mod.__path__)]
    import studyapp.labs
    names += ["studyapp.labs." + m.name for m in pkgutil.iter_modules(studyapp.labs.__path__)
              if m.name.endswith("_core")]
    for name in names:
        importlib.import_module(name)
    print(len(names), "modules imported without Qt")
""")


def test_model_and_core_studyapp_modules_import_without_qt():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "modules imported without Qt" in result.stdout


def test_the_gui_entry_does_not_import_torch_before_the_window():
    # Fast start: building the main window must not pull in torch (it loads in the background).
    script = textwrap.dedent("""
        import os, sys
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        import tempfile
        from pathlib import Path
        from studyapp.app import build_context, ensure_qapplication
        app = ensure_qapplication()
        from studyapp.main_window import MainWindow
        ctx = build_context(Path(tempfile.mkdtemp()))
        window = MainWindow(ctx)
        print("torch" in sys.modules)
        os._exit(0)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "False"
