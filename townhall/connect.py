"""`townhall connect` and `townhall host`: a TUI over a RemoteClient.

The CLI (townhall/cli.py) imports this module only for these two commands, so the others run
without loading Textual.

The first connection is made before the TUI starts, so a wrong token or an unreachable server
is a one-line error on the terminal rather than an empty screen; later drops are shown inside
the TUI while the client reconnects by itself.
"""

from __future__ import annotations

import asyncio
import sys

from textual.app import App
from websockets.exceptions import InvalidHandshake

from aggregator.remote import RemoteClient, RemoteRefused
from tui.app import build_moderator_app
from tui.host_app import HostApp


async def _run(client: RemoteClient, build: object) -> int:
    try:
        await client.connect()
    except RemoteRefused as exc:
        print(f"townhall: {exc}", file=sys.stderr)
        return 1
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        print(f"townhall: cannot reach {client.url}: {exc or type(exc).__name__}",
              file=sys.stderr)
        return 1
    try:
        app: App[None] = build(client)  # type: ignore[operator]
        await app.run_async()
    finally:
        await client.close()
    return 0


def run_connect(url: str, token: str | None, name: str) -> int:
    """The moderator TUI (issue 6's factory) against a remote server."""
    client = RemoteClient(url, token, name=name, role="moderator")
    return asyncio.run(_run(client, lambda c: build_moderator_app(
        c, meeting_title=c.meeting_title or "Townhall")))


def run_host(url: str, token: str | None, name: str, show_askers: bool) -> int:
    client = RemoteClient(url, token, name=name, role="host")
    return asyncio.run(_run(client, lambda c: HostApp(
        c, show_askers=show_askers, meeting_title=c.meeting_title)))
