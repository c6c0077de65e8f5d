"""`townhall run`: the store, queue, server and collectors, and the moderator TUI, one process.

The wiring of design.md section 2: this outer asyncio main owns everything through `Runtime`,
awaits `app.run_async()`, and shuts down in `finally` in a fixed order (the client, then the
collectors, the server and the store, by Runtime's exit). Nothing depends on Textual's worker
cleanup.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Sequence

from aggregator.aio import cancel_and_wait, stop_on_signals
from aggregator.client import LocalClient
from aggregator.config import Config
from tui.app import build_moderator_app
from tui.keymap import validate_keymap

from .runtime import Runtime

NO_CONFIG = ("No config file found: every collector is off. Manual questions (n) still work; "
             "see config.example.toml.")


def moderator_name() -> str:
    try:
        return getpass.getuser() or "moderator"
    except (KeyError, OSError):  # no user name in a container
        return "moderator"


async def run_tui(runtime: Runtime, config: Config, *, keymap: dict[str, str] | None = None,
                  notices: Sequence[str] = (), tasks: Sequence[asyncio.Task[None]] = ()
                  ) -> None:
    """The moderator TUI over a started runtime until it quits (ctrl+q, or SIGTERM / SIGHUP
    as ctrl+q); then `tasks` (work that ran alongside it) are cancelled and the client closed,
    before the runtime's own shutdown."""
    client = LocalClient(runtime.queue, runtime.health, actor=moderator_name(), config=config)
    app = build_moderator_app(client, keymap=keymap, meeting_title=config.meeting.title,
                              answerers=list(config.meeting.answerers))
    app.startup_notices.extend(notices)
    try:
        with stop_on_signals(app.exit):  # kill / a closed terminal: quit as ctrl+q does
            await app.run_async()
    finally:
        await cancel_and_wait(tasks)
        await client.close()


async def run_moderator(config: Config) -> None:
    keymap = validate_keymap(config.tui.keymap, config.source)  # bad keys: exit 2 before start
    async with Runtime(config) as runtime:
        await run_tui(runtime, config, keymap=keymap,
                      notices=[NO_CONFIG] if config.source is None else [])


def main(config: Config) -> int:
    asyncio.run(run_moderator(config))
    return 0
