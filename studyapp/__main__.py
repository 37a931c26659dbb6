"""Entry point: `studyapp` and `python -m studyapp`."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    from studyapp.cli import run

    code = run(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Qt objects were torn down inside run(); skip interpreter finalisation, where PySide6 and
    # pyqtgraph can still crash on leftovers (exit 139 seen), so the exit code is always ours.
    os._exit(code)


if __name__ == "__main__":
    main()
