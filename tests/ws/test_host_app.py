"""Pilot tests of `townhall host` (tui/host_app.py) over a RemoteClient to the real server."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import Static

from aggregator.commands import Command
from aggregator.remote import RemoteClient
from tests.conftest import incoming
from tests.ws.conftest import Server
from tui.host_app import HostApp

HOSTILE = ["[/]", "[/", "[@click=app.quit]x[/]", "[$accent]x", "[link=http://x]x[/link]",
           "trailing\\", "oops [/] closing", "[bold red]x", "[00]"]


def text_of(app: HostApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def next_items(app: HostApp) -> list[str]:
    return [str(w.render()) for w in app.query(".next-item").results(Static)]


async def wait_for(pilot, condition, timeout: float = 5.0) -> None:  # noqa: ANN001
    async with asyncio.timeout(timeout):
        while not condition():
            await pilot.pause(0.05)


async def seed(server: Server, texts: list[str]) -> None:
    await server.queue.submit_batch([incoming(i, t, author=f"A{i}")
                                     for i, t in enumerate(texts, start=1)])
    for qid in range(1, len(texts) + 1):
        await server.queue.apply(Command(op="approve", question=qid), "mod")


async def test_host_view_shows_live_and_next_and_says_next(server: Server, tokens) -> None:
    await seed(server, ["Live question?", "Second?", "Third?"])
    await server.queue.apply(Command(op="go_live", question=1), "mod")
    await server.queue.apply(Command(op="assign", question=1, args={"assignee": "Jan"}), "mod")
    client = RemoteClient(server.url, tokens["host"], name="Maggie", role="host")
    await client.connect()
    app = HostApp(client, meeting_title="Office hours")
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: text_of(app, "#live-text") == "Live question?")
        assert "asked by A1" in text_of(app, "#live-meta")
        assert "for Jan" in text_of(app, "#live-meta")
        await wait_for(pilot, lambda: len(next_items(app)) == 2)
        assert next_items(app)[0].startswith("1. Second?")
        await pilot.press("n")
        await wait_for(pilot, lambda: text_of(app, "#live-text") == "Second?")
        assert server.queue.get(1).status == "answered"
        assert server.queue.history(1)[-1].actor == "host:Maggie"  # a host never passes for a moderator
        await pilot.press("space")
        await wait_for(pilot, lambda: text_of(app, "#live-text") == "Third?")
        await wait_for(pilot, lambda: next_items(app) == ["The host list is empty."])
        await pilot.press("n")
        await wait_for(pilot, lambda: text_of(app, "#live-text") == "Nothing is live.")
        # a moderator's change elsewhere shows up by itself
        await server.queue.apply(Command(op="reopen", question=2), "mod")
        await server.queue.apply(Command(op="go_live", question=2), "mod")
        await wait_for(pilot, lambda: text_of(app, "#live-text") == "Second?")


async def test_host_view_shows_askers_when_configured(server: Server, tokens) -> None:
    await server.queue.submit_batch([incoming(1, "Same?", author="Ana"),
                                     incoming(2, "Same too?", author="Bo")])
    await server.queue.apply(Command(op="merge", question=2, args={"into": 1}), "mod")
    await server.queue.apply(Command(op="approve", question=1), "mod")
    await server.queue.apply(Command(op="go_live", question=1), "mod")
    client = RemoteClient(server.url, tokens["host"], name="Maggie", role="host")
    await client.connect()
    app = HostApp(client, show_askers=True)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: "Ana, Bo" in text_of(app, "#live-askers"))


@pytest.mark.parametrize("hostile", HOSTILE)
async def test_hostile_text_is_shown_literally(server: Server, tokens, hostile: str) -> None:
    await seed(server, [hostile, f"next {hostile}"])
    await server.queue.apply(Command(op="go_live", question=1), "mod")
    client = RemoteClient(server.url, tokens["host"], name="Maggie", role="host")
    await client.connect()
    app = HostApp(client)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: text_of(app, "#live-text") == hostile)
        await wait_for(pilot, lambda: bool(next_items(app))
                       and next_items(app)[0].startswith(f"1. next {hostile}"))
        await pilot.click("#live-text")
        await pilot.pause()
        assert app.is_running


async def test_refused_next_and_a_dropped_link_are_shown_not_crashes(server: Server,
                                                                     tokens) -> None:
    client = RemoteClient(server.url, tokens["host"], name="Maggie", role="host")
    await client.connect()
    app = HostApp(client)
    notes: list[str] = []
    app.notify = lambda message, **kw: notes.append(message)  # type: ignore[method-assign]
    async with app.run_test() as pilot:
        await pilot.pause(0.2)
        await pilot.press("n")  # nothing live, nothing queued
        await wait_for(pilot, lambda: bool(notes))
        from aggregator.server.ws import SESSIONS

        for ws in list(server.runtime.app[SESSIONS]):
            await ws.close()
        await wait_for(pilot, lambda: "Disconnected" in text_of(app, "#status"))
        await wait_for(pilot, lambda: text_of(app, "#status") == "", timeout=15)
