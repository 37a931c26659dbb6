"""What every single-plot widget of the labs has around its pyqtgraph view: a message page
(loading, empty input, errors), a hover line and a "Save PNG..." button.

The button and the file dialog behind it (`save_png_button`, `ask_png_path`) also serve the
painted views that save themselves as PNG."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QSizePolicy, QStackedLayout,
                               QToolButton, QVBoxLayout, QWidget)

from studyapp.shell.style import set_text_role


def save_png_button(tip: str, on_click) -> QToolButton:
    """The "Save PNG..." tool button."""
    button = QToolButton()
    button.setText("Save PNG\u2026")
    button.setToolTip(tip)
    button.clicked.connect(lambda: on_click())  # clicked's `checked` is no file name
    return button


def ask_png_path(parent: QWidget, caption: str, default_name: str) -> str | None:
    """A file name from the save dialog, ending in .png; None when the dialog is cancelled."""
    chosen, _ = QFileDialog.getSaveFileName(parent, caption, default_name, "PNG image (*.png)")
    if not chosen:
        return None
    return chosen if chosen.lower().endswith(".png") else chosen + ".png"


class PlotFrame:
    """Mixin for a QWidget with one pyqtgraph `view`; call `_build_frame` once in __init__."""

    _kind = "plot"  # in the save dialog's title and the default file name
    _title = ""

    def _build_frame(self, view, save_tooltip: str) -> None:
        self.message = QLabel()
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        set_text_role(self.message, "muted", "font-size: 13px; padding: 12px;")
        self._stack = QStackedLayout()
        holder = QWidget()
        holder_layout = QVBoxLayout(holder)
        holder_layout.setContentsMargins(0, 0, 0, 0)
        holder_layout.addWidget(view)
        self._stack.addWidget(holder)
        self._stack.addWidget(self.message)

        self.hover_label = QLabel(" ")
        self.hover_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.save_button = save_png_button(save_tooltip, self.export_png)
        bar = QHBoxLayout()
        bar.setContentsMargins(2, 0, 2, 0)
        bar.addWidget(self.hover_label, 1)
        bar.addWidget(self.save_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._stack, 1)
        layout.addLayout(bar)
        self.show_message("Nothing to show yet.")

    @property
    def title(self) -> str:
        return self._title

    def _set_title(self, title: str) -> None:
        """The title above the plot item `self.plot`, in the palette's plot colour."""
        self._title = title
        if title:
            self.plot.setTitle(title, color=self._colours.plot_foreground, size="10pt")
        else:
            self.plot.setTitle(None)
        # A long title must not widen the plot past its widget (it would push a colour bar out
        # of view); let it overflow instead.
        self.plot.titleLabel.setMinimumWidth(0)

    def show_message(self, text: str) -> None:
        """Replace the plot with a plain message (loading, empty input, an error)."""
        self.message.setText(text)
        self._stack.setCurrentIndex(1)
        self.hover_label.setText(" ")
        self.save_button.setEnabled(False)

    def is_showing_message(self) -> bool:
        return self._stack.currentIndex() == 1

    def default_file_name(self) -> str:
        stem = "".join(c if c.isalnum() else "-" for c in (self._title or self._kind).lower())
        return "-".join(filter(None, stem.split("-")))[:60] + ".png"

    def export_png(self, path: str | Path | None = None) -> bool:
        """Save what is shown as PNG; asks for a file name when none is given."""
        if path is None:
            path = ask_png_path(self, f"Save {self._kind} as PNG", self.default_file_name())
            if path is None:
                return False
        target = self.view if self._stack.currentIndex() == 0 else self.message
        ok = target.grab().save(str(path), "PNG")
        if not ok:
            self.hover_label.setText(f"Could not write {path}")
        return ok
