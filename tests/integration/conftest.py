"""Fixtures shared by several integration test modules."""

from __future__ import annotations

import pytest

from tests.support.after_call import start_mediawiki
from tests.support.youtube_helpers import KEY_ENV


@pytest.fixture
def youtube_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API key the YouTube test configs name (tests/support/youtube_helpers.py)."""
    monkeypatch.setenv(KEY_ENV, "test-key")


@pytest.fixture(scope="module")
def wiki(tmp_path_factory: pytest.TempPathFactory):
    """A real MediaWiki (Debian's package, installed into a temporary folder, on `php -S`)."""
    wiki, server = start_mediawiki(tmp_path_factory.mktemp("wiki"))
    yield wiki
    server.terminate()
    server.wait()
