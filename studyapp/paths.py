"""Where the app keeps the learner's data (no Qt): the data folder and the app's names.

The command-line tools (`studyapp stats`, `studyapp notes`) and the GUI resolve the same folder.
"""

from __future__ import annotations

import os
from pathlib import Path

ORGANIZATION = "studyapp"
APPLICATION = "studyapp"


def resolve_data_dir(cli_value: str | None) -> Path:
    """--data-dir, else $STUDYAPP_DATA_DIR, else the platform's user data folder."""
    value = cli_value or os.environ.get("STUDYAPP_DATA_DIR")
    if value:
        path = Path(value).expanduser()
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir(APPLICATION, ORGANIZATION))
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()
