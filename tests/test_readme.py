"""The README's test command is what CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(python3 -m venv .venv[^\n]+)\n```", readme)
    assert len(commands) >= 2, "the README must open with the launch and test commands"
    launch, test = commands[:2]
    assert launch.endswith(".venv/bin/studyapp")
    assert "pytest" in test
    assert test in (ROOT / ".ci" / "run").read_text()
