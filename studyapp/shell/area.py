"""What the main window knows of an area: one base class, so the shell never probes for methods.

An area's view module exposes `create_area(ctx) -> AreaWidget`. The defaults here are what an
area that has nothing to say does: no File actions, no saved inputs, nothing to stop. The
shortcuts an area documents live in its `studyapp.areas.Area` entry, so the shortcut list is
shown without building any area.
"""

from __future__ import annotations

import importlib

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

# The longest text an area keeps in the settings at exit (a prompt, a pasted text); longer ones
# are cut, so that a pasted book does not bloat the settings file.
MAX_SAVED_CHARS = 20_000


class AreaWidget(QWidget):
    """Base of every area's top widget."""

    def file_actions(self) -> list[QAction]:
        """Actions the File menu shows while the app runs (Open notes..., Open model...)."""
        return []

    def save_state(self) -> dict:
        """The learner's inputs as a JSON-able dict that `apply_state` accepts."""
        return {}

    def apply_state(self, state: dict) -> None:
        """Show a saved state or a card's "Try it" payload; unknown keys are ignored."""

    def prepare_screenshot(self, runs: bool = True) -> None:
        """Bring the area into the state its README picture shows (`studyapp screenshot`).
        `runs=False` (`--quick`): leave out the short training runs some labs make for it."""

    def shutdown(self) -> None:
        """Stop background work and release files: the window is closing."""


def create_area_widget(area, ctx, before_create=None) -> AreaWidget:
    """Import the area's view module, call `before_create()` (the modules it imported are now
    loaded), then build the area."""
    module = importlib.import_module(area.module)
    if before_create is not None:
        before_create()
    widget = module.create_area(ctx)
    if not isinstance(widget, AreaWidget):
        raise TypeError(f"{area.module}.create_area must return an AreaWidget")
    return widget
