"""Fixtures shared by several integration test modules."""

from __future__ import annotations

import pytest

from tests.support.youtube_helpers import KEY_ENV


@pytest.fixture
def youtube_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API key the YouTube test configs name (tests/support/youtube_helpers.py)."""
    monkeypatch.setenv(KEY_ENV, "test-key")
