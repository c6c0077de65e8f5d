"""`townhall connect`: the moderator TUI (`tui.app.build_moderator_app`) over a RemoteClient.

Everything the TUI relies on from the remote side is tested in test_remote_client.py.
"""

from __future__ import annotations

import asyncio

from aggregator.remote import RemoteClient
from tests.conftest import incoming
from tests.ws.conftest import Server
from tui.app import build_moderator_app


async def test_moderator_tui_over_a_remote_client_approves(server: Server, tokens) -> None:
    await server.queue.submit(incoming(1, "Remote question?"))
    client = RemoteClient(server.url, tokens["moderator"], name="Ana")
    await client.connect()
    app = build_moderator_app(client, meeting_title=client.meeting_title)
    async with app.run_test() as pilot:
        async with asyncio.timeout(10):
            while server.queue.get(1).status == "new":  # the row arrives, then `a` approves it
                await pilot.pause(0.2)
                await pilot.press("a")
    assert server.queue.get(1).status == "queued"
    assert server.queue.history(1)[-1].actor == "Ana"
    await client.close()
