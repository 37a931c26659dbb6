"""The Flashcards area: review the learner's notes with spaced repetition (Qt).

Opens on the review with keyboard focus on the card: Space or Enter reveals the answer, 1-4
grade (Again, Hard, Good, Easy; the buttons show the next interval), Space on the answer side is
Good, Ctrl+Z undoes (several levels), "-" buries until tomorrow, "@" suspends. Tabs: Review,
Browse (search, filter, sort by due, open a card) and Statistics (pyqtgraph).

The logic lives in the Qt-free core: studyapp.notes (parse, render) and studyapp.review
(scheduler, store, queue, stats, export); this module only wires it to widgets.

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
runs on a temporary in-memory database (a copy, when the file could still be read).
"""

from __future__ import annotations

import hashlib
import html
import sqlite3
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QFileSystemWatcher, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QFileDialog, QHBoxLayout,
                               QLabel, QSizePolicy, QTabWidget, QToolButton, QVBoxLayout,
                               QWidget)

from studyapp.areas import area_by_key
from studyapp.areas.flashcards.browse import BrowsePanel, BrowseRow
from studyapp.areas.flashcards.review import OptionsDialog, ReviewPanel, WarningsDialog
from studyapp.notes.parser import Card, NotesError, parse_file
from studyapp.notes.render import Renderer, card_css, legend_html
from studyapp.review.deck import OpenedDeck, attach_deck, bundled_notes_path
from studyapp.review.queue import ReviewSession
from studyapp.review.scheduler import (
    AGAIN, DAY_MS, EASY, GOOD, HARD, LEARNING, NEW, RATING_NAMES, RELEARNING, STATE_NAMES,
    Scheduler, day_index, format_interval, now_ms)
from studyapp.review.stats import compute_stats
from studyapp.review.store import DB_NAME, ReviewStore, StoreError
from studyapp.widgets.lazy_page import LazyPage
from studyapp.shell import style
from studyapp.shell.area import AreaWidget

TryIt = tuple[str, Callable[[], None]] | tuple[str, Callable[[], None], str]
TryItProvider = Callable[[Card], "TryIt | None"]

DEFAULT_NEW_PER_DAY = 20
ASYNC_PARSE_BYTES = 256 * 1024  # bigger notes files (~1,000+ cards) are parsed on a worker
DEFAULT_RETENTION = 0.9
RATING_ROLES = {AGAIN: "rating_again", HARD: "rating_hard", GOOD: "rating_good",
                EASY: "rating_easy"}  # colour roles of studyapp.shell.style


def _show_if(widget: QWidget, visible: bool) -> None:
    # setVisible re-lays out the panel even when nothing changes; it showed in grade timings.
    if widget.isHidden() == visible:
        widget.setVisible(visible)


def _make_stats_panel() -> QWidget:
    from studyapp.areas.flashcards.stats import StatsPanel  # imports pyqtgraph
    from studyapp.shell.theme import configure_plots

    configure_plots(QApplication.instance())
    return StatsPanel()


