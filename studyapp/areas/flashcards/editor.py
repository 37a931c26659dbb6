"""Flashcards > Edit: the notes file opened at a card's line in the learner's editor (Qt).

$VISUAL, else $EDITOR, is started detached with `+LINE FILE` (`core.editor_command`), so the
editor outlives nothing of the app and the app never waits for it; without either the file goes
to the system's default application for it. The area's watcher reloads the deck when the file
is saved.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices

from studyapp.areas.flashcards.core import editor_command


def open_in_editor(path: Path, line: int, environ=None) -> tuple[bool, str]:
    """Open `path` at `line`; whether it worked and what to tell the learner (HTML)."""
    environ = os.environ if environ is None else environ
    name = html.escape(path.name)
    command = editor_command(path, line, environ)
    if command is not None:
        started = QProcess.startDetached(command[0], command[1:], str(path.parent))
        ok = started[0] if isinstance(started, tuple) else bool(started)
        if ok:
            return True, (f"Opened {name} at line {line} in {html.escape(Path(command[0]).name)}"
                          "; the card reloads when you save.")
        reason = f"{html.escape(command[0])} could not be started"
    else:
        reason = ""
    if QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
        return True, ((f"{reason}; " if reason else "")
                      + f"opened {name} in its default application (line {line}: set $VISUAL "
                      "or $EDITOR to open at the line); the card reloads when you save.")
    return False, (f"{reason + '; ' if reason else ''}{name} could not be opened in an editor. "
                   f"Set $VISUAL or $EDITOR, or open it yourself at line {line}.")
