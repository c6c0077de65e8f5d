"""Test helpers for the moderator TUI: a real queue on a temporary store, a fixed clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from textual import events
from textual.keys import _character_to_key
from textual.pilot import Pilot

from aggregator.client import LocalClient
from aggregator.queue import QuestionQueue
from tui.app import ModeratorApp, build_moderator_app
from tui.screens.main import MainScreen

FIXED_NOW = datetime(2022, 11, 10, 14, 30, tzinfo=timezone.utc)


def fixed_clock() -> datetime:
    return FIXED_NOW


def make_app(queue: QuestionQueue, **kw: object) -> ModeratorApp:
    client = LocalClient(queue, actor="ana")
    kw.setdefault("clock", fixed_clock)
    kw.setdefault("answerers", ["Maggie", "Jan"])
    return build_moderator_app(client, **kw)  # type: ignore[arg-type]


def main_screen(app: ModeratorApp) -> MainScreen:
    assert app.main is not None
    return app.main


async def wait_for(pilot: Pilot, condition: Callable[[], bool], *, rounds: int = 200) -> None:
    """Pause until `condition()` holds (bounded: fails the test instead of hanging)."""
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached in time")


async def loaded(pilot: Pilot) -> MainScreen:
    app: ModeratorApp = pilot.app  # type: ignore[assignment]
    await wait_for(pilot, lambda: app.main is not None and app.main.loaded)
    return main_screen(app)


def burst(app: ModeratorApp, *keys: str) -> None:
    """Post keys to the app at once, as a terminal delivers a burst of typing (Pilot.press
    waits for the app to go idle after each key, which hides ordering bugs). Each argument is
    a key name ("tab", "enter") or a string of characters typed one by one."""
    for item in keys:
        names = [item] if len(item) > 1 and item.isidentifier() else list(item)
        for name in names:
            char = name if len(name) == 1 else {"enter": "\r", "tab": "\t"}.get(name)
            key = name if len(name) > 1 or name.isalnum() else _character_to_key(name)
            app.post_message(events.Key(key, char))