class FlashcardsArea(AreaWidget):
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
        self.session: ReviewSession | None = None
        self.renderer = Renderer(None)
        self._shown_at = 0.0
        self._try_provider: TryItProvider | None = None
        self._try_callback: Callable[[], None] | None = None
        self._stats_dirty = True
        self._browse_dirty = True
        self._notes_digest = b""
        self._key_filter: tuple[str, set[str]] | None = None
        self.warnings_dialog: WarningsDialog | None = None
        self.options_dialog: OptionsDialog | None = None
        self.store_problem: str | None = None
        self._closed = False
        self._jobs: set = set()  # running parse jobs (JobThread)
        self._read_generation = 0  # only the latest read of a notes file is applied
        self._pending_view: dict | None = None  # saved filter waiting for the deck (apply_state)

        self._banner_error = False
        self._build()
        self._open_store()
        self._install_default_try_it()
        self.review.card.setHtml("<p>Reading your notes...</p>")
        self._open_first_notes()
        self._shortcuts()
        style.on_change(self, self._restyle, now=False)

    def _restyle(self, c) -> None:
        """Redraw what carries colours of its own (boxes, the card, counts) in the new mode."""
        self.problem.setStyleSheet(style.error_box_css(c))
        self._say(self.banner.text() if self.banner.isVisibleTo(self) else "", self._banner_error)
        if self.session is None:
            return
        if self.review.card.active and self.session.current is not None:
            shown_at = self._shown_at  # the time taken to answer is the learner's, not ours
            self._show(self.session.current, self.review.card.answer_shown)
            self._shown_at = shown_at
        elif self.review.buttons.currentIndex() == 2:
            self._show_done()

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

        self.deck_label = QLabel()
        self.deck_label.setTextFormat(Qt.TextFormat.RichText)
        # In a narrow window the label gives way (clipped; the tooltip has it all) instead of
        # widening the window or wrapping into a tall column.
        self.deck_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.deck_label.setMinimumWidth(60)
        self.deck_label.linkActivated.connect(self._banner_link)
        self.open_button = QToolButton()
        self.open_button.setText("Open notes...")
        self.open_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.open_button.setToolTip("Open notes: study another notes file written the same way; "
                                    "each question becomes a card (Ctrl+O)")
        self.filter_box = QComboBox()
        self.filter_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.filter_box.setMinimumContentsLength(10)
        self.filter_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.filter_box.setToolTip("Section filter: review only one section (chapter) of your "
                                   "notes; the Anki-style queue keeps its order within it")
        self.cram_check = QCheckBox("Study all")
        self.cram_check.setToolTip("Study all (cram): go through every card of the filter, due "
                                   "or not; grades here do not change the FSRS schedule")
        self.cram_check.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.shuffle_check = QCheckBox("Shuffle")
        self.shuffle_check.setToolTip("Shuffle: mix the order of due reviews and new cards "
                                      "(otherwise new cards come in file order)")
        self.shuffle_check.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.shuffle_check.setChecked(self.settings.get("flashcards/shuffle", False))
        self.options_button = QToolButton()
        self.options_button.setText("Options...")
        self.options_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.options_button.setToolTip("Review options: new cards per day and the FSRS desired "
                                       "retention")

        top = QHBoxLayout()
        top.addWidget(self.deck_label, 1)
        top.addWidget(self.open_button)
        top.addWidget(self.filter_box)
        top.addWidget(self.cram_check)
        top.addWidget(self.shuffle_check)
        top.addWidget(self.options_button)

        self.review = ReviewPanel()
        self.browse = BrowsePanel()
        self.browse.render_card = self._card_html_for_browse
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
        layout.addLayout(top)
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
        self.open_button.clicked.connect(self.choose_notes)

        r = self.review
        r.card.reveal_requested.connect(self.reveal)
        r.card.grade_requested.connect(self.grade)
        r.card.command_requested.connect(
            lambda what: {"undo": self.undo, "bury": self.bury, "suspend": self.suspend}[what]())
        r.show_button.clicked.connect(self.reveal)
        for rating, b in r.grade_buttons.items():
            b.clicked.connect(lambda _=False, rt=rating: self.grade(rt))
        r.undo_button.clicked.connect(self.undo)
        r.bury_button.clicked.connect(self.bury)
        r.suspend_button.clicked.connect(self.suspend)
        r.cram_button.clicked.connect(lambda: self.cram_check.setChecked(True))
        r.try_button.clicked.connect(self._try_it)
        self.filter_box.currentIndexChanged.connect(self._filter_changed)
        self.cram_check.toggled.connect(self._cram_toggled)
        self.shuffle_check.toggled.connect(self._shuffle_toggled)
        self.options_button.clicked.connect(self.show_options)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.browse.open_card.connect(self.show_card)
        self.browse.toggle_suspend.connect(self._toggle_suspend)

        self.watcher = QFileSystemWatcher(self)
        self.watcher.fileChanged.connect(self._notes_changed_on_disk)
        self.watcher.directoryChanged.connect(self._notes_changed_on_disk)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(300)  # editors write in several steps
        self._reload_timer.timeout.connect(self.reload)
        self._wake_timer = QTimer(self)  # a learning card becomes due, or a new day starts
        self._wake_timer.setSingleShot(True)
        self._wake_timer.timeout.connect(self._wake)

    def _shortcuts(self) -> None:
        for keys, slot in (("-", self.bury), ("@", self.suspend)):
            sc = QShortcut(QKeySequence(keys), self.review)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)

    def file_actions(self) -> list[QAction]:
        return [self.open_action, self.reload_action, self.export_action, self.warnings_action]

    def actions_list(self) -> list[QAction]:
        return [*self.file_actions(), self.undo_action]


    # ================================================================ store
    def _open_store(self) -> None:
        path = Path(self.ctx.data_dir) / DB_NAME
        try:
            self.store = ReviewStore.open(path)
        except StoreError as exc:
            copy = exc.kind in ("readonly", "newer")
            self.store = ReviewStore.temporary(copy_from=path if copy else None)
            self.store_problem = str(exc)
            what = ("Your history is shown, but grades" if copy else "Grades")
            self.problem.setText(
                f"Review history unavailable: {exc}\n{what} made now are kept in a temporary "
                "database and are lost when you quit. The file itself was not changed.")
            self.problem.setVisible(True)

    def shutdown(self) -> None:
        """Close the database; the area does nothing more afterwards (the window is closing)."""
        self._closed = True
        self._wake_timer.stop()
        self._reload_timer.stop()
        self.watcher.blockSignals(True)
        for job in list(self._jobs):  # a parse cannot be interrupted; it is short: wait
            job.request_stop()
            job.wait(10_000)
        try:
            self.store.close()
        except sqlite3.Error:
            pass

    # ================================================================ notes
    def _initial_notes_path(self) -> Path:
        path = Path(self.ctx.notes_path)
        try:
            is_bundled = path.resolve() == bundled_notes_path().resolve()
        except OSError:
            is_bundled = False
        last = self.settings.get("flashcards/notes_path", "")
        if is_bundled and last and Path(last).is_file():
            return Path(last)  # the learner's own notes, opened last time
        return path

    def _open_first_notes(self) -> None:
        first = self._initial_notes_path()
        if self.open_notes(first, user=False) is False:
            message = self.banner.text()
            bundled = bundled_notes_path()
            if first.resolve() != bundled.resolve() and self.open_notes(bundled, user=False):
                self._say(f"{message} Showing the bundled notes instead.", error=True)

    def choose_notes(self) -> None:
        start = str(self.deck.path.parent if self.deck else Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open notes", start,
                                              "Markdown notes (*.md *.markdown *.txt);;"
                                              "All files (*)")
        if path:
            self.open_notes(path)

    def _read_notes(self, path: Path, then: Callable[[object], None]) -> bool:
        """Parse `path`, then call `then(ParseResult or NotesError)` on the GUI thread. Small
        files are parsed at once (returns True); big ones on a worker thread (returns False,
        `then` is called later), so the window never freezes on a 10,000-card file."""
        self._read_generation += 1
        generation = self._read_generation
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        if size < ASYNC_PARSE_BYTES:
            try:
                result: object = parse_file(path)
            except NotesError as exc:
                result = exc
            then(result)
            return True
        from studyapp.shell.jobs import JobThread

        def job(_token):
            try:
                yield parse_file(path)
            except NotesError as exc:
                yield exc

        def deliver(result):
            if generation == self._read_generation and not self._closed:
                then(result)
        worker = JobThread(job, "parse-notes", self)
        worker.record.connect(deliver)
        worker.failed.connect(lambda message: deliver(NotesError(message)))
        worker.finished.connect(lambda _reason: self._jobs.discard(worker))
        self._jobs.add(worker)
        self._say(f"Reading {html.escape(path.name)} ({size / 2**20:.1f} MB)...")
        worker.start()
        return False

    def open_notes(self, path, user: bool = True) -> bool | None:
        """Load a notes file as the deck (File > Open notes...). True: loaded; False: not a
        notes file (the current deck stays, a message says why); None: a big file is being
        read in the background (`deck_loaded` is emitted when it is in). `user`: opened by the
        learner (remembered for the next start; warnings shown in a dialog)."""
        path = Path(path)
        outcome: list[bool] = []
        done = self._read_notes(path, lambda result: outcome.append(
            self._notes_read(path, result, user)))
        return outcome[0] if done else None

    def _notes_read(self, path: Path, result, user: bool) -> bool:
        if isinstance(result, NotesError):
            self._say(f"Could not open notes: {html.escape(str(result))}"
                      + (" The current deck stays open." if self.deck else ""), error=True)
            return False
        try:
            opened = attach_deck(self.store, path, result, self.clock())
        except (sqlite3.Error, StoreError) as exc:
            self._say(f"Could not record the deck in the review database: "
                      f"{html.escape(str(exc))}", error=True)
            return False
        self._set_deck(opened)
        if user:
            try:
                is_bundled = path.resolve() == bundled_notes_path().resolve()
            except OSError:
                is_bundled = False
            self.settings.set("flashcards/notes_path", "" if is_bundled else str(path.resolve()))
        notes = []
        if opened.adopted:
            notes.append("These notes share their questions with a deck you studied before: "
                         "its history carries over.")
        if opened.sync.hidden:
            notes.append(f"{opened.sync.hidden} question(s) no longer in the file: their "
                         "history is kept, hidden, and comes back with them.")
        self._say(" ".join(notes))
        if user and opened.parse.warnings:
            self.show_warnings()
        self.deck_loaded.emit(str(path))
        return True

    def _set_deck(self, opened: OpenedDeck) -> None:
        self.deck = opened
        self.renderer = Renderer(opened.path.resolve().parent)
        self._watch(opened.path)
        self._notes_digest = self._digest(opened.path)
        if self._key_filter is not None:
            self._key_filter = None
        self.session = ReviewSession(
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

    def _scheduler(self) -> Scheduler:
        retention = self.settings.get("flashcards/desired_retention", DEFAULT_RETENTION)
        try:
            return Scheduler(desired_retention=float(retention))
        except ValueError:
            return Scheduler(desired_retention=DEFAULT_RETENTION)

    def _update_deck_label(self) -> None:
        if self.deck is None:
            self.deck_label.setText("No notes loaded")
            return
        p = self.deck.parse
        warn = (f" · <a href='warnings'>{len(p.warnings)} warning"
                f"{'s' if len(p.warnings) != 1 else ''}</a>" if p.warnings else "")
        open_q = f" · {p.open_questions} open" if p.open_questions else ""
        self.deck_label.setText(
            f"<b>{html.escape(self.deck.path.name)}</b> · {len(p.cards)} cards{open_q}{warn}")
        self.deck_label.setToolTip(f"{html.escape(str(self.deck.path))}<br><br><b>Legend</b>"
                                   f"<br>{self.legend_html()}")

    def _fill_filter(self) -> None:
        assert self.deck is not None
        current = self.filter_box.currentData()
        self.filter_box.blockSignals(True)
        self.filter_box.clear()
        self.filter_box.addItem(f"All sections ({len(self.deck.parse.cards)})", None)
        if self._key_filter is not None:
            label, keys = self._key_filter
            self.filter_box.addItem(f"{label} ({len(keys)})", "__keys__")
        for s in self.deck.parse.card_sections:
            self.filter_box.addItem(f"{s.name} ({s.cards})", s.name)
        idx = self.filter_box.findData(current)
        self.filter_box.setCurrentIndex(max(0, idx))
        self.filter_box.blockSignals(False)
        if idx < 0 and current is not None:
            self._filter_changed()

    def _watch(self, path: Path) -> None:
        old = self.watcher.files() + self.watcher.directories()
        if old:
            self.watcher.removePaths(old)
        # The folder too: editors that save by replacing the file drop the file watch.
        self.watcher.addPaths([str(path), str(path.resolve().parent)])

    @staticmethod
    def _digest(path: Path) -> bytes:
        try:
            return hashlib.sha1(path.read_bytes()).digest()
        except OSError:
            return b""

    def _notes_changed_on_disk(self, _path: str) -> None:
        self._reload_timer.start()

    def reload(self, force: bool = False) -> None:
        """Re-read the notes file after it changed on disk (history kept by card identity)."""
        if self.deck is None or self._closed:
            return
        path = self.deck.path
        if str(path) not in self.watcher.files() and path.exists():
            self.watcher.addPath(str(path))
        digest = self._digest(path)
        if not force and digest == self._notes_digest:
            return
        if not path.exists():
            self._say(f"{html.escape(path.name)} was moved or deleted; showing the last "
                      "version read.", error=True)
            return
        self._read_notes(path, lambda result: self._reloaded(path, digest, result))

    def _reloaded(self, path: Path, digest: bytes, result) -> None:
        if isinstance(result, NotesError):
            self._say(f"Could not reload the notes: {html.escape(str(result))} The last good "
                      "version stays loaded.", error=True)
            return
        assert self.deck is not None and self.session is not None
        current = self.session.current
        revealed = self.review.card.answer_shown
        try:
            opened = attach_deck(self.store, path, result, self.clock())
        except (sqlite3.Error, StoreError) as exc:
            self._say(f"Could not update the review database: {html.escape(str(exc))}",
                      error=True)
            return
        self._notes_digest = digest
        before = len(self.deck.parse.cards)
        self.deck = opened
        self.renderer = Renderer(path.resolve().parent)
        self.session.set_cards(opened.parse.cards)
        self._fill_filter()
        self._update_deck_label()
        self.browse.set_sections([s.name for s in opened.parse.card_sections])
        if current is not None and current in self.session.cards and not self.session.cram:
            self.session.bring_to_front(current)
            self._show(current, revealed)
        else:
            self.show_next()
        self._refresh_browse()
        self._stats_dirty = True
        s = opened.sync
        parts = [f"Notes reloaded: {len(opened.parse.cards)} cards"]
        if s.added:
            parts.append(f"{s.added} new")
        if s.hidden:
            parts.append(f"{s.hidden} no longer in the file (history kept)")
        if s.returned:
            parts.append(f"{s.returned} back with their history")
        if opened.parse.warnings:
            parts.append(f"<a href='warnings'>{len(opened.parse.warnings)} warnings</a>")
        self._say(", ".join(parts) + "." if len(opened.parse.cards) != before or s.added
                  or s.hidden or opened.parse.warnings else parts[0] + ".")
        if self.warnings_dialog is not None and self.warnings_dialog.isVisible():
            self.show_warnings()

    def show_warnings(self) -> None:
        if self.deck is None:
            return
        if self.warnings_dialog is None:
            self.warnings_dialog = WarningsDialog(self)
        self.warnings_dialog.set_warnings(self.deck.path, self.deck.parse.warnings,
                                          len(self.deck.parse.cards))
        self.warnings_dialog.show()
        self.warnings_dialog.raise_()

    # ================================================================ messages
    def _say(self, text: str, error: bool = False) -> None:
        _show_if(self.banner, bool(text))
        self.banner.setText(text)
        self._banner_error = error
        if error:
            self.banner.setStyleSheet(style.error_box_css(style.colours()))
        else:
            self.banner.setStyleSheet("QLabel { background: palette(alternate-base); "
                                      "padding: 6px; border-radius: 4px; }")

    def _banner_link(self, link: str) -> None:
        if link == "warnings":
            self.show_warnings()

    # ================================================================ review
    def _card_html(self, card: Card, answer: bool) -> str:
        css = card_css(style.colours().card())
        q = self.renderer.render_inline(card.question)
        parts = [f"<html><head><style>{css}</style></head><body>",
                 f"<p style='font-size:20px; font-weight:bold; margin-top:8px;'>{q}</p>"]
        if card.open_question:
            parts.append("<p class='open-question'>Open question: the notes say TODO. Think "
                         "it through, then grade how well you could answer.</p>")
        if answer:
            parts.append("<hr/>")
            parts.append(self.renderer.render(card.answer))
        parts.append("</body></html>")
        return "".join(parts)

    def _card_html_for_browse(self, key: str) -> str:
        if self.session is None or key not in self.session.cards:
            row = next((r for r in self.browse.model.rows if r.key == key), None)
            q = html.escape(row.question) if row else ""
            return f"<p><b>{q}</b></p><p><i>This question is no longer in the notes file; " \
                   "its history is kept and returns if the question does.</i></p>"
        card = self.session.cards[key]
        return (f"<p class='section'>{html.escape(card.section)} · line {card.line}</p>"
                + self._card_html(card, True))

    def show_next(self) -> None:
        if self.session is None:
            return
        key = self.session.next_card()
        if key is None:
            self._show_done()
        else:
            self._show(key, False)

    def _show(self, key: str, answer: bool) -> None:
        assert self.session is not None
        card = self.session.cards[key]
        r = self.review
        r.card.setHtml(self._card_html(card, answer))
        r.card.answer_shown = answer
        r.card.active = True
        r.section_label.setText(f"<span style='color:{style.colours().muted}'>Section</span> "
                                f"<b>{html.escape(card.section)}</b>")
        r.buttons.setCurrentIndex(1 if answer else 0)
        r.legend.setText(legend_html(style.colours().card(),
                                     self.deck.parse.legend if self.deck else None)
                         if answer else "")
        _show_if(r.legend, answer)
        if answer:
            self._label_grade_buttons(key)
        else:
            self._shown_at = time.monotonic()
        r.bury_button.setEnabled(True)
        r.suspend_button.setEnabled(True)
        self._update_try_it(card)
        self._update_counts()
        self._wake_timer.stop()
        if r.isVisible():
            r.card.setFocus()
        self.card_shown.emit(key)

    def _label_grade_buttons(self, key: str) -> None:
        assert self.session is not None
        now = self.clock()
        c = style.colours()
        for rating, b in self.review.grade_buttons.items():
            colour = getattr(c, RATING_ROLES[rating])
            b.setStyleSheet(f"QPushButton {{ color: {colour}; font-weight: bold; }}")
        if self.session.cram:
            for rating, b in self.review.grade_buttons.items():
                b.setText(f"{RATING_NAMES[rating]}\n"
                          + ("again soon" if rating == AGAIN else "done") + f"  ({rating})")
            return
        preview = self.session.preview(key)
        for rating, b in self.review.grade_buttons.items():
            due = preview[rating].due or now
            b.setText(f"{RATING_NAMES[rating]}\n{format_interval(due - now)}  ({rating})")

    def _show_done(self) -> None:
        assert self.session is not None
        r = self.review
        r.card.active = False
        r.card.answer_shown = False
        r.section_label.setText("")
        s = self.session
        lines = ["<h2>Nothing more to review now</h2>"]
        next_due = s.next_due_ms()
        now = self.clock()
        if s.cram:
            lines = ["<h2>You went through every card of this filter</h2>",
                     "<p>Untick <b>Study all</b> to return to the schedule.</p>"]
        elif next_due is not None:
            lines.append(f"<p>A learning card comes back in "
                         f"<b>{format_interval(max(0, next_due - now))}</b>.</p>")
            self._wake_timer.start(int(min(max(1000, next_due - now + 500), 3_600_000)))
        else:
            limit = s.new_per_day
            lines.append(f"<p>Today's reviews are done (new cards per day: {limit}). Come back "
                         "tomorrow; a new day starts at 4 AM.</p>")
            self._wake_timer.start(15 * 60_000)
        if not s.cram:
            lines.append("<p>To go through cards anyway, use <b>Study all</b>: it does not "
                         "change their schedule.</p>")
        r.card.setHtml(f"<html><head><style>{card_css(style.colours().card())}</style></head><body>"
                       + "".join(lines) + "</body></html>")
        r.buttons.setCurrentIndex(2)
        _show_if(r.legend, False)
        _show_if(r.cram_button, not s.cram)
        r.bury_button.setEnabled(False)
        r.suspend_button.setEnabled(False)
        self._update_try_it(None)
        self._update_counts()
        self.card_shown.emit("")

    def _wake(self) -> None:
        if self.session is not None and not self._closed and not self.review.card.active:
            self.show_next()

    def _update_counts(self) -> None:
        if self.session is None:
            return
        c = self.session.counts()
        k = style.colours()
        new_c, learn_c = k.count_new, k.count_learning
        review_c, cram_c = k.count_review, k.count_cram
        if self.session.cram:
            text = (f"<span style='color:{cram_c}'><b>Study all</b> (schedule untouched): "
                    f"{c.cram} left</span>")
        else:
            text = (f"<span style='color:{new_c}'>New <b>{c.new}</b></span> &nbsp; "
                    f"<span style='color:{learn_c}'>Learning <b>{c.learning}</b></span> &nbsp; "
                    f"<span style='color:{review_c}'>Review <b>{c.review}</b></span>")
        self.review.counts_label.setText(text)
        self.review.undo_button.setEnabled(self.session.can_undo())
        self.review.undo_button.setToolTip(
            f"Undo the last {self.session.undo_label()} (Ctrl+Z)" if self.session.can_undo()
            else "Nothing to undo")

    def reveal(self) -> None:
        if self.session is None or self.session.current is None:
            return
        if self.review.card.answer_shown:
            return
        self._show(self.session.current, True)

    def grade(self, rating: int) -> None:
        s = self.session
        if s is None or s.current is None or not self.review.card.answer_shown:
            return
        key = s.current
        duration = int((time.monotonic() - self._shown_at) * 1000)
        try:
            s.grade(rating, duration)
        except (sqlite3.Error, StoreError) as exc:
            self._say(f"The grade could not be saved ({html.escape(str(exc))}). Nothing was "
                      "changed; try again.", error=True)
            return
        self._after_change()
        self.graded.emit(key, rating)
        self.show_next()

    def undo(self) -> None:
        s = self.session
        if s is None or not s.can_undo():
            return
        try:
            key = s.undo()
        except (sqlite3.Error, StoreError) as exc:
            self._say(f"Undo failed ({html.escape(str(exc))}).", error=True)
            return
        self._after_change()
        if key is not None:
            self._show(key, False)

    def bury(self) -> None:
        self._set_flag("bury")

    def suspend(self) -> None:
        self._set_flag("suspend")

    def _set_flag(self, what: str) -> None:
        s = self.session
        if s is None or s.current is None or not self.review.card.active:
            return
        try:
            s.bury() if what == "bury" else s.suspend()
        except (sqlite3.Error, StoreError) as exc:
            self._say(f"Could not {what} the card ({html.escape(str(exc))}).", error=True)
            return
        self._after_change()
        self.show_next()

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
        self._show(key, False)
        self.review.card.setFocus()

    def _toggle_suspend(self, key: str) -> None:
        s = self.session
        if s is None or key not in s.states:
            return
        try:
            if s.states[key].suspended:
                s.unsuspend(key)
            else:
                s.suspend(key)
        except (sqlite3.Error, StoreError, KeyError) as exc:
            self._say(f"Could not change the card ({html.escape(str(exc))}).", error=True)
            return
        self._after_change()
        if not self.review.card.active or s.current is None:
            self.show_next()
        else:
            self._update_counts()

    # ================================================================ filter, cram, options
    def _filter_changed(self) -> None:
        if self.session is None:
            return
        data = self.filter_box.currentData()
        if data == "__keys__" and self._key_filter is not None:
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

    # ================================================================ Try it
    def set_try_it(self, provider: TryItProvider | None) -> None:
        """Plug in what "Try it" does for a card (see the module docstring)."""
        self._try_provider = provider
        card = None
        if self.session is not None and self.session.current is not None \
                and self.review.card.active:
            card = self.session.cards.get(self.session.current)
        self._update_try_it(card)

    def _install_default_try_it(self) -> None:
        try:
            from studyapp.links import bundled_links
            links = bundled_links()
        except Exception:  # no link map shipped: the slot stays empty
            return
        navigator = getattr(self.ctx, "navigator", None)
        if navigator is None:
            return

        def provider(card: Card):
            link = links.link_for(card.question, card.answer)
            if link is None:
                return None
            try:
                title = area_by_key(link.area).title
            except KeyError:
                title = link.area
            return (link.label or f"Open the {title} lab",
                    lambda: navigator.open(link.area, dict(link.state)),
                    f"opens the {title} lab with this card's example")
        self._try_provider = provider

    def _update_try_it(self, card: Card | None) -> None:
        r = self.review
        result = None
        if card is not None and self._try_provider is not None:
            try:
                result = self._try_provider(card)
            except Exception as exc:  # a broken provider must not break the review
                result = None
                r.try_hint.setText(f"(the lab link failed: {exc})")
        if result is None:
            self._try_callback = None
            _show_if(r.try_button, False)
            if card is None:
                r.try_hint.setText("A lab to try this card's idea appears here.")
            elif self._try_provider is None:
                r.try_hint.setText("Labs linked to cards will appear here.")
            else:
                r.try_hint.setText("No lab is linked to this card.")
            return
        label, callback, *hint = result
        self._try_callback = callback
        r.try_button.setText(label)
        _show_if(r.try_button, True)
        r.try_hint.setText(hint[0] if hint else "opens the lab with this card's example")

    def _try_it(self) -> None:
        if self._try_callback is not None:
            self._try_callback()

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
        s = self.session
        now = self.clock()
        today = day_index(now)
        stored = {c.key: c for c in self.store.cards(self.deck.deck_id, hidden_only=True)}
        rows = []
        for key in s.order:
            card = s.cards[key]
            rows.append(self._browse_row(key, card.question, card.section, card.answer,
                                         card.open_question, True, s.states[key], now, today,
                                         card.ord))
        for key, sc in stored.items():
            if key not in s.cards:
                rows.append(self._browse_row(key, sc.question, sc.section, "", sc.open_question,
                                             False, sc.state, now, today, sc.ord))
        self.browse.set_rows(rows)

    @staticmethod
    def _browse_row(key, question, section, answer, open_q, present, cs, now, today,
                    ord_) -> BrowseRow:
        state = STATE_NAMES[cs.state]
        if cs.state == NEW:
            due_text, due_sort, due_today = f"new #{ord_ + 1}", 1e15 + ord_, False
        else:
            due = cs.due or now
            due_day = day_index(due)
            if cs.state in (LEARNING, RELEARNING):
                due_today = due_day <= today
                due_text = ("now" if due <= now else f"in {format_interval(due - now)}")
            else:
                due_today = due_day <= today
                delta = due_day - today
                due_text = ("today" if delta == 0 else "tomorrow" if delta == 1 else
                            f"{-delta} days overdue" if delta < 0 else f"in {delta} days")
            due_sort = float(due)
        interval = cs.interval_days
        return BrowseRow(
            key=key, question=question, section=section, state=state, due_text=due_text,
            due_sort=due_sort,
            interval_text="" if cs.state == NEW else format_interval(interval * DAY_MS),
            interval_days=interval, reps=cs.reps, lapses=cs.lapses, suspended=cs.suspended,
            buried=cs.buried_until > today, due_today=due_today and not cs.suspended,
            open_question=open_q, present=present,
            search_text=f"{question}\n{answer}".casefold())

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

    # ================================================================ export
    def choose_export(self) -> None:
        if self.deck is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export to Anki", str(Path.home() / f"{self.deck.path.stem}.apkg"),
            "Anki package (*.apkg)")
        if path:
            self.export_to(path)

    def export_to(self, path) -> bool:
        from studyapp.review.export import export_apkg

        assert self.deck is not None
        try:
            info = export_apkg(self.deck.parse.cards, path, self.deck.path.stem,
                               base_dir=self.deck.path.resolve().parent)
        except OSError as exc:
            self._say(f"Export failed: {html.escape(str(exc))}", error=True)
            return False
        self._say(f"Exported {info['notes']} cards in {info['decks']} subdecks to "
                  f"{html.escape(str(path))}.")
        return True

    # ================================================================ navigation
    TABS = ("review", "browse", "stats")
    VIEW_KEYS = ("section", "study_all")

    def save_state(self) -> dict:
        """What the learner chose to study (not the card shown): the payload `apply_state`
        takes back at the next start."""
        section = self.filter_box.currentData()
        return {"tab": self.TABS[max(0, self.tabs.currentIndex())],
                # a "review these cards" filter comes from a lab; it is not kept
                "section": section if isinstance(section, str) and section != "__keys__"
                else None,
                "study_all": self.cram_check.isChecked(),
                "shuffle": self.shuffle_check.isChecked()}

    def _apply_view(self, payload: dict) -> None:
        if "section" in payload:
            section = payload["section"]
            index = 0 if section is None else (
                self.filter_box.findData(section) if isinstance(section, str) else -1)
            if index >= 0:  # a section no longer in the notes is ignored
                self.filter_box.setCurrentIndex(index)
        if isinstance(payload.get("study_all"), bool):
            self.cram_check.setChecked(payload["study_all"])

    def apply_state(self, payload: dict) -> None:
        """{"tab": "review"|"browse"|"stats"}, {"section": name or None (all)}, {"study_all":
        bool}, {"shuffle": bool} (what `save_state` gives); {"card_key": key} shows a card;
        {"review_keys": [...], "label": s} reviews just those cards. Unknown values are
        ignored."""
        if not isinstance(payload, dict):
            return
        if isinstance(payload.get("shuffle"), bool):
            self.shuffle_check.setChecked(payload["shuffle"])
        view = {k: payload[k] for k in self.VIEW_KEYS if k in payload}
        if view:
            if self.session is None:  # a big notes file is still being read
                self._pending_view = view
            else:
                self._apply_view(view)
        if "tab" in payload:
            self.tabs.setCurrentIndex(self.TABS.index(payload["tab"])
                                      if payload["tab"] in self.TABS else 0)
        if payload.get("review_keys") is not None and self.session is not None:
            keys = {k for k in payload["review_keys"] if k in self.session.cards}
            label = payload.get("label") or "Selected cards"
            self._key_filter = (label, keys)
            self._fill_filter()
            self.filter_box.setCurrentIndex(self.filter_box.findData("__keys__"))
            if self.session.counts().total == 0 and keys:
                self.cram_check.setChecked(True)
                self._say(f"None of the {label.lower()} is due: studying them without "
                          "changing their schedule (Study all). Untick it to go back.")
            self.tabs.setCurrentWidget(self.review)
        if payload.get("card_key"):
            self.show_card(payload["card_key"])

    # ================================================================ Qt events
    def showEvent(self, event):
        super().showEvent(event)
        if self.tabs.currentWidget() is self.review:
            QTimer.singleShot(0, self._focus_card)
        if self.session is not None and self.session.today() != day_index(self.clock()):
            self.session.refresh()

    def _focus_card(self) -> None:
        if self.isVisible() and self.tabs.currentWidget() is self.review:
            self.review.card.setFocus(Qt.FocusReason.OtherFocusReason)

    def prepare_screenshot(self) -> None:
        self.tabs.setCurrentWidget(self.review)
        self._focus_card()

    def legend_html(self) -> str:
        """The notes' emoji legend as shown in the UI (tooltip of the deck label)."""
        legend = self.deck.parse.legend if self.deck else ()
        return "<br>".join(f"{html.escape(m)} {html.escape(t)}" for m, t in legend)


def create_area(ctx) -> AreaWidget:
    return FlashcardsArea(ctx)

