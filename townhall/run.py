"""`townhall run`: the store, queue, server and collectors, and the moderator TUI, one process.

The wiring described in docs/architecture.md ("The layers"): this outer asyncio main owns
everything through `Runtime`, awaits `app.run_async()`, and shuts down in `finally` in a fixed
order (the client, then the collectors, the server and the store, by Runtime's exit). Nothing
depends on Textual's worker cleanup.

The TUI is given what only this process knows: the page URLs with their tokens (ctrl+u shows
them again; before the TUI starts they would be hidden by the alternate screen) and what
quitting would stop (connected pages and moderators, live sources), so ctrl+q asks first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aggregator.aio import cancel_and_wait, stop_on_signals
from aggregator.client import LocalClient
from aggregator.config import Config
from aggregator.server.ws import SESSIONS
from tui.app import build_moderator_app
from tui.keymap import validate_keymap

from .runtime import Runtime
from .urls import page_urls

NO_CONFIG = ("No config file found: every collector is off. Manual questions (n) still work; "
             "see config.example.toml.")
#: the audit log's name for a moderator who gave none
DEFAULT_NAME = "moderator"


def moderator_name(config: Config, name: str | None = None) -> str:
    """--name, else `[tui] name`, else "moderator". Never the operating-system user: that
    put "root" on manual questions and on the overlay."""
    for candidate in (name, config.tui.name):
        if candidate and candidate.strip():
            return candidate.strip()
    return DEFAULT_NAME


def stop_warnings(runtime: Runtime) -> list[str]:
    """What quitting this process would stop, for the TUI's quit confirmation."""
    warnings: list[str] = []
    sessions = runtime.app[SESSIONS] if runtime.app is not None else set()
    connected = sum(1 for ws in sessions if not ws.closed)
    if connected:
        warnings.append(f"{connected} page{'s' if connected != 1 else ''} or moderator"
                        f"{'s' if connected != 1 else ''} connected")
    live = [h.name for h in runtime.health.snapshot() if h.state == "live" and h.name != "server"]
    if live:
        warnings.append(f"{', '.join(live)} live")
    return warnings


async def run_tui(runtime: Runtime, config: Config, *, keymap: dict[str, str] | None = None,
                  notices: Sequence[str] = (), tasks: Sequence[asyncio.Task[None]] = (),
                  name: str | None = None, urls: Sequence[tuple[str, str]] | None = None
                  ) -> None:
    """The moderator TUI over a started runtime until it quits (ctrl+q, or SIGTERM / SIGHUP
    as ctrl+q); then `tasks` (work that ran alongside it) are cancelled and the client closed,
    before the runtime's own shutdown. `urls`: the page URLs (default: this config's)."""
    actor = moderator_name(config, name)
    client = LocalClient(runtime.queue, runtime.health, actor=actor, config=config)
    if urls is None:
        urls = page_urls(config, runtime.bound_port) if runtime.bound_port is not None else []
    app = build_moderator_app(
        client, keymap=keymap, meeting_title=config.meeting.title,
        answerers=list(config.meeting.answerers), page_urls=urls,
        urls_note=None if urls else "The server is not running (see the status line).",
        stop_warnings=lambda: stop_warnings(runtime))
    app.startup_notices.extend(notices)
    if actor == DEFAULT_NAME and not name:
        app.ask_name = True
    try:
        with stop_on_signals(app.exit):  # kill / a closed terminal: quit as ctrl+q does
            await app.run_async()
    finally:
        await cancel_and_wait(tasks)
        await client.close()


async def run_moderator(config: Config, name: str | None = None) -> None:
    keymap = validate_keymap(config.tui.keymap, config.source)  # bad keys: exit 2 before start
    async with Runtime(config) as runtime:
        notices = [NO_CONFIG] if config.source is None else []
        if runtime.bound_port is not None:
            notices.append("ctrl+u shows the host page and overlay URLs at any time.")
        await run_tui(runtime, config, keymap=keymap, notices=notices, name=name)


def main(config: Config, name: str | None = None) -> int:
    asyncio.run(run_moderator(config, name))
    return 0
