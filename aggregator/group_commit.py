"""Group commit: the one writer thread of a store.

Submitters hand the thread a `Write` and await a future. The thread drains every pending write
into one transaction, each write in its own savepoint so one bad write fails alone, commits, and
only then hands the outcomes back to the event loop, where each write's `on_commit` (the queue
publishes there, in commit order) runs before its submitter is released. Throughput comes from
sharing the fsync; no submitter is released before its data is on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import Write

MAX_BATCH = 2_000


class StoreError(Exception):
    """The store cannot do what was asked; the message says why and what to do."""


_STOP = object()


class GroupCommitWriter:
    """The one writer thread (see the module docstring)."""

    def __init__(self, path: Path, loop: asyncio.AbstractEventLoop,
                 connect: Callable[[Path], sqlite3.Connection]) -> None:
        self._loop = loop
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._conn = connect(path)
        self._conn.execute("PRAGMA synchronous = FULL")
        self._thread = threading.Thread(target=self._run, name="townhall-store-writer",
                                        daemon=True)
        self._thread.start()

    def submit(self, write: Write) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self._loop.create_future()
        self._queue.put((write, future))
        return future

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()
        self._conn.close()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                break
            batch = [item]
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                batch.append(nxt)
            outcomes = self._commit(batch)
            try:
                self._loop.call_soon_threadsafe(_resolve, outcomes)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                pass

    def _commit(self, batch: list[tuple[Write, asyncio.Future[None]]]) -> list[Any]:
        conn = self._conn
        errors: list[BaseException | None] = []
        try:
            with transaction(conn):
                for write, _ in batch:
                    conn.execute("SAVEPOINT one")
                    try:
                        write.apply(conn)
                    except Exception as exc:  # this write fails alone
                        conn.execute("ROLLBACK TO one")
                        errors.append(StoreError(f"write failed: {exc}"))
                    else:
                        errors.append(None)
                    conn.execute("RELEASE one")
        except Exception as exc:
            failure = StoreError(f"commit failed: {exc}")
            errors = [failure] * len(batch)
        return [(write, future, error) for (write, future), error in zip(batch, errors)]


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


def _resolve(
    outcomes: Iterable[tuple[Write, asyncio.Future[None], BaseException | None]],
) -> None:
    for write, future, error in outcomes:
        callback_error: BaseException | None = None
        try:
            if error is None and write.on_commit is not None:
                write.on_commit()
            elif error is not None and write.on_error is not None:
                write.on_error(error)
        except Exception as exc:  # a subscriber bug must not strand the submitter
            callback_error = exc
        if future.done():
            continue
        if error is not None:
            future.set_exception(error)
        elif callback_error is not None:
            future.set_exception(callback_error)
        else:
            future.set_result(None)
