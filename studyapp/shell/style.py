"""Every colour the app draws, derived from the light or dark palette in use (Qt).

Widgets and areas ask this module for a colour by its meaning (error text, a muted line, a token
chip, a plot's background), never write one themselves, and subscribe with `on_change` so that
switching appearance restyles them at once. `studyapp.shell.theme` applies the palette and then
calls `notify_changed()`.

Chip fills are chosen so that the chip text (`chip_text`) keeps at least 4.5:1 contrast (WCAG AA)
on every fill in both modes; `contrast_ratio` is the measure the tests use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QGuiApplication


@dataclass(frozen=True)
class Colours:
    mode: str  # "light" or "dark"
    text: str
    muted: str  # secondary lines: where a lab sits in the book, sizes, hints
    error: str
    warning: str
    success: str
    accent: str  # highlights, the current token, links drawn by hand
    panel: str  # background of notice boxes and table cells
    panel_text: str
    border: str
    plot_background: str
    plot_foreground: str
    grid: str
    chip_fills: tuple[str, ...]  # token chips, cycled
    chip_text: str
    special_chip_fill: str  # <|endoftext|> and other special tokens
    special_chip_text: str
    train_curve: str
    val_curve: str
    heat_map: str  # pyqtgraph colour map name for sequential heatmaps (attention weights)
    diverging_map: tuple[str, str, str]  # low, centre, high for signed values


LIGHT = Colours(
    mode="light", text="#1c1c1e", muted="#5f6368", error="#b3261e", warning="#8a5300",
    success="#1b6e2e", accent="#1f5fbf", panel="#ffffff", panel_text="#1c1c1e",
    border="#c8c8cc", plot_background="#ffffff", plot_foreground="#303030", grid="#d8d8dc",
    chip_fills=("#ffd6a5", "#caffbf", "#9bf6ff", "#bdb2ff", "#ffc6ff", "#fdffb6", "#a0c4ff",
                "#ffadad"),
    chip_text="#1c1c1e", special_chip_fill="#37474f", special_chip_text="#ffffff",
    train_curve="#1f77b4", val_curve="#d62728", heat_map="viridis",
    diverging_map=("#2166ac", "#f7f7f7", "#b2182b"),
)

DARK = Colours(
    mode="dark", text="#e6e6e6", muted="#a8abb0", error="#ff8a80", warning="#ffcc80",
    success="#81c995", accent="#7fb2ff", panel="#1d1f22", panel_text="#e6e6e6",
    border="#4a4d52", plot_background="#1d1f22", plot_foreground="#d0d0d0", grid="#3a3d42",
    chip_fills=("#7a4a12", "#2f5f26", "#155e68", "#4a3d8f", "#7a2f7a", "#5e5a12", "#23508f",
                "#8a2f2f"),
    chip_text="#f5f5f5", special_chip_fill="#cfd8dc", special_chip_text="#101214",
    train_curve="#6fb3ff", val_curve="#ff7b72", heat_map="inferno",
    diverging_map=("#67a9cf", "#26282c", "#ef8a62"),
)


def current_mode() -> str:
    """'dark' when the application's window colour is dark, else 'light'."""
    app = QGuiApplication.instance()
    if app is None:
        return "light"
    return "dark" if app.palette().window().color().lightness() < 128 else "light"


def colours(mode: str | None = None) -> Colours:
    return DARK if (mode or current_mode()) == "dark" else LIGHT


def css_color(role: str) -> str:
    """A style-sheet fragment for a text colour role, e.g. css_color("error")."""
    return f"color: {getattr(colours(), role)};"


def _luminance(hex_colour: str) -> float:
    c = QColor(hex_colour)
    channels = []
    for value in (c.redF(), c.greenF(), c.blueF()):
        channels.append(value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio between two colours (1 to 21; AA asks 4.5 for body text)."""
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


class _Notifier(QObject):
    changed = Signal(object)  # the new Colours


_notifier: _Notifier | None = None


def _hub() -> _Notifier:
    global _notifier
    if _notifier is None:
        _notifier = _Notifier()
    return _notifier


def notify_changed() -> None:
    """Tell every subscriber the palette changed (the theme calls this after applying one)."""
    _hub().changed.emit(colours())


def on_change(owner: QObject, restyle: Callable[[Colours], None]) -> None:
    """Call `restyle(colours)` now and whenever the appearance changes, for as long as `owner`
    lives (the connection goes with it)."""
    restyle(colours())
    hub = _hub()
    slot = lambda c: restyle(c)  # noqa: E731 - a plain function so Qt does not hold `owner`
    hub.changed.connect(slot)
    owner.destroyed.connect(lambda *_: _disconnect(hub, slot))


def _disconnect(hub: _Notifier, slot) -> None:
    try:
        hub.changed.disconnect(slot)
    except (RuntimeError, TypeError):  # already gone with the application
        pass
