"""The Flashcards area: review the learner's notes with spaced repetition (Qt).

Opens on the review with keyboard focus on the card: Space or Enter reveals the answer, 1-4
grade (Again, Hard, Good, Easy; the buttons show the next interval), Space on the answer side is
Good, Ctrl+Z undoes (several levels), "-" buries until tomorrow, "@" suspends, E opens the card's
line in the learner's editor (the deck reloads on save, the card keeps its place). Tabs: Review,
Browse (search, filter, sort by due, open a card) and Statistics (pyqtgraph).

The logic lives in the Qt-free core: studyapp.notes (parse, render), studyapp.review
(scheduler, store, queue, stats, export) and this area's `core` (browse rows, messages). This
module composes the parts, each with its own module: the bar (`deck_bar`), reading and
watching notes files (`notes_files`), the review (`review_flow` on `review.ReviewPanel`), Browse
(`browse`) and Statistics (`stats`); it keeps the store, the deck and the saved state.

Integration points for the rest of the app:
- `create_area(ctx)` -> FlashcardsArea. Notes come from `ctx.notes_path` (or, when that is the
  bundled deck, the notes file the learner opened last); the review database is
  `ctx.data_dir/reviews.sqlite3`; settings under "flashcards/" in `ctx.settings`.
- `file_actions()`: QActions for the File menu (Open notes..., Reload, Export to Anki..., Parse
  warnings). Its shortcuts are listed in `studyapp.areas`.
- `open_notes(path)`: load another notes file (what File > Open notes... does).
- `apply_state(payload)`: {"card_key": key} shows that card; {"review_keys": [...], "label": s}
  reviews just those cards (studying them without touching the schedule when none is due);
  {"tab": "review"|"browse"|"stats"} switches tab; {"section": name or None, "study_all": bool,
  "shuffle": bool} restore what `save_state()` saved at exit (the main window does this; the
  card shown is not saved, the queue decides it).
- "Try it": `set_try_it(provider)`. `provider(card) -> (label, callback[, hint]) | None` is asked
  for each card shown; a tuple makes the "Try it" button show `label` and call `callback()` when
  pressed, with `hint` (where it leads) beside it; None leaves the slot showing that no lab is
  linked. `set_try_it(None)` empties the slot. By default the provider is studyapp.links'
  card-to-lab map, opening the lab via `ctx.navigator`.
- `shutdown()` closes the database (the main window calls it on close).

A damaged, read-only or newer review database is never written: a banner says so and the review
runs on a temporary in-memory database (a copy, when the file could still be read). A full disk,
at start or under a grade, does the same with a copy of the history; the grade is kept there.
"""

from __future__ import annotations

import html
import sqlite3
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog, QLabel, QTabWidget, QVBoxLayout, QWidget

from studyapp.areas.flashcards.browse import BrowsePanel
from studyapp.areas.flashcards.core import (ASYNC_PARSE_BYTES,  # noqa: F401
                                            DEFAULT_NEW_PER_DAY, DEFAULT_RETENTION,
                                            browse_rows, file_digest, initial_notes_path,
                                            is_bundled, legend_html, make_scheduler,
                                            open_dialog_folder, opened_summary,
                                            reload_summary, store_problem_text)
from studyapp.areas.flashcards.deck_bar import KEYS_FILTER, DeckBar
from studyapp.areas.flashcards.editor import open_in_editor
from studyapp.areas.flashcards.export import choose_apkg_path, export_deck
from studyapp.areas.flashcards.notes_files import NotesFiles
from studyapp.areas.flashcards.review import OptionsDialog, ReviewPanel, WarningsDialog
from studyapp.areas.flashcards.review_flow import (ReviewFlow, TryItProvider, links_try_it,
                                                   show_if)
from studyapp.areas.flashcards.storage import Storage
from studyapp.areas.flashcards.view_state import ViewState
from studyapp.notes.checks import warnings_intro
from studyapp.notes.parser import NotesError
from studyapp.notes.render import Renderer
from studyapp.review.deck import OpenedDeck, bundled_notes_path
from studyapp.review.queue import ReviewSession
from studyapp.review.scheduler import Scheduler, day_index, now_ms
from studyapp.review.stats import compute_stats
from studyapp.review.store import DB_NAME, ReviewStore, StoreError
from studyapp.shell import style
from studyapp.shell.area import AreaWidget
from studyapp.widgets.lazy_page import LazyPage


