"""What every area is built from: the objects it shows, passed in."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studyapp.shell.model_session import ModelSession
from studyapp.shell.navigation import Navigator
from studyapp.shell.settings import Settings


@dataclass
class AppContext:
    data_dir: Path
    settings: Settings
    models: ModelSession
    notes_path: Path
    navigator: Navigator
