"""The main window: composes the areas, the menus and the status bar; computes nothing.

Geometry, the last area and each lab's inputs are saved and restored through `Settings` (Qt's
application example). Every area is an `AreaWidget`: its `save_state() -> dict` is what its own
`apply_state(dict)` accepts (the same payload a flashcard's "Try it" sends).
"""

from __future__ import annotations

import html
import json

from PySide6.QtCore import QByteArray, QSize, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QMainWindow, QMenu, QMessageBox, QStackedWidget, QVBoxLayout,
                               QWidget)

from studyapp import __version__
from studyapp.areas import AREAS, area_by_key
from studyapp.shell.area import create_area_widget
from studyapp.shell.theme import DEFAULT_FONT_PT, MODES, apply_theme, configure_plots_if_loaded
from studyapp.shell.area_header import with_header


#: The smallest window every area must fit, sidebar, menus and status bar included: a small
#: laptop's 1366 x 768 screen (or 1280 x 720 at 125 %) less the desktop's panels, with room
#: left for the window beside another.
SMALLEST_WINDOW = QSize(760, 540)


class _AreaWidgets(dict):
    """Area key -> widget; asking for an area not built yet builds it."""

    def __init__(self, build):
        super().__init__()
        self._build = build

    def __missing__(self, key):
        return self._build(key)


