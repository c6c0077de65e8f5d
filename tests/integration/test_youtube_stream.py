"""The YouTube collector streaming the chat, and `auto` falling back to polling.

FakeYouTubeAPI (townhall/simulators) serves the stream on a loopback port: a chunked JSON
array, cut into 7-byte chunks here so that every element crosses chunk boundaries, ended by
the server after a fraction of a second so that every test also reconnects.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest

from aggregator.collectors.base import CollectorEnded, CollectorStopped
from aggregator.collectors.youtube import CHECKPOINT
from aggregator.commands import Command
from aggregator.health import HealthRegistry
from aggregator.model import Status
from aggregator.queue import QuestionQueue
from townhall.simulators.youtube_api import FakeYouTubeAPI
from tests.conftest import started_queue
from tests.support.youtube_helpers import (
    VIDEO, Sleeps, collector, live_video, run_to_end, run_until, texts, yt_config,
)

pytestmark = pytest.mark.usefixtures("youtube_key")


@pytest.fixture
async def fake() -> AsyncIterator[FakeYouTubeAPI]:
    async with live_video(polling_millis=20, history_limit=3, stream_seconds=0.3,
                          stream_tick=0.01, stream_chunk_bytes=7) as api:
        yield api


def requests_to(fake: FakeYouTubeAPI, suffix: str) -> list[dict[str, str]]:
    return [r.params for r in fake.requests if r.path.endswith(suffix)]


def streams(fake: FakeYouTubeAPI) -> list[dict[str, str]]:
    return requests_to(fake, "/messages/stream")


def polls(fake: FakeYouTubeAPI) -> list[dict[str, str]]:
    return requests_to(fake, "/liveChat/messages")


def detail(health: HealthRegistry) -> dict[str, object]:
    state = health.get("youtube")
    return dict(state.detail) if state else {}


async def test_auto_streams_each_element_committed_with_its_token(
        fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    for i in range(5):
        fake.say("chat-1", f"old {i}?")
    health = HealthRegistry()
    c = collector(yt_config(fake.url, transport="auto"), health)

    def backlog_then_live() -> bool:  # one run: a restart may reconnect sooner than allowed
        if len(queue) == 3 and not fake.message_ids("chat-1")[5:]:
            fake.say("chat-1", "live one?")
        return len(queue) == 4 and len(streams(fake)) >= 3
    await run_until(c, queue, backlog_then_live)
    by_text = {q.text: q for q in queue.all()}
    assert sorted(by_text) == ["live one?", "old 2?", "old 3?", "old 4?"]
    assert all("history" in by_text[f"old {i}?"].flags for i in (2, 3, 4))
    assert "history" not in by_text["live one?"].flags
    assert not polls(fake)  # streamed only
    sent = streams(fake)
    assert sent[0] == {"liveChatId": "chat-1", "part": "id,snippet,authorDetails",
                       "key": "test-key"}
    assert all("maxResults" not in p for p in sent)
    # every reconnect resumes from a token the collector had committed
    assert all("pageToken" in p for p in sent[1:])
    state = health.get("youtube")
    assert state is not None and state.state == "live"
    assert "streaming" in (state.reason or "") and 'transport = "auto"' in (state.reason or "")
    assert detail(health)["transport"] == "stream"
    assert fake.stream_too_soon == 0  # reconnects wait for pollingIntervalMillis


async def test_reconnects_wait_the_server_interval_and_resume_from_the_token(
        queue: QuestionQueue) -> None:
    async with FakeYouTubeAPI(polling_millis=300, stream_seconds=0.05,
                              stream_tick=0.01) as fake:
        fake.add_video(VIDEO, "chat-1")
        delays: list[float] = []

        async def sleep(delay: float) -> None:
            delays.append(delay)
            await asyncio.sleep(delay)

        c = collector(yt_config(fake.url, transport="stream"), sleep=sleep)
        fake.say("chat-1", "one?")

        def one_then_two() -> bool:
            if len(queue) == 1 and len(streams(fake)) >= 2 and len(fake.message_ids("chat-1")) == 1:
                fake.say("chat-1", "two?")
            return len(queue) == 2
        await run_until(c, queue, one_then_two)
        assert sorted(texts(queue)) == ["one?", "two?"]
        # between connections: at least the server's 0.3 s, and never refused as too fast
        assert delays and all(d >= 0.3 for d in delays)
        assert fake.stream_too_soon == 0
        tokens = [p.get("pageToken") for p in streams(fake)]
        assert tokens[0] is None and all(tokens[1:])
        # the checkpoint holds the token after both messages (the fake's tokens count them)
        assert queue.checkpoint(CHECKPOINT)["page_token"] == base64.urlsafe_b64encode(
            b"chat-1\n2").decode()


async def test_the_fake_refuses_a_reconnect_sooner_than_the_interval() -> None:
    async with FakeYouTubeAPI(polling_millis=60_000, stream_seconds=0.01) as fake:
        fake.add_chat("c")
        url = fake.url + "youtube/v3/liveChat/messages/stream"
        params = {"liveChatId": "c", "part": "snippet", "key": "test-key"}
        async with aiohttp.ClientSession() as session:
            async with session.get(url, params=params) as first:
                body = json.loads(await first.read())
            async with session.get(url, params=params) as second:
                refused = json.loads(await second.read())
                status = second.status
        assert first.status == 200 and isinstance(body, list) and "nextPageToken" in body[0]
        assert status == 429 and refused[0]["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert fake.stream_too_soon == 1


async def test_too_fast_and_transient_stream_errors_back_off_then_stream_again(
        fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    health = HealthRegistry()
    seen: list[str] = []
    fake.fail("rateLimitExceeded", status=429, endpoint="stream")
    fake.fail("backendError", endpoint="stream")
    fake.say("chat-1", "still arrives?")

    def done() -> bool:
        state = health.get("youtube")
        if state:
            seen.append(state.state)
        return len(queue) == 1
    await run_until(collector(yt_config(fake.url, transport="auto"), health), queue, done)
    assert "backoff" in seen and not polls(fake)


async def test_auto_polls_when_the_stream_answers_404_and_says_why(
        queue: QuestionQueue) -> None:
    async with FakeYouTubeAPI(polling_millis=20, stream_enabled=False) as fake:
        fake.add_video(VIDEO, "chat-1")
        fake.say("chat-1", "via list?")
        health = HealthRegistry()
        c = collector(yt_config(fake.url, transport="auto"), health)
        await run_until(c, queue, lambda: len(queue) == 1 and len(polls(fake)) >= 2
                        and "polling" in (health.get("youtube").reason or ""))
        state = health.get("youtube")
        assert state is not None and state.state == "live"
        assert "polling every" in (state.reason or "")
        assert "stream answered 404" in (state.reason or "")
        assert detail(health)["transport"] == "poll"
        assert "404" in str(detail(health)["transport_reason"])
        assert len(streams(fake)) == 1  # tried once, then polled


async def test_auto_polls_when_the_stream_is_forbidden(fake: FakeYouTubeAPI,
                                                       queue: QuestionQueue) -> None:
    fake.fail("forbidden", endpoint="stream")
    fake.say("chat-1", "via list?")
    health = HealthRegistry()
    await run_until(collector(yt_config(fake.url, transport="auto"), health), queue,
                    lambda: len(queue) == 1 and "polling" in (health.get("youtube").reason or ""))
    assert detail(health)["transport"] == "poll"
    assert "403 forbidden" in str(detail(health)["transport_reason"])
    assert "403 forbidden" in (health.get("youtube").reason or "")
    assert polls(fake)


async def test_quota_refused_on_the_stream_stops_without_polling(
        fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    fake.fail("quotaExceeded", endpoint="stream")
    with pytest.raises(CollectorStopped, match="midnight Pacific"):
        await run_to_end(collector(yt_config(fake.url, transport="auto")), queue)
    assert not polls(fake)


async def test_transport_stream_does_not_fall_back(queue: QuestionQueue) -> None:
    async with FakeYouTubeAPI(stream_enabled=False) as fake:
        fake.add_video(VIDEO, "chat-1")
        with pytest.raises(CollectorStopped, match='transport = "auto" or "poll"'):
            await run_to_end(collector(yt_config(fake.url, transport="stream")), queue)
        assert not polls(fake)


@pytest.mark.parametrize("transport", ["stream", "poll"])
async def test_moderation_gifts_and_polls_alike_on_both_transports(
        fake: FakeYouTubeAPI, queue: QuestionQueue, transport: str) -> None:
    c = collector(yt_config(fake.url, transport=transport))
    first = fake.say("chat-1", "to be deleted?")
    kept = fake.say("chat-1", "retracted later?")
    spam = fake.say("chat-1", "buy now?", channel="UCspam", name="Spam Bot")
    await run_until(c, queue, lambda: len(queue) == 3)
    ids = {q.external_id: q.id for q in queue.all()}
    fake.delete("chat-1", first)
    fake.retract("chat-1", kept)
    fake.ban("chat-1", "UCspam")
    combo = fake.gift("chat-1", 1)
    fake.gift("chat-1", 2, message_id=combo)              # the same gift, its combo grown
    fake.gift("chat-1", 3, message_id=combo, screaming=True)
    fake.add_item("chat-1", "pollEvent", {"pollDetails": {"status": "active", "metadata": {
        "questionText": "Which topic next?"}}}, display="Which topic next?",
        channel="UCowner", name="Owner")
    fake.add_item("chat-1", "membershipGiftingEvent", {"membershipGiftingDetails": {
        "giftMembershipsCount": 5}}, display="gifted 5 memberships?", channel="UCg", name="G")
    fake.add_item("chat-1", "giftMembershipReceivedEvent", {}, display="got one?",
                  channel="UCr", name="R")
    fake.add_item("chat-1", "TEXT_MESSAGE_EVENT", {"textMessageDetails": {
        "messageText": "loud question?"}}, display="loud question?", channel="UCl", name="L")
    await run_until(c, queue, lambda: "loud question?" in texts(queue)
                    and "banned_author" in queue.get(ids[spam]).flags
                    and "withdrawn" in queue.get(ids[kept]).flags)
    assert queue.get(ids[first]).status is Status.DISMISSED
    assert sorted(texts(queue)) == ["buy now?", "loud question?", "retracted later?",
                                    "to be deleted?"]


async def test_restart_resumes_from_the_streamed_token(fake: FakeYouTubeAPI,
                                                       db_path: Path) -> None:
    for i in range(3):
        fake.say("chat-1", f"before {i}?")
    async with started_queue(db_path) as queue:
        await run_until(collector(yt_config(fake.url, transport="stream")), queue,
                        lambda: len(queue) == 3)
        await queue.flush()
        token = queue.checkpoint(CHECKPOINT)["page_token"]
    for i in range(6):  # more than history_limit arrive while Townhall is down
        fake.say("chat-1", f"while down {i}?")
    before = len(streams(fake))
    async with started_queue(db_path) as queue:
        await run_until(collector(yt_config(fake.url, transport="stream")), queue,
                        lambda: len(queue) == 9)
        assert streams(fake)[before]["pageToken"] == token
        assert len({q.external_id for q in queue.all()}) == 9
        assert not any("history" in q.flags for q in queue.all() if q.text.startswith("while"))


async def test_the_end_of_the_chat_ends_the_stream(fake: FakeYouTubeAPI,
                                                   queue: QuestionQueue) -> None:
    fake.say("chat-1", "last words?")
    c = collector(yt_config(fake.url, transport="stream"))
    await run_until(c, queue, lambda: len(queue) == 1)
    fake.end_chat("chat-1")
    with pytest.raises(CollectorEnded, match="ended"):
        await run_to_end(c, queue)


async def test_health_counts_each_connection_against_the_quota(
        fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    health = HealthRegistry()
    c = collector(yt_config(fake.url, transport="stream", daily_quota_units=10_000,
                            stream_call_units=7), health, sleep=Sleeps())
    fake.costs["stream"] = 7
    await run_until(c, queue, lambda: "stream_reconnect_seconds" in detail(health)
                    and len(streams(fake)) >= 3)
    await run_until(c, queue, lambda: detail(health).get("stream_connections") == len(
        streams(fake)))
    d = detail(health)
    assert d["quota_units_spent"] == fake.units == 1 + 7 * len(streams(fake))
    assert d["stream_connections"] == len(streams(fake))
    assert int(str(d["quota_projected_units"])) <= 9_500
    assert queue.checkpoint(CHECKPOINT)["quota_units"] <= fake.units


async def test_a_plan_with_little_quota_left_spaces_the_connections(
        queue: QuestionQueue) -> None:
    """50 minutes left and 99 usable units: 19 connections of 5 units, >= 157 s apart."""
    async with FakeYouTubeAPI(polling_millis=1, stream_seconds=0.05) as fake:
        fake.add_video(VIDEO, "chat-1")
        sleeps = Sleeps()
        now = datetime.now(timezone.utc)
        c = collector(yt_config(fake.url, transport="stream", daily_quota_units=106),
                      sleep=sleeps, clock=lambda: now)
        c.config.meeting.starts_at = (now - timedelta(minutes=10)).isoformat()
        await run_until(c, queue, lambda: len(sleeps.delays) >= 2)
        assert all(d >= 3000 / 19 - 1 for d in sleeps.delays[:2])
        assert fake.units == 1 + 5 * len(streams(fake))


async def test_oauth_streams_with_the_bearer_token(fake: FakeYouTubeAPI, queue: QuestionQueue,
                                                   tmp_path: Path) -> None:
    from tests.integration.test_youtube_oauth import token_file

    fake.access_tokens.add("good")
    fake.add_chat("my-chat", broadcast=True)
    path = token_file(tmp_path / "token.json", fake, token="good", refresh="r")
    fake.say("my-chat", "streamed with OAuth?")
    c = collector(yt_config(fake.url, video="", oauth_token_file=str(path), transport="auto"))
    await run_until(c, queue, lambda: len(queue) == 1)
    fake.say("my-chat", "and after?")
    await run_until(c, queue, lambda: len(queue) == 2 and len(streams(fake)) >= 2)
    sent = [r for r in fake.requests if r.path.endswith("/stream")]
    assert all(r.authorization == "Bearer good" and "key" not in r.params for r in sent)
    assert not polls(fake)


async def test_the_key_never_reaches_a_log_line_or_the_health(
        queue: QuestionQueue, caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    health = HealthRegistry()
    sleeps = Sleeps()
    caplog.set_level(logging.DEBUG)
    c = collector(yt_config(f"http://127.0.0.1:{port}/", transport="stream",
                            live_chat_id="chat-1"), health, sleep=sleeps)
    await run_until(c, queue, lambda: len(sleeps.delays) >= 3)
    state = health.get("youtube")
    assert state is not None and state.state == "backoff" and "network" in (state.reason or "")
    assert "test-key" not in caplog.text and "test-key" not in repr(state)
    assert "liveChatId" not in caplog.text  # no URL at all


async def test_approving_while_streaming_is_untouched_by_reconnects(
        fake: FakeYouTubeAPI, queue: QuestionQueue) -> None:
    c = collector(yt_config(fake.url, transport="stream"))
    fake.say("chat-1", "approve me?")
    await run_until(c, queue, lambda: len(queue) == 1)
    question = queue.all()[0]
    await queue.apply(Command(op="approve", question=question.id), "ana")
    await run_until(c, queue, lambda: len(streams(fake)) >= 3)
    assert queue.get(question.id).status is Status.QUEUED and len(queue) == 1
