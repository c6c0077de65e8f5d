"""Pilot tests of the after-call keys: end the meeting (asks, saying how many questions move)
and mark the recording's start, against a real queue on a temporary store."""

from __future__ import annotations

from .tui_helpers import loaded, make_app, wait_for

from aggregator.commands import Command
from aggregator.model import Status
from tests.conftest import incoming
from tui.screens.modals import ConfirmPrompt


async def test_end_meeting_asks_with_the_count_then_moves_and_undo_brings_back(queue):
    for i in range(1, 5):
        await queue.submit(incoming(i, text=f"Question number {i}?"))
    for qid in (1, 2, 3):
        await queue.apply(Command(op="approve", question=qid), "Simona")
    await queue.apply(Command(op="go_live", question=1), "Simona")
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmPrompt))
        assert app.screen.message.startswith("3 questions (the live one and the host list)")
        await pilot.press("n")
        await pilot.pause()
        assert queue.get(1).status is Status.LIVE and "ended_at" not in queue.store.meeting()
        await pilot.press("E")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmPrompt))
        await pilot.press("y")
        await wait_for(pilot, lambda: queue.get(3).status is Status.FOLLOW_UP)
        assert [queue.get(i).status for i in (1, 2, 3, 4)] == [
            Status.FOLLOW_UP, Status.FOLLOW_UP, Status.FOLLOW_UP, Status.NEW]
        assert "ended_at" in queue.store.meeting()
        await pilot.press("u")
        await wait_for(pilot, lambda: queue.get(1).status is Status.LIVE)
        assert [queue.get(i).rank for i in (2, 3)] == [0, 1]
        assert "ended_at" not in queue.store.meeting()


async def test_recording_started_now_is_one_key(queue):
    await queue.submit(incoming(1))
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("R")
        await wait_for(pilot, lambda: "recording_started_at" in queue.store.meeting())


async def test_both_are_in_the_command_palette(queue):
    app = make_app(queue)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert any(t.startswith("End the meeting") and "(E)" in t for t in titles)
        assert any(t.startswith("Recording started now") and "(R)" in t for t in titles)
