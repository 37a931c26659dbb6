"""What every area is built from: the objects it shows, passed in (rule 6)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studyapp.model_session import ModelSession
from studyapp.navigation import Navigator
from studyapp.settings import Settings


@dataclass
class AppContext:
    data_dir: Path
    settings: Settings
    models: ModelSession
    notes_path: Path
    navigator: Navigator


def default_notes_path() -> Path:
    from model.resources import resource_path

    return resource_path("notes", "llm-from-scratch-notes.md")
