"""Zoom webhook mode against the real Townhall server on a loopback port.

Requests are signed exactly as Zoom signs them (townhall.simulators.zoom_sender) and shaped as
as Zoom documents them (docs/platforms.md, Zoom), with non-ASCII and emoji text.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from aggregator.collectors.zoom import WEBHOOK_PATH
from aggregator.config import parse_config
from tests.support.zoom_cloud import file_event
from townhall.runtime import Runtime
from aggregator.server.app import MAX_BODY
from townhall.simulators.zoom_sender import (
    ZoomWebhookSender,
    chat_event,
    encode,
    signed_headers,
    url_validation_event,
)

SECRET = "test_secret_token"
ENV = "TOWNHALL_TEST_ZOOM_SECRET"


async def _until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


class Server:
    def __init__(self, rt: Runtime, sender: ZoomWebhookSender) -> None:
        self.rt, self.sender = rt, sender

    @property
    def url(self) -> str:
        return self.sender.url

    def zoom_questions(self):
        return [q for q in self.rt.queue.all() if q.source == "zoom"]

    def detail(self) -> dict:
        health = self.rt.health.get("zoom")
        assert health is not None
        return health.detail


def _config(tmp_path: Path, secret_env: str = ENV):
    return parse_config(
        f'[store]\npath = "{tmp_path / "t.db"}"\n'
        f'[zoom]\nenabled = true\nsecret_token_env = "{secret_env}"\n'
    )


@pytest.fixture
async def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Server]:
    monkeypatch.setenv(ENV, SECRET)
    async with Runtime(_config(tmp_path), port=0) as rt:
        await _until(lambda: getattr(rt.health.get("zoom"), "state", None) == "live")
        url = f"http://127.0.0.1:{rt.bound_port}{WEBHOOK_PATH}"
        async with ZoomWebhookSender(url, SECRET) as sender:
            yield Server(rt, sender)


async def test_a_signed_chat_message_becomes_a_question(server: Server) -> None:
    body = chat_event("Q: ¿Habrá grabación? 🔑 日本語も", sender_name="Zoë Ø",
                      sender_email="Zoe@Example.org", meeting_id=85746065432)
    status, answer = await server.sender.send(body)
    assert status == 200 and answer["created"] is True
    [q] = server.zoom_questions()
    assert answer["question"] == q.id
    assert q.text == "Q: ¿Habrá grabación? 🔑 日本語も"
    assert (q.author.name, q.author.id, q.author.email) == ("Zoë Ø", "zoe@example.org",
                                                            "Zoe@Example.org")
    assert q.external_id == body["payload"]["object"]["chat_message"]["message_id"]
    assert q.meta["meeting_id"] == "85746065432" and q.meta["kind"] == "meeting"
    assert q.meta["meeting_uuid"] == "4444AAAiAAAAAiAiAiiAii=="
    assert "private" not in q.flags
    assert q.sent_at and q.sent_at.endswith("Z")
    # committed before the 2xx: the row is already in the database file
    conn = sqlite3.connect(server.rt.store.path)
    assert conn.execute("SELECT count(*) FROM questions WHERE source='zoom'").fetchone()[0] == 1
    conn.close()
    assert server.rt.health.get("zoom").received == 1
    assert server.detail()["accepted"] == 1


async def test_a_signed_file_event_becomes_a_question_naming_the_file(server: Server) -> None:
    body = file_event("Résumé 📎.pdf", kind="webinar")
    status, answer = await server.sender.send(body)
    assert status == 200 and answer["created"] is True
    [q] = server.zoom_questions()
    assert q.text == "Shared a file: Résumé 📎.pdf" and "attachment" in q.flags
    assert q.meta["event"] == "webinar.chat_message_file_sent"
    assert (await server.sender.send(body))[1]["created"] is False  # a redelivery: stored once
    assert len(server.zoom_questions()) == 1


async def test_webinar_message_to_hosts_only_is_private(server: Server) -> None:
    body = chat_event("Only for the panel: when do we start?", kind="webinar",
                      recipient_type="host", session_id="33555456")
    assert (await server.sender.send(body))[0] == 200
    [q] = server.zoom_questions()
    assert "private" in q.flags
    assert q.meta["kind"] == "webinar" and q.meta["recipient_type"] == "host"
    assert q.author.id == "session:33555456"


async def test_hostile_text_is_cleaned_at_ingestion(server: Server) -> None:
    body = chat_event("a\x1b]0;title\x07b\x1b[2Jc\u202eevil", sender_name="x\x1b[31mred\u2066")
    assert (await server.sender.send(body))[0] == 200
    [q] = server.zoom_questions()
    assert "\x1b" not in q.text and "\u202e" not in q.text and "\x07" not in q.text
    assert q.author.name == "x[31mred"


@pytest.mark.parametrize("case", ["wrong_secret", "no_headers", "reserialised", "tampered",
                                  "non_ascii_signature", "bad_timestamp"])
async def test_forged_requests_get_401_and_store_nothing(server: Server, case: str) -> None:
    body = chat_event("Forged? ✨")
    raw = encode(body)
    headers = signed_headers(SECRET, raw)
    if case == "wrong_secret":
        headers = signed_headers("not the secret", raw)
    elif case == "no_headers":
        headers = {"content-type": "application/json"}
    elif case == "reserialised":
        # Zoom's Node samples hash JSON.stringify(body); Python's json.dumps differs.
        headers = signed_headers(SECRET, json.dumps(body).encode())
    elif case == "tampered":
        raw = raw.replace("Forged".encode(), b"Altered")
    elif case == "non_ascii_signature":
        headers["x-zm-signature"] = "v0=ä" + "0" * 63
    elif case == "bad_timestamp":
        headers["x-zm-request-timestamp"] = "１２３"  # full-width digits are not a timestamp
    status, answer = await server.sender.post_raw(raw, headers)
    assert status == 401, answer
    assert server.zoom_questions() == []
    assert server.detail()["rejected"] == 1


@pytest.mark.parametrize("offset", [-301, 301])
async def test_stale_or_future_timestamp_gets_401(server: Server, offset: int) -> None:
    status, answer = await server.sender.send(chat_event("late"),
                                              timestamp=int(time.time()) + offset)
    assert status == 401 and "window" in answer["error"]
    assert server.zoom_questions() == []


async def test_a_timestamp_inside_the_window_is_accepted(server: Server) -> None:
    status, _ = await server.sender.send(chat_event("a bit late"), timestamp=int(time.time()) - 250)
    assert status == 200


async def test_redelivery_and_replay_store_one_question(server: Server) -> None:
    raw = encode(chat_event("Asked once, delivered often 🔁"))
    headers = signed_headers(SECRET, raw)
    first = await server.sender.post_raw(raw, headers)
    again = await asyncio.gather(*(server.sender.post_raw(raw, headers) for _ in range(5)))
    assert first[0] == 200 and first[1]["created"] is True
    assert all(s == 200 and a["created"] is False and a["question"] == first[1]["question"]
               for s, a in again)
    assert len(server.zoom_questions()) == 1
    assert server.detail()["duplicates"] == 5


async def test_concurrent_first_deliveries_store_one_question(server: Server) -> None:
    raw = encode(chat_event("raced"))
    headers = signed_headers(SECRET, raw)
    answers = await asyncio.gather(*(server.sender.post_raw(raw, headers) for _ in range(8)))
    assert [a["created"] for _, a in answers].count(True) == 1
    assert len(server.zoom_questions()) == 1


async def test_url_validation_answers_the_challenge(server: Server) -> None:
    status, answer = await server.sender.send(url_validation_event("qgg8vlvZRS6UYooatFL8Aw"))
    assert status == 200
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert answer == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}


async def test_unsigned_url_validation_is_refused(server: Server) -> None:
    raw = encode(url_validation_event())
    status, _ = await server.sender.post_raw(raw, {"content-type": "application/json"})
    assert status == 401


async def test_oversized_bodies_get_413_and_the_server_goes_on(server: Server) -> None:
    big = chat_event("x" * (MAX_BODY + 10))
    status, _ = await server.sender.send(big)
    assert status == 413

    raw = encode(big)

    async def chunks():  # no content-length: the limit must hold while streaming too
        for i in range(0, len(raw), 8192):
            yield raw[i:i + 8192]

    async with server.sender.session.post(server.url, data=chunks(),
                                          headers=signed_headers(SECRET, raw)) as response:
        assert response.status == 413
    assert server.zoom_questions() == []
    assert (await server.sender.send(chat_event("still here?")))[0] == 200


@pytest.mark.parametrize("raw, reason", [
    (b"{not json", "invalid JSON"),
    (b"\xff\xfe{}", "invalid JSON"),
    (b"[" * 20_000 + b"]" * 20_000, "invalid JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"payload": {}}', "event"),
    (b'{"event": "meeting.chat_message_sent"}', "payload"),
    (b'{"event": "meeting.chat_message_sent", "payload": {"object": {"chat_message": '
     b'{"message_content": "hi"}}}}', "message_id"),
    (b'{"event": "meeting.chat_message_sent", "payload": {"object": {"chat_message": '
     b'{"message_id": "m1", "message_content": 42}}}}', "message_content"),
    (b'{"event": "endpoint.url_validation", "payload": {}}', "plainToken"),
])
async def test_malformed_bodies_get_400_with_a_reason(server: Server, raw: bytes,
                                                      reason: str) -> None:
    status, answer = await server.sender.post_raw(raw, signed_headers(SECRET, raw))
    assert status == 400
    assert reason in answer["error"]
    assert server.zoom_questions() == []


async def test_unknown_events_get_204_and_are_counted(server: Server) -> None:
    body = {"event": "meeting.participant_joined", "event_ts": 1,
            "payload": {"object": {"id": "1"}}}
    for _ in range(2):
        status, answer = await server.sender.send(body)
        assert status == 204 and answer is None
    assert server.zoom_questions() == []
    detail = server.detail()
    assert detail["unknown_events"] == 2
    assert detail["unknown_event_names"] == {"meeting.participant_joined": 2}


async def test_store_failure_answers_503_and_the_retry_is_stored_once(server: Server) -> None:
    conn = sqlite3.connect(server.rt.store.path, timeout=10)
    conn.execute("CREATE TRIGGER fail_zoom BEFORE INSERT ON questions WHEN NEW.source = 'zoom' "
                 "BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END")
    conn.commit()
    raw = encode(chat_event("Will this survive a full disk?"))
    headers = signed_headers(SECRET, raw)
    try:
        status, _ = await server.sender.post_raw(raw, headers)
        assert status == 503
        assert server.zoom_questions() == []
        assert server.detail()["store_failures"] == 1
    finally:
        conn.execute("DROP TRIGGER fail_zoom")
        conn.commit()
        conn.close()
    status, answer = await server.sender.post_raw(raw, headers)  # Zoom's retry
    assert status == 200 and answer["created"] is True
    assert len(server.zoom_questions()) == 1


async def test_without_a_secret_the_collector_stops_and_webhooks_get_503(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    async with Runtime(_config(tmp_path), port=0) as rt:
        await _until(lambda: getattr(rt.health.get("zoom"), "state", None) == "stopped")
        assert ENV in rt.health.get("zoom").reason
        url = f"http://127.0.0.1:{rt.bound_port}{WEBHOOK_PATH}"
        async with ZoomWebhookSender(url, SECRET) as sender:
            status, _ = await sender.send(chat_event("anyone there?"))
        assert status == 503
        assert rt.queue.all() == []


async def test_healthz_shows_the_zoom_counters(server: Server) -> None:
    await server.sender.send(chat_event("counted"))
    port = server.rt.bound_port
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
            data = await response.json()
    [zoom] = [c for c in data["collectors"] if c["name"] == "zoom"]
    assert zoom["state"] == "live" and zoom["received"] == 1
    assert zoom["detail"]["accepted"] == 1
