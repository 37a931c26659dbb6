"""Every colour the app draws, by meaning, for the light and the dark palette (Qt).

Widgets and areas ask this module for a colour by its meaning (error text, a muted line, a token
chip, a plot's background), never write one themselves, and subscribe with `on_change` so that
switching appearance restyles them at once. `studyapp.shell.theme` applies the palette and then
calls `notify_changed()`. This is the one module (with the theme's palette) that holds colour
values; a test walks the sources for literals anywhere else.

Text roles keep at least 4.5:1 contrast (WCAG AA) on the window and on the base (panel) colour
of their mode, and chip and cell fills against the text drawn on them; `contrast_ratio` is the
measure the tests use. Sequential heatmaps keep viridis in both modes (its dark end sits well on
a dark panel, and a learner's reading of the colour bar does not change with the mode);
diverging heatmaps centre on a light colour in light mode and on a dark one in dark mode, so
that zero always looks like the panel behind it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QGuiApplication


@dataclass(frozen=True)
class Colours:
    mode: str  # "light" or "dark"
    # -- text on the window or a panel ----------------------------------------------------------
    text: str
    muted: str  # secondary lines: where a lab sits in the book, sizes, hints, captions
    error: str
    warning: str  # notices: a text cut short, a stale table
    success: str  # checks that passed, "in use"
    accent: str  # highlights, the special token's ID
    emphasis: str  # one marked item in a list (the token that came next)
    # -- surfaces --------------------------------------------------------------------------------
    panel: str  # background of text views, tables, chip views
    panel_text: str
    border: str
    notice_background: str  # a boxed notice (a file read with replacement characters)
    notice_border: str
    notice_text: str
    error_background: str  # a boxed error (the review store cannot be written)
    error_box_text: str
    find_highlight: str  # the span of text a hovered token covers
    current_row: str  # the query row in the head view
    cell_text: str  # table cells with a fill of their own
    bad_cell: str  # a table cell whose value is rejected
    # -- plots -----------------------------------------------------------------------------------
    plot_background: str
    plot_foreground: str  # axes, tick labels, titles
    grid: str
    train_curve: str
    val_curve: str
    bar: str
    bar_accent: str  # the bar that matters (the most likely token)
    bar_masked: str
    reference_line: str  # a labelled vertical line (a mean, a target)
    marker: str  # the outline of a selected heatmap cell or thumbnail
    series: tuple[str, ...]  # categorical series (the temperature demo's curves)
    series_cells: tuple[str, ...]  # table cells tinted like their series
    kept_cell: str  # a top-k or top-p table: kept and dropped tokens
    dropped_cell: str
    head_colours: tuple[str, ...]  # one per attention head, cycled
    point: str  # a scatter plot's points, their labels, the path joining them
    point_muted: str
    point_label: str
    point_label_muted: str
    point_outline: str
    path_line: str
    heat_map: str  # pyqtgraph colour map for sequential heatmaps (attention weights)
    diverging_map: str  # pyqtgraph colour map for signed values, centred on zero
    on_light_cell: str  # values printed on a heatmap cell, chosen by the cell's lightness
    on_dark_cell: str
    # -- token chips -----------------------------------------------------------------------------
    chip_fills: tuple[str, ...]  # cycled per token
    chip_text: str
    chip_error_text: str  # an unknown word, on a chip
    special_chip_fill: str  # <|endoftext|> and other special tokens
    special_chip_text: str
    chip_border: str
    chip_partial_border: str  # a chip holding only part of a character's bytes
    chip_highlight_border: str
    chip_hover_border: str
    prompt_shades: tuple[str, str]  # the Generate lab's token stream, alternating
    generated_shades: tuple[str, str]
    selected_token: str
    stream_text: str
    # -- flashcards ------------------------------------------------------------------------------
    rating_again: str
    rating_hard: str
    rating_good: str
    rating_easy: str
    count_new: str
    count_learning: str
    count_review: str
    count_cram: str
    age_new: str  # statistics: cards by how long they are remembered
    age_learning: str
    age_young: str
    age_mature: str
    retention: str
    # -- rendered cards (studyapp.notes.render's classes) ----------------------------------------
    code_background: str
    code_text: str
    pre_background: str
    hl_fire: str
    hl_warn: str
    hl_no: str
    hl_star: str
    hl_idea: str
    hl_adv: str
    missing_image_text: str
    missing_image_background: str
    open_question: str
    section_text: str

    def card(self) -> dict[str, str]:
        """Role -> colour for `studyapp.notes.render.card_css` and `legend_html`."""
        return {k: v for k, v in asdict(self).items() if isinstance(v, str)}

    def chip_fill(self, index: int) -> str:
        return self.chip_fills[index % len(self.chip_fills)]

    def head_colour(self, head: int) -> str:
        return self.head_colours[head % len(self.head_colours)]


# role: (light, dark), in the order of `Colours`; the two modes of a role side by side.
_PALETTES = {
    # text on the window or a panel
    "text": ("#1c1c1e", "#e6e6e6"),
    "muted": ("#5f6368", "#a8abb0"),
    "error": ("#b3261e", "#ff8a80"),
    "warning": ("#8a5300", "#ffcc80"),
    "success": ("#1b6e2e", "#81c995"),
    "accent": ("#1f5fbf", "#7fb2ff"),
    "emphasis": ("#a84400", "#ffab70"),
    # surfaces
    "panel": ("#ffffff", "#1d1f22"),
    "panel_text": ("#1c1c1e", "#e6e6e6"),
    "border": ("#c8c8cc", "#4a4d52"),
    "notice_background": ("#fff8e1", "#3d3418"),
    "notice_border": ("#ffcc80", "#7a6320"),
    "notice_text": ("#5d4037", "#ffe0a3"),
    "error_background": ("#fdecea", "#4a1f1c"),
    "error_box_text": ("#611a15", "#ffd6d1"),
    "find_highlight": ("#ffeb3b", "#6b5a00"),
    "current_row": ("#ffe9a8", "#5a4a14"),
    "cell_text": ("#111111", "#e6e6e6"),
    "bad_cell": ("#ffd6d6", "#6a2328"),
    # plots
    "plot_background": ("#ffffff", "#1d1f22"),
    "plot_foreground": ("#303030", "#d0d0d0"),
    "grid": ("#d8d8dc", "#3a3d42"),
    "train_curve": ("#1f77b4", "#6fb3ff"),
    "val_curve": ("#e66e14", "#ffa05c"),
    "bar": ("#7fa7d9", "#5a86c0"),
    "bar_accent": ("#e07b39", "#f0a060"),
    "bar_masked": ("#d0d0d0", "#4a4d52"),
    "reference_line": ("#c03030", "#ff7b72"),
    "marker": ("#ff2020", "#ff5c5c"),
    "series": (("#4878cf", "#e07b39", "#59a14f", "#9c6fb6"),
              ("#7aa2f0", "#f0a060", "#7fc873", "#c49ae0")),
    "series_cells": (("#d9e6ff", "#ffece0", "#b3ffa8", "#f8edff"),
                    ("#22355c", "#5a3418", "#1f4a1c", "#42305a")),
    "kept_cell": ("#e3f0dc", "#1f3a1f"),
    "dropped_cell": ("#f4f4f4", "#2b2e33"),
    "head_colours": (
        ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000",
         "#8C564B", "#7F7F7F", "#BCBD22", "#17BECF", "#9467BD", "#E377C2", "#2CA02C", "#D62728"),
        ("#4da3e0", "#E69F00", "#00b386", "#CC79A7", "#ff7a33", "#8fd0f5", "#F0E442", "#e6e6e6",
         "#c09080", "#a0a0a0", "#d4d54a", "#30d5e8", "#b59be0", "#f0a0d8", "#5cc85c", "#ff6b6b"),
    ),
    "point": ("#1565c0", "#7fb2ff"),
    "point_muted": ("#9e9e9e", "#8a8d91"),
    "point_label": ("#202020", "#e0e0e0"),
    "point_label_muted": ("#757575", "#a8abb0"),
    "point_outline": ("#ffffff", "#1d1f22"),
    "path_line": ("#b0bec5", "#5a6670"),
    "heat_map": ("viridis", "viridis"),
    "diverging_map": ("CET-D1A", "CET-D4"),
    "on_light_cell": ("#111111", "#111111"),
    "on_dark_cell": ("#ffffff", "#ffffff"),
    # token chips
    "chip_fills": (
        ("#ffd6a5", "#caffbf", "#9bf6ff", "#bdb2ff", "#ffc6ff", "#fdffb6", "#a0c4ff", "#ffadad"),
        ("#7a4a12", "#2f5f26", "#155e68", "#4a3d8f", "#7a2f7a", "#5e5a12", "#23508f", "#8a2f2f"),
    ),
    "chip_text": ("#1b1b1b", "#f5f5f5"),
    "chip_error_text": ("#8a1010", "#ffd0ca"),
    "special_chip_fill": ("#37474f", "#cfd8dc"),
    "special_chip_text": ("#ffffff", "#101214"),
    "chip_border": ("#90a4ae", "#6b7880"),
    "chip_partial_border": ("#c62828", "#ff8a80"),
    "chip_highlight_border": ("#d50000", "#ff5252"),
    "chip_hover_border": ("#1565c0", "#7fb2ff"),
    "prompt_shades": (("#e6e6e6", "#d4d4d4"), ("#3a3d42", "#45484e")),
    "generated_shades": (("#cfe3fa", "#b3d1f5"), ("#1f3d5c", "#27496d")),
    "selected_token": ("#f5b97f", "#8a5a1f"),
    "stream_text": ("#111111", "#f0f0f0"),
    # flashcards
    "rating_again": ("#c0392b", "#ff8a7a"),
    "rating_hard": ("#b9770e", "#f2b65a"),
    "rating_good": ("#1e8449", "#6fdc9a"),
    "rating_easy": ("#2471a3", "#7dbdff"),
    "count_new": ("#2471a3", "#7dbdff"),
    "count_learning": ("#c0392b", "#ff8a7a"),
    "count_review": ("#18703d", "#6fdc9a"),
    "count_cram": ("#8e44ad", "#d7a6f0"),
    "age_new": ("#6fa8dc", "#6fa8dc"),
    "age_learning": ("#e69138", "#e69138"),
    "age_young": ("#93c47d", "#93c47d"),
    "age_mature": ("#38761d", "#4f9a2e"),
    "retention": ("#3d85c6", "#7fb2ff"),
    # rendered cards (studyapp.notes.render's classes)
    "code_background": ("#eef0f3", "#33363c"),
    "code_text": ("#8a1538", "#ff9db5"),
    "pre_background": ("#f4f5f7", "#2a2d32"),
    "hl_fire": ("#ffe1de", "#5a2622"),
    "hl_warn": ("#ffedd2", "#553a12"),
    "hl_no": ("#ececec", "#3a3a3a"),
    "hl_star": ("#fff5c2", "#4d4314"),
    "hl_idea": ("#e0f0ff", "#1d3a57"),
    "hl_adv": ("#efe7ff", "#3a2e5a"),
    "missing_image_text": ("#7a5c00", "#ffd479"),
    "missing_image_background": ("#fff8e1", "#3d3418"),
    "open_question": ("#9a4d00", "#ffb366"),
    "section_text": ("#5f6b7a", "#9aa5b4"),
}

LIGHT = Colours(mode="light", **{role: pair[0] for role, pair in _PALETTES.items()})
DARK = Colours(mode="dark", **{role: pair[1] for role, pair in _PALETTES.items()})


def current_mode() -> str:
    """'dark' when the application's window colour is dark, else 'light'."""
    app = QGuiApplication.instance()
    if app is None:
        return "light"
    return "dark" if app.palette().window().color().lightness() < 128 else "light"


