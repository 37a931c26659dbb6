"""Colours come from the style module only, every text is readable in both modes (WCAG AA) and
a switch of appearance restyles live widgets and plots at once, with nothing left white."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

import studyapp
from studyapp.areas import AREAS

AA = 4.5  # WCAG 2 AA, body text
PACKAGE = Path(studyapp.__file__).parent
ALLOWED = {PACKAGE / "shell" / "style.py", PACKAGE / "shell" / "theme.py"}

_HEX = re.compile(r"(?<![&\w])#(?:[0-9a-fA-F]{8}|[0-9a-fA-F]{6}|[0-9a-fA-F]{3,4})(?![0-9a-zA-Z])")
_CSS_DECL = re.compile(r"(?i)\b(?:color|background(?:-color)?|border(?:-[a-z]+)?)\s*:\s*"
                       r"([^;'\"}<>]+)")
_CODE = [
    re.compile(r"QColor\(\s*['\"][A-Za-z]+['\"]"),  # QColor("white")
    re.compile(r"QColor\(\s*\d"),  # QColor(255, 0, 0)
    re.compile(r"\bQt\.(?:GlobalColor\.)?(?:white|black|red|green|blue|gray|darkGray|lightGray|"
               r"yellow|cyan|magenta)\b"),
    # pyqtgraph's colour arguments: single letters ("w", "k") or names, or RGB tuples
    re.compile(r"\b(?:mkPen|mkBrush|mkColor|setBackground|setForeground|setColor)\(\s*"
               r"(?:['\"][A-Za-z]+['\"]|\(\s*\d)"),
    re.compile(r"\b(?:color|brush|pen|symbolBrush|symbolPen|background|foreground)\s*=\s*"
               r"(?:['\"][A-Za-z]+['\"]|\(\s*\d+\s*,)"),
    re.compile(r"(?i)\b\w*colou?r\w*\s*=\s*\(\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}"),
]


def _colour_names() -> set[str]:
    from PySide6.QtGui import QColor

    return {name.lower() for name in QColor.colorNames()} - {"transparent"}


def colour_literals(source: str, names: set[str]) -> list[str]:
    """Colour literals in Python source: hex colours and CSS colour names in its strings (style
    sheets, rich text), and QColor, Qt and pyqtgraph colours written in its code."""
    found = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type != tokenize.STRING:
            continue
        found += [m.group(0) for m in _HEX.finditer(tok.string)]
        for decl in _CSS_DECL.finditer(tok.string):
            words = re.findall(r"[A-Za-z]+", decl.group(1))
            found += [w for w in words if w.lower() in names]
    for pattern in _CODE:
        found += [m.group(0) for m in pattern.finditer(source)]
    return found


def test_the_scanner_finds_each_kind_of_colour_literal():
    names = _colour_names()
    samples = {
        'label.setStyleSheet("color: #444;")': "#444",
        "x = \"<span style='background:#ffd6a5'>a</span>\"": "#ffd6a5",
        'label.setStyleSheet("color: gray;")': "gray",
        'style = "border: 1px solid darkred"': "darkred",
        'item.setBackground(QColor("white"))': 'QColor("white"',
        "brush = QColor(255, 0, 0)": "QColor(2",
        'view.setBackground("w")': 'setBackground("w"',
        'pg.mkPen("r", width=2)': 'mkPen("r"',
        "TRAIN_COLOUR = (31, 119, 180)": "TRAIN_COLOUR = (31, 119, 180",
        'text = pg.TextItem("", color=(128, 128, 128))': "color=(128,",
    }
    for source, expected in samples.items():
        found = colour_literals(source + "\n", names)
        assert any(expected in f for f in found), (source, found)
    for clean in ('x = "&#9632; head 1"', 'label.setStyleSheet(css_color("error"))',
                  'name = "#1 of 3"', "s = f\"color:{c.muted}\"",
                  "css = 'background: palette(alternate-base)'", 'colormap="sequential"'):
        assert colour_literals(clean + "\n", names) == [], clean


def test_no_colour_literal_outside_the_style_module():
    names = _colour_names()
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path in ALLOWED:
            continue
        for literal in colour_literals(path.read_text(encoding="utf-8"), names):
            offenders.append(f"{path.relative_to(PACKAGE.parent)}: {literal}")
    assert not offenders, "colours belong in studyapp/shell/style.py:\n" + "\n".join(offenders)


def test_every_text_role_reads_on_the_window_and_the_panel_in_both_modes():
    from studyapp.shell.style import DARK, LIGHT, contrast_ratio
    from studyapp.shell.theme import ROLES, _R

    for c in (LIGHT, DARK):
        window = ROLES[_R.Window][0 if c.mode == "light" else 1]
        for role in ("text", "muted", "error", "warning", "success", "accent", "emphasis",
                     "count_new", "count_learning", "count_review", "count_cram"):
            for background in (window, c.panel):
                assert contrast_ratio(getattr(c, role), background) >= AA, (c.mode, role)
        for fill in c.chip_fills:
            assert contrast_ratio(c.chip_text, fill) >= AA, (c.mode, fill)
            assert contrast_ratio(c.chip_error_text, fill) >= AA, (c.mode, fill)
        assert contrast_ratio(c.special_chip_text, c.special_chip_fill) >= AA
        for fill in (*c.prompt_shades, *c.generated_shades, c.selected_token):
            assert contrast_ratio(c.stream_text, fill) >= AA, (c.mode, fill)
        for fill in (*c.series_cells, c.kept_cell, c.dropped_cell):
            assert contrast_ratio(c.cell_text, fill) >= AA, (c.mode, fill)
        assert contrast_ratio(c.notice_text, c.notice_background) >= AA
        assert contrast_ratio(c.error_box_text, c.error_background) >= AA
        for fill in (c.bad_cell, c.find_highlight, c.current_row):
            assert contrast_ratio(c.text, fill) >= AA, (c.mode, fill)


# -- the live app in both modes ----------------------------------------------------------------
@pytest.fixture
def window(qtbot, ctx, qapp):
    """One main window with every area built and shown once (what costs), in light mode."""
    from studyapp.shell.main_window import MainWindow
    from studyapp.shell.theme import apply_theme

    apply_theme(qapp, "light")
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.resize(1280, 820)
    win.show()
    for area in AREAS:
        win.open_area(area.key, {})
        win.areas[area.key].prepare_screenshot()
        _settle(qapp, 400)  # debounced views draw on timers, the labs' jobs finish
    views = win.areas["attention"].model_tab.views
    for index in (1, 2, 0):  # the painted thumbnails and head view get laid out and drawn
        views.setCurrentIndex(index)
        _settle(qapp, 150)
    win.open_area("flashcards", {})
    win.areas["flashcards"].reveal()  # the answer side: card colours and the legend
    assert win.areas["flashcards"].review.card.answer_shown
    yield win
    for widget in list(win.areas.values()):
        widget.shutdown()


def _settle(qapp, ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    qapp.processEvents()


def _solid(brush):
    from PySide6.QtCore import Qt

    return brush is not None and brush.style() != Qt.BrushStyle.NoBrush


def _label_background(label):
    """The colour a label's text is drawn on: its own (a style sheet's background) or that of
    the nearest ancestor that paints one."""
    from PySide6.QtGui import QPalette

    widget = label
    while widget is not None:
        sheet = widget.styleSheet()
        if widget.autoFillBackground() or "background" in sheet:
            return widget.palette().color(widget.backgroundRole()).name()
        widget = widget.parentWidget()
    return label.palette().color(QPalette.ColorRole.Window).name()


def _fragments(html: str, default_fg: str, default_bg: str):
    """(text, foreground, background) of each run of rich text with letters or digits
    (swatches such as a coloured square are not text)."""
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setHtml(html)
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            text = fragment.text()
            if re.search(r"\w", text):
                fmt = fragment.charFormat()
                fg = fmt.foreground().color().name() if _solid(fmt.foreground()) else default_fg
                bg = fmt.background().color().name() if _solid(fmt.background()) else default_bg
                yield text, fg, bg
            it += 1
        block = block.next()


def _unreadable(window, mode: str) -> list[str]:
    from PySide6 import QtGui
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QAbstractItemView, QLabel, QTextEdit

    from studyapp.shell.style import colours, contrast_ratio
    from studyapp.widgets.token_chips import TokenChipsView

    problems = []

    def check(where, text, fg, bg):
        ratio = contrast_ratio(fg, bg)
        if ratio < AA:
            problems.append(f"{mode} {where}: {text[:40]!r} {fg} on {bg} = {ratio:.2f}")

    for area in AREAS:
        window.open_area(area.key, {})  # as the learner sees it: a hidden lab redraws on show
        _settle(QtGui.QGuiApplication.instance(), 30)
        root = window._pages[area.key]
        for label in root.findChildren(QLabel):
            if not label.isVisibleTo(root) or not label.isEnabled() or not label.text().strip():
                continue
            fg = label.palette().color(QPalette.ColorRole.WindowText).name()
            bg = _label_background(label)
            rich = (label.textFormat() == Qt.TextFormat.RichText
                    or (label.textFormat() == Qt.TextFormat.AutoText
                        and QtGui.Qt.mightBeRichText(label.text())))
            if rich:
                for text, f, b in _fragments(label.text(), fg, bg):
                    check(f"{area.key} label", text, f, b)
            else:
                check(f"{area.key} label", label.text(), fg, bg)
        for view in root.findChildren(QTextEdit):  # chips and cards in rich-text views
            if not view.isVisibleTo(root):
                continue
            fg = view.palette().color(QPalette.ColorRole.Text).name()
            bg = view.palette().color(QPalette.ColorRole.Base).name()
            for text, f, b in _fragments(view.toHtml(), fg, bg):
                check(f"{area.key} text view", text, f, b)
        for chips in root.findChildren(TokenChipsView):
            for i in range(min(chips.chip_count(), 64)):
                fill, text = chips.chip_colours(i)
                check(f"{area.key} chip {i}", chips.chips()[i].label, text, fill)
        for view in root.findChildren(QAbstractItemView):
            model = view.model()
            if model is None or not view.isVisibleTo(root):
                continue
            base = view.palette().color(QPalette.ColorRole.Base).name()
            text_colour = view.palette().color(QPalette.ColorRole.Text).name()
            for r in range(min(model.rowCount(), 40)):
                for c in range(model.columnCount()):
                    index = model.index(r, c)
                    fg = index.data(Qt.ItemDataRole.ForegroundRole)
                    bg = index.data(Qt.ItemDataRole.BackgroundRole)
                    if fg is None and bg is None:
                        continue
                    fg = _brush_colour(fg) or text_colour
                    bg = _brush_colour(bg) or base
                    check(f"{area.key} cell {r},{c}", str(index.data() or ""), fg, bg)
    assert colours().mode == mode
    return problems


def _brush_colour(value):
    from PySide6.QtGui import QBrush, QColor

    if isinstance(value, QBrush):
        return value.color().name() if _solid(value) else None
    if isinstance(value, QColor):
        return value.name()
    return None


def _not_restyled(window, qapp) -> list[str]:
    """Plots, painted panels and the sidebar that do not show the current mode's colours."""
    import pyqtgraph as pg
    from PySide6.QtGui import QPalette

    from studyapp.shell.style import colours
    from studyapp.widgets.attention_views import HeadGrid, HeadView
    from studyapp.widgets.token_chips import TokenChipsView

    c = colours()
    problems = []
    pages = window._pages
    views = [(key, v) for key in pages for v in pages[key].findChildren(pg.GraphicsView)]
    kinds = {type(v).__name__ for _, v in views}
    assert {"PlotWidget", "GraphicsLayoutWidget"} <= kinds and len(views) >= 5, kinds
    for key, view in views:
        if view.backgroundBrush().color().name() != c.plot_background:
            problems.append(f"{c.mode}: a plot of {key} has a "
                            f"{view.backgroundBrush().color().name()} background")
    base = qapp.palette().color(QPalette.ColorRole.Base).name()
    image = window.sidebar.grab().toImage()
    if image.pixelColor(4, image.height() - 4).name() != base:
        corner = image.pixelColor(4, image.height() - 4).name()
        problems.append(f"{c.mode}: the sidebar is {corner}")
    for kind, expected in ((HeadGrid, c.plot_background), (HeadView, c.plot_background),
                           (TokenChipsView, c.panel)):
        widgets = [w for page in pages.values() for w in page.findChildren(kind)]
        drawn = 0
        for widget in widgets:
            target = widget.viewport() if kind is TokenChipsView else widget
            if target.width() < 4 or target.height() < 4:
                continue  # never laid out (a tab not shown yet)
            drawn += 1
            colour = target.grab().toImage().pixelColor(1, 1).name()
            if colour != expected:
                problems.append(f"{c.mode}: {kind.__name__} painted {colour}")
        assert drawn, kind.__name__
    return problems


