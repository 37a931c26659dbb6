"""Flashcards > Review: the card on screen, grading, undo, bury and suspend, the counts, and the
"Try it" slot (Qt).

`ReviewFlow` drives the `ReviewPanel` from the `ReviewSession` the area hands it (a new one
with each deck): it shows the next card, reveals and grades it (the buttons say the next
interval), and wakes up when a learning card comes due or a new day starts. What it changed is
said through signals; the area refreshes Browse and Statistics from them. When the disk fills
up under a grade, `recover_store` (the area's) moves the session to a temporary copy of the
database and the grade is made there.
"""

from __future__ import annotations

import html
import sqlite3
import time
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut

from studyapp.shell import style
from studyapp.areas import area_by_key
from studyapp.areas.flashcards.review import ReviewPanel
from studyapp.notes.checks import open_note
from studyapp.notes.parser import Card
from studyapp.notes.render import Renderer, card_css, legend_html
from studyapp.review.queue import ReviewSession
from studyapp.review.scheduler import AGAIN, EASY, GOOD, HARD, RATING_NAMES, format_interval
from studyapp.review.store import StoreError

TryIt = tuple[str, Callable[[], None]] | tuple[str, Callable[[], None], str]
TryItProvider = Callable[[Card], "TryIt | None"]

RATING_ROLES = {AGAIN: "rating_again", HARD: "rating_hard", GOOD: "rating_good",
                EASY: "rating_easy"}  # colour roles of studyapp.shell.style


def show_if(widget, visible: bool) -> None:
    # setVisible re-lays out the panel even when nothing changes; it showed in grade timings.
    if widget.isHidden() == visible:
        widget.setVisible(visible)


def links_try_it(navigator) -> TryItProvider | None:
    """The default "Try it": the card-to-lab map of `studyapp.links`, opening the lab through
    the shell's navigator (None when either is missing: the slot stays empty)."""
    if navigator is None:
        return None
    try:
        from studyapp.links import bundled_links
        links = bundled_links()
    except Exception:  # no link map shipped: the slot stays empty
        return None

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
    return provider


