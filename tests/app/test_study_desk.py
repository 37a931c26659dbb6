"""The study desk: every control explains itself, the labs' inputs survive a restart,
and each linked card's "Try it" opens its lab in the linked state."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox,
                               QLineEdit, QPlainTextEdit, QScrollBar, QTabBar, QTextEdit,
                               QWidget)

from studyapp.areas import area_by_key

# Areas whose every control must have a tooltip: adding a key here is all another area needs.
TOOLTIP_AREAS = ["flashcards", "tokenizer", "embeddings", "generate", "attention", "training",
                 "classify", "instruct"]

# What the learner clicks, types into or drags.
CONTROL_TYPES = (QAbstractButton, QAbstractSpinBox, QAbstractSlider, QComboBox, QLineEdit,
                 QTextEdit, QPlainTextEdit)
# Qt builds these out of smaller controls (a spin box's line edit, a line edit's clear button,
# a tab bar's scroll arrows): the whole carries the tooltip, the parts are Qt's.
COMPOSITE_TYPES = (QAbstractSpinBox, QComboBox, QLineEdit, QTabBar)


def _is_qt_internal(widget: QWidget, root: QWidget) -> bool:
    if isinstance(widget, QScrollBar) or widget.metaObject().className() == "QTableCornerButton":
        return True
    # qt_spinbox_lineedit and the like; a QTabWidget's own bar (qt_tabwidget_tabbar) has tabs
    if widget.objectName().startswith("qt_") and not isinstance(widget, QTabBar):
        return True
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        if isinstance(parent, COMPOSITE_TYPES):
            return True
        parent = parent.parentWidget()
    return False


def _where(widget: QWidget) -> str:
    owner = widget.parentWidget()  # the nearest of the app's own classes says where it is
    while owner is not None and not type(owner).__module__.startswith("studyapp"):
        owner = owner.parentWidget()
    return f" in {type(owner).__name__}" if owner is not None else ""


def _describe(widget: QWidget) -> str:
    text = ""
    for name in ("text", "placeholderText", "currentText"):
        getter = getattr(widget, name, None)
        value = getter() if callable(getter) else None
        if isinstance(value, str) and value.strip():
            text = value.strip()
            break
    return f"{type(widget).__name__} {text[:40]!r}{_where(widget)}"


def controls_without_tooltip(widget: QWidget) -> list[str]:
    """Descriptions of the interactive controls under `widget` (itself included) that have no
    tooltip, and of the tabs without one (QTabWidget.setTabToolTip).

    Controls: buttons (push, tool, check, radio), spin boxes, sliders, combo boxes, line edits,
    and text edits the learner types into (a read-only text view shows results; it is not an
    input). Hidden and disabled controls count: they are shown or enabled later. Qt's own
    inner parts (scroll bars, a spin box's line edit, a table's corner button, a tab bar's
    scroll arrows) do not.
    """
    missing = []
    for child in [widget, *widget.findChildren(QWidget)]:
        if _is_qt_internal(child, widget):
            continue
        if isinstance(child, QTabBar):
            missing += [f"tab {child.tabText(i)!r}{_where(child)}"
                        for i in range(child.count()) if not child.tabToolTip(i).strip()]
            continue
        if not isinstance(child, CONTROL_TYPES):
            continue
        if isinstance(child, (QTextEdit, QPlainTextEdit)) and child.isReadOnly():
            continue
        if not child.toolTip().strip():
            missing.append(_describe(child))
    return missing


@pytest.fixture
def window(qtbot, ctx):
    from studyapp.shell.main_window import MainWindow

    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


# -- (a) tooltips ---------------------------------------------------------------------------

def test_the_helper_finds_controls_without_tooltips(qtbot):
    from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSpinBox, QTabWidget

    root = QWidget()
    qtbot.addWidget(root)
    tabs = QTabWidget()
    page = QWidget()
    tabs.addTab(page, "Page")
    spin, push, readonly = QSpinBox(), QPushButton("Go"), QPlainTextEdit()
    readonly.setReadOnly(True)  # a view of results, not an input
    layout = QHBoxLayout(page)
    for child in (spin, push, readonly):
        layout.addWidget(child)
    QHBoxLayout(root).addWidget(tabs)
    missing = controls_without_tooltip(root)
    assert sorted(m.split()[0] for m in missing) == ["QPushButton", "QSpinBox", "tab"]
    assert "QPushButton 'Go'" in missing and "tab 'Page'" in missing
    spin.setToolTip("a spin box")
    push.setToolTip("a button")
    tabs.setTabToolTip(0, "a page")
    assert controls_without_tooltip(root) == []


@pytest.mark.parametrize("key", TOOLTIP_AREAS)
def test_every_control_of_the_area_has_a_tooltip(window, key):
    window.open_area(key, {})  # shown: areas that build their pages on first show do so
    page = window.stack.currentWidget()  # the lab with its header ("Related cards")
    assert page.isAncestorOf(window.areas[key])
    missing = controls_without_tooltip(page)
    assert not missing, f"{key}: {len(missing)} control(s) without a tooltip:\n" + "\n".join(
        missing)


def test_flashcards_dialogs_have_tooltips(window, qtbot):
    from studyapp.areas.flashcards.review import WarningsDialog

    area = window.areas["flashcards"]
    area.show_options()
    try:
        assert controls_without_tooltip(area.options_dialog) == []
    finally:
        area.options_dialog.reject()
    dialog = WarningsDialog()
    qtbot.addWidget(dialog)
    assert controls_without_tooltip(dialog) == []


# -- (b) lab inputs restored -----------------------------------------------------------------

def _set_inputs(window, qtbot):
    """Change every input of the four areas the way a learner would leave them."""
    window.open_area("tokenizer", {})
    tok = window.areas["tokenizer"]
    with qtbot.waitSignal(tok.rendered, timeout=5000):
        tok.editor.setPlainText("Akwirw ier is not a word")
    tok.show_ids_button.click()
    tok.corpus_box.setCurrentIndex(1)
    tok.window_source.setCurrentIndex(1)
    tok.max_length.setValue(6)
    tok.stride.setValue(2)
    tok.batch_size.setValue(3)
    tok.decode_input.setText("40, 1107, 588")
    tok.bpe_word.setText("terraces")
    tok.tabs.setCurrentIndex(2)

    window.open_area("embeddings", {})
    emb = window.areas["embeddings"]
    emb.editor.setPlainText("Every effort moves you")
    emb.demo_radio.setChecked(True)
    emb.demo_vocab.setValue(9)
    emb.demo_dim.setValue(5)
    emb.demo_context.setValue(6)
    emb.demo_ids.setText("1, 2, 8")
    emb.tabs.setCurrentIndex(1)
    emb.cosine_of.setCurrentIndex(1)
    emb.add_frequent.setChecked(True)
    emb.refresh(force=True)
    qtbot.waitUntil(lambda: not emb.is_busy(), timeout=5000)  # computed on the lab's job
    emb.nn_token.setCurrentIndex(2)

    window.open_area("generate", {})
    gen = window.areas["generate"]
    gen.generate.prompt.setPlainText("I really like")
    gen.generate.controls.set_values(greedy=False, temperature=0.7, top_k=5, top_p=0.9,
                                     max_new_tokens=12, seed=7, kv_cache=False)
    gen.loss.prompt.setText("I really")
    gen.loss.target.setText(" like chocolate")
    gen.compare.prompt.setPlainText("Hello, I am")
    gen.compare.controls.set_values(greedy=True, temperature=1.5, max_new_tokens=5, seed=3)
    gen.demos.custom_t.setValue(1.5)
    gen.demos.k.setValue(4)
    gen.models.preset.setCurrentIndex(gen.models.preset.findData("tiny"))
    gen.models.seed.setValue(9)
    gen.models.heads.setValue(4)
    gen.show_tab("loss")

    window.open_area("flashcards", {})
    cards = window.areas["flashcards"]
    section = next(cards.filter_box.itemData(i) for i in range(cards.filter_box.count())
                   if str(cards.filter_box.itemData(i)).startswith("Chapter 3"))
    cards.filter_box.setCurrentIndex(cards.filter_box.findData(section))
    cards.cram_check.setChecked(True)
    cards.shuffle_check.setChecked(True)
    cards.tabs.setCurrentWidget(cards.browse)
    return section


def test_lab_inputs_come_back_after_a_restart(qtbot, ctx):
    from studyapp.shell.main_window import MainWindow

    first = MainWindow(ctx)
    qtbot.addWidget(first)
    first.show()
    section = _set_inputs(first, qtbot)
    first.open_area("embeddings", {})
    keys = ("flashcards", "tokenizer", "embeddings", "generate")
    saved = {key: first.areas[key].save_state() for key in keys}
    first.close()  # what quitting does: save_settings(), then every area's shutdown()
    for key in keys:
        assert json.loads(ctx.settings.get(f"areas/{key}/state", "")) == saved[key]

    second = MainWindow(ctx)
    qtbot.addWidget(second)
    second.show()
    assert second.current_area_key() == "embeddings"

    emb = second.areas["embeddings"]
    qtbot.waitUntil(lambda: emb.embeddings is not None, timeout=5000)
    assert emb.editor.toPlainText() == "Every effort moves you"
    assert emb.demo_radio.isChecked() and emb.demo_box.isVisible()
    assert (emb.demo_vocab.value(), emb.demo_dim.value(), emb.demo_context.value()) == (9, 5, 6)
    assert emb.demo_ids.text() == "1, 2, 8" and emb.embeddings.ids == [1, 2, 8]
    assert emb.tabs.currentIndex() == 1 and emb.cosine_of.currentIndex() == 1
    assert emb.add_frequent.isChecked() and emb.nn_token.currentIndex() == 2

    second.open_area("tokenizer", {})
    tok = second.areas["tokenizer"]
    qtbot.waitUntil(lambda: tok.result is not None
                    and tok.result.text == "Akwirw ier is not a word", timeout=5000)
    assert tok.show_ids_button.isChecked() and tok.tabs.currentIndex() == 2
    assert tok.corpus_box.currentIndex() == 1 and tok.window_source.currentIndex() == 1
    assert (tok.max_length.value(), tok.stride.value(), tok.batch_size.value()) == (6, 2, 3)
    assert tok.decode_input.text() == "40, 1107, 588" and tok.bpe_word.text() == "terraces"
    assert "The Verdict" in tok.window_summary  # the restored tab was drawn on show

    second.open_area("generate", {})
    gen = second.areas["generate"]
    assert gen.current_panel() is gen.loss
    assert gen.generate.prompt.toPlainText() == "I really like"
    assert gen.generate.controls.state() == dict(
        greedy=False, temperature=0.7, top_k=5, top_p=0.9, max_new_tokens=12, seed=7,
        kv_cache=False)
    assert (gen.loss.prompt.text(), gen.loss.target.text()) == ("I really", " like chocolate")
    assert gen.compare.prompt.toPlainText() == "Hello, I am"
    compare = gen.compare.controls.state()
    assert compare["greedy"] and compare["temperature"] == 1.5
    assert (compare["max_new_tokens"], compare["seed"]) == (5, 3)
    assert gen.demos.custom_t.value() == 1.5 and gen.demos.k.value() == 4
    assert gen.models.inputs() == {"preset": "tiny", "seed": 9, "heads": 4}

    second.open_area("flashcards", {})
    cards = second.areas["flashcards"]
    assert cards.filter_box.currentData() == section
    assert cards.session.cards[cards.session.current].section == section
    assert cards.cram_check.isChecked() and cards.session.cram
    assert cards.shuffle_check.isChecked()
    assert cards.tabs.currentWidget() is cards.browse

    # Everything came back: saving again gives what was saved.
    assert {key: second.areas[key].save_state() for key in keys} == saved


def test_saved_texts_stay_small_and_a_broken_state_is_ignored(qtbot, ctx):
    from studyapp.shell.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    long_text = "word " * 10_000  # 50,000 characters
    window.areas["tokenizer"].editor.setPlainText(long_text)
    window.areas["embeddings"].editor.setPlainText(long_text)
    window.areas["generate"].loss.target.setText(long_text)
    window.save_settings()
    for key in ("flashcards", "tokenizer", "embeddings", "generate"):
        assert len(ctx.settings.get(f"areas/{key}/state", "")) < 45_000
    assert len(window.areas["tokenizer"].save_state()["text"]) == 20_000

    # Wrong types and unknown names from an older version are ignored, not raised.
    window.areas["flashcards"].apply_state({"section": "No such section", "study_all": "yes",
                                            "tab": "nowhere", "shuffle": 3})
    window.areas["tokenizer"].apply_state({"tab": "nowhere", "corpus": None})
    window.areas["embeddings"].apply_state({"view": 7, "cosine_of": "x", "frequent": 1,
                                            "token_index": "a"})
    window.areas["generate"].apply_state({"compare": 5, "models": {"preset": 3, "seed": "x"},
                                          "k": "four"})


def test_a_hidden_lab_restores_its_inputs_without_computing(qtbot, ctx):
    # At start the saved inputs are applied before the window is shown: nothing is computed
    # (no tokenizer, no torch) until the learner opens the lab.
    from studyapp.areas.embeddings.area import EmbeddingsLab
    from studyapp.areas.tokenizer.area import TokenizerLab

    tok = TokenizerLab(ctx)
    qtbot.addWidget(tok)
    tok.apply_state({"text": "Hello there", "select_word": "there", "tab": "decode",
                     "decode": "15496"})
    assert tok.result is None and tok.decode_output.toPlainText() == ""
    with qtbot.waitSignal(tok.rendered, timeout=5000):
        tok.show()
    assert tok.result.text == "Hello there" and tok.bpe_word.text() == "there"
    assert tok.tabs.currentIndex() == 3 and tok.decode_output.toPlainText() == "Hello"
    tok.hide()

    emb = EmbeddingsLab(ctx)
    qtbot.addWidget(emb)
    emb.apply_state({"text": "Every effort", "view": "positional", "token_index": 1})
    assert not emb._built and emb.embeddings is None
    assert emb.save_state()["view"] == "positional"  # kept as it came until shown
    with qtbot.waitSignal(emb.rendered, timeout=5000):
        emb.show()
    assert emb.tabs.currentIndex() == 4 and emb.nn_token.currentIndex() == 1
    emb.hide()


# -- (c) cards open the labs -------------------------------------------------------------------

def _check_tokenizer(qtbot, lab, state):
    qtbot.waitUntil(lambda: not lab.is_busy(), timeout=5000)  # the text is tokenized on a job
    if "text" in state:
        assert lab.editor.toPlainText() == state["text"]
        assert lab.result is not None and lab.result.text == state["text"]
    if "select_word" in state:
        assert lab.tabs.currentIndex() == 0 and lab.bpe_word.text() == state["select_word"]


def _check_embeddings(qtbot, lab, state):
    from studyapp.areas.embeddings.area import TAB_KEYS

    if "text" in state:
        assert lab.editor.toPlainText() == state["text"]
    if "book_demo" in state:
        assert lab.demo_radio.isChecked() == state["book_demo"]
    if "view" in state:
        assert lab.tabs.currentIndex() == TAB_KEYS.index(state["view"])
    qtbot.waitUntil(lambda: not lab.is_busy(), timeout=5000)  # computed on the lab's job
    assert lab.embeddings is not None  # computed at once: the lab is on screen


def _check_generate(qtbot, area, state):
    if "prompt" in state:
        assert area.current_panel() is area.generate
        assert area.generate.prompt.toPlainText() == state["prompt"]
        assert area.loss.prompt.text() == state["prompt"]


LAB_CHECKS = {"tokenizer": _check_tokenizer, "embeddings": _check_embeddings,
              "generate": _check_generate}


def test_try_it_opens_each_linked_lab_in_the_links_state(window, qtbot, ctx):
    from studyapp.links import bundled_links

    links = bundled_links()
    cards = window.areas["flashcards"]
    linked = [(card, links.link_for(card.question, card.answer))
              for card in cards.deck.parse.cards]
    linked = [(card, link) for card, link in linked if link is not None]
    opened = {link.area for _card, link in linked}
    assert {"tokenizer", "embeddings", "generate", "attention", "training"} <= opened
    for card, link in linked:
        window.open_area("flashcards", {})
        cards.show_card(card.key)
        button = cards.review.try_button
        assert button.isVisible() and button.text() == link.label, card.question
        # the hint beside it names the lab the button leads to
        assert area_by_key(link.area).title in cards.review.try_hint.text(), card.question
        with qtbot.waitSignal(ctx.navigator.open_requested, timeout=1000) as blocker:
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert blocker.args == [link.area, link.state], card.question
        assert window.current_area_key() == link.area, card.question
        assert window.areas[link.area].isVisible()
        check = LAB_CHECKS.get(link.area)  # attention and training: the switch only
        if check is not None:
            check(qtbot, window.areas[link.area], link.state)
