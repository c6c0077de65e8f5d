"""Serving an aiohttp app on a TCP port inside a running event loop (not `web.run_app`, which
owns the loop): shared by the Townhall server and the local simulators of the sources.

Connections are bounded in time. A client that opens a connection and never finishes its
request headers (or sends nothing) holds a file descriptor for as long as the server lets it;
a thousand of them used to exhaust the process's descriptors, so signed webhooks and `/healthz`
stopped answering. aiohttp's `keepalive_timeout` closes a connection that is idle, between
requests and, since aiohttp 3.14.4, before its first request is complete: one bound for both.
Websocket sessions are not idle in that sense (their handler runs) and stay up.
"""

from __future__ import annotations

from aiohttp import web

#: seconds a connection may wait for its request headers, or idle between requests
IDLE_TIMEOUT = 5.0


async def start_site(app: web.Application, host: str, port: int, *,
                     idle_timeout: float = IDLE_TIMEOUT) -> tuple[web.AppRunner, int]:
    """Listen on `host:port` (0: any free port); returns the runner and the port bound.

    On failure (e.g. the port is taken) the runner is cleaned up and the OSError raised.
    """
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=idle_timeout)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner, runner.addresses[0][1]
