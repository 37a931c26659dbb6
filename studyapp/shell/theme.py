"""Light and dark appearance, following the system unless the learner picks one; font size.

Qt's Fusion style with an explicit palette looks the same on every platform and honours dark
mode; pyqtgraph is told the matching background so plots created afterwards fit in.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

from studyapp.shell.style import colours, notify_changed

MODES = ("system", "light", "dark")
DEFAULT_FONT_PT = 10


_R = QPalette.ColorRole
# role: (light, dark), for every colour group; the disabled group's own colours follow (the
# greyed text of disabled controls), set after the others since those set it too.
ROLES = {
    _R.Window: ("#f3f3f4", "#26282c"), _R.WindowText: ("#1c1c1e", "#e6e6e6"),
    _R.Base: ("#ffffff", "#1d1f22"), _R.AlternateBase: ("#f5f6f8", "#2b2e33"),
    _R.ToolTipBase: ("#ffffdc", "#33363b"), _R.ToolTipText: ("#1c1c1e", "#f0f0f0"),
    _R.Text: ("#1c1c1e", "#e6e6e6"), _R.Button: ("#e9e9eb", "#303338"),
    _R.ButtonText: ("#1c1c1e", "#e6e6e6"), _R.BrightText: ("#c62828", "#ff6b6b"),
    _R.Highlight: ("#2f6fd0", "#3d7fd9"), _R.HighlightedText: ("#ffffff", "#ffffff"),
    _R.Link: ("#1f5fbf", "#7fb2ff"), _R.PlaceholderText: ("#8a8a8e", "#8a8d91"),
}
DISABLED = {
    _R.Text: ("#a0a0a4", "#75787c"), _R.ButtonText: ("#a0a0a4", "#75787c"),
    _R.WindowText: ("#a0a0a4", "#75787c"), _R.Button: ("#f0f0f1", None),
}


def _palette(mode: str) -> QPalette:
    side = ("light", "dark").index(mode)
    p = QPalette()
    for role, pair in ROLES.items():
        p.setColor(role, QColor(pair[side]))
    for role, pair in DISABLED.items():
        if pair[side] is not None:
            p.setColor(QPalette.ColorGroup.Disabled, role, QColor(pair[side]))
    return p


def effective_mode(app, mode: str) -> str:
    """'light' or 'dark': the chosen one, or the system's when mode is 'system'."""
    if mode in ("light", "dark"):
        return mode
    scheme = app.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def apply_theme(app, mode: str = "system", font_pt: int = DEFAULT_FONT_PT) -> str:
    """Apply the palette and font to the whole application; returns the effective mode."""
    if mode not in MODES:
        mode = "system"
    app.setStyle("Fusion")
    effective = effective_mode(app, mode)
    app.setPalette(_palette(effective))
    font = app.font()
    font.setPointSize(max(7, min(24, int(font_pt))))
    app.setFont(font)
    _repolish_style_sheets(app)
    configure_plots_if_loaded(app)
    notify_changed()  # live widgets and plots restyle now, not at their next creation
    return effective


def _repolish_style_sheets(app) -> None:
    """Make widgets that have a style sheet take the new palette.

    Qt resolves a style-sheeted widget's palette when it is polished and keeps it: after
    `setPalette` such widgets (the sidebar, a bold label, a monospace sample) kept the old
    mode's colours until a restart. Setting the same sheet again polishes them (and their
    children) anew.
    """
    if not hasattr(app, "allWidgets"):
        return
    for widget in app.allWidgets():
        sheet = widget.styleSheet()
        if sheet:
            widget.setStyleSheet(sheet)


def configure_plots_if_loaded(app) -> None:
    """Restyle pyqtgraph if something has imported it; otherwise leave it unimported (whoever
    imports it later calls configure_plots before making a plot)."""
    if "pyqtgraph" in sys.modules:
        configure_plots(app)


def configure_plots(app) -> None:
    """Give pyqtgraph the background of the current palette (plots created afterwards fit).

    Kept apart from apply_theme so that start-up does not import pyqtgraph before the window
    is painted.
    """
    import pyqtgraph as pg

    c = colours()
    pg.setConfigOptions(background=c.plot_background, foreground=c.plot_foreground,
                        antialias=True)
