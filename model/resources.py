"""Where the shipped data lives: the `resources/` folder, installed as `studyapp.resources`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """A real filesystem path to a shipped file (the package is installed unzipped)."""
    return Path(str(resources.files("studyapp.resources").joinpath(*parts)))


def the_verdict_path() -> Path:
    return resource_path("data", "the-verdict.txt")


def read_the_verdict() -> str:
    return the_verdict_path().read_text(encoding="utf-8")


NOTES_FILE = "llm-from-scratch-notes.md"


def read_bundled_notes() -> str:
    """The chapter notes the app ships (`studyapp.resources.notes`), as text."""
    return resources.files("studyapp.resources.notes").joinpath(NOTES_FILE).read_text(
        encoding="utf-8")
