"""Helpers for the tests of the labs that train (Training, Classify, Instruct): a `lab` fixture
for a lab class, and a run started and waited on until it made a step (then stopped)."""

from __future__ import annotations

import importlib

import pytest


def lab_fixture(module: str, name: str):
    """A `lab` fixture: class `name` of `module` on the test's context, shut down after."""

    @pytest.fixture
    def lab(make_widget):
        return make_widget(getattr(importlib.import_module(module), name))

    return lab


def start_until_a_step(lab, qtbot) -> None:
    """Start the lab's fine-tuning run and wait until it made its first step."""
    lab.start_training()
    qtbot.waitUntil(lambda: lab._run is not None and lab._run.last_step is not None,
                    timeout=30_000)


def stop_after_a_step(lab, qtbot) -> None:
    """Start a run, stop it after its first step, and check it ended stopped part way."""
    with qtbot.waitSignal(lab.run_finished, timeout=60_000) as finished:
        start_until_a_step(lab, qtbot)
        lab.stop_training()
    assert finished.args == ["stopped"]
    assert lab.done["reason"] == "stopped" and 0 < lab.done["step"] < lab.done["total_steps"]


def run_to_the_end(lab, qtbot) -> str:
    """Run the recipe to its end (Fine-tune off and Stop on meanwhile); what the run's
    automatic save wrote."""
    with qtbot.waitSignal(lab.saved, timeout=60_000) as saved:
        with qtbot.waitSignal(lab.run_finished, timeout=60_000) as finished:
            assert lab.start_training()
            assert not lab.train_button.isEnabled() and lab.stop_button.isEnabled()
    assert finished.args == ["completed"]
    return saved.args[0]
