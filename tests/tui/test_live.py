"""Arrivals while the moderator works ("N new"), health, connection loss, batching."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from .tui_helpers import loaded, make_app, wait_for

from aggregator.client import ClientEvent, ConnectionChanged, LocalClient
from aggregator.commands import CommandError
from aggregator.health import HealthRegistry
from aggregator.subscription import Snapshot
from tests.conftest import incoming
from tui.app import build_moderator_app
from tui.screens.modals import ChoicePrompt, TextPrompt


async def test_arrivals_never_move_cursor_or_scroll_and_count_as_new(queue):
    for i in range(1, 61):
        await queue.submit(incoming(i, text=f"Question {i}?"))
    app = make_app(queue)
    async with app.run_test(size=(100, 30)) as pilot:
        m = await loaded(pilot)
        await pilot.press("pagedown", "pagedown")
        await pilot.pause()
        cursor, top = m.queue_list.cursor_id, m.queue_list.scroll_offset.y
        first_visible = m.model.view.id_at(int(top))
        assert top > 0
        for i in range(61, 64):
            await queue.submit(incoming(i, text=f"Late {i}?"))
        await wait_for(pilot, lambda: m.model.counts()["incoming"] == 63)
        await pilot.pause()
        assert m.queue_list.cursor_id == cursor
        assert m.model.view.id_at(int(m.queue_list.scroll_offset.y)) == first_visible
        assert m.queue_list.pending_new == 3
        assert "3 new (g / home)" in m.tabs_plain
        await pilot.press("g")
        await pilot.pause()
        assert m.queue_list.pending_new == 0 and m.queue_list.scroll_offset.y == 0
        assert m.queue_list.cursor_id == 63
        assert "new (" not in m.tabs_plain


async def test_at_the_top_arrivals_show_and_cursor_keeps_its_question(queue):
    await queue.submit(incoming(1))
    app = make_app(queue)
    async with app.run_test(size=(100, 30)) as pilot:
        m = await loaded(pilot)
        await queue.submit(incoming(2))
        await wait_for(pilot, lambda: len(m.model.view) == 2)
        assert m.queue_list.cursor_id == 1 and m.queue_list.cursor_row == 1
        assert m.queue_list.pending_new == 0  # visible, so not "new"


async def test_a_burst_of_arrivals_reaches_the_list_in_few_batches(queue):
    await queue.submit(incoming(0))
    app = make_app(queue)
    batches: list[int] = []
    created: list[int] = []
    async with app.run_test(size=(100, 30)) as pilot:
        m = await loaded(pilot)
        original = m.queue_list.apply_batch

        def counting(result):  # type: ignore[no-untyped-def]
            batches.append(len(result.ops))
            created.append(result.created)
            original(result)

        m.queue_list.apply_batch = counting  # type: ignore[method-assign]
        await queue.submit_batch([incoming(i) for i in range(1, 201)])
        await wait_for(pilot, lambda: len(m.model.view) == 201)
    # 200 arrivals in one commit: one or two UI batches, never one per message
    assert 1 <= len(batches) <= 3, batches
    # and together the batches insert every arrival exactly once: none lost, none twice
    assert sum(batches) == 200 and sum(created) == 200, (batches, created)


async def test_an_own_command_is_shown_at_once_while_arrivals_wait_for_their_batch(
        queue, monkeypatch):
    """The moderator's approve must not wait for the arrivals' batch timer, even when an
    arrival's change comes in between the key press and the approve's own change (the batch
    interval is stretched to 30 s, so any waiting would show)."""
    monkeypatch.setattr("tui.screens.main.BATCH_INTERVAL", 30.0)
    await queue.submit(incoming(1))
    app = make_app(queue)
    async with app.run_test(size=(100, 30)) as pilot:
        m = await loaded(pilot)
        m._last_flush = time.monotonic()  # noqa: SLF001 - as if a batch had just been shown
        arrival = asyncio.create_task(queue.submit(incoming(2)))  # committed first
        await pilot.press("a")  # approves #1, under the cursor
        await arrival
        await wait_for(pilot, lambda: m.model.counts()["host"] == 1, rounds=100)
        assert m.model.questions[1].status.value == "queued"


async def test_collector_failure_shows_in_status_line_and_notifies(queue):
    health = HealthRegistry()
    health.set("youtube", "live", quota_spent=120, quota_projected=9000)
    health.set("server", "live", "http://127.0.0.1:8765")
    app = build_moderator_app(LocalClient(queue, health, actor="ana"), clock=None)
    async with app.run_test(size=(140, 30), notifications=True) as pilot:
        m = await loaded(pilot)
        await wait_for(pilot, lambda: "YouTube live" in m.status_line.plain)
        assert "quota spent 120" in m.status_line.plain
        assert "server live" in m.status_line.plain
        health.set("youtube", "backoff", "HTTP 500 [/] from the API",
                   retry_at="2022-11-10T14:31:05.000Z")
        health.set("server", "stopped", "cannot listen on 127.0.0.1:8765 (in use)")
        await wait_for(pilot, lambda: "backoff" in m.status_line.plain)
        assert "HTTP 500 [/] from the API (retry 14:31:05)" in m.status_line.plain
        await wait_for(pilot, lambda: len(app._notifications) >= 2)
        messages = [n.message for n in app._notifications]
        assert any("youtube backoff: HTTP 500 [/]" in msg for msg in messages)
        assert any("server stopped" in msg for msg in messages)
        await pilot.press("down")  # still working
        assert app.is_running


class FlakyClient(LocalClient):
    """A LocalClient whose link drops after the snapshot, as a remote one can."""

    async def events(self) -> AsyncIterator[ClientEvent]:
        async for event in super().events():
            yield event
            if isinstance(event, Snapshot):
                yield ConnectionChanged(False, "server went away [@click=app.quit]x[/]")
                return

    async def command(self, op, question=None, args=None, if_version=None):  # type: ignore[no-untyped-def]
        raise CommandError("disconnected", "not connected to the server")

    async def history(self, question_id):  # type: ignore[no-untyped-def]
        raise OSError("link down")

    async def export(self, fmt, path):  # type: ignore[no-untyped-def]
        raise CommandError("invalid", "export runs on the server: `townhall export`")


async def test_disconnection_is_shown_and_commands_fail_softly(queue):
    await queue.submit(incoming(1))
    app = build_moderator_app(FlakyClient(queue, actor="ana"), clock=None)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        m = await loaded(pilot)
        await wait_for(pilot, lambda: "DISCONNECTED" in m.status_line.plain)
        assert "[@click=app.quit]x[/]" in m.status_line.plain
        await pilot.press("a")
        await wait_for(pilot, lambda: any("not connected" in n.message
                                          for n in app._notifications))
        await pilot.press("ctrl+e")  # a remote client says where exports run
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePrompt))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPrompt))
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("export runs on the server" in n.message
                                          for n in app._notifications))
        await wait_for(pilot, lambda: "history unavailable" in m.detail.plain)
        assert app.is_running
        # the refused approve changed nothing, and the export dialogs closed behind the error
        assert m.model.questions[1].status.value == "new"
        assert app.screen is m and m.queue_list.cursor_id == 1
