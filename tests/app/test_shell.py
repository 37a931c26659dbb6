"""The shell: one place per area, navigation, settings restored, the CLI, clean exits."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from studyapp.areas import AREAS

AREA_KEYS = ["flashcards", "tokenizer", "embeddings", "attention", "architecture", "generate",
             "training", "classify", "instruct"]


def test_labs_are_built_after_the_first_paint_and_on_first_visit(qtbot, ctx):
    from studyapp.shell.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    assert list(window.areas) == ["flashcards"]  # only the area on screen exists at start
    window.open_area("attention", {"step": 3})
    assert "attention" in window.areas
    window.show()
    qtbot.waitUntil(lambda: len(window.areas) == len(AREAS), timeout=30000)
    assert window._file_menu.actions()[-1].text() == "&Quit"


def test_main_window_has_one_place_per_area_and_navigates(qtbot, ctx):
    from studyapp.shell.main_window import MainWindow

    assert [a.key for a in AREAS] == AREA_KEYS
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    assert window.sidebar.count() == len(AREA_KEYS)
    ctx.navigator.open("attention", {})
    assert window.current_area_key() == "attention"
    assert window.areas["attention"].isVisibleTo(window.stack.currentWidget())
    assert "tiny" in window._model_label.text()


def test_geometry_and_last_area_are_restored(qtbot, ctx):
    from studyapp.shell.main_window import MainWindow

    first = MainWindow(ctx)
    qtbot.addWidget(first)
    first.show()
    # The offscreen screen is only 800 px wide, narrower than the window's minimum width, so
    # the height is what this test varies.
    for area in AREAS:
        first.areas[area.key]  # built, so the minimum size is every area's
    minimum = first.minimumSizeHint()
    first.resize(minimum.width(), minimum.height() + 37)
    size = (first.width(), first.height())
    first.open_area("generate", {})
    first.save_settings()
    second = MainWindow(ctx)
    qtbot.addWidget(second)
    second.show()
    assert second.current_area_key() == "generate"
    assert (second.width(), second.height()) == size


def _load_models(qtbot, ctx):
    """Start the labs' model session and wait for it: the model it made current, and the
    notices it gave on the way."""
    notices = []
    ctx.models.notice.connect(notices.append)
    with qtbot.waitSignal(ctx.models.current_changed, timeout=60000) as blocker:
        ctx.models.start_loading()
    qtbot.waitUntil(lambda: not ctx.models.is_loading, timeout=10000)
    return blocker.args[0], notices


def test_model_session_loads_a_model_in_the_background(qtbot, tmp_path):
    from studyapp.shell.app import build_context

    ctx = build_context(tmp_path)
    entry, _ = _load_models(qtbot, ctx)
    assert ctx.models.current is entry and entry.model.cfg.vocab_size == 50257


def test_the_model_left_in_the_labs_is_loaded_again_at_the_next_start(qtbot, tmp_path,
                                                                        tiny_entry):
    from model.checkpoint import save_checkpoint
    from studyapp.shell.app import build_context
    from studyapp.areas.training.core import entry_from_model

    # First run: a model trained here (saved to a checkpoint) is put in the labs.
    path = tmp_path / "checkpoints" / "trained.safetensors"
    path.parent.mkdir()
    save_checkpoint(tiny_entry.model, path)
    first = build_context(tmp_path)
    first.models.add(entry_from_model(tiny_entry.model, "trained here",
                                      {"checkpoint": str(path)}))
    first.settings.sync()

    # Next start: the bundled model is there and the trained one is current again.
    second = build_context(tmp_path)
    entry, _ = _load_models(qtbot, second)
    assert entry.file_path == str(path) and entry.config == tiny_entry.config
    assert [e.name for e in second.models.entries][0] == "bundled"

    # The file is gone at the start after: a notice says so, the bundled model is used and
    # the setting is forgotten.
    second.settings.sync()
    path.unlink()
    third = build_context(tmp_path)
    entry, notices = _load_models(qtbot, third)
    assert entry.name == "bundled"
    assert notices and "could not be loaded again" in notices[0]
    assert not third.settings.contains(third.models.REMEMBERED)


def test_a_remembered_model_failing_with_any_error_falls_back_to_the_bundled_one(
        qtbot, tmp_path, monkeypatch):
    # A malformed file can fail in ways the loader does not foresee (a TypeError from a header
    # config of [1, 2]); the labs must still start on the bundled model and forget the file.
    from studyapp.models import loading
    from studyapp.shell.app import build_context

    ctx = build_context(tmp_path)
    ctx.settings.set(ctx.models.REMEMBERED, str(tmp_path / "odd.safetensors"))

    def broken(*args, **kwargs):
        raise TypeError("'list' object is not a mapping")

    monkeypatch.setattr(loading, "load_model_file", broken)
    entry, notices = _load_models(qtbot, ctx)
    assert entry.name == "bundled"
    assert notices and "not a mapping" in notices[0] and "will not try that file" in notices[0]
    assert not ctx.settings.contains(ctx.models.REMEMBERED)


def test_job_thread_streams_records_and_stops_cooperatively(qtbot):
    from studyapp.shell.jobs import JobThread

    def counting(token):
        n = 0
        while not token.stopped:
            token.check_pause()
            n += 1
            yield n

    job = JobThread(counting)
    seen = []
    job.record.connect(seen.append)
    with qtbot.waitSignal(job.finished, timeout=5000) as blocker:
        job.start()
        qtbot.waitUntil(lambda: len(seen) > 3)
        job.request_stop()
    assert blocker.args == ["stopped"] and seen[:3] == [1, 2, 3]

    def failing(token):
        yield 1
        raise ValueError("corpus is empty")

    job = JobThread(failing)
    messages = []
    job.failed.connect(messages.append)
    with qtbot.waitSignal(job.finished, timeout=5000) as blocker:
        job.start()
    assert messages == ["corpus is empty"] and blocker.args == ["failed"]


def _python(*args, cwd=None, timeout=240):
    """This interpreter run offscreen with `args`, its output captured."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)


