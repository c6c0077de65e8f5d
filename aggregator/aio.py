"""Small asyncio helpers shared by the server, the clients, the collectors and the demo."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterable, Iterator


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


@contextlib.contextmanager
def stop_on_signals(stop: Callable[[], object],
                    signals: Iterable[signal.Signals] = (signal.SIGTERM, signal.SIGHUP)
                    ) -> Iterator[None]:
    """Call `stop` (on the running loop) when one of `signals` arrives, while in the block.

    Without this, SIGTERM (`kill`, a service manager) and SIGHUP (the terminal window closed)
    end the process on the spot: no summary, no cleanup of temporary folders, and a TUI leaves
    the terminal in raw mode on its alternate screen. Ctrl+C (SIGINT) is left to asyncio.run,
    which already unwinds everything as KeyboardInterrupt.
    """
    loop = asyncio.get_running_loop()
    installed = []
    for sig in signals:
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, Windows
            continue
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
