"""The layering the README's architecture section describes, checked by import-linter.

The contracts live in pyproject.toml: `model` imports no Qt and nothing of the app but its data
package; the cores (notes, review, models, every area's core) import no Qt; widgets know no area;
areas do not import each other. Imports inside functions count.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def test_import_contracts_hold():
    result = subprocess.run([LINT_IMPORTS, "--no-cache"], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_a_core_that_imports_qt_breaks_a_contract(tmp_path):
    # The wildcard contracts must really reach every area's core: a copy of the tree where one
    # core imports PySide6 inside a function has to fail.
    import shutil

    copy = tmp_path / "tree"
    shutil.copytree(ROOT / "studyapp", copy / "studyapp",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "model", copy / "model", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    core = copy / "studyapp" / "areas" / "tokenizer" / "core.py"
    core.write_text(core.read_text() + "\n\ndef _leak():\n    import PySide6  # noqa\n")
    env_path = str(copy)
    result = subprocess.run([LINT_IMPORTS, "--no-cache"],
                            capture_output=True, text=True, cwd=copy, timeout=120,
                            env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0, result.stdout[-3000:]
    assert "studyapp.areas.tokenizer.core -> PySide6" in result.stdout