def _studyapp(*args, cwd=None, timeout=240):
    return _python("-m", "studyapp", *args, cwd=cwd, timeout=timeout)


def test_version_and_bad_arguments():
    from studyapp import __version__

    result = _studyapp("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"studyapp {__version__}"
    result = _studyapp("--notes", "/no/such/notes.md", "--data-dir", "/tmp")
    assert result.returncode == 2 and "no such notes file" in result.stderr


def test_the_app_collects_cycles_on_its_gui_thread_only():
    # The interpreter's own collector would run in a training worker that allocates, deleting
    # Qt objects there; the app's QApplication takes collection over.
    code = ("import gc; from studyapp.shell.app import ensure_qapplication; "
            "app = ensure_qapplication(); print(gc.isenabled())")
    result = _python("-c", code, timeout=120)
    assert result.returncode == 0 and result.stdout.split() == ["False"], result.stderr


@pytest.mark.timeout(1200)  # ten whole runs, the first two with the fine-tuning labs' short runs
def test_screenshot_writes_every_area_and_exits_zero_every_time(tmp_path):
    # PySide6 + pyqtgraph can segfault at exit when widgets outlive the QApplication: run the
    # whole app ten times, two at a time, and require exit code 0 from each. One torch thread
    # each: two runs share the cores, and more threads would only wait on each other. The
    # first pair makes the Classify and Instruct labs' short runs (their threads, saves and
    # plots at exit); the other pairs leave them out (--quick), which halves their time.
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")
    codes = []
    for pair in range(5):
        procs = []
        for i in range(2):
            run_dir = tmp_path / f"run{pair}{i}"
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "studyapp", "--data-dir", str(run_dir / "data"),
                 "screenshot", str(run_dir / "shots")] + (["--quick"] if pair else []),
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            codes.append(proc.returncode)
            assert proc.returncode == 0, err[-2000:]
    assert codes == [0] * 10
    for run in ("run00", "run41"):  # a whole run and a quick one
        shots = sorted(p.name for p in (tmp_path / run / "shots").iterdir())
        assert shots == sorted(f"{key}.png" for key in AREA_KEYS)
        for name in shots:
            assert (tmp_path / run / "shots" / name).stat().st_size > 5000


