"""Serving an aiohttp app on a TCP port inside a running event loop (not `web.run_app`, which
owns the loop): shared by the Townhall server and the local simulators of the sources."""

from __future__ import annotations

from aiohttp import web


async def start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Listen on `host:port` (0: any free port); returns the runner and the port bound.

    On failure (e.g. the port is taken) the runner is cleaned up and the OSError raised.
    """
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, runner.addresses[0][1]