class MainWindow(QMainWindow):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("studyapp: Build a Large Language Model (From Scratch)")
        # Built on first use (see _build_area): the window paints before the labs exist.
        self.areas: dict[str, object] = _AreaWidgets(self._build_area)
        self._pages: dict[str, QWidget] = {}
        self._pending_state: dict[str, dict] = {}
        # A child timer dies with the window, so no build runs after the window is gone.
        self._build_timer = QTimer(self, singleShot=True)
        self._build_timer.timeout.connect(self.build_remaining_areas)

        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(150)
        self.sidebar.setStyleSheet("QListWidget#sidebar { font-size: 11pt; }"
                                   "QListWidget#sidebar::item { padding: 9px 10px; }")
        self.stack = QStackedWidget()
        for area in AREAS:
            page = QWidget()
            QVBoxLayout(page).setContentsMargins(0, 0, 0, 0)
            self._pages[area.key] = page
            self.stack.addWidget(page)
            item = QListWidgetItem(area.title)
            row = self.sidebar.count()
            item.setToolTip(f"{area.chapter} (Ctrl+{row + 1})")
            self.sidebar.addItem(item)
        self.sidebar.currentRowChanged.connect(self._show_row)

        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self._model_label = QLabel()
        self.statusBar().addPermanentWidget(self._model_label)
        ctx.models.current_changed.connect(self._show_model)
        ctx.models.loading_changed.connect(self._show_loading)
        ctx.models.notice.connect(lambda text: self.statusBar().showMessage(text, 15000))
        ctx.navigator.open_requested.connect(self.open_area)
        if ctx.models.current is not None:
            self._show_model(ctx.models.current)
        self._build_menus()
        self._restore()

    # -- composition -------------------------------------------------------------------------
    def _build_area(self, key: str):
        """Create an area's widget into its page, with its saved inputs and its File actions."""
        area = area_by_key(key)
        # pyqtgraph takes the palette's colours if the area's module brought it in; the
        # Flashcards area (on screen at start) does not, and configures it itself later.
        widget = create_area_widget(
            area, self.ctx, lambda: configure_plots_if_loaded(QApplication.instance()))
        dict.__setitem__(self.areas, key, widget)
        self._pages[key].layout().addWidget(
            widget if key == "flashcards" else with_header(area, self.ctx, widget))
        for action in widget.file_actions():
            self._file_menu.insertAction(self._file_separator, action)
        state = self._pending_state.pop(key, None)
        if state:
            try:
                widget.apply_state(state)
            except Exception as exc:  # a stale saved state must never stop the app
                self.ctx.settings.remove(f"areas/{key}/state")
                self.statusBar().showMessage(
                    f"The {area.title} lab's saved inputs could not be restored ({exc})", 10000)
        return widget

    def _show_row(self, row: int) -> None:
        if 0 <= row < len(AREAS):
            self.areas[AREAS[row].key]  # build on first visit
            self.stack.setCurrentIndex(row)

    def build_remaining_areas(self) -> None:
        """Build the areas not visited yet, one per event-loop turn, after the first paint."""
        missing = [a.key for a in AREAS if a.key not in self.areas]
        if missing and self.isVisible():
            self.areas[missing[0]]
            self._build_timer.start(0)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._build_timer.start(300)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._file_menu = file_menu
        self._file_separator = file_menu.addSeparator()
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        view_menu = self.menuBar().addMenu("&View")
        for row, area in enumerate(AREAS):
            action = QAction(area.title, self, shortcut=QKeySequence(f"Ctrl+{row + 1}"))
            action.setToolTip(area.chapter)
            action.triggered.connect(lambda _=False, key=area.key: self.open_area(key, {}))
            view_menu.addAction(action)
            self.addAction(action)

        view_menu.addSeparator()
        theme_menu = view_menu.addMenu("&Appearance")
        theme_group = QActionGroup(self)
        current_theme = self.ctx.settings.get("appearance/theme", "system")
        for mode in MODES:
            action = QAction(mode.capitalize(), self, checkable=True)
            action.setChecked(mode == current_theme)
            action.setToolTip("Light or dark; System follows your desktop")
            action.triggered.connect(lambda _=False, m=mode: self._set_theme(m))
            theme_group.addAction(action)
            theme_menu.addAction(action)
        for text, keys, delta in (("Larger text", "Ctrl++", 1), ("Smaller text", "Ctrl+-", -1),
                                  ("Default text size", "Ctrl+0", 0)):
            action = QAction(text, self, shortcut=QKeySequence(keys))
            action.triggered.connect(lambda _=False, d=delta: self._change_font(d))
            view_menu.addAction(action)

        help_menu = self.menuBar().addMenu("&Help")
        shortcuts = QAction("&Keyboard shortcuts", self, shortcut=QKeySequence("F1"))
        shortcuts.triggered.connect(self.show_shortcuts)
        help_menu.addAction(shortcuts)
        about = QAction("&About studyapp", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def shortcut_groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """(group, [(keys, what they do)]) in a fixed order: the window's menus, switching
        areas (Ctrl+1...), then each area's own keys in sidebar order. Each row appears once;
        no area is built to list them."""
        switching = {f"Ctrl+{row + 1}" for row in range(len(AREAS))}
        window_rows, area_rows, seen = [], [], set()
        for menu in self.menuBar().findChildren(QMenu):
            for action in menu.actions():
                keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                row = (keys, action.text().replace("&", ""))
                if keys and row not in seen:
                    seen.add(row)
                    (area_rows if keys in switching else window_rows).append(row)
        groups = [("Window", window_rows), ("Switch area", area_rows)]
        groups += [(area.title, list(area.shortcuts)) for area in AREAS if area.shortcuts]
        return groups

    def shortcut_table(self) -> list[tuple[str, str]]:
        """Every (keys, what they do) row of `shortcut_groups`, in order."""
        return [row for _group, rows in self.shortcut_groups() for row in rows]

    def show_shortcuts(self) -> None:
        parts = []
        for group, rows in self.shortcut_groups():
            parts.append(f"<tr><td colspan=2><br><b>{html.escape(group)}</b></td></tr>")
            parts += [f"<tr><td>{html.escape(k)}&nbsp;&nbsp;</td><td>{html.escape(w)}</td></tr>"
                      for k, w in rows]
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setText(f"<table>{''.join(parts)}</table>")
        box.exec()

    def _set_theme(self, mode: str) -> None:
        self.ctx.settings.set("appearance/theme", mode)
        apply_theme(QApplication.instance(), mode,
                    self.ctx.settings.get("appearance/font_pt", DEFAULT_FONT_PT))

    def _change_font(self, delta: int) -> None:
        size = self.ctx.settings.get("appearance/font_pt", DEFAULT_FONT_PT)
        size = DEFAULT_FONT_PT if delta == 0 else max(7, min(24, size + delta))
        self.ctx.settings.set("appearance/font_pt", size)
        apply_theme(QApplication.instance(), self.ctx.settings.get("appearance/theme", "system"),
                    size)

    def open_area(self, key: str, payload: dict) -> None:
        keys = [area.key for area in AREAS]
        if key not in keys:
            return
        self.sidebar.setCurrentRow(keys.index(key))
        widget = self.areas[key]
        if payload:
            widget.apply_state(payload)

    def current_area_key(self) -> str:
        return AREAS[max(0, self.stack.currentIndex())].key

    def _show_model(self, entry) -> None:
        self._model_label.setText(f"Model in the labs: {entry.name}")
        self._model_label.setToolTip(entry.describe())

    def _show_loading(self, loading: bool, message: str) -> None:
        if loading:
            self._model_label.setText(message)

    def _about(self) -> None:
        QMessageBox.about(
            self, "About studyapp",
            f"<h3>studyapp {__version__}</h3>"
            "<p>A study companion for <i>Build a Large Language Model (From Scratch)</i>.</p>"
            "<p>Bundled data: GPT-2's BPE vocabulary (OpenAI, modified MIT; shipped via "
            "openai-whisper, MIT), <i>The Verdict</i> by Edith Wharton (public domain), the "
            "learner's notes.</p>")

    # -- settings ----------------------------------------------------------------------------
    def _restore(self) -> None:
        settings = self.ctx.settings
        geometry = settings.get("window/geometry", QByteArray())
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 820)
        for area in AREAS:
            saved = settings.get(f"areas/{area.key}/state", "")
            try:
                state = json.loads(saved) if saved else None
            except ValueError:
                state = None
            if isinstance(state, dict):
                self._pending_state[area.key] = state
        keys = [area.key for area in AREAS]
        last = settings.get("window/area", "flashcards")
        self.sidebar.setCurrentRow(keys.index(last) if last in keys else 0)

    def save_settings(self) -> None:
        settings = self.ctx.settings
        settings.set("window/geometry", self.saveGeometry())
        settings.set("window/area", self.current_area_key())
        for key, widget in list(self.areas.items()):  # areas never built keep their saved state
            settings.set(f"areas/{key}/state", json.dumps(widget.save_state()))
        settings.sync()

    def closeEvent(self, event) -> None:
        self.save_settings()
        for widget in list(self.areas.values()):
            widget.shutdown()
        super().closeEvent(event)
