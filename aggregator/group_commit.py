"""Group commit: many writes, one transaction, one fsync.

The queue's owner task (queue.py) hands over a whole batch of writes and awaits the outcome; the
transaction runs on one dedicated writer thread, so the event loop keeps serving while SQLite
syncs. Nothing is called back across threads: the outcome is the awaited return value, and the
queue changes its memory only after it has it in hand.

Each write runs in its own savepoint. A write that fails rolls back alone; the writes before it
are committed, the writes after it are not attempted (they were decided in a state that
included the failed one, so the queue decides them again). A failure of the transaction itself
(BEGIN or COMMIT: a full disk, an I/O error) leaves nothing of the batch on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple, Protocol

#: at most this many writes share one transaction (bounds a commit's latency under a flood)
MAX_BATCH = 2_000


class StoreError(Exception):
    """The store cannot do what was asked; the message says why and what to do."""


class Applies(Protocol):
    """A unit of writing: store.Write."""

    def apply(self, conn: sqlite3.Connection) -> None: ...


class Outcome(NamedTuple):
    """What a batch left on disk: the first `committed` writes, nothing after them.

    `error` is None when every write committed. Otherwise, when `failed` is an index, that write
    failed alone (the ones before it are on disk, the ones after it were not tried); when
    `failed` is None the transaction failed and no write of the batch is on disk.
    """

    committed: int
    error: StoreError | None = None
    failed: int | None = None


class GroupCommitWriter:
    """The one writer of a store: a dedicated thread with its own connection."""

    def __init__(self, path: Path, connect: Callable[[Path], sqlite3.Connection]) -> None:
        self._conn = connect(path)
        self._conn.execute("PRAGMA synchronous = FULL")
        self._executor = ThreadPoolExecutor(max_workers=1,
                                            thread_name_prefix="townhall-store-writer")

    async def commit(self, writes: Sequence[Applies]) -> Outcome:
        """Write `writes` in one transaction on the writer thread; returns once it ended."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, commit_batch, self._conn, writes)

    def stop(self) -> None:
        self._executor.shutdown(wait=True)
        self._conn.close()


def commit_batch(conn: sqlite3.Connection, writes: Sequence[Applies]) -> Outcome:
    """The transaction of one batch (see the module docstring)."""
    done = len(writes)
    error: StoreError | None = None
    try:
        with transaction(conn):
            for index, write in enumerate(writes):
                conn.execute("SAVEPOINT one")
                try:
                    write.apply(conn)
                except Exception as exc:  # this write fails alone
                    conn.execute("ROLLBACK TO one")
                    conn.execute("RELEASE one")
                    done, error = index, StoreError(f"write failed: {exc}")
                    break
                conn.execute("RELEASE one")
    except Exception as exc:
        return Outcome(0, StoreError(f"commit failed: {exc}"), None)
    return Outcome(done, error, done if error is not None else None)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT; on any error ROLLBACK (whose own failure is not allowed to
    hide the first error) and re-raise."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