def colours(mode: str | None = None) -> Colours:
    return DARK if (mode or current_mode()) == "dark" else LIGHT


def css_color(role: str, c: Colours | None = None) -> str:
    """A style-sheet fragment for a text colour role, e.g. css_color("error")."""
    return f"color: {getattr(c or colours(), role)};"


def notice_css(c: Colours) -> str:
    """A boxed notice, as a QLabel style sheet."""
    return (f"background: {c.notice_background}; border: 1px solid {c.notice_border}; "
            f"border-radius: 3px; padding: 3px 6px; color: {c.notice_text};")


def error_box_css(c: Colours) -> str:
    """A boxed error message, as a QLabel style sheet."""
    return (f"QLabel {{ background: {c.error_background}; color: {c.error_box_text}; "
            "padding: 6px; border-radius: 4px; }")


def set_text_role(widget, role: str, extra_css: str = "") -> None:
    """Give a label (or any widget) the text colour of `role`, now and after every switch;
    `extra_css` is kept in its style sheet (font weight, padding)."""
    on_change(widget, lambda c: widget.setStyleSheet(f"color: {getattr(c, role)}; {extra_css}"))


def set_rich_text(label, make: Callable[[Colours], str]) -> None:
    """Show `make(colours)` in a label now, and again in the new colours after a switch for as
    long as the label still shows it (text set since by other code is left alone)."""
    text = make(colours())
    label._styled_text = (make, text)
    if not getattr(label, "_styled_text_hooked", False):
        label._styled_text_hooked = True

        def restyle(c: Colours) -> None:
            maker, shown = label._styled_text
            if label.text() == shown:
                fresh = maker(c)
                label._styled_text = (maker, fresh)
                label.setText(fresh)

        on_change(label, restyle, now=False)
    label.setText(text)


def _luminance(colour: str) -> float:
    c = QColor(colour)
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


def on_change(owner: QObject, restyle: Callable[[Colours], None], now: bool = True) -> None:
    """Call `restyle(colours)` now (unless `now` is False: the owner draws itself with the
    current colours anyway) and whenever the appearance changes, for as long as `owner` lives
    (the connection goes with it)."""
    if now:
        restyle(colours())
    hub = _hub()

    def slot(c: Colours) -> None:
        try:
            restyle(c)
        except RuntimeError:  # the owner's C++ side is gone, its destroyed() still queued
            _disconnect(hub, slot)

    hub.changed.connect(slot)
    owner.destroyed.connect(lambda *_: _disconnect(hub, slot))


def _disconnect(hub: _Notifier, slot) -> None:
    try:
        hub.changed.disconnect(slot)
    except (RuntimeError, TypeError):  # already gone with the application
        pass
