"""Shared fixtures: a started queue on a temporary store, and the CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aggregator.model import Author, Incoming
from aggregator.queue import QuestionQueue
from aggregator.store import Store

ROOT = Path(__file__).resolve().parent.parent


def townhall(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
             timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `townhall ARGS` as a separate process (the real CLI, with this checkout on the path)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "aggregator", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd, timeout=timeout, input=input)


def incoming(n: int | str, text: str = "What is the plan?", source: str = "youtube",
             author: str = "Ana", author_id: str | None = None, email: str | None = None,
             **kw: object) -> Incoming:
    return Incoming(source=source, external_id=f"m{n}",
                    author=Author(name=author, id=author_id or f"id-{author}", email=email),
                    text=text, **kw)  # type: ignore[arg-type]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "townhall.db"


@pytest.fixture
async def queue(db_path: Path) -> AsyncIterator[QuestionQueue]:
    store = Store(db_path).open()
    q = QuestionQueue(store)
    await q.start()
    try:
        yield q
    finally:
        await q.flush()
        store.close()
