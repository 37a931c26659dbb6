"""The one job helper: the latest request wins, superseded answers never reach the view."""

import threading
import time
import weakref

from studyapp.shell.jobs import LatestJob


def _answer(value, gate=None):
    def fn(token):
        if gate is not None:
            while not gate.wait(0.01):
                if token.stopped:
                    return
        yield value
    return fn


def test_only_the_latest_request_is_answered(qtbot):
    job = LatestJob(delay_ms=0)
    results = []
    job.result.connect(results.append)
    gate = threading.Event()
    job.request(_answer("old", gate))
    qtbot.waitUntil(lambda: job._job is not None)
    job.request(_answer("middle"))
    job.request(_answer("new"))
    gate.set()
    with qtbot.waitSignal(job.busy_changed, timeout=5000, check_params_cb=lambda b: not b):
        pass
    assert results == ["new"]
    job.shutdown()


def test_debounce_runs_one_job_for_a_burst_of_requests(qtbot):
    job = LatestJob(delay_ms=80)
    runs = []

    def counted(value):
        def fn(token):
            runs.append(value)
            yield value
        return fn

    for i in range(10):
        job.request(counted(i))
    with qtbot.waitSignal(job.result, timeout=5000) as blocker:
        pass
    assert blocker.args == [9] and runs == [9]
    job.shutdown()


def test_a_failure_is_reported_and_cancel_emits_nothing(qtbot):
    job = LatestJob()
    errors, results = [], []
    job.failed.connect(errors.append)
    job.result.connect(results.append)

    def broken(token):
        raise ValueError("the text has no tokens")
        yield  # pragma: no cover

    with qtbot.waitSignal(job.failed, timeout=5000):
        job.request(broken)
    assert errors == ["the text has no tokens"]
    gate = threading.Event()
    job.request(_answer("late", gate))
    qtbot.waitUntil(lambda: job._job is not None)
    job.cancel()
    gate.set()
    qtbot.waitUntil(lambda: not job.is_busy())
    assert results == []
    job.shutdown()


def test_after_shutdown_nothing_is_emitted_even_once_its_owner_is_gone(qtbot):
    # An area shuts its jobs down and is then deleted; the thread's end is delivered later and
    # must not reach the deleted helper (a RuntimeError in a slot) nor say anything more.
    from PySide6.QtCore import QObject
    from shiboken6 import delete

    owner = QObject()
    job = LatestJob(owner)
    busy = []
    job.busy_changed.connect(busy.append)
    started = threading.Event()

    def slow(token):
        started.set()
        while not token.stopped:
            time.sleep(0.01)
        yield "late"

    job.request(slow)
    qtbot.waitUntil(started.is_set, timeout=5000)
    job.shutdown()
    emitted = list(busy)
    delete(owner)  # the owner and its LatestJob are gone; the thread's end is still queued
    qtbot.wait(50)
    assert busy == emitted


def test_wait_idle_returns_once_the_latest_result_has_been_delivered(qtbot):
    job = LatestJob(delay_ms=30)
    results = []
    job.result.connect(results.append)
    assert job.wait_idle(100)  # nothing asked: idle at once
    gate = threading.Event()
    job.request(_answer("old", gate))
    qtbot.waitUntil(lambda: job._job is not None)
    job.request(_answer("new"))
    gate.set()
    assert job.wait_idle(5000)
    assert results == ["new"] and not job.is_busy()
    job.request(_answer("never", threading.Event()))  # its gate never opens
    assert not job.wait_idle(100)
    job.shutdown()


def test_an_area_on_a_latest_job_asks_only_while_it_is_shown(qtbot):
    from studyapp.shell.jobs import LatestJobArea

    class Echo(LatestJobArea):
        def __init__(self):
            super().__init__(None, 0, "echo")
            self.value, self.asked, self.shown = 0, 0, []

        def answer_job(self):
            self.asked += 1
            value = self.value
            return lambda _token: [value]

        def show_answer(self, record):
            self.shown.append(record)
            self.rendered.emit()

        def show_failure(self, message):
            self.shown.append(message)

    area = Echo()
    qtbot.addWidget(area)
    area.value = 1
    area.schedule()
    assert area.asked == 0 and not area.is_busy()  # hidden: only remembered as dirty
    with qtbot.waitSignal(area.rendered, timeout=5000):
        area.show()
    assert area.shown == [1] and area.asked == 1
    area.value = 2
    with qtbot.waitSignal(area.rendered, timeout=5000):
        area.schedule()
    assert area.shown == [1, 2] and not area.is_busy()
    area.shutdown()


def test_a_job_ends_its_thread_even_when_its_owner_was_deleted_while_it_ran(qtbot):
    import shiboken6
    from PySide6.QtCore import QObject

    from studyapp.shell.jobs import JobThread

    owner = QObject()
    gate = threading.Event()
    job = JobThread(_answer("late", gate), name="orphan", parent=owner)
    thread = job._thread
    job.start()
    shiboken6.delete(owner)  # the owner's window closed without stopping the job
    assert not shiboken6.isValid(job)
    gate.set()
    assert thread.wait(5000), "the thread never ended"


def test_cycles_holding_qt_objects_are_freed_on_the_gui_thread(qtbot):
    # A worker that allocates must not run the cycle collector: it would delete the Qt objects
    # in the garbage on its own thread.
    from PySide6.QtCore import QObject

    freed_on = []

    class Holder:
        pass

    holder = Holder()
    holder.itself, holder.obj = holder, QObject()  # a cycle through a Qt object
    weakref.finalize(holder, lambda: freed_on.append(threading.current_thread()))
    del holder
    kept = []
    worker = threading.Thread(target=lambda: kept.append([[] for _ in range(50_000)]))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: bool(freed_on), timeout=5000)
    assert freed_on == [threading.main_thread()]
