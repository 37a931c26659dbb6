"""Small builders for the widgets every lab's form is made of: a push button that explains
itself, a row of buttons, a number box from a field's range, a column or row of widgets, a
splitter with its stretch, a scroll area, a long run's status lines, a lab's scrolled side
panel beside its main column, a form of labelled rows, tabs with their tooltips, labels for
wrapped and for rich text, a text field's placeholder, tip and room, a notice line and a message
line coloured by role, setting or reading a form's inputs by name (what `apply_state` and
`save_state` do), a first-show hook and a save dialog.

They know no area; each does what a form otherwise repeats line by line for every widget. Of the
shell they use only `style`, for the colours of the notice and message lines.
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence, Union

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (QAbstractButton, QBoxLayout, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QFrame, QHBoxLayout, QLabel, QLayout, QLineEdit,
                               QProgressBar, QPushButton, QScrollArea, QSpinBox, QSplitter,
                               QTabWidget, QVBoxLayout, QWidget)

from studyapp.shell import style

STRETCH = 1  # in `column`/`row`: an empty stretch that takes the space left

# a widget or a layout, or (widget or layout, stretch factor), or STRETCH
Item = Union[QWidget, QLayout, tuple, int]


def push_button(text: str, tip: str, on_click: Callable | None = None) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    if on_click is not None:
        button.clicked.connect(on_click)
    return button


def number_box(low: float, high: float, value: float | None = None, *, step: float = 1,
               decimals: int | None = None, tip: str = "",
               tracking: bool = True) -> QSpinBox | QDoubleSpinBox:
    """A QSpinBox, or a QDoubleSpinBox when `decimals` is given. `tracking=False`: the value
    changes when typing is done (Enter or focus out), not at every key."""
    box = QSpinBox() if decimals is None else QDoubleSpinBox()
    if decimals is not None:
        box.setDecimals(decimals)
    box.setRange(low, high)
    box.setSingleStep(step)
    if value is not None:
        box.setValue(value)
    box.setToolTip(tip)
    box.setKeyboardTracking(tracking)
    return box


def button_row(*widgets: QWidget, stretch: bool = True) -> QHBoxLayout:
    """The widgets side by side, left-aligned unless `stretch` is False."""
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget)
    if stretch:
        row.addStretch(1)
    return row


def column(*items: Item, parent: QWidget | None = None,
           margins: int | Sequence[int] | None = None, spacing: int | None = None) -> QVBoxLayout:
    """The items one under another: `column(title, (plot, 1), parent=self, margins=4)`."""
    return _box(QVBoxLayout(parent) if parent is not None else QVBoxLayout(), items, margins,
                spacing)


def row(*items: Item, parent: QWidget | None = None,
        margins: int | Sequence[int] | None = None, spacing: int | None = None) -> QHBoxLayout:
    """The items side by side, as `column` lays them out."""
    return _box(QHBoxLayout(parent) if parent is not None else QHBoxLayout(), items, margins,
                spacing)


def _box(layout: QBoxLayout, items: Sequence[Item], margins, spacing) -> QBoxLayout:
    if margins is not None:
        layout.setContentsMargins(*((margins,) * 4 if isinstance(margins, int) else margins))
    if spacing is not None:
        layout.setSpacing(spacing)
    for item in items:
        item, factor = item if isinstance(item, tuple) else (item, 0)
        if isinstance(item, QWidget):
            layout.addWidget(item, factor)
        elif isinstance(item, QLayout):
            layout.addLayout(item, factor)
        elif item is STRETCH:
            layout.addStretch(1)
        else:
            raise TypeError(f"not a widget, a layout or STRETCH: {item!r}")
    return layout


def scrolled(widget: QWidget, horizontal: bool = True) -> QScrollArea:
    """`widget` in a frameless scroll area that resizes it; `horizontal=False` for a column
    that scrolls only down (its content then keeps the area's width)."""
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    if not horizontal:
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return scroll


def splitter(orientation: Qt.Orientation, widgets: Sequence[QWidget],
             stretch: Sequence[int], sizes: Sequence[int] | None = None,
             collapsible: bool = True) -> QSplitter:
    split = QSplitter(orientation)
    split.setChildrenCollapsible(collapsible)
    for widget in widgets:
        split.addWidget(widget)
    for index, factor in enumerate(stretch):
        split.setStretchFactor(index, factor)
    if sizes:
        split.setSizes(list(sizes))
    return split


def run_status(first_line: str) -> tuple[QLabel, QProgressBar, QLabel]:
    """What a lab that runs long jobs shows above its results: a status line, a progress bar
    (empty until a run starts) and a message line for errors and notices, hidden until used."""
    status = QLabel(first_line)
    status.setWordWrap(True)
    progress = QProgressBar()
    progress.setRange(0, 1)
    progress.setValue(0)
    message = QLabel()
    message.setWordWrap(True)
    message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    message.setVisible(False)
    return status, progress, message


def fit_side_panel(side: QWidget, content: QWidget, scroll, low: int, high: int) -> None:
    """Make a scrolled settings column wide enough for its content and a vertical scroll bar
    (with horizontal scrolling off, anything narrower clips the group boxes' right edge)."""
    side.setMinimumWidth(max(low, content.minimumSizeHint().width()
                             + scroll.verticalScrollBar().sizeHint().width()))
    side.setMaximumWidth(high)


def side_panel(content: QWidget, below: Sequence[Item], low: int, high: int) -> QWidget:
    """A lab's left side: `content` (its settings) scrolls down when the window is short, the
    items `below` it (its buttons) never do; as wide as `fit_side_panel` makes it."""
    scroll = scrolled(content, horizontal=False)
    side = QWidget()
    column((scroll, 1), *below, parent=side, margins=(0, 0, 0, 6))
    fit_side_panel(side, content, scroll, low, high)
    return side


def side_and_main(owner: QWidget, side: QWidget, *main: Item) -> QWidget:
    """Lay `owner` out as `side` on the left and, taking the rest, a column of the `main`
    items (a lab's status lines above its results); returns that column's widget."""
    right = QWidget()
    column(*main, parent=right, margins=6)
    row(side, (right, 1), parent=owner, margins=0)
    return right


def form_rows(*rows: tuple[str, QWidget]) -> QFormLayout:
    """A form of (label, field) rows: `form_rows(("Seed", seed), ("Target", target))`."""
    form = QFormLayout()
    for label, field in rows:
        form.addRow(label, field)
    return form


def add_tabs(tabs: QTabWidget, pages: Iterable[tuple[QWidget, str, str]]) -> QTabWidget:
    """Each (page, title, tip) of `pages` as a tab of `tabs` that explains itself on hover."""
    for page, title, tip in pages:
        tabs.setTabToolTip(tabs.addTab(page, title), tip)
    return tabs


def rich_label() -> QLabel:
    """A label for rich text (tables of numbers, coloured notes) that wraps, sits at the top
    left and can be selected and copied."""
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def text_field(edit, placeholder: str, tip: str, *, min_height: int | None = None,
               max_height: int | None = None, min_width: int | None = None,
               max_width: int | None = None):
    """`edit` (a line edit or a text edit) with its placeholder and tip, and the least and most
    room it may take where given; returns it."""
    edit.setPlaceholderText(placeholder)
    edit.setToolTip(tip)
    for limit, setter in ((min_height, edit.setMinimumHeight), (max_height, edit.setMaximumHeight),
                          (min_width, edit.setMinimumWidth), (max_width, edit.setMaximumWidth)):
        if limit is not None:
            setter(limit)
    return edit


def notice_line() -> QLabel:
    """The line where a lab says what it changed or could not read (a cut text, invalid bytes),
    in the palette's notice colours; hidden until `show_notices` gives it some."""
    label = QLabel()
    label.setWordWrap(True)
    style.on_change(label, lambda c: label.setStyleSheet(style.notice_css(c)))
    label.hide()
    return label


def show_notices(label: QLabel, notices: Sequence[str]) -> None:
    """The non-empty notices one per line; the line hidden when there are none."""
    notices = [n for n in notices if n]
    label.setText("\n".join(notices))
    label.setVisible(bool(notices))


def set_inputs(values: dict, inputs: dict) -> None:
    """Set each of `inputs` (name -> widget, in the order given) whose name is in `values`, as
    its kind takes it: a check box or radio button ticked, a spin box set to the number, a line
    edit given the text. Names missing from `values` are left as they are."""
    for name, widget in inputs.items():
        if name not in values:
            continue
        value = values[name]
        if isinstance(widget, QAbstractButton):
            widget.setChecked(bool(value))
        elif isinstance(widget, QDoubleSpinBox):
            widget.setValue(float(value))
        elif isinstance(widget, QSpinBox):
            widget.setValue(int(value))
        elif isinstance(widget, QLineEdit):
            widget.setText(str(value))
        else:
            raise TypeError(f"not an input set_inputs knows: {widget!r}")


def input_values(inputs: dict) -> dict:
    """Each of `inputs`' own value (name -> value), as `set_inputs` takes them back."""
    values = {}
    for name, widget in inputs.items():
        if isinstance(widget, QAbstractButton):
            values[name] = widget.isChecked()
        elif isinstance(widget, QDoubleSpinBox):
            values[name] = float(widget.value())
        elif isinstance(widget, QSpinBox):
            values[name] = int(widget.value())
        elif isinstance(widget, QLineEdit):
            values[name] = widget.text()
        else:
            raise TypeError(f"not an input input_values knows: {widget!r}")
    return values


def message_sayer(label: QLabel) -> Callable[..., None]:
    """`say(text, error=False, warning=False)` for a message line such as `run_status`'s: shown
    only while it has text, coloured by its role, recoloured when the appearance changes."""
    said = ["", "text"]

    def restyle() -> None:
        text, role = said
        label.setText(text)
        label.setVisible(bool(text))
        label.setStyleSheet(style.css_color(role))

    def say(text: str, error: bool = False, warning: bool = False) -> None:
        said[:] = [text, "error" if error else "warning" if warning else "text"]
        restyle()

    style.on_change(label, lambda _c: restyle())
    return say


def when_first_shown(widget: QWidget, fn: Callable[[], None]) -> None:
    """Call `fn()` once, the first time `widget` is shown (work a hidden widget need not do)."""
    class _FirstShow(QObject):
        def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt's name
            if event.type() == QEvent.Type.Show:
                watched.removeEventFilter(self)
                self.deleteLater()
                fn()
            return False

    widget.installEventFilter(_FirstShow(widget))


def save_path_dialog(parent: QWidget, title: str, default, filters: str,
                     save: Callable[[str], object], suffix: str = "") -> None:
    """Ask where to save (starting at `default`), then `save(path)`, with `suffix` added to a
    path that does not end with it; nothing when the learner cancels."""
    path, _ = QFileDialog.getSaveFileName(parent, title, str(default), filters)
    if path:
        save(path if path.endswith(suffix) else path + suffix)


def wrapped_label(text: str = "", tip: str = "", selectable: bool = False) -> QLabel:
    """A QLabel that wraps its lines, with a tool tip; `selectable`: its text can be copied."""
    label = QLabel(text)
    label.setWordWrap(True)
    if tip:
        label.setToolTip(tip)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
