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
from urllib.parse import urlsplit, urlunsplit

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


#: said under the page URLs of a remote server: its tokens are not this moderator's to hand out
REMOTE_URLS_NOTE = ("The host and overlay tokens are set where the server runs: ask whoever "
                    "started it (`townhall tokens` there prints the full URLs).")


def remote_page_urls(ws_url: str) -> list[tuple[str, str]]:
    """The pages of the server behind `ws_url` (ws://h:p/ws -> http://h:p/host), with a
    placeholder where the token goes."""
    parts = urlsplit(ws_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    base = urlunsplit((scheme, parts.netloc, "", "", ""))
    return [("host page (the host's browser)", f"{base}/host#token=HOST_TOKEN"),
            ("stream overlay (OBS browser source)", f"{base}/overlay#token=OVERLAY_TOKEN")]


def run_connect(url: str, token: str | None, name: str) -> int:
    """The moderator TUI (tui.app's factory) against a remote server. Quitting it stops
    nothing but this console, so ctrl+q does not ask."""
    client = RemoteClient(url, token, name=name, role="moderator")
    return asyncio.run(_run(client, lambda c: build_moderator_app(
        c, meeting_title=c.meeting_title or "Townhall", page_urls=remote_page_urls(url),
        urls_note=REMOTE_URLS_NOTE)))


def run_host(url: str, token: str | None, name: str, show_askers: bool) -> int:
    client = RemoteClient(url, token, name=name, role="host")
    return asyncio.run(_run(client, lambda c: HostApp(
        c, show_askers=show_askers, meeting_title=c.meeting_title)))