def _make_stats_panel() -> QWidget:
    from studyapp.areas.flashcards.stats import StatsPanel  # imports pyqtgraph
    from studyapp.shell.theme import configure_plots

    configure_plots(QApplication.instance())
    return StatsPanel()


class FlashcardsArea(ViewState, AreaWidget):
    """Review, browse and statistics for one notes file at a time."""

    deck_loaded = Signal(str)  # notes path
    card_shown = Signal(str)  # card key ("" when nothing is due)
    graded = Signal(str, int)  # card key, rating

    def __init__(self, ctx, parent=None, clock: Callable[[], int] = now_ms):
        super().__init__(parent)
        self.ctx = ctx
        self.settings = ctx.settings
        self.clock = clock
        self.deck: OpenedDeck | None = None
        self._stats_dirty = True
        self._browse_dirty = True
        self._key_filter: tuple[str, set[str]] | None = None
        self.warnings_dialog: WarningsDialog | None = None
        self.options_dialog: OptionsDialog | None = None
        self._closed = False
        self._pending_view: dict | None = None  # saved filter waiting for the deck (apply_state)
        self._notes_problem = False  # the banner says the file on disk cannot be read

        self._banner_error = False
        self._build()
        self._open_store()
        self.flow.try_provider = links_try_it(getattr(ctx, "navigator", None))
        self.review.card.setHtml("<p>Reading your notes...</p>")
        self._open_first_notes()

    # ================================================================ construction
    def _build(self) -> None:
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextFormat(Qt.TextFormat.RichText)
        self.banner.setVisible(False)
        self.banner.linkActivated.connect(self._banner_link)
        self.problem = QLabel()  # store problems: stays until the app restarts
        self.problem.setWordWrap(True)
        self.problem.setVisible(False)
        self.problem.setStyleSheet(style.error_box_css(style.colours()))

        self.bar = DeckBar(self.settings.get("flashcards/shuffle", False))
        self.bar.deck_label.linkActivated.connect(self._banner_link)
        # What the area's logic and its callers use most, under short names.
        self.filter_box = self.bar.filter_box
        self.cram_check = self.bar.cram_check
        self.shuffle_check = self.bar.shuffle_check

        self.review = ReviewPanel()
        self.flow = ReviewFlow(self.review, self.clock, self)
        self.flow.card_shown.connect(self.card_shown)
        self.flow.graded.connect(self.graded)
        self.flow.changed.connect(self._after_change)
        self.flow.problem.connect(lambda text: self._say(text, error=True))
        style.on_change(self, self._restyle, now=False)
        self.flow.recover_store = self._store_full
        self.flow.edit_requested.connect(self.edit_card)
        self.browse = BrowsePanel()
        self.browse.render_card = (
            lambda key, width: self.flow.browse_card_html(key, self.browse.model.rows, width))
        # Statistics draws with pyqtgraph: built when the tab is first opened, so the
        # window that opens on this area paints without importing it (fast start).
        self.stats_page = LazyPage(_make_stats_panel)
        self.tabs = QTabWidget()
        self.tabs.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for panel, title, tip in (
                (self.review, "Review", "Review the cards due today with spaced repetition "
                                        "(FSRS, in an Anki-style queue)"),
                (self.browse, "Browse", "Every card in a searchable, sortable table; suspend "
                                        "or review any of them"),
                (self.stats_page, "Statistics", "Due forecast, reviews per day, true "
                                                "retention and progress per section")):
            self.tabs.setTabToolTip(self.tabs.addTab(panel, title), tip)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.addWidget(self.bar)
        layout.addWidget(self.problem)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setFocusProxy(self.review.card)

        # Actions (the main window puts file_actions() in its File menu).
        self.open_action = QAction("Open notes...", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.setToolTip("Study another notes file written the same way")
        self.open_action.triggered.connect(self.choose_notes)
        self.reload_action = QAction("Reload notes", self)
        self.reload_action.triggered.connect(lambda: self.reload(force=True))
        self.export_action = QAction("Export deck to Anki...", self)
        self.export_action.triggered.connect(self.choose_export)
        self.warnings_action = QAction("Notes parse warnings...", self)
        self.warnings_action.triggered.connect(self.show_warnings)
        self.undo_action = QAction("Undo", self)
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.undo_action.triggered.connect(self.undo)
        self.addAction(self.undo_action)
        self.bar.open_button.clicked.connect(self.choose_notes)

        r = self.review
        r.cram_button.clicked.connect(lambda: self.cram_check.setChecked(True))
        self.filter_box.currentIndexChanged.connect(self._filter_changed)
        self.cram_check.toggled.connect(self._cram_toggled)
        self.shuffle_check.toggled.connect(self._shuffle_toggled)
        self.bar.options_button.clicked.connect(self.show_options)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.browse.open_card.connect(self.show_card)
        self.browse.toggle_suspend.connect(self.flow.toggle_suspend)
        self.browse.edit_card.connect(self.edit_card)
        self.browse.split_history.connect(self.split_history)

        self.notes = NotesFiles(self)
        self.notes.changed.connect(self._changed_on_disk)
        self.notes.reading.connect(self._say)

    def file_actions(self) -> list[QAction]:
        return [self.open_action, self.reload_action, self.export_action, self.warnings_action]

    # ================================================================ store
    def _open_store(self) -> None:
        self.storage = Storage(Path(self.ctx.data_dir) / DB_NAME)
        if self.storage.problem is not None:
            self._show_store_problem(self.storage.problem)

    @property
    def store(self) -> ReviewStore:
        return self.storage.store

    def _show_store_problem(self, exc: StoreError) -> None:
        self.problem.setText(store_problem_text(exc))
        self.problem.setVisible(True)

    def _store_full(self, exc: StoreError) -> bool:
        """A write found the disk full: the review goes on in a temporary copy."""
        if not self.storage.switch_on_full(exc, self.session):
            return False
        self._show_store_problem(exc)
        return True

    def _attach(self, path: Path, result) -> OpenedDeck:
        return self.storage.attach(path, result, self.clock(), self._store_full)

    def shutdown(self) -> None:
        """Close the database; the area does nothing more afterwards (the window is closing)."""
        self._closed = True
        self.flow.shutdown()
        self.notes.shutdown()
        self.storage.close()

    # ================================================================ notes
    def _open_first_notes(self) -> None:
        first = initial_notes_path(self.ctx.notes_path,
                                   self.settings.get("flashcards/notes_path", ""))
        if self.open_notes(first, user=False) is False:
            message = self.banner.text()
            bundled = bundled_notes_path()
            if first.resolve() != bundled.resolve() and self.open_notes(bundled, user=False):
                self._say(f"{message} Showing the bundled notes instead.", error=True)

    def choose_notes(self) -> None:
        start = str(open_dialog_folder(self.deck.path if self.deck else None,
                                       self.settings.get("flashcards/notes_path", "")))
        path, _ = QFileDialog.getOpenFileName(self, "Open notes", start,
                                              "Markdown notes (*.md *.markdown *.txt);;"
                                              "All files (*)")
        if path:
            self.open_notes(path)

    def open_notes(self, path, user: bool = True) -> bool | None:
        """Load a notes file as the deck (File > Open notes...). True: loaded; False: not a
        notes file (the current deck stays, a message says why); None: a big file is being
        read in the background (`deck_loaded` is emitted when it is in). `user`: opened by the
        learner (remembered for the next start; warnings shown in a dialog)."""
        path = Path(path)
        outcome: list[bool] = []
        done = self.notes.read(path, lambda result: outcome.append(
            self._notes_read(path, result, user)))
        return outcome[0] if done else None

    def _notes_read(self, path: Path, result, user: bool) -> bool:
        if isinstance(result, NotesError):
            self._say(f"Could not open notes: {html.escape(str(result))}"
                      + (" The current deck stays open." if self.deck else ""), error=True)
            return False
        try:
            opened = self._attach(path, result)
        except (sqlite3.Error, StoreError) as exc:
            self._say(f"Could not record the deck in the review database: "
                      f"{html.escape(str(exc))}", error=True)
            return False
        self._set_deck(opened)
        if user:
            self.settings.set("flashcards/notes_path",
                              "" if is_bundled(path) else str(path.resolve()))
        self._say(opened_summary(opened))
        if user and opened.parse.warnings:
            self.show_warnings()
        self.deck_loaded.emit(str(path))
        return True

    def _set_deck(self, opened: OpenedDeck) -> None:
        self.deck = opened
        self._use_parse(opened)
        self.notes.watch(opened.path)
        self._notes_problem = False
        self._key_filter = None
        self.flow.session = ReviewSession(
            self.store, opened.deck_id, opened.parse.cards, self._scheduler(),
            new_per_day=self.settings.get("flashcards/new_per_day", DEFAULT_NEW_PER_DAY),
            clock=self.clock)
        if self.shuffle_check.isChecked():
            self.session.set_shuffle(True)
        self.cram_check.blockSignals(True)
        self.cram_check.setChecked(False)
        self.cram_check.blockSignals(False)
        self._fill_filter()
        self._update_deck_label()
        self.browse.set_sections([s.name for s in opened.parse.card_sections])
        self.show_next()
        self._refresh_browse()
        self._stats_dirty = True
        if self.tabs.currentWidget() is self.stats_page:
            self.refresh_stats()
        if self._pending_view is not None:  # restored before a big notes file was read
            pending, self._pending_view = self._pending_view, None
            self._apply_view(pending)

    def _use_parse(self, opened: OpenedDeck) -> None:
        self.flow.renderer = Renderer(opened.path.resolve().parent, bundled=opened.parse.bundled)
        self.flow.legend = opened.parse.legend
        # The bundled deck lives inside the app's install: it is not the learner's to edit.
        self.flow.can_edit = self.browse.can_edit = not opened.parse.bundled
        for button in (self.review.edit_button, self.browse.edit_button):
            button.setProperty("edit_tip", button.property("edit_tip") or button.toolTip())
            button.setToolTip("The bundled notes are part of the app: open your own notes file "
                              "(File > Open notes...) to edit its cards" if opened.parse.bundled
                              else button.property("edit_tip"))

    def _scheduler(self) -> Scheduler:
        return make_scheduler(self.settings.get("flashcards/desired_retention",
                                                DEFAULT_RETENTION))

    def _update_deck_label(self) -> None:
        self.bar.show_deck(self.deck, legend_html(self.deck.parse.legend if self.deck else ()))

    def _fill_filter(self) -> None:
        assert self.deck is not None
        if self.bar.fill_filter(self.deck, self._key_filter):
            self._filter_changed()

    def _changed_on_disk(self, path: Path, digest: bytes) -> None:
        if self.deck is not None and path == self.deck.path:
            self.reload(digest=digest)

    def reload(self, force: bool = False, digest: bytes | None = None) -> None:
        """Re-read the notes file after it changed on disk (history kept by card identity)."""
        if self.deck is None or self._closed:
            return
        path = self.deck.path
        self.notes.keep_watching()
        digest = file_digest(path) if digest is None else digest
        if not force and digest == self.notes.digest:
            if self._notes_problem:  # back to what is loaded: nothing is wrong any more
                self._notes_problem = False
                self._say("")
            return
        if not path.exists():
            self._say(f"{html.escape(path.name)} was moved or deleted; showing the last "
                      "version read.", error=True)
            self._notes_problem = True
            return
        self.notes.read(path, lambda result: self._reloaded(path, digest, result))

    def _reloaded(self, path: Path, digest: bytes, result) -> None:
        if isinstance(result, NotesError):
            self._say(f"Could not reload the notes: {html.escape(str(result))} The last good "
                      "version stays loaded.", error=True)
            self._notes_problem = True
            return
        assert self.deck is not None and self.session is not None
        current = self.session.current
        revealed = self.review.card.answer_shown
        try:
            opened = self._attach(path, result)
        except (sqlite3.Error, StoreError) as exc:
            self._say(f"Could not update the review database: {html.escape(str(exc))}",
                      error=True)
            return
        self.notes.digest = digest
        self._notes_problem = False
        self.deck = opened
        self._use_parse(opened)
        # Cards the matcher found moved or reworded keep their place, and their undo entries.
        renamed = opened.sync.changes.new_keys() if opened.sync.changes else {}
        current = renamed.get(current, current)
        self.session.set_cards(opened.parse.cards, renamed)
        self._fill_filter()
        self._update_deck_label()
        self.browse.set_sections([s.name for s in opened.parse.card_sections])
        if current is not None and current in self.session.cards and not self.session.cram:
            self.session.bring_to_front(current)
            self.flow.show(current, revealed)
        else:
            self.show_next()
        self._refresh_browse()
        self._stats_dirty = True
        self._say(reload_summary(opened))
        if self.warnings_dialog is not None and self.warnings_dialog.isVisible():
            self.show_warnings()

    def show_warnings(self) -> None:
        if self.deck is None:
            return
        if self.warnings_dialog is None:
            self.warnings_dialog = WarningsDialog(self)
        self.warnings_dialog.set_warnings(warnings_intro(self.deck.parse),
                                          self.deck.parse.warnings)
        self.warnings_dialog.show()
        self.warnings_dialog.raise_()

    # ================================================================ messages
    def _say(self, text: str, error: bool = False) -> None:
        show_if(self.banner, bool(text))
        self.banner.setText(text)
        self._banner_error = error
        if error:
            self.banner.setStyleSheet(style.error_box_css(style.colours()))
        else:
            self.banner.setStyleSheet("QLabel { background: palette(alternate-base); "
                                      "padding: 6px; border-radius: 4px; }")

    def _restyle(self, c) -> None:
        self.problem.setStyleSheet(style.error_box_css(c))
        self._say(self.banner.text() if self.banner.isVisibleTo(self) else "", self._banner_error)
        self.flow.restyle()

    def _banner_link(self, link: str) -> None:
        if link == "warnings":
            self.show_warnings()
        elif link == "open":  # the deck bar's "N open": list them in Browse
            self.browse.state_box.setCurrentText("Open questions")
            self.tabs.setCurrentWidget(self.browse)

    # ================================================================ edit, split history
    def edit_card(self, key: str) -> None:
        """Open the notes file at the card's line in the learner's editor (E)."""
        if self.session is None or self.deck is None or key not in self.session.cards:
            return
        ok, message = open_in_editor(self.deck.path, self.session.cards[key].line)
        self._say(message, error=not ok)

    def split_history(self, key: str, history_id: int) -> None:
        """Undo a match the reload made (Browse's "Split history")."""
        if self.session is None or self.deck is None:
            return
        why = self.storage.split_match(self.deck.deck_id, history_id, self.clock())
        if why is not None:
            self._say(f"The history was not split: {html.escape(why)}", error=True)
            return
        self.session.set_cards(self.deck.parse.cards)
        self._refresh_browse(force=True)
        self._stats_dirty = True
        if self.session.current is None or not self.review.card.active:
            self.show_next()
        self._say("History split: the earlier question is back on its own, hidden with its "
                  "reviews; this card starts anew.")

    # ================================================================ review
    @property
    def session(self) -> ReviewSession | None:
        return self.flow.session

    def show_next(self) -> None:
        self.flow.show_next()

    def reveal(self) -> None:
        self.flow.reveal()

    def grade(self, rating: int) -> None:
        self.flow.grade(rating)

    def undo(self) -> None:
        self.flow.undo()

    def set_try_it(self, provider: TryItProvider | None) -> None:
        """Plug in what "Try it" does for a card (see the module docstring)."""
        self.flow.set_try_it(provider)

    def _after_change(self) -> None:
        self._stats_dirty = True
        self._refresh_browse()
        if self.tabs.currentWidget() is self.stats_page:
            self.refresh_stats()

    def show_card(self, key: str) -> None:
        """Show one card in the review (from Browse, or a lab's related card)."""
        if self.session is None or key not in self.session.cards:
            return
        self.session.bring_to_front(key)
        self.tabs.setCurrentWidget(self.review)
        self.flow.show(key, False)
        self.review.card.setFocus()

    # ================================================================ filter, cram, options
    def _filter_changed(self) -> None:
        if self.session is None:
            return
        data = self.filter_box.currentData()
        if data == KEYS_FILTER and self._key_filter is not None:
            self.session.set_filter(None, self._key_filter[1])
        else:
            self.session.set_filter({data} if data else None, None)
        self.show_next()

    def _cram_toggled(self, on: bool) -> None:
        if self.session is not None:
            self.session.set_cram(on)
            self.show_next()

    def _shuffle_toggled(self, on: bool) -> None:
        self.settings.set("flashcards/shuffle", bool(on))
        if self.session is not None:
            self.session.set_shuffle(on)
            self.show_next()

    def show_options(self) -> None:
        self.options_dialog = OptionsDialog(
            self.settings.get("flashcards/new_per_day", DEFAULT_NEW_PER_DAY),
            float(self.settings.get("flashcards/desired_retention", DEFAULT_RETENTION)), self)
        self.options_dialog.accepted.connect(self._options_accepted)
        self.options_dialog.open()

    def _options_accepted(self) -> None:
        d = self.options_dialog
        assert d is not None
        self.apply_options(d.new_per_day.value(), round(d.retention.value(), 2))

    def apply_options(self, new_per_day: int, desired_retention: float) -> None:
        self.settings.set("flashcards/new_per_day", int(new_per_day))
        self.settings.set("flashcards/desired_retention", float(desired_retention))
        if self.session is not None:
            self.session.scheduler = self._scheduler()
            self.session.set_new_per_day(new_per_day)
            self.session.refresh()
            self.show_next()
        self._stats_dirty = True

    # ================================================================ browse & stats
    def _refresh_browse(self, force: bool = False) -> None:
        """Rebuild the browse table now if it is on screen, else when it is next shown (a
        10,000-card table rebuilt after every grade would cost more than the grade)."""
        if self.session is None or self.deck is None:
            return
        if not force and self.tabs.currentWidget() is not self.browse:
            self._browse_dirty = True
            return
        self._browse_dirty = False
        self.browse.set_rows(browse_rows(self.session, self.store, self.deck.deck_id,
                                         self.clock()))

    @property
    def stats(self):
        """The Statistics tab's `StatsPanel` (built on first use)."""
        return self.stats_page.content()

    def refresh_stats(self) -> None:
        if self.deck is None:
            return
        st = compute_stats(self.store, self.deck.deck_id, now=self.clock())
        self.stats.set_stats(st, float(self.settings.get("flashcards/desired_retention",
                                                         DEFAULT_RETENTION)))
        self._stats_dirty = False

    def _tab_changed(self, _index: int) -> None:
        widget = self.tabs.currentWidget()
        if widget is self.stats_page and self._stats_dirty:
            self.refresh_stats()
        elif widget is self.browse and self._browse_dirty:
            self._refresh_browse()
        elif widget is self.review:
            self.review.card.setFocus()

    # ================================================================ export, Qt events
    def choose_export(self) -> None:
        path = self.deck is not None and choose_apkg_path(self, self.deck.path.stem)
        if path:
            self.export_to(path)

    def export_to(self, path) -> bool:
        assert self.deck is not None
        ok, message = export_deck(self.deck, path)
        self._say(message, error=not ok)
        return ok

    def showEvent(self, event):
        super().showEvent(event)
        if self.tabs.currentWidget() is self.review:
            QTimer.singleShot(0, self._focus_card)
        if self.session is not None and self.session.today() != day_index(self.clock()):
            self.session.refresh()

    def _focus_card(self) -> None:
        if self.isVisible() and self.tabs.currentWidget() is self.review:
            self.review.card.setFocus(Qt.FocusReason.OtherFocusReason)

    def prepare_screenshot(self, runs: bool = True) -> None:
        self.tabs.setCurrentWidget(self.review)
        self._focus_card()


def create_area(ctx) -> AreaWidget:
    return FlashcardsArea(ctx)

