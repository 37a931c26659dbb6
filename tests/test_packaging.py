"""A non-editable install finds all of its resources when run from another folder."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    # No build isolation and no dependencies: offline, and only the project's own files.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(ROOT)],
        capture_output=True, text=True, timeout=300, cwd=build)
    assert result.returncode == 0, result.stderr[-3000:]
    return target


def test_installed_package_carries_its_resources(installed, tmp_path):
    script = (
        "import studyapp, model, pathlib\n"
        "from model.resources import resource_path\n"
        "from model.tokenizer import get_tokenizer\n"
        "assert pathlib.Path(studyapp.__file__).is_relative_to(pathlib.Path(r'%s')), studyapp.__file__\n"
        "assert get_tokenizer().encode('Akwirw ier') == [33901, 86, 343, 86, 220, 959]\n"
        "for parts in [('notes', 'llm-from-scratch-notes.md'), ('data', 'the-verdict.txt')]:\n"
        "    assert resource_path(*parts).is_file(), parts\n"
        "print('ok')\n" % installed)
    env = dict(os.environ, PYTHONPATH=str(installed))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


def test_every_package_and_resource_folder_is_declared():
    # A subpackage missing from pyproject's explicit list would be absent after `pip install .`.
    import tomllib

    declared = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                   ["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in ROOT.glob("studyapp/**/__init__.py")}
    found |= {"model"}
    found |= {"studyapp.resources" + "".join("." + part for part in
                                              p.parent.relative_to(ROOT / "resources").parts)
              for p in (ROOT / "resources").glob("**/__init__.py")}
    assert found <= declared, f"undeclared packages: {sorted(found - declared)}"
