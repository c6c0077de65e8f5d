"""Small asyncio helpers shared by the server, the clients, the collectors and the demo."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable


async def cancel_and_wait(tasks: Iterable[asyncio.Task[object] | None]) -> None:
    """Cancel every task, then wait for each to finish, whatever it raises.

    All are cancelled before any is awaited, so they wind down together; errors raised while a
    task unwinds are swallowed, because the caller is already tearing down.
    """
    pending = [task for task in tasks if task is not None]
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
