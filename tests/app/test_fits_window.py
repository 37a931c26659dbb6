"""Every area fits the shell's smallest window, whatever fonts the machine has.

One check for every area of `studyapp.areas.AREAS`, measured in the main window itself (sidebar,
header, menus and status bar included) in the app's own theme. Heights are measured again one
point larger: a fallback font with taller lines (a colour emoji font draws its lines about 15 %
taller) must not push an area past the window, so the verdict is the same on a machine with or
without such fonts. Widths depend on the text's own font and are measured at the default size.
"""

from __future__ import annotations

import pytest

from studyapp.areas import AREAS


@pytest.fixture
def window(qtbot, ctx):
    from studyapp.shell.main_window import MainWindow

    win = MainWindow(ctx)
    qtbot.addWidget(win)
    for area in AREAS:
        win.areas[area.key]  # built, so each area's page is measured
    yield win
    for widget in list(win.areas.values()):
        widget.shutdown()


def _overflows(window, qapp, font_pt: int, widths: bool = True) -> list[str]:
    from studyapp.shell.main_window import SMALLEST_WINDOW
    from studyapp.shell.theme import apply_theme

    apply_theme(qapp, "light", font_pt)
    qapp.processEvents()  # layouts take the new font
    frame = window.minimumSizeHint() - window.stack.minimumSizeHint()  # sidebar, menus, bars
    room = SMALLEST_WINDOW - frame
    problems = []
    for area in AREAS:
        hint = window._pages[area.key].minimumSizeHint()  # the area under its header
        if hint.height() > room.height() or (widths and hint.width() > room.width()):
            problems.append(f"{area.key} at {font_pt} pt needs {hint.width()} x {hint.height()}, "
                            f"the window leaves {room.width()} x {room.height()}")
    return problems


def test_every_area_fits_the_shells_smallest_window(window, qapp):
    from studyapp.shell.main_window import SMALLEST_WINDOW
    from studyapp.shell.theme import DEFAULT_FONT_PT

    problems = (_overflows(window, qapp, DEFAULT_FONT_PT)
                + _overflows(window, qapp, DEFAULT_FONT_PT + 1, widths=False))
    assert not problems, "\n".join(problems)
    # and so the window itself can be that small at the default size
    from studyapp.shell.theme import apply_theme

    apply_theme(qapp, "light", DEFAULT_FONT_PT)
    qapp.processEvents()
    hint = window.minimumSizeHint()
    assert hint.width() <= SMALLEST_WINDOW.width() and hint.height() <= SMALLEST_WINDOW.height()


def test_long_inputs_do_not_widen_an_area(window, qapp):
    # A lab showing a long text (counts, a sample full of newlines) keeps its minimum size.
    from studyapp.shell.theme import DEFAULT_FONT_PT, apply_theme

    apply_theme(qapp, "light", DEFAULT_FONT_PT)
    window.areas["tokenizer"].apply_state({"text": "x" * 5000})
    for demo in (False, True):
        window.areas["embeddings"].apply_state({"book_demo": demo})
        assert not _overflows(window, qapp, DEFAULT_FONT_PT)
