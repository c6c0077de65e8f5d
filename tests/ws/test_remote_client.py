"""RemoteClient against the real server: events, commands, refusal, drops and resume."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aggregator.client import ConnectionChanged, HealthChanged
from aggregator.collectors.base import Backoff
from aggregator.commands import Command, CommandError
from aggregator.config import parse_config
from aggregator.remote import EXPORT_ANSWER, RemoteClient, RemoteRefused, websocket_url
from townhall.runtime import Runtime
from aggregator.subscription import Change, Snapshot
from tests.conftest import incoming
from tests.ws.conftest import Server, config_text


def fast_backoff() -> Backoff:
    return Backoff(initial=0.05, maximum=0.2)


async def next_event(events: AsyncIterator, kind: type, timeout: float = 5.0,
                     where=lambda e: True):  # noqa: ANN001, ANN201
    async with asyncio.timeout(timeout):
        async for event in events:
            if isinstance(event, kind) and where(event):
                return event
    raise AssertionError("events ended")


@pytest.fixture
async def moderator(server: Server, tokens) -> AsyncIterator[RemoteClient]:
    client = RemoteClient(server.url, tokens["moderator"], name="Ana", backoff=fast_backoff())
    await client.connect()
    yield client
    await client.close()


def test_websocket_url_forms() -> None:
    assert websocket_url("127.0.0.1:8765") == "ws://127.0.0.1:8765/ws"
    assert websocket_url("http://example.org:8765/") == "ws://example.org:8765/ws"
    assert websocket_url("https://example.org/townhall/ws") == "wss://example.org/townhall/ws"
    with pytest.raises(ValueError, match="not a websocket address"):
        websocket_url("ftp://example.org")


async def test_snapshot_changes_commands_and_history(server: Server, tokens) -> None:
    await server.queue.submit(incoming(1, "First?"))
    moderator = RemoteClient(server.url, tokens["moderator"], name="Ana")
    await moderator.connect()
    events = moderator.events()
    snapshot = await next_event(events, Snapshot)
    assert [q.text for q in snapshot.questions] == ["First?"]
    assert moderator.meeting_title == "Office hours"
    await moderator.command("approve", 1, if_version=1)
    change = await next_event(events, Change)
    assert change.question.status == "queued" and change.seq > snapshot.seq
    with pytest.raises(CommandError) as refused:
        await moderator.command("approve", 1, if_version=1)
    assert refused.value.code == "conflict"
    history = await moderator.history(1)
    assert [(h.actor, h.action) for h in history][-1] == ("Ana", "approve")
    with pytest.raises(CommandError) as missing:
        await moderator.history(99)
    assert missing.value.code == "not_found"
    server.runtime.health.set("zoom", "backoff", "HTTP 503")
    health = await next_event(events, HealthChanged,
                              where=lambda e: any(c.name == "zoom" for c in e.collectors))
    assert next(c for c in health.collectors if c.name == "zoom").reason == "HTTP 503"
    assert not moderator.can_export
    with pytest.raises(CommandError) as no_export:
        await moderator.export("json", "x.json")
    assert no_export.value.message == EXPORT_ANSWER
    assert "mod-secret" not in repr(moderator)
    await moderator.close()


async def test_wrong_token_is_refused_and_not_retried(server: Server) -> None:
    client = RemoteClient(server.url, "nope", name="Eve")
    with pytest.raises(RemoteRefused, match="wrong or missing token"):
        await client.connect()
    lazy = RemoteClient(server.url, "nope", name="Eve", backoff=fast_backoff())
    event = await next_event(lazy.events(), ConnectionChanged)
    assert not event.connected and "refused" in (event.reason or "")
    await lazy.close()


async def test_host_role_sees_only_the_host_list_and_may_only_say_next(
        server: Server, tokens) -> None:
    await server.queue.submit_batch([incoming(1), incoming(2), incoming(3)])
    for qid in (1, 2):
        await server.queue.apply(Command(op="approve", question=qid), "m")
    host = RemoteClient(server.url, tokens["host"], name="Maggie", role="host")
    await host.connect()
    events = host.events()
    snapshot = await next_event(events, Snapshot)
    assert sorted(q.id for q in snapshot.questions) == [1, 2]
    with pytest.raises(CommandError) as refused:
        await host.command("dismiss", 1, {"reason": "spam"})
    assert refused.value.code == "forbidden"
    await server.queue.apply(Command(op="go_live", question=1), "m")
    await next_event(events, Change, where=lambda c: c.question.status == "live")
    await host.command("next")
    answered = await next_event(events, Change, where=lambda c: c.question.id == 1)
    assert answered.question.status == "answered" and answered.question.text == ""
    await host.close()


async def test_drop_reconnect_and_resume_from_seq(tmp_path: Path, tokens) -> None:
    """The server goes away, comes back on the same port; the client resumes without reload."""
    config = parse_config(config_text(tmp_path / "t.db"))
    async with Runtime(config, collectors=[], port=0) as runtime:
        port = runtime.bound_port
        await runtime.queue.submit_batch([incoming(1), incoming(2)])
        client = RemoteClient(f"ws://127.0.0.1:{port}/ws", tokens["moderator"], name="Ana",
                              backoff=fast_backoff())
        await client.connect()
        events = client.events()
        snapshot = await next_event(events, Snapshot)
        assert len(snapshot.questions) == 2 and client.connected
    # server down
    down = await next_event(events, ConnectionChanged, where=lambda e: not e.connected)
    assert "retrying" in (down.reason or "")
    with pytest.raises(CommandError) as refused:
        await client.command("approve", 1)
    assert refused.value.code == "disconnected"
    assert not client.connected
    # the server comes back with what happened meanwhile (another moderator's work)
    async with Runtime(config, collectors=[], port=port) as runtime:
        await runtime.queue.submit_batch([incoming(3), incoming(4)])
        await runtime.queue.apply(Command(op="approve", question=1), "Bo")
        seen: list[object] = []
        async with asyncio.timeout(10):
            async for event in events:
                seen.append(event)
                if isinstance(event, Change) and event.question.id == 1:
                    break
        assert not any(isinstance(e, Snapshot) for e in seen)
        changes = [e for e in seen if isinstance(e, Change)]
        assert [c.question.id for c in changes] == [3, 4, 1]
        assert [c.seq for c in changes] == list(range(snapshot.seq + 1, snapshot.seq + 4))
        assert any(isinstance(e, ConnectionChanged) and e.connected for e in seen)
        await client.command("star", 3)  # works again
        assert runtime.queue.get(3).starred
        assert runtime.queue.history(3)[-1].actor == "Ana"
        await client.close()


async def test_command_in_flight_when_the_link_drops_fails_as_disconnected(
        server: Server, moderator) -> None:
    from aggregator.server.ws import SESSIONS

    await server.queue.submit(incoming(1))
    events = moderator.events()
    await next_event(events, Snapshot)
    original = server.queue.apply
    gate = asyncio.Event()

    async def slow_apply(command, actor):  # noqa: ANN001, ANN202
        await gate.wait()
        return await original(command, actor)

    server.queue.apply = slow_apply  # type: ignore[method-assign]
    pending = asyncio.create_task(moderator.command("star", 1))
    await asyncio.sleep(0.2)
    for ws in list(server.runtime.app[SESSIONS]):
        await ws.close()
    with pytest.raises(CommandError) as dropped:
        await pending
    assert dropped.value.code == "disconnected" and "may or may not" in dropped.value.message
    gate.set()
    server.queue.apply = original  # type: ignore[method-assign]
    await next_event(events, ConnectionChanged, where=lambda e: e.connected)