def test_every_area_is_readable_and_restyled_at_once_in_both_modes(window, qapp):
    from studyapp.shell.theme import apply_theme

    problems = _unreadable(window, "light")
    for mode in ("dark", "light"):  # switched live: nothing is rebuilt
        apply_theme(qapp, mode)
        _settle(qapp, 100)
        problems += _unreadable(window, mode) + _not_restyled(window, qapp)
    assert not problems, "\n".join(problems)


def test_diverging_heatmaps_centre_on_a_colour_like_the_plot_background(qtbot, qapp):
    import numpy as np
    import pyqtgraph as pg

    from studyapp.shell.style import colours, contrast_ratio
    from studyapp.shell.theme import apply_theme
    from studyapp.widgets.heatmap import HeatmapWidget

    heatmap = HeatmapWidget(colormap="diverging", symmetric=True)
    qtbot.addWidget(heatmap)
    heatmap.set_matrix([[-1.0, 0.0, 1.0]])
    names = set()
    for mode in ("light", "dark"):
        apply_theme(qapp, mode)
        c = colours()
        name = heatmap.colormap_name()
        names.add(name)
        centre = pg.colormap.get(name).map(np.array([0.5]), mode="qcolor")[0].name()
        # zero looks like the panel behind the plot, and unlike the text drawn on it
        assert contrast_ratio(centre, c.plot_background) < 1.6, (mode, centre)
        assert contrast_ratio(centre, c.text) > AA, (mode, centre)
        assert heatmap.view.backgroundBrush().color().name() == c.plot_background
    assert len(names) == 2  # each mode has its own map, applied to the live widget
