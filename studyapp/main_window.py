"""The main window: composes the areas, the menus and the status bar; computes nothing.

Geometry and the last area are saved and restored through `Settings` (Qt's application example).
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QLabel, QListWidget, QListWidgetItem, QMainWindow, QMessageBox,
                               QSplitter, QStackedWidget)

from studyapp import __version__
from studyapp.areas import AREAS, create_area_widget


class MainWindow(QMainWindow):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("studyapp: Build a Large Language Model (From Scratch)")
        self.areas: dict[str, object] = {}

        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setMaximumWidth(170)
        self.stack = QStackedWidget()
        for area in AREAS:
            widget = create_area_widget(area, ctx)
            self.areas[area.key] = widget
            self.stack.addWidget(widget)
            item = QListWidgetItem(area.title)
            item.setToolTip(area.chapter)
            self.sidebar.addItem(item)
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)

        splitter = QSplitter()
        splitter.addWidget(self.sidebar)
        splitter.addWidget(self.stack)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        self.setCentralWidget(splitter)

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
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for widget in self.areas.values():
            for action in getattr(widget, "file_actions", lambda: [])():
                file_menu.addAction(action)
        file_menu.addSeparator()
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

        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About studyapp", self)
        about.triggered.connect(self._about)
        help_menu.addAction(about)

    def open_area(self, key: str, payload: dict) -> None:
        keys = [area.key for area in AREAS]
        if key not in keys:
            return
        self.sidebar.setCurrentRow(keys.index(key))
        widget = self.areas[key]
        if payload and hasattr(widget, "apply_state"):
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
        keys = [area.key for area in AREAS]
        last = settings.get("window/area", "flashcards")
        self.sidebar.setCurrentRow(keys.index(last) if last in keys else 0)

    def save_settings(self) -> None:
        self.ctx.settings.set("window/geometry", self.saveGeometry())
        self.ctx.settings.set("window/area", self.current_area_key())
        self.ctx.settings.sync()

    def closeEvent(self, event) -> None:
        self.save_settings()
        for widget in self.areas.values():
            shutdown = getattr(widget, "shutdown", None)
            if shutdown is not None:
                shutdown()
        super().closeEvent(event)