class ReviewFlow(QObject):
    """The review of one session on one panel."""

    card_shown = Signal(str)  # card key ("" when nothing is due)
    graded = Signal(str, int)  # card key, rating
    changed = Signal()  # a grade, undo, bury or suspend changed the schedule
    problem = Signal(str)  # what could not be saved (HTML for the banner)
    edit_requested = Signal(str)  # card key: open it in the learner's editor

    def __init__(self, panel: ReviewPanel, clock: Callable[[], int], parent=None):
        super().__init__(parent)
        self.review = panel
        self.clock = clock
        self.session: ReviewSession | None = None
        self.renderer = Renderer(None)
        self.legend: tuple | None = None  # the notes' emoji legend, shown with the answer
        self.try_provider: TryItProvider | None = None
        # Called with a StoreError of kind "full": True once the session writes elsewhere.
        self.recover_store: Callable[[StoreError], bool] | None = None
        self.can_edit = False  # the deck is the learner's own file (not the bundled one)
        self._try_callback: Callable[[], None] | None = None
        self._shown_at = 0.0
        self._closed = False
        self._wake_timer = QTimer(self)  # a learning card becomes due, or a new day starts
        self._wake_timer.setSingleShot(True)
        self._wake_timer.timeout.connect(self._wake)
        r = panel
        r.card.reveal_requested.connect(self.reveal)
        r.card.grade_requested.connect(self.grade)
        r.card.command_requested.connect(
            lambda what: {"undo": self.undo, "bury": self.bury, "suspend": self.suspend,
                          "edit": self.edit}[what]())
        r.card.width_changed.connect(self._rerender)
        r.edit_button.clicked.connect(self.edit)
        r.show_button.clicked.connect(self.reveal)
        for rating, b in r.grade_buttons.items():
            b.clicked.connect(lambda _=False, rt=rating: self.grade(rt))
        r.undo_button.clicked.connect(self.undo)
        r.bury_button.clicked.connect(self.bury)
        r.suspend_button.clicked.connect(self.suspend)
        r.try_button.clicked.connect(self._try_it)
        for keys, slot in (("-", self.bury), ("@", self.suspend), ("E", self.edit)):
            sc = QShortcut(QKeySequence(keys), panel)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)

    def shutdown(self) -> None:
        self._closed = True
        self._wake_timer.stop()

    def card_html(self, card: Card, answer: bool, width: int | None = None) -> str:
        """The card as HTML; images wider than `width` (default: the review card's) shrink
        to it, since the text view does not scale them itself."""
        css = card_css(style.colours().card())
        self.renderer.max_image_width = width or self.review.card.image_width()
        q = self.renderer.render_inline(card.question)
        parts = [f"<html><head><style>{css}</style></head><body>",
                 f"<p style='font-size:20px; font-weight:bold; margin-top:8px;'>{q}</p>"]
        note = open_note(card)
        if note and (card.open_question or answer):
            parts.append(f"<p class='open-question'>{html.escape(note)}</p>")
        if answer:
            parts.append("<hr/>")
            parts.append(self.renderer.render(card.answer))
        parts.append("</body></html>")
        return "".join(parts)

    def _rerender(self) -> None:
        """The card got wider or narrower: draw its images to the new width."""
        s, card_view = self.session, self.review.card
        if s is None or s.current is None or not card_view.active \
                or "<img" not in card_view.toHtml():
            return
        bar = card_view.verticalScrollBar()
        where = bar.value()
        card_view.setHtml(self.card_html(s.cards[s.current], card_view.answer_shown))
        bar.setValue(where)

    def browse_card_html(self, key: str, rows, width: int | None = None) -> str:
        """A card for Browse's preview: its section and line, question and answer."""
        if self.session is None or key not in self.session.cards:
            row = next((r for r in rows if r.key == key), None)
            q = html.escape(row.question) if row else ""
            return f"<p><b>{q}</b></p><p><i>This question is no longer in the notes file; " \
                   "its history is kept and returns if the question does.</i></p>"
        card = self.session.cards[key]
        return (f"<p class='section'>{html.escape(card.section)} · line {card.line}</p>"
                + self.card_html(card, True, width))

    def show_next(self) -> None:
        if self.session is None:
            return
        key = self.session.next_card()
        if key is None:
            self._show_done()
        else:
            self.show(key, False)

    def restyle(self) -> None:
        """Redraw what carries colours of its own (the card, the grade buttons, the counts)
        in the appearance now in use; the time taken to answer is the learner's, not ours."""
        s = self.session
        if s is None:
            return
        if self.review.card.active and s.current is not None:
            shown_at = self._shown_at
            self.show(s.current, self.review.card.answer_shown)
            self._shown_at = shown_at
        elif self.review.buttons.currentIndex() == 2:
            self._show_done()

    def show(self, key: str, answer: bool) -> None:
        assert self.session is not None
        card = self.session.cards[key]
        r = self.review
        r.card.setHtml(self.card_html(card, answer))
        r.card.answer_shown = answer
        r.card.active = True
        r.section_label.setText(f"<span style='color:{style.colours().muted}'>Section</span> "
                                f"<b>{html.escape(card.section)}</b>")
        r.buttons.setCurrentIndex(1 if answer else 0)
        r.legend.setText(legend_html(style.colours().card(), self.legend)
                         if answer else "")
        show_if(r.legend, answer)
        if answer:
            self._label_grade_buttons(key)
        else:
            self._shown_at = time.monotonic()
        r.bury_button.setEnabled(True)
        r.suspend_button.setEnabled(True)
        r.edit_button.setEnabled(self.can_edit)
        self.update_try_it(card)
        self.update_counts()
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
        show_if(r.legend, False)
        show_if(r.cram_button, not s.cram)
        r.bury_button.setEnabled(False)
        r.suspend_button.setEnabled(False)
        r.edit_button.setEnabled(False)
        self.update_try_it(None)
        self.update_counts()
        self.card_shown.emit("")

    def _wake(self) -> None:
        if self.session is not None and not self._closed and not self.review.card.active:
            self.show_next()

    def update_counts(self) -> None:
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
        self.show(self.session.current, True)

    def grade(self, rating: int) -> None:
        s = self.session
        if s is None or s.current is None or not self.review.card.answer_shown:
            return
        key = s.current
        duration = int((time.monotonic() - self._shown_at) * 1000)
        try:
            self._store_call(lambda: s.grade(rating, duration))
        except (sqlite3.Error, StoreError) as exc:
            self.problem.emit(f"The grade could not be saved ({html.escape(str(exc))}). "
                              "Nothing was changed; try again.")
            return
        self.changed.emit()
        self.graded.emit(key, rating)
        self.show_next()

    def undo(self) -> None:
        s = self.session
        if s is None or not s.can_undo():
            return
        try:
            key = self._store_call(s.undo)
        except (sqlite3.Error, StoreError) as exc:
            self.problem.emit(f"Undo failed ({html.escape(str(exc))}).")
            return
        self.changed.emit()
        if key is not None:
            self.show(key, False)

    def _store_call(self, action):
        """`action()`, a write to the store; when the disk turns out to be full, made again on
        the temporary database the area switches to (the session's state was not touched)."""
        try:
            return action()
        except StoreError as exc:
            if exc.kind != "full" or self.recover_store is None or not self.recover_store(exc):
                raise
        return action()

    def edit(self) -> None:
        s = self.session
        if s is not None and s.current is not None and self.review.card.active \
                and self.can_edit:
            self.edit_requested.emit(s.current)

    def bury(self) -> None:
        self._set_flag("bury")

    def suspend(self) -> None:
        self._set_flag("suspend")

    def _set_flag(self, what: str) -> None:
        s = self.session
        if s is None or s.current is None or not self.review.card.active:
            return
        try:
            self._store_call(s.bury if what == "bury" else s.suspend)
        except (sqlite3.Error, StoreError) as exc:
            self.problem.emit(f"Could not {what} the card ({html.escape(str(exc))}).")
            return
        self.changed.emit()
        self.show_next()


    def toggle_suspend(self, key: str) -> None:
        """Suspend or unsuspend any card (from Browse), the one on screen included."""
        s = self.session
        if s is None or key not in s.states:
            return
        try:
            self._store_call(lambda: s.unsuspend(key) if s.states[key].suspended
                             else s.suspend(key))
        except (sqlite3.Error, StoreError, KeyError) as exc:
            self.problem.emit(f"Could not change the card ({html.escape(str(exc))}).")
            return
        self.changed.emit()
        if not self.review.card.active or s.current is None:
            self.show_next()
        else:
            self.update_counts()

    # -- Try it ------------------------------------------------------------------------------
    def set_try_it(self, provider: TryItProvider | None) -> None:
        """What "Try it" does for a card (see the area's docstring); refreshes the slot."""
        self.try_provider = provider
        card = None
        if self.session is not None and self.session.current is not None \
                and self.review.card.active:
            card = self.session.cards.get(self.session.current)
        self.update_try_it(card)

    def update_try_it(self, card: Card | None) -> None:
        r = self.review
        result = None
        if card is not None and self.try_provider is not None:
            try:
                result = self.try_provider(card)
            except Exception as exc:  # a broken provider must not break the review
                result = None
                r.try_hint.setText(f"(the lab link failed: {exc})")
        if result is None:
            self._try_callback = None
            show_if(r.try_button, False)
            if card is None:
                r.try_hint.setText("A lab to try this card's idea appears here.")
            elif self.try_provider is None:
                r.try_hint.setText("Labs linked to cards will appear here.")
            else:
                r.try_hint.setText("No lab is linked to this card.")
            return
        label, callback, *hint = result
        self._try_callback = callback
        r.try_button.setText(label)
        show_if(r.try_button, True)
        r.try_hint.setText(hint[0] if hint else "opens the lab with this card's example")

    def _try_it(self) -> None:
        if self._try_callback is not None:
            self._try_callback()