def test_appearance_and_font_size_are_saved_and_applied(qtbot, ctx):
    from PySide6.QtWidgets import QApplication

    from studyapp.shell.app import build_window

    app = QApplication.instance()
    original_font, original_palette = app.font(), app.palette()
    window = build_window(ctx)
    qtbot.addWidget(window)
    try:
        window._set_theme("dark")
        assert QApplication.instance().palette().window().color().lightness() < 80
        window._change_font(+2)
        assert ctx.settings.get("appearance/font_pt", 0) == 12
        assert QApplication.instance().font().pointSize() == 12
        window._set_theme("light")
        assert app.palette().window().color().lightness() > 200
    finally:  # later tests measure sizes in the default font
        app.setFont(original_font)
        app.setPalette(original_palette)


def test_shortcut_table_lists_area_switching_and_help(qtbot, ctx):
    from studyapp.shell.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    table = dict((what, keys) for keys, what in window.shortcut_table())
    assert table["Flashcards"] == "Ctrl+1" and table["Training"] == "Ctrl+7"
    assert table["Keyboard shortcuts"] == "F1"


def test_shortcuts_are_grouped_by_area_in_sidebar_order_each_once(qtbot, ctx):
    from studyapp.shell.main_window import MainWindow

    window = MainWindow(ctx)
    qtbot.addWidget(window)
    built_before = set(window.areas)
    groups = window.shortcut_groups()
    names = [name for name, _rows in groups]
    assert names[:2] == ["Window", "Switch area"]
    assert names[2:] == [a.title for a in AREAS if a.shortcuts]
    switching = dict(groups)["Switch area"]
    assert switching == [(f"Ctrl+{i + 1}", a.title) for i, a in enumerate(AREAS)]
    rows = window.shortcut_table()
    assert len(rows) == len(set(rows))
    assert ("Ctrl+Z", "undo the last grade (several levels)") in dict(groups)["Flashcards"]
    assert set(window.areas) == built_before  # listing keys built no area


def test_related_cards_of_a_lab_come_from_the_notes_and_open_a_review(qtbot, ctx):
    from studyapp.shell.area_header import AreaHeader, related_cards

    attention = [card.question for card in related_cards(ctx.notes_path, "attention")]
    assert "3 step process for self-attention ?" in attention
    header = AreaHeader(next(a for a in AREAS if a.key == "attention"), ctx)
    qtbot.addWidget(header)
    header._fill_menu()
    review = header._menu.actions()[0]
    assert review.text() == f"Review these {len(attention)} cards"
    with qtbot.waitSignal(ctx.navigator.open_requested) as blocker:
        review.trigger()
    assert blocker.args[0] == "flashcards" and len(blocker.args[1]["review_keys"]) == len(attention)


def test_a_job_keeps_its_result_and_error_for_when_it_has_ended(qtbot):
    from studyapp.shell.jobs import JobThread

    done = JobThread(lambda token: iter([41, 42]))
    with qtbot.waitSignal(done.finished, timeout=5000):
        done.start()
    assert done.has_result and done.result == 42 and done.error is None

    def full_disk(token):
        raise OSError("disk full")
        yield  # a generator, as jobs are

    failed = JobThread(full_disk)
    with qtbot.waitSignal(failed.finished, timeout=5000):
        failed.start()
    assert not failed.has_result and failed.error == "disk full"
