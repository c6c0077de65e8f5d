"""The TUI shows times in the local time zone: tests pin it to UTC, so that snapshots and
assertions on clock times do not depend on the machine they run on."""

from __future__ import annotations

import time

import pytest


@pytest.fixture(autouse=True)
def utc_local_time(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
