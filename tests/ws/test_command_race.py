"""A refused command racing a good one over the real websocket leaves exactly the good one's
effect, in memory and on disk.

The scene: question 1 is live, 2 and 3 are queued. One connection sends a command naming a
question id no store can hold (2**70, beyond SQLite's 64-bit integers); another connection at
the same moment sends the host's `next`. The bad command must be refused at the boundary
(`invalid`, nothing decided, nothing written) and the good `next` must do exactly what it does
alone: 1 answered, 2 live, 3 still queued. A queue that decides the bad command in memory, fails
to write it and then rolls memory back around the good command's change ends with two live
questions and a question marked answered that the host never read.

Each scene runs on a fresh server ten times: the race depends on how the two frames interleave.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from aggregator.commands import Command
from aggregator.model import Status
from aggregator.store import Store
from tests.conftest import incoming
from tests.ws.conftest import Server, hello, read_until, snapshot_done

#: 2**70: a JSON integer that Python accepts and SQLite cannot store
HUGE = 1180591620717411303424
ATTEMPTS = range(10)

#: what one `next` does to "1 live, 2 and 3 queued", and nothing else
AFTER_ONE_NEXT = {1: Status.ANSWERED, 2: Status.LIVE, 3: Status.QUEUED}


async def _one_live_two_queued(server: Server) -> None:
    await server.queue.submit_batch([incoming(n, f"Question {n}?", author=f"p{n}")
                                     for n in (1, 2, 3)])
    for qid in (1, 2, 3):
        await server.queue.apply(Command(op="approve", question=qid), "setup")
    await server.queue.apply(Command(op="go_live", question=1), "setup")
    assert _statuses(server.queue.all()) == {1: Status.LIVE, 2: Status.QUEUED, 3: Status.QUEUED}


async def _connect(server: Server, role: str, token: str, name: str) -> ClientConnection:
    ws, welcome = await hello(server.url, role, token, name=name)
    assert welcome["type"] == "welcome", welcome
    await read_until(ws, snapshot_done)
    return ws


async def _reply(ws: ClientConnection, frame_id: str) -> dict[str, Any]:
    """The ack or error answering command `frame_id` (changed frames may come first)."""
    frames = await read_until(
        ws, lambda f: f["type"] in ("ack", "error") and f.get("id") == frame_id)
    return frames[-1]


def _statuses(questions: Any) -> dict[int, Status]:
    return {q.id: q.status for q in questions}


def _on_disk(server: Server) -> list[Any]:
    """A fresh read of the database, as `townhall export` would see it."""
    with Store(server.runtime.store.path, exclusive=False) as reader:
        return reader.load_questions()


async def _race(server: Server, first: tuple[ClientConnection, dict[str, Any]],
                second: tuple[ClientConnection, dict[str, Any]]
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Send both frames back to back on their own connections, then read both replies."""
    (ws1, frame1), (ws2, frame2) = first, second
    await ws1.send(json.dumps(frame1))
    await ws2.send(json.dumps(frame2))
    return await asyncio.gather(_reply(ws1, frame1["id"]), _reply(ws2, frame2["id"]))


def _assert_only_the_good_next_happened(server: Server) -> None:
    memory = server.queue.all()
    disk = _on_disk(server)
    for where, questions in (("memory", memory), ("disk", disk)):
        live = [q.id for q in questions if q.status is Status.LIVE]
        assert len(live) <= 1, f"two live questions in {where}: {live}"
        assert _statuses(questions) == AFTER_ONE_NEXT, where
    assert server.queue.live_id() == 2
    assert {q.id: q for q in memory} == {q.id: q for q in disk}
    assert not any(q.starred for q in disk)


def _assert_refused_at_the_boundary(reply: dict[str, Any], frame_id: str) -> None:
    assert reply["type"] == "error" and reply["id"] == frame_id, reply
    assert reply["code"] == "invalid", reply
    # refused before anything was decided, not a write that failed on the way
    assert "StoreError" not in reply["message"], reply


async def _scene(server: Server, tokens: dict[str, str], bad_role: str, bad_op: str) -> None:
    """A `bad_role` client sends `bad_op` on an id no store can hold while a host says next."""
    await _one_live_two_queued(server)
    sender = await _connect(server, bad_role, tokens[bad_role], f"{bad_role} sending bad")
    host = await _connect(server, "host", tokens["host"], "Host")
    bad = {"type": "command", "id": "bad", "op": bad_op, "question": HUGE}
    good = {"type": "command", "id": "good", "op": "next"}

    bad_reply, good_reply = await _race(server, (sender, bad), (host, good))

    await server.queue.flush()
    _assert_only_the_good_next_happened(server)
    _assert_refused_at_the_boundary(bad_reply, "bad")
    assert good_reply == {"type": "ack", "id": "good"}
    await sender.close()
    await host.close()


@pytest.mark.parametrize("attempt", ATTEMPTS)
async def test_a_bad_next_racing_a_good_next_leaves_one_live(
        server: Server, tokens: dict[str, str], attempt: int) -> None:
    await _scene(server, tokens, "host", "next")


@pytest.mark.parametrize("attempt", ATTEMPTS)
async def test_a_star_on_a_bad_id_racing_a_next_leaves_one_live(
        server: Server, tokens: dict[str, str], attempt: int) -> None:
    await _scene(server, tokens, "moderator", "star")
