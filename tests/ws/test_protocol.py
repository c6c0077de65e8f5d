"""The /ws protocol against the real server on a real port, with `websockets` clients."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from websockets.exceptions import ConnectionClosed

from aggregator.commands import Command
from aggregator.model import Author, Incoming
from tests.conftest import incoming
from tests.ws.conftest import Server, hello, read_until, snapshot_done


async def _approve_and_live(server: Server, *ids: int, live: int | None = None) -> None:
    for qid in ids:
        await server.queue.apply(Command(op="approve", question=qid), "setup")
    if live is not None:
        await server.queue.apply(Command(op="go_live", question=live), "setup")


#: nesting deep enough that the JSON decoder raises RecursionError (not a DecodeError)
DEEP = "[" * 5_000 + "]" * 5_000


# --- auth -----------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["moderator", "host", "overlay"])
async def test_right_token_gets_welcome_and_snapshot(server: Server, tokens, role) -> None:
    ws, welcome = await hello(server.url, role, tokens[role])
    assert welcome["type"] == "welcome" and welcome["role"] == role
    assert welcome["meeting"] == "Office hours"
    frames = await read_until(ws, snapshot_done)
    assert frames[-1]["questions"] == []
    await ws.close()


@pytest.mark.parametrize("token", ["wrong", "", None, "host-secret-2", "mod-secret-1x"])
async def test_wrong_token_gets_error_frame_and_close(server: Server, token, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    ws, frame = await hello(server.url, "moderator", token)
    assert frame["type"] == "error" and frame["code"] == "forbidden"
    with pytest.raises(ConnectionClosed) as closed:
        await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert "refused websocket client" in caplog.text
    for secret in ("mod-secret-1", "host-secret-2", "overlay-secret-3"):
        assert secret not in caplog.text


async def test_a_higher_role_token_opens_a_lower_role(server: Server, tokens) -> None:
    ws, welcome = await hello(server.url, "host", tokens["moderator"])
    assert welcome["type"] == "welcome" and welcome["role"] == "host"
    await ws.close()
    ws, frame = await hello(server.url, "host", tokens["overlay"])
    assert frame["type"] == "error"
    await ws.close()


@pytest.mark.parametrize("first", ['{"type":"command","op":"next"}', "not json", '[1,2]',
                                   '{"type":"hello","role":"admin","token":"x"}',
                                   DEEP])
async def test_malformed_hello_is_refused(server: Server, first: str) -> None:
    from websockets.asyncio.client import connect

    async with connect(server.url, proxy=None) as ws:
        await ws.send(first)
        frame = json.loads(await ws.recv())
        assert frame["type"] == "error" and frame["code"] == "invalid"
        with pytest.raises(ConnectionClosed):
            await ws.recv()


async def test_bad_frames_after_hello_get_errors_and_the_session_survives(
        server: Server, tokens) -> None:
    ws, _ = await hello(server.url, "moderator", tokens["moderator"])
    await read_until(ws, snapshot_done)
    for bad in ["nope", "[]", '{"type":"dance"}', '{"type":"command","id":"x"}',
                '{"type":"command","id":"y","op":"dismiss","question":99,"args":{"reason":"x"}}',
                '{"type":"command","id":"w","op":"tag","question":1,"args":{"tags":"x"}}',
                '{"type":"command","id":"z","op":"approve","question":"12"}', DEEP,
                '{"type":"command","id":"d","op":"add","args":{"text":' + DEEP + '}}']:
        await ws.send(bad)
        frame = json.loads(await ws.recv())
        assert frame["type"] == "error", bad
    await ws.send(json.dumps({"type": "command", "id": "ok", "op": "add",
                              "args": {"text": "Still here?"}}))
    frames = await read_until(ws, lambda f: f["type"] == "ack")
    assert frames[-1]["id"] == "ok"
    await ws.close()


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"},
                                     {"Origin": "null"}])
async def test_cross_site_pages_are_refused(server: Server, headers) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        await connect(server.url, proxy=None, origin=headers["Origin"])
    assert refused.value.response.status_code == 403


def test_a_rebound_host_name_is_refused_on_loopback() -> None:
    from aiohttp.test_utils import make_mocked_request

    from aggregator.server.auth import Tokens
    from aggregator.server.ws import _cross_site

    open_loopback = Tokens({}, loopback=True)
    rebound = make_mocked_request("GET", "/ws", headers={"Host": "evil.example:8765",
                                                         "Origin": "http://evil.example:8765"})
    assert "not this loopback server" in (_cross_site(rebound, open_loopback) or "")
    local = make_mocked_request("GET", "/ws", headers={"Host": "localhost:8765"})
    assert _cross_site(local, open_loopback) is None
    public = Tokens({"moderator": "t"}, loopback=False)
    named = make_mocked_request("GET", "/ws", headers={"Host": "townhall.example.org"})
    assert _cross_site(named, public) is None
    # one role still open on loopback: a proxied host name is refused as a rebinding would be
    partly = Tokens({"moderator": "m", "host": "h"}, loopback=True)
    assert "not this loopback server" in (_cross_site(named, partly) or "")
    # every role locked: a TLS proxy or tunnel on this machine forwards its public name
    locked = Tokens({"moderator": "m", "host": "h", "overlay": "o"}, loopback=True)
    proxied = make_mocked_request("GET", "/ws", headers={
        "Host": "townhall.example.org", "Origin": "https://townhall.example.org"})
    assert _cross_site(proxied, locked) is None
    assert _cross_site(rebound, locked) is None  # the Origin matches: only a token opens it


async def test_same_origin_pages_are_allowed(server: Server, tokens) -> None:
    ws, welcome = await hello(server.url, "overlay", tokens["overlay"],
                              origin=f"http://127.0.0.1:{server.port}")
    assert welcome["type"] == "welcome"
    await ws.close()


# --- roles ----------------------------------------------------------------------------------

async def _seed_roles(server: Server) -> None:
    await server.queue.submit_batch([
        incoming(1, "Live one?", source="email", author="Ana", author_id="ana@example.org",
                 email="ana@example.org"),
        incoming(2, "Queued one?", source="email", author="Bo", author_id="bo@example.org",
                 email="bo@example.org"),
        incoming(3, "Still new?", author="Cy"),
        incoming(4, "Dismiss me", author="Di"),
    ])
    await _approve_and_live(server, 1, 2, live=1)
    await server.queue.apply(Command(op="dismiss", question=4, args={"reason": "spam"}), "setup")


async def test_overlay_sees_only_the_live_question_without_emails(server: Server, tokens) -> None:
    await _seed_roles(server)
    ws, _ = await hello(server.url, "overlay", tokens["overlay"])
    frames = await read_until(ws, snapshot_done)
    questions = [q for f in frames if f["type"] == "snapshot" for q in f["questions"]]
    assert [(q["id"], q["status"]) for q in questions] == [(1, "live")]
    # moderators act: 1 answered, 2 live, a new question and a dismissal arrive
    await server.queue.apply(Command(op="next"), "mod")
    await server.queue.submit(incoming(5, "Brand new", source="email", author="Ed",
                                       author_id="ed@example.org", email="ed@example.org"))
    await server.queue.apply(Command(op="dismiss", question=3, args={"reason": "spam"}), "mod")
    await server.queue.apply(Command(op="star", question=2), "mod")
    starred = server.queue.get(2).version  # the overlay learns the new version, not the star
    frames += await read_until(ws, lambda f: f["type"] == "changed"
                               and f["question"]["version"] == starred)
    assert all("starred" not in f["question"] for f in frames if f["type"] == "changed")
    raw = json.dumps(frames)
    assert "@" not in raw
    for hidden in ("Still new", "Dismiss me", "Brand new", "Queued one? (none)"):
        assert hidden not in raw
    changed = [(f["question"]["id"], f["question"]["status"]) for f in frames
               if f["type"] == "changed"]
    assert changed[:2] in ([(1, "answered"), (2, "live")], [(2, "live"), (1, "answered")])
    tomb = next(f["question"] for f in frames if f["type"] == "changed"
                and f["question"]["status"] == "answered")
    assert tomb["text"] == "" and tomb["author"]["name"] == ""
    assert all(f["type"] != "health" for f in frames)
    await ws.close()


async def test_host_gets_queued_and_live_only_and_may_only_say_next(
        server: Server, tokens) -> None:
    await _seed_roles(server)
    ws, _ = await hello(server.url, "host", tokens["host"])
    frames = await read_until(ws, snapshot_done)
    questions = [q for f in frames if f["type"] == "snapshot" for q in f["questions"]]
    assert sorted((q["id"], q["status"]) for q in questions) == [(1, "live"), (2, "queued")]
    assert "@" not in json.dumps(frames)
    for op, qid in (("dismiss", 2), ("approve", 3), ("go_live", 2), ("undo", None)):
        await ws.send(json.dumps({"type": "command", "id": op, "op": op, "question": qid,
                                  "args": {"reason": "spam"}}))
        frame = json.loads(await ws.recv())
        assert (frame["type"], frame["code"], frame["id"]) == ("error", "forbidden", op)
    await ws.send(json.dumps({"type": "history", "id": "h", "question": 1}))
    assert json.loads(await ws.recv())["code"] == "forbidden"
    assert server.queue.get(2).status == "queued"
    await ws.send(json.dumps({"type": "command", "id": "n1", "op": "next", "question": None}))
    frames = await read_until(ws, lambda f: f["type"] == "ack")
    assert frames[-1]["id"] == "n1"
    assert server.queue.get(1).status == "answered" and server.queue.get(2).status == "live"
    assert server.queue.history(1)[-1].actor == "host:Ana"
    await ws.close()


async def test_moderator_gets_everything_and_health(server: Server, tokens) -> None:
    await _seed_roles(server)
    ws, _ = await hello(server.url, "moderator", tokens["moderator"])
    frames = await read_until(ws, snapshot_done)
    questions = [q for f in frames if f["type"] == "snapshot" for q in f["questions"]]
    assert len(questions) == 4
    assert any(q["author"].get("email") == "ana@example.org" for q in questions)
    server.runtime.health.set("youtube", "live")  # pushed to connected moderators
    frames = await read_until(ws, lambda f: f["type"] == "health")
    assert any(c["name"] == "youtube" and c["state"] == "live" for c in frames[-1]["collectors"])
    await ws.send(json.dumps({"type": "history", "id": "h1", "question": 4}))
    frames = await read_until(ws, lambda f: f["type"] == "history")
    assert [e["action"] for e in frames[-1]["entries"]][-1] == "dismiss"
    await ws.close()


# --- large snapshot -------------------------------------------------------------------------

async def test_snapshot_of_50000_questions_arrives_in_chunks(server: Server, tokens) -> None:
    batch = [Incoming(source="youtube", external_id=f"big-{i}",
                      author=Author(name=f"Person {i % 977}", id=f"UC{i % 977}"),
                      text=f"Question number {i}: what about item {i * 7}?")
             for i in range(50_000)]
    await server.queue.submit_batch(batch)
    ws, welcome = await hello(server.url, "moderator", tokens["moderator"])
    frames = await read_until(ws, snapshot_done, timeout=60)
    snapshots = [f for f in frames if f["type"] == "snapshot"]
    assert len(snapshots) > 1
    ids = [q["id"] for f in snapshots for q in f["questions"]]
    assert len(ids) == 50_000 and len(set(ids)) == 50_000
    assert snapshots[-1]["seq"] == welcome["seq"] == server.queue.seq
    await ws.close()


# --- resume ---------------------------------------------------------------------------------

async def test_resume_from_seq_after_a_drop_sends_only_what_was_missed(
        server: Server, tokens) -> None:
    await server.queue.submit_batch([incoming(i) for i in range(1, 6)])
    ws, _ = await hello(server.url, "moderator", tokens["moderator"])
    frames = await read_until(ws, snapshot_done)
    last_seq = frames[-1]["seq"]
    await ws.close()  # the drop
    await server.queue.submit_batch([incoming(i) for i in range(6, 9)])
    await server.queue.apply(Command(op="approve", question=2), "Bo")
    ws, welcome = await hello(server.url, "moderator", tokens["moderator"], since=last_seq)
    assert welcome["resumed"] is True
    frames = await read_until(ws, lambda f: f["type"] == "changed" and f["question"]["id"] == 2)
    changed = [f for f in frames if f["type"] == "changed"]
    assert all(f["type"] != "snapshot" for f in frames)
    assert [f["seq"] for f in changed] == list(range(last_seq + 1, last_seq + 5))
    assert [f["question"]["id"] for f in changed] == [6, 7, 8, 2]
    await ws.close()


async def test_since_beyond_the_server_seq_gets_a_snapshot(server: Server, tokens) -> None:
    await server.queue.submit(incoming(1))
    ws, welcome = await hello(server.url, "moderator", tokens["moderator"], since=10_000)
    assert welcome["resumed"] is False
    frames = await read_until(ws, snapshot_done)
    assert len(frames[-1]["questions"]) == 1
    await ws.close()


# --- concurrency ----------------------------------------------------------------------------

async def test_two_moderators_on_one_question_one_wins_the_other_gets_conflict(
        server: Server, tokens) -> None:
    await server.queue.submit(incoming(1, "Contested?"))
    version = server.queue.get(1).version
    (ana, _), (bo, _) = await asyncio.gather(
        hello(server.url, "moderator", tokens["moderator"], name="Ana"),
        hello(server.url, "moderator", tokens["moderator"], name="Bo"))
    await asyncio.gather(read_until(ana, snapshot_done), read_until(bo, snapshot_done))
    commands = [
        (ana, {"type": "command", "id": "a", "op": "approve", "question": 1,
               "if_version": version}),
        (bo, {"type": "command", "id": "b", "op": "dismiss", "question": 1,
              "args": {"reason": "off_topic"}, "if_version": version}),
    ]
    await asyncio.gather(*(ws.send(json.dumps(c)) for ws, c in commands))
    answers = await asyncio.gather(
        *(read_until(ws, lambda f: f["type"] in ("ack", "error")) for ws, _ in commands))
    kinds = sorted(frames[-1]["type"] for frames in answers)
    assert kinds == ["ack", "error"]
    loser = next(frames[-1] for frames in answers if frames[-1]["type"] == "error")
    assert loser["code"] == "conflict"
    final = server.queue.get(1)
    assert final.version == version + 1
    assert final.status in ("queued", "dismissed")
    winner = "Ana" if final.status == "queued" else "Bo"
    assert server.queue.history(1)[-1].actor == winner
    # the loser sees the new state (before or after its error: both follow the commit)
    loser_ws, seen = (bo, answers[1]) if winner == "Ana" else (ana, answers[0])
    changed = [f for f in seen if f["type"] == "changed"]
    if not changed:
        changed = (await read_until(loser_ws, lambda f: f["type"] == "changed"))[-1:]
    assert changed[-1]["question"]["version"] == version + 1
    await ana.close()
    await bo.close()


async def test_many_concurrent_commands_are_applied_once_each(server: Server, tokens) -> None:
    await server.queue.submit_batch([incoming(i) for i in range(1, 21)])
    clients = [await hello(server.url, "moderator", tokens["moderator"], name=f"M{i}")
               for i in range(3)]
    for ws, _ in clients:
        await read_until(ws, snapshot_done)
    # every client tries to star every question once, at the same time
    sends = []
    for n, (ws, _) in enumerate(clients):
        for qid in range(1, 21):
            sends.append(ws.send(json.dumps({"type": "command", "id": f"{n}-{qid}", "op": "star",
                                             "question": qid, "if_version": 1})))
    await asyncio.gather(*sends)
    results = await asyncio.gather(*(read_until(
        ws, lambda f, want=set(f"{n}-{q}" for q in range(1, 21)):
        f["type"] in ("ack", "error") and not want.discard(f["id"]) and not want)
        for n, (ws, _) in enumerate(clients)))
    outcomes = [f for frames in results for f in frames if f["type"] in ("ack", "error")]
    assert len(outcomes) == 60
    assert sum(f["type"] == "ack" for f in outcomes) == 20
    assert all(f["code"] == "conflict" for f in outcomes if f["type"] == "error")
    assert all(server.queue.get(q).version == 2 and server.queue.get(q).starred
               for q in range(1, 21))
    for ws, _ in clients:
        await ws.close()


# --- frames that end a session --------------------------------------------------------------

async def test_an_oversized_frame_closes_the_socket_quietly(server: Server, tokens,
                                                            caplog) -> None:
    from aggregator.server.ws import MAX_CLIENT_FRAME

    caplog.set_level(logging.DEBUG)
    ws, _ = await hello(server.url, "moderator", tokens["moderator"])
    await read_until(ws, snapshot_done)
    await ws.send('{"type":"command","id":"big","op":"add","args":{"text":"'
                  + "x" * MAX_CLIENT_FRAME + '"}}')
    frames = []
    with pytest.raises(ConnectionClosed) as closed:
        async with asyncio.timeout(10):
            while True:
                frames.append(json.loads(await ws.recv()))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert all(f["type"] != "error" for f in frames)  # nobody is left to read an answer
    assert "Traceback" not in caplog.text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
    assert server.queue.seq == 0  # nothing of it was applied


async def test_a_repeated_next_answers_only_the_question_the_host_saw(server: Server,
                                                                      tokens) -> None:
    for n in (1, 2, 3):
        await server.queue.submit(incoming(n, f"Question {n}?"))
        await server.queue.apply(Command(op="approve", question=n), "mod")
    await server.queue.apply(Command(op="next"), "mod")  # 1 live, 2 and 3 queued
    ws, _ = await hello(server.url, "host", tokens["host"], name="Maggie")
    await read_until(ws, snapshot_done)
    for frame_id in ("n1", "n2"):  # a double click: both say "#1 is live"
        await ws.send(json.dumps({"type": "command", "id": frame_id, "op": "next",
                                  "args": {"live": 1}}))
    answers = [await read_until(ws, lambda f, i=i: f.get("id") == i) for i in ("n1", "n2")]
    assert answers[0][-1]["type"] == "ack"
    assert answers[1][-1]["type"] == "error" and answers[1][-1]["code"] == "conflict"
    assert [server.queue.get(n).status for n in (1, 2, 3)] == ["answered", "live", "queued"]
    await ws.close()
