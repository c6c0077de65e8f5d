"""`townhall connect`: the moderator TUI (issue 6's factory) over a RemoteClient.

The factory `tui.app.build_moderator_app` is written in parallel (issue 6); until it is merged
this test is skipped for that reason alone. Everything the TUI relies on from the remote side
is tested in test_remote_client.py.
"""

from __future__ import annotations

import asyncio

import pytest

from aggregator.remote import RemoteClient
from tests.conftest import incoming
from tests.ws.conftest import Server

tui_app = pytest.importorskip("tui.app", reason="tui.app.build_moderator_app (issue 6) is "
                                                "not on this branch yet")


async def test_moderator_tui_over_a_remote_client_approves(server: Server, tokens) -> None:
    await server.queue.submit(incoming(1, "Remote question?"))
    client = RemoteClient(server.url, tokens["moderator"], name="Ana")
    await client.connect()
    app = tui_app.build_moderator_app(client, meeting_title=client.meeting_title)
    async with app.run_test() as pilot:
        async with asyncio.timeout(10):
            while server.queue.get(1).status == "new":  # the row arrives, then `a` approves it
                await pilot.pause(0.2)
                await pilot.press("a")
    assert server.queue.get(1).status == "queued"
    assert server.queue.history(1)[-1].actor == "Ana"
    await client.close()
