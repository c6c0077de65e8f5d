"""`townhall serve`: store, queue, server and collectors without a TUI (a shared machine).

Remote moderators use `townhall connect`, the host `townhall host` or the /host page, the
stream the /overlay page. Runs until SIGINT or SIGTERM, then shuts down in order (Runtime).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aggregator.aio import stop_on_signals
from aggregator.config import Config
from aggregator.server.auth import Tokens

from .runtime import Runtime
from .urls import invoked_as


def banner(config: Config, port: int) -> str:
    server = config.server
    host = server.host if ":" not in server.host else f"[{server.host}]"
    base = f"http://{host}:{port}"
    tokens = Tokens.from_config(config)
    command = invoked_as()
    lines = [f"Townhall is serving {config.meeting.title!r} at {base}",
             f"  moderators: {command} connect ws://{host}:{port}/ws --name YOUR_NAME",
             f"  host:       {command} host ws://{host}:{port}/ws   or   {base}/host#token=...",
             f"  overlay:    {base}/overlay#token=...  (an OBS browser source)"]
    for role, env in (("moderator", server.moderator_token_env),
                      ("host", server.host_token_env), ("overlay", server.overlay_token_env)):
        state = (f"token from ${env}" if tokens.configured(role)
                 else "open (no token set; loopback only)" if tokens.loopback
                 else f"closed until ${env} is set")
        lines.append(f"  {role} role: {state}")
    lines.append("Stop with Ctrl+C.")
    return "\n".join(lines)


async def serve(config: Config) -> int:
    stop = asyncio.Event()
    # Installed before start-up (opening a large store takes a second or two): a SIGTERM then
    # used to kill the process on the spot. Now it lets start-up finish and shuts down in order.
    # SIGHUP is left alone, so `nohup townhall serve` outlives its terminal.
    with stop_on_signals(stop.set, (signal.SIGINT, signal.SIGTERM)):
        async with Runtime(config) as runtime:
            if runtime.bound_port is None:
                state = runtime.health.get("server")
                print(f"townhall: {state.reason if state else 'the server did not start'}",
                      file=sys.stderr)
                return 1
            if not stop.is_set():
                print(banner(config, runtime.bound_port), file=sys.stderr, flush=True)
                await stop.wait()
            print("townhall: shutting down", file=sys.stderr, flush=True)
    return 0


def run(config: Config) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    return asyncio.run(serve(config))
