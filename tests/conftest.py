"""Shared test set-up: offscreen Qt, no network, fixtures for areas.

Qt runs offscreen so the suite needs no display. Any socket connection to a non-loopback address
fails the test that makes it: the app and its tests never touch the network.
"""

from __future__ import annotations

import ipaddress
import os
import socket

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

_real_connect = socket.socket.connect


def _guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise AssertionError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture
def one_thread():
    """Torch on one thread for the test (use through ``pytest.mark.usefixtures``)."""
    # Tiny models on a shared machine: one thread avoids OpenMP threads waiting on each other.
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_entry():
    """A ModelEntry of the 'tiny' preset with the book's seed (random weights)."""
    from studyapp.models.entry import untrained_entry

    return untrained_entry("tiny")


@pytest.fixture
def make_context(tmp_path, qapp):
    """make_context(entry): an AppContext on a temporary data folder whose ModelSession already
    holds that model entry; its settings are written out after the test."""
    from studyapp.shell.app import build_context

    made = []

    def make(entry):
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        context = build_context(data_dir)
        context.models.add(entry, make_current=True)
        made.append(context)
        return context

    yield make
    for context in made:
        context.settings.sync()


@pytest.fixture
def ctx(make_context, tiny_entry):
    """An AppContext on a temporary data folder whose ModelSession already holds a tiny GPT."""
    return make_context(tiny_entry)
