"""Light and dark appearance, following the system unless the learner picks one; font size.

Qt's Fusion style with an explicit palette looks the same on every platform and honours dark
mode; pyqtgraph is told the matching background so plots created afterwards fit in.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

MODES = ("system", "light", "dark")
DEFAULT_FONT_PT = 10


def _dark_palette() -> QPalette:
    p = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#26282c", QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1d1f22", QPalette.ColorRole.AlternateBase: "#2b2e33",
        QPalette.ColorRole.ToolTipBase: "#33363b", QPalette.ColorRole.ToolTipText: "#f0f0f0",
        QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#303338",
        QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.BrightText: "#ff6b6b",
        QPalette.ColorRole.Highlight: "#3d7fd9", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#7fb2ff", QPalette.ColorRole.PlaceholderText: "#8a8d91",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#75787c"))
    return p


def _light_palette() -> QPalette:
    p = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#f3f3f4", QPalette.ColorRole.WindowText: "#1c1c1e",
        QPalette.ColorRole.Base: "#ffffff", QPalette.ColorRole.AlternateBase: "#f5f6f8",
        QPalette.ColorRole.ToolTipBase: "#ffffdc", QPalette.ColorRole.ToolTipText: "#1c1c1e",
        QPalette.ColorRole.Text: "#1c1c1e", QPalette.ColorRole.Button: "#e9e9eb",
        QPalette.ColorRole.ButtonText: "#1c1c1e", QPalette.ColorRole.BrightText: "#c62828",
        QPalette.ColorRole.Highlight: "#2f6fd0", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#1f5fbf", QPalette.ColorRole.PlaceholderText: "#8a8a8e",
    }
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#a0a0a4"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, QColor("#f0f0f1"))
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
    app.setPalette(_dark_palette() if effective == "dark" else _light_palette())
    font = app.font()
    font.setPointSize(max(7, min(24, int(font_pt))))
    app.setFont(font)
    configure_plots_if_loaded(app)
    return effective


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

    dark = app.palette().window().color().lightness() < 128
    pg.setConfigOptions(background="#1d1f22" if dark else "w",
                        foreground="#d0d0d0" if dark else "#303030", antialias=True)
