"""Shared fixtures: a started queue on a temporary store, and the CLI in a subprocess."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from aggregator.model import Author, Incoming
from aggregator.queue import QuestionQueue
from aggregator.store import Store

ROOT = Path(__file__).resolve().parent.parent


def townhall(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
             timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `townhall ARGS` as a separate process (the real CLI, with this checkout on the path)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "townhall", *args], capture_output=True,
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


@contextlib.asynccontextmanager
async def started_queue(path: Path, **options: Any) -> AsyncIterator[QuestionQueue]:
    """A started queue on the store at `path`; its writes flushed and the store closed at the
    end, as a stopping `townhall run` would (tests reopen the same path to "restart")."""
    store = Store(path).open()
    q = QuestionQueue(store, **options)
    await q.start()
    try:
        yield q
    finally:
        await q.close()  # writes what is still in its inbox, stops its owner task
        store.close()


@pytest.fixture
async def queue(db_path: Path) -> AsyncIterator[QuestionQueue]:
    async with started_queue(db_path) as q:
        yield q
